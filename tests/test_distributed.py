"""Dask runner, cluster helpers and lightgbm.dask on a real LocalCluster (2 worker processes, one thread each,
on 127.0.0.1): results equal the serial runner's exactly, tasks stay small, workers read the signal cache
themselves (path or fsspec URL), the CLI's --scheduler, and DaskLGBMRegressor against the local model.

Everything that needs the cluster skips when dask.distributed is missing or cannot start one here."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import known_cycles, write_segment, write_train_csv

from lanl.data.segments import SegmentSpec, load_block, test_segments, train_segments
from lanl.errors import LanlError
from lanl.features import SerialRunner, extract, extract_segments, feature_set_from_dict

pytest.importorskip("distributed")

SMALL_SET = {
    "name": "small",
    "seed": 5,
    "views": {"noisy": [{"manipulation": "noise_median", "sigma": 0.5}], "abs": [{"manipulation": "abs"}]},
    "features": [
        {"feature": "quantile", "views": ["signal", "abs", "noisy"], "grid": {"q": [0.05, 0.5, 0.99]}},
        {"feature": "rolling", "params": [{"window": 50, "series": "std", "stat": "quantile", "q": 0.2}]},
        {"feature": "number_peaks", "view": "noisy", "params": [{"n": 2}]},
        {"feature": "skew"},
    ],
}
WINDOW = 12_000


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def runner():
    """A DaskRunner on a LocalCluster it starts (2 workers), shared by the module; closed at the end."""
    from lanl.distributed import DaskRunner

    runner = DaskRunner("local", n_jobs=2)
    try:
        runner.client  # noqa: B018 (starts the cluster)
    except LanlError as exc:
        pytest.skip(str(exc))
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def address(runner) -> str:
    return runner.client.scheduler.address


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A signal cache with 3 known cycles and 3 test segments of 1,000 rows."""
    from lanl.data.ingest import ingest

    root = tmp_path_factory.mktemp("dist")
    sig, ttf, _ = known_cycles()
    write_train_csv(root / "data" / "train.csv", sig, ttf)
    rng = np.random.default_rng(1)
    ids = ["seg_00aa11", "seg_0b0b0b", "seg_ffee01"]
    for seg_id in ids:
        write_segment(root / "data" / "test" / f"{seg_id}.csv", rng.integers(-50, 60, 1000))
    (root / "data" / "sample_submission.csv").write_text(
        "seg_id,time_to_failure\n" + "".join(f"{s},0\n" for s in ids)
    )
    return ingest(root / "data", root / "cache", segment_length=1000).cache


@pytest.fixture(scope="module")
def windows(cache) -> pd.DataFrame:
    return train_segments(cache, SegmentSpec(length=WINDOW, stride=3_000))


@pytest.fixture(scope="module")
def small():
    return feature_set_from_dict(SMALL_SET)


# ------------------------------------------------------------------------------------- no cluster needed
def test_parse_scheduler():
    from lanl.distributed import parse_scheduler

    assert parse_scheduler("local") == "local"
    assert parse_scheduler(" tcp://10.0.0.5:8786/ ") == "tcp://10.0.0.5:8786"
    for bad in ("10.0.0.5:8786", "tcp://host", "http://h:1", ""):
        with pytest.raises(LanlError, match="--scheduler"):
            parse_scheduler(bad)


def test_an_unreachable_scheduler_is_a_lanl_error():
    from lanl.distributed import connect

    with pytest.raises(LanlError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with connect("tcp://127.0.0.1:9", timeout=1):
            pass


class Recorder(SerialRunner):
    """A serial runner that keeps the function and the first task it was given."""

    def map(self, func, tasks):
        tasks = list(tasks)
        self.seen = (func, tasks[0])
        return super().map(func, tasks)


def test_the_extractors_tasks_are_window_references(cache, windows, small):
    """The runners know nothing of what they run: both extractors map a function bound to their feature set
    over WindowsRef tasks (where the windows lie), which read the same windows wherever they run."""
    pytest.importorskip("tsfresh")
    from lanl.data.windows import WindowsRef
    from lanl.features.tsfresh_interop import TsfreshSet, extract_tsfresh_segments

    recorder = Recorder()
    extract_segments(cache, windows.iloc[:2], small, length=WINDOW, runner=recorder)
    func, task = recorder.seen
    assert isinstance(task, WindowsRef) and func.args == (small,)
    assert task.location == str(cache.root.absolute()) and task.fingerprint == cache.fingerprint
    np.testing.assert_array_equal(task.read(), load_block(cache, windows.iloc[:2], WINDOW))
    extract_tsfresh_segments(cache, windows.iloc[:1], TsfreshSet("minimal"), runner=recorder, length=WINDOW)
    func, task = recorder.seen
    assert isinstance(task, WindowsRef) and func.args == (TsfreshSet("minimal"),)
    with pytest.raises(LanlError, match="holds other data"):
        WindowsRef(task.location, "0" * 24, task.seg_ids, task.starts, WINDOW).read()


def test_early_stopping_point_is_lightgbms_rule():
    from lanl.models.lgbm_dask import early_stopping_point

    curve = np.array([5, 4, 3, 3, 3.5, 2.9, 3, 3, 3, 3, 1])
    assert early_stopping_point(curve, 3) == (5, 8)  # first minimum, stopped 3 rounds after it
    assert early_stopping_point(curve, 10) == (10, 10)  # never stopped: the end of the curve
    assert early_stopping_point(np.array([1.0, 1.0, 1.0]), 2) == (0, 2)  # ties do not improve


def test_task_payload_is_small_and_independent_of_the_feature_set(cache, windows):
    from lanl.data.windows import WindowsRef

    for table, length in ((windows.iloc[:4], WINDOW), (test_segments(cache), None)):
        task = WindowsRef.of(cache, table, length)
        assert len(pickle.dumps(task)) < 1024
        assert not any(isinstance(v, pd.DataFrame | np.memmap) for v in vars(task).values())
        np.testing.assert_array_equal(task.read(), load_block(cache, table, length))
        # a copy at an fsspec URL is read by byte ranges, through the same load_block: the same windows
        url = cache.root.resolve().as_uri()
        np.testing.assert_array_equal(task.at(url).read(), load_block(cache, table, length))
    past = WindowsRef(url, cache.fingerprint, ("w",), np.array([cache.rows - 10]), WINDOW)
    with pytest.raises(LanlError, match="outside the train data"):
        past.read()
    with pytest.raises(LanlError, match="cannot read the signal cache's manifest"):
        WindowsRef.of(cache, windows.iloc[:1], WINDOW).at(url + "-gone").read()


# ------------------------------------------------------------------------------------------ the runner
def test_cache_blocks_equal_the_serial_runner(runner, cache, windows, small):
    serial = extract_segments(cache, windows, small, length=WINDOW, batch=3)
    dask = extract_segments(cache, windows, small, length=WINDOW, batch=3, runner=runner)
    pd.testing.assert_frame_equal(dask, serial, check_exact=True)
    table = test_segments(cache)
    serial_test = extract_segments(cache, table, small, batch=2)
    pd.testing.assert_frame_equal(extract_segments(cache, table, small, batch=2, runner=runner), serial_test)


def test_workers_read_the_cache_through_an_fsspec_url(runner, address, cache, windows, small):
    from lanl.distributed import DaskRunner

    url = cache.root.resolve().as_uri()  # file:///...: the byte-range reader, as for s3:// or gs://
    with DaskRunner(address, worker_cache=url) as remote:
        for table, length in ((windows.iloc[:7], WINDOW), (test_segments(cache), None)):
            serial = extract_segments(cache, table, small, length=length)
            dask = extract_segments(cache, table, small, length=length, runner=remote)
            pd.testing.assert_frame_equal(dask, serial, check_exact=True)


def test_a_cache_the_workers_cannot_read_is_reported(runner, address, cache, windows, small, tmp_path):
    from lanl.distributed import DaskRunner

    with DaskRunner(address, worker_cache=str(tmp_path / "nowhere")) as remote:
        with pytest.raises(LanlError, match="2 of 2 Dask workers cannot read the signal cache"):
            extract_segments(cache, windows.iloc[:4], small, length=WINDOW, runner=remote)


def test_in_memory_tasks_and_plain_functions_keep_task_order(runner, small):
    rng = np.random.default_rng(3)
    x = (rng.standard_t(3, (7, 3000)) * 5).astype(np.int16)
    serial = extract(x, small, batch=2)
    pd.testing.assert_frame_equal(extract(x, small, batch=2, runner=runner), serial, check_exact=True)
    assert list(runner.map(abs, range(-9, 0))) == list(range(9, 0, -1))
    assert runner.n_jobs == 2


def test_tsfresh_sets_on_dask_equal_the_serial_runner(runner, cache, windows):
    pytest.importorskip("tsfresh")
    from lanl.features.tsfresh_interop import TsfreshSet, extract_tsfresh_segments

    tset, table = TsfreshSet("minimal"), windows.iloc[:6]
    serial = extract_tsfresh_segments(cache, table, tset, runner=SerialRunner(), batch=2, length=WINDOW)
    dask = extract_tsfresh_segments(cache, table, tset, runner=runner, batch=2, length=WINDOW)
    pd.testing.assert_frame_equal(dask, serial, check_exact=True)


def test_cli_scheduler_gives_the_serial_tables(address, tmp_path):
    """The kernel set on full-length windows. Its spectral and temporal features use BLAS products, whose
    rounding depends on BLAS's thread count: with dask's default of one per worker, spectral_centroid of one
    of these windows differed from the serial value in the last bit (see lanl.distributed.blas_env)."""
    from lanl.commands.features import features_cmd
    from lanl.data import synth

    data = tmp_path / "data"
    synth.generate(data, seed=1, rows=2_000_000, cycles=3, test_segments=2)
    base = [str(data), "--set", "kernel", "--stride", "50000", "--cache", str(tmp_path / "cache")]
    serial = CliRunner().invoke(features_cmd, [*base, "--out", str(tmp_path / "serial")])
    assert serial.exit_code == 0, serial.output
    dask = CliRunner().invoke(features_cmd, [*base, "--out", str(tmp_path / "dask"), "--scheduler", address])
    assert dask.exit_code == 0, dask.output
    assert dask.output.count("computed") == 2
    for part in ("train", "test"):
        [a] = (tmp_path / "serial").glob(f"kernel-{part}-*/features.parquet")
        [b] = (tmp_path / "dask").glob(f"kernel-{part}-*/features.parquet")
        pd.testing.assert_frame_equal(pd.read_parquet(b), pd.read_parquet(a), check_exact=True)
    bad = CliRunner().invoke(features_cmd, [*base, "--scheduler", "10.0.0.1"])
    assert isinstance(bad.exception, LanlError) and "--scheduler must be" in str(bad.exception)


# ----------------------------------------------------------------------------------------- lightgbm.dask
def lab_table(n: int, seed: int, integer: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 12, (n, 8)).astype(float) if integer else rng.normal(size=(n, 8))
    y = 2 * X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * rng.standard_t(3, n)
    return pd.DataFrame(X, columns=[f"signal__f{i}" for i in range(8)]), y


def test_lgbm_dask_in_one_partition_is_the_local_model(runner, address):
    from lanl.models.lgbm import LGBMRegressor
    from lanl.models.lgbm_dask import DaskLGBMRegressor, spread

    X, y = lab_table(1500, 0)
    X_test, _ = lab_table(300, 1)
    params = dict(n_estimators=40, learning_rate=0.1)
    local = LGBMRegressor(**params).fit(X, y)
    dask = DaskLGBMRegressor(**params, scheduler=address, partitions=1).fit(X, y)
    np.testing.assert_array_equal(dask.predict(X_test), local.predict(X_test))
    before = runner.client.has_what()
    parts = spread(runner.client, X, pd.Series(y))  # the default: one partition per worker, each on its own
    new = {w: set(keys) - set(before.get(w, ())) for w, keys in runner.client.has_what().items()}
    assert parts[0].npartitions == 2 and sorted(len(keys) for keys in new.values()) == [2, 2]


def test_lgbm_dask_default_params_are_within_tolerance_and_round_trip(address, tmp_path):
    from sklearn.base import clone

    from lanl.models.lgbm import LGBMRegressor
    from lanl.models.lgbm_dask import DaskLGBMRegressor

    X, y = lab_table(2400, 2)
    X_stop, y_stop = lab_table(500, 3)
    X_test, y_test = lab_table(1000, 4)
    params = dict(n_estimators=120, learning_rate=0.05, early_stopping_rounds=30)  # mae, bagging, colsample
    local = LGBMRegressor(**params).fit(X, y, eval_set=(X_stop, y_stop))
    dask = DaskLGBMRegressor(**params, scheduler=address).fit(X, y, eval_set=(X_stop, y_stop))
    mae_local = np.abs(local.predict(X_test) - y_test).mean()
    mae_dask = np.abs(dask.predict(X_test) - y_test).mean()
    # tolerance: per-worker bins, bagging and mean-of-medians leaves (see lanl.models.lgbm_dask)
    assert abs(mae_dask - mae_local) < 0.05 * mae_local
    assert np.abs(dask.predict(X_test) - local.predict(X_test)).mean() < 0.35 * mae_local
    assert 1 <= dask.best_iteration_ <= 120 and len(dask.history_["stop_mae"]) >= dask.best_iteration_
    path = dask.save(tmp_path / "fold_0.json")
    again = DaskLGBMRegressor.load(path)
    np.testing.assert_array_equal(again.predict(X_test), dask.predict(X_test))
    assert clone(dask).get_params()["scheduler"] == address and again.kind == "lgbm_dask"
