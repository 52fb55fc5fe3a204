"""Train/test shift tools for feature tables: which features differ between train and test, how well a
classifier tells the two apart, and which train cycles look most like the test set.

* :func:`ks_table` / :func:`ks_filter`: two-sample Kolmogorov-Smirnov statistic of every feature
  (scipy.stats.ks_2samp); keep the features whose statistic is at most ``max_statistic``.
* :func:`adversarial_validation`: out-of-fold AUC of a classifier separating train rows from test rows
  (0.5: indistinguishable), its feature importances, and each train row's out-of-fold probability of being
  a test row (its "test-likeness", usable as a sample weight or to pick validation rows).
* :func:`match_cycles`: the subset of train quake cycles whose rows, pooled, best match the test
  distribution (mean KS statistic over the features), chosen greedily.

All three read only feature values, never labels; they still use the test rows, so decide with them once,
up front, and record the decision with the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from lanl.errors import LanlError
from lanl.features.extract import KEY_COLUMNS


def _columns(train: pd.DataFrame, test: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    columns = list(columns) if columns is not None else [c for c in train.columns if c not in KEY_COLUMNS]
    missing = [c for c in columns if c not in train.columns or c not in test.columns]
    if missing:
        raise LanlError(f"feature(s) missing from the train or test table: {', '.join(missing[:5])}")
    if not columns:
        raise LanlError("no feature columns to compare")
    return columns


def ks_table(train: pd.DataFrame, test: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """KS statistic and p-value of each feature between train and test rows, largest shift first."""
    rows = []
    for col in _columns(train, test, columns):
        result = scipy.stats.ks_2samp(train[col].to_numpy(), test[col].to_numpy())
        rows.append((col, float(result.statistic), float(result.pvalue)))
    table = pd.DataFrame(rows, columns=["feature", "statistic", "pvalue"])
    return table.sort_values("statistic", ascending=False, kind="stable").reset_index(drop=True)


def ks_filter(
    train: pd.DataFrame, test: pd.DataFrame, columns: Sequence[str] | None = None, max_statistic: float = 0.1
) -> list[str]:
    """The features (in their table order) whose train/test KS statistic is at most ``max_statistic``."""
    table = ks_table(train, test, columns).set_index("feature")
    return [c for c in _columns(train, test, columns) if table.loc[c, "statistic"] <= max_statistic]


@dataclass
class AdversarialResult:
    auc: float
    fold_aucs: list[float]
    importance: pd.Series
    test_likeness: pd.Series


def adversarial_validation(
    train: pd.DataFrame,
    test: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    n_splits: int = 5,
    seed: int = 0,
    n_estimators: int = 200,
) -> AdversarialResult:
    """Out-of-fold AUC of extremely randomised trees telling train rows (0) from test rows (1)."""
    columns = _columns(train, test, columns)
    X = np.vstack([train[columns].to_numpy(np.float64), test[columns].to_numpy(np.float64)])
    y = np.r_[np.zeros(len(train)), np.ones(len(test))]
    if min(len(train), len(test)) < n_splits:
        raise LanlError(f"adversarial validation needs at least {n_splits} train and test rows")
    oof = np.zeros(len(y))
    aucs, importances = [], []
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    for fit_idx, val_idx in folds.split(X, y):
        model = ExtraTreesClassifier(n_estimators, min_samples_leaf=3, random_state=seed, n_jobs=1)
        model.fit(X[fit_idx], y[fit_idx])
        oof[val_idx] = model.predict_proba(X[val_idx])[:, 1]
        aucs.append(float(roc_auc_score(y[val_idx], oof[val_idx])))
        importances.append(model.feature_importances_)
    importance = pd.Series(np.mean(importances, axis=0), index=columns).sort_values(ascending=False)
    likeness = pd.Series(oof[: len(train)], index=train.index, name="test_likeness")
    return AdversarialResult(float(roc_auc_score(y, oof)), aucs, importance, likeness)


@dataclass
class CycleMatch:
    cycles: list[int]
    score: float
    path: list[tuple[int, float]]


def match_cycles(
    train: pd.DataFrame,
    test: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    by: str = "cycle",
    min_cycles: int = 1,
) -> CycleMatch:
    """Greedy forward choice of train cycles: each step adds the cycle that most lowers the mean KS
    statistic (over ``columns``) between the chosen cycles' rows and the test rows; the best subset along
    the way (of at least ``min_cycles``) wins. ``path`` lists (cycle added, score after adding it)."""
    columns = _columns(train, test, columns)
    groups = {int(k): g[columns].to_numpy(np.float64) for k, g in train.groupby(by)}
    if len(groups) < min_cycles:
        raise LanlError(f"the train table has {len(groups)} cycles, fewer than min_cycles={min_cycles}")
    target = test[columns].to_numpy(np.float64)
    chosen: list[int] = []
    path: list[tuple[int, float]] = []
    while len(chosen) < len(groups):
        scores = {
            k: _mean_ks(np.vstack([groups[c] for c in chosen + [k]]), target)
            for k in groups
            if k not in chosen
        }
        best = min(scores, key=lambda k: (scores[k], k))
        chosen.append(best)
        path.append((best, scores[best]))
    n_best = min(range(min_cycles, len(path) + 1), key=lambda n: (path[n - 1][1], n))
    return CycleMatch(sorted(chosen[:n_best]), path[n_best - 1][1], path)


def _mean_ks(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([scipy.stats.ks_2samp(a[:, j], b[:, j]).statistic for j in range(a.shape[1])]))
