"""The search spaces of lanl tune: for each model kind, its parameters and the ranges Optuna draws them from.

SPACES                       model -> search space (parameter -> Float | Int | Choice)
suggest(trial, space)        one point of a space (a conditional parameter only when its condition holds)
default_point(space, params) the base config's values of the space's parameters
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False
    # (parameter, value): suggested only when that parameter has that value (huber_delta with huber)
    when: tuple[str, Any] | None = None

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def contains(self, value) -> bool:
        return (
            isinstance(value, int | float) and self.low <= value <= self.high and (value > 0 or not self.log)
        )


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False
    when: tuple[str, Any] | None = None

    def suggest(self, trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def contains(self, value) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high


@dataclass(frozen=True)
class Choice:
    values: tuple
    when: tuple[str, Any] | None = None

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.values))

    def contains(self, value) -> bool:
        return value in self.values


_NET = {
    "lr": Float(3e-4, 1e-2, log=True),
    "weight_decay": Float(1e-6, 1e-2, log=True),
    "batch_size": Choice((8, 16, 32)),
    "head": Choice((8, 16, 32)),
    "loss": Choice(("l1", "huber")),
}


SPACES: dict[str, dict[str, Float | Int | Choice]] = {
    "lgbm": {
        "objective": Choice(("mae", "huber", "fair")),
        "learning_rate": Float(0.005, 0.1, log=True),
        "num_leaves": Int(4, 64, log=True),
        "min_child_samples": Int(3, 100, log=True),
        "subsample": Float(0.5, 1.0),
        "colsample_bytree": Float(0.1, 1.0),
        "reg_alpha": Float(0.0, 5.0),
        "reg_lambda": Float(0.01, 30.0, log=True),
        "huber_delta": Float(0.3, 5.0, log=True, when=("objective", "huber")),
        "fair_c": Float(0.3, 5.0, log=True, when=("objective", "fair")),
    },
    "cnn": {
        **_NET,
        "channels": Choice((8, 16, 32)),
        "frame": Choice((16, 32, 64)),
        "depth": Int(2, 4),
        "crop": Float(0.5, 1.0),
    },
    "lstm": {**_NET, "cell": Choice(("lstm", "gru")), "hidden": Choice((16, 32, 64)), "layers": Int(1, 2)},
    "svr": {
        "C": Float(0.1, 30.0, log=True),
        "epsilon": Float(0.01, 1.0, log=True),
        "gamma": Float(0.003, 0.3, log=True),
    },
    "nusvr": {"C": Float(0.1, 30.0, log=True), "nu": Float(0.1, 0.95), "gamma": Float(0.003, 0.3, log=True)},
    "knn": {"n_neighbors": Int(5, 300, log=True), "weights": Choice(("uniform", "distance")), "p": Int(1, 2)},
    "ridge": {"alpha": Float(1e-3, 1e4, log=True)},
    "mlp": {
        "lr": Float(1e-4, 1e-2, log=True),
        "weight_decay": Float(1e-6, 1e-2, log=True),
        "batch_size": Choice((32, 64, 128)),
        "hidden": Choice((16, 32, 64, 128)),
        "layers": Int(1, 3),
        "dropout": Float(0.0, 0.5),
        "loss": Choice(("l1", "huber")),
        "multitask": Choice((False, True)),
        "aux_weight": Float(0.1, 1.0, log=True, when=("multitask", True)),
    },
    "catboost": {
        "learning_rate": Float(0.01, 0.2, log=True),
        "depth": Int(3, 8),
        "l2_leaf_reg": Float(0.3, 30.0, log=True),
        "subsample": Float(0.5, 1.0),
        "rsm": Float(0.2, 1.0),
    },
    "xgboost": {
        "learning_rate": Float(0.005, 0.1, log=True),
        "max_depth": Int(2, 8),
        "min_child_weight": Float(1.0, 100.0, log=True),
        "subsample": Float(0.5, 1.0),
        "colsample_bytree": Float(0.1, 1.0),
        "reg_alpha": Float(0.0, 5.0),
        "reg_lambda": Float(0.01, 30.0, log=True),
    },
}


def suggest(trial, space: dict) -> dict[str, Any]:
    """One point of ``space``, in its order (a conditional parameter after the one it depends on)."""
    params: dict[str, Any] = {}
    for name, dist in space.items():
        if dist.when is None or params.get(dist.when[0]) == dist.when[1]:
            params[name] = dist.suggest(trial, name)
    return params


def default_point(space: dict, params: dict) -> dict[str, Any]:
    """The base config's values of the space's parameters (those inside the space, conditions met)."""
    point: dict[str, Any] = {}
    for name, dist in space.items():
        applies = dist.when is None or point.get(dist.when[0]) == dist.when[1]
        if applies and name in params and dist.contains(params[name]):
            point[name] = params[name]
    return point
