"""Ingest benchmark: ``lanl ingest`` against ``pandas.read_csv(dtype=...)`` on the same train.csv, in one run.

Each contender runs in its own fresh interpreter (so its peak RSS is its own), after the file has been read
once so both start from a warm page cache. Prints time, rows/s and peak memory of each, the time ratio, and
the time extrapolated to the real 629,145,480-row file.

    python3 benchmarks/bench_ingest.py                   # generates a 40M-row synthetic train.csv (~680 MB)
    python3 benchmarks/bench_ingest.py --rows 100000000  # bigger
    python3 benchmarks/bench_ingest.py --csv PATH/train.csv
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL_ROWS = 629_145_480

LANL = """
import json, resource, sys, tempfile, time
from pathlib import Path
from lanl.data.ingest import ingest
with tempfile.TemporaryDirectory() as tiny:   # load the compiled numba kernels (one-off, ~1 s) before timing
    Path(tiny, "train.csv").write_text("acoustic_data,time_to_failure\\n" + "4,1.5\\n" * 1000)
    t = time.perf_counter()
    ingest(tiny, tiny + "/cache")
    load = time.perf_counter() - t
t = time.perf_counter()
res = ingest(sys.argv[1], sys.argv[2], force=True)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "rows": res.cache.rows, "cycles": res.cache.n_cycles, "kernel_load": load,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS = """
import json, resource, sys, time
import numpy as np, pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1] + "/train.csv", dtype={"acoustic_data": np.int16, "time_to_failure": np.float64})
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "rows": len(df),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WARMUP = """
import sys
from lanl.data.ingest import ingest
ingest(sys.argv[1], sys.argv[2], force=True)   # compiles and caches the numba kernels
"""


def run(code: str, *args: str) -> dict:
    env = dict(os.environ, LANL_PROGRESS="0")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def make_csv(rows: int, work: Path) -> Path:
    from lanl.data.synth import generate

    data = work / "synth"
    print(f"generating a {rows:,}-row synthetic train.csv ...", flush=True)
    t = time.perf_counter()
    generate(data, seed=0, rows=rows, cycles=16, test_segments=0)
    print(f"  {time.perf_counter() - t:.1f} s")
    return data / "train.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=40_000_000)
    ap.add_argument("--csv", type=Path, help="an existing train.csv to use instead of generating one")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each contender; the best time counts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        work = Path(tmp).resolve()
        csv = args.csv.resolve() if args.csv else make_csv(args.rows, work)
        data = work / "only_train"  # train.csv alone, so both sides do the same work
        data.mkdir()
        (data / "train.csv").symlink_to(csv)
        size = csv.stat().st_size
        with open(csv, "rb") as f:  # warm the page cache for both
            while f.read(1 << 24):
                pass
        cache = str(work / "cache")
        run(WARMUP, str(data), cache)
        ours = min((run(LANL, str(data), cache) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        base = min((run(PANDAS, str(data)) for _ in range(args.repeat)), key=lambda r: r["seconds"])
    assert ours["rows"] == base["rows"], (ours, base)
    rows = ours["rows"]
    print(f"\ntrain.csv: {rows:,} rows, {size / 1e9:.2f} GB, {ours['cycles']} cycles; {os.cpu_count()} cores")
    print(f"{'contender':34s} {'seconds':>8s} {'M rows/s':>9s} {'peak MB':>8s} {'629M rows (s)':>14s}")
    for name, r in (("lanl ingest (parse+validate+cache)", ours), ("pandas.read_csv(dtype=...)", base)):
        print(
            f"{name:34s} {r['seconds']:8.2f} {rows / r['seconds'] / 1e6:9.1f} {r['peak_mb']:8.0f}"
            f" {r['seconds'] * FULL_ROWS / rows:14.1f}"
        )
    print(f"ratio (pandas time / lanl time): {base['seconds'] / ours['seconds']:.2f}x  (target >= 1.8x)")
    print(f"(lanl's one-off numba kernel load, not counted above: {ours['kernel_load']:.2f} s per process)")


if __name__ == "__main__":
    main()
