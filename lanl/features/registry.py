"""The feature and manipulation registries, their parameter types, and column names that parse back.

A *feature* is a pure function of a :class:`~lanl.features.block.Block` (a 2-D float64 batch of segments
and its shared intermediates) and its parameters, returning one value per segment. It is registered by name
with :func:`feature`, which records its family, its typed parameters, the shortest segment it is defined
on, and a default parameter grid (used by the ``full`` set). A *combiner* feature takes the whole list of
parameter dicts requested for it and returns one column per dict, so work shared between parameter values
(a sort, a rolling series) is done once.

A *manipulation* turns a 2-D block into another (noise, denoising, absolute value, a head or tail slice);
feature sets chain them into named *views* of the signal.

Column names follow tsfresh: ``<view>__<feature>__<param>_<value>__...`` (parameters in declaration order,
optional ones omitted when unset); :func:`parse_column` turns a name back into (view, feature, params).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lanl.errors import LanlError

BASE_VIEW = "signal"  # the view every feature set has: the segment as read, before any manipulation

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_STRING_VALUE = re.compile(r"^[A-Za-z][A-Za-z0-9.+-]*$")


# ----------------------------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Param:
    """A typed parameter: ``kind`` is int, float, bool or str; numbers may be bounded; strings may be
    restricted to ``choices``. An optional parameter left unset takes the function's own default and is
    left out of the column name."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    required: bool = True

    def coerce(self, value: Any) -> Any:
        """``value`` as this parameter's type, or ValueError saying why not."""
        if self.kind is bool:
            if not isinstance(value, bool | np.bool_):
                raise ValueError(f"expected true/false, got {value!r}")
            return bool(value)
        if self.kind is str:
            return self._coerce_str(value)
        if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating
        ):
            raise ValueError(f"expected a number, got {value!r}")
        if self.kind is int:
            if float(value) != int(value):
                raise ValueError(f"expected an integer, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"expected a finite number, got {value!r}")
        if self.lo is not None and value < self.lo:
            raise ValueError(f"must be >= {self.lo}, got {value!r}")
        if self.hi is not None and value > self.hi:
            raise ValueError(f"must be <= {self.hi}, got {value!r}")
        return value

    def _coerce_str(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}; got {value!r}")
        if not _STRING_VALUE.match(value) or _looks_numeric(value) or value in ("True", "False"):
            raise ValueError(f"string values must be a letter then letters, digits, '.', '+', '-': {value!r}")
        return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------- registered items
@dataclass(frozen=True)
class Registered:
    """A registered feature or manipulation: its function and the contract around it."""

    name: str
    func: Callable
    family: str
    params: Mapping[str, Param]
    combiner: bool = False
    min_length: Callable[..., int] = field(default=lambda **_: 1)
    grid: tuple[Mapping[str, Any], ...] = ()
    check: Callable[[dict], str | None] | None = None

    @property
    def doc(self) -> str:
        return (self.func.__doc__ or "").strip()

    def normalize(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` checked and coerced, in declaration order, unset optional ones dropped."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise LanlError(
                f"{self.name}: unknown parameter(s) {', '.join(unknown)}; it takes {self.param_list()}"
            )
        out = {}
        for name, spec in self.params.items():
            if name in params and params[name] is not None:
                try:
                    out[name] = spec.coerce(params[name])
                except ValueError as exc:
                    raise LanlError(f"{self.name}: parameter {name}: {exc}") from None
            elif spec.required:
                raise LanlError(f"{self.name}: parameter {name} is required; it takes {self.param_list()}")
        problem = self.check(out) if self.check else None
        if problem:
            raise LanlError(f"{self.name} {out}: {problem}")
        return out

    def param_list(self) -> str:
        return ", ".join(self.params) or "no parameters"


@dataclass
class Registry:
    """Name -> :class:`Registered`, filled once at import by the decorators of the family modules."""

    kind: str
    items: dict[str, Registered] = field(default_factory=dict)

    def add(self, item: Registered) -> None:
        if not _NAME.match(item.name):
            raise ValueError(f"bad {self.kind} name {item.name!r}")
        if item.name in self.items:
            raise ValueError(f"{self.kind} {item.name!r} registered twice")
        self.items[item.name] = item

    def get(self, name: str) -> Registered:
        try:
            return self.items[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), list(self.items), n=3)
            hint = (
                f"; did you mean {', '.join(close)}?"
                if close
                else f"; known: {', '.join(sorted(self.items))}"
            )
            raise LanlError(f"unknown {self.kind} {name!r}{hint}") from None

    def __iter__(self):
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)


FEATURES = Registry("feature")
MANIPULATIONS = Registry("manipulation")


def feature(
    name: str,
    *,
    family: str,
    params: Mapping[str, Param] | None = None,
    combiner: bool = False,
    min_length: Callable[..., int] | None = None,
    grid: Sequence[Mapping[str, Any]] = ({},),
    check: Callable[[dict], str | None] | None = None,
):
    """Register ``func(block, **params) -> (n,)`` (or, with ``combiner``, ``func(block, [params...]) -> (n, k)``)
    as feature ``name``. ``min_length(**params)`` is the shortest segment it is defined on; ``grid`` is its
    default parameter list (for the ``full`` set); ``check(params)`` returns a problem with a parameter
    combination, or None."""

    def register(func):
        FEATURES.add(_registered(name, func, family, params, combiner, min_length, grid, check))
        return func

    return register


def manipulation(
    name: str,
    *,
    params: Mapping[str, Param] | None = None,
    min_length: Callable[..., int] | None = None,
    check: Callable[[dict], str | None] | None = None,
):
    """Register ``func(x2d, context, **params) -> x2d`` as a signal manipulation (see manipulations.py)."""

    def register(func):
        MANIPULATIONS.add(_registered(name, func, "manipulation", params, False, min_length, (), check))
        return func

    return register


def _registered(name, func, family, params, combiner, min_length, grid, check) -> Registered:
    item = Registered(
        name, func, family, dict(params or {}), combiner, min_length or (lambda **_: 1), (), check
    )
    return dataclasses.replace(item, grid=tuple(item.normalize(p) for p in grid))


# ----------------------------------------------------------------------------------------------- columns
def format_value(value: Any) -> str:
    """The text of a parameter value in a column name (repr of floats, so it parses back exactly)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_value(text: str) -> Any:
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def column_name(view: str, feature_name: str, params: Mapping[str, Any]) -> str:
    """``<view>__<feature>__<param>_<value>__...`` in the order given."""
    parts = [view, feature_name] + [f"{k}_{format_value(v)}" for k, v in params.items()]
    return "__".join(parts)


@dataclass(frozen=True)
class Column:
    view: str
    feature: str
    params: dict


def parse_column(name: str) -> Column:
    """Split a column name back into view, feature and typed parameters (the inverse of column_name)."""
    parts = name.split("__")
    if len(parts) < 2 or not all(parts):
        raise LanlError(
            f"not a feature column name: {name!r} (expected <view>__<feature>__<param>_<value>...)"
        )
    params = {}
    for part in parts[2:]:
        key, sep, text = part.rpartition("_")
        if not sep or not key or not text:
            raise LanlError(f"column {name!r}: cannot read parameter {part!r} (expected <param>_<value>)")
        params[key] = parse_value(text)
    return Column(parts[0], parts[1], params)
