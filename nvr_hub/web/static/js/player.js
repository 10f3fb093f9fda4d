// One live view: WebRTC first, then live HLS (native or hls.js), and a refreshing JPEG
// snapshot as the last resort, in a reconnect loop. The snapshot keeps showing while a
// better mode is (re)tried in the background, so a retry never blanks the tile.
import { enc, get, raw, url } from "./api.js";

// Shared across tiles: once the hub says a mode does not exist (404/405), stop asking it
// for a while instead of once per tile per retry.
const missing = { webrtc: 0, hls: 0 };
const MISSING_FOR_MS = 5 * 60_000;
const isMissing = (mode) => Date.now() - missing[mode] < MISSING_FOR_MS;

let iceServers = null;
async function rtcConfig() {
  if (!iceServers) {
    try {
      const data = await get("api/ice-servers");
      iceServers = (data.ice_servers || []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
    } catch {
      iceServers = [];
    }
  }
  return { iceServers, bundlePolicy: "max-bundle" };
}

class Failed extends Error {}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
});

/** Resolves once the video shows frames (videoWidth > 0 and time moving), else throws. */
function waitPlaying(video, timeoutMs, signal) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstTime = null;
    const timer = setInterval(() => {
      if (signal.aborted) { clearInterval(timer); reject(new Failed("stopped")); return; }
      if (video.videoWidth > 0 && video.readyState >= 2) {
        if (firstTime === null) firstTime = video.currentTime;
        else if (video.currentTime > firstTime) { clearInterval(timer); resolve(); return; }
      }
      if (performance.now() - started > timeoutMs) { clearInterval(timer); reject(new Failed("no video in time")); }
    }, 250);
    video.play().catch(() => { /* autoplay of a muted video is allowed; retried by the browser */ });
  });
}

/** Resolves when a playing video stops advancing for `stallMs` (or on abort). */
function watchStall(video, stallMs, signal) {
  return new Promise((resolve) => {
    let last = video.currentTime, since = performance.now();
    const timer = setInterval(() => {
      if (signal.aborted) { clearInterval(timer); resolve("stopped"); return; }
      if (video.currentTime !== last) { last = video.currentTime; since = performance.now(); return; }
      if (video.paused && !video.ended) video.play().catch(() => {});
      if (performance.now() - since > stallMs) { clearInterval(timer); resolve("stalled"); }
    }, 1000);
  });
}

async function startWebRTC(video, name, signal) {
  if (typeof RTCPeerConnection === "undefined") throw new Failed("no WebRTC in this browser");
  const pc = new RTCPeerConnection(await rtcConfig());
  const teardown = () => { try { pc.close(); } catch { /* closed */ } };
  signal.addEventListener("abort", teardown, { once: true });
  try {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const media = new MediaStream();
    pc.addEventListener("track", (ev) => {
      media.addTrack(ev.track);
      if (video.srcObject !== media) video.srcObject = media;
    });
    await pc.setLocalDescription(await pc.createOffer());
    // go2rtc-style JSON exchange is not trickle: send the offer with its candidates.
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const t = setTimeout(resolve, 3000);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
      });
    });
    let answer;
    try {
      const res = await raw(url("api/webrtc", { src: name }), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
        signal,
      });
      answer = await res.json();
    } catch (err) {
      if (err.status === 404 || err.status === 405) missing.webrtc = Date.now();
      throw new Failed(`WebRTC: ${err.message}`);
    }
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await waitPlaying(video, 12_000, signal);
  } catch (err) {
    teardown();
    video.srcObject = null;
    throw err;
  }
  const ended = new Promise((resolve) => {
    pc.addEventListener("connectionstatechange", () => {
      if (["failed", "closed", "disconnected"].includes(pc.connectionState)) resolve(`WebRTC ${pc.connectionState}`);
    });
    watchStall(video, 10_000, signal).then(resolve);
  });
  return { mode: "WebRTC", ended, stop: () => { teardown(); video.srcObject = null; } };
}

let hlsModule = null;
async function startHls(video, name, signal) {
  const src = `hls/${enc(name)}/index.m3u8`;
  // Ask first: a missing route or stream fails fast instead of after hls.js retries.
  try {
    await raw(src, { signal, noRedirect: true });
  } catch (err) {
    if (err.status === 404 || err.status === 405) missing.hls = Date.now();
    throw new Failed(`HLS: ${err.message}`);
  }
  let hls = null;
  const stop = () => {
    if (hls) { hls.destroy(); hls = null; }
    video.removeAttribute("src");
    video.load();
  };
  signal.addEventListener("abort", stop, { once: true });
  let fatal;
  const fatalError = new Promise((resolve) => { fatal = resolve; });
  try {
    // hls.js wherever Media Source Extensions exist (also where the browser claims native
    // HLS: Chromium's own is new and failed on our MPEG-TS playlists); native HLS on iOS.
    hlsModule ||= await import("../vendor/hls/hls.light.min.js");
    const Hls = hlsModule.default;
    if (Hls.isSupported()) {
      hls = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 2, levelLoadingMaxRetry: 2, fragLoadingMaxRetry: 2 });
      hls.on(Hls.Events.ERROR, (_ev, data) => { if (data.fatal) fatal(`HLS ${data.type}: ${data.details}`); });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
      video.addEventListener("error", () => fatal("HLS playback error"), { once: true });
    } else {
      throw new Failed("HLS: this browser can play neither HLS nor Media Source Extensions");
    }
    await Promise.race([
      waitPlaying(video, 20_000, signal),
      fatalError.then((why) => { throw new Failed(why); }),
    ]);
  } catch (err) {
    stop();
    throw err;
  }
  const ended = Promise.race([fatalError, watchStall(video, 15_000, signal)]);
  return { mode: "HLS", ended, stop };
}

/**
 * The live view of one stream inside `root` (which holds a <video> and an <img>).
 * `onState(mode, detail)` reports "WebRTC", "HLS", "JPEG" or "connecting".
 */
export class LivePlayer {
  constructor(root, name, { onState = () => {}, snapshotHeight = 360 } = {}) {
    this.root = root;
    this.name = name;
    this.onState = onState;
    this.snapshotHeight = snapshotHeight;
    this.video = root.querySelector("video");
    this.img = root.querySelector("img");
    this.abort = new AbortController();
    this.snapTimer = null;
    this.snapRunning = false;
    this.mode = "connecting";
  }

  start() {
    this.loop();
    return this;
  }

  stop() {
    this.abort.abort();
    this.stopSnapshots();
  }

  show(which) {
    // The video stays laid out under the picture (never display:none): browsers may pause
    // muted videos that are not visible, which would fail a background retry.
    this.root.dataset.show = which;
  }

  setMode(mode, detail = "") {
    this.mode = mode;
    this.root.dataset.mode = mode;
    this.onState(mode, detail);
  }

  async loop() {
    const signal = this.abort.signal;
    let backoff = 2000;
    while (!signal.aborted) {
      let session = null;
      const errors = [];
      for (const [key, starter] of [["webrtc", startWebRTC], ["hls", startHls]]) {
        if (signal.aborted) return;
        if (isMissing(key)) continue;
        const attempt = new AbortController();
        const onAbort = () => attempt.abort();
        signal.addEventListener("abort", onAbort, { once: true });
        try {
          session = await starter(this.video, this.name, attempt.signal);
          session.abort = attempt;
          break;
        } catch (err) {
          attempt.abort();
          errors.push(err.message);
        } finally {
          signal.removeEventListener("abort", onAbort);
        }
      }
      if (signal.aborted) { session?.stop(); return; }
      if (session) {
        this.stopSnapshots();
        this.show("video");
        this.setMode(session.mode);
        backoff = 2000;
        const why = await Promise.race([session.ended, new Promise((r) => signal.addEventListener("abort", () => r("stopped"), { once: true }))]);
        session.abort.abort();
        session.stop();
        if (signal.aborted) return;
        this.setMode("connecting", String(why));
        this.startSnapshots();
        await sleep(1000, signal);
        continue;
      }
      // Neither video mode works right now: snapshots, and try again later.
      this.lastErrors = errors;
      this.root.dataset.errors = errors.join("; ");
      this.startSnapshots();
      const wait = isMissing("webrtc") && isMissing("hls") ? MISSING_FOR_MS : backoff;
      backoff = Math.min(backoff * 2, 60_000);
      await sleep(wait, signal);
    }
  }

  startSnapshots() {
    if (this.snapRunning) return;
    this.snapRunning = true;
    let n = 0;
    const next = () => {
      if (!this.snapRunning) return;
      this.img.src = url(`api/streams/${enc(this.name)}/snapshot.jpg`, { h: this.snapHeight(), _: `${Date.now()}-${n++}` });
    };
    this.img.onload = () => {
      if (!this.snapRunning) return;
      if (this.mode !== "JPEG") { this.show("img"); this.setMode("JPEG"); }
      this.snapTimer = setTimeout(next, 1000);
    };
    this.img.onerror = () => {
      if (!this.snapRunning) return;
      this.onState(this.mode === "JPEG" ? "JPEG" : "connecting", "no picture yet");
      this.snapTimer = setTimeout(next, 3000);
    };
    next();
  }

  stopSnapshots() {
    this.snapRunning = false;
    clearTimeout(this.snapTimer);
    this.img.onload = this.img.onerror = null;
  }

  snapHeight() {
    const px = Math.round((this.root.clientHeight || this.snapshotHeight) * (window.devicePixelRatio || 1));
    return Math.min(1080, Math.max(120, Math.round(px / 60) * 60));
  }
}
