"""Extraction end to end: runners, determinism across batching and processes, bad input, the cache path,
the feature store, the CLI and the scikit-learn wrapper."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lanl.errors import LanlError
from lanl.features import (
    KEY_COLUMNS,
    FeatureStore,
    ProcessRunner,
    SerialRunner,
    extract,
    extract_segments,
    feature_set_from_dict,
    load_feature_set,
    segment_features,
)
from lanl.features import store as store_module

SMALL_SET = {
    "name": "small",
    "seed": 5,
    "views": {"noisy": [{"manipulation": "noise_median", "sigma": 0.5}], "abs": [{"manipulation": "abs"}]},
    "features": [
        {"feature": "quantile", "views": ["signal", "abs", "noisy"], "grid": {"q": [0.05, 0.5, 0.99]}},
        {"feature": "rolling", "params": [{"window": 50, "series": "std", "stat": "quantile", "q": 0.2}]},
        {"feature": "number_peaks", "view": "noisy", "params": [{"n": 2}]},
        {"feature": "mfcc_mean", "params": [{"k": 4, "n_fft": 256, "hop_length": 64}]},
        {"feature": "skew"},
    ],
}


def lab_like(n_segments: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_t(3, (n_segments, length)) * 5 + 4).clip(-3000, 3000).astype(np.int16)


def square(task):
    return task * task


# ------------------------------------------------------------------------------------------------ runners
def test_runners_share_one_interface_and_keep_order():
    tasks = list(range(11))
    assert list(SerialRunner().map(square, tasks)) == [t * t for t in tasks]
    assert list(ProcessRunner(2).map(square, iter(tasks))) == [t * t for t in tasks]


def worker_pid(_task):
    import time

    time.sleep(0.01)  # long enough that both workers take tasks
    return os.getpid()


def test_process_runner_keeps_its_pool_inside_a_with_block():
    with ProcessRunner(2) as runner:
        first = set(runner.map(worker_pid, range(8)))
        pool = runner._pool
        workers = set(pool._processes)
        stopped_early = runner.map(worker_pid, range(50))
        next(stopped_early)
        stopped_early.close()  # the rest is cancelled, the pool stays usable
        second = set(runner.map(worker_pid, range(8)))
        assert runner._pool is pool and first | second <= workers | set(pool._processes)
        assert os.getpid() not in first | second and len(workers | set(pool._processes)) <= 2
    assert runner._pool is None  # closed with the block
    alone = ProcessRunner(2)
    one, two = set(alone.map(worker_pid, range(4))), set(alone.map(worker_pid, range(4)))
    assert not one & two and alone._pool is None  # outside a block every map has its own pool


def test_make_runner_uses_the_usable_cores_by_default():
    from lanl.features.runners import make_runner, usable_cores

    assert isinstance(make_runner(1), SerialRunner)
    for jobs in (0, None):
        runner = make_runner(jobs)  # the CLI's default --jobs 0
        assert runner.n_jobs == usable_cores()
        assert isinstance(runner, SerialRunner if usable_cores() == 1 else ProcessRunner)
    assert usable_cores() == len(os.sched_getaffinity(0))


def test_process_runner_blocks_nest_and_the_outermost_closes_the_pool():
    """A workspace's block around a model's block: the inner end keeps the pool, the outer end stops it."""
    runner = ProcessRunner(2)
    with runner:
        with runner:
            first = set(runner.map(worker_pid, range(4)))
            pool = runner._pool
        assert runner._pool is pool  # the inner block ended, the pool serves on
        second = set(runner.map(worker_pid, range(4)))
        assert runner._pool is pool and first | second <= set(pool._processes)
    assert runner._pool is None


def test_serial_and_parallel_output_are_identical():
    x = lab_like(5, 150_000)
    serial = extract(x, "kernel", batch=2)
    parallel = extract(x, "kernel", batch=2, runner=ProcessRunner(2))
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    assert serial.shape == (5, len(load_feature_set("kernel").columns))


def test_local_workers_read_blocks_from_a_shared_file_that_is_removed(tmp_path, monkeypatch):
    import glob
    import tempfile

    before = set(glob.glob("/dev/shm/lanl-rows-*")) | set(glob.glob(f"{tempfile.gettempdir()}/lanl-rows-*"))
    x = lab_like(6, 3000).astype(np.float64)
    fs = feature_set_from_dict(SMALL_SET)
    with ProcessRunner(2) as runner:
        shared = extract(x, fs, batch=2, runner=runner)
        pd.testing.assert_frame_equal(shared, extract(x, fs, batch=2), check_exact=True)
        x[4, 7] = np.nan  # a worker's error reaches the caller, and the file still goes
        with pytest.raises(LanlError, match="segment 4: sample 7 is nan"):
            extract(x, fs, batch=2, runner=runner)
    after = set(glob.glob("/dev/shm/lanl-rows-*")) | set(glob.glob(f"{tempfile.gettempdir()}/lanl-rows-*"))
    assert after == before


def test_random_views_do_not_depend_on_batching_or_workers():
    x = lab_like(5, 4000, seed=1)
    fs = feature_set_from_dict(SMALL_SET)
    keys = [f"seg_{i}" for i in range(5)]
    one = extract(x, fs, keys=keys, batch=1)
    for other in (
        extract(x, fs, keys=keys, batch=3),
        extract(x, fs, keys=keys, batch=2, runner=ProcessRunner(2)),
    ):
        pd.testing.assert_frame_equal(one, other, check_exact=True)
    alone = extract(x[[3]], fs, keys=["seg_3"])
    pd.testing.assert_frame_equal(alone, one.loc[["seg_3"]], check_exact=True)
    other_key = extract(x[[3]], fs, keys=["seg_x"])
    assert other_key["noisy__quantile__q_0.5"].iloc[0] != alone["noisy__quantile__q_0.5"].iloc[0]


def test_one_signal_and_lists_of_any_lengths():
    x = lab_like(3, 5000, seed=2)
    fs = feature_set_from_dict(SMALL_SET)
    whole = extract(x, fs)
    assert extract(x[1], fs).shape == (1, len(fs.columns))
    mixed = extract([x[0], x[1, :3000], x[2]], fs)
    np.testing.assert_array_equal(mixed.iloc[[0, 2]].to_numpy(), whole.iloc[[0, 2]].to_numpy())
    np.testing.assert_array_equal(
        mixed.iloc[1].to_numpy(), extract(x[1, :3000], fs, keys=[1]).iloc[0].to_numpy()
    )


# -------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.array([[1.0, 2.0, 3.0] * 40, [1.0, np.nan, 3.0] * 40]), r"segment b: sample 1 is nan"),
        (np.array([[1.0, np.inf] * 60, [0.0, 1.0] * 60]), r"segment a: sample 1 is inf"),
        (np.ones((2, 120), dtype=complex), "integer or float samples"),
        (np.ones((2, 120), dtype=bool), "integer or float samples"),
        (np.full((2, 120), "x"), "integer or float samples"),
        (np.empty((2, 0)), "segment a is empty"),
        (
            np.ones((2, 40), np.int16),
            r"segment a: feature signal__rolling__window_50__.* needs at least 51 samples",
        ),
    ],
)
def test_bad_input_is_a_clear_error_naming_the_segment(values, message):
    fs = feature_set_from_dict({"features": SMALL_SET["features"][1:2] + [{"feature": "mean"}]})
    with pytest.raises(LanlError, match=message):
        extract(values, fs, keys=["a", "b"])


def test_other_bad_calls():
    with pytest.raises(LanlError, match="3 keys for 2 segments"):
        extract(np.zeros((2, 200)), "winners", keys=["a", "b", "c"])
    with pytest.raises(LanlError, match="expected a 1-D signal"):
        extract([np.zeros((2, 2))], "winners")
    with pytest.raises(LanlError, match="1-D signal or a 2-D block"):
        extract(np.zeros((2, 2, 2)), "winners")
    with pytest.raises(LanlError, match="needs at least 100000 samples"):
        extract(np.zeros(20_000, np.int16), "kernel")
    with pytest.raises(LanlError, match="manipulation wavelet_denoise_simple needs at least 8 samples"):
        extract(np.zeros(5, np.int16), "winners")


# ------------------------------------------------------------------------------------- cache and store
@pytest.fixture
def cache(small_data, tmp_path):
    from lanl.data.ingest import ingest

    data = small_data[0]
    return ingest(data, tmp_path / "cache", segment_length=1000).cache


def test_extract_segments_keys_rows_and_equals_in_memory_extraction(cache):
    from lanl.data.segments import SegmentSpec, load_block, test_segments, train_segments

    fs = feature_set_from_dict(SMALL_SET)
    spec = SegmentSpec(length=10_000, stride=7_000)
    table = train_segments(cache, spec)
    got = extract_segments(cache, table, fs, batch=4, length=spec.length, runner=ProcessRunner(2))
    assert list(got.columns) == KEY_COLUMNS + fs.columns
    pd.testing.assert_frame_equal(got[KEY_COLUMNS], table[KEY_COLUMNS])
    want = extract(load_block(cache, table, spec.length), fs, keys=list(table["seg_id"]))
    np.testing.assert_array_equal(got[fs.columns].to_numpy(), want.to_numpy())
    test = extract_segments(cache, test_segments(cache), fs)
    assert list(test["seg_id"]) == cache.test_ids and test["label"].isna().all()


def test_store_hits_unchanged_requests_and_recomputes_any_change(cache, tmp_path, monkeypatch):
    from lanl.data.segments import SegmentSpec

    store = FeatureStore(tmp_path / "features")
    fs = feature_set_from_dict(SMALL_SET)
    spec = SegmentSpec(length=10_000)
    first, folder, hit = segment_features(cache, fs, spec=spec, store=store)
    assert not hit and (folder / "features.parquet").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["feature_set_hash"] == fs.hash and manifest["source_fingerprint"] == cache.fingerprint
    assert manifest["segments"] == spec.key() and manifest["rows"] == len(first)
    again, folder2, hit = segment_features(cache, fs, spec=spec, store=store)
    assert hit and folder2 == folder
    pd.testing.assert_frame_equal(again, first)
    changed = feature_set_from_dict({**SMALL_SET, "seed": 6})
    assert not segment_features(cache, changed, spec=spec, store=store)[2]
    assert not segment_features(cache, fs, spec=SegmentSpec(length=10_000, stride=5_000), store=store)[2]
    assert not segment_features(cache, fs, part="test", store=store)[2]
    monkeypatch.setattr(store_module, "feature_code_version", lambda: "0.0.0+edited")
    assert not segment_features(cache, fs, spec=spec, store=store)[2]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]


def test_store_writes_are_atomic(cache, tmp_path):
    store = FeatureStore(tmp_path / "features")
    request = store_module.Request(feature_set_from_dict(SMALL_SET), cache.fingerprint, "test", "test")

    def broken():
        raise RuntimeError("killed halfway")

    with pytest.raises(RuntimeError):
        store.get_or_compute(request, broken)
    assert not store.root.exists() or not list(store.root.iterdir())
    assert store.load(request) is None


# -------------------------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def synthetic_data(tmp_path_factory):
    from lanl.data import synth

    data = tmp_path_factory.mktemp("synth") / "data"
    synth.generate(data, seed=0, rows=2_000_000, cycles=3, test_segments=3)
    return data


def test_cli_computes_then_reuses_and_reports_errors(synthetic_data, tmp_path):
    from lanl.commands.features import COMMANDS, features_cmd
    from lanl.data.cache import SignalCache
    from lanl.data.segments import SegmentSpec, train_segments

    assert COMMANDS == [features_cmd] and features_cmd.name == "features"
    out = tmp_path / "store"
    args = [str(synthetic_data), "--set", "winners", "--out", str(out), "--jobs", "2"]
    args += ["--cache", str(tmp_path / "cache")]
    first = CliRunner().invoke(features_cmd, args)
    assert first.exit_code == 0, first.output
    assert "train: 12 segments x 4 features (winners), computed" in first.output
    assert "test: 3 segments x 4 features (winners), computed" in first.output
    second = CliRunner().invoke(features_cmd, args)
    assert second.exit_code == 0 and second.output.count("up to date") == 2
    strided = CliRunner().invoke(features_cmd, args + ["--stride", "75000", "--part", "train"])
    n_strided = len(train_segments(SignalCache.open(tmp_path / "cache"), SegmentSpec(stride=75_000)))
    assert f"train: {n_strided} segments" in strided.output and "computed" in strided.output
    table = pd.read_parquet(next(out.glob("winners-test-*")) / "features.parquet")
    assert list(table.columns) == KEY_COLUMNS + load_feature_set("winners").columns
    bad = CliRunner().invoke(features_cmd, [str(synthetic_data), "--set", "nope", "--out", str(out)])
    assert isinstance(bad.exception, LanlError) and "unknown feature set 'nope'" in str(bad.exception)


# ------------------------------------------------------------------------------------------------ sklearn
def test_sklearn_transformer():
    from sklearn.base import clone
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    from lanl.features.transformer import FeatureExtractor

    x = lab_like(6, 3000, seed=4)
    fs = feature_set_from_dict(SMALL_SET)
    step = FeatureExtractor(fs)
    out = step.fit(x).transform(x)
    assert out.shape == (6, len(fs.columns))
    np.testing.assert_array_equal(out, extract(x, fs).to_numpy())
    assert list(step.get_feature_names_out()) == fs.columns
    frame = clone(step).set_output(transform="pandas").fit_transform(pd.DataFrame(x, index=list("abcdef")))
    assert list(frame.columns) == fs.columns
    model = make_pipeline(FeatureExtractor(fs), Ridge()).fit(x, np.arange(6.0))
    assert model.predict(x).shape == (6,)
