"""Recipes: the winning and the popular solutions of the competition as pipeline configs (data, not code).

A recipe is a pipeline TOML (see :mod:`lanl.pipeline`) in this folder plus a ``[recipe]`` table that says what
it is and where it comes from::

    [recipe]
    description = "one line"          # what ``lanl run --list-recipes`` prints
    source = "the write-up or kernel"
    choices = ["what we chose where the write-ups leave a detail open", ...]
    extends = "other-recipe"          # optional: start from that recipe; this file's tables replace its ones

Feature sets a recipe names as ``feature_sets/<file>.toml`` live in ``feature_sets/`` beside it. ``lanl run
--recipe NAME`` runs one on raw data (or, with ``--table``, on a feature table of your own: the recipe's models,
shift and stack on the table's columns); ``lanl bundle --recipe NAME`` makes it a Kaggle kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lanl.errors import LanlError
from lanl.models import model_class
from lanl.pipeline import PipelineConfig, pipeline_config_from_dict, read_toml, run_config

FOLDER = Path(__file__).resolve().parent
FEATURE_SETS = "feature_sets/"
RECIPE_KEYS = ("description", "source", "choices", "extends")


@dataclass
class Recipe:
    name: str
    description: str
    source: str
    choices: list[str] = field(default_factory=list)
    pipeline: dict = field(default_factory=dict)  # the pipeline TOML's tables, feature-set paths resolved

    def config(self, *, tables: bool = False) -> PipelineConfig:
        """The recipe's PipelineConfig. ``tables``: for a feature table of the user's (``lanl run --table``):
        the runs read the table's columns instead of the recipe's feature sets; a raw-signal model is an error."""
        data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.pipeline.items()}
        data["run"] = {m: dict(t) for m, t in data.get("run", {}).items()}
        config = pipeline_config_from_dict(data, f"recipe {self.name}")
        if tables:
            raw = [m for m in config.models if model_class(m).input != "features"]
            if raw:
                raise LanlError(
                    f"recipe {self.name}: {', '.join(raw)} {'reads' if len(raw) == 1 else 'read'} the raw signal, "
                    "so the recipe cannot run on a feature table; run it on raw data (--data) instead"
                )
            for table in config.run.values():
                table.pop("features", None)
        return config


def names() -> list[str]:
    """Every recipe's name, sorted."""
    return sorted(p.stem for p in FOLDER.glob("*.toml"))


def path(name: str) -> Path:
    """The TOML file of recipe ``name``; an unknown name is an error that lists the known ones."""
    file = FOLDER / f"{name}.toml"
    if not name or "/" in name or not file.is_file():
        raise LanlError(f"unknown recipe {name!r}; choose one of {', '.join(names())}")
    return file


def load(name: str, _seen: tuple[str, ...] = ()) -> Recipe:
    """Recipe ``name``, its ``extends`` chain applied and its feature-set files resolved to this folder."""
    if name in _seen:
        raise LanlError(f"recipe {name}: extends itself through {' -> '.join(_seen)}")
    data = read_toml(path(name), "recipe")
    meta = data.pop("recipe", None)
    if not isinstance(meta, dict):
        raise LanlError(f"{path(name)}: a recipe needs a [recipe] table (description, source, choices)")
    unknown = sorted(set(meta) - set(RECIPE_KEYS))
    if unknown:
        raise LanlError(f"{path(name)}: unknown [recipe] keys {unknown}; valid: {list(RECIPE_KEYS)}")
    choices = list(meta.get("choices", []))
    if "extends" in meta:
        base = load(meta["extends"], (*_seen, name))
        data = _merge(base.pipeline, data)
        meta = {"source": base.source, **meta}
        choices = [*base.choices, *choices]
    for key in ("description", "source"):
        if not str(meta.get(key, "")).strip():
            raise LanlError(f"{path(name)}: [recipe] {key} is missing")
    for table in data.get("run", {}).values():
        features = str(table.get("features", ""))
        if features.startswith(FEATURE_SETS):
            table["features"] = str(FOLDER / features)
    recipe = Recipe(name, meta["description"], meta["source"], choices, data)
    config = recipe.config()  # a bad recipe fails when it is loaded
    for model in config.models:
        run_config(config, model)
    return recipe


def summaries() -> list[tuple[str, str]]:
    """(name, one-line description) of every recipe."""
    return [(n, load(n).description) for n in names()]


def _merge(base: dict, over: dict) -> dict:
    """``base`` with ``over`` on top; tables merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
