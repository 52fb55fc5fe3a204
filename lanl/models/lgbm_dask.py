"""LightGBM trained on a Dask cluster through ``lightgbm.dask`` (model kind ``lgbm_dask``).

The same estimator as :class:`lanl.models.lgbm.LGBMRegressor` (same parameters, same saved JSON, the booster
predicts on the caller's machine), plus ``scheduler`` (``"local"``: a LocalCluster of ``workers`` processes
on 127.0.0.1; or ``"tcp://HOST:PORT"``). ``fit`` spreads the rows over the workers in ``partitions`` parts (0:
one per worker, placed round-robin) and runs LightGBM's data-parallel learner on them (``tree_learner="data"``,
one LightGBM thread per worker thread).

How close to the local model. With the rows in one partition (one LightGBM machine) the trees are the local
model's, bit for bit: same parameters, same data, same learner. Spread over several workers, LightGBM's
data-parallel learner differs from the serial one in documented ways: each worker finds bin boundaries on
its own rows, the ``mae`` objective's leaf values (a median) become the mean of the workers' medians, bagging
draws rows per worker, and split gains summed over workers can order candidate leaves differently. The trees
then differ a little; tests/test_distributed.py bounds the difference on a lab-like table (held-out MAE
within 5% of the local model's, mean absolute difference of the predictions below 35% of that MAE).

Early stopping. lightgbm.dask cannot stop early (each worker would score only its own part of the stopping
set), so with ``eval_set`` the model trains ``n_estimators`` rounds, scores the stopping set after every
round on the caller's machine, and keeps the iteration that ``lightgbm.early_stopping`` would have kept
(first minimum of the stopping MAE, stopping ``early_stopping_rounds`` rounds after it). Predictions use that
iteration, as the local model's do.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import cycle
from typing import ClassVar

import numpy as np
import pandas as pd

from lanl.distributed import connect
from lanl.errors import LanlError
from lanl.extras import require
from lanl.models.base import Range, at_least, check_weight, check_xy
from lanl.models.lgbm import LGBMRegressor, _names, _values


@dataclass(repr=False, eq=False)
class DaskLGBMRegressor(LGBMRegressor):
    scheduler: str = "local"  # "local" or "tcp://HOST:PORT"
    workers: int = 2  # LocalCluster size when scheduler is "local"
    partitions: int = 0  # row partitions (0: one per worker)

    kind: ClassVar[str] = "lgbm_dask"
    param_ranges: ClassVar[dict[str, Range]] = {"workers": at_least(1), "partitions": at_least(0)}

    def dask_params(self) -> dict:
        """lightgbm.dask.DaskLGBMRegressor's keyword arguments: the local model's parameters, data-parallel;
        the thread count comes from the Dask workers."""
        params = {k: v for k, v in self.lgb_params().items() if k != "num_threads"}
        return {**params, "n_estimators": self.n_estimators, "tree_learner": "data", "n_jobs": None}

    def fit(self, X, y, eval_set=None, sample_weight=None, callbacks=()) -> DaskLGBMRegressor:
        """Fit on the cluster (rows weighted by ``sample_weight``); with ``eval_set=(X_stop, y_stop)`` keep the
        early-stopping iteration."""
        require("distributed", "dask", "the lgbm_dask model")
        import lightgbm.dask

        if callbacks:
            raise LanlError("lgbm_dask takes no lightgbm callbacks (they would run on every worker)")
        y = check_xy(X, y)
        weight = check_weight(sample_weight, len(y))
        self.feature_names_in_ = _names(X)
        self.n_features_in_ = len(self.feature_names_in_)
        frame = pd.DataFrame(_values(X), columns=self.feature_names_in_)
        with connect(self.scheduler, n_workers=self.workers) as client:
            w = None if weight is None else pd.Series(weight)
            X_parts, y_parts, w_parts = spread(client, frame, pd.Series(y), self.partitions, weight=w)
            model = lightgbm.dask.DaskLGBMRegressor(client=client, **self.dask_params())
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
                model.fit(X_parts, y_parts, sample_weight=w_parts)
            self.booster_ = model.booster_
        self._early_stop(eval_set)
        return self

    def _early_stop(self, eval_set) -> None:
        rounds = self.booster_.current_iteration()
        self.evals_result_, self.best_iteration_ = {}, rounds
        if eval_set is None:
            return
        X_stop, y_stop = eval_set
        curve = stop_curve(self.booster_, _values(X_stop), check_xy(X_stop, y_stop))
        if self.early_stopping_rounds > 0:
            best, last = early_stopping_point(curve, self.early_stopping_rounds)
            curve, self.best_iteration_ = curve[: last + 1], best + 1
        self.evals_result_ = {"stop": {"l1": [float(v) for v in curve]}}

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise LanlError("this DaskLGBMRegressor is not fitted yet")


def spread(client, X: pd.DataFrame, y: pd.Series, partitions: int = 0, *, weight: pd.Series | None = None):
    """(X, y, weight) as dask collections of ``partitions`` row blocks (0: one per worker), block k of each
    scattered to worker k mod n (``weight`` None stays None): lightgbm.dask trains one LightGBM machine per
    worker holding data."""
    dd = require("dask.dataframe", "dask", "the lgbm_dask model")

    workers = sorted(client.scheduler_info()["workers"])
    size = math.ceil(len(X) / max(1, partitions or len(workers)))
    starts = range(0, len(X), size)
    parts = [X, y] + ([weight] if weight is not None else [])
    futures: list[list] = [[] for _ in parts]
    for start, worker in zip(starts, cycle(workers)):
        rows = slice(start, start + size)
        for frame, out in zip(parts, futures, strict=True):
            out.append(client.scatter(frame.iloc[rows], workers=[worker], hash=False))
    divisions = [*starts, len(X) - 1]
    spread_parts = [
        dd.from_delayed(f, meta=frame.iloc[:0], divisions=divisions)
        for frame, f in zip(parts, futures, strict=True)
    ]
    return spread_parts[0], spread_parts[1], spread_parts[2] if weight is not None else None


def stop_curve(booster, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The MAE on (X, y) after each boosting round (what lightgbm records as the ``l1`` of a valid set: it
    keeps labels as float32)."""
    y = np.asarray(y, np.float32).astype(np.float64)
    pred = np.zeros(len(y))
    curve = np.empty(booster.current_iteration())
    for i in range(len(curve)):
        pred += booster.predict(X, start_iteration=i, num_iteration=1, raw_score=True)
        curve[i] = np.mean(np.abs(pred - y))
    return curve


def early_stopping_point(curve: np.ndarray, rounds: int) -> tuple[int, int]:
    """(best, last) 0-based rounds of lightgbm.early_stopping on a metric to minimise: ``best`` is the first
    minimum seen, training would stop at ``last`` = ``best`` + ``rounds`` (or the end of the curve)."""
    best = 0
    for i in range(1, len(curve)):
        if curve[i] < curve[best]:
            best = i
        elif i - best >= rounds:
            return best, i
    return best, len(curve) - 1
