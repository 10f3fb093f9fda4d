// Timeline: one stream, one local day as a 24 h bar of recorded ranges and detection
// marks; click (or arrow keys + Enter) to play from that instant, and playback carries on
// into the next recording by itself.
import { get, raw, url } from "../api.js";
import { currentRoute, setRouteParams } from "../route.js";
import { errorBox, field, fmtDuration, h, localDate, mount } from "../ui.js";

const DAY_MS = 86_400_000;
const pad = (n) => String(n).padStart(2, "0");
const hhmmss = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;

export async function render(root) {
  const { params } = currentRoute();
  const err = errorBox();
  const streamSel = h("select", { name: "stream" });
  const dateIn = h("input", { type: "date", name: "date", value: params.get("date") || localDate() });
  const prevDay = h("button", { type: "button", "aria-label": "Previous day" }, "‹ Day");
  const nextDay = h("button", { type: "button", "aria-label": "Next day" }, "Day ›");
  const today = h("button", { type: "button" }, "Today");
  const bar = h("div.timeline", {
    tabindex: "0", role: "slider", "aria-label": "Time of day; Enter plays from here",
    "aria-valuemin": "0", "aria-valuemax": "1440",
  });
  const cursor = h("div.cursor", { hidden: true });
  const hover = h("div.hover", { hidden: true });
  // The zoomed bar: a window of the day around the chosen instant, for short recordings.
  const zoomBar = h("div.timeline.zoom", { "aria-label": "Zoomed time range; click to play from there" });
  const zoomCursor = h("div.cursor", { hidden: true });
  const zoomSel = h("select", { name: "zoom", "aria-label": "Zoom" },
    [[600_000, "10 minutes"], [3_600_000, "1 hour"], [10_800_000, "3 hours"]].map(([v, l]) => h("option", { value: v, selected: v === 3_600_000 }, l)));
  const playErr = errorBox();
  const clock = h("span.timeline-time", { "aria-live": "off" }, "–");
  const info = h("span.muted", { "aria-live": "polite" });
  const video = h("video.timeline-player", { controls: true, playsInline: true, "aria-label": "Recorded video" });
  video.muted = true;
  const legend = h("div.legend",
    h("span", h("i", { style: { background: "#2f7d46" } }), "recorded"),
    h("span", h("i", { style: { background: "var(--warn)" } }), "detection"),
    h("span", h("i", { style: { background: "var(--accent)" } }), "playing"));

  mount(root,
    h("div.toolbar", h("h1", "Timeline"), h("div.spacer"), info),
    h("div.toolbar",
      field("Stream", streamSel), field("Day", dateIn),
      h("div.row", { style: { alignSelf: "flex-end", margin: ".45rem 0" } }, prevDay, today, nextDay)),
    err, bar,
    h("div.toolbar", legend, h("div.spacer"), field("Zoom", zoomSel)),
    zoomBar, playErr,
    h("div.toolbar", h("span", "Playing: "), clock),
    video);

  let segments = [];
  let dayStart = new Date();
  let playing = null; // {seg, base: Date of the file's start}
  let cursorMs = null; // keyboard cursor, ms since dayStart
  let refreshTimer = null;
  let zoomCenter = null; // ms: the middle of the zoomed bar
  let lastData = {};

  const frac = (t) => (t - dayStart.getTime()) / DAY_MS;
  const segStart = (s) => new Date(s.start_time).getTime();
  const segEnd = (s, i) => {
    const end = new Date(s.end_time).getTime();
    // The recording being written has no end yet: draw it up to now.
    if (end <= segStart(s) && i === segments.length - 1) return Math.min(Date.now(), dayStart.getTime() + DAY_MS);
    return end;
  };

  const zoomRange = () => {
    const span = Number(zoomSel.value);
    const day0 = dayStart.getTime();
    const from = Math.min(day0 + DAY_MS - span, Math.max(day0, (zoomCenter ?? day0 + DAY_MS / 2) - span / 2));
    return [from, from + span];
  };

  function placeCursor(t) {
    const f = frac(t);
    cursor.hidden = f < 0 || f > 1;
    cursor.style.left = `${(f * 100).toFixed(3)}%`;
    let [from, to] = zoomRange();
    if (t < from || t > to) { zoomCenter = t; drawZoom(); [from, to] = zoomRange(); }
    const z = (t - from) / (to - from);
    zoomCursor.hidden = z < 0 || z > 1;
    zoomCursor.style.left = `${(z * 100).toFixed(3)}%`;
  }

  /** Recorded ranges, detection marks, ticks and "now" of [from, to) into a bar. */
  function drawRange(from, to, tickMs, labelEvery) {
    const span = to - from;
    const at = (t) => (t - from) / span;
    const nodes = [];
    for (let t = Math.ceil(from / tickMs) * tickMs, i = 0; t < to; t += tickMs, i++) {
      const d = new Date(t);
      const label = Math.round((t - dayStart.getTime()) / tickMs) % labelEvery === 0 ? `${pad(d.getHours())}:${pad(d.getMinutes())}` : "";
      nodes.push(h("div.tick", { style: { left: `${at(t) * 100}%` } }, label));
    }
    segments.forEach((s, i) => {
      const a = Math.max(0, at(segStart(s))), b = Math.min(1, at(segEnd(s, i)));
      if (b <= 0 || a >= 1) return;
      nodes.push(h(`div.seg${s.has_detection ? ".det" : ""}`, {
        style: { left: `${a * 100}%`, width: `${Math.max(0.08, (b - a) * 100)}%` },
        title: `${hhmmss(new Date(segStart(s)))} – ${hhmmss(new Date(segEnd(s, i)))}`,
      }));
    });
    for (const d of lastData.detection_intervals || []) {
      const a = at(new Date(d.start_time).getTime()), b = at(new Date(d.end_time).getTime());
      if (b < 0 || a > 1) continue;
      nodes.push(h("div.det-mark", {
        style: { left: `${Math.max(0, a) * 100}%`, width: `${Math.max(0.15, (b - a) * 100)}%` },
        title: `${(d.labels || []).join(", ") || "detection"} at ${hhmmss(new Date(d.start_time))}`,
      }));
    }
    const now = Date.now();
    if (now > from && now < to) nodes.push(h("div.now", { style: { left: `${at(now) * 100}%` }, title: "now" }));
    return nodes;
  }

  function drawZoom() {
    const [from, to] = zoomRange();
    const span = to - from;
    const tick = span <= 600_000 ? 60_000 : span <= 3_600_000 ? 300_000 : 900_000;
    mount(zoomBar, drawRange(from, to, tick, 2), zoomCursor);
  }

  function drawBar(data) {
    lastData = data;
    if (zoomCenter === null || zoomCenter < dayStart.getTime() || zoomCenter > dayStart.getTime() + DAY_MS) {
      // Start zoomed on the newest recording of the day (or midday when there is none).
      const last = segments.length ? segEnd(segments[segments.length - 1], segments.length - 1) : null;
      zoomCenter = last ?? dayStart.getTime() + DAY_MS / 2;
    }
    // Hour labels every 3 h, every 6 h on a phone.
    const every = bar.clientWidth && bar.clientWidth < 560 ? 6 : 3;
    mount(bar, drawRange(dayStart.getTime(), dayStart.getTime() + DAY_MS, 3_600_000, every), cursor, hover);
    drawZoom();
    const total = segments.reduce((sum, s, i) => sum + Math.max(0, segEnd(s, i) - segStart(s)), 0) / 1000;
    info.textContent = segments.length
      ? `${segments.length} recording${segments.length === 1 ? "" : "s"}, ${fmtDuration(total)} recorded`
      : "Nothing recorded this day";
    if (playing) placeCursor(playing.base + video.currentTime * 1000);
  }

  async function loadDay() {
    const [y, m, d] = dateIn.value.split("-").map(Number);
    dayStart = new Date(y, m - 1, d);
    const dayEnd = new Date(y, m - 1, d + 1);
    setRouteParams({ stream: streamSel.value, date: dateIn.value });
    err.show(null);
    if (!streamSel.value) { segments = []; drawBar({}); return; }
    try {
      const data = await get("api/timeline/segments", {
        stream: streamSel.value, start: dayStart.toISOString(), end: dayEnd.toISOString(),
      });
      segments = data.segments.slice().sort((a, b) => segStart(a) - segStart(b));
      drawBar(data);
    } catch (e) {
      err.show(e);
    }
  }

  /** Play the recording holding instant `t` (ms), from that instant. */
  async function playAt(t) {
    playErr.show(null);
    let target = t;
    // A click in a gap plays the next recording from its start.
    const inside = segments.some((s, i) => segStart(s) <= t && t < segEnd(s, i) + 1000);
    if (!inside) {
      const nextSeg = segments.find((s) => segStart(s) > t);
      if (!nextSeg) { playErr.show(new Error(`Nothing was recorded at or after ${hhmmss(new Date(t))} this day.`)); return; }
      // +1 ms: the API's times have microseconds, ours milliseconds.
      target = segStart(nextSeg) + 1;
    }
    try {
      const res = await raw(url("api/timeline/play", { stream: streamSel.value, time: new Date(target).toISOString() }), { method: "HEAD" });
      const id = Number(res.headers.get("X-Recording-Id"));
      const offset = Number(res.headers.get("X-Start-Offset") || 0);
      const seg = segments.find((s) => s.id === id) || { id, start_time: new Date(target - offset * 1000).toISOString() };
      startSegment(seg, offset);
    } catch (e) {
      // A HEAD answer has no body: ask again with GET for the hub's own words.
      let message = e.message;
      try {
        await raw(url("api/timeline/play", { stream: streamSel.value, time: new Date(target).toISOString() }), { headers: { Range: "bytes=0-0" } });
      } catch (again) {
        message = again.message;
      }
      playErr.show(new Error(message));
    }
  }

  function startSegment(seg, offset) {
    playing = { seg, base: segStart(seg) };
    video.src = `api/recordings/play/${seg.id}.mp4`;
    video.dataset.recordingId = String(seg.id);
    const seek = () => {
      if (offset > 0) video.currentTime = Math.min(offset, Math.max(0, (video.duration || offset) - 0.5));
      video.play().catch(() => {});
    };
    video.addEventListener("loadedmetadata", seek, { once: true });
    placeCursor(playing.base + offset * 1000);
  }

  // Continuous playback: at the end of one file, go on with the next recording.
  video.addEventListener("ended", async () => {
    if (!playing) return;
    const endedAt = playing.base + video.currentTime * 1000;
    let nextSeg = segments.find((s) => segStart(s) > playing.base && s.id !== playing.seg.id);
    if (!nextSeg) {
      await loadDay();
      nextSeg = segments.find((s) => segStart(s) > playing.base && s.id !== playing.seg.id);
    }
    if (nextSeg) startSegment(nextSeg, 0);
    else setTimeout(() => playAt(endedAt), 2000); // still being written: pick up what is new
  });
  video.addEventListener("timeupdate", () => {
    if (!playing) return;
    const t = playing.base + video.currentTime * 1000;
    clock.textContent = `${new Date(t).toLocaleDateString()} ${hhmmss(new Date(t))}`;
    placeCursor(t);
    bar.setAttribute("aria-valuenow", String(Math.round((t - dayStart.getTime()) / 60000)));
    bar.setAttribute("aria-valuetext", hhmmss(new Date(t)));
  });

  const timeAt = (ev) => {
    const rect = bar.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (ev.clientX - rect.left) / rect.width));
    return dayStart.getTime() + f * DAY_MS;
  };
  bar.addEventListener("click", (ev) => { const t = timeAt(ev); zoomCenter = t; drawZoom(); playAt(t); });
  zoomBar.addEventListener("click", (ev) => {
    const rect = zoomBar.getBoundingClientRect();
    const [from, to] = zoomRange();
    playAt(from + Math.min(1, Math.max(0, (ev.clientX - rect.left) / rect.width)) * (to - from));
  });
  zoomSel.addEventListener("change", () => { drawZoom(); if (playing) placeCursor(playing.base + video.currentTime * 1000); });
  bar.addEventListener("mousemove", (ev) => {
    const t = timeAt(ev);
    hover.hidden = false;
    hover.style.left = `${frac(t) * 100}%`;
    bar.title = hhmmss(new Date(t));
  });
  bar.addEventListener("mouseleave", () => { hover.hidden = true; });
  bar.addEventListener("keydown", (ev) => {
    const step = (ev.shiftKey ? 10 : 1) * 60_000;
    if (cursorMs === null) cursorMs = playing ? playing.base + video.currentTime * 1000 - dayStart.getTime() : 12 * 3600_000;
    if (ev.key === "ArrowRight") cursorMs += step;
    else if (ev.key === "ArrowLeft") cursorMs -= step;
    else if (ev.key === "Home") cursorMs = 0;
    else if (ev.key === "End") cursorMs = DAY_MS - 1000;
    else if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); playAt(dayStart.getTime() + cursorMs); return; }
    else return;
    ev.preventDefault();
    cursorMs = Math.min(DAY_MS - 1000, Math.max(0, cursorMs));
    const t = dayStart.getTime() + cursorMs;
    hover.hidden = false;
    hover.style.left = `${frac(t) * 100}%`;
    bar.setAttribute("aria-valuenow", String(Math.round(cursorMs / 60000)));
    bar.setAttribute("aria-valuetext", hhmmss(new Date(t)));
    clock.textContent = `cursor ${hhmmss(new Date(t))} (Enter to play)`;
  });

  const shiftDay = (days) => {
    const [y, m, d] = dateIn.value.split("-").map(Number);
    dateIn.value = localDate(new Date(y, m - 1, d + days));
    zoomCenter = null;
    loadDay();
  };
  prevDay.addEventListener("click", () => shiftDay(-1));
  nextDay.addEventListener("click", () => shiftDay(1));
  today.addEventListener("click", () => { dateIn.value = localDate(); zoomCenter = null; loadDay(); });
  dateIn.addEventListener("change", () => { zoomCenter = null; loadDay(); });
  streamSel.addEventListener("change", () => { playing = null; zoomCenter = null; video.removeAttribute("src"); video.load(); loadDay(); });

  try {
    const { streams } = await get("api/streams");
    for (const s of streams) streamSel.append(h("option", { value: s.name }, s.name));
    const wanted = params.get("stream");
    if (wanted && streams.some((s) => s.name === wanted)) streamSel.value = wanted;
    if (!streams.length) err.show(new Error("No streams yet: add one on the Streams page."));
  } catch (e) {
    err.show(e);
  }
  await loadDay();
  refreshTimer = setInterval(() => { if (dateIn.value === localDate()) loadDay(); }, 30_000);
  return () => {
    clearInterval(refreshTimer);
    video.pause();
    video.removeAttribute("src");
    video.load();
  };
}
