"""A scikit-learn transformer over :func:`lanl.features.extract` (thin: it learns nothing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from lanl.features.extract import DEFAULT_BATCH, extract
from lanl.features.featureset import load
from lanl.features.runners import make_runner


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Turns the rows of X (n_segments, n_samples), one segment each, into the columns of a feature set.

    ``feature_set``: a built-in name, a .toml path or a FeatureSet; ``n_jobs``: worker processes (1: serial).
    A DataFrame X lends its index as the segment keys (which seed random manipulations); otherwise the row
    numbers are the keys. ``set_output(transform="pandas")`` returns named columns.
    """

    def __init__(self, feature_set="kernel", n_jobs: int = 1, batch: int = DEFAULT_BATCH):
        self.feature_set = feature_set
        self.n_jobs = n_jobs
        self.batch = batch

    def fit(self, X, y=None):
        self.feature_names_out_ = np.asarray(load(self.feature_set).columns, dtype=object)
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        keys = list(X.index) if isinstance(X, pd.DataFrame) else None
        values = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
        table = extract(
            values, self.feature_set, keys=keys, runner=make_runner(self.n_jobs), batch=self.batch
        )
        return table.to_numpy()

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_
