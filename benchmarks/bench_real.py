"""Real-data benchmark: every feature-table model on the real 33-feature table of all 4,194 real train windows
(``../shared/lanl_real_labelled/features/``, timestocome's table: real labels, cycles from the 16 real quakes).

For each feature-table model kind (``lanl.models``; the optional ``[boost]`` kinds when installed), with its
default config and no shift stage: CV MAE under 5 cycle-grouped folds and under leave-one-cycle-out, the
constant-median baseline, and the stack (blend) of the grouped runs; LightGBM also under shuffled KFold (what
the 1st place used), to show how much mixing windows of one cycle on both sides flatters the score. Then the
distribution of the test predictions on the 2,624 real test segments next to the OOF one (the shift: see
benchmarks/bench_shift.py for the remedies).

    python3 benchmarks/bench_real.py                       # every feature-table kind
    python3 benchmarks/bench_real.py --models lgbm ridge --no-loco
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lanl.cv.runs import Run
from lanl.cv.stack import stack_runs
from lanl.cv.train import load_config, train_tables
from lanl.data.tables import load_tables
from lanl.errors import LanlError
from lanl.models import MODEL_KINDS, model_class

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL = SHARED / "lanl_real_labelled" / "features"
SKIP = {"lgbm_dask"}  # the same model as lgbm, on a Dask cluster


def feature_kinds() -> list[str]:
    return [k for k in MODEL_KINDS if k not in SKIP and model_class(k).input == "features"]


def cv(tables, model: str, scheme: str, runs: Path) -> dict | None:
    config = load_config(None, model=model, folds_scheme=scheme, name=f"{model}-{scheme}")
    t = time.perf_counter()
    try:
        run = Run.open(train_tables(tables, config, runs_dir=runs))
    except LanlError as exc:  # an optional extra that is not installed
        print(f"  {model}: skipped ({exc})")
        return None
    return {"run": run, "seconds": time.perf_counter() - t}


def describe(x) -> str:
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return f"{np.mean(x):.2f} | " + " / ".join(f"{v:.2f}" for v in q)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=None, help="Model kinds (default: every feature kind)."
    )
    parser.add_argument(
        "--no-loco", action="store_true", help="Skip leave-one-cycle-out (17 folds per model)."
    )
    args = parser.parse_args()
    if not REAL.is_dir():
        print("skipped: ../shared/lanl_real_labelled is absent")
        return
    sample = SHARED / "lanl_real" / "sample_submission.csv"
    tables = load_tables(
        REAL / "timestocome__Kaggle__train_stats.csv",
        REAL / "timestocome__Kaggle__test_stats.csv",
        sample_submission=sample if sample.is_file() else None,
    )
    info = tables.info
    print(
        f"real table: {len(tables.train):,} windows x {len(tables.features)} features, {info['n_cycles']} cycles "
        f"from {info['cycles_from']} ({info['straddling_dropped']} windows spanning a quake dropped), "
        f"{len(tables.test):,} test segments"
    )
    models = args.models or feature_kinds()
    rows, grouped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        for model in models:
            res = cv(tables, model, "cycle", runs)
            if res is None:
                continue
            loco = None if args.no_loco else cv(tables, model, "loco", runs)
            rows.append((model, res, loco))
            grouped.append(res["run"])
        kfold = cv(tables, "lgbm", "kfold", runs) if "lgbm" in models else None
        stack = None
        if len(grouped) > 1:
            t = time.perf_counter()
            stack = Run.open(
                stack_runs([r.root for r in grouped], method="blend", name="stack", runs_dir=runs)
            )
            stack_s = time.perf_counter() - t
        print("\n| model | CV MAE, 5 cycle folds | leave-one-cycle-out | baseline | s (5 folds) |")
        print("|---|---|---|---|---|")
        for model, res, loco in rows:
            m = res["run"].metrics
            lo = f"{loco['run'].metrics['cv_mae']:.3f}" if loco else ""
            print(f"| {model} | {m['cv_mae']:.3f} | {lo} | {m['baseline_mae']:.3f} | {res['seconds']:.1f} |")
        if stack is not None:
            weights = stack.metrics.get("weights", {})
            shown = ", ".join(
                f"{k.split('-')[0]} {v:.2f}" for k, v in weights.items() if k != "intercept" and v > 0.005
            )
            best = min(r[1]["run"].metrics["cv_mae"] for r in rows)
            gain = 100 * (1 - stack.metrics["cv_mae"] / best)  # > 0: the stack is below the best single
            print(
                f"| stack (blend: {shown}) | {stack.metrics['cv_mae']:.3f} ({abs(gain):.1f}% {'below' if gain > 0 else 'above'} the best single) "
                f"| | {stack.metrics['baseline_mae']:.3f} | {stack_s:.1f} |"
            )
        if kfold is not None:
            m = kfold["run"].metrics
            print(
                f"| lgbm, shuffled KFold (optimistic) | {m['cv_mae']:.3f} | | {m['baseline_mae']:.3f} | "
                f"{kfold['seconds']:.1f} |"
            )
        print("\n| predictions | mean | q05 / q25 / q50 / q75 / q95 |")
        print("|---|---|---|")
        print(f"| labels (train) | {describe(tables.train['label'])} |")
        for model, res, _ in rows:
            run = res["run"]
            print(f"| {model} OOF | {describe(run.oof['pred'])} |")
            print(f"| {model} test | {describe(run.test_pred['mean'])} |")
        if stack is not None:
            print(f"| stack test | {describe(stack.test_pred['mean'])} |")


if __name__ == "__main__":
    main()
