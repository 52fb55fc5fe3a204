"""Tests of the synthetic dataset generator: layout, determinism, labels, formatting, calibration, errors."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import kurtosis

from lanl.data import csvformat, synth
from lanl.errors import LanlError

REAL = Path(__file__).resolve().parents[2] / "shared" / "lanl_real"
# pandas >= 3 parses floats exactly by default (and deprecates the option); older pandas needs 'round_trip'
EXACT = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}

SMALL = dict(seed=7, rows=2_600_000, cycles=4, test_segments=5)

# Calibration bands for the 5/50/95th percentiles across test segments (spike segments, max abs > 1000, left
# out). From the 48 real test segments in ../shared/lanl_real (benchmarks/calibrate_synth.py):
#   mean 3.79/4.12/4.49, std 3.40/5.67/8.50, kurtosis 13.9/36.8/164, q05 -4/-2/-0.35, q95 9/10.5/13,
#   max abs 69/114.5/302 (the full real test set: means 3.41-4.94, median std 5.8).
# Margins: +-0.35 on the mean; about x/1.5 on the scale statistics, wider at the tails (x2.5 on the 95th
# percentiles of kurtosis and max abs, which 48 segments pin down poorly); 2-4 counts on the quantiles.
BANDS = {
    "mean": [(3.45, 4.15), (3.80, 4.45), (4.15, 4.85)],
    "std": [(2.3, 4.8), (4.0, 7.5), (6.0, 12.0)],
    "kurtosis": [(6.0, 30.0), (20.0, 75.0), (80.0, 450.0)],
    "q05": [(-8.0, -2.0), (-4.0, -1.0), (-2.0, 1.0)],
    "q95": [(7.0, 11.0), (9.0, 12.5), (11.0, 17.0)],
    "max abs": [(40.0, 110.0), (75.0, 200.0), (180.0, 600.0)],
}
SPIKE = 1000


def _stats(x: np.ndarray) -> dict[str, float]:
    x = x.astype(np.float64)
    q05, q95 = np.quantile(x, [0.05, 0.95])
    return {
        "mean": x.mean(),
        "std": x.std(),
        "kurtosis": kurtosis(x),
        "q05": q05,
        "q95": q95,
        "max abs": np.abs(x).max(),
    }


def _percentiles(segments: list[np.ndarray]) -> pd.DataFrame:
    """5/50/95th percentiles (rows) of each statistic (columns) across segments free of failure spikes."""
    df = pd.DataFrame([_stats(x) for x in segments])
    return df[df["max abs"] <= SPIKE].quantile([0.05, 0.5, 0.95])


def _features(x: np.ndarray) -> dict[str, float]:
    x = x.astype(np.float64)
    q05, q95 = np.quantile(x, [0.05, 0.95])
    rs = pd.Series(x).rolling(50).std().to_numpy()[49:]
    return {
        "std": x.std(),
        "q05": q05,
        "q95": q95,
        "q20 rolling std 50": np.quantile(rs, 0.2),
        "count |x - median| > 10": float((np.abs(x - np.median(x)) > 10).sum()),
    }


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def _read_train(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"acoustic_data": np.int16, "time_to_failure": np.float64}, **EXACT)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> synth.SynthInfo:
    return synth.generate(tmp_path_factory.mktemp("synth") / "data", **SMALL)


@pytest.fixture(scope="module")
def train(dataset) -> pd.DataFrame:
    return _read_train(dataset.train_csv)


@pytest.fixture(scope="module")
def synthetic_test_segments() -> list[np.ndarray]:
    """64 test segments at the default sizes (cycles of ~20 segments), as ``lanl synth`` writes them."""
    return [w for _, w in synth.simulate_test(seed=0, test_segments=64)]


# ------------------------------------------------------------------------------------------------------ layout


def test_layout_and_headers(dataset):
    out = dataset.out_dir
    assert sorted(p.name for p in out.iterdir()) == [
        "sample_submission.csv",
        "synth_info.json",
        "test",
        "train.csv",
    ]
    with open(dataset.train_csv, "rb") as f:
        assert f.readline() == b"acoustic_data,time_to_failure\n"
        assert re.fullmatch(rb"-?\d+,\d+(\.\d+)?(e-\d\d)?\n", f.readline())
    with open(dataset.train_csv, "rb") as f:
        assert sum(1 for _ in f) == SMALL["rows"] + 1
    segs = sorted(dataset.test_dir.iterdir())
    assert len(segs) == SMALL["test_segments"]
    for seg in segs:
        assert re.fullmatch(r"seg_[0-9a-f]{6}\.csv", seg.name)
        lines = seg.read_bytes().split(b"\n")
        assert lines[0] == b"acoustic_data" and lines[-1] == b""
        assert len(lines) - 2 == synth.SEGMENT_LENGTH
        values = np.array(lines[1:-1], dtype=np.int64)
        assert values.min() >= -32768 and values.max() <= 32767


def test_sample_submission_matches_test_folder(dataset):
    sub = pd.read_csv(dataset.sample_submission_csv, dtype=str)
    assert list(sub.columns) == ["seg_id", "time_to_failure"]
    ids = list(sub["seg_id"])
    assert ids == sorted(set(ids)) and len(ids) == SMALL["test_segments"]
    assert (sub["time_to_failure"] == "0").all()
    assert ids == sorted(p.stem for p in dataset.test_dir.iterdir()) == list(dataset.test_ids)


def test_info_json_round_trips(dataset):
    loaded = synth.SynthInfo.load(dataset.out_dir)
    assert loaded.to_json() == dataset.to_json()
    assert loaded.seed == SMALL["seed"] and loaded.rows == SMALL["rows"] and loaded.cycles == SMALL["cycles"]
    np.testing.assert_array_equal(loaded.cycle_starts, dataset.cycle_starts)


def test_cli_defaults_match_module():
    from lanl.commands import synth as cmd

    assert (cmd._ROWS, cmd._CYCLES, cmd._TEST_SEGMENTS) == (
        synth.DEFAULT_ROWS,
        synth.DEFAULT_CYCLES,
        synth.DEFAULT_TEST_SEGMENTS,
    )
    assert synth.DEFAULT_CYCLES >= 8
    assert synth.DEFAULT_ROWS >= synth.min_rows(synth.DEFAULT_CYCLES)


# ------------------------------------------------------------------------------------------------ determinism


def test_same_seed_same_bytes_other_seed_differs(dataset, tmp_path):
    again = synth.generate(tmp_path / "again", **SMALL)
    assert _digest(again.out_dir) == _digest(dataset.out_dir)
    other = synth.generate(tmp_path / "other", **{**SMALL, "seed": SMALL["seed"] + 1})
    assert _digest(other.out_dir)["train.csv"] != _digest(dataset.out_dir)["train.csv"]
    assert set(other.test_ids).isdisjoint(dataset.test_ids)


# ----------------------------------------------------------------------------------------------------- labels


def test_cycle_starts_are_where_ttf_jumps_up(dataset, train):
    ttf = train["time_to_failure"].to_numpy()
    jumps = np.flatnonzero(np.diff(ttf) > 0) + 1
    assert dataset.cycle_starts[0] == 0
    np.testing.assert_array_equal(jumps, dataset.cycle_starts[1:])
    assert len(dataset.cycle_starts) == SMALL["cycles"]
    assert np.diff(dataset.cycle_starts).min() >= synth.MIN_SEGMENTS_PER_CYCLE * synth.SEGMENT_LENGTH
    assert (ttf > 0).all()
    assert ttf[-1] > 0.5  # the last cycle ends before its failure, like the real file
    middle = ttf[dataset.cycle_starts[1:]]
    assert ((middle > 7.0 - 0.1) & (middle < 16.0)).all()  # full cycles last 7-16 s
    assert ttf[0] < 16.0 * 0.5 + 0.1  # the first cycle starts mid-cycle


def test_ttf_falls_1_1e9_per_sample_inside_blocks_and_jumps_at_gaps(dataset, train):
    ttf = train["time_to_failure"].to_numpy()
    d = np.diff(ttf)
    rise = np.isin(np.arange(1, len(ttf)), dataset.cycle_starts)
    gaps = np.flatnonzero((d < -1e-6) & ~rise) + 1  # rows that open a new block
    # every block after the (partial) first one opens with a drop, or with a failure's jump up
    block_starts = np.arange(gaps[0], len(ttf), synth.BLOCK)
    assert gaps[0] <= synth.BLOCK
    np.testing.assert_array_equal(np.union1d(gaps, dataset.cycle_starts[1:]), block_starts)
    inside = d[(d >= -1e-6) & ~rise]
    assert ((inside >= -2.1e-9) & (inside <= -0.9e-9)).all()  # '%.11g' rounds to 1e-9 above 10 s
    fine = inside[ttf[1:][(d >= -1e-6) & ~rise] < 9.9]
    assert abs(np.median(fine) + synth.SAMPLE_DT) < 2e-11
    assert (-d[gaps - 1] > 1e-4).all()  # the scaled gap: ~1e-2 s here, ~1e-3 s in the lab


def test_train_csv_prints_model_values(dataset):
    """The first and last 50k rows of train.csv are exactly '%d,%.11g' of what the simulator produced."""
    chunks = list(synth.simulate_train(SMALL["seed"], SMALL["rows"], SMALL["cycles"]))
    lines = dataset.train_csv.read_bytes().decode().split("\n")[1:-1]
    n = 50_000
    (_, x0, t0), (_, x1, t1) = chunks[0], chunks[-1]
    for x, t, got in ((x0[:n], t0[:n], lines[:n]), (x1[-n:], t1[-n:], lines[-n:])):
        assert got == [f"{a},{_printf_g11(b)}" for a, b in zip(x.tolist(), t.tolist(), strict=True)]


# ------------------------------------------------------------------------------------------------- formatting


def _printf_g11(v: float) -> str:
    """The reference: Python's printf-style '%.11g' (what the real train.csv's floats look like)."""
    return "%.11g" % v  # noqa: UP031


def _exact_ties(rng: np.random.Generator, per_decade: int) -> np.ndarray:
    """Doubles exactly halfway between two 11-digit decimals: ``v = M / 2^(k+1)`` with ``M`` odd and
    ``k = 10 - floor(log10 v)``, so ``v 10^k = M 5^k / 2`` is a half-integer (round half to even decides)."""
    out = []
    for e in range(-3, 10):
        scale = 2.0 ** (11 - e)
        lo, hi = math.ceil(10.0**e * scale), math.floor(10.0 ** (e + 1) * scale)
        m = rng.integers(lo, hi, per_decade) | 1
        out.append(m[m < hi] / scale)
    return np.concatenate(out)


def _g11_cases(n: int) -> np.ndarray:
    """Uniform and log-uniform values over the kernel's domain, exact and near ties, powers of ten and their
    neighbours."""
    rng = np.random.default_rng(123)
    lo, hi = csvformat.TTF_RANGE
    digits, exps = rng.integers(10**9, 10**10, 2000), rng.integers(-20, -1, 2000)
    near_ties = np.array([float(f"{m}5e{e}") for m, e in zip(digits, exps, strict=True)])
    powers = np.array([10.0**k for k in range(-11, 10)])
    edges = np.concatenate(
        [powers, np.nextafter(powers, 0), np.nextafter(powers, 1e300), [0.0, 9.99999999995e-5]]
    )
    return np.concatenate(
        [
            rng.uniform(0, 17, n),
            rng.uniform(0, 2e-3, n // 4),
            10 ** rng.uniform(math.log10(lo), math.log10(hi), n),
            _exact_ties(rng, 500),
            near_ties[(near_ties >= lo) & (near_ties < hi)],
            edges[(edges == 0) | ((edges >= lo) & (edges < hi))],
        ]
    )


def test_g11_matches_python_on_a_large_sample():
    values = _g11_cases(200_000)
    got = csvformat.format_g11(values)
    want = [_printf_g11(v) for v in values.tolist()]
    assert got == want
    back = np.array([float(s) for s in got])
    scale = 10.0 ** (np.floor(np.log10(np.where(values > 0, values, 1.0))) - 10)
    assert (np.abs(back - values) <= 0.5 * scale + 2 * np.spacing(values)).all()  # half a last digit


@settings(max_examples=500, deadline=None, database=None)
@given(st.floats(min_value=csvformat.TTF_RANGE[0], max_value=csvformat.TTF_RANGE[1], exclude_max=True))
def test_g11_matches_python_property(v):
    assert csvformat.format_g11(np.array([v])) == [_printf_g11(v)]


def test_g11_rejects_values_outside_its_domain():
    for bad in (-1.0, 1e10, 1e-12, math.nan):
        with pytest.raises(ValueError):
            csvformat.format_g11(np.array([bad]))


def test_signal_rows_format_int16_extremes():
    x = np.array([-32768, -1, 0, 7, 32767], dtype=np.int16)
    assert csvformat.format_signal_rows(x) == b"-32768\n-1\n0\n7\n32767\n"
    assert csvformat.format_train_rows(x[:2], np.array([1.4690999832, 11.540799987])) == (
        b"-32768,1.4690999832\n-1,11.540799987\n"
    )


# ---------------------------------------------------------------------------------------- sample submission


def test_sample_submission_ids_are_reused_in_order(tmp_path):
    ids = ["seg_ffffff", "seg_000001", "seg_abcdef", "seg_123456"]
    src = tmp_path / "sample_submission.csv"
    src.write_text("seg_id,time_to_failure\n" + "".join(f"{i},0\n" for i in ids))
    args = dict(seed=3, rows=2_500_000, cycles=4)
    info = synth.generate(tmp_path / "out", sample_submission=src, **args)
    assert list(info.test_ids) == ids
    assert pd.read_csv(info.sample_submission_csv)["seg_id"].tolist() == ids
    assert sorted(p.stem for p in info.test_dir.iterdir()) == sorted(ids)
    windows = dict(synth.simulate_test(test_segments=len(ids), **args))
    for k, sid in enumerate(ids):
        got = pd.read_csv(info.test_dir / f"{sid}.csv")["acoustic_data"].to_numpy()
        np.testing.assert_array_equal(got, windows[k])


# ----------------------------------------------------------------------------------------------------- errors


def _bad_sample(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.csv"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rows=1_000_000, cycles=4), "too small for 4 cycles"),
        (dict(cycles=1), "cycles must be an integer >= 2"),
        (dict(rows=2_500_000, cycles=4, test_segments=-1), "test_segments must be"),
        (dict(rows=2_500_000, cycles=4, seed=-1), "seed must be"),
        (dict(rows=2.5e6, cycles=4), "rows must be an integer"),
        (dict(rows=2_500_000, cycles=4, sample_submission="/nonexistent/sub.csv"), "cannot read"),
        (dict(rows=2_500_000, cycles=4, sample_submission="HEADER"), "header"),
        (dict(rows=2_500_000, cycles=4, sample_submission="DUP"), "duplicate seg_id"),
        (dict(rows=2_500_000, cycles=4, sample_submission="UNSAFE"), "malformed seg_id '../evil'"),
        (dict(rows=2_500_000, cycles=4, sample_submission="OK", test_segments=3), "contradicts"),
        (dict(rows=10**12, cycles=2), "no recording gap"),
    ],
)
def test_bad_arguments_raise_lanl_error(tmp_path, kwargs, message):
    samples = {
        "HEADER": "id,time_to_failure\nseg_000001,0\n",
        "DUP": "seg_id,time_to_failure\nseg_000001,0\nseg_000001,0\n",
        "UNSAFE": "seg_id,time_to_failure\n../evil,0\n",
        "OK": "seg_id,time_to_failure\nseg_000001,0\nseg_000002,0\n",
    }
    if kwargs.get("sample_submission") in samples:
        kwargs = {**kwargs, "sample_submission": _bad_sample(tmp_path, samples[kwargs["sample_submission"]])}
    with pytest.raises(LanlError, match=re.escape(message)):
        synth.generate(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_refuses_to_replace_a_folder_that_is_not_a_synthetic_dataset(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    with pytest.raises(LanlError, match="refusing to replace"):
        synth.generate(tmp_path / "out", rows=2_500_000, cycles=4)
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"


def test_interrupted_run_leaves_no_dataset_and_keeps_the_old_one(tmp_path, monkeypatch):
    def boom(path, ids):
        raise KeyboardInterrupt

    args = dict(rows=2_500_000, cycles=4, test_segments=2)
    monkeypatch.setattr(synth, "_write_sample_submission", boom)
    with pytest.raises(KeyboardInterrupt):
        synth.generate(tmp_path / "new", **args)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    old = synth.generate(tmp_path / "old", **args)
    before = _digest(old.out_dir)
    monkeypatch.setattr(synth, "_write_sample_submission", boom)
    with pytest.raises(KeyboardInterrupt):
        synth.generate(tmp_path / "old", seed=1, **args)
    assert _digest(old.out_dir) == before and [p.name for p in tmp_path.iterdir()] == ["old"]


def test_cli_writes_dataset_and_reports_errors(tmp_path):
    from click.testing import CliRunner

    from lanl.cli import main

    runner = CliRunner()
    help_text = runner.invoke(main, ["synth", "--help"]).output
    for option in ("--seed", "--rows", "--cycles", "--test-segments", "--sample-submission"):
        assert re.search(rf"{option} \S+\s+\S", help_text), option
    ok = runner.invoke(main, ["synth", str(tmp_path / "d"), "--rows", "2500000", "--cycles", "4",
                              "--test-segments", "2", "--seed", "5"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert (
        synth.SynthInfo.load(tmp_path / "d").seed == 5 and len(list((tmp_path / "d" / "test").iterdir())) == 2
    )
    bad = runner.invoke(main, ["synth", str(tmp_path / "e"), "--rows", "10"])
    assert bad.exit_code == 2 and "too small" in bad.output


# ------------------------------------------------------------------------------------------------ calibration


def test_segment_statistics_sit_in_the_calibration_bands(synthetic_test_segments):
    stats = pd.DataFrame([_stats(x) for x in synthetic_test_segments])
    # One segment per failure at most: ~1 in 20 at the default sizes (0.76% in the real test set, whose cycles
    # are ~260 segments long).
    assert (stats["max abs"] > SPIKE).mean() <= 0.1
    pct = _percentiles(synthetic_test_segments)
    for name, bands in BANDS.items():
        for (lo, hi), value in zip(bands, pct[name], strict=True):
            assert lo <= value <= hi, (name, value, (lo, hi))


def test_test_segments_are_shifted_down_like_the_real_test_set(synthetic_test_segments):
    chunks = synth.simulate_train(seed=0, rows=12_000_000, cycles=8)
    train_mean = np.mean([x.mean() for _, x, _ in chunks])
    test_mean = np.mean([x.mean() for x in synthetic_test_segments])
    assert 0.15 < train_mean - test_mean < 0.6  # real: ~4.5 in train against 4.15 in test


def _train_windows(seed: int, rows: int, cycles: int):
    """Non-overlapping windows laid from each cycle's start, with their labels (ttf of the last row)."""
    by_cycle: dict[int, list] = {}
    for plan, x, ttf in synth.simulate_train(seed=seed, rows=rows, cycles=cycles):
        by_cycle.setdefault(plan.index, []).append((x, ttf))
    n = synth.SEGMENT_LENGTH
    for parts in by_cycle.values():
        x, ttf = (np.concatenate(a) for a in zip(*parts, strict=True))
        for s in range(0, len(x) - n + 1, n):
            yield x[s : s + n], ttf[s + n - 1]


def test_single_features_correlate_with_the_label_like_the_real_data():
    """Over non-overlapping train windows the best simple features reach |r| ~0.6, not ~0.95."""
    windows = list(_train_windows(seed=0, rows=16_000_000, cycles=8))
    features = pd.DataFrame([_features(x) for x, _ in windows])
    r = features.corrwith(pd.Series([label for _, label in windows]))
    assert 0.45 <= r.abs().max() <= 0.8, r.to_dict()
    assert r["q20 rolling std 50"] < -0.3 and r["q05"] > 0.3, r.to_dict()  # activity grows towards failure


@pytest.mark.real
@pytest.mark.skipif(not (REAL / "test").is_dir(), reason="../shared/lanl_real is absent")
def test_bands_hold_for_real_segments_and_synthetic_medians_are_close(synthetic_test_segments):
    real = [pd.read_csv(f)["acoustic_data"].to_numpy() for f in sorted((REAL / "test").glob("seg_*.csv"))]
    assert len(real) >= 20
    real_pct, syn_pct = _percentiles(real), _percentiles(synthetic_test_segments)
    for name, bands in BANDS.items():
        for (lo, hi), value in zip(bands, real_pct[name], strict=True):
            assert lo <= value <= hi, ("real", name, value, (lo, hi))
    assert abs(syn_pct.loc[0.5, "mean"] - real_pct.loc[0.5, "mean"]) < 0.2
    for name in ("std", "kurtosis", "max abs"):
        assert 1 / 1.4 < syn_pct.loc[0.5, name] / real_pct.loc[0.5, name] < 1.4, name
