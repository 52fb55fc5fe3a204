"""The level-2 model of a stack: its input columns are the level-1 runs' predictions (a model like the others,
saved and loaded through lanl.models).

Methods (:data:`METHODS`):

* ``blend``: non-negative weights summing to 1 that minimise the OOF MAE (exactly: a linear programme; the
  optimum a hill-climbed non-negative blend searches for);
* ``mean``: the plain average of the inputs, as the public kernels averaged their models (nothing fitted);
* ``linear``: non-negative least squares with an intercept;
* ``ridge``: ridge regression (``alpha``) with an intercept;
* ``lgbm``: a small LightGBM (MAE objective, 4 leaves), early-stopped on whole training cycles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from lanl.errors import LanlError
from lanl.fsutil import write_text_atomic
from lanl.models import STACK_METHODS
from lanl.models.base import Range, at_least, check_weight, check_xy, get_params_json, one_of

METHODS = STACK_METHODS
LGBM_LEVEL2 = {
    "objective": "mae",
    "learning_rate": 0.05,
    "num_leaves": 4,
    "min_child_samples": 20,
    "subsample": 1.0,
    "subsample_freq": 0,
    "colsample_bytree": 1.0,
    "early_stopping_rounds": 50,
}


# ------------------------------------------------------------------------------------------- level 2
def fit_blend(X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Weights w >= 0, sum(w) = 1 minimising the (sample-weighted) mean |X w - y|: the linear programme
    min sum(s t) subject to -t <= X w - y <= t over (w, t), s the row weights, solved exactly by HiGHS."""
    # scipy.optimize and sklearn.linear_model (below) load in ~0.2 s: imported when a stack is fitted, not when
    # the CLI reads METHODS
    from scipy import sparse
    from scipy.optimize import linprog

    n, m = X.shape
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    eye = sparse.identity(n, format="csr")
    a_ub = sparse.vstack([sparse.hstack([X, -eye]), sparse.hstack([-X, -eye])], format="csr")
    res = linprog(
        c=np.r_[np.zeros(m), s / s.sum()],
        A_ub=a_ub,
        b_ub=np.r_[y, -y],
        A_eq=np.r_[np.ones(m), np.zeros(n)][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * (m + n),
        method="highs",
    )
    if res.status != 0:
        raise LanlError(f"the blend's linear programme failed: {res.message}")
    w = np.clip(res.x[:m], 0.0, None)
    return w / w.sum()


def fit_linear(
    X: np.ndarray, y: np.ndarray, alpha: float, positive: bool, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LinearRegression, Ridge  # see fit_blend

    model = LinearRegression(positive=True) if positive else Ridge(alpha=alpha)
    model.fit(X, y, sample_weight=sample_weight)
    return np.asarray(model.coef_, float), float(model.intercept_)


@dataclass(repr=False, eq=False)
class Stacker(RegressorMixin, BaseEstimator):
    """The level-2 model: its input columns are the level-1 runs' predictions, in the order given."""

    method: str = "blend"
    alpha: float = 1.0  # ridge
    n_estimators: int = 300  # lgbm (early-stopped, then refitted for the chosen rounds)
    seed: int = 0

    kind: ClassVar[str] = "stack"
    input: ClassVar[str] = "features"
    param_ranges: ClassVar[dict[str, Range]] = {
        "method": one_of(*METHODS, what="stacking method"),
        "alpha": at_least(0),
        "n_estimators": at_least(1),
    }

    def fit(self, X, y, eval_set=None, sample_weight=None) -> Stacker:
        if self.method not in METHODS:
            raise LanlError(f"unknown stacking method {self.method!r}; choose one of {', '.join(METHODS)}")
        X, y = np.asarray(X, np.float64), check_xy(X, y)
        w = check_weight(sample_weight, len(y))
        self.history_: dict[str, list[float]] = {}
        if self.method == "lgbm":
            self.model_ = self._lgbm().fit(X, y, eval_set=eval_set, sample_weight=w)
            self.best_iteration_ = self.model_.best_iteration_
        elif self.method == "blend":
            self.coef_, self.intercept_ = fit_blend(X, y, w), 0.0
        elif self.method == "mean":
            self.coef_, self.intercept_ = np.full(X.shape[1], 1.0 / X.shape[1]), 0.0
        else:
            positive = self.method == "linear"
            self.coef_, self.intercept_ = fit_linear(X, y, self.alpha, positive=positive, sample_weight=w)
        return self

    def _lgbm(self):
        # lightgbm takes ~0.15 s to import and only this method needs it; the CLI reads METHODS from here
        from lanl.models.lgbm import LGBMRegressor

        return LGBMRegressor(**LGBM_LEVEL2, n_estimators=self.n_estimators, seed=self.seed)

    def predict(self, X) -> np.ndarray:
        X = np.asarray(X, np.float64)
        if self.method == "lgbm":
            return self.model_.predict(X)
        return X @ self.coef_ + self.intercept_

    def refit_params(self) -> dict[str, Any]:
        return {"n_estimators": self.best_iteration_} if self.method == "lgbm" else {}

    def save(self, path: str | Path) -> Path:
        doc: dict[str, Any] = {"kind": self.kind, "params": get_params_json(self)}
        if self.method == "lgbm":
            doc["booster"] = self.model_.booster_.model_to_string()
            doc["best_iteration"] = self.best_iteration_
        else:
            doc.update(coef=self.coef_.tolist(), intercept=self.intercept_)
        return write_text_atomic(path, json.dumps(doc))

    @classmethod
    def load(cls, path: str | Path) -> Stacker:
        doc = json.loads(Path(path).read_text())
        if doc.get("kind") != cls.kind:
            raise LanlError(f"{path}: not a saved level-2 model")
        model = cls(**doc["params"])
        if model.method == "lgbm":
            model.model_ = model._lgbm()
            import lightgbm as lgb  # as in _lgbm: only this method needs it

            model.model_.booster_ = lgb.Booster(model_str=doc["booster"])
            model.best_iteration_ = model.model_.best_iteration_ = int(doc["best_iteration"])
        else:
            model.coef_, model.intercept_ = np.asarray(doc["coef"], float), float(doc["intercept"])
        return model
