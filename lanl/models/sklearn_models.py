"""scikit-learn models on standardised features: ``svr``, ``nusvr``, ``knn`` and ``ridge``.

Each is a :class:`sklearn.pipeline.Pipeline` of a :class:`~sklearn.preprocessing.StandardScaler` and the
estimator, built and fitted inside ``fit``: the scaling is learned from the rows ``fit`` is given (a CV fold's
training rows) and from no others. ``sample_weight`` weights both steps (the scaler's mean and variance and the
estimator's loss, or the neighbours' votes for kNN); rows of weight 0 are left out, so a zero weight is the same
as not having the row. They do not iterate: ``eval_set`` is accepted and ignored, ``history_`` is empty and
``best_iteration_`` 0, so a run's ``refit = true`` (fit again on all its training folds, stopping rows included)
is what lets them use every training row.

Saved models (``.npz``, no pickles): the parameters and the rows the model was fitted on; ``load`` fits again on
them. These fits are deterministic, so the loaded model predicts bit for bit as the saved one (for kNN the rows
are the model; for the SVRs and ridge the refit takes a few seconds at most on a competition-sized table).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR, NuSVR

from lanl.errors import LanlError
from lanl.fsutil import atomic_path
from lanl.models.base import (
    Range,
    between,
    check_weight,
    check_xy,
    feature_names,
    finite_values,
    get_params_json,
    one_of,
    validate_params,
)

KNN_WEIGHTS = ("uniform", "distance")


@dataclass(repr=False, eq=False)
class ScaledRegressor(RegressorMixin, BaseEstimator):
    """The shared shell: scaler + estimator pipeline, weights, save/load. Subclasses give ``_estimator``."""

    seed: int = 0  # these fits are deterministic and draw nothing at random: kept for the common interface

    kind: ClassVar[str] = ""
    input: ClassVar[str] = "features"
    early_stopping: ClassVar[bool] = False  # lanl.cv.train fits it on all of a fold's training rows at once

    def _estimator(self):
        raise NotImplementedError

    def validate(self) -> None:
        validate_params(self)

    def pipeline(self) -> Pipeline:
        self.validate()
        return Pipeline([("scale", StandardScaler()), ("model", self._estimator())])

    def fit(self, X, y, eval_set=None, sample_weight=None) -> ScaledRegressor:
        """Fit the scaler and the estimator on ``X`` (rows weighted by ``sample_weight``); ``eval_set`` is
        ignored (nothing to stop early)."""
        y = check_xy(X, y)
        weight = check_weight(sample_weight, len(y))
        self.feature_names_in_ = feature_names(X)
        self.n_features_in_ = len(self.feature_names_in_)
        values = finite_values(X, self.kind)
        if weight is not None:
            keep = weight > 0
            values, y, weight = values[keep], y[keep], weight[keep]
        self.fit_rows_ = (values, y, weight)
        steps = {} if weight is None else {"scale__sample_weight": weight, "model__sample_weight": weight}
        self.pipeline_ = self.pipeline().fit(values, y, **steps)
        self.history_: dict[str, list[float]] = {}
        self.best_iteration_ = 0
        return self

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "pipeline_"):
            raise LanlError(f"this {type(self).__name__} is not fitted yet")
        return self.pipeline_.predict(finite_values(X, self.kind)).astype(np.float64)

    def refit_params(self) -> dict[str, Any]:
        return {}

    def save(self, path: str | Path) -> Path:
        if not hasattr(self, "pipeline_"):
            raise LanlError(f"this {type(self).__name__} is not fitted yet")
        values, y, weight = self.fit_rows_
        header = {"kind": self.kind, "params": get_params_json(self), "feature_names": self.feature_names_in_}
        arrays = {"X": values, "y": y, **({"weight": weight} if weight is not None else {})}
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, header=np.array(json.dumps(header)), **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> ScaledRegressor:
        with np.load(path, allow_pickle=False) as doc:
            header = json.loads(str(doc["header"]))
            if header.get("kind") != cls.kind:
                raise LanlError(f"{path}: not a saved {cls.kind} model")
            X, y = doc["X"], doc["y"]
            weight = doc["weight"] if "weight" in doc else None
        model = cls(**header["params"]).fit(X, y, sample_weight=weight)
        model.feature_names_in_ = list(header["feature_names"])
        return model


@dataclass(repr=False, eq=False)
class SVRRegressor(ScaledRegressor):
    """Epsilon-SVR with an RBF kernel (``sklearn.svm.SVR``): residuals within ``epsilon`` seconds cost nothing,
    larger ones linearly (an MAE-like loss)."""

    C: float = 1.0
    epsilon: float = 0.1
    gamma: float = 0.0  # RBF width; 0: sklearn's "scale" (1 / n_features on standardised inputs)
    cache_size: float = 500.0  # MB of kernel cache (speed only)

    kind: ClassVar[str] = "svr"

    param_ranges: ClassVar[dict[str, Range]] = {
        "C": between(1e-6, 1e6),
        "epsilon": between(0.0, 100.0),
        "gamma": between(0.0, 1e3),
    }

    def _estimator(self):
        return SVR(C=self.C, epsilon=self.epsilon, gamma=self.gamma or "scale", cache_size=self.cache_size)


@dataclass(repr=False, eq=False)
class NuSVRRegressor(ScaledRegressor):
    """Nu-SVR with an RBF kernel (``sklearn.svm.NuSVR``), the public kernels' NuSVR: ``nu`` bounds the share of
    support vectors (the tube's width is learned)."""

    C: float = 1.0
    nu: float = 0.7
    gamma: float = 0.0  # 0: "scale"
    cache_size: float = 500.0

    kind: ClassVar[str] = "nusvr"

    param_ranges: ClassVar[dict[str, Range]] = {
        "C": between(1e-6, 1e6),
        "nu": between(1e-3, 1.0),
        "gamma": between(0.0, 1e3),
    }

    def _estimator(self):
        return NuSVR(C=self.C, nu=self.nu, gamma=self.gamma or "scale", cache_size=self.cache_size)


@dataclass(repr=False, eq=False)
class RidgeRegressor(ScaledRegressor):
    """Ridge regression (``sklearn.linear_model.Ridge``) on the standardised features."""

    alpha: float = 1.0

    kind: ClassVar[str] = "ridge"

    param_ranges: ClassVar[dict[str, Range]] = {
        "alpha": between(0.0, 1e9),
    }

    def _estimator(self):
        return Ridge(alpha=self.alpha)


@dataclass(repr=False, eq=False)
class KNNRegressor(ScaledRegressor):
    """k nearest neighbours (Minkowski distance of order ``p`` on the standardised features): the prediction
    is the weighted mean label of the ``n_neighbors`` nearest training rows, each weighted by its sample weight
    (times 1 / distance with ``weights = "distance"``)."""

    n_neighbors: int = 50
    weights: str = "uniform"
    p: int = 2

    kind: ClassVar[str] = "knn"

    param_ranges: ClassVar[dict[str, Range]] = {
        "n_neighbors": between(1, 10_000),
        "p": between(1, 10),
        "weights": one_of(*KNN_WEIGHTS, what="knn weights"),
    }

    def _estimator(self):
        return WeightedNeighbors(self.n_neighbors, self.weights, self.p)


class WeightedNeighbors(RegressorMixin, BaseEstimator):
    """kNN regression that takes sample weights (sklearn's KNeighborsRegressor does not); with equal weights
    it predicts as ``KNeighborsRegressor(n_neighbors, weights=weights, p=p)``."""

    def __init__(self, n_neighbors: int = 5, weights: str = "uniform", p: int = 2):
        self.n_neighbors, self.weights, self.p = n_neighbors, weights, p

    def fit(self, X, y, sample_weight=None) -> WeightedNeighbors:
        self.index_ = NearestNeighbors(n_neighbors=min(self.n_neighbors, len(X)), p=self.p).fit(X)
        self.y_ = np.asarray(y, np.float64)
        self.w_ = np.ones(len(self.y_)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        return self

    def predict(self, X) -> np.ndarray:
        dist, idx = self.index_.kneighbors(X)
        votes = self.w_[idx]
        if self.weights == "distance":
            exact = dist == 0
            with np.errstate(divide="ignore"):
                inverse = np.where(exact.any(axis=1, keepdims=True), exact, 1.0 / dist)
            votes = votes * inverse
        return (votes * self.y_[idx]).sum(axis=1) / votes.sum(axis=1)
