"""LightGBM regressor: a thin scikit-learn estimator over ``lightgbm.train``.

Objectives ``mae`` (the competition metric), ``huber`` (``huber_delta``) and ``fair`` (``fair_c``); early stopping
(on the ``eval_set`` the caller carves out of the training folds) and the learning curve are lightgbm callbacks.
Deterministic: ``deterministic=True``, column-wise histograms, every seed from ``seed``, a fixed thread count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from lanl.errors import LanlError
from lanl.fsutil import write_text_atomic
from lanl.models.base import (
    Range,
    above,
    at_least,
    between,
    check_weight,
    check_xy,
    feature_names,
    feature_values,
    get_params_json,
    one_of,
)

OBJECTIVES = {"mae": "l1", "huber": "huber", "fair": "fair"}


@dataclass(repr=False, eq=False)
class LGBMRegressor(RegressorMixin, BaseEstimator):
    objective: str = "mae"
    learning_rate: float = 0.02
    n_estimators: int = 2000
    num_leaves: int = 15
    max_depth: int = -1
    min_child_samples: int = 10
    subsample: float = 0.8
    subsample_freq: int = 1
    colsample_bytree: float = 0.5
    reg_alpha: float = 0.0
    reg_lambda: float = 1.0
    huber_delta: float = 1.0
    fair_c: float = 1.0
    early_stopping_rounds: int = 200
    seed: int = 0
    threads: int = 1  # raise on a machine of your own; results do not depend on it (deterministic=True)
    extra: dict = field(default_factory=dict)  # any other lightgbm parameter, passed as is

    kind: ClassVar[str] = "lgbm"
    input: ClassVar[str] = "features"
    param_ranges: ClassVar[dict[str, Range]] = {
        "objective": one_of(*OBJECTIVES, what="LightGBM objective"),
        "learning_rate": above(0),
        "n_estimators": at_least(1),
        "num_leaves": between(2, 131_072),  # LightGBM's own bounds
        "min_child_samples": at_least(0),
        "subsample": between(0, 1, low_open=True),
        "subsample_freq": at_least(0),
        "colsample_bytree": between(0, 1, low_open=True),
        "reg_alpha": at_least(0),
        "reg_lambda": at_least(0),
        "huber_delta": above(0),
        "fair_c": above(0),
        "early_stopping_rounds": at_least(0),
        "threads": at_least(0),
    }

    def lgb_params(self) -> dict[str, Any]:
        if self.objective not in OBJECTIVES:
            raise LanlError(
                f"unknown LightGBM objective {self.objective!r}; choose one of {', '.join(OBJECTIVES)}"
            )
        return {
            "objective": OBJECTIVES[self.objective],
            "metric": "l1",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": self.subsample_freq,
            "feature_fraction": self.colsample_bytree,
            "lambda_l1": self.reg_alpha,
            "lambda_l2": self.reg_lambda,
            "alpha": self.huber_delta,
            "fair_c": self.fair_c,
            "seed": self.seed,
            "num_threads": self.threads,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
            **self.extra,
        }

    def fit(self, X, y, eval_set=None, sample_weight=None, callbacks=()) -> LGBMRegressor:
        """Fit on ``X`` (DataFrame or array), rows weighted by ``sample_weight``; with
        ``eval_set=(X_stop, y_stop)``, stop early on its (unweighted) MAE."""
        y = check_xy(X, y)
        weight = check_weight(sample_weight, len(y))
        self.feature_names_in_ = _names(X)
        self.n_features_in_ = len(self.feature_names_in_)
        train = lgb.Dataset(
            _values(X), y, weight=weight, feature_name=self.feature_names_in_, free_raw_data=True
        )
        self.evals_result_ = {}
        cbs, valid_sets = [*callbacks, lgb.record_evaluation(self.evals_result_)], []
        if eval_set is not None:
            X_stop, y_stop = eval_set
            valid_sets = [lgb.Dataset(_values(X_stop), check_xy(X_stop, y_stop), reference=train)]
            if self.early_stopping_rounds > 0:
                cbs.append(
                    lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)
                )
        self.booster_ = lgb.train(
            self.lgb_params(),
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            valid_names=["stop"] * len(valid_sets),
            callbacks=cbs,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        return self

    def predict(self, X) -> np.ndarray:
        self._check_fitted()
        return self.booster_.predict(_values(X), num_iteration=self.best_iteration_)

    @property
    def history_(self) -> dict[str, list[float]]:
        return {"stop_mae": list(self.evals_result_.get("stop", {}).get("l1", []))}

    def importance(self, kind: str = "gain") -> pd.Series:
        """Feature importance (``gain`` or ``split``) of the trees used for prediction."""
        self._check_fitted()
        values = self.booster_.feature_importance(importance_type=kind, iteration=self.best_iteration_)
        return pd.Series(values.astype(float), index=self.feature_names_in_, name=kind)

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.importance("gain").to_numpy()

    def refit_params(self) -> dict[str, Any]:
        return {"n_estimators": self.best_iteration_, "early_stopping_rounds": 0}

    # ----------------------------------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        doc = {
            "kind": self.kind,
            "params": get_params_json(self),
            "feature_names": self.feature_names_in_,
            "best_iteration": self.best_iteration_,
            "evals_result": self.evals_result_,
            "booster": self.booster_.model_to_string(),
        }
        return write_text_atomic(path, json.dumps(doc))

    @classmethod
    def load(cls, path: str | Path) -> LGBMRegressor:
        doc = json.loads(Path(path).read_text())
        if doc.get("kind") != cls.kind:
            raise LanlError(f"{path}: not a saved LightGBM model")
        model = cls(**doc["params"])
        model.booster_ = lgb.Booster(model_str=doc["booster"])
        model.feature_names_in_ = list(doc["feature_names"])
        model.n_features_in_ = len(model.feature_names_in_)
        model.best_iteration_ = int(doc["best_iteration"])
        model.evals_result_ = doc["evals_result"]
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise LanlError("this LGBMRegressor is not fitted yet")


_names, _values = feature_names, feature_values  # the names lgbm_dask imports
