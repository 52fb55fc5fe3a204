"""Model benchmark: cycle-grouped CV MAE of each model next to the constant-median baseline, and wall times.

On the default synthetic dataset (``lanl.data.synth`` defaults: 24M rows, 8 quake cycles, 64 test segments; generated
and ingested once into ``--data``), each model runs through ``lanl.cv.train.train`` with its default config
(LightGBM on the ``kernel`` features, the 1D-CNN on the raw signal, the LSTM on per-chunk features) and
5 folds grouped by cycle; LightGBM also under shuffled KFold, to show how much that flatters. Feature
extraction is timed apart (the feature store makes it a one-off).

    python3 benchmarks/bench_models.py                       # data in data/synthetic, runs in a temp folder
    python3 benchmarks/bench_models.py --models lgbm lstm --data /tmp/synth --runs runs/bench
    python3 benchmarks/bench_models.py --models lgbm --zoo   # and the feature-table zoo (bench_zoo.py)
    python3 benchmarks/bench_models.py --data /tmp/v1 --synth-model v1   # on the first generator's data

``--zoo`` adds every feature-table kind and their stacks, on the synthetic kernel features and on the real
33-feature table (``benchmarks/bench_zoo.py``, which also runs alone).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def prepare_data(data: Path, seed: int, model: str) -> float:
    """Generate (unless present) and ingest the default-size synthetic dataset; seconds spent."""
    from lanl.commands.data import ensure_synthetic
    from lanl.data.ingest import ingest

    t = time.perf_counter()
    ensure_synthetic(data, seed, model)
    ingest(data)
    return time.perf_counter() - t


def time_features(data: Path, features_dir: Path) -> float:
    """Compute (or find) the kernel feature tables, so that the LightGBM timing is the model's alone."""
    from lanl.data.ingest import require_cache
    from lanl.features.store import FeatureStore, segment_features

    cache, store = require_cache(data, None), FeatureStore(features_dir)
    t = time.perf_counter()
    for part in ("train", "test"):
        segment_features(cache, "kernel", part=part, store=store)
    return time.perf_counter() - t


def bench_model(model: str, data: Path, runs: Path, features_dir: Path, scheme: str = "cycle") -> dict:
    from lanl.cv.runs import Run
    from lanl.cv.train import load_config, train
    from lanl.workspace import Workspace

    t = time.perf_counter()
    config = load_config(model=model, folds_scheme=scheme)
    run_dir = train(Workspace.open(data, runs=runs, features=features_dir), config)
    seconds = time.perf_counter() - t
    metrics = Run.open(run_dir).metrics
    return {
        "model": model if scheme == "cycle" else f"{model} ({scheme}, optimistic)",
        "cv_mae": metrics["cv_mae"],
        "baseline": metrics["baseline_mae"],
        "seconds": seconds,
        "folds": [f["mae"] for f in metrics["folds"]],
        "run": run_dir,
    }


def print_table(rows: list[dict], n_windows: int) -> None:
    print(f"\n{'model':<26}{'CV MAE':>9}{'baseline':>10}{'gain':>8}{'wall s':>9}   per-fold MAE")
    for r in rows:
        gain = 100 * (1 - r["cv_mae"] / r["baseline"])
        folds = " ".join(f"{m:.2f}" for m in r["folds"])
        print(
            f"{r['model']:<26}{r['cv_mae']:>9.3f}{r['baseline']:>10.3f}{gain:>7.1f}%{r['seconds']:>9.1f}   {folds}"
        )
    print(
        f"({n_windows} non-overlapping 150,000-sample windows; 5 folds grouped by quake cycle unless noted)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data/synthetic"))
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic dataset")
    ap.add_argument(
        "--synth-model", default="default", help="the generator's preset (default v6, or v5, v4, v3, v2, v1)"
    )
    ap.add_argument("--models", nargs="+", default=["lgbm", "cnn", "lstm"], choices=["lgbm", "cnn", "lstm"])
    ap.add_argument("--runs", type=Path, default=None, help="runs folder (default: a temporary one)")
    ap.add_argument("--features-dir", type=Path, default=Path("features"))
    ap.add_argument("--zoo", action="store_true", help="also the feature-table zoo (bench_zoo.py)")
    args = ap.parse_args()
    os.environ.setdefault("LANL_PROGRESS", "0")

    print(f"data: {args.data} (prepared in {prepare_data(args.data, args.seed, args.synth_model):.1f} s)")
    if "lgbm" in args.models:
        print(f"kernel features: {time_features(args.data, args.features_dir):.1f} s (feature store)")
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or Path(tmp)
        rows = [bench_model(m, args.data, runs, args.features_dir) for m in args.models]
        if "lgbm" in args.models:  # what shuffled KFold would have claimed
            rows.append(bench_model("lgbm", args.data, runs, args.features_dir, scheme="kfold"))
        from lanl.cv.runs import Run

        print_table(rows, Run.open(rows[0]["run"]).metrics["n_segments"])
        if args.zoo:
            from bench_zoo import (  # the sibling script (benchmarks/ is on the path)
                FEATURE_KINDS,
                VARIANTS,
                run_zoo,
            )

            kinds = [*FEATURE_KINDS, *VARIANTS]
            run_zoo(["synthetic", "real"], kinds, {"all": kinds}, args.data, args.features_dir, runs / "zoo")


if __name__ == "__main__":
    main()
