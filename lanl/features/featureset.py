"""Feature sets: which features, with which parameters, on which views of the signal. Data, not code.

A set is written as a dict (or a TOML / YAML file of the same shape)::

    name = "winners"
    seed = 0                                   # seeds the random manipulations
    [views]                                    # named chains of manipulations; "signal" defaults to []
    signal = [{manipulation = "noise_median", sigma = 0.5}]
    denoised = [{manipulation = "noise_median", sigma = 0.5}, {manipulation = "wavelet_denoise"}]
    [[features]]
    feature = "number_peaks"
    view = "denoised"                          # or views = ["signal", "abs"]; default "signal"
    params = [{n = 2}]                         # or grid = {n = [1, 2, 3]} (cartesian product); default [{}]

Every view chain starts from the raw segment. Column order is the order of the entries.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lanl.errors import LanlError
from lanl.features import builtin_sets
from lanl.features.registry import BASE_VIEW, FEATURES, MANIPULATIONS, column_name, parse_column

_VIEW_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_ENTRY_KEYS = {"feature", "view", "views", "params", "grid"}
_SET_KEYS = {"name", "seed", "description", "views", "features"}

Params = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Step:
    """One manipulation of a view chain."""

    manipulation: str
    params: Params = ()

    def to_dict(self) -> dict:
        return {"manipulation": self.manipulation, **dict(self.params)}


@dataclass(frozen=True)
class FeatureSpec:
    """One output column: a feature with its parameters on a view."""

    view: str
    feature: str
    params: Params = ()

    @property
    def column(self) -> str:
        return column_name(self.view, self.feature, dict(self.params))


@dataclass(frozen=True)
class FeatureSet:
    """An ordered list of :class:`FeatureSpec` plus the views they read and the seed of random views."""

    name: str
    features: tuple[FeatureSpec, ...]
    views: tuple[tuple[str, tuple[Step, ...]], ...] = ((BASE_VIEW, ()),)
    seed: int = 0
    description: str = field(default="", compare=False)

    @property
    def columns(self) -> list[str]:
        return [spec.column for spec in self.features]

    def chain(self, view: str) -> tuple[Step, ...]:
        return dict(self.views)[view]

    def to_dict(self) -> dict:
        """The set as plain data (the TOML shape, one entry per column)."""
        return {
            "name": self.name,
            "seed": self.seed,
            "description": self.description,
            "views": {v: [s.to_dict() for s in chain] for v, chain in self.views},
            "features": [
                {"feature": s.feature, "view": s.view, "params": [dict(s.params)]} for s in self.features
            ],
        }

    @property
    def hash(self) -> str:
        """sha256 of what determines the values (views, features, seed), not of the name or description."""
        data = self.to_dict()
        blob = json.dumps([data["seed"], data["views"], data["features"]], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def select(self, columns: Sequence[str], name: str | None = None) -> FeatureSet:
        """The subset of this set computing ``columns`` (names parse back to view, feature and params)."""
        known = {spec.column: spec for spec in self.features}
        specs = []
        for col in columns:
            parsed = parse_column(col)
            spec = known.get(col) or _spec(parsed.view, parsed.feature, parsed.params, dict(self.views))
            specs.append(spec)
        used = {s.view for s in specs} | {BASE_VIEW}
        views = tuple((v, c) for v, c in self.views if v in used)
        return _checked(FeatureSet(name or f"{self.name}-subset", tuple(specs), views, self.seed))


def from_dict(data: Mapping[str, Any], *, source: str = "feature set") -> FeatureSet:
    """Build and validate a set from plain data; errors name ``source`` and the bad entry."""
    try:
        return _from_dict(data)
    except LanlError as exc:
        raise LanlError(f"{source}: {exc}") from None


def _from_dict(data: Mapping[str, Any]) -> FeatureSet:
    if not isinstance(data, Mapping):
        raise LanlError("a feature set must be a table (mapping)")
    _no_unknown_keys(data, _SET_KEYS, "feature set")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LanlError(f"seed must be a non-negative integer, got {seed!r}")
    views = _views(data.get("views", {}))
    entries = data.get("features")
    if not isinstance(entries, list) or not entries:
        raise LanlError("'features' must be a non-empty list of entries")
    specs = [spec for i, entry in enumerate(entries) for spec in _entry(entry, i, views)]
    name = str(data.get("name", "custom"))
    used = {s.view for s in specs} | {BASE_VIEW}
    view_items = tuple((v, chain) for v, chain in views.items() if v in used)
    return _checked(FeatureSet(name, tuple(specs), view_items, seed, str(data.get("description", ""))))


def _views(raw: Any) -> dict[str, tuple[Step, ...]]:
    if not isinstance(raw, Mapping):
        raise LanlError("'views' must be a table of view name -> list of manipulations")
    views = {BASE_VIEW: ()}
    for name, steps in raw.items():
        if not isinstance(name, str) or not _VIEW_NAME.match(name):
            raise LanlError(f"bad view name {name!r} (lowercase letters, digits, single underscores)")
        if not isinstance(steps, list):
            raise LanlError(f"view {name!r}: expected a list of manipulations")
        views[name] = tuple(_step(s, name) for s in steps)
    return views


def _step(raw: Any, view: str) -> Step:
    if not isinstance(raw, Mapping) or "manipulation" not in raw:
        raise LanlError(f"view {view!r}: each step needs a 'manipulation' key, got {raw!r}")
    params = {k: v for k, v in raw.items() if k != "manipulation"}
    try:
        item = MANIPULATIONS.get(raw["manipulation"])
        return Step(item.name, tuple(item.normalize(params).items()))
    except LanlError as exc:
        raise LanlError(f"view {view!r}: {exc}") from None


def _entry(entry: Any, index: int, views: Mapping[str, tuple[Step, ...]]) -> list[FeatureSpec]:
    where = f"features[{index}]"
    if not isinstance(entry, Mapping) or "feature" not in entry:
        raise LanlError(f"{where}: each entry needs a 'feature' key, got {entry!r}")
    _no_unknown_keys(entry, _ENTRY_KEYS, where)
    entry_views = entry.get("views", entry.get("view", BASE_VIEW))
    entry_views = [entry_views] if isinstance(entry_views, str) else entry_views
    try:
        return [_spec(v, entry["feature"], p, views) for v in entry_views for p in _param_list(entry)]
    except LanlError as exc:
        raise LanlError(f"{where}: {exc}") from None


def _param_list(entry: Mapping[str, Any]) -> list[dict]:
    if "params" in entry and "grid" in entry:
        raise LanlError("give 'params' or 'grid', not both")
    if "grid" in entry:
        grid = entry["grid"]
        if not isinstance(grid, Mapping) or not all(isinstance(v, list) for v in grid.values()):
            raise LanlError("'grid' must map each parameter to a list of values")
        return [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    params = entry.get("params", [{}])
    if not isinstance(params, list) or not all(isinstance(p, Mapping) for p in params):
        raise LanlError("'params' must be a list of tables")
    return [dict(p) for p in params]


def _spec(view: str, feature: str, params: Mapping[str, Any], views: Mapping) -> FeatureSpec:
    if view not in views:
        raise LanlError(f"unknown view {view!r}; defined: {', '.join(views)}")
    item = FEATURES.get(feature)
    return FeatureSpec(view, item.name, tuple(item.normalize(params).items()))


def _checked(fs: FeatureSet) -> FeatureSet:
    seen = set()
    for col in fs.columns:
        if col in seen:
            raise LanlError(f"column {col} is requested twice")
        seen.add(col)
    return fs


def _no_unknown_keys(data: Mapping, allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise LanlError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(sorted(allowed))}"
        )


# ------------------------------------------------------------------------------------------------ loading
def read_file(path: str | Path) -> FeatureSet:
    """A set from a .toml file (or .yaml / .yml when PyYAML is installed)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise LanlError(f"{path}: cannot read the feature set file ({exc.strerror})") from None
    if path.suffix in (".yaml", ".yml"):
        data = _parse_yaml(text, path)
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LanlError(f"{path}: not valid TOML: {exc}") from None
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    return from_dict(data, source=str(path))


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        import yaml
    except ImportError:
        raise LanlError(f"{path}: reading YAML needs PyYAML (pip install pyyaml); or use TOML") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LanlError(f"{path}: not valid YAML: {exc}") from None


def load(name_or_path: str | Path | FeatureSet) -> FeatureSet:
    """A built-in set by name (``winners``, ``kernel``, ``full``), a set file, or a set itself."""
    if isinstance(name_or_path, FeatureSet):
        return name_or_path
    text = str(name_or_path)
    if text in builtin_sets.NAMES:
        return from_dict(builtin_sets.data(text), source=f"built-in set {text!r}")
    if Path(text).suffix in (".toml", ".yaml", ".yml") or Path(text).exists():
        return read_file(text)
    raise LanlError(
        f"unknown feature set {text!r}: use one of {', '.join(builtin_sets.NAMES)} or a .toml file"
    )
