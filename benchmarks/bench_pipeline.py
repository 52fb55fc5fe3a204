"""The default pipeline against the public kernel's way, on the same synthetic data, in one run.

    python3 benchmarks/bench_pipeline.py                                 # 40M rows, 17 cycles, 256 test segments
    python3 benchmarks/bench_pipeline.py --rows 157286370 --test-segments 656   # a quarter of the real size
    python3 benchmarks/bench_pipeline.py --rows 629145480 --test-segments 2624  # full size (~10 GB CSV on disk)
    python3 benchmarks/bench_pipeline.py --data DIR                       # an existing Kaggle-layout folder

1. lanl: what ``lanl run --data DIR`` runs (the default pipeline config: the LightGBM and LSTM runs with the
   shift stage, their stack, the report and the submission; ``--jobs`` feature processes), timed per stage
   by the pipeline itself, in a fresh work folder (no feature store, no runs: a cold start after ingest).
2. baseline: what a user of the popular public kernel writes, written plainly: pandas reads train.csv in
   chunks of 150,000 rows (each chunk one segment, as the kernel did: some straddle a quake), 32 classic
   statistics per segment, LightGBM (MAE) under GroupKFold by quake cycle (cycles from the label resets), early
   stopping on the held-out fold as the kernels did, the test CSVs read one by one and predicted by the mean of
   the fold models.

Prints each side's seconds per stage, the wall-time ratio (lanl / baseline), each side's CV MAE next to the
constant-median baseline of its own segments and every lanl run's CV MAE. Fold assignment alone moves a CV MAE
by a few per cent, so both sides are also scored on lanl's folds (the baseline's segments in the fold of their
quake cycle), and on synthetic data next to an oracle that reads the generator's hidden state
(``benchmarks/oracle_synth.py``): an estimate of the lowest CV MAE the data allows on those folds (not a bound:
a model may beat it), so of how much any model can gain over the baseline. Generating the data is not timed. Both sides run in this process, one after the other,
on the same files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.oracle_synth import oracle, seen_state  # noqa: E402
from lanl.cv.runs import Run  # noqa: E402
from lanl.data import synth  # noqa: E402
from lanl.pipeline import load_pipeline_config, run_pipeline  # noqa: E402
from lanl.workspace import Workspace  # noqa: E402

SEGMENT = 150_000
LGB_PARAMS = {
    "objective": "mae",
    "learning_rate": 0.01,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "seed": 0,
    "verbose": -1,
    "num_threads": 0,
}


# ---------------------------------------------------------------------------------------- the baseline
def kernel_features(x: np.ndarray) -> dict[str, float]:
    """The public kernel's kind of statistics of one segment (32 of them)."""
    x = x.astype(np.float64)
    a = np.abs(x)
    s = pd.Series(x)
    out = {
        "mean": x.mean(),
        "std": x.std(),
        "max": x.max(),
        "min": x.min(),
        "kurt": stats.kurtosis(x),
        "skew": stats.skew(x),
        "abs_mean": a.mean(),
        "abs_max": a.max(),
        "abs_std": a.std(),
        "mean_change_abs": np.mean(np.diff(x)),
        "count_big": float((a > 500).sum()),
        "std_first_50k": x[:50_000].std(),
        "std_last_50k": x[-50_000:].std(),
        "std_last_10k": x[-10_000:].std(),
        "mad": np.mean(np.abs(x - x.mean())),
        "trend": np.polyfit(np.arange(len(x)), a, 1)[0],
    }
    for q in (0.01, 0.05, 0.95, 0.99):
        out[f"q{q}"] = np.quantile(x, q)
        out[f"abs_q{q}"] = np.quantile(a, q)
    for w in (10, 100, 1000):
        roll = s.rolling(w).std().dropna().to_numpy()
        out[f"roll{w}_std_q05"] = np.quantile(roll, 0.05)
        out[f"roll{w}_std_mean"] = roll.mean()
    return out


def baseline(data: Path, out: Path) -> dict:
    """The kernel's way, start to end; seconds per stage and the CV MAE."""
    seconds, t = {}, time.perf_counter()
    rows, labels, cycles = [], [], []
    quakes, previous = (
        0,
        None,
    )  # a quake is where time_to_failure jumps up; a segment's cycle: quakes before its end
    for chunk in pd.read_csv(
        data / "train.csv",
        chunksize=SEGMENT,
        dtype={"acoustic_data": np.int16, "time_to_failure": np.float64},
    ):
        if len(chunk) < SEGMENT:
            break
        ttf = chunk["time_to_failure"].to_numpy()
        quakes += int((np.diff(ttf if previous is None else np.r_[previous, ttf]) > 0).sum())
        previous = ttf[-1]
        rows.append(kernel_features(chunk["acoustic_data"].to_numpy()))
        labels.append(ttf[-1])
        cycles.append(quakes)
    X, y, cycles = pd.DataFrame(rows), np.array(labels), np.array(cycles)
    seconds["read + features (train)"] = time.perf_counter() - t

    t = time.perf_counter()
    folds = np.zeros(len(y), dtype=int)
    for k, (_, va) in enumerate(GroupKFold(n_splits=5).split(X, y, cycles)):
        folds[va] = k
    oof, models = kernel_cv(X, y, folds)
    seconds["lightgbm CV"] = time.perf_counter() - t

    t = time.perf_counter()
    ids = pd.read_csv(data / "sample_submission.csv")["seg_id"]
    test = pd.DataFrame(
        [kernel_features(pd.read_csv(data / "test" / f"{s}.csv")["acoustic_data"].to_numpy()) for s in ids]
    )
    pred = np.mean([m.predict(test, num_iteration=m.best_iteration) for m in models], axis=0)
    pd.DataFrame({"seg_id": ids, "time_to_failure": pred}).to_csv(out / "baseline_submission.csv")
    seconds["test + submission"] = time.perf_counter() - t
    return {
        "seconds": seconds,
        "cv_mae": float(np.abs(oof - y).mean()),
        "median_mae": float(np.abs(y - np.median(y)).mean()),
        "segments": len(y),
        "cycles": len(set(cycles.tolist())),
        "table": (X, y, cycles),
    }


def kernel_cv(
    X: pd.DataFrame, y: np.ndarray, folds: np.ndarray, cycles: np.ndarray | None = None
) -> tuple[np.ndarray, list]:
    """The kernel's LightGBM CV on the given fold of each segment: OOF predictions and the fold models. Early
    stopping on the held-out fold, as the kernels did (optimistic: the fold chooses its own number of trees),
    or, given the segments' ``cycles``, honestly as lanl does by default (``refit = false``): on a fifth of the
    training cycles (seeded), held out of the fit, and the early-stopped model predicts."""
    oof, models = np.zeros(len(y)), []
    for k in np.unique(folds):
        tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fit, stop = tr, va
        if cycles is not None:
            own = np.unique(cycles[tr])
            held = np.random.default_rng(int(k)).choice(own, max(1, len(own) // 5), replace=False)
            fit, stop = tr[~np.isin(cycles[tr], held)], tr[np.isin(cycles[tr], held)]
        model = lgb.train(
            LGB_PARAMS,
            lgb.Dataset(X.iloc[fit], y[fit]),
            num_boost_round=5000,
            valid_sets=[lgb.Dataset(X.iloc[stop], y[stop])],
            callbacks=[lgb.early_stopping(200, verbose=False)],
        )
        oof[va] = model.predict(X.iloc[va], num_iteration=model.best_iteration)
        models.append(model)
    return oof, models


# ---------------------------------------------------------------------------------------------- lanl run
def lanl_run(data: Path, work: Path, jobs: int) -> dict:
    t = time.perf_counter()
    ws = Workspace.open(data, work / "cache", root=work, jobs=jobs)
    ingest_s = time.perf_counter() - t
    res = run_pipeline(ws, load_pipeline_config(None), log=lambda line: print(f"  {line}", flush=True))
    best = Run.open(res.best)
    seconds = {**res.seconds, "ingest": ingest_s}
    return {
        "seconds": seconds,
        "cv_mae": best.metrics["cv_mae"],
        "median_mae": best.metrics["baseline_mae"],
        "best": res.best.name,
        "runs": {p.name: Run.open(p).metrics["cv_mae"] for p in res.runs},
        "oof": best.oof,
    }


def same_folds(ours: dict, theirs: dict) -> dict[str, float]:
    """Both sides and, on synthetic data, the oracle, scored on lanl's folds: the baseline's segments go to the
    fold of their quake cycle in lanl's fold artifact (fold assignment alone moves a CV MAE by a few per cent)."""
    oof = ours["oof"]
    fold_of = oof.groupby("cycle")["fold"].first()
    X, y, cycles = theirs["table"]
    folds = fold_of.reindex(cycles).to_numpy()
    scored = ~np.isnan(folds)  # a cycle with no lanl window (tiny datasets only) has no fold: left out
    X, y, cycles, folds = (
        X[scored].reset_index(drop=True),
        y[scored],
        cycles[scored],
        folds[scored].astype(int),
    )
    out = {
        "lanl": float(np.abs(oof["pred"] - oof["label"]).mean()),
        "baseline": float(np.abs(kernel_cv(X, y, folds)[0] - y).mean()),
        "honest baseline": float(np.abs(kernel_cv(X, y, folds, cycles)[0] - y).mean()),
    }
    if (ours["data"] / "synth_info.json").is_file():
        state = seen_state(synth.SynthInfo.load(ours["data"]), oof["start"].to_numpy())
        out["oracle"] = oracle(state, oof)["oracle"]
    return out


def print_side(name: str, side: dict) -> float:
    total = sum(side["seconds"].values())
    print(f"\n{name}: {total:.1f} s, CV MAE {side['cv_mae']:.3f} (median baseline {side['median_mae']:.3f})")
    for stage, s in side["seconds"].items():
        print(f"  {stage:<28} {s:8.1f} s")
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="a Kaggle-layout folder (default: generated)")
    ap.add_argument("--rows", type=int, default=40_000_000)
    ap.add_argument("--cycles", type=int, default=17)
    ap.add_argument("--test-segments", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=0, help="lanl's feature processes (default: one per core)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "data"
            t = time.perf_counter()
            synth.generate(
                data, seed=args.seed, rows=args.rows, cycles=args.cycles, test_segments=args.test_segments
            )
            print(f"generated {args.rows:,} rows, {args.cycles} cycles in {time.perf_counter() - t:.0f} s")
        print("lanl run (default pipeline config):", flush=True)
        ours = {**lanl_run(data, Path(tmp) / "work", args.jobs), "data": data}
        print("baseline (pandas chunks, 32 statistics, LightGBM, GroupKFold):", flush=True)
        theirs = baseline(data, Path(tmp))
        same = same_folds(ours, theirs)
    ours_s = print_side(f"lanl run (best run {ours['best']})", ours)
    for name, mae in ours["runs"].items():
        print(f"  CV MAE {name:<26} {mae:8.3f}")
    theirs_s = print_side(f"baseline ({theirs['segments']} segments, {theirs['cycles']} cycles)", theirs)
    gain = 100 * (theirs["cv_mae"] - ours["cv_mae"]) / theirs["cv_mae"]
    print("\non lanl's folds (each side's segments in the fold of their quake cycle):")
    print(
        f"  lanl {same['lanl']:.3f}; baseline {same['baseline']:.3f} (early stopping on the scored fold, as the "
        f"kernels did), {same['honest baseline']:.3f} (early stopping on held-out training cycles, as lanl does)"
    )
    if "oracle" in same:
        print(
            f"  oracle {same['oracle']:.3f} (benchmarks/oracle_synth.py: an estimate of the lowest the data allows)"
        )
    same_gain = 100 * (same["baseline"] - same["lanl"]) / same["baseline"]
    honest_gain = 100 * (same["honest baseline"] - same["lanl"]) / same["honest baseline"]
    print(
        f"\nwall time lanl / baseline: {ours_s / theirs_s:.2f}x; CV MAE {gain:+.1f}% better than the baseline's "
        f"on each side's folds, {same_gain:+.1f}% on the same folds, {honest_gain:+.1f}% than the honest baseline"
    )
    if "oracle" in same:
        room = [100 * (same[k] - same["oracle"]) / same[k] for k in ("baseline", "honest baseline")]
        print(
            f"  (the oracle is {room[0]:.1f}% below the baseline and {room[1]:.1f}% below the honest one on these "
            f"folds: about as much as this data lets any model gain; not a strict bound)"
        )


if __name__ == "__main__":
    main()
