// Recordings: filter (stream, dates, detection, protected), sortable paginated table,
// play in a modal, download, protect, delete, and batch delete with a progress bar.
import { del, get, post, put, url } from "../api.js";
import { icon } from "../icons.js";
import { currentRoute, setRouteParams } from "../route.js";
import {
  badge, busy, confirmDialog, errorBox, field, fmtBytes, fmtDuration, fmtTime, h, localToIso,
  modal, mount, tableWrap, toast,
} from "../ui.js";

const COLUMNS = [
  { key: "stream_name", label: "Stream", cell: (r) => r.stream },
  { key: "start_time", label: "Start", cell: (r) => fmtTime(r.start_time) },
  { key: "end_time", label: "Duration", cell: (r) => (r.is_complete ? fmtDuration(r.duration) : h("span", badge("recording", "connecting"))) },
  { key: "size_bytes", label: "Size", cell: (r) => fmtBytes(r.size_bytes), num: true },
  { key: null, label: "Video", cell: (r) => (r.width ? `${r.width}×${r.height} ${r.codec || ""}` : r.codec || "–") },
  { key: null, label: "Flags", cell: (r) => [r.has_detection ? badge("detection", "warning") : null, " ", r.protected ? badge("protected") : null] },
];

/** `<input type=datetime-local>` value for a UTC ISO string (local time). */
function isoToLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export async function render(root, ctx) {
  const { params } = currentRoute();
  const state = {
    stream: params.get("stream") || "",
    start: params.get("start") || "",
    end: params.get("end") || "",
    has_detection: params.get("has_detection") || "",
    protected: params.get("protected") || "",
    sort: params.get("sort") || "start_time",
    order: params.get("order") || "desc",
    page: Number(params.get("page") || 1),
    limit: Number(params.get("limit") || localStorage.getItem("nvr-rec-limit") || 20),
  };
  const selected = new Set();
  let rows = [];
  const err = errorBox();

  const streamSel = h("select", { name: "stream" }, h("option", { value: "" }, "All streams"));
  const startIn = h("input", { type: "datetime-local", name: "start", value: isoToLocalInput(state.start) });
  const endIn = h("input", { type: "datetime-local", name: "end", value: isoToLocalInput(state.end) });
  const detSel = h("select", { name: "has_detection" },
    h("option", { value: "" }, "Any"), h("option", { value: "true" }, "With detections"), h("option", { value: "false" }, "Without"));
  const protSel = h("select", { name: "protected" },
    h("option", { value: "" }, "Any"), h("option", { value: "true" }, "Protected"), h("option", { value: "false" }, "Not protected"));
  detSel.value = state.has_detection;
  protSel.value = state.protected;
  const filters = h("form.filters", {
    "aria-label": "Filters",
    onsubmit: (ev) => { ev.preventDefault(); readFilters(); state.page = 1; load(); },
  },
  field("Stream", streamSel), field("From", startIn), field("To", endIn),
  field("Detection", detSel), field("Protection", protSel),
  h("div.actions",
    h("button.primary", { type: "submit" }, "Filter"),
    h("button", { type: "button", onclick: () => { filters.reset(); streamSel.value = ""; readFilters(); state.page = 1; load(); } }, "Clear")));

  function readFilters() {
    state.stream = streamSel.value;
    state.start = localToIso(startIn.value);
    state.end = localToIso(endIn.value);
    state.has_detection = detSel.value;
    state.protected = protSel.value;
  }

  const selectAll = h("input", { type: "checkbox", "aria-label": "Select all on this page" });
  const thead = h("thead");
  const tbody = h("tbody");
  const table = h("table.recordings", { "aria-label": "Recordings" }, thead, tbody);
  const summary = h("span.muted", { "aria-live": "polite" });
  const prev = h("button", { type: "button", "aria-label": "Previous page" }, "‹");
  const next = h("button", { type: "button", "aria-label": "Next page" }, "›");
  const pageLabel = h("span.page-label");
  const limitSel = h("select", { "aria-label": "Rows per page" }, [20, 50, 100, 250].map((n) => h("option", { value: n, selected: n === state.limit }, `${n} rows`)));
  const batchDelete = h("button.danger", { type: "button", disabled: true }, icon("trash"), "Delete selected");
  const batchProtect = h("button", { type: "button", disabled: true }, icon("lock"), "Protect selected");
  const batchUnprotect = h("button", { type: "button", disabled: true }, icon("unlock"), "Unprotect selected");
  const selCount = h("span.muted");
  const batch = h("div.batch", selCount, ctx.canOperate ? [batchProtect, batchUnprotect, batchDelete] : null);

  mount(root,
    h("div.toolbar", h("h1", "Recordings"), h("div.spacer"), summary),
    filters, err, batch, tableWrap(table),
    h("div.toolbar", h("div.spacer"), limitSel, h("div.pager", prev, pageLabel, next)));

  function drawHead() {
    const cells = [h("th", selectAll)];
    for (const col of COLUMNS) {
      if (!col.key) { cells.push(h("th", col.label)); continue; }
      const sorted = state.sort === col.key;
      const th = h(`th${col.num ? ".num" : ""}`, { "aria-sort": sorted ? (state.order === "asc" ? "ascending" : "descending") : "none" },
        h("button.sort", {
          type: "button",
          onclick: () => {
            if (state.sort === col.key) state.order = state.order === "asc" ? "desc" : "asc";
            else { state.sort = col.key; state.order = col.key === "stream_name" ? "asc" : "desc"; }
            load();
          },
        }, col.label));
      cells.push(th);
    }
    cells.push(h("th", "Actions"));
    mount(thead, h("tr", cells));
  }

  function updateBatch() {
    const n = selected.size;
    selCount.textContent = n ? `${n} selected` : "";
    for (const b of [batchDelete, batchProtect, batchUnprotect]) b.disabled = n === 0;
    selectAll.checked = rows.length > 0 && rows.every((r) => selected.has(r.id));
    selectAll.indeterminate = !selectAll.checked && rows.some((r) => selected.has(r.id));
  }

  function drawRows() {
    if (!rows.length) {
      mount(tbody, h("tr", h("td", { colspan: COLUMNS.length + 2 }, h("span.muted", "No recordings match."))));
      updateBatch();
      return;
    }
    mount(tbody, rows.map((r) => {
      const check = h("input", { type: "checkbox", "aria-label": `Select recording ${r.id}`, checked: selected.has(r.id) });
      check.addEventListener("change", () => { check.checked ? selected.add(r.id) : selected.delete(r.id); updateBatch(); });
      const actions = h("td.actions-cell",
        h("button.icon", { type: "button", title: "Play", "aria-label": `Play recording ${r.id}`, "data-action": "play", onclick: () => playModal(r) }, icon("play")),
        h("a.icon.button", { href: `api/recordings/download/${r.id}`, download: "", title: "Download", "aria-label": `Download recording ${r.id}` }, icon("download")),
        ctx.canOperate ? h("button.icon", {
          type: "button", "data-action": "protect", title: r.protected ? "Unprotect" : "Protect",
          "aria-label": `${r.protected ? "Unprotect" : "Protect"} recording ${r.id}`, "aria-pressed": String(r.protected),
          onclick: (ev) => busy(ev.currentTarget, async () => {
            await put(`api/recordings/${r.id}/protect`, { protected: !r.protected });
            toast(r.protected ? "Recording unprotected" : "Recording protected");
            await load();
          }),
        }, icon(r.protected ? "lock" : "unlock")) : null,
        ctx.canOperate ? h("button.icon", {
          type: "button", "data-action": "delete", title: "Delete", "aria-label": `Delete recording ${r.id}`,
          onclick: (ev) => deleteOne(ev.currentTarget, r),
        }, icon("trash")) : null);
      return h("tr", { "data-id": r.id },
        h("td", check),
        COLUMNS.map((c) => h(`td${c.num ? ".num" : ""}`, c.cell(r))),
        actions);
    }));
    updateBatch();
  }

  async function deleteOne(button, r) {
    let force = false;
    if (r.protected) {
      if (!ctx.isAdmin) { toast("This recording is protected: unprotect it first.", "error"); return; }
      if (!(await confirmDialog("Delete protected recording", `Recording ${r.id} is protected. Delete it anyway?`, { ok: "Delete", danger: true }))) return;
      force = true;
    } else if (!(await confirmDialog("Delete recording", `Delete the recording of ${r.stream} from ${fmtTime(r.start_time)}?`, { ok: "Delete", danger: true }))) {
      return;
    }
    await busy(button, async () => {
      await del(`api/recordings/${r.id}`, force ? { force: "true" } : {});
      selected.delete(r.id);
      toast("Recording deleted");
      await load();
    }, err);
  }

  async function load() {
    setRouteParams({
      stream: state.stream, start: state.start, end: state.end, has_detection: state.has_detection,
      protected: state.protected, sort: state.sort !== "start_time" ? state.sort : "",
      order: state.order !== "desc" ? state.order : "", page: state.page > 1 ? state.page : "",
    });
    drawHead();
    err.show(null);
    try {
      const data = await get("api/recordings", {
        stream: state.stream, start: state.start, end: state.end, has_detection: state.has_detection,
        protected: state.protected, sort: state.sort, order: state.order, page: state.page, limit: state.limit,
      });
      rows = data.recordings;
      const p = data.pagination;
      if (state.page > p.pages && p.total > 0) { state.page = p.pages; return load(); }
      summary.textContent = `${p.total} recording${p.total === 1 ? "" : "s"}`;
      pageLabel.textContent = `${p.page} / ${p.pages}`;
      prev.disabled = p.page <= 1;
      next.disabled = p.page >= p.pages;
      drawRows();
    } catch (e) {
      err.show(e);
    }
    return undefined;
  }

  selectAll.addEventListener("change", () => {
    for (const r of rows) selectAll.checked ? selected.add(r.id) : selected.delete(r.id);
    drawRows();
  });
  prev.addEventListener("click", () => { state.page--; load(); });
  next.addEventListener("click", () => { state.page++; load(); });
  limitSel.addEventListener("change", () => {
    state.limit = Number(limitSel.value);
    localStorage.setItem("nvr-rec-limit", String(state.limit));
    state.page = 1;
    load();
  });
  const batchProtectAction = (value) => async (ev) => busy(ev.currentTarget, async () => {
    const res = await post("api/recordings/batch-protect", { ids: [...selected], protected: value });
    toast(`${res.success_count} recording(s) ${value ? "protected" : "unprotected"}${res.fail_count ? `, ${res.fail_count} failed` : ""}`);
    await load();
  }, err);
  batchProtect.addEventListener("click", batchProtectAction(true));
  batchUnprotect.addEventListener("click", batchProtectAction(false));
  batchDelete.addEventListener("click", async () => {
    const ids = [...selected];
    if (!(await confirmDialog("Delete recordings", `Delete ${ids.length} recording(s)? Protected ones are kept.`, { ok: "Delete", danger: true }))) return;
    await batchDeleteProgress(ids);
    selected.clear();
    await load();
  });

  try {
    const { streams } = await get("api/streams");
    for (const s of streams) streamSel.append(h("option", { value: s.name }, s.name));
    streamSel.value = state.stream;
  } catch (e) {
    err.show(e);
  }
  await load();
  const timer = setInterval(() => { if (!document.querySelector("dialog[open]")) load(); }, 30_000);
  return () => clearInterval(timer);
}

/** Play a recording in a modal, with download next to it. */
export function playModal(r) {
  return modal(`${r.stream} · ${fmtTime(r.start_time)}`, (_close, dlg) => {
    const video = h("video.player", { controls: true, autoplay: true, playsInline: true, src: `api/recordings/play/${r.id}.mp4` });
    video.muted = true; // autoplay without a click; the controls unmute
    const err = errorBox();
    video.addEventListener("error", () => err.show(new Error("This recording cannot be played in this browser (or its file is missing).")));
    dlg.addEventListener("teardown", () => { video.pause(); video.removeAttribute("src"); video.load(); });
    return [
      video, err,
      h("div.actions",
        h("span.muted", `${fmtDuration(r.duration)} · ${fmtBytes(r.size_bytes)}`), h("div.spacer"),
        h("a.button", { href: `api/recordings/download/${r.id}`, download: "" }, icon("download"), "Download")),
    ];
  }, { wide: true, className: "player-modal" });
}

/** Start a batch delete and show its progress until it completes. */
function batchDeleteProgress(ids) {
  return modal("Deleting recordings", (close, dlg) => {
    const bar = h("progress", { max: ids.length, value: 0, "aria-label": "Progress" });
    const text = h("p", { "aria-live": "polite" }, "Starting…");
    const err = errorBox();
    const done = h("button.primary", { type: "button", disabled: true, onclick: () => close(true) }, "Close");
    let stopped = false;
    dlg.addEventListener("teardown", () => { stopped = true; });
    (async () => {
      try {
        const { job_id: job } = await post("api/recordings/batch-delete", { ids });
        for (;;) {
          const p = await get(url(`api/recordings/batch-delete/progress/${encodeURIComponent(job)}`));
          bar.max = p.total || ids.length;
          bar.value = p.current;
          text.textContent = `${p.current} of ${p.total}: ${p.succeeded} deleted, ${p.failed} failed`;
          if (p.complete || p.status === "complete" || p.status === "error") {
            if (p.status === "error") err.show(new Error(p.error || "The batch delete stopped with an error."));
            break;
          }
          if (stopped) return;
          await new Promise((r) => setTimeout(r, 400));
        }
      } catch (e) {
        err.show(e);
      }
      done.disabled = false;
      done.focus();
    })();
    return [text, bar, err, h("div.actions", done)];
  });
}
