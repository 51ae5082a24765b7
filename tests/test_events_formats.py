"""Event file readers and writers: real recordings, round trips, overflow markers, bad input, reading in blocks."""

import io
import shutil
import tracemalloc

import numpy as np
import pytest

from evrepro.events import EVENT_DTYPE, EventFormatError, blocks, make_events, read, reader_for, write
from evrepro.events.aedat import read_aedat2_dvs128
from evrepro.events.atis import OVERFLOW_INCREMENT_US, decode_atis, encode_atis, read_atis
from evrepro.events.prophesee import read_prophesee_dat, read_prophesee_dat_blocks, write_prophesee_dat


def decode_atis_slowly(raw: bytes) -> list[tuple[int, int, int, int]]:
    """Per-record decoding straight from the format description, as the reference to test against."""
    out, offset = [], 0
    for i in range(0, len(raw), 5):
        b0, b1, b2, b3, b4 = raw[i : i + 5]
        if b1 == 240:
            offset += 2**13
            continue
        out.append((((b2 & 127) << 16) + (b3 << 8) + b4 + offset, b0, b1, b2 >> 7))
    return out


def random_events(rng, n, width=34, height=34, t_max=300_000):
    return make_events(np.sort(rng.integers(0, t_max, n)), rng.integers(0, width, n),
                       rng.integers(0, height, n), rng.integers(0, 2, n))


# Values from tests/data/real/SOURCES.md, checked there with an independent decoder.
@pytest.mark.parametrize("name, count, t_range, on, off", [
    ("nmnist/sample_nmnist.bin", 4325, (654, 311_175), 2145, 2180),
    ("nmnist/1.bs2", 4681, (893, 305_924), 2328, 2353),
])
def test_real_nmnist_recordings_decode_exactly(real_fixtures, name, count, t_range, on, off):
    events = read(real_fixtures / name)
    assert events.dtype == EVENT_DTYPE
    assert events.size == count
    assert (events["t"][0], events["t"][-1]) == t_range
    assert (events["t"].min(), events["t"].max()) == t_range
    assert (events["x"].min(), events["x"].max(), events["y"].min(), events["y"].max()) == (0, 33, 0, 33)
    assert (np.sum(events["p"] == 1), np.sum(events["p"] == 0)) == (on, off)
    assert np.all(np.diff(events["t"]) >= 0)
    reference = decode_atis_slowly((real_fixtures / name).read_bytes())
    assert [tuple(int(v) for v in e) for e in events[["t", "x", "y", "p"]]] == reference


def test_real_nmnist_bytes_survive_a_round_trip(real_fixtures, tmp_path):
    original = real_fixtures / "nmnist" / "sample_nmnist.bin"
    write(tmp_path / "copy.bin", read(original))
    assert (tmp_path / "copy.bin").read_bytes() == original.read_bytes()


def test_real_ncars_recording_decodes_exactly(real_fixtures):
    events = read(real_fixtures / "ncars" / "sample_ncars.dat")
    assert events.size == 2009
    assert (events["t"].min(), events["t"].max()) == (0, 99_952)
    assert (events["x"].min(), events["x"].max(), events["y"].min(), events["y"].max()) == (0, 77, 0, 41)
    assert (np.sum(events["p"] == 1), np.sum(events["p"] == 0)) == (1350, 659)


def test_aedat_header_without_events_reads_as_empty(real_fixtures):
    events = read(real_fixtures / "aedat2_header_only" / "sample_aedat_header.aedat")
    assert events.size == 0 and events.dtype == EVENT_DTYPE


def test_atis_overflow_markers_add_the_increment_and_are_dropped():
    records = bytes([1, 2, 0x80, 0x00, 0x10,   # x1 y2 ON t=16
                     0, 240, 0, 0, 0,          # overflow marker
                     3, 4, 0x7F, 0xFF, 0xFF,   # x3 y4 OFF t=2^23-1 (+ one increment)
                     0, 240, 0, 0, 0,
                     5, 6, 0x00, 0x00, 0x01])  # t=1 (+ two increments)
    events = decode_atis(records)
    assert events["t"].tolist() == [16, 2**23 - 1 + OVERFLOW_INCREMENT_US, 1 + 2 * OVERFLOW_INCREMENT_US]
    assert events["x"].tolist() == [1, 3, 5] and events["p"].tolist() == [1, 0, 0]
    assert [tuple(e) for e in events[["t", "x", "y", "p"]].tolist()] == decode_atis_slowly(records)


def test_atis_writer_inserts_markers_for_long_recordings():
    events = make_events([0, 2**23 - 1, 2**23, 2**23 + 10 * OVERFLOW_INCREMENT_US], [1, 2, 3, 4], [1, 1, 1, 1],
                         [1, 0, 1, 0])
    raw = encode_atis(events)
    assert raw.count(bytes([0, 240])) >= 1
    assert len(raw) % 5 == 0 and len(raw) // 5 > events.size
    assert decode_atis(raw).tolist() == events.tolist()


@pytest.mark.parametrize("suffix, width, height", [(".bin", 240, 180), (".dat", 304, 240), (".aedat", 128, 128)])
def test_random_events_round_trip_in_every_format(tmp_path, suffix, width, height):
    events = random_events(np.random.default_rng(7), 5000, width, height)
    write(tmp_path / f"sample{suffix}", events)
    back = read(tmp_path / f"sample{suffix}")
    assert back.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(back, events)


def test_reader_is_picked_by_header_when_the_extension_is_unknown(tmp_path, real_fixtures):
    shutil.copy(real_fixtures / "ncars" / "sample_ncars.dat", tmp_path / "recording")
    assert reader_for(tmp_path / "recording") is read_prophesee_dat
    assert read(tmp_path / "recording").size == 2009
    shutil.copy(real_fixtures / "aedat2_header_only" / "sample_aedat_header.aedat", tmp_path / "jaer")
    assert reader_for(tmp_path / "jaer") is read_aedat2_dvs128
    assert reader_for(tmp_path / "x.bs2") is read_atis


def test_unknown_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "mystery.xyz"
    path.write_bytes(b"\x00\x01\x02\x03\x04")
    with pytest.raises(EventFormatError, match="mystery.xyz"):
        read(path)


def test_truncated_atis_file_names_file_and_size(tmp_path, real_fixtures):
    raw = (real_fixtures / "nmnist" / "sample_nmnist.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(raw[:-2])
    with pytest.raises(EventFormatError, match=r"cut\.bin: 21623 bytes"):
        read(tmp_path / "cut.bin")


def test_writer_refuses_out_of_range_values_naming_event_and_value(tmp_path):
    events = make_events([0, 5], [3, 300], [1, 1], [0, 1])
    with pytest.raises(EventFormatError, match=r"bad\.bin: event 1 has x=300"):
        write(tmp_path / "bad.bin", events)
    with pytest.raises(EventFormatError, match="y=240"):
        encode_atis(make_events([0], [0], [240], [0]))


def test_prophesee_header_only_truncated_and_garbage_files_are_refused_naming_the_offset(tmp_path, real_fixtures):
    raw = (real_fixtures / "ncars" / "sample_ncars.dat").read_bytes()
    header_end = 91  # three header lines (SOURCES.md), then the event type and size bytes
    cases = {
        "header.dat": (raw[:header_end], r"header\.dat: ends at byte 91, right after its 3 header lines"),
        "cut_line.dat": (raw[:50], r"cut_line\.dat: header line 1 at byte 0 has no end of line"),
        "cut_record.dat": (raw[:-3], r"cut_record\.dat: 16069 payload bytes from byte 93 is not a whole number"),
        "garbage.dat": (raw[:60] + b"\x00\x07" + raw[62:], r"garbage\.dat: header line 2 \(from byte 52\) holds "
                                                             r"byte 0x00 at byte 60, which is not text"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(EventFormatError, match=message):
            read(tmp_path / name)
    (tmp_path / "no_events.dat").write_bytes(raw[: header_end + 2])  # a whole file holding zero events
    assert read(tmp_path / "no_events.dat").size == 0


def test_atis_overflow_markers_carry_across_the_blocks_of_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 40)  # 8 records a block
    rng = np.random.default_rng(3)
    records = rng.integers(0, 256, (101, 5), dtype=np.uint8)
    records[[6, 7, 8, 15, 16, 40, 41, 42, 100], 1] = 240  # markers on both sides of block boundaries, and last
    (tmp_path / "long.bin").write_bytes(records.tobytes())
    events = read_atis(tmp_path / "long.bin")
    assert events.size == 92
    assert [tuple(int(v) for v in e) for e in events[["t", "x", "y", "p"]]] == decode_atis_slowly(records.tobytes())


def test_dat_readers_decode_and_check_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 40)  # 5 records a block
    events = random_events(np.random.default_rng(5), 47, 304, 240)
    header = ("Width 304", "Height 240")
    write_prophesee_dat(tmp_path / "rec.dat", events, header)
    np.testing.assert_array_equal(read_prophesee_dat(tmp_path / "rec.dat"), events)
    np.testing.assert_array_equal(np.concatenate(list(read_prophesee_dat_blocks(tmp_path / "rec.dat", 7))), events)
    events["x"][[31, 45]] = 304
    write_prophesee_dat(tmp_path / "bad.dat", events, header)
    with pytest.raises(EventFormatError, match=r"bad\.dat: event 31 has x=304, outside \[0, 303\] \(2 such events\)"):
        read_prophesee_dat(tmp_path / "bad.dat")
    with pytest.raises(EventFormatError, match=r"event 31 has x=304, outside \[0, 303\] \(1 such events in this"):
        list(read_prophesee_dat_blocks(tmp_path / "bad.dat", 14))


@pytest.mark.parametrize("suffix", [".bin", ".dat"])
def test_reading_a_file_takes_the_events_and_one_block_of_memory(tmp_path, suffix):
    events = random_events(np.random.default_rng(9), 300_000, 240, 180)  # 1.5-2.4 MB of records, 3.9 MB of events
    write(tmp_path / f"big{suffix}", events)
    read(tmp_path / f"big{suffix}")  # numba's set-up and cache outside the measurement
    tracemalloc.start()
    try:
        back = read(tmp_path / f"big{suffix}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(back, events)
    assert back.nbytes <= peak <= back.nbytes + blocks.BLOCK_BYTES + 2**20  # and the file object's own buffer


def test_a_file_that_shrinks_while_it_is_read_is_refused_naming_the_byte():
    short = io.BytesIO(bytes(12))  # three 5-byte records announced, 12 bytes there
    with pytest.raises(EventFormatError, match=r"f\.bin: ends at byte 12, 3 bytes short of record 2: the file shrank"):
        list(blocks.record_blocks(short, 3, 5, "f.bin"))
