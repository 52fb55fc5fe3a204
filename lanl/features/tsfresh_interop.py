"""tsfresh interop: tsfresh's own feature sets on our segments, stored like ours, and tsfresh's relevance
test as a scikit-learn selector.

* :class:`TsfreshSet` (``minimal``, ``efficient``, ``comprehensive``) is computed block by block with
  ``tsfresh.extract_features`` through the same runners and stored in the same feature store as our sets
  (``lanl features DATA --tsfresh minimal``). Column names are tsfresh's with kind ``signal``, e.g.
  ``signal__quantile__q_0.1``. tsfresh may answer NaN on some segments (e.g. a constant one); the table
  keeps them and :func:`tsfresh_segment_features` reports how many there are.
  Cost: ``efficient`` takes seconds per 150,000-sample segment (hours for the train set); ``minimal`` is cheap.
* :class:`RelevanceSelector` keeps the columns that tsfresh's univariate tests (Benjamini-Hochberg at
  ``fdr_level``) find relevant to the target. It learns from the rows it is fitted on, so fit it inside
  each cross-validation fold, never on all of train.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from lanl.data.windows import WindowsRef
from lanl.errors import LanlError
from lanl.extras import require
from lanl.features.extract import KEY_COLUMNS, check_segments
from lanl.features.runners import Runner, SerialRunner
from lanl.features.store import FeatureStore, segment_request
from lanl.progress import progress

TSFRESH_BATCH = 4  # segments per task: tsfresh takes seconds per segment, so small tasks keep workers even

LEVELS = ("minimal", "efficient", "comprehensive")


@dataclass(frozen=True)
class TsfreshSet:
    """One of tsfresh's default parameter sets, usable wherever the store expects a feature set."""

    level: str

    def __post_init__(self):
        if self.level not in LEVELS:
            raise LanlError(f"tsfresh set must be one of {', '.join(LEVELS)}, got {self.level!r}")

    @property
    def name(self) -> str:
        return f"tsfresh-{self.level}"

    def settings(self) -> dict:
        fc = _tsfresh("tsfresh.feature_extraction")
        cls = {"minimal": fc.MinimalFCParameters, "efficient": fc.EfficientFCParameters}.get(
            self.level, fc.ComprehensiveFCParameters
        )
        return dict(cls())

    def to_dict(self) -> dict:
        tsfresh = _tsfresh("tsfresh")
        return {"name": self.name, "tsfresh_version": tsfresh.__version__, "settings": self.settings()}

    @property
    def hash(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def _tsfresh(module: str):
    """``module`` of tsfresh, or a MissingExtra naming the 'tsfresh' extra."""
    return require(module, "tsfresh", "a tsfresh feature set (--tsfresh) or RelevanceSelector")


def tsfresh_block(values: np.ndarray, keys, tset: TsfreshSet) -> pd.DataFrame:
    """tsfresh features of a block of equal-length segments, one row per key (in order)."""
    extract_features = _tsfresh("tsfresh").extract_features
    values = np.asarray(values)
    check_segments(values, list(keys))
    n, length = values.shape
    frame = pd.DataFrame(
        {"id": np.repeat(np.arange(n), length), "t": np.tile(np.arange(length), n), "signal": values.ravel()}
    )
    frame["signal"] = frame["signal"].astype(np.float64)
    table = extract_features(
        frame,
        column_id="id",
        column_sort="t",
        default_fc_parameters=tset.settings(),
        n_jobs=0,
        disable_progressbar=True,
    )
    table = table.sort_index()
    table.index = list(keys)
    return table


def tsfresh_of(tset: TsfreshSet, ref: WindowsRef) -> pd.DataFrame:
    """The task of :func:`extract_tsfresh_segments`: ``tset``'s features of the windows ``ref``, read where it
    runs (as :func:`lanl.features.extract.features_of` for our sets)."""
    return tsfresh_block(ref.read(), list(ref.seg_ids), tset)


def extract_tsfresh_segments(
    cache,
    table: pd.DataFrame,
    tset: TsfreshSet,
    *,
    runner: Runner | None = None,
    batch=TSFRESH_BATCH,
    length=None,
) -> pd.DataFrame:
    """The key columns of ``table`` followed by ``tset``'s tsfresh columns, block by block."""
    runner, table = runner or SerialRunner(), table.reset_index(drop=True)
    blocks = WindowsRef.blocks(cache, table, batch, length, runner.cache_location(cache))
    tasks = (ref for _, ref in blocks)
    parts = []
    with progress(total=len(table), desc=tset.name, unit="seg") as bar:
        for part in runner.map(partial(tsfresh_of, tset), tasks):
            parts.append(part)
            bar.update(len(part))
    features = pd.concat(parts).reset_index(drop=True)
    return pd.concat([table[KEY_COLUMNS], features], axis=1)


def tsfresh_segment_features(
    cache,
    level: str,
    *,
    part: str = "train",
    spec=None,
    store: FeatureStore | None = None,
    runner: Runner | None = None,
    batch: int = TSFRESH_BATCH,
) -> tuple[pd.DataFrame, Path, bool, int]:
    """Like store.segment_features for a tsfresh set: (table, folder, hit, number of non-finite values)."""
    tset = TsfreshSet(level)
    request, table, length = segment_request(cache, tset, part, spec)
    compute = partial(extract_tsfresh_segments, cache, table, tset, runner=runner, batch=batch, length=length)
    out, folder, hit = (store or FeatureStore()).get_or_compute(request, compute)
    values = out.drop(columns=KEY_COLUMNS).to_numpy(dtype=np.float64)
    return out, folder, hit, int((~np.isfinite(values)).sum())


class RelevanceSelector(TransformerMixin, BaseEstimator):
    """Keeps the columns tsfresh's relevance table marks relevant (``fdr_level``: Benjamini-Hochberg false
    discovery rate; ``ml_task``: "regression" or "classification"). Fit inside CV folds only."""

    def __init__(self, fdr_level: float = 0.05, ml_task: str = "regression"):
        self.fdr_level = fdr_level
        self.ml_task = ml_task

    def fit(self, X, y):
        calculate_relevance_table = _tsfresh("tsfresh.feature_selection.relevance").calculate_relevance_table
        frame = _frame(X)
        target = pd.Series(np.asarray(y), index=frame.index)
        self.relevance_table_ = calculate_relevance_table(
            frame, target, ml_task=self.ml_task, fdr_level=self.fdr_level, n_jobs=0
        )
        relevant = set(self.relevance_table_.index[self.relevance_table_["relevant"]])
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.support_ = np.array([c in relevant for c in frame.columns])
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self, "support_")
        if isinstance(X, pd.DataFrame):
            return X.loc[:, self.feature_names_in_[self.support_]]
        return np.asarray(X)[:, self.support_]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.feature_names_in_[self.support_]


def _frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    X = np.asarray(X)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
