"""What every model shares: the estimator contract, parameter checking and row selection.

A model is a dataclass estimator (scikit-learn rules: the dataclass ``__init__`` only stores parameters, ``fit``
returns ``self``, learned state ends in ``_``) with:

* ``kind`` (registry name) and ``input``: what it is fitted on -- ``"features"`` (a feature table's feature
  columns), ``"signal"`` (raw int16 windows, shape (n, length)) or ``"chunks"`` (per-chunk feature sequences,
  shape (n, steps, features));
* ``fit(X, y, eval_set=None, sample_weight=None)``: ``eval_set=(X_stop, y_stop)`` turns early stopping on (the
  caller carves it out of the training folds; models that do not iterate ignore it); ``sample_weight``: one
  non-negative weight per row of ``X`` (None: equal weights); ``predict(X)``; ``save(path)`` / ``load(path)``;
* ``history_`` (learning curves: lists per metric) and ``refit_params()`` (the parameters that repeat the
  early-stopped fit on more rows without a stopping set);
* ``param_ranges``: a ClassVar table of each parameter's valid values (:class:`Range`: ``above(0)``,
  ``at_least(1)``, ``between(0, 1)``, ``one_of(...)``), merged along the class's bases; :func:`check_params`
  (what ``make_model`` and the config readers call) refuses a value outside it, naming the range.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lanl.errors import LanlError


@dataclass(frozen=True)
class Range:
    """The valid values of a parameter: numbers from ``low`` to ``high`` (an end ``None`` is open-ended; an
    ``*_open`` end is excluded), or, with ``choices``, one of them."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    what: str = ""  # how an error names a choice ("recurrent cell"; default: the parameter's name)

    def __contains__(self, value) -> bool:
        if self.choices:
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (value > self.high or (self.high_open and value == self.high))

    def __str__(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(repr, self.choices))
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


def above(low: float) -> Range:
    return Range(low, low_open=True)


def at_least(low: float) -> Range:
    return Range(low)


def between(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Range:
    return Range(low, high, low_open, high_open)


def one_of(*choices, what: str = "") -> Range:
    return Range(choices=tuple(choices), what=what)


def param_ranges(cls: type) -> dict[str, Range]:
    """The ``param_ranges`` tables of ``cls`` and its bases, a subclass's entries winning."""
    ranges: dict[str, Range] = {}
    for klass in reversed(cls.__mro__):
        ranges.update(vars(klass).get("param_ranges", {}))
    return ranges


def check_params(cls: type, params: dict[str, Any], where: str) -> dict[str, Any]:
    """``params`` if every key is a field of the dataclass ``cls``, every scalar value has the field's type
    (an int passes for a float) and lies in its range (:func:`param_ranges`), else a LanlError naming the key
    (and listing the valid keys, or giving the range)."""
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise LanlError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(names)}")
    hints = typing.get_type_hints(cls)
    for key, value in params.items():
        expected = hints.get(key)
        if expected in _SCALARS and not _is_a(value, expected):
            raise LanlError(f"{where}: {key} must be {_SCALARS[expected]}, got {value!r}")
    ranges = param_ranges(cls)
    for key, value in params.items():
        valid = ranges.get(key)
        if valid is not None and value not in valid:
            if valid.choices:
                raise LanlError(f"{where}: unknown {valid.what or key} {value!r}; choose {valid}")
            raise LanlError(f"{where}: {key} must be {valid}, got {value!r}")
    return dict(params)


_SCALARS = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a table"}


def from_table(cls: type, data: Any, where: str):
    """The dataclass ``cls`` of a config table (TOML or JSON): its keys checked by :func:`check_params`, a
    field whose type is a dataclass read from its subtable the same way (``where [name]``), and an error of
    the constructor's own checks named by ``where``. The one loader of run, shift and pipeline configs."""
    if not isinstance(data, Mapping):
        raise LanlError(f"{where} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    nested = {
        f.name: hints[f.name] for f in dataclasses.fields(cls) if dataclasses.is_dataclass(hints.get(f.name))
    }
    values = check_params(cls, {k: v for k, v in data.items() if k not in nested}, where)
    for name, sub in nested.items():
        if name in data:
            values[name] = from_table(sub, data[name], f"{where} [{name}]")
    try:
        return cls(**values)
    except LanlError as exc:
        message = str(exc)
        raise LanlError(message if message.startswith(where) else f"{where}: {message}") from None


def _is_a(value, expected: type) -> bool:
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def get_params_json(model) -> dict[str, Any]:
    """The model's parameters as plain JSON values."""
    return {f.name: _plain(getattr(model, f.name)) for f in dataclasses.fields(model)}


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


def take(X, idx: np.ndarray):
    """Rows ``idx`` of a model input: a DataFrame, an array, or a lazy source with ``take``."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[idx]
    if hasattr(X, "take") and not isinstance(X, np.ndarray):
        return X.take(idx)
    return X[idx]


def n_rows(X) -> int:
    return len(X)


def check_xy(X, y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) != n_rows(X):
        raise LanlError(f"targets must be one value per row: {n_rows(X)} rows, targets of shape {y.shape}")
    if not np.isfinite(y).all():
        raise LanlError("targets hold NaN or infinite values")
    if len(y) < 2:
        raise LanlError(f"cannot fit on {len(y)} row(s)")
    return y


def check_weight(sample_weight, n: int) -> np.ndarray | None:
    """``sample_weight`` as float64, one finite non-negative weight per row and not all zero (None stays None)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,):
        raise LanlError(f"sample_weight must be one weight per row: {n} rows, weights of shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise LanlError("sample_weight holds negative, NaN or infinite values")
    if not w.any():
        raise LanlError("sample_weight is zero on every row")
    return w


def validate_params(model) -> None:
    """The model's parameters against its class's types and ``param_ranges`` (what ``make_model`` checks), for
    an estimator built directly or changed by ``set_params``."""
    check_params(type(model), get_params_json(model), f"parameters of model {model.kind!r}")


def require_package(module: str, extra: str):
    """Import an optional package, or a LanlError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise LanlError(
            f"{module} is not installed: it comes with the optional extra, pip install 'lanl[{extra}]'"
        ) from None


def feature_names(X) -> list[str]:
    """Column names of a feature matrix (``f0``, ``f1``, ... for an array)."""
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    return [f"f{i}" for i in range(np.asarray(X).shape[1])]


def feature_values(X) -> np.ndarray:
    return X.to_numpy(np.float64) if isinstance(X, pd.DataFrame) else np.asarray(X, np.float64)


def finite_values(X, where: str) -> np.ndarray:
    """``feature_values(X)``, or a LanlError naming the columns that hold NaN or infinite values (models that
    cannot take them: the scikit-learn pipelines and the MLP)."""
    values = feature_values(X)
    bad = ~np.isfinite(values).all(axis=0)
    if bad.any():
        names = [n for n, b in zip(feature_names(X), bad, strict=True) if b]
        raise LanlError(
            f"{where} cannot take NaN or infinite features; {len(names)} column(s) hold some, e.g. "
            f"{', '.join(names[:3])} (impute them or leave those columns out)"
        )
    return values
