"""Fit the generator's constants to the real data: an Optuna search over its background, event and activity
constants.

Usage (from the repository root; ~40 s a trial on a 2-core machine at the default size)::

    python3 benchmarks/fit_synth.py --trials 60
    python3 benchmarks/fit_synth.py --trials 30 --storage sqlite:///fit.db --seed 1 &   # two workers, one study
    python3 benchmarks/fit_synth.py --trials 30 --storage sqlite:///fit.db --seed 2
    python3 benchmarks/fit_synth.py --show --storage sqlite:///fit.db   # the best trials so far

Each trial generates a small synthetic dataset in memory (60M rows, 17 cycles, 200 test segments, seed 0) from
``--base`` with the trial's constants, computes ``calibrate_synth``'s statistics of its windows and scores the
distance to the real data (lower is better), the sum of:

* the adversarial AUC against the 4,194 real train windows on the table statistics;
* that of the test segments against the 2,624 real test segments' table statistics, and against the 48 raw
  real test segments on every statistic, spectral ones included (each half weight);
* how far the label's readability is from the real one's, relative: ``|gain - real gain| / real gain`` with
  ``gain`` the LightGBM's improvement over the median (``calibrate_synth.label_gain``), the real gain measured
  on as many real windows as the trial has (every k-th real window, so both fits see as much data);
* the mean gap between the synthetic and real Spearman r of each table statistic with time_to_failure.

``--set NAME=VALUE`` fixes a constant (measured elsewhere, say) and leaves it out of the search. A study is
named after the objective's version, the base preset, the fixed constants and the sizes (trials of other sizes are not comparable); a
trial that fails (too few calm test segments for the AUC's folds) is recorded as failed and the search goes on.
Prints the best constants as a ``dataclasses.replace`` call; the choice is then checked with
``calibrate_synth.py`` at its larger size (the trial's AUCs are noisier: ~400 synthetic windows).
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
from lanl.errors import LanlError  # noqa: E402

OBJECTIVE = 3  # in the study's name: 2 since the envelope statistic, decay and asymmetry constants; 3: steady
SEARCH = {  # name: (low, high, log scale)
    "floor_sd": (1.5, 3.0, False),
    "noise_sd": (0.0, 2.5, False),
    "quiet_rate": (2e-6, 3e-3, True),  # v6: 7e-6
    "quiet_min": (2.0, 40.0, True),  # v6: 18
    "quiet_alpha": (1.6, 3.5, False),
    "quiet_max": (30.0, 300.0, True),
    "event_rate": (2e-4, 3e-3, True),
    "event_min": (3.0, 15.0, True),
    "event_alpha": (1.8, 3.5, False),
    "event_max": (40.0, 300.0, True),
    "event_decay": (80.0, 1000.0, True),
    "quiet_decay": (50.0, 1000.0, True),
    "asymmetry": (0.0, 0.04, False),
    "event_size_power": (0.0, 2.0, False),
    "steady_sd": (0.0, 2.0, False),
    "steady_power": (0.25, 2.0, False),
    "rate_floor": (0.02, 0.3, False),
    "rate_power": (0.8, 2.5, False),
    "rate_mod_sd": (0.2, 0.9, False),
    "activity_sd": (0.05, 0.4, False),
    "drift_sd": (0.1, 0.35, False),
    "low_mod_sd": (0.0, 0.8, False),
}


def windows(model, rows: int, cycles: int, segments: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every train window with the table statistics, ``ttf`` and ``straddles``; ``segments`` test segments
    with all statistics) of the in-memory synthetic dataset (``calibrate_synth``'s own tables)."""
    table, _ = cs.synth_train(0, rows, cycles, model)
    return table, cs.synth_test(0, rows, cycles, segments, model)


class Real:
    """The real sides a trial is scored against (read once)."""

    def __init__(self) -> None:
        train = cs.real_train_table()
        test_raw = cs.real_test_raw()
        self.test_table = cs.real_test_table()
        if train is None or test_raw is None or self.test_table is None:
            raise SystemExit("fit_synth needs ../shared/lanl_real_labelled and ../shared/lanl_real")
        self.train_all = train
        self.train = train[~train["straddles"]]
        self.test_raw = test_raw[test_raw["max abs"] <= 1000]
        self._gain: dict[int, float] = {}

    def gain(self, n_windows: int) -> float:
        """The real label's readability (1 - LightGBM MAE / median MAE) on every k-th real window, k chosen
        so about ``n_windows`` are left."""
        k = max(1, round(len(self.train_all) / n_windows))
        if k not in self._gain:
            mae, median = cs.label_gain(self.train_all.iloc[::k].reset_index(drop=True), cs.TABLE_STATS)
            self._gain[k] = 1 - mae / median
        return self._gain[k]


def score(model, real: Real, size: tuple[int, int, int]) -> tuple[float, dict[str, float]]:
    """(the distance to the real data, its parts): see the module docstring."""
    table, test = windows(model, *size)
    keep = table[~table["straddles"]]
    parts = {}
    parts["rho gap"] = float(
        np.mean(
            [
                abs(
                    spearmanr(keep[c], keep["ttf"]).statistic
                    - spearmanr(real.train[c], real.train["ttf"]).statistic
                )
                for c in cs.TABLE_STATS
            ]
        )
    )
    parts["train AUC"] = cs.adversarial_auc(real.train, keep, cs.TABLE_STATS)
    parts["test AUC"] = cs.adversarial_auc(real.test_table, test, cs.TEST_TABLE_STATS)
    calm = test[test["max abs"] <= 1000]
    parts["raw test AUC"] = cs.adversarial_auc(real.test_raw, calm, cs.RAW_STATS)
    mae, median = cs.label_gain(table, cs.TABLE_STATS)
    parts["gain"], parts["real gain"] = 1 - mae / median, real.gain(len(table))
    parts["gain gap"] = abs(parts["gain"] - parts["real gain"]) / parts["real gain"]
    total = (
        parts["train AUC"]
        + (parts["test AUC"] + parts["raw test AUC"]) / 2
        + parts["gain gap"]
        + parts["rho gap"]
    )
    return total, parts


def main(argv: list[str] | None = None) -> None:
    import optuna

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--rows", type=int, default=60_000_000)
    p.add_argument("--cycles", type=int, default=17)
    p.add_argument("--test-segments", type=int, default=200)
    p.add_argument("--base", default="default", help="the preset whose constants the search starts from")
    p.add_argument("--start", action="append", help="a point to try early: name=value,name=value,...")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix a constant (left out of the search)",
    )
    p.add_argument(
        "--storage", default=None, help="an Optuna storage URL, to share or resume (default: memory)"
    )
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (give each worker its own)")
    p.add_argument("--show", action="store_true", help="print the best trials of --storage and stop")
    args = p.parse_args(argv)
    if args.cycles < 5:
        p.error("--cycles must be at least 5 (the label's readability is scored on 5 folds by cycle)")
    try:
        preset, model = synth.resolve_model(args.base)
        base = cs.with_constants(model, args.set)
    except (ValueError, LanlError) as e:
        p.error(str(e))
    fixed = {item.partition("=")[0]: getattr(base, item.partition("=")[0]) for item in args.set}
    search = {k: v for k, v in SEARCH.items() if k not in fixed}
    starts = [dict(kv.split("=", 1) for kv in start.split(",")) for start in args.start or []]
    for start in starts:
        if set(start) - set(search):
            p.error(
                f"--start names constants that are not searched: {', '.join(sorted(set(start) - set(search)))}"
            )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        storage=args.storage,
        study_name="-".join(
            [f"synth{OBJECTIVE}", preset, *(f"{k}={v:g}" for k, v in sorted(fixed.items()))]
            + [str(args.rows), str(args.cycles), str(args.test_segments)]
        ),
        load_if_exists=True,
    )
    if args.show:
        done = sorted((t for t in study.trials if t.value is not None), key=lambda t: t.value)
        for t in done[:5]:
            parts = ", ".join(f"{k} {v:.3f}" for k, v in t.user_attrs.items())
            print(f"trial {t.number}: {t.value:.3f} ({parts})")
            print(
                f"  replace({preset}, "
                + ", ".join(f"{k}={v:.4g}" for k, v in {**fixed, **t.params}.items())
                + ")"
            )
        return
    real = Real()
    if real.gain(args.rows // cs.WINDOW) <= 0:
        p.error(
            f"at {args.rows:,} rows the real label is not readable on as many real windows: use more --rows"
        )

    def objective(trial):
        params = {k: trial.suggest_float(k, lo, hi, log=log) for k, (lo, hi, log) in search.items()}
        total, parts = score(replace(base, **params), real, (args.rows, args.cycles, args.test_segments))
        for k, v in parts.items():
            trial.set_user_attr(k, v)
        print(
            f"trial {trial.number}: {total:.3f} " + ", ".join(f"{k} {v:.3f}" for k, v in parts.items()),
            flush=True,
        )
        return total

    if not study.trials:
        study.enqueue_trial({k: getattr(base, k) for k in search})
    for start in starts:
        study.enqueue_trial({k: float(v) for k, v in start.items()})
    study.optimize(objective, n_trials=args.trials, catch=(ValueError,))
    if not any(t.value is not None for t in study.trials):
        raise SystemExit("fit_synth: no trial completed (see the failures above)")
    best = study.best_trial
    print(
        f"best score {best.value:.3f} (trial {best.number}): "
        + ", ".join(f"{k} {v:.3f}" for k, v in best.user_attrs.items())
    )
    print(
        f"replace({preset}, " + ", ".join(f"{k}={v:.4g}" for k, v in {**fixed, **best.params}.items()) + ")"
    )


if __name__ == "__main__":
    main()
