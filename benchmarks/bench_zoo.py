"""Feature-table model zoo benchmark: every feature-table kind and their stacks, grouped CV MAE and seconds.

Two tables, each cross-validated with 5 folds grouped by quake cycle (``--folds loco``: one fold per cycle;
the same folds for every kind and for the stacks; ``lanl.cv.train.train_table``, then ``lanl.cv.stack.stack_runs`` over the runs):

* synthetic: the ``kernel`` features of the default synthetic dataset (``lanl.data.synth``, generated and ingested
  once into ``--data``, features in the feature store);
* real: the 33-feature table of the 4,194 real train windows in ``../shared/lanl_real_labelled`` (the 16
  windows that straddle a quake dropped) and its 2,624 test segments; skipped when that folder is absent.

Every run uses ``refit = true`` (after early stopping on the inner split, refit on all training folds): the
models that do not iterate (svr, nusvr, knn, ridge) would otherwise never see the stopping cycles.

    python3 benchmarks/bench_zoo.py                          # both tables, every kind, runs in a temp folder
    python3 benchmarks/bench_zoo.py --tables real --kinds lgbm svr ridge --runs runs/zoo
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lanl.cv.runs import Run
from lanl.cv.stack import METHODS, stack_runs
from lanl.cv.train import config_from_dict, train_table
from lanl.models import MODEL_KINDS

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "lanl_real_labelled" / "features"
QUAKES = [5656574, 50085878, 104677356, 138772453, 187641820, 218652630, 245829585, 307838917, 338276287,
          375377848, 419368880, 461811623, 495800225, 528777115, 585568144, 621985673]  # fmt: skip
STRADDLE = [37, 333, 697, 925, 1250, 1457, 1638, 2052, 2255, 2502, 2795, 3078, 3305, 3525, 3903, 4146]
FEATURE_KINDS = ("lgbm", "catboost", "xgboost", "svr", "nusvr", "knn", "ridge", "mlp")
# "mlp (multitask)" is the mlp kind with these parameters
VARIANTS = {"mlp-multitask": ("mlp", {"multitask": True})}


# ---------------------------------------------------------------------------------------------- tables
def real_tables(folder: Path = REAL) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(train, test) feature tables of the real windows, or None when the shared folder is absent."""
    train_csv = folder / "timestocome__Kaggle__train_stats.csv"
    if not train_csv.is_file():
        return None
    raw = pd.read_csv(train_csv).drop(columns="Unnamed: 0")
    i = np.arange(len(raw))
    keys = pd.DataFrame(
        {
            "seg_id": [f"w{k}" for k in i],
            "start": 150_000 * i,
            "cycle": np.searchsorted(QUAKES, 150_000 * i + 149_999, side="right"),
            "label": raw.pop("time_to_failure").to_numpy(float),
        }
    )
    train = pd.concat([keys, raw], axis=1).drop(index=STRADDLE).reset_index(drop=True)
    test = pd.read_csv(folder / "timestocome__Kaggle__test_stats.csv").drop(columns="Unnamed: 0")
    return train, test[["seg_id", *raw.columns]]


def synthetic_tables(data: Path, features_dir: Path, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) kernel feature tables of the default synthetic dataset (made once, then read back)."""
    from lanl.commands.data import ensure_synthetic
    from lanl.data.ingest import ingest
    from lanl.features.store import FeatureStore, segment_features

    ensure_synthetic(data, seed)
    cache, store = ingest(data).cache, FeatureStore(features_dir)
    train, _, _ = segment_features(cache, "kernel", part="train", store=store)
    test, _, _ = segment_features(cache, "kernel", part="test", store=store)
    return train, test.drop(columns=[c for c in ("start", "cycle", "label") if c in test.columns])


# ----------------------------------------------------------------------------------------------- runs
def bench_kind(name: str, table, test, runs: Path, threads: int, scheme: str = "cycle") -> dict:
    kind, params = VARIANTS.get(name, (name, {}))
    if kind in ("lgbm", "catboost", "xgboost", "mlp"):
        params = {**params, "threads": threads}
    folds = {"scheme": scheme, "k": 5}
    config = config_from_dict({"model": kind, "name": name, "refit": True, "folds": folds, "params": params})
    t = time.perf_counter()
    run = Run.open(train_table(table, config, test=test, runs_dir=runs))
    return row(name, run, time.perf_counter() - t)


def bench_stack(method: str, run_dirs: list[Path], label: str) -> dict:
    t = time.perf_counter()
    run = Run.open(stack_runs(run_dirs, method=method, name=f"stack-{method}-{label}"))
    return row(f"stack {method} ({label})", run, time.perf_counter() - t)


def row(name: str, run: Run, seconds: float) -> dict:
    m = run.metrics
    return {
        "model": name,
        "cv_mae": m["cv_mae"],
        "baseline": m["baseline_mae"],
        "seconds": seconds,
        "folds": [f["mae"] for f in m["folds"]],
        "weights": m.get("weights"),
        "run": run.root,
    }


def bench_table(
    title: str, table, test, runs: Path, kinds, zoos: dict[str, list[str]], threads, scheme
) -> None:
    print(f"\n## {title}: {len(table)} windows, {table['cycle'].nunique()} cycles, "
          f"{len(table.columns) - 4} features")  # fmt: skip
    rows = {}
    for name in kinds:
        rows[name] = r = bench_kind(name, table, test, runs, threads, scheme)
        print(f"  {r['model']:<18} CV MAE {r['cv_mae']:.4f} in {r['seconds']:.1f} s", flush=True)
    stacks = []
    for label, members in zoos.items():
        members = [m for m in members if m in rows]
        if len(members) < 2:
            continue
        for method in METHODS:
            stacks.append(bench_stack(method, [rows[m]["run"] for m in members], label))
    print_table(list(rows.values()), stacks)


def run_zoo(
    tables, kinds, zoos, data: Path, features_dir: Path, runs: Path, threads=1, scheme="cycle"
) -> None:
    """The benchmark on ``tables`` (synthetic, real) with runs under ``runs``."""
    options = (kinds, zoos, threads, scheme)
    if "synthetic" in tables:
        train, test = synthetic_tables(data, features_dir)
        bench_table("synthetic (kernel features)", train, test, runs / "synthetic", *options)
    if "real" in tables:
        real = real_tables()
        if real is None:
            print(f"\nreal table: {REAL} is absent, skipped")
        else:
            bench_table("real (33 features)", *real, runs / "real", *options)


def print_table(singles: list[dict], stacks: list[dict]) -> None:
    best = min(singles, key=lambda r: r["cv_mae"])
    print(f"\n{'model':<34}{'CV MAE':>9}{'vs best':>9}{'baseline':>10}{'seconds':>9}   per-fold MAE")
    for r in [*sorted(singles, key=lambda r: r["cv_mae"]), *stacks]:
        vs = 100 * (r["cv_mae"] / best["cv_mae"] - 1)
        folds = " ".join(f"{m:.3f}" for m in r["folds"])
        print(
            f"{r['model']:<34}{r['cv_mae']:>9.4f}{vs:>+8.2f}%{r['baseline']:>10.4f}{r['seconds']:>9.1f}   {folds}"
        )
    for r in stacks:
        if r["weights"]:
            shown = ", ".join(f"{k}={v:.2f}" for k, v in r["weights"].items() if abs(v) >= 0.005)
            print(f"  {r['model']}: mean weights {shown}")
    print(f"(best single model: {best['model']}; 'vs best' is the CV MAE relative to it, on the same folds)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", nargs="+", default=["synthetic", "real"], choices=["synthetic", "real"])
    ap.add_argument("--kinds", nargs="+", default=[*FEATURE_KINDS, *VARIANTS],
                    choices=[*[k for k in MODEL_KINDS if k not in ("cnn", "lstm", "lgbm_dask")], *VARIANTS])  # fmt: skip
    ap.add_argument("--zoo", nargs="+", default=None, help="kinds of a second, smaller stack (default: none)")
    ap.add_argument("--data", type=Path, default=Path("data/synthetic"))
    ap.add_argument("--features-dir", type=Path, default=Path("features"))
    ap.add_argument("--runs", type=Path, default=None, help="runs folder (default: a temporary one)")
    ap.add_argument("--threads", type=int, default=1, help="threads of lgbm, catboost, xgboost and mlp")
    ap.add_argument(
        "--folds",
        dest="scheme",
        default="cycle",
        choices=["cycle", "loco"],
        help="cycle: 5 folds of whole cycles (default); loco: leave one cycle out",
    )
    args = ap.parse_args()
    os.environ.setdefault("LANL_PROGRESS", "0")
    zoos = {"all": list(args.kinds), **({"zoo": args.zoo} if args.zoo else {})}
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or Path(tmp)
        run_zoo(args.tables, args.kinds, zoos, args.data, args.features_dir, runs, args.threads, args.scheme)


if __name__ == "__main__":
    main()
