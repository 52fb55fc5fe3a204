"""One place that decides how progress is shown (tqdm on stderr; silent when LANL_PROGRESS=0)."""

from __future__ import annotations

import os

from tqdm.auto import tqdm


def enabled() -> bool:
    return os.environ.get("LANL_PROGRESS", "1") != "0"


def progress(
    iterable=None,
    *,
    total=None,
    desc: str = "",
    unit: str = "it",
    unit_scale: bool = False,
    disable: bool = False,
    **kw,
):
    """A progress bar (rate and ETA) around ``iterable`` or, with ``iterable=None``, a manual bar."""
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=unit_scale,
        disable=disable or not enabled(),
        dynamic_ncols=True,
        mininterval=0.5,
        **kw,
    )
