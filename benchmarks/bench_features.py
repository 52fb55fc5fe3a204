"""Benchmark of the feature extractor: the ``kernel`` set three ways over the same segments (windows of the
synthetic lab signal of ``lanl synth``, simulated in memory).

1. ours: lanl.features.extract with a ProcessRunner (``--jobs``, default 2);
2. the popular kernels' style: a pandas loop over segments, one feature at a time (rolling series and the
   FFT computed once per segment, as the kernels did), in a process pool of the same size;
3. tsfresh's feature_calculators for the kernel features it shares, one call per feature and segment,
   against ours computing just those features (both serial).

It checks that the pandas loop and ours agree, prints ms per segment, the ratios, the ``full`` set's cost,
peak memory (max RSS of this process and of the workers), the time on heavier-tailed segments, the time and
throughput on the real test segments in ../shared/lanl_real/test when they are there, and with ``--cache`` the
wall time of every train window of an ingested cache (pool start included), e.g. a full-size one:
``lanl synth DIR --rows 629145480 --cycles 17 --test-segments 2624 && lanl ingest DIR``. Our times are
taken on warm workers (pool started, compiled kernels loaded: printed once). The default run takes about
2 minutes; ``--segments`` and the other counts make it bigger.

    python benchmarks/bench_features.py [--jobs 2] [--segments 256] [--no-real] [--cache DIR/.lanl-cache]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.signal
import scipy.stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LANL_PROGRESS", "0")

from lanl.features import ProcessRunner, SerialRunner, extract, load_feature_set, parse_column  # noqa: E402
from lanl.features.extract import DEFAULT_BATCH  # noqa: E402

REAL_TEST = ROOT.parent / "shared" / "lanl_real" / "test"


def lab_segments(n: int, seed: int = 0, length: int = 150_000) -> np.ndarray:
    """n consecutive windows of the synthetic lab signal of ``lanl synth`` (lanl.data.synth's model, calibrated on
    the real test segments), simulated in memory, in quake cycles as long as the real ones (about 246
    windows: 629M rows in 17 cycles), so failures are as rare among the windows as in train.csv."""
    from lanl.data.synth import min_rows, simulate_train

    cycles = max(2, round(n / 246))
    out = np.empty(n * length, np.int16)
    filled = 0
    for _, x, _ in simulate_train(seed, rows=max(n * length + length, min_rows(cycles)), cycles=cycles):
        take = min(len(x), out.size - filled)
        out[filled : filled + take] = x[:take]
        filled += take
        if filled == out.size:
            break
    return out.reshape(n, length)


def heavy_segments(n: int, seed: int = 0, length: int = 150_000) -> np.ndarray:
    """A harder case than the lab: Student-t(3) noise with a burst of up to 40x in each segment (window sums
    too spread for the rolling means to be counted, so their order statistics go through tail selection)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, length), np.int16)
    for row in range(n):
        x = rng.standard_t(3, length) * rng.uniform(3, 8) + 4.5
        start = rng.integers(0, length - 2000)
        x[start : start + 2000] *= rng.uniform(1, 40)
        out[row] = x.clip(-32768, 32767)
    return out


# ------------------------------------------------------------------------------------- the pandas loop
def calc_change_rate(x: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.diff(x) / x[:-1]
    change = change[np.nonzero(change)[0]]
    change = change[np.isfinite(change)]
    return float(np.mean(change)) if len(change) else 0.0


def classic_sta_lta(x: np.ndarray, length_sta: int, length_lta: int) -> np.ndarray:
    sta = np.cumsum(x**2)
    lta = sta.copy()
    sta[length_sta:] = sta[length_sta:] - sta[:-length_sta]
    sta /= length_sta
    lta[length_lta:] = lta[length_lta:] - lta[:-length_lta]
    lta /= length_lta
    sta[: length_lta - 1] = 0
    lta[lta < np.finfo(0.0).tiny] = np.finfo(0.0).tiny
    return sta / lta


def _spectrum(memo, s):
    if "spectrum" not in memo:
        memo["spectrum"] = np.abs(np.fft.rfft(s.to_numpy()))
    return memo["spectrum"]


def _band(memo, s, lo, hi):
    mag2 = _spectrum(memo, s) ** 2
    n = len(s)
    f = 2.0 * np.arange(len(mag2)) / n
    weight = np.where(
        (np.arange(len(mag2)) == 0) | ((n % 2 == 0) & (np.arange(len(mag2)) == n // 2)), 1.0, 2.0
    )
    mask = (f >= lo) & ((f < hi) | (hi == 1.0))
    return np.sum(weight[mask] * mag2[mask]) / n**2


def _rolling(memo, s, window, series, stat, q=None):
    key = ("rolling", window, series)
    if key not in memo:
        memo[key] = getattr(s.rolling(window), series)().dropna().to_numpy()
    r = memo[key]
    return {
        "mean": np.mean,
        "std": np.std,
        "min": np.min,
        "max": np.max,
        "change": lambda a: np.mean(np.diff(a)),
        "quantile": lambda a: np.quantile(a, q),
    }[stat](r)


def _centroid(memo, s):
    mag = _spectrum(memo, s)
    return np.sum(2.0 * np.arange(len(mag)) / len(s) * mag) / np.sum(mag)


def _rolloff(memo, s, roll_percent):
    cum = np.cumsum(_spectrum(memo, s))
    return 2.0 * np.argmax(cum >= roll_percent * cum[-1]) / len(s)


def _pandas_features():
    from tsfresh.feature_extraction import feature_calculators as fc

    return {
        "mean": lambda m, s: s.mean(),
        "std": lambda m, s, ddof: s.std(ddof=ddof),
        "min": lambda m, s: s.min(),
        "max": lambda m, s: s.max(),
        "median": lambda m, s: s.median(),
        "mean_abs_deviation": lambda m, s: (s - s.mean()).abs().mean(),
        "skew": lambda m, s: s.skew(),
        "kurtosis": lambda m, s: s.kurtosis(),
        "quantile": lambda m, s, q: np.quantile(s, q),
        "iqr": lambda m, s: np.subtract(*np.percentile(s, [75, 25])),
        "trimmed_mean": lambda m, s, proportion: scipy.stats.trim_mean(s, proportion),
        "mean_change": lambda m, s: np.mean(np.diff(s)),
        "mean_abs_change": lambda m, s: np.mean(np.abs(np.diff(s))),
        "mean_change_rate": lambda m, s: calc_change_rate(s.to_numpy()),
        "linear_trend": lambda m, s, attr: np.polyfit(np.arange(len(s)), s.to_numpy(), 1)[0],
        "hilbert_mean": lambda m, s: np.abs(scipy.signal.hilbert(s.to_numpy())).mean(),
        "hann_window_mean": lambda m, s, window: (
            scipy.signal.convolve(s, scipy.signal.windows.hann(window), mode="same")
            / sum(scipy.signal.windows.hann(window))
        ).mean(),
        "sta_lta_mean": lambda m, s, sta, lta: classic_sta_lta(s.to_numpy(), sta, lta).mean(),
        "ewm_mean": lambda m, s, span: s.ewm(span=span).mean().mean(skipna=True),
        "number_crossing_m": lambda m, s, m_: fc.number_crossing_m(s.to_numpy(), m_),
        "number_peaks": lambda m, s, n: fc.number_peaks(s.to_numpy(), n),
        "autocorrelation": lambda m, s, lag: fc.autocorrelation(s.to_numpy(), lag),
        "fft_band_power": _band,
        "spectral_centroid": _centroid,
        "spectral_rolloff": _rolloff,
        "count_above": lambda m, s, threshold: (s > threshold).sum(),
        "rolling": _rolling,
    }


def pandas_kernel_row(task) -> list[float]:
    """One segment, kernel style: a pandas Series, then one feature after another."""
    segment, columns = task
    functions = _pandas_features()
    views = {"signal": pd.Series(segment.astype(np.float64))}
    views["abs"] = views["signal"].abs()
    memos: dict[str, dict] = {}
    row = []
    for column in columns:
        col = parse_column(column)
        if col.view not in views:
            end, n = col.view.split("_")
            views[col.view] = views["signal"][: int(n)] if end == "head" else views["signal"][-int(n) :]
        params = {("m_" if k == "m" else k): v for k, v in col.params.items()}
        row.append(float(functions[col.feature](memos.setdefault(col.view, {}), views[col.view], **params)))
    return row


def run_pandas(segments: np.ndarray, columns: list[str], jobs: int) -> np.ndarray:
    tasks = [(segment, columns) for segment in segments]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return np.array(pool.map(pandas_kernel_row, tasks, chunksize=1))


# ------------------------------------------------------------------------------------------------ tsfresh
def tsfresh_shared(columns: list[str]) -> dict[str, callable]:
    """The kernel columns tsfresh computes the same way, with the calculator call for each."""
    from tsfresh.feature_extraction import feature_calculators as fc

    simple = {
        "mean": fc.mean,
        "min": fc.minimum,
        "max": fc.maximum,
        "median": fc.median,
        "skew": fc.skewness,
        "kurtosis": fc.kurtosis,
        "mean_change": fc.mean_change,
        "mean_abs_change": fc.mean_abs_change,
    }
    views = {
        "signal": lambda x: x,
        "abs": np.abs,
        "head_10000": lambda x: x[:10000],
        "head_50000": lambda x: x[:50000],
        "tail_10000": lambda x: x[-10000:],
        "tail_50000": lambda x: x[-50000:],
    }
    shared = {}
    for column in columns:
        col = parse_column(column)
        view = views[col.view]
        if col.feature in simple and not col.params:
            shared[column] = lambda x, f=simple[col.feature], v=view: f(v(x))
        elif col.feature == "quantile":
            shared[column] = lambda x, q=col.params["q"], v=view: fc.quantile(v(x), q)
        elif col.feature == "linear_trend":
            shared[column] = lambda x, a=col.params["attr"], v=view: fc.linear_trend(v(x), [{"attr": a}])[0][
                1
            ]
        elif col.feature == "number_crossing_m":
            shared[column] = lambda x, m=col.params["m"], v=view: fc.number_crossing_m(v(x), m)
        elif col.feature == "number_peaks":
            shared[column] = lambda x, n=col.params["n"], v=view: fc.number_peaks(v(x), n)
        elif col.feature == "autocorrelation":
            shared[column] = lambda x, lag=col.params["lag"], v=view: fc.autocorrelation(v(x), lag)
    return shared


_TSFRESH_NAMES = {
    "mean": "mean",
    "min": "minimum",
    "max": "maximum",
    "median": "median",
    "skew": "skewness",
    "kurtosis": "kurtosis",
    "mean_change": "mean_change",
    "mean_abs_change": "mean_abs_change",
    "quantile": "quantile",
    "linear_trend": "linear_trend",
    "number_crossing_m": "number_crossing_m",
    "number_peaks": "number_peaks",
    "autocorrelation": "autocorrelation",
}


def tsfresh_framework_parameters(columns: list[str]) -> tuple[list[str], dict]:
    """The shared features of the raw-signal view as tsfresh extract_features settings."""
    settings: dict[str, list | None] = {}
    used = []
    for column in columns:
        col = parse_column(column)
        if col.view != "signal" or col.feature not in _TSFRESH_NAMES:
            continue
        used.append(column)
        name = _TSFRESH_NAMES[col.feature]
        if col.params:
            settings.setdefault(name, []).append(dict(col.params))
        else:
            settings[name] = None
    return used, settings


def run_tsfresh_framework(segments: np.ndarray, settings: dict) -> float:
    """Seconds per segment of tsfresh.extract_features (serial) with ``settings`` on ``segments``."""
    from tsfresh import extract_features

    n, length = segments.shape
    frame = pd.DataFrame(
        {"id": np.repeat(np.arange(n), length), "t": np.tile(np.arange(length), n), "x": segments.ravel()}
    )
    start = time.perf_counter()
    extract_features(
        frame,
        column_id="id",
        column_sort="t",
        default_fc_parameters=settings,
        n_jobs=0,
        disable_progressbar=True,
    )
    return (time.perf_counter() - start) / n


# ---------------------------------------------------------------------------------------------- helpers
def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(func, *args, **kw):
    """(result, wall seconds, CPU seconds of this process and its workers)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    out = func(*args, **kw)
    return out, time.perf_counter() - start, cpu_seconds() - cpu


def peak_rss_mb() -> tuple[float, float]:
    """Max resident set size of this process and of its largest finished child, in MB (Linux: KiB)."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b)
    return float(np.max(np.where(scale > 1e-9, diff / np.where(scale > 0, scale, 1), diff)))


def read_real_test(limit: int | None) -> tuple[list[str], np.ndarray] | None:
    files = sorted(REAL_TEST.glob("seg_*.csv")) if REAL_TEST.is_dir() else []
    if not files:
        return None
    files = files[:limit] if limit else files
    values = [pd.read_csv(f, dtype={"acoustic_data": np.int16})["acoustic_data"].to_numpy() for f in files]
    return [f.stem for f in files], np.stack(values)


# ------------------------------------------------------------------------------------------------- runs
def worker_cpu_seconds(runner) -> float:
    """User + system CPU time of a kept ProcessRunner pool's live workers (Linux /proc; 0 elsewhere)."""
    pool = getattr(runner, "_pool", None)
    total = 0.0
    for pid in list(pool._processes) if pool is not None else []:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def bench_ours(segments, feature_set, jobs, batch, startup: dict | None = None):
    """(table, wall s, CPU s) of ``extract`` on warm workers: the pool is started and its workers have loaded
    the compiled kernels (a first call on ``2 * jobs`` segments, timed into ``startup["seconds"]``)."""
    with ProcessRunner(jobs) if jobs > 1 else SerialRunner() as runner:
        start = time.perf_counter()
        extract(segments[: 2 * jobs], feature_set, runner=runner, batch=1)
        if startup is not None:
            startup["seconds"] = time.perf_counter() - start
        cpu0 = cpu_seconds() + worker_cpu_seconds(runner)
        table, wall, _ = timed(extract, segments, feature_set, runner=runner, batch=batch)
        cpu = cpu_seconds() + worker_cpu_seconds(runner) - cpu0
    return table, wall, cpu


def compare_pandas(segments, kernel, args) -> tuple[pd.DataFrame, float]:
    """Ours against the pandas loop (both with ``args.jobs`` workers); returns our table and CPU ms/seg."""
    startup: dict = {}
    ours, wall, cpu = bench_ours(segments, kernel, args.jobs, args.batch, startup)
    ms, cpu_ms = wall / len(segments) * 1e3, cpu / len(segments) * 1e3
    print(
        f"ours     : {ms:8.2f} ms/segment wall ({len(segments) / wall:.0f} segments/s), {cpu_ms:.2f} ms CPU "
        f"(target <= 3 ms wall on 2 cores); pool start + kernel load {startup['seconds']:.2f} s once per run"
    )
    for what, n_windows, target in (("full train", 4194, "13 s"), ("strided train", 41940, "132 s")):
        print(
            f"           {what}: {n_windows:,} windows -> {startup['seconds'] + n_windows * ms / 1e3:.1f} s "
            f"extrapolated (target <= {target})"
        )
    n = min(args.pandas_segments, len(segments))
    values, wall_pd, cpu_pd = timed(run_pandas, segments[:n], kernel.columns, args.jobs)
    ms_pd, cpu_ms_pd = wall_pd / n * 1e3, cpu_pd / n * 1e3
    agree = max_rel_diff(values, ours.to_numpy()[:n])
    print(
        f"pandas   : {ms_pd:8.2f} ms/segment wall, {cpu_ms_pd:.2f} ms CPU ({n} segments) -> ours is "
        f"{ms_pd / ms:.1f}x faster wall, {cpu_ms_pd / cpu_ms:.1f}x CPU (target >= 12x); "
        f"max relative difference {agree:.1e}"
    )
    return ours, cpu_ms


def compare_tsfresh(segments, kernel, ours: pd.DataFrame, args) -> None:
    """Ours (serial) against tsfresh's calculators and extract_features on the features they share."""
    shared = tsfresh_shared(kernel.columns)
    n = min(args.tsfresh_segments, len(segments))
    _, wall, _ = bench_ours(segments, kernel.select(list(shared)), 1, args.batch)
    ms = wall / len(segments) * 1e3
    start = time.perf_counter()
    values = [[f(row.astype(np.float64)) for f in shared.values()] for row in segments[:n]]
    ms_ts = (time.perf_counter() - start) / n * 1e3
    agree = max_rel_diff(np.array(values, dtype=float), ours[list(shared)].to_numpy()[:n])
    print(
        f"tsfresh  : {ms_ts:8.2f} ms/segment for the {len(shared)} shared features (calculators, serial, "
        f"{n} segments); ours serial {ms:.2f} ms -> {ms_ts / ms:.0f}x (target >= 300x); "
        f"max relative difference {agree:.1e}"
    )
    used, settings = tsfresh_framework_parameters(kernel.columns)
    ms_fw = run_tsfresh_framework(segments[:n].astype(np.float64), settings) * 1e3
    _, wall, _ = bench_ours(segments, kernel.select(used), 1, args.batch)
    ms = wall / len(segments) * 1e3
    print(
        f"tsfresh  : {ms_fw:8.2f} ms/segment with extract_features for the {len(used)} shared raw-signal "
        f"features; ours serial {ms:.2f} ms -> {ms_fw / ms:.0f}x"
    )


def time_full(segments, args) -> None:
    full = load_feature_set("full")
    n = min(args.full_segments, len(segments))
    _, wall, cpu = bench_ours(segments[:n], full, args.jobs, args.batch)
    print(
        f"full set : {len(full.columns)} features, {wall / n * 1e3:.2f} ms/segment wall ({args.jobs} workers), "
        f"{cpu / n * 1e3:.2f} ms CPU"
    )


def time_heavy(kernel, args) -> None:
    n = min(args.heavy_segments, args.segments)
    if n <= 0:
        return
    _, wall, cpu = bench_ours(heavy_segments(n), kernel, args.jobs, args.batch)
    print(
        f"heavy    : {wall / n * 1e3:8.2f} ms/segment wall, {cpu / n * 1e3:.2f} ms CPU on {n} heavy-tailed "
        "segments (Student-t(3) noise, bursts up to 40x: the rolling means' tails are selected, not counted)"
    )


def time_cache(kernel, args) -> None:
    """Every train window of an ingested cache (``--cache``; e.g. a full-size ``lanl synth --rows 629145480``
    after ``lanl ingest``) through extract_segments, as ``lanl features`` runs it, pool start included."""
    if not args.cache:
        return
    from lanl.data.cache import SignalCache
    from lanl.data.segments import SegmentSpec, train_segments
    from lanl.features import extract_segments

    cache = SignalCache.open(args.cache)
    spec = SegmentSpec(stride=args.stride) if args.stride else SegmentSpec()
    table = train_segments(cache, spec)
    with ProcessRunner(args.jobs) if args.jobs > 1 else SerialRunner() as runner:
        start, cpu0 = time.perf_counter(), cpu_seconds()
        values = extract_segments(cache, table, kernel, runner=runner, batch=args.batch)
        wall = time.perf_counter() - start
        cpu = cpu_seconds() + worker_cpu_seconds(runner) - cpu0
    print(
        f"cache    : {len(table):,} train windows ({cache.rows:,} rows, {spec.describe()}) in {wall:.1f} s wall "
        f"= {wall / len(table) * 1e3:.2f} ms/window, {cpu / len(table) * 1e3:.2f} ms CPU, pool start "
        f"included; {values.shape[1] - 4} features"
    )


def time_real(kernel, args) -> None:
    if args.no_real:
        print("real test: skipped (--no-real)")
        return
    real = read_real_test(None)
    if real is None:
        print(f"real test: no segments at {REAL_TEST}, skipped")
        return
    ids, values = real
    table, wall, _ = bench_ours(values, kernel, args.jobs, args.batch)
    print(
        f"real test: {len(ids)} segments in {wall:.2f} s = {wall / len(ids) * 1e3:.2f} ms/segment, "
        f"{len(ids) / wall:.0f} segments/s; mean of signal__mean {table['signal__mean'].mean():.3f}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--segments", type=int, default=256, help="segments for ours (kernel set)")
    parser.add_argument("--pandas-segments", type=int, default=16)
    parser.add_argument("--tsfresh-segments", type=int, default=3)
    parser.add_argument("--full-segments", type=int, default=32)
    parser.add_argument("--heavy-segments", type=int, default=128)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--no-real", action="store_true", help="skip the real test segments")
    parser.add_argument("--cache", help="also time every train window of this ingested signal cache")
    parser.add_argument("--stride", type=int, help="window stride for --cache (default: non-overlapping)")
    args = parser.parse_args(argv)

    kernel = load_feature_set("kernel")
    segments = lab_segments(args.segments)
    print(
        f"kernel set: {len(kernel.columns)} features; {args.segments} synthetic lab segments (lanl.data.synth) of "
        f"150,000 samples; {args.jobs} workers on {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}"
    )
    ours, _ = compare_pandas(segments, kernel, args)
    time_heavy(kernel, args)
    compare_tsfresh(segments, kernel, ours, args)
    time_full(segments, args)
    time_real(kernel, args)
    time_cache(kernel, args)
    me, children = peak_rss_mb()
    print(
        f"peak memory (max RSS): this process {me:.0f} MB (holds the {segments.nbytes / 2**20:.0f} MB of "
        f"benchmark segments), largest worker {children:.0f} MB; a worker holds one block of {args.batch} "
        "segments at a time, so its peak does not grow with the number of segments"
    )


if __name__ == "__main__":
    main()
