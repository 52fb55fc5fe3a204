"""CatBoost and XGBoost regressors (``catboost``, ``xgboost``): gradient boosting from their own packages.

Both optimise the MAE (CatBoost ``loss_function="MAE"``, XGBoost ``reg:absoluteerror``), stop early on the MAE
of the ``eval_set`` the caller carves out of the training folds (``early_stopping_rounds`` rounds without a
better score; 0 turns it off), predict with the best iteration, take ``sample_weight`` and are deterministic
for a fixed ``seed`` and ``threads``. CatBoost's default leaf values for the MAE ("Exact" medians) ignore
sample weights (catboost 1.2.10), so with unequal weights its leaves are estimated by gradient steps instead
(``leaf_estimation_method = "Gradient"``): they honour the weights but converge more slowly (on the real
competition table, unweighted: 3,000 rounds did not reach the best iteration, and the CV MAE was 0.4% worse). The packages are an optional extra (``pip install 'lanl[boost]'``),
imported only when a model is made, fitted or loaded; without them the error names the extra.

Saved as JSON (``kind``, parameters, feature names, best iteration, learning curve) with the booster inside:
XGBoost's own JSON model, CatBoost's binary model as base64. Nothing is unpickled on load.
"""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from lanl.errors import LanlError
from lanl.fsutil import write_text_atomic
from lanl.models.base import (
    Range,
    between,
    check_weight,
    check_xy,
    feature_names,
    feature_values,
    get_params_json,
    require_package,
    validate_params,
)

EXTRA = "boost"


@dataclass(repr=False, eq=False)
class BoostRegressor(RegressorMixin, BaseEstimator):
    """What the two share: fit bookkeeping, predict, save and load. Subclasses train and (de)serialise."""

    kind: ClassVar[str] = ""
    package: ClassVar[str] = ""  # the optional package it needs (lanl.models.make_model checks it)
    input: ClassVar[str] = "features"

    def fit(self, X, y, eval_set=None, sample_weight=None) -> BoostRegressor:
        """Fit on ``X`` (rows weighted by ``sample_weight``); with ``eval_set=(X_stop, y_stop)``, stop early on
        its MAE and keep the best iteration."""
        self.validate()
        y = check_xy(X, y)
        weight = check_weight(sample_weight, len(y))
        self.feature_names_in_ = feature_names(X)
        self.n_features_in_ = len(self.feature_names_in_)
        stop = None if eval_set is None else (feature_values(eval_set[0]), check_xy(*eval_set))
        lib = require_package(self.package, EXTRA)
        self.booster_, self.stop_mae_, self.best_iteration_ = self._train(
            lib, feature_values(X), y, weight, stop
        )
        return self

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise LanlError(f"this {type(self).__name__} is not fitted yet")
        return np.asarray(self._predict(feature_values(X)), np.float64)

    @property
    def history_(self) -> dict[str, list[float]]:
        return {"stop_mae": [float(v) for v in self.stop_mae_]}

    def refit_params(self) -> dict[str, Any]:
        return {"n_estimators": max(1, self.best_iteration_), "early_stopping_rounds": 0}

    def save(self, path: str | Path) -> Path:
        if not hasattr(self, "booster_"):
            raise LanlError(f"this {type(self).__name__} is not fitted yet")
        doc = {
            "kind": self.kind,
            "params": get_params_json(self),
            "feature_names": self.feature_names_in_,
            "best_iteration": self.best_iteration_,
            "stop_mae": self.history_["stop_mae"],
            "booster": self._dump(),
        }
        return write_text_atomic(path, json.dumps(doc))

    @classmethod
    def load(cls, path: str | Path) -> BoostRegressor:
        doc = json.loads(Path(path).read_text())
        if doc.get("kind") != cls.kind:
            raise LanlError(f"{path}: not a saved {cls.kind} model")
        model = cls(**doc["params"])
        model.booster_ = model._undump(require_package(cls.package, EXTRA), doc["booster"])
        model.feature_names_in_ = list(doc["feature_names"])
        model.n_features_in_ = len(model.feature_names_in_)
        model.best_iteration_ = int(doc["best_iteration"])
        model.stop_mae_ = list(doc["stop_mae"])
        return model

    # ------------------------------------------------------------------------------------- subclass hooks
    def validate(self) -> None:
        validate_params(self)

    def _train(self, lib, X, y, weight, stop):
        """(booster, stopping MAE per round, best iteration: rounds the predictions use)."""
        raise NotImplementedError

    def _predict(self, X: np.ndarray):
        raise NotImplementedError

    def _dump(self) -> str:
        raise NotImplementedError

    def _undump(self, lib, text: str):
        raise NotImplementedError


def _common_ranges() -> dict[str, Range]:
    return {
        "learning_rate": between(1e-4, 1.0),
        "n_estimators": between(1, 100_000),
        "early_stopping_rounds": between(0, 100_000),
        "subsample": between(0.01, 1.0),
        "threads": between(1, 1024),
    }


@dataclass(repr=False, eq=False)
class XGBoostRegressor(BoostRegressor):
    learning_rate: float = 0.02
    n_estimators: int = 3000
    max_depth: int = 4
    min_child_weight: float = 10.0
    subsample: float = 0.8
    colsample_bytree: float = 0.5
    reg_alpha: float = 0.0
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 200
    seed: int = 0
    threads: int = 1
    extra: dict = field(default_factory=dict)  # any other xgboost parameter, passed as is

    kind: ClassVar[str] = "xgboost"
    package: ClassVar[str] = "xgboost"

    param_ranges: ClassVar[dict[str, Range]] = {
        **_common_ranges(),
        "max_depth": between(1, 16),
        "min_child_weight": between(0.0, 1e6),
        "colsample_bytree": between(0.01, 1.0),
        "reg_alpha": between(0.0, 1e6),
        "reg_lambda": between(0.0, 1e6),
    }

    def xgb_params(self) -> dict[str, Any]:
        return {
            "objective": "reg:absoluteerror",
            "eval_metric": "mae",
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "alpha": self.reg_alpha,
            "lambda": self.reg_lambda,
            "tree_method": "hist",
            "seed": self.seed,
            "nthread": self.threads,
            "verbosity": 0,
            **self.extra,
        }

    def _train(self, xgb, X, y, weight, stop):
        train = xgb.DMatrix(X, y, weight=weight, nthread=self.threads)
        evals = [] if stop is None else [(xgb.DMatrix(*stop, nthread=self.threads), "stop")]
        curves: dict = {}
        early = bool(evals) and self.early_stopping_rounds > 0
        booster = xgb.train(
            self.xgb_params(),
            train,
            num_boost_round=self.n_estimators,
            evals=evals,
            evals_result=curves,
            early_stopping_rounds=self.early_stopping_rounds if early else None,
            verbose_eval=False,
        )
        best = booster.best_iteration + 1 if early else booster.num_boosted_rounds()
        return booster, curves.get("stop", {}).get("mae", []), int(best)

    def _predict(self, X):
        xgb = require_package(self.package, EXTRA)
        return self.booster_.predict(
            xgb.DMatrix(X, nthread=self.threads), iteration_range=(0, self.best_iteration_)
        )

    def _dump(self) -> str:
        return bytes(self.booster_.save_raw(raw_format="json")).decode()

    def _undump(self, xgb, text: str):
        booster = xgb.Booster()
        booster.load_model(bytearray(text.encode()))
        return booster


@dataclass(repr=False, eq=False)
class CatBoostRegressor(BoostRegressor):
    learning_rate: float = 0.03
    n_estimators: int = 3000
    depth: int = 6
    l2_leaf_reg: float = 3.0
    subsample: float = 0.8  # MVS bootstrap: share of rows per tree
    rsm: float = 1.0  # share of features per split
    early_stopping_rounds: int = 200
    seed: int = 0
    threads: int = 1
    extra: dict = field(default_factory=dict)  # any other CatBoost parameter, passed as is

    kind: ClassVar[str] = "catboost"
    package: ClassVar[str] = "catboost"

    param_ranges: ClassVar[dict[str, Range]] = {
        **_common_ranges(),
        "depth": between(1, 16),
        "l2_leaf_reg": between(0.0, 1e6),
        "rsm": between(0.01, 1.0),
    }

    def cb_params(self) -> dict[str, Any]:
        return {
            "loss_function": "MAE",
            "eval_metric": "MAE",
            "iterations": self.n_estimators,
            "learning_rate": self.learning_rate,
            "depth": self.depth,
            "l2_leaf_reg": self.l2_leaf_reg,
            "bootstrap_type": "MVS",
            "subsample": self.subsample,
            "rsm": self.rsm,
            "random_seed": self.seed,
            "thread_count": self.threads,
            "verbose": False,
            "allow_writing_files": False,
            **self.extra,
        }

    def _train(self, cb, X, y, weight, stop):
        early = stop is not None and self.early_stopping_rounds > 0
        params = {**self.cb_params(), "use_best_model": early}
        if weight is not None and np.ptp(weight) > 0:
            # CatBoost's default leaf values for MAE ("Exact" medians) ignore the weights (1.2.10: a zero-weight
            # half of the rows pulls the fit as much as the weighted one); gradient steps honour them
            params.setdefault("leaf_estimation_method", "Gradient")
        if early:
            params.update(od_type="Iter", od_wait=self.early_stopping_rounds)
        booster = cb.CatBoostRegressor(**params)
        booster.fit(cb.Pool(X, y, weight=weight), eval_set=None if stop is None else cb.Pool(*stop))
        curve = booster.get_evals_result().get("validation", {}).get("MAE", [])
        best = booster.get_best_iteration() + 1 if early else booster.tree_count_
        return booster, curve, int(best)

    def _predict(self, X):
        return self.booster_.predict(X, thread_count=self.threads)

    def _dump(self) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.cbm"
            self.booster_.save_model(str(path), format="cbm")
            return base64.b64encode(path.read_bytes()).decode("ascii")

    def _undump(self, cb, text: str):
        return cb.CatBoostRegressor().load_model(blob=base64.b64decode(text))
