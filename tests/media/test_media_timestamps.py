"""Timestamp repair: missing and backwards DTS, as FFmpeg's RTSP reader produces them."""

from __future__ import annotations

from fractions import Fraction

import av
from av.packet import Packet
from av.stream import Stream

from nvr_hub.media import TimestampRepair

TB = Fraction(1, 90000)
STEP = 9000  # 10 fps


def packet(pts: int | None, dts: int | None, duration: int = STEP) -> Packet[Stream]:
    p = av.Packet(b"\x00\x00\x00\x01\x65")
    p.time_base = TB
    p.pts, p.dts, p.duration = pts, dts, duration
    return p


def run(repair: TimestampRepair, stamps: list[tuple[int | None, int | None]]) -> list[int]:
    out: list[Packet[Stream]] = []
    for pts, dts in stamps:
        out += repair.push(packet(pts, dts))
    dts_out = [p.dts for p in out]
    assert all(d is not None for d in dts_out)
    assert all(p.pts is not None and p.dts is not None and p.pts >= p.dts for p in out)
    return [d for d in dts_out if d is not None]


def test_first_packet_without_timestamps_is_kept_and_placed_one_frame_early() -> None:
    repair = TimestampRepair()
    first = packet(None, None)
    assert repair.push(first) == []  # held until a timestamp shows up
    second = packet(9000, 9000)
    assert repair.push(second) == [first, second]
    assert (first.pts, first.dts) == (0, 0)
    assert (second.pts, second.dts) == (9000, 9000)


def test_missing_dts_uses_pts_and_missing_both_follow_on() -> None:
    assert run(TimestampRepair(), [(0, 0), (9000, None), (None, None), (27000, 27000)]) == [
        0,
        9000,
        18000,
        27000,
    ]


def test_duplicate_and_slightly_backwards_dts_are_bumped() -> None:
    dts = run(TimestampRepair(), [(0, 0), (9000, 9000), (9000, 9000), (8000, 8000), (18000, 18000)])
    assert dts == [0, 9000, 9001, 9002, 18000]


def test_large_jump_back_rebases_the_rest_of_the_stream() -> None:
    stamps: list[tuple[int | None, int | None]] = [(t, t) for t in range(900000, 945000, STEP)]
    stamps += [(t, t) for t in range(0, 27000, STEP)]  # the camera restarted its clock
    dts = run(TimestampRepair(), stamps)
    assert dts == list(range(900000, 900000 + STEP * len(stamps), STEP))


def test_large_jump_forward_is_rebased_small_gap_kept() -> None:
    stamps: list[tuple[int | None, int | None]] = [(0, 0), (9000, 9000)]
    stamps += [(90000 * 3600, 90000 * 3600)]  # an hour ahead: a clock jump
    stamps += [(90000 * 3600 + STEP, 90000 * 3600 + STEP), (None, None)]
    assert run(TimestampRepair(), stamps) == [0, 9000, 18000, 27000, 36000]
    # A few frames lost is a real gap and stays one.
    assert run(TimestampRepair(), [(0, 0), (45000, 45000)]) == [0, 45000]


def test_pts_never_below_dts() -> None:
    repair = TimestampRepair()
    out = repair.push(packet(0, 0)) + repair.push(packet(9000, 9000)) + repair.push(packet(5, 5))
    assert [(p.pts, p.dts) for p in out] == [(0, 0), (9000, 9000), (9001, 9001)]


def test_flush_times_packets_that_never_got_a_timestamp() -> None:
    repair = TimestampRepair()
    assert repair.push(packet(None, None)) == []
    flushed = repair.flush()
    assert len(flushed) == 1 and flushed[0].dts == 0
