"""Benchmark of the Dask runner against the local runners, on the same cache windows.

Synthetic lab-quake data (or ``--data DIR``) is ingested into a temporary cache; ``--segments`` strided
150,000-row train windows get the ``--set`` features (default ``kernel``) three ways:

1. SerialRunner (this process);
2. ProcessRunner(--workers) (a local process pool): the first map (pool start) and warm maps;
3. DaskRunner on a LocalCluster of --workers processes on 127.0.0.1 (one thread each): its start-up time,
   the first (cold: worker imports) map, then warm maps.

It checks that the three tables are identical, and prints segments per second, the Dask overhead per block
task (worker-seconds spent per task beyond the serial compute time), and the round trip of an empty task
(Dask versus the process pool). Defaults take about a minute on two cores.

    python benchmarks/bench_distributed.py [--segments 240] [--workers 2] [--set kernel] [--batch 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LANL_PROGRESS", "0")

from lanl.data.segments import SEGMENT_LENGTH, SegmentSpec, train_segments  # noqa: E402
from lanl.distributed import DaskRunner  # noqa: E402
from lanl.features import ProcessRunner, SerialRunner, extract_segments, load_feature_set  # noqa: E402
from lanl.features.extract import DEFAULT_BATCH  # noqa: E402


def windows(cache, n: int) -> pd.DataFrame:
    """``n`` strided windows spread over the whole cache (stride chosen to give at least ``n``)."""
    usable = sum(max(0, b - a - SEGMENT_LENGTH) for a, b in cache.cycle_bounds())
    stride = max(1, usable // max(1, n))
    return train_segments(cache, SegmentSpec(stride=stride)).iloc[:n].reset_index(drop=True)


def timed(runner, cache, table, fs, batch: int) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    out = extract_segments(cache, table, fs, runner=runner, batch=batch)
    return out, time.perf_counter() - t0


def empty_round_trip(runner, n: int) -> float:
    """Milliseconds per empty task (``abs`` of an int) through ``runner``, best of 3."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        assert len(list(runner.map(abs, range(n)))) == n
        best = min(best, time.perf_counter() - t0)
    return 1000 * best / n


def open_cache(data: Path | None, tmp: Path):
    from lanl.data import synth
    from lanl.data.ingest import ingest

    if data is None:
        data = tmp / "data"
        synth.generate(data, seed=0, rows=4_000_000, cycles=3, test_segments=1)
    return ingest(data, tmp / "cache").cache


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--segments", type=int, default=240)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", dest="set_name", default="kernel")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--data", type=Path, default=None, help="Kaggle-layout folder (default: synthetic)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
        cache = open_cache(args.data, Path(tmp))
        table, fs = windows(cache, args.segments), load_feature_set(args.set_name)
        n, tasks = len(table), -(-len(table) // args.batch)
        print(f"{n} windows x {len(fs.features)} features ({fs.name}), {tasks} block tasks of {args.batch}")
        extract_segments(cache, table.iloc[: args.batch], fs, batch=args.batch)  # JIT/page cache warm-up
        serial, t_serial = timed(SerialRunner(), cache, table, fs, args.batch)
        with ProcessRunner(args.workers) as pool:  # first map starts the pool, later ones reuse it
            _, t_pool_cold = timed(pool, cache, table, fs, args.batch)
            local, t_pool = min(
                (timed(pool, cache, table, fs, args.batch) for _ in range(2)), key=lambda r: r[1]
            )
            ms_pool = empty_round_trip(pool, 200)
        t0 = time.perf_counter()
        with DaskRunner("local", n_jobs=args.workers) as dask:
            dask.client  # noqa: B018 (starts the LocalCluster)
            t_start = time.perf_counter() - t0
            _, t_cold = timed(dask, cache, table, fs, args.batch)
            warm = [timed(dask, cache, table, fs, args.batch) for _ in range(2)]
            cluster, t_dask = min(warm, key=lambda r: r[1])
            ms_dask = empty_round_trip(dask, 200)

    same = serial.equals(local) and serial.equals(cluster)
    report(args, n, tasks, t_serial, (t_pool_cold, t_pool), t_start, t_cold, t_dask, ms_dask, ms_pool, same)
    if not same:
        sys.exit("the Dask table differs from the serial one")


def report(args, n, tasks, t_serial, t_pools, t_start, t_cold, t_dask, ms_dask, ms_pool, same) -> None:
    w = args.workers
    t_pool_cold, t_pool = t_pools
    rows = [
        ("serial (1 process)", t_serial),
        (f"ProcessRunner({w}), first map", t_pool_cold),
        (f"ProcessRunner({w}), warm", t_pool),
        (f"DaskRunner LocalCluster({w}), first map", t_cold),
        (f"DaskRunner LocalCluster({w}), warm", t_dask),
    ]
    for name, seconds in rows:
        print(
            f"  {name:<40} {seconds:7.2f} s  {n / seconds:7.2f} seg/s  x{t_serial / seconds:4.2f} vs serial"
        )
    per_task = 1000 * (t_dask * w - t_serial) / tasks
    per_task_pool = 1000 * (t_pool * w - t_serial) / tasks
    print(f"  LocalCluster start-up: {t_start:.2f} s")
    print(
        f"  overhead per block task (worker-ms beyond serial compute): Dask {per_task:.1f}, pool {per_task_pool:.1f}"
    )
    print(f"  empty task round trip: Dask {ms_dask:.2f} ms/task, process pool {ms_pool:.2f} ms/task")
    print(f"  tables identical to serial: {same}")


if __name__ == "__main__":
    main()
