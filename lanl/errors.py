"""User-facing errors: each names the file, the row (where there is one) and the problem."""

from __future__ import annotations

from pathlib import Path


class LanlError(Exception):
    """An error the user can act on. The CLI prints its message (no traceback) and exits with status 2."""


class DataError(LanlError):
    """Bad input data: ``file``, 1-based ``line`` of the text file (header is line 1) where known, ``problem``."""

    def __init__(self, file: str | Path, problem: str, line: int | None = None):
        self.file = str(file)
        self.line = line
        self.problem = problem
        where = f"{self.file}, line {line}" if line is not None else self.file
        super().__init__(f"{where}: {problem}")


class OfflineError(LanlError):
    """A network-only step (Kaggle API, pretrained weights) failed: the message says what to do instead."""
