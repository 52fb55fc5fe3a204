"""The train -> test shift as a stage between feature tables and models.

The real test segments come from another lab run than train, and their time_to_failure runs higher. The
remedies the winners used, each optional and composable (``[shift]`` of a run or pipeline config)::

    [shift]
    remedies = ["auto"]      # any of ks_filter, cycle_subset, cycle_length, weights, fraction, mean; ["auto"];
                             #   [] for none
    ks_statistic = 0.2       # ks_filter keeps features whose train-vs-test KS statistic D is at most this
    ks_pvalue = 0.0          #   ... and whose KS p-value is at least this (1st place's test; with thousands of
                             #   rows almost every real feature fails p >= 0.05, so 0 leaves D alone to decide)
    subset_fraction = 0.6    # cycle_subset: draws of this share of the training cycles (1st place: 10 of 17)
    subset_draws = 5000      #   every such subset when there are at most this many (17 cycles: 2,431 of 10),
                             #   else this many seeded draws; the one closest to test (mean KS D) wins
    weight_clip = 10.0       # weights: p(test|x)/p(train|x) clipped to [1/clip, clip], normalised to mean 1
    test_cycle_seconds = 0.0 # fraction, cycle_length: the test cycle length (0: estimated as the median duration
                             #   of the training cycles closest to test, stated in the run)
    cycle_tolerance = 2.5    # cycle_length: train on the cycles whose length is within this many seconds of the
                             #   test cycle length (at least the 3 nearest)
    test_mean = 0.0          # mean: re-centre the test predictions to this mean (0: off; 5th place: 6.32)
    min_gain = 0.1           # auto: take the cycle subset when it cuts the mean KS D by at least this share,
    shift_pvalue = 0.01      #   and when some kept feature's KS p-value is below this over the feature count
                             #   (Bonferroni: test differs from all of train beyond sampling noise)

Everything is fitted on the fold's training rows and the (unlabelled) test rows only, never on the held-out
fold: :func:`plan` is called once per fold by the CV loop. ``auto`` runs the diagnostics and applies what they
call for: the KS filter when some features shift (D above ``ks_statistic``, and beyond sampling noise: a KS
p-value below ``shift_pvalue`` over the feature count, so a small test set does not drop features by chance), the
cycle subset when the training
rows differ from test beyond sampling noise (a KS p-value, Bonferroni over the features) and the subset brings
them measurably closer (it does not wait for a high adversarial AUC: on real data the AUC
after the filter is near 0.5 while the closest cycles still move the test mean), importance weights when the
adversarial AUC after the filter is at least ``AUTO_WEIGHTS_AUC`` and no cycle subset was taken (measured on the
real table, weights on top of the subset made the CV on the closest cycles worse: benchmarks/bench_shift.py).
What was chosen and why is in ``notes``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import distributions
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from lanl.errors import LanlError
from lanl.features.runners import usable_cores
from lanl.models.base import from_table
from lanl.models.target import cycle_durations

REMEDIES = ("ks_filter", "cycle_subset", "cycle_length", "weights", "fraction", "mean")
FLOATS = ("ks_statistic", "ks_pvalue", "subset_fraction", "weight_clip", "test_cycle_seconds", "test_mean",
          "min_gain", "shift_pvalue", "cycle_tolerance")  # fmt: skip
MIN_LENGTH_CYCLES = 3  # cycle_length keeps at least this many training cycles (the nearest in length)
AUTO_WEIGHTS_AUC = 0.6
MIN_FEATURES = 1  # the KS filter never leaves fewer (the least shifted are kept)
KS_GRID = 1024  # the cycle search's ECDF grid per feature: exact up to this many distinct values


@dataclass
class ShiftConfig:
    remedies: list = field(default_factory=list)
    ks_statistic: float = 0.2
    ks_pvalue: float = 0.0
    subset_fraction: float = 0.6
    subset_draws: int = 5000
    weight_clip: float = 10.0
    test_cycle_seconds: float = 0.0
    test_mean: float = 0.0
    min_gain: float = 0.1
    shift_pvalue: float = 0.01
    cycle_tolerance: float = 2.5

    def __post_init__(self):
        if isinstance(self.remedies, str):
            self.remedies = [self.remedies]
        if not isinstance(self.remedies, list | tuple) or not all(isinstance(r, str) for r in self.remedies):
            raise LanlError(f"[shift] remedies must be a list of names, got {self.remedies!r}")
        bad = [r for r in self.remedies if r not in (*REMEDIES, "auto", "none")]
        if bad:
            raise LanlError(
                f"[shift] remedies: unknown {', '.join(map(repr, bad))}; choose from auto, none, "
                f"{', '.join(REMEDIES)}"
            )
        for alone in ("auto", "none"):
            if alone in self.remedies and len(set(self.remedies)) > 1:
                raise LanlError(f"[shift] remedies: {alone!r} goes alone, got {self.remedies}")
        # one spelling per set of remedies (the run's name hashes them): each once, in REMEDIES order
        given = set(self.remedies)
        self.remedies = [r for r in ("auto", "none", *REMEDIES) if r in given]
        if self.remedies == ["none"]:
            self.remedies = []
        if {"cycle_subset", "cycle_length"} <= set(self.remedies):
            raise LanlError(
                "[shift] remedies: cycle_subset and cycle_length both choose the training cycles; use one"
            )
        if "mean" in self.remedies and not self.test_mean:
            raise LanlError("[shift] remedy 'mean' needs test_mean (the test mean of time_to_failure) set")
        finite = all(np.isfinite(float(getattr(self, f))) for f in FLOATS)
        if not finite:
            bad_field = next(f for f in FLOATS if not np.isfinite(float(getattr(self, f))))
            raise LanlError(f"[shift] {bad_field} must be a finite number, got {getattr(self, bad_field)!r}")
        checks = [
            ("ks_statistic", 0 < self.ks_statistic <= 1, "in (0, 1]"),
            ("ks_pvalue", 0 <= self.ks_pvalue < 1, "in [0, 1)"),
            ("subset_fraction", 0 < self.subset_fraction <= 1, "in (0, 1]"),
            ("subset_draws", self.subset_draws >= 1, "at least 1"),
            ("weight_clip", self.weight_clip >= 1, "at least 1"),
            ("test_cycle_seconds", self.test_cycle_seconds >= 0, "at least 0"),
            ("test_mean", self.test_mean >= 0, "at least 0"),
            ("min_gain", 0 <= self.min_gain < 1, "in [0, 1)"),
            ("shift_pvalue", 0 < self.shift_pvalue < 1, "in (0, 1)"),
            ("cycle_tolerance", self.cycle_tolerance > 0, "above 0"),
        ]
        for name, ok, valid in checks:
            if not ok:
                raise LanlError(f"[shift] {name} must be {valid}, got {getattr(self, name)!r}")

    @property
    def active(self) -> bool:
        return bool(self.remedies)

    @property
    def auto(self) -> bool:
        return self.remedies == ["auto"]


def shift_config(data: dict[str, Any] | ShiftConfig | None, where: str = "[shift]") -> ShiftConfig:
    if isinstance(data, ShiftConfig):
        return data
    if data is None:
        return ShiftConfig()
    return from_table(ShiftConfig, data, where)


def parse_remedies(text: str) -> list[str]:
    """``--shift auto`` / ``--shift ks_filter,cycle_subset`` / ``--shift none``."""
    return [part.strip() for part in text.split(",") if part.strip()]


# ---------------------------------------------------------------------------------------------- plan
@dataclass
class ShiftPlan:
    """What one fold trains on: the features kept, the training rows kept (positions into the fold's
    training rows), their sample weights, the test cycle length and test mean to convert predictions with."""

    remedies: list[str]
    features: list[str]
    rows: np.ndarray
    weights: np.ndarray | None = None
    cycles: list[int] | None = None
    test_seconds: float | None = None
    test_mean: float | None = None
    notes: list[str] = field(default_factory=list)
    diagnostics: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        w = self.weights
        return {
            "remedies": self.remedies,
            "features": self.features,
            "n_rows": int(len(self.rows)),
            "cycles": self.cycles,
            "weights": None if w is None else {"min": float(w.min()), "max": float(w.max())},
            "test_seconds": self.test_seconds,
            "test_mean": self.test_mean,
            "notes": self.notes,
            **self.diagnostics,
        }


def plan(
    train: pd.DataFrame,
    cycles: np.ndarray,
    labels: np.ndarray,
    test: pd.DataFrame,
    config: ShiftConfig,
    *,
    seed: int = 0,
) -> ShiftPlan:
    """The shift plan of one set of training rows (feature frame ``train``, their ``cycles`` and ``labels``)
    against the unlabelled ``test`` features."""
    features = [str(c) for c in train.columns]
    wanted = set(config.remedies) if not config.auto else set()
    out = ShiftPlan(sorted(wanted) if not config.auto else [], features, np.arange(len(train)))
    ks = ks_statistics(train, test, features)
    out.diagnostics["ks"] = ks.head(10).to_dict("records")
    shifted = ks[(ks["statistic"] > config.ks_statistic) | (ks["pvalue"] < config.ks_pvalue)]
    if config.auto:  # auto drops a feature only when its shift is beyond sampling noise too (few test rows)
        shifted = shifted[shifted["pvalue"] < config.shift_pvalue / len(features)]
    if "ks_filter" in wanted or (config.auto and len(shifted)):
        out.features = _kept(features, ks, shifted)
        dropped = [c for c in features if c not in out.features]
        shown = ", ".join(dropped[:8]) + (f" and {len(dropped) - 8} more" if len(dropped) > 8 else "")
        noise = f", beyond noise (p < {config.shift_pvalue} / {len(features)})" if config.auto else ""
        out.notes.append(
            f"ks_filter: dropped {len(dropped)} of {len(features)} features "
            f"(KS D > {config.ks_statistic}{f' or p < {config.ks_pvalue}' if config.ks_pvalue else ''}{noise}: "
            f"{shown})"
        )
        _take(out, "ks_filter", config.auto)
    match = choose_cycles(train[out.features], cycles, test[out.features], config, seed=seed)
    out.diagnostics["cycle_match"] = match
    gain = 1 - match["score"] / match["all_score"] if match["all_score"] > 0 else 0.0
    kept_p = ks.set_index("feature").loc[out.features, "pvalue"]
    shifted_rows = bool(kept_p.min() < config.shift_pvalue / len(out.features))
    if "cycle_subset" in wanted or (config.auto and gain >= config.min_gain and shifted_rows):
        out.cycles = match["cycles"]
        out.rows = np.flatnonzero(np.isin(cycles, out.cycles))
        out.notes.append(
            f"cycle_subset: trains on cycles {out.cycles} ({len(out.rows)} of {len(train)} rows): mean KS D to "
            f"test {match['score']:.4f} against {match['all_score']:.4f} on all cycles ({gain:.0%} closer)"
        )
        _take(out, "cycle_subset", config.auto)
    elif config.auto and not shifted_rows:
        out.notes.append(
            f"cycle_subset: not taken (no kept feature differs from test beyond sampling noise: smallest KS "
            f"p-value {kept_p.min():.3g} >= {config.shift_pvalue} / {len(out.features)} features)"
        )
    elif config.auto:
        closer = f"only {gain:.0%} closer" if gain > 0 else "no closer"
        out.notes.append(f"cycle_subset: not taken (the closest cycles are {closer} to test than all cycles)")
    if {"cycle_length", "fraction"} & set(wanted):  # both need the test cycle length
        durations = _durations(labels, cycles)
        if config.test_cycle_seconds:
            test_seconds, how = config.test_cycle_seconds, "given"
        else:
            test_seconds = float(np.median([durations[c] for c in match["cycles"]]))
            how = f"the median duration of the closest cycles {match['cycles']}"
    if "cycle_length" in wanted:
        out.cycles = length_matched_cycles(durations, test_seconds, config.cycle_tolerance)
        out.rows = np.flatnonzero(np.isin(cycles, out.cycles))
        lengths = ", ".join(f"{durations[c]:.1f}" for c in out.cycles)
        out.notes.append(
            f"cycle_length: trains on cycles {out.cycles} ({len(out.rows)} of {len(train)} rows), lengths "
            f"{lengths} s, within {config.cycle_tolerance} s of the test cycle length {test_seconds:.2f} s ({how})"
        )
    auc = None
    if config.auto and "weights" not in wanted and out.cycles is not None:
        # the weights are never taken beside a cycle subset: no adversarial model to fit (diagnose scores the
        # rows it keeps for the report)
        out.notes.append("weights: not taken (the cycle subset is taken)")
    elif "weights" in wanted or config.auto:
        kept = train[out.features].iloc[out.rows]
        likeness, auc = test_likeness(kept, test[out.features], seed=seed)
        out.diagnostics["adversarial_auc"] = auc
        if "weights" in wanted or (auc >= AUTO_WEIGHTS_AUC and out.cycles is None):
            out.weights = importance_weights(likeness, len(kept), len(test), config.weight_clip)
            out.notes.append(
                f"weights: adversarial AUC {auc:.3f}; weights {out.weights.min():.2f}..{out.weights.max():.2f}"
            )
            _take(out, "weights", config.auto)
        else:
            out.notes.append(f"weights: not taken (adversarial AUC {auc:.3f} < {AUTO_WEIGHTS_AUC})")
    if "fraction" in wanted:
        out.test_seconds = test_seconds
        out.notes.append(f"fraction: test cycle length {out.test_seconds:.2f} s ({how})")
    if "mean" in wanted:
        out.test_mean = config.test_mean
        out.notes.append(f"mean: test predictions re-centred to {config.test_mean} s (a user prior)")
    return out


def diagnose(
    train: pd.DataFrame,
    cycles: np.ndarray,
    labels: np.ndarray,
    test: pd.DataFrame,
    config: ShiftConfig,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """The plan of all training rows (``config``'s remedies) with the adversarial AUC train vs test before
    any remedy, after the feature filter and after the cycle subset: what ``lanl shift`` prints and the
    report shows."""
    p = plan(train, cycles, labels, test, config, seed=seed)
    doc = p.to_json()
    doc["auc_before"] = test_likeness(train, test, seed=seed)[1]
    doc["auc_after_features"] = test_likeness(train[p.features], test[p.features], seed=seed)[1]
    if p.cycles is not None:
        kept = train[p.features].iloc[p.rows]
        doc["auc_after_cycles"] = test_likeness(kept, test[p.features], seed=seed)[1]
    return doc


def _take(out: ShiftPlan, remedy: str, auto: bool) -> None:
    if auto:
        out.remedies.append(remedy)


def _kept(features: list[str], ks: pd.DataFrame, shifted: pd.DataFrame) -> list[str]:
    drop = set(shifted["feature"])
    if len(features) - len(drop) < MIN_FEATURES:  # keep the least shifted few
        drop = set(ks["feature"].iloc[: max(len(features) - MIN_FEATURES, 0)])
    return [c for c in features if c not in drop]


# ------------------------------------------------------------------------------------------ measures
def ks_statistics(train: pd.DataFrame, test: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Two-sample KS statistic D and its asymptotic p-value per feature, largest shift first."""
    n, m = len(train), len(test)
    rows = []
    for col in features:
        d = ks_distance(np.sort(train[col].to_numpy(np.float64)), np.sort(test[col].to_numpy(np.float64)))
        en = np.sqrt(n * m / (n + m))
        rows.append((col, d, float(distributions.kstwobign.sf(en * d)) if d > 0 else 1.0))
    table = pd.DataFrame(rows, columns=["feature", "statistic", "pvalue"])
    return table.sort_values("statistic", ascending=False, kind="stable").reset_index(drop=True)


def ks_distance(a_sorted: np.ndarray, b_sorted: np.ndarray) -> float:
    """sup |F_a - F_b| of two sorted samples (the two-sample KS statistic)."""
    grid = np.concatenate([a_sorted, b_sorted])
    fa = np.searchsorted(a_sorted, grid, side="right") / len(a_sorted)
    fb = np.searchsorted(b_sorted, grid, side="right") / len(b_sorted)
    return float(np.abs(fa - fb).max())


def choose_cycles(
    train: pd.DataFrame, cycles: np.ndarray, test: pd.DataFrame, config: ShiftConfig, *, seed: int = 0
) -> dict[str, Any]:
    """The subset of training cycles whose pooled rows are closest to test (mean KS D over the features),
    among the subsets of ``subset_fraction`` of the cycles (1st place's search) and all the cycles: every
    subset when there are at most ``subset_draws`` of them (the exact best, whatever the seed), else the best
    of ``subset_draws`` seeded draws."""
    ids = np.unique(cycles)
    size = max(2, round(config.subset_fraction * len(ids))) if len(ids) > 2 else len(ids)
    score = _subset_scorer(train, cycles, ids, test)
    if math.comb(len(ids), size) <= config.subset_draws:
        subsets = [tuple(int(c) for c in s) for s in itertools.combinations(ids, size)]
    else:
        rng = np.random.default_rng(seed)
        drawn = {
            tuple(sorted(rng.choice(ids, size, replace=False).tolist())) for _ in range(config.subset_draws)
        }
        subsets = sorted(drawn)
    every = tuple(int(c) for c in ids)
    scores = score([*subsets, every])
    all_score = float(scores[-1])
    best = min(range(len(scores)), key=lambda i: (scores[i], i))  # all cycles compete; ties: the first
    best_score, best = float(scores[best]), [*subsets, every][best]
    return {
        "cycles": list(best),
        "score": best_score,
        "all_score": all_score,
        "draws": len(subsets),
        "exhaustive": len(subsets) == math.comb(len(ids), size),
        "of": int(len(ids)),
    }


def _subset_scorer(train: pd.DataFrame, cycles: np.ndarray, ids: np.ndarray, test: pd.DataFrame):
    """score(subsets) = for each subset, the mean over the features of the KS D between its pooled rows and
    test, from each cycle's ECDF counts on a grid per feature: every train and test value (exact) when they are
    at most ``KS_GRID``, else ``KS_GRID`` quantiles of them (D then within about 1/KS_GRID). Subsets are scored
    in batches by one product of their indicator matrix with the counts (sums of whole counts: exact)."""
    position = {int(c): i for i, c in enumerate(ids)}
    rows = np.array([position[int(c)] for c in cycles])
    sizes = np.bincount(rows, minlength=len(ids)).astype(np.float64)
    counts, test_cdf, starts = [], [], [0]
    for col in test.columns:
        x, t = train[col].to_numpy(np.float64), np.sort(test[col].to_numpy(np.float64))
        grid = np.unique(np.concatenate([x, t]))
        if len(grid) > KS_GRID:
            grid = np.unique(np.quantile(grid, np.linspace(0, 1, KS_GRID)))
        counts.append(
            np.stack([np.searchsorted(np.sort(x[rows == i]), grid, side="right") for i in range(len(ids))])
        )
        test_cdf.append(np.searchsorted(t, grid, side="right") / len(t))
        starts.append(starts[-1] + len(grid))
    counts_all = np.concatenate(counts, axis=1).astype(np.float64)  # (cycles, grid points of all features)
    cdf_all = np.concatenate(test_cdf)

    def score(subsets) -> np.ndarray:
        out = np.empty(len(subsets))
        for a in range(0, len(subsets), 32):
            pick = np.zeros((len(subsets[a : a + 32]), len(ids)))
            for r, subset in enumerate(subsets[a : a + 32]):
                pick[r, [position[int(c)] for c in subset]] = 1.0
            gap = np.abs((pick @ counts_all) / (pick @ sizes)[:, None] - cdf_all)
            out[a : a + 32] = np.maximum.reduceat(gap, starts[:-1], axis=1).mean(axis=1)
        return out

    return score


def test_likeness(
    train: pd.DataFrame, test: pd.DataFrame, *, seed: int = 0, n_splits: int = 3, n_estimators: int = 100
) -> tuple[np.ndarray, float]:
    """Each training row's out-of-fold probability of being a test row (extremely randomised trees telling
    train from test), and the out-of-fold AUC (0.5: indistinguishable)."""
    X = np.vstack([train.to_numpy(np.float64), test.to_numpy(np.float64)])
    y = np.r_[np.zeros(len(train)), np.ones(len(test))]
    if min(len(train), len(test)) < n_splits:
        raise LanlError(f"the shift weights need at least {n_splits} training and test rows")
    oof = np.zeros(len(y))
    for fit_idx, val_idx in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y):
        model = ExtraTreesClassifier(
            n_estimators, min_samples_leaf=5, max_features=0.5, random_state=seed, n_jobs=usable_cores()
        )
        # the trees grow on every core (each from its own seed: the same trees whatever the count); their
        # votes are summed in one thread, in tree order, so the probabilities are the same to the last bit
        model.fit(X[fit_idx], y[fit_idx]).set_params(n_jobs=1)
        oof[val_idx] = model.predict_proba(X[val_idx])[:, 1]
    return oof[: len(train)], float(roc_auc_score(y, oof))


def importance_weights(likeness: np.ndarray, n_train: int, n_test: int, clip: float) -> np.ndarray:
    """p(test|x)/p(train|x), corrected for the class sizes, clipped to [1/clip, clip], then scaled to mean 1
    (7th place): the ratio of the largest to the smallest weight is at most clip squared."""
    p = np.clip(likeness, 1e-6, 1 - 1e-6)
    w = np.clip(p / (1 - p) * (n_train / n_test), 1 / clip, clip)
    return w / w.mean()


def length_matched_cycles(durations: dict[int, float], seconds: float, tolerance: float) -> list[int]:
    """The cycles whose duration is within ``tolerance`` seconds of ``seconds``; at least the
    MIN_LENGTH_CYCLES nearest (all when there are fewer), in cycle order."""
    gap = {c: abs(d - seconds) for c, d in durations.items()}
    nearest = sorted(gap, key=lambda c: (gap[c], c))[:MIN_LENGTH_CYCLES]
    return sorted({c for c, g in gap.items() if g <= tolerance} | set(nearest))


def _durations(labels: np.ndarray, cycles: np.ndarray) -> dict[int, float]:
    return cycle_durations(np.asarray(labels, float), np.asarray(cycles))
