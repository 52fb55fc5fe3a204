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
