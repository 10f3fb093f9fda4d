// Live: a grid of streams (1, 4, 9 or 16 per page), each tile WebRTC → HLS → JPEG with a
// reconnect loop, a status badge, fullscreen, snapshot download and PTZ where enabled.
import { enc, get, post, raw, url } from "../api.js";
import { LivePlayer } from "../player.js";
import { currentRoute, setRouteParams } from "../route.js";
import { icon } from "../icons.js";
import { badge, h, mount, toast } from "../ui.js";

const LAYOUTS = [1, 4, 9, 16];

export async function render(root, ctx) {
  const { params } = currentRoute();
  let perPage = Number(params.get("layout") || localStorage.getItem("nvr-layout") || 4);
  if (!LAYOUTS.includes(perPage)) perPage = 4;
  let page = Math.max(1, Number(params.get("page") || 1));
  let streams = [];
  const players = new Map(); // name → {player, tile}

  const layoutSel = h("select", { id: "layout", "aria-label": "Streams per page" },
    LAYOUTS.map((n) => h("option", { value: n, selected: n === perPage }, `${n} per page`)));
  const prev = h("button", { type: "button", "aria-label": "Previous page" }, "‹");
  const next = h("button", { type: "button", "aria-label": "Next page" }, "›");
  const pageLabel = h("span.page-label", { "aria-live": "polite" });
  const grid = h("div.live-grid", { "aria-label": "Live streams" });
  const empty = h("p.muted", { hidden: true });
  mount(root,
    h("div.toolbar", h("h1", "Live"), h("div.spacer"), layoutSel, h("div.pager", prev, pageLabel, next)),
    empty, grid);

  const pages = () => Math.max(1, Math.ceil(streams.length / perPage));

  function stopAll() {
    for (const { player } of players.values()) player?.stop();
    players.clear();
  }

  function draw() {
    page = Math.min(page, pages());
    setRouteParams({ layout: perPage, page: page > 1 ? page : "" });
    stopAll();
    const shown = streams.slice((page - 1) * perPage, page * perPage);
    grid.dataset.layout = String(perPage);
    pageLabel.textContent = `${page} / ${pages()}`;
    prev.disabled = page <= 1;
    next.disabled = page >= pages();
    empty.hidden = streams.length > 0;
    empty.replaceChildren(ctx.canOperate
      ? h("span", "No streams yet. ", h("a", { href: "#/streams?add=1" }, "Add a camera"), ".")
      : "No streams yet.");
    mount(grid, shown.map((s) => tile(s)));
  }

  function tile(stream) {
    const video = h("video", { muted: true, autoplay: true, playsInline: true, "aria-label": `Live video of ${stream.name}` });
    video.muted = true;
    const img = h("img", { alt: `Latest picture of ${stream.name}` });
    const status = badge(stream.status);
    const mode = h("span.mode", { "data-testid": "mode" }, "…");
    const media = h("div.media", { "data-show": "img" }, video, img);
    const fullscreen = h("button.icon", {
      type: "button", "aria-label": `Fullscreen ${stream.name}`, title: "Fullscreen",
      onclick: () => (document.fullscreenElement ? document.exitFullscreen() : el.requestFullscreen?.()),
    }, icon("fullscreen"));
    const snap = h("button.icon", {
      type: "button", "aria-label": `Save a snapshot of ${stream.name}`, title: "Snapshot",
      onclick: () => saveSnapshot(stream.name),
    }, icon("camera"));
    const el = h("article.tile", { "data-stream": stream.name, tabindex: "-1" },
      media,
      h("div.tile-bar",
        h("span.name", stream.name), status, mode, h("div.spacer"),
        h("a.icon", { href: `#/timeline?stream=${enc(stream.name)}`, title: "Recordings on the timeline", "aria-label": `Timeline of ${stream.name}` }, icon("clock")),
        snap, fullscreen),
      stream.ptz_enabled && ctx.canOperate ? ptzControls(stream.name) : null);
    el.addEventListener("dblclick", () => fullscreen.click());
    let player = null;
    if (stream.enabled && stream.streaming_enabled !== false) {
      player = new LivePlayer(media, stream.name, {
        onState: (m, detail) => {
          mode.textContent = m === "connecting" ? "connecting…" : m;
          mode.title = detail || "";
        },
      }).start();
    } else {
      media.dataset.show = "none";
      media.append(h("p.placeholder", stream.enabled ? "Live view is off for this stream" : "Stream disabled"));
      mode.textContent = "";
    }
    players.set(stream.name, { player, tile: el, status });
    return el;
  }

  async function refresh() {
    try {
      const data = await get("api/streams");
      const names = (list) => list.map((s) => `${s.name}|${s.enabled}|${s.ptz_enabled}|${s.streaming_enabled}`).join(",");
      const changed = names(data.streams) !== names(streams);
      streams = data.streams;
      if (changed) draw();
      for (const s of streams) {
        const entry = players.get(s.name);
        if (entry) entry.status.replaceWith(entry.status = badge(s.status));
      }
    } catch (err) {
      toast(err.message, "error");
    }
  }

  layoutSel.addEventListener("change", () => {
    perPage = Number(layoutSel.value);
    localStorage.setItem("nvr-layout", String(perPage));
    draw();
  });
  prev.addEventListener("click", () => { page--; draw(); });
  next.addEventListener("click", () => { page++; draw(); });

  await refresh();
  const timer = setInterval(refresh, 5000);
  return () => { clearInterval(timer); stopAll(); };
}

async function saveSnapshot(name) {
  try {
    const res = await raw(url(`api/streams/${enc(name)}/snapshot.jpg`, { _: Date.now() }));
    const blob = await res.blob();
    const a = h("a", { href: URL.createObjectURL(blob), download: `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.jpg` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (err) {
    toast(`Snapshot of ${name}: ${err.message}`, "error");
  }
}

/** Pan/tilt/zoom pad: hold a direction to move, release to stop; Home goes home. */
function ptzControls(name) {
  const base = `api/streams/${enc(name)}/ptz`;
  const fail = (err) => toast(`PTZ ${name}: ${err.message}`, "error");
  const hold = (label, text, vector) => {
    const b = h("button.ptz", { type: "button", "aria-label": label, title: label }, text);
    let moving = false;
    const startMove = () => { if (moving) return; moving = true; post(`${base}/move`, vector).catch(fail); };
    const stopMove = () => { if (!moving) return; moving = false; post(`${base}/stop`).catch(fail); };
    b.addEventListener("pointerdown", (e) => { b.setPointerCapture?.(e.pointerId); startMove(); });
    b.addEventListener("pointerup", stopMove);
    b.addEventListener("pointercancel", stopMove);
    b.addEventListener("keydown", (e) => { if ((e.key === "Enter" || e.key === " ") && !e.repeat) { e.preventDefault(); startMove(); } });
    b.addEventListener("keyup", (e) => { if (e.key === "Enter" || e.key === " ") stopMove(); });
    b.addEventListener("blur", stopMove);
    return b;
  };
  const speed = 0.5;
  return h("div.ptz-pad", { role: "group", "aria-label": `Camera controls for ${name}` },
    hold("Tilt up", "▲", { pan: 0, tilt: speed, zoom: 0 }),
    hold("Pan left", "◀", { pan: -speed, tilt: 0, zoom: 0 }),
    h("button.ptz", { type: "button", "aria-label": "Home position", title: "Home", onclick: () => post(`${base}/home`).catch(fail) }, "⌂"),
    hold("Pan right", "▶", { pan: speed, tilt: 0, zoom: 0 }),
    hold("Tilt down", "▼", { pan: 0, tilt: -speed, zoom: 0 }),
    hold("Zoom in", "+", { pan: 0, tilt: 0, zoom: speed }),
    hold("Zoom out", "−", { pan: 0, tilt: 0, zoom: -speed }));
}
