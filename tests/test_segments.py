"""Segments: windows never straddle a failure, labels are the ttf of the last row, seeds reproduce."""

import numpy as np
import pandas as pd
import pytest

from lanl.data.ingest import ingest
from lanl.data.segments import SegmentSpec, iter_blocks, load_block, test_segments, train_segments
from lanl.errors import LanlError

L = 10_000


@pytest.fixture
def cache(small_data):
    data, sig, _, starts, ids = small_data
    ttf = pd.read_csv(data / "train.csv")["time_to_failure"].to_numpy()  # the doubles the text holds
    return ingest(data, segment_length=1000).cache, sig, ttf, starts


def _check_windows(table, sig, ttf, starts, length):
    ends = np.append(starts[1:], len(sig))
    for row in table.itertuples():
        k = row.cycle
        assert starts[k] <= row.start and row.start + length <= ends[k], "window straddles a failure"
        assert row.label == ttf[row.start + length - 1]
        assert row.seg_id == f"train_{row.start}"


def test_non_overlapping_windows(cache):
    c, sig, ttf, starts = cache
    t = train_segments(c, SegmentSpec(length=L))
    ends = np.append(starts[1:], len(sig))
    assert len(t) == sum((e - s) // L for s, e in zip(starts, ends, strict=True))
    _check_windows(t, sig, ttf, starts, L)
    for _, g in t.groupby("cycle"):
        assert (np.diff(g["start"]) == L).all()


def test_strided_windows(cache):
    c, sig, ttf, starts = cache
    t = train_segments(c, SegmentSpec(length=L, stride=2_500))
    ends = np.append(starts[1:], len(sig))
    assert len(t) == sum(len(range(s, e - L + 1, 2_500)) for s, e in zip(starts, ends, strict=True))
    _check_windows(t, sig, ttf, starts, L)


def test_random_windows_are_seeded(cache):
    c, sig, ttf, starts = cache
    a = train_segments(c, SegmentSpec(length=L, n_random=40, seed=3))
    b = train_segments(c, SegmentSpec(length=L, n_random=40, seed=3))
    d = train_segments(c, SegmentSpec(length=L, n_random=40, seed=4))
    pd.testing.assert_frame_equal(a, b)
    assert not a["start"].equals(d["start"])
    assert len(a) == 40 and a["start"].is_unique
    _check_windows(a, sig, ttf, starts, L)


def test_blocks_hold_the_signal(cache):
    c, sig, ttf, starts = cache
    t = train_segments(c, SegmentSpec(length=L, stride=7_000))
    seen = 0
    for part, block in iter_blocks(c, t, batch=3, length=L):
        assert block.dtype == np.int16 and block.shape == (len(part), L)
        for s, row in zip(part["start"], block, strict=True):
            np.testing.assert_array_equal(row, sig[s : s + L])
        seen += len(part)
    assert seen == len(t)


def test_windows_read_the_same_without_preadv(cache, monkeypatch):
    c, sig, _, _ = cache
    starts = np.array([0, 1, 12_345, len(sig) - L])
    fast = c.read_windows(starts, L)
    tests = c.read_test([1, 0])
    labels = c.ttf_at(starts + L - 1)
    np.testing.assert_array_equal(labels, c.ttf[starts + L - 1])
    monkeypatch.delattr("os.preadv")  # the lseek + readv path of systems without preadv
    np.testing.assert_array_equal(c.read_windows(starts, L), fast)
    np.testing.assert_array_equal(c.read_test([1, 0]), tests)
    np.testing.assert_array_equal(c.ttf_at(starts + L - 1), labels)
    for row, start in zip(fast, starts, strict=True):
        np.testing.assert_array_equal(row, sig[start : start + L])
    np.testing.assert_array_equal(tests, c.test_signal[[1, 0]])


def test_a_truncated_cache_file_is_named(cache, tmp_path):
    import shutil

    from lanl.data.cache import SignalCache

    c, sig, _, _ = cache
    copy = tmp_path / "cache"
    shutil.copytree(c.root, copy)
    with open(copy / "signal.i16", "r+b") as f:
        f.truncate(2 * (len(sig) - 10))
    with pytest.raises(
        LanlError, match=r"signal.i16: [\d,]+ bytes, the manifest says [\d,]+; the cache is damaged"
    ):  # noqa: E501
        SignalCache.open(copy)
    shutil.copy(c.root / "signal.i16", copy / "signal.i16")
    (copy / "ttf.f64").unlink()
    with pytest.raises(LanlError, match=r"ttf.f64: missing"):
        SignalCache.open(copy)


def test_workers_open_a_cache_once_until_it_is_rebuilt(cache, small_data):
    from lanl.data.cache import SignalCache

    c, *_ = cache
    first = SignalCache.open_shared(c.root)
    assert SignalCache.open_shared(str(c.root)) is first
    ingest(small_data[0], segment_length=1000, force=True)  # a new folder renamed into place
    again = SignalCache.open_shared(c.root)
    assert again is not first and again.fingerprint == first.fingerprint


def test_cache_reads_take_any_shape_of_rows_and_name_bad_ones(cache):
    c, sig, _, _ = cache
    assert c.ttf_at(5) == c.ttf[5] and c.ttf_at([[1, 2], [3, 4]]).tolist() == c.ttf[[[1, 2], [3, 4]]].tolist()
    assert c.read_test(1).shape == (1, c.test_signal.shape[1])
    with pytest.raises(LanlError, match="row -1 is outside the train data"):
        c.ttf_at([-1])
    with pytest.raises(LanlError, match="test segment number 9 is outside the test segments"):
        c.read_test([0, 9])
    with pytest.raises(
        LanlError, match=f"window of 10 rows at row {len(sig) - 5:,} is outside the train data"
    ):
        c.read_windows([len(sig) - 5], 10)
    with pytest.raises(LanlError, match="expected a 1-D list"):
        c.read_windows([[0]], 10)


def test_read_at_fills_buffers_and_names_a_short_file(tmp_path):
    from lanl.fsutil import read_at

    path = tmp_path / "x.bin"
    path.write_bytes(np.arange(100, dtype="<i2").tobytes())
    a, b = np.empty(10, np.int16), np.empty((2, 3), np.int16)
    read_at(path, [(a, 20), (b, 0)])
    assert a.tolist() == list(range(10, 20)) and b.ravel().tolist() == list(range(6))
    with pytest.raises(LanlError, match=r"x.bin: short read at byte 200 \(20 missing\)"):
        read_at(path, [(np.empty(20, np.int16), 180)])


def test_test_segments(cache, small_data):
    c, *_ = cache
    _, _, _, _, ids = small_data
    t = test_segments(c)
    assert list(t["seg_id"]) == ids
    block = load_block(c, t.iloc[[2, 0]])
    ref = pd.read_csv(small_data[0] / "test" / f"{ids[2]}.csv")["acoustic_data"].to_numpy()
    np.testing.assert_array_equal(block[0], ref)


def test_spec_validation_and_key():
    assert SegmentSpec().key() == SegmentSpec().key()
    assert SegmentSpec(stride=15_000).key() != SegmentSpec().key()
    with pytest.raises(LanlError):
        SegmentSpec(stride=0)
    with pytest.raises(LanlError):
        SegmentSpec(stride=10, n_random=5)


def test_window_longer_than_every_cycle(cache):
    c, *_ = cache
    with pytest.raises(LanlError, match="no 100,000-row window fits"):
        train_segments(c, SegmentSpec(length=100_000))
