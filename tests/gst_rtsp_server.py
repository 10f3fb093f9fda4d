"""A tiny RTSP server for tests: loops an MP4 (H.264, optional AAC) with GStreamer.

Run by Debian's system python (`/usr/bin/python3`, which has PyGObject and
GstRtspServer), never imported by the venv. Usage:

    gst_rtsp_server.py FILE.mp4 PORT [--udp]

Prints ``READY <port>`` on stdout once the port accepts connections, then
``CLIENT`` for each RTSP connection. Each client gets its own pipeline (the media
is not shared), so every client starts at the first keyframe of the file.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

MOUNT = "/stream"


def _has_audio(path):
    """Tell whether the file has an audio track, by asking a discoverer-free probe."""
    pipeline = Gst.parse_launch(f'filesrc location="{path}" ! qtdemux name=d d. ! fakesink')
    demux = pipeline.get_by_name("d")
    pads = []
    demux.connect("pad-added", lambda _el, pad: pads.append(pad.get_name()))
    pipeline.set_state(Gst.State.PAUSED)
    pipeline.get_state(5 * Gst.SECOND)
    pipeline.set_state(Gst.State.NULL)
    return any(name.startswith("audio") for name in pads)


class LoopingFactory(GstRtspServer.RTSPMediaFactory):
    """Builds one pipeline per client that plays the file forever."""

    def __init__(self, path, audio):
        super().__init__()
        self._path = path
        self._audio = audio

    def do_create_element(self, url):
        launch = (
            f'filesrc location="{self._path}" ! qtdemux name=demux '
            "demux.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 "
        )
        if self._audio:
            launch += "demux.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 "
        element = Gst.parse_launch(f"( {launch} )")
        _Looper(element.get_by_name("demux"), 2 if self._audio else 1)
        return element


class _Looper:
    """Turns the demuxer's EOS into a seek back to the start, forever.

    A flushing seek would reset the running time (and so the RTP timestamps);
    a non-flushing one keeps it going, like a camera that never stops. The EOS
    is dropped before it leaves qtdemux, but the pad has already marked itself
    EOS, so a swallowed STREAM_START clears that first. Pad offsets then place
    each loop exactly where the previous one ended (qtdemux alone would start
    it at the last sample's start, one frame early).
    """

    def __init__(self, demux, n_pads):
        self._demux = demux
        self._n_pads = n_pads
        self._eos = 0
        self._restarting = False
        self._last_pts = 0  # in file time, over all pads, as qtdemux's position
        self._end = 0  # in file time: last pts + duration, over all pads
        self._demux_base = 0  # running time qtdemux gave the current loop
        self._base = 0  # running time the current loop should have
        demux.connect("pad-added", self._on_pad)

    def _on_pad(self, _demux, pad):
        pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, self._on_event)
        pad.add_probe(Gst.PadProbeType.BUFFER, self._on_buffer)

    def _on_buffer(self, _pad, info):
        buf = info.get_buffer()
        if buf.pts != Gst.CLOCK_TIME_NONE:
            self._last_pts = max(self._last_pts, buf.pts)
            duration = buf.duration if buf.duration != Gst.CLOCK_TIME_NONE else 0
            self._end = max(self._end, buf.pts + duration)
        return Gst.PadProbeReturn.OK

    def _on_event(self, _pad, info):
        event = info.get_event()
        if event.type == Gst.EventType.STREAM_START and self._restarting:
            return Gst.PadProbeReturn.DROP
        if event.type != Gst.EventType.EOS:
            return Gst.PadProbeReturn.OK
        self._eos += 1
        if self._eos >= self._n_pads:
            self._eos = 0
            # Seeking from the streaming thread would deadlock on its stream lock.
            GLib.idle_add(self._rewind)
        return Gst.PadProbeReturn.DROP

    def _rewind(self):
        self._demux_base += self._last_pts
        self._base += self._end
        self._last_pts = self._end = 0
        self._restarting = True
        for pad in self._demux.srcpads:
            pad.push_event(Gst.Event.new_stream_start(pad.get_stream_id()))
            pad.set_offset(self._base - self._demux_base)
        self._restarting = False
        self._demux.seek(
            1.0, Gst.Format.TIME, Gst.SeekFlags.NONE, Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1
        )
        return False


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    udp = "--udp" in sys.argv[3:]
    Gst.init(None)
    factory = LoopingFactory(path, _has_audio(path))
    factory.set_shared(False)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP if udp else GstRtsp.RTSPLowerTrans.TCP)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    server.get_mount_points().add_factory(MOUNT, factory)
    server.connect("client-connected", lambda *_: print("CLIENT", flush=True))
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
