"""Recipe benchmark: every recipe of ``lanl.recipes``, one after the other in one process, on two inputs.

* synthetic: the recipe's whole pipeline (``lanl run --recipe NAME``: features, folds, models, shift, stack,
  report, submission) on a Kaggle-layout synthetic dataset, by default the full-size one (629,145,480 rows,
  17 cycles, 2,624 test segments: ``lanl synth DIR --rows 629145480 --cycles 17 --test-segments 2624``, made
  here when DIR holds none). Each recipe runs in its own fresh work folder, so its wall time includes its
  feature extraction; the signal cache is shared (ingested once, beforehand, not timed).
* real: the recipe's models, shift remedies and stack (``lanl run --table ... --recipe NAME``) on the real
  33-feature table of all 4,194 real train windows (``../shared/lanl_real_labelled/features/``) with the real
  test segments; the recipe's own feature sets cannot be computed there (no raw signal), and rnn-starter, which
  reads the raw signal, is not applicable.

For each: the CV MAE of the run the pipeline picks (the lowest CV MAE, on the cycles closest to test when every
candidate was scored on them), that matched-cycle score, the test predictions' mean, and the wall time.

    python3 benchmarks/bench_recipes.py --data /tmp/full          # both inputs, every recipe
    python3 benchmarks/bench_recipes.py --only real --recipes first-place second-place
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lanl import recipes
from lanl.cv.runs import Run
from lanl.data.ingest import ingest
from lanl.data.tables import load_tables
from lanl.errors import LanlError
from lanl.pipeline import run_pipeline, run_tables
from lanl.workspace import Workspace

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL = SHARED / "lanl_real_labelled" / "features"
FULL = {"rows": 629_145_480, "cycles": 17, "test_segments": 2624}


def real_tables():
    sample = SHARED / "lanl_real" / "sample_submission.csv"
    return load_tables(
        REAL / "timestocome__Kaggle__train_stats.csv",
        REAL / "timestocome__Kaggle__test_stats.csv",
        sample_submission=sample if sample.is_file() else None,
    )


def synthetic_data(folder: Path, rows: int) -> Path:
    from lanl.data import synth

    info = folder / "synth_info.json"
    if not info.is_file():
        print(f"generating {rows:,} synthetic rows in {folder}")
        synth.generate(folder, seed=0, rows=rows, cycles=FULL["cycles"], test_segments=FULL["test_segments"])
    return folder


def row(name: str, res, seconds: float) -> dict:
    best = Run.open(res.best)
    m = best.metrics
    test = m.get("distribution", {}).get("test", {})
    return {
        "recipe": name,
        "picked": best.root.name.removeprefix(f"{recipes.load(name).config().submission}-"),
        "cv": m["cv_mae"],
        "matched": m.get("cv_mae_matched"),
        "test_mean": test.get("mean"),
        "seconds": seconds,
        "runs": {Run.open(p).root.name: Run.open(p).metrics["cv_mae"] for p in res.runs},
    }


def bench(names: list[str], run_one, label: str) -> list[dict]:
    print(f"\n## {label}")
    out = []
    for name in names:
        t = time.perf_counter()
        try:
            res = run_one(name)
        except LanlError as exc:  # not applicable (rnn-starter on a table) or an extra not installed
            print(f"{name}: n/a ({exc})")
            out.append({"recipe": name, "na": str(exc)})
            continue
        out.append(row(name, res, time.perf_counter() - t))
        r = out[-1]
        runs = ", ".join(f"{k} {v:.3f}" for k, v in r["runs"].items())
        print(f"{name}: picked {r['picked']}, CV MAE {r['cv']:.3f}; {runs}; {r['seconds']:.0f} s", flush=True)
    return out


def print_table(label: str, rows: list[dict]) -> None:
    print(
        f"\n{label}\n\n| recipe | picked run | CV MAE | on the cycles closest to test | test mean (s) | wall (s) |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "na" in r:
            print(f"| {r['recipe']} | n/a | | | | |")
            continue
        matched = f"{r['matched']:.3f}" if r["matched"] is not None else ""
        mean = f"{r['test_mean']:.2f}" if r["test_mean"] is not None else ""
        print(f"| {r['recipe']} | {r['picked']} | {r['cv']:.3f} | {matched} | {mean} | {r['seconds']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path("data/synthetic-full"), help="Synthetic dataset folder."
    )
    parser.add_argument("--rows", type=int, default=FULL["rows"], help="Rows when generating it (full size).")
    parser.add_argument("--recipes", nargs="+", default=None, choices=recipes.names())
    parser.add_argument("--only", choices=["real", "synthetic"], default=None)
    parser.add_argument("--jobs", type=int, default=2, help="Feature extraction processes.")
    args = parser.parse_args()
    names = args.recipes or recipes.names()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "synthetic":
            if REAL.is_dir():
                tables = real_tables()
                print(f"real table: {len(tables.train):,} windows x {len(tables.features)} features")

                def on_table(name):
                    config = recipes.load(name).config(tables=True)
                    ws = Workspace.open(root=Path(tmp) / "real" / name)
                    return run_tables(tables, config, ws=ws, log=lambda _: None)

                results["real"] = bench(names, on_table, "real 33-feature table")
            else:
                print("real: skipped (../shared/lanl_real_labelled is absent)")
        if args.only != "real":
            data = synthetic_data(args.data, args.rows)
            cache = ingest(data).cache
            print(
                f"synthetic: {cache.rows:,} rows, {cache.n_cycles} cycles, {len(cache.test_ids):,} test segments"
            )

            def on_data(name):
                ws = Workspace.open(data, root=Path(tmp) / "synthetic" / name, jobs=args.jobs)
                return run_pipeline(ws, recipes.load(name).config(), log=lambda _: None)

            results["synthetic"] = bench(names, on_data, f"synthetic ({cache.rows:,} rows)")
    for label, rows in results.items():
        print_table(label, rows)


if __name__ == "__main__":
    main()
