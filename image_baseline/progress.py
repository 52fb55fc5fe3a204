"""One switch for progress bars: on by default, off with IMAGE_BASELINE_PROGRESS=0."""

from __future__ import annotations

import os


def enabled() -> bool:
    return os.environ.get("IMAGE_BASELINE_PROGRESS", "1") != "0"


def bar(iterable, *, desc: str = "", total: int | None = None):
    """A tqdm bar around ``iterable`` (rate and ETA on stderr), silent when progress is off."""
    from tqdm import tqdm  # text bars everywhere, notebooks included (no ipywidgets needed)

    return tqdm(iterable, desc=desc, total=total, disable=not enabled(), dynamic_ncols=True, leave=False)
