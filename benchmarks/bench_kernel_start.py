"""Kernel start-up benchmark: a Kaggle kernel run on a fresh machine, before and after ``--numba-cache``.

Every Kaggle run unpacks the kernel script afresh, so numba's cache starts empty. On the default synthetic
dataset (24M rows, 8 cycles, 64 test segments; generated once into ``--data``) this builds the kernel script
of the config twice, as ``lanl bundle`` does (before: the kernels compile on first use) and as ``lanl bundle
--numba-cache PYTHON`` does (after: they travel in the script), then runs, with the kernel interpreter
``--python`` in ``python -I`` and Kaggle's default of one feature process per core:

* before, on a fresh unpack (cold numba cache);
* after, on a fresh unpack (the shipped cache);
* before again on its now-warm unpack: no compiling at all, the floor both are measured against.

It prints the whole kernel time, its stages, the kernels numba compiled (``NUMBA_DEBUG_CACHE``), and the
start-up cost (the whole time minus the warm rerun's: what a fresh machine pays before the same work), with
after/before ratios.

    python3 benchmarks/bench_kernel_start.py                               # default config (torch), this Python
    python3 benchmarks/bench_kernel_start.py --python /tmp/v312/bin/python --lgbm-only   # Kaggle's 3.12, no torch
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LGBM_ONLY = 'models = ["lgbm"]\nstack = ""\nsubmission = "lgbm"\n'


def prepare_data(data: Path) -> None:
    from lanl.commands.data import ensure_synthetic

    ensure_synthetic(data, 0)


def run_kernel(python: str, script: Path, data: Path, work: Path, unpack: Path) -> dict:
    """Run the kernel script once; its wall time, time to its first log line, stage seconds, numba counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANL_", "KAGGLE_", "PYTHON", "NUMBA_"))}
    env.update(
        LANL_INPUT=str(data),
        LANL_WORKING=str(work / "working"),
        LANL_CACHE=str(work / "cache"),
        LANL_UNPACK=str(unpack),
        LANL_PROGRESS="0",
        NUMBA_DEBUG_CACHE="1",
    )
    t0 = time.perf_counter()
    first = None
    lines = []
    with subprocess.Popen(
        [python, "-I", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        for line in proc.stdout:
            if first is None and line.startswith("lanl ") and " from " in line:
                first = time.perf_counter() - t0
            lines.append(line)
    wall = time.perf_counter() - t0
    text = "".join(lines)
    if proc.returncode != 0:
        sys.exit(f"the kernel failed (exit {proc.returncode}):\n{text[-3000:]}")
    stages = re.search(r"^seconds: (.*)$", text, re.M)
    seconds = (
        dict((k, float(v)) for k, v in (s.rsplit(" ", 1) for s in stages[1].split(", "))) if stages else {}
    )
    return {
        "wall": wall,
        "first_line": first or float("nan"),
        "stages": seconds,
        "compiled": text.count("data saved to"),
        "loaded": text.count("data loaded from"),
        "numba": next((ln.strip() for ln in lines if ln.startswith("lanl kernel: numba")), ""),
        "submission": (work / "working" / "submission.csv").read_bytes(),
    }


def build(config: Path | None, out: Path, numba_python: str | None) -> tuple[Path, float, dict | None]:
    from lanl.kaggle.bundle import build_bundle

    t = time.perf_counter()
    b = build_bundle(config, out, numba_python=numba_python)
    return b.script, time.perf_counter() - t, b.numba_cache


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("data/synthetic"))
    parser.add_argument("--config", type=Path, default=None, help="pipeline TOML (default: lanl's default)")
    parser.add_argument("--lgbm-only", action="store_true", help="a LightGBM-only pipeline (no torch needed)")
    parser.add_argument(
        "--python", default=sys.executable, help="the kernel's interpreter (default: this one)"
    )
    args = parser.parse_args()
    prepare_data(args.data)
    with tempfile.TemporaryDirectory(prefix="bench-kernel-") as tmp:
        tmp = Path(tmp)
        config = args.config
        if args.lgbm_only:
            config = tmp / "lgbm.toml"
            config.write_text(LGBM_ONLY)
        before, _, _ = build(config, tmp / "before", None)
        after, build_s, shipped = build(config, tmp / "after", args.python)
        runs = {
            "before": run_kernel(args.python, before, args.data, tmp / "w1", tmp / "u1"),
            "after": run_kernel(args.python, after, args.data, tmp / "w2", tmp / "u2"),
            "warm": run_kernel(args.python, before, args.data, tmp / "w3", tmp / "u1"),
        }
        size = (before.stat().st_size, after.stat().st_size)
    report(args, runs, shipped, build_s, size)


def report(args, runs: dict, shipped: dict, build_s: float, size: tuple[int, int]) -> None:
    version = subprocess.run(
        [args.python, "-c", "import sys, numba; print(sys.version.split()[0], numba.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.split()
    b, a, w = runs["before"], runs["after"], runs["warm"]
    print(
        f"kernel on {args.data} ({'LightGBM only' if args.lgbm_only else args.config or 'default config'}), "
        f"Python {version[0]}, numba {version[1]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(f"after: {a['numba']}")
    print(
        f"script size: before {size[0] / 1e6:.2f} MB, after {size[1] / 1e6:.2f} MB; --numba-cache build {build_s:.0f} s"
    )
    print(f"{'':34} {'before':>9} {'after':>9} {'warm':>9} {'after/before':>13}")
    rows = [("to the first log line (s)", "first_line")]
    rows += [(f"stage {k} (s)", k) for k in b["stages"]]
    for label, key in [*rows, ("whole kernel (s)", "wall")]:
        vals = [r[key] if key in r else r["stages"].get(key, float("nan")) for r in (b, a, w)]
        ratio = vals[1] / vals[0] if vals[0] > 0 else float("nan")
        print(f"{label:34} {vals[0]:9.1f} {vals[1]:9.1f} {vals[2]:9.1f} {ratio:12.3f}x")
    cost = [r["wall"] - w["wall"] for r in (b, a)]
    print(
        f"{'start-up cost: whole - warm (s)':34} {cost[0]:9.1f} {cost[1]:9.1f} {'':9} "
        f"{cost[1] / cost[0] if cost[0] > 0 else float('nan'):12.3f}x"
    )
    print(
        f"{'kernels compiled / loaded':34} {b['compiled']:>4}/{b['loaded']:<4} {a['compiled']:>4}/{a['loaded']:<4} "
        f"{w['compiled']:>4}/{w['loaded']:<4}"
    )
    same = b["submission"] == a["submission"] == w["submission"]
    print(
        f"submission: {'the same bytes in all three runs' if same else 'DIFFERS between runs (CPU targets differ)'}"
    )


if __name__ == "__main__":
    main()
