"""The AEDAT readers on the cases the generated round trips do not reach: packets with unused
capacity and of other event types, large (memory-mapped) files, long header lines, timestamps
out of order, every packet error with its byte offset, and folders read by several threads."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

from spikeflow.data import cifar10_dvs, dvs_gesture
from spikeflow.data.recordings import MAP_MIN_BYTES, read_bytes
from spikeflow.errors import UserError

from .formats import (
    AEDAT31_HEADER,
    aedat2_bytes,
    aedat31_bytes,
    aedat31_packet,
    polarity_words,
    random_events,
    write_cifar_folder,
    write_gesture_folder,
)


def _same(a, b):
    assert len(a) == len(b)
    for field in b.dtype.names:
        np.testing.assert_array_equal(a[field], b[field])


def _mapped(raw):
    """Whether ``raw`` (from read_bytes) is a view of a memory map."""
    return isinstance(getattr(raw.base, "obj", raw.base), mmap.mmap)


def _write(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


def test_aedat31_unused_capacity_and_other_event_types_skipped(tmp_path):
    rng = np.random.default_rng(20)
    first = random_events(rng, 6, (128, 128, 2), t_max=1000)
    slack = random_events(rng, 4, (128, 128, 2), t_max=1000)  # valid-looking, beyond eventNumber
    second = random_events(rng, 5, (128, 128, 2), t_max=1000, t0=(1 << 31) + 2000)
    imu = rng.integers(0, 256, 3 * 12, dtype=np.uint8).tobytes()  # type 2, 12-byte events
    data = (
        AEDAT31_HEADER
        + aedat31_packet(1, 8, 0, polarity_words(first) + polarity_words(slack), 6, capacity=10)
        + aedat31_packet(2, 12, 0, imu, 3)
        + aedat31_packet(1, 8, 1, polarity_words(second), 5)
    )
    got = dvs_gesture.read_aedat31(_write(tmp_path, "m.aedat", data))
    _same(got, np.concatenate([first, second]))


def test_aedat31_header_only_has_no_events(tmp_path):
    got = dvs_gesture.read_aedat31(_write(tmp_path, "e.aedat", AEDAT31_HEADER))
    assert len(got) == 0


def test_aedat31_out_of_order_timestamps_come_back_sorted(tmp_path):
    ev = random_events(np.random.default_rng(21), 300, (128, 128, 2), t_max=50_000)
    shuffled = ev[np.random.default_rng(22).permutation(len(ev))]
    data = AEDAT31_HEADER + aedat31_packet(1, 8, 0, polarity_words(shuffled, invalid=(7,)), 300)
    got = dvs_gesture.read_aedat31(_write(tmp_path, "s.aedat", data))
    kept = np.delete(shuffled, 7)
    _same(got, kept[np.argsort(kept["t"], kind="stable")])


@pytest.mark.parametrize("kind", ["aedat31", "aedat2"])
def test_large_files_are_memory_mapped_and_read_exactly(tmp_path, kind):
    ev = random_events(np.random.default_rng(23), 160_000, (128, 128, 2), t_max=3_000_000)
    if kind == "aedat31":
        path = _write(tmp_path, "big.aedat", aedat31_bytes(ev, packet_events=4096, invalid=(9,)))
        got, want = dvs_gesture.read_aedat31(path), np.delete(ev, 9)
    else:
        path = _write(tmp_path, "big.aedat", aedat2_bytes(ev, external=(0, 80_000)))
        got, want = cifar10_dvs.read_aedat2_dvs128(path), ev
    assert path.stat().st_size >= MAP_MIN_BYTES
    assert _mapped(read_bytes(path))
    _same(got, want)


def test_small_files_are_read_into_memory(tmp_path):
    path = _write(tmp_path, "small.bin", b"\x01\x02\x03")
    raw = read_bytes(path)
    assert raw.tolist() == [1, 2, 3] and not _mapped(raw)


def test_header_line_longer_than_the_first_window(tmp_path):
    ev = random_events(np.random.default_rng(24), 20, (128, 128, 2))
    long_line = b"# " + b"x" * 10_000 + b"\r\n"
    head = AEDAT31_HEADER.replace(b"#Format: RAW\r\n", b"#Format: RAW\r\n" + long_line)
    data = head + aedat31_bytes(ev)[len(AEDAT31_HEADER) :]
    _same(dvs_gesture.read_aedat31(_write(tmp_path, "h.aedat", data)), ev)
    no_end = b"#!AER-DAT2.0\r\n# " + b"y" * 9_000
    with pytest.raises(UserError, match=r"n\.aedat: header line without an end of line at byte "
                       r"offset 14; the file is truncated"):  # fmt: skip
        cifar10_dvs.read_aedat2_dvs128(_write(tmp_path, "n.aedat", no_end))


def test_empty_file_is_not_an_aedat_file(tmp_path):
    with pytest.raises(UserError, match=r"z\.aedat: starts with b''; expected an AEDAT file"):
        dvs_gesture.read_aedat31(_write(tmp_path, "z.aedat", b""))


def test_aedat31_packet_errors_name_the_byte_offset(tmp_path):
    ev = random_events(np.random.default_rng(25), 4, (128, 128, 2))
    start = len(AEDAT31_HEADER)
    good = aedat31_packet(1, 8, 0, polarity_words(ev), 4)
    cut = AEDAT31_HEADER + good + good[:10]
    with pytest.raises(UserError, match=rf"packet header of 10 bytes, expected 28 at byte offset "
                       rf"{start + len(good)}"):  # fmt: skip
        dvs_gesture.read_aedat31(_write(tmp_path, "c.aedat", cut))
    wide = AEDAT31_HEADER + good + aedat31_packet(1, 12, 0, b"\0" * 24, 2)
    with pytest.raises(UserError, match=rf"w\.aedat: polarity packet with eventSize=12, expected 8 "
                       rf"at byte offset {start + len(good)}"):  # fmt: skip
        dvs_gesture.read_aedat31(_write(tmp_path, "w.aedat", wide))
    outside = ev.copy()
    outside["x"][2] = 0x1FFF  # inside the 15-bit field, outside the 128 x 128 sensor
    words = polarity_words(outside)
    data = AEDAT31_HEADER + aedat31_packet(1, 8, 0, words, 4)
    with pytest.raises(UserError, match=rf"o\.aedat: polarity event at x=8191, y={ev['y'][2]}, "
                       rf"expected both < 128 at byte offset {start + 28 + 16}"):  # fmt: skip
        dvs_gesture.read_aedat31(_write(tmp_path, "o.aedat", data))
    data = AEDAT31_HEADER + aedat31_packet(1, 8, 0, polarity_words(outside, invalid=(2,)), 4)
    _same(dvs_gesture.read_aedat31(_write(tmp_path, "i.aedat", data)), np.delete(ev, 2))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_gesture_folder_same_samples_with_any_number_of_threads(tmp_path, workers):
    names = [f"user{k:02d}_led" for k in range(5)]
    written = write_gesture_folder(tmp_path, np.random.default_rng(26), {"train": names})
    got = list(dvs_gesture.gesture_samples(tmp_path, "train", workers))
    assert [lab for _, lab in got] == [lab for _, lab in written["train"]]
    for (a, _), (b, _) in zip(got, written["train"], strict=True):
        _same(a, b)


@pytest.mark.parametrize("workers", [1, 3])
def test_gesture_folder_error_names_the_recording_after_earlier_gestures(tmp_path, workers):
    names = [f"user{k:02d}_led" for k in range(4)]
    write_gesture_folder(tmp_path, np.random.default_rng(27), {"train": names}, gestures=2)
    victim = tmp_path / "DvsGesture" / "user02_led.aedat"
    victim.write_bytes(victim.read_bytes()[:-5])
    got = []
    with pytest.raises(UserError, match=r"user02_led\.aedat: packet of \d+ bytes of events, only"):
        for sample in dvs_gesture.gesture_samples(tmp_path, "train", workers):
            got.append(sample)
    assert len(got) == 2 * 2  # the gestures of user00 and user01


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_cifar_folder_same_samples_with_any_number_of_threads(tmp_path, workers):
    written = write_cifar_folder(tmp_path, np.random.default_rng(28), per_class=3)
    got = [s for split in ("train", "test") for s in cifar10_dvs.cifar_samples(tmp_path, split,
                                                                                 workers)]  # fmt: skip
    by_path = {p: (ev, c) for p, ev, c in written}
    files = [f for split in ("train", "test") for f in cifar10_dvs.cifar_files(tmp_path, split)]
    assert len(got) == len(files) == len(written)
    for f, (events, label) in zip(files, got, strict=True):
        _same(events, by_path[f][0])
        assert label == by_path[f][1]


def test_gesture_cut_start_inclusive_end_exclusive(tmp_path):
    ev = random_events(np.random.default_rng(29), 5, (128, 128, 2))
    ev["t"] = [10, 20, 30, 40, 50]
    where = tmp_path / "DvsGesture"
    where.mkdir()
    (where / "trials_to_train.txt").write_text("user01_led.aedat\n")
    (where / "user01_led.aedat").write_bytes(aedat31_bytes(ev))
    rows = "class,startTime_usec,endTime_usec\r\n1,20,40\r\n2,0,10\r\n3,50,60\r\n4,45,45\r\n"
    (where / "user01_led_labels.csv").write_text(rows)
    got = list(dvs_gesture.gesture_samples(tmp_path, "train", 2))
    assert [(e["t"].tolist(), lab) for e, lab in got] == [
        ([20, 30], 0), ([], 1), ([50], 2), ([], 3),
    ]  # fmt: skip


@pytest.mark.parametrize("external", [True, False])  # with one, the skipping decoder runs
def test_aedat2_signed_timestamps_and_big_endian_words(tmp_path, external):
    events = ((0x7F01, -5), (0x00FE, (1 << 31) - 1), (0x0102, 7))
    events = ((0x8000, 0), *events) if external else events
    body = b"".join(a.to_bytes(4, "big") + t.to_bytes(4, "big", signed=True) for a, t in events)
    got = cifar10_dvs.read_aedat2_dvs128(_write(tmp_path, "s.aedat", b"#!AER-DAT2.0\r\n" + body))
    assert got.tolist() == [(0, 127, -5, 1), (1, 1, 7, 0), (127, 0, (1 << 31) - 1, 0)]
