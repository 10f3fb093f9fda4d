"""Timestamp repair for demuxed packets, so muxers downstream never see bad DTS."""

from __future__ import annotations

import logging
from fractions import Fraction

from av.packet import Packet
from av.stream import Stream

_LOGGER = logging.getLogger(__name__)

# A DTS jump back by more than this (seconds) is a discontinuity (camera restarted its
# clock, RTCP sync kicked in), not jitter: shift everything after it to follow on.
BACKWARD_JUMP = 0.5
# Likewise forward: a gap longer than this is a clock jump, not lost packets (a real
# outage that long ends the connection through the stall timeout first).
FORWARD_JUMP = 10.0
# Packets without any timestamp held while no earlier DTS is known.
MAX_PENDING = 16


class TimestampRepair:
    """Repairs one stream's timestamps: dts present, strictly increasing, pts >= dts.

    FFmpeg's RTSP reader can hand over the first keyframe with no timestamp at all
    (its RTP timestamp comes before the reader has a time reference). Dropping it
    would lose the stream's only decodable start until the next GOP, so such a
    packet is held until the next timestamped one and then placed one frame before
    it. Timestamps are rewritten on the packet objects themselves.
    """

    def __init__(self, name: str = "") -> None:
        self._name = name
        self._last_dts: int | None = None
        self._step = 0  # typical DTS increment, in the stream's time base
        self._offset = 0  # added to every timestamp after a discontinuity
        self._pending: list[Packet[Stream]] = []
        # Jump thresholds in ticks, from the first packet's time base (no Fraction math
        # per packet: this runs for every packet of every camera).
        self._back_ticks: int | None = None
        self._fwd_ticks = 0

    def push(self, packet: Packet[Stream]) -> list[Packet[Stream]]:
        """Repair `packet`; return the packets now ready, in order (possibly none)."""
        dts = packet.dts if packet.dts is not None else packet.pts
        if dts is None and self._last_dts is None:
            if len(self._pending) < MAX_PENDING:
                self._pending.append(packet)
                return []
            # Nothing has a timestamp: start the clock at zero rather than wait forever.
            dts = 0
        ready: list[Packet[Stream]] = []
        if dts is None:
            dts = self._next_dts(packet)
        elif self._pending:
            ready = self._place_pending(dts + self._offset, packet)
        self._apply(packet, dts)
        ready.append(packet)
        return ready

    def flush(self) -> list[Packet[Stream]]:
        """Timestamp and return packets still held (end of stream)."""
        pending, self._pending = self._pending, []
        for packet in pending:
            self._apply(packet, self._next_dts(packet) if self._last_dts is not None else 0)
        return pending

    def _duration(self, packet: Packet[Stream]) -> int:
        return packet.duration or self._step or 1

    def _next_dts(self, packet: Packet[Stream]) -> int:
        assert self._last_dts is not None
        return self._last_dts - self._offset + self._duration(packet)

    def _place_pending(self, dts: int, packet: Packet[Stream]) -> list[Packet[Stream]]:
        """Give held packets the frame slots right before `dts` (in output time)."""
        pending, self._pending = self._pending, []
        step = self._duration(packet)
        start = dts - step * len(pending)
        for index, held in enumerate(pending):
            held.dts = held.pts = start + index * step
            self._last_dts = held.dts
        _LOGGER.debug("%s: gave %d untimed packet(s) a timestamp", self._name, len(pending))
        return pending

    def _apply(self, packet: Packet[Stream], dts: int) -> None:
        """Set repaired timestamps on `packet`; `dts` is in input time (before offset)."""
        pts = packet.pts if packet.pts is not None else dts
        dts += self._offset
        pts += self._offset
        last = self._last_dts
        if last is not None:
            if self._back_ticks is None:
                tb = packet.time_base or Fraction(1, 90000)
                self._back_ticks = int(BACKWARD_JUMP / tb)
                self._fwd_ticks = int(FORWARD_JUMP / tb)
            delta = dts - last
            if delta < -self._back_ticks or delta > self._fwd_ticks:
                shift = last + (self._step or self._duration(packet)) - dts
                _LOGGER.debug("%s: timestamp jump of %d ticks, rebasing", self._name, delta)
                self._offset += shift
                dts += shift
                pts += shift
            elif delta <= 0:
                # Equal or slightly backwards DTS (reordered or duplicated frames).
                dts = last + 1
            else:
                self._step = delta
        packet.dts = dts
        # MP4 rejects pts < dts; this only happens for frames whose DTS was bumped.
        packet.pts = max(pts, dts)
        self._last_dts = dts
