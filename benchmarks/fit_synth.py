"""Fit the generator's v2 constants to the real data: an Optuna search over the event and activity constants.

Usage (from the repository root; ~10 s a trial on a 2-core machine)::

    python3 benchmarks/fit_synth.py --trials 80

Each trial generates a small synthetic train.csv in memory (48M rows, 8 cycles, seed 0) with the trial's
constants, computes ``calibrate_synth``'s statistics of its windows, and scores the distance to the real data:
the adversarial AUC against the 4,194 real train windows (table statistics), that of the windows shifted to the
test level against the 48 real test segments (every raw statistic, spectral ones included), and the mean gap
between the synthetic and real Spearman r of each table statistic with time_to_failure. Prints the best constants as a
``dataclasses.replace`` call for ``lanl.data.synth``'s V2 preset; the choice is then checked with
``calibrate_synth.py`` at a larger size.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibrate_synth as cs  # noqa: E402

from lanl.data import synth  # noqa: E402

SEARCH = {  # name: (low, high, log scale)
    "quiet_rate": (3e-4, 3e-3, True),
    "quiet_min": (2.0, 8.0, True),
    "quiet_alpha": (1.6, 3.5, False),
    "quiet_max": (30.0, 200.0, True),
    "event_rate": (2e-4, 3e-3, True),
    "event_min": (3.0, 15.0, True),
    "event_alpha": (1.8, 3.5, False),
    "event_max": (40.0, 300.0, True),
    "low_mod_sd": (0.0, 0.8, False),
    "event_size_power": (0.0, 2.0, False),
    "rate_floor": (0.05, 0.4, False),
    "rate_power": (0.6, 2.0, False),
    "rate_mod_sd": (0.3, 1.0, False),
    "activity_sd": (0.1, 0.5, False),
    "drift_sd": (0.1, 0.3, False),
}


def windows(model, rows: int, cycles: int, spectral_every: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    x, t = cs.synth_signal(0, rows, cycles, model)
    n = len(x) // cs.WINDOW
    table, raw = [], []
    for i in range(n):
        w = x[i * cs.WINDOW : (i + 1) * cs.WINDOW]
        if np.any(np.diff(t[i * cs.WINDOW : (i + 1) * cs.WINDOW]) > 0):
            continue  # straddles a failure
        table.append(cs.window_stats(w, spectral=False) | {"ttf": t[(i + 1) * cs.WINDOW - 1]})
        if i % spectral_every == 0 and np.abs(w).max() <= 1000:
            raw.append(cs.window_stats(w))
    return pd.DataFrame(table), pd.DataFrame(raw)


def score(
    model, real_train: pd.DataFrame, real_test: pd.DataFrame, shift: float, size: tuple[int, int]
) -> float:
    """The adversarial AUC of the train windows on the table statistics, plus that of the windows (shifted to
    the test level) against the real test segments on all raw statistics, plus the mean gap between the
    synthetic and real Spearman r of each table statistic with time_to_failure."""
    table, raw = windows(model, *size, spectral_every=3)
    rho = np.mean(
        [
            abs(
                spearmanr(table[c], table["ttf"]).statistic
                - spearmanr(real_train[c], real_train["ttf"]).statistic
            )
            for c in cs.TABLE_STATS
        ]
    )
    raw = raw.assign(**{c: raw[c] + shift for c in ("mean", "q05", "q95")})
    train_auc = cs.adversarial_auc(real_train, table, cs.TABLE_STATS)
    test_auc = cs.adversarial_auc(real_test, raw, cs.RAW_STATS)
    return train_auc + test_auc + rho


def main(argv: list[str] | None = None) -> None:
    import optuna

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=80)
    p.add_argument("--rows", type=int, default=48_000_000)
    p.add_argument("--cycles", type=int, default=8)
    p.add_argument("--start", action="append", help="a point to try early: name=value,name=value,...")
    p.add_argument("--storage", default=None, help="an Optuna storage URL, to resume (default: in memory)")
    args = p.parse_args(argv)
    real_train = cs.real_train_table()
    real_train = real_train[~real_train["straddles"]]
    real_test = cs.real_test_raw()
    real_test = real_test[real_test["max abs"] <= 1000]
    base = synth.V2
    shift = base.test_level_shift

    def objective(trial):
        params = {k: trial.suggest_float(k, lo, hi, log=log) for k, (lo, hi, log) in SEARCH.items()}
        return score(replace(base, **params), real_train, real_test, shift, (args.rows, args.cycles))

    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=0),
        storage=args.storage,
        study_name="synth-v2",
        load_if_exists=True,
    )
    study.enqueue_trial({k: getattr(base, k) for k in SEARCH})
    for start in args.start or []:
        study.enqueue_trial({k: float(v) for k, v in (kv.split("=") for kv in start.split(","))})
    study.optimize(objective, n_trials=args.trials)
    print(f"best score {study.best_value:.3f} (the V2 preset's own: {study.trials[0].value:.3f})")
    print("replace(V2, " + ", ".join(f"{k}={v:.4g}" for k, v in study.best_params.items()) + ")")


if __name__ == "__main__":
    main()
