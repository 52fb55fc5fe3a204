"""How low a CV MAE the synthetic data allows: a model that reads the generator's hidden state.

    python3 benchmarks/oracle_synth.py --data DIR --run RUN [--run RUN2 ...]

DIR is a folder ``lanl synth`` wrote (its ``synth_info.json`` says seed, sizes and model); each RUN is a
``lanl train`` / ``lanl run`` run folder on DIR (``runs/<name>``). The runs' own windows and folds (their
``oof.parquet``) are scored three ways:

1. each run's CV MAE, as it reported it;
2. an oracle LightGBM given each window's hidden state (:func:`lanl.data.synth.window_state`: the window's mean
   event rate, the quiet background's modulation, the cycle's gain, activity and level) -- more than any model
   can see, since the signal shows these only through Poisson events of random sizes, so its CV MAE is about
   the lowest the data allows on these folds (it is not a strict bound: a model could in principle also read
   what this LightGBM fits imperfectly);
3. the same oracle given the window's mean event rate alone.

The gap between a run and the oracle is what a better model could still win on this data; a target below
the oracle (issue 19's ">= 5% better than the kernel baseline") cannot be met by any model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lanl.data import synth  # noqa: E402

PARAMS = {
    "objective": "mae",
    "learning_rate": 0.02,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "seed": 0,
    "verbose": -1,
    "num_threads": 0,
    "deterministic": True,
}
ROUNDS = 600
HIDDEN = ["activity", "background", "cycle_gain", "cycle_activity", "level"]


def oracle_mae(state: pd.DataFrame, oof: pd.DataFrame, columns: list[str]) -> float:
    """CV MAE of a LightGBM on ``columns`` of the hidden state, under the run's own folds."""
    X = state[columns].to_numpy(copy=True)
    X[:, 0] = np.log(X[:, 0])  # the activity spans decades
    y, folds = oof["label"].to_numpy(), oof["fold"].to_numpy()
    pred = np.zeros(len(y))
    for k in np.unique(folds):
        fit, held = folds != k, folds == k
        model = lgb.train(PARAMS, lgb.Dataset(X[fit], y[fit]), num_boost_round=ROUNDS)
        pred[held] = model.predict(X[held])
    return float(np.abs(pred - y).mean())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder lanl synth wrote")
    parser.add_argument("--run", type=Path, action="append", required=True, help="a run folder on DATA")
    args = parser.parse_args(argv)

    info = synth.SynthInfo.load(args.data)
    print(
        f"{args.data}: synthetic {info.model}, seed {info.seed}, {info.rows:,} rows, {info.cycles} cycles "
        f"(the oracle reads the generator's hidden state of each run's windows, scored on the run's folds)"
    )
    seen: dict[tuple, tuple[float, float]] = {}
    for run in args.run:
        oof = pd.read_parquet(run / "oof.parquet")
        metrics = json.loads((run / "metrics.json").read_text())
        state = pd.DataFrame(synth.window_state(info, oof["start"].to_numpy()))
        if not np.allclose(state["ttf"], oof["label"], atol=1e-6):
            sys.exit(f"{run}: its labels are not {args.data}'s time_to_failure: another dataset?")
        key = (tuple(oof["start"]), tuple(oof["fold"]))
        if key not in seen:
            seen[key] = (oracle_mae(state, oof, HIDDEN), oracle_mae(state, oof, ["activity"]))
        full, rate_only = seen[key]
        median = float(np.abs(oof["baseline"] - oof["label"]).mean())
        mae = float(np.abs(oof["pred"] - oof["label"]).mean())
        print(f"\n{run.name} ({len(oof):,} windows, {oof['fold'].nunique()} folds):")
        print(f"  constant median                 {median:.3f}")
        print(f"  the run                         {mae:.3f}  (metrics.json: {metrics['cv_mae']:.3f})")
        print(f"  oracle, the mean event rate     {rate_only:.3f}")
        print(f"  oracle, the whole hidden state  {full:.3f}")
        print(
            f"  the run is {100 * (mae / full - 1):.1f}% above the oracle; the oracle is "
            f"{100 * (1 - full / median):.1f}% below the median"
        )


if __name__ == "__main__":
    main()
