"""Models behind one interface (fit on a training table or sequence set, predict, save, load).

    make_model("lgbm" | "cnn" | "lstm", params)  -> an unfitted estimator (unknown keys: LanlError)
    load_model(path)                              -> the fitted estimator saved at ``path``
    MODELS                                        -> kind -> estimator class

* :class:`~lanl.models.lgbm.LGBMRegressor` on feature tables,
* :class:`~lanl.models.cnn.CNNRegressor` on raw signal windows,
* :class:`~lanl.models.rnn.RNNRegressor` (``lstm``) on per-chunk feature sequences (:mod:`lanl.models.chunks`).

Torch is imported only when a net is asked for.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from lanl.errors import LanlError
from lanl.models.base import check_params
from lanl.models.target import TARGETS, Target

_CLASSES = {
    "lgbm": ("lanl.models.lgbm", "LGBMRegressor"),
    "cnn": ("lanl.models.cnn", "CNNRegressor"),
    "lstm": ("lanl.models.rnn", "RNNRegressor"),
    "lgbm_dask": ("lanl.models.lgbm_dask", "DaskLGBMRegressor"),
}
MODEL_KINDS = tuple(_CLASSES)
SUFFIX = {"lgbm": ".json", "cnn": ".pt", "lstm": ".pt", "lgbm_dask": ".json"}

__all__ = ["MODEL_KINDS", "SUFFIX", "TARGETS", "Target", "load_model", "make_model", "model_class"]


def model_class(kind: str) -> type:
    if kind not in _CLASSES:
        raise LanlError(f"unknown model {kind!r}; choose one of {', '.join(_CLASSES)}")
    module, name = _CLASSES[kind]
    return getattr(importlib.import_module(module), name)


def make_model(kind: str, params: dict[str, Any] | None = None):
    cls = model_class(kind)
    return cls(**check_params(cls, params or {}, f"parameters of model {kind!r}"))


def load_model(path: str | Path):
    """A fitted model saved by its ``save``: LightGBM and level-2 stackers as JSON, the nets as torch files."""
    path = Path(path)
    if not path.is_file():
        raise LanlError(f"{path}: no such model file")
    kind = _json_kind(path) if path.suffix == ".json" else _torch_kind(path)
    if kind == "stack":
        from lanl.stack import load_stacker

        return load_stacker(path)
    return model_class(kind).load(path)


def _json_kind(path: Path) -> str:
    import json

    try:
        return json.loads(path.read_text()).get("kind", "lgbm")
    except (OSError, ValueError) as exc:
        raise LanlError(f"{path}: not a readable model file ({exc})") from None


def _torch_kind(path: Path) -> str:
    from lanl.models._torch import torch

    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which
        raise LanlError(f"{path}: not a readable model file ({exc})") from None
    return doc.get("kind", "?")
