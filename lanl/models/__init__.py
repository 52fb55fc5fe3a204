"""Models behind one interface (fit on a training table or sequence set, predict, save, load).

    make_model(kind, params)  -> an unfitted estimator (unknown keys, bad values: LanlError)
    load_model(path)          -> the fitted estimator saved at ``path``
    MODEL_KINDS               -> the kinds, in registry order

On feature tables:

* ``lgbm`` (:class:`~lanl.models.lgbm.LGBMRegressor`) and ``lgbm_dask`` (the same on a Dask cluster);
* ``catboost``, ``xgboost`` (:mod:`lanl.models.boost`; the optional extra ``lanl[boost]``);
* ``svr``, ``nusvr``, ``knn``, ``ridge`` (:mod:`lanl.models.sklearn_models`: scikit-learn pipelines);
* ``mlp`` (:class:`~lanl.models.mlp.MLPRegressor`, optionally multitask);

on the signal: ``cnn`` (:class:`~lanl.models.cnn.CNNRegressor`, raw windows) and ``lstm``
(:class:`~lanl.models.rnn.RNNRegressor`, per-chunk feature sequences, :mod:`lanl.models.chunks`).

A kind's module (torch, catboost, ...) is imported only when that kind is asked for. Saved models: ``.json``
(LightGBM, CatBoost, XGBoost, level-2 stackers), ``.pt`` (the torch nets), ``.npz`` (the scikit-learn
pipelines); each file names its kind.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from lanl.errors import LanlError
from lanl.models.base import check_params, require_package
from lanl.models.target import TARGETS, Target

_CLASSES = {
    "lgbm": ("lanl.models.lgbm", "LGBMRegressor"),
    "cnn": ("lanl.models.cnn", "CNNRegressor"),
    "lstm": ("lanl.models.rnn", "RNNRegressor"),
    "lgbm_dask": ("lanl.models.lgbm_dask", "DaskLGBMRegressor"),
    "svr": ("lanl.models.sklearn_models", "SVRRegressor"),
    "nusvr": ("lanl.models.sklearn_models", "NuSVRRegressor"),
    "knn": ("lanl.models.sklearn_models", "KNNRegressor"),
    "ridge": ("lanl.models.sklearn_models", "RidgeRegressor"),
    "mlp": ("lanl.models.mlp", "MLPRegressor"),
    "catboost": ("lanl.models.boost", "CatBoostRegressor"),
    "xgboost": ("lanl.models.boost", "XGBoostRegressor"),
}
MODEL_KINDS = tuple(_CLASSES)
_LEVEL2 = ("lanl.models.stacker", "Stacker")  # kind "stack": what lanl.cv.stack fits, loaded like any model
# the level-2 Stacker's methods, here so that the CLI's choices do not import scikit-learn
STACK_METHODS = ("blend", "mean", "linear", "ridge", "lgbm")
SUFFIX = {
    "lgbm": ".json",
    "cnn": ".pt",
    "lstm": ".pt",
    "lgbm_dask": ".json",
    "svr": ".npz",
    "nusvr": ".npz",
    "knn": ".npz",
    "ridge": ".npz",
    "mlp": ".pt",
    "catboost": ".json",
    "xgboost": ".json",
}

__all__ = ["MODEL_KINDS", "SUFFIX", "TARGETS", "Target", "load_model", "make_model", "model_class"]


def model_class(kind: str) -> type:
    if kind not in _CLASSES:
        raise LanlError(f"unknown model {kind!r}; choose one of {', '.join(_CLASSES)}")
    module, name = _CLASSES[kind]
    cls = getattr(importlib.import_module(module), name)
    if getattr(cls, "package", ""):  # an optional package (catboost, xgboost): say which extra installs it
        require_package(cls.package, "boost")
    return cls


def make_model(kind: str, params: dict[str, Any] | None = None):
    """An unfitted model of ``kind``; its parameters' names and types are checked, and their ranges where the
    model says them (``validate``)."""
    cls = model_class(kind)
    return cls(**check_params(cls, params or {}, f"parameters of model {kind!r}"))


def load_model(path: str | Path):
    """A fitted model saved by its ``save``; the file's suffix says how to read the kind it names."""
    path = Path(path)
    if not path.is_file():
        raise LanlError(f"{path}: no such model file")
    readers = {".json": _json_kind, ".pt": _torch_kind, ".npz": _npz_kind}
    if path.suffix not in readers:
        raise LanlError(f"{path}: not a model file (a model file ends in {', '.join(readers)})")
    kind = readers[path.suffix](path)
    if kind == "stack":
        module, name = _LEVEL2
        return getattr(importlib.import_module(module), name).load(path)
    return model_class(kind).load(path)


def _json_kind(path: Path) -> str:
    import json

    try:
        return json.loads(path.read_text()).get("kind", "lgbm")
    except (OSError, ValueError) as exc:
        raise LanlError(f"{path}: not a readable model file ({exc})") from None


def _torch_kind(path: Path) -> str:
    from lanl.models._torch import torch  # torch is the optional extra "nets"

    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which
        raise LanlError(f"{path}: not a readable model file ({exc})") from None
    return doc.get("kind", "?")


def _npz_kind(path: Path) -> str:
    import json

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as doc:
            return json.loads(str(doc["header"])).get("kind", "?")
    except (OSError, ValueError, KeyError) as exc:
        raise LanlError(f"{path}: not a readable model file ({exc})") from None
