// Minimal live view: /live.html?src=NAME&mode=webrtc|hls (WebRTC through WHEP by default).
const params = new URLSearchParams(location.search);
const src = params.get('src') || '';
const mode = params.get('mode') === 'hls' ? 'hls' : 'webrtc';
const video = document.getElementById('video');
const statusEl = document.getElementById('status');
// Read by tests and handy in the console.
const state = (window.liveState = { src, mode, status: 'starting', error: null, session: null });

document.getElementById('stream').textContent = src || '(no stream: add ?src=NAME)';
document.getElementById('mode').textContent = mode === 'hls' ? 'HLS' : 'WebRTC';

function setStatus(status, error) {
  state.status = status;
  state.error = error || null;
  statusEl.textContent = error ? `${status}: ${error}` : status;
}

async function failure(resp) {
  if (resp.status === 401) return 'log in first (/login.html)';
  try {
    return (await resp.json()).error || `HTTP ${resp.status}`;
  } catch {
    return `HTTP ${resp.status}`;
  }
}

function gatheringDone(pc, timeoutMs) {
  // The hub takes the offer with its candidates in it (no trickle ICE).
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function startWebRtc() {
  const ice = await fetch('/api/ice-servers');
  if (!ice.ok) throw new Error(await failure(ice));
  const pc = new RTCPeerConnection({ iceServers: (await ice.json()).ice_servers });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addEventListener('track', (event) => {
    video.srcObject = event.streams[0] || new MediaStream([event.track]);
  });
  pc.addEventListener('connectionstatechange', () => setStatus(pc.connectionState));
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringDone(pc, 3000);
  const resp = await fetch(`/api/webrtc?src=${encodeURIComponent(src)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp' },
    body: pc.localDescription.sdp,
  });
  if (resp.status !== 201) throw new Error(await failure(resp));
  state.session = resp.headers.get('Location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
  window.addEventListener('pagehide', () => {
    if (state.session) fetch(state.session, { method: 'DELETE', keepalive: true });
    pc.close();
  });
}

async function startHls() {
  const url = `/hls/${encodeURIComponent(src)}/index.m3u8`;
  // hls.js first (Media Source Extensions): Chromium's own HLS player refuses a live
  // playlist shorter than three segments, which is what a fresh live stream starts with.
  const { default: Hls } = await import('./vendor/hls/hls.light.min.js');
  if (Hls.isSupported()) {
    const hls = new Hls({ liveSyncDurationCount: 1, lowLatencyMode: false });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) setStatus('error', data.details);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = url; // Safari on iOS: no MSE, native HLS
  } else {
    throw new Error('this browser cannot play HLS');
  }
  video.addEventListener('playing', () => setStatus('playing'));
  video.addEventListener('error', () => {
    const err = video.error;
    setStatus('error', err ? `media error ${err.code}: ${err.message}` : 'the video element failed');
  });
}

(async () => {
  if (!src) throw new Error('no stream given');
  await (mode === 'hls' ? startHls() : startWebRtc());
})().catch((err) => setStatus('error', err.message || String(err)));
