// System: version, uptime, CPU, memory, storage (with a per-stream breakdown), stream
// health, logs with a level filter, restart and backup download (admin).
import { get, post, raw } from "../api.js";
import { download } from "../api.js";
import { badge, busy, confirmDialog, errorBox, field, fmtBytes, fmtDuration, fmtTime, h, mount, tableWrap, toast } from "../ui.js";

const meter = (fraction) => h("div.meter", { role: "img", "aria-label": `${Math.round(fraction * 100)} %` },
  h("span", { style: { width: `${Math.min(100, Math.max(0, fraction * 100)).toFixed(1)}%` } }));

/** Bytes and count of recordings per stream, summed from the list (bounded). */
async function perStreamUsage(streams) {
  const out = new Map();
  for (const s of streams) {
    let bytes = 0, count = 0, partial = false;
    for (let page = 1; ; page++) {
      const data = await get("api/recordings", { stream: s.name, limit: 1000, page, sort: "id" });
      for (const r of data.recordings) { bytes += r.size_bytes || 0; count++; }
      if (page >= data.pagination.pages) break;
      if (page >= 5) { partial = true; count = data.pagination.total; break; }
    }
    out.set(s.name, { bytes, count, partial });
  }
  return out;
}

export async function render(root, ctx) {
  const err = errorBox();
  const cards = h("div.cards");
  const health = h("div");
  const storage = h("div");
  const versions = h("div");
  const adminBox = h("div");
  mount(root, h("div.toolbar", h("h1", "System"), h("div.spacer"), adminBox), err,
    cards, h("h2", "Stream health"), health, h("h2", "Storage by stream"), storage);

  if (ctx.isAdmin) {
    const backup = h("button", { type: "button" }, "Download backup");
    backup.addEventListener("click", () => busy(backup, async () => {
      const res = await raw("api/system/backup", { method: "POST" });
      await download(res, "nvr-hub-backup");
      toast("Backup downloaded");
    }, err));
    const restart = h("button.danger", { type: "button" }, "Restart hub");
    restart.addEventListener("click", async () => {
      if (!(await confirmDialog("Restart", "Restart the hub now? Recording and live view stop for a few seconds.", { ok: "Restart", danger: true }))) return;
      await busy(restart, async () => {
        await post("api/system/restart");
        toast("Restarting… this page reloads when the hub is back");
        await waitForRestart();
        location.reload();
      }, err);
    });
    mount(adminBox, h("div.row", backup, restart));
  }

  async function load() {
    try {
      const [info, status, { streams }] = await Promise.all([get("api/system/info"), get("api/system/status"), get("api/streams")]);
      const mem = info.memory || {}, disk = info.disk || {}, cpu = info.cpu || {};
      mount(cards,
        h("div.card", h("h3", "Version"), h("div.big", info.version), h("small.muted", `up ${fmtDuration(info.uptime)}`)),
        h("div.card", h("h3", "Health"), h("div.big", badge(status.status)),
          status.problems?.length ? h("ul", status.problems.map((p) => h("li", p))) : h("small.muted", "no problems")),
        h("div.card", h("h3", "CPU"), h("div.big", `${cpu.usage ?? "–"} %`), meter((cpu.usage || 0) / 100),
          h("small.muted", `${cpu.cores ?? "?"} cores · hub ${cpu.process_usage ?? "–"} %`)),
        h("div.card", h("h3", "Memory"), h("div.big", `${fmtBytes(mem.used)} / ${fmtBytes(mem.total)}`),
          meter(mem.total ? mem.used / mem.total : 0), h("small.muted", `hub ${fmtBytes(mem.process_rss)}`)),
        h("div.card", h("h3", "Storage"), h("div.big", `${fmtBytes(disk.free)} free`),
          meter(disk.total ? disk.used / disk.total : 0),
          h("small.muted", `${fmtBytes(disk.used)} of ${fmtBytes(disk.total)} used (${disk.percent ?? "–"} %)`)),
        h("div.card", h("h3", "Recordings"), h("div.big", String(info.recordings?.count ?? "–")),
          h("small.muted", fmtBytes(info.recordings?.size))),
        h("div.card", h("h3", "Streams"), h("div.big", `${info.streams?.connected ?? 0} / ${info.streams?.enabled ?? 0}`),
          h("small.muted", `connected of enabled (${info.streams?.total ?? 0} in all)`)),
      );
      mount(versions, h("h2", "Software"), tableWrap(h("table", { "aria-label": "Versions" },
        h("tbody", (info.versions?.items || []).map((v) => h("tr", h("th", v.name), h("td", v.version)))))));
      cards.after(versions);
      mount(health, tableWrap(h("table", { "aria-label": "Stream health" },
        h("thead", h("tr", h("th", "Stream"), h("th", "Status"), h("th", "Video"), h("th", "Recording"))),
        h("tbody", streams.length ? streams.map((s) => h("tr",
          h("td", s.name), h("td", badge(s.status)),
          h("td", s.width ? `${s.width}×${s.height} ${s.fps} fps ${s.codec}` : "–"),
          h("td", s.record ? "continuous" : s.detection_based_recording ? "on detection" : "off"))) : h("tr", h("td", { colspan: 4 }, "No streams"))))));
      return streams;
    } catch (e) {
      err.show(e);
      return [];
    }
  }

  async function loadStorage(streams) {
    try {
      const usage = await perStreamUsage(streams);
      const total = [...usage.values()].reduce((a, u) => a + u.bytes, 0) || 1;
      mount(storage, tableWrap(h("table", { "aria-label": "Storage by stream" },
        h("thead", h("tr", h("th", "Stream"), h("th.num", "Recordings"), h("th.num", "Size"), h("th", "Share"))),
        h("tbody", streams.map((s) => {
          const u = usage.get(s.name);
          return h("tr", h("td", s.name), h("td.num", String(u.count)),
            h("td.num", `${u.partial ? "≥ " : ""}${fmtBytes(u.bytes)}`),
            h("td", { style: { minWidth: "8rem" } }, meter(u.bytes / total)));
        })))));
    } catch (e) {
      mount(storage, h("p.error", e.message));
    }
  }

  const streams = await load();
  loadStorage(streams);
  let logs = null;
  if (ctx.isAdmin) logs = logsPanel(root);
  const timer = setInterval(load, 10_000);
  return () => { clearInterval(timer); logs?.stop(); };
}

function logsPanel(root) {
  const level = h("select", { name: "level" }, ["debug", "info", "warning", "error"].map((l) => h("option", { value: l, selected: l === "info" }, l)));
  const limit = h("select", { name: "limit" }, [100, 500, 2000].map((n) => h("option", { value: n }, `${n} lines`)));
  const follow = h("input", { type: "checkbox", name: "follow", checked: true });
  const box = h("div.logs", { tabindex: "0", role: "log", "aria-label": "Log lines" });
  const err = errorBox();
  const clear = h("button", { type: "button" }, "Clear logs");
  root.append(
    h("h2", "Logs"),
    h("div.toolbar", field("Level", level), field("Show", limit), field("Follow", follow), h("div.spacer"), clear),
    err, box);
  async function load() {
    try {
      const data = await get("api/system/logs", { level: level.value, limit: limit.value });
      const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
      box.replaceChildren(...data.logs.map((l) => h(`div.lv-${l.level}`, `${fmtTime(l.time)} ${l.level.toUpperCase().padEnd(7)} ${l.logger}: ${l.message}`)));
      if (!data.logs.length) box.append(h("div.muted", "No log lines at this level."));
      if (atBottom || follow.checked) box.scrollTop = box.scrollHeight;
      err.show(null);
    } catch (e) {
      err.show(e);
    }
  }
  level.addEventListener("change", load);
  limit.addEventListener("change", load);
  clear.addEventListener("click", async () => {
    if (!(await confirmDialog("Clear logs", "Empty the log file?", { ok: "Clear", danger: true }))) return;
    await busy(clear, async () => { await post("api/system/logs/clear"); await load(); }, err);
  });
  load();
  const timer = setInterval(() => { if (follow.checked) load(); }, 5000);
  return { stop: () => clearInterval(timer) };
}

/** After a restart request: wait for the hub to go away and come back. */
async function waitForRestart() {
  const deadline = Date.now() + 120_000;
  await new Promise((r) => setTimeout(r, 1500));
  while (Date.now() < deadline) {
    try {
      const res = await fetch("api/health", { cache: "no-store" });
      if (res.ok) return;
    } catch { /* still down */ }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error("The hub did not come back within 2 minutes.");
}
