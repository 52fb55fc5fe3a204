"""Peaks and crossings family (tsfresh semantics).

The 1st-place solution's peak count is ``number_peaks`` with n=2 on the wavelet-denoised view of the
noise-and-median manipulated signal (see the ``winners`` feature set).
"""

from __future__ import annotations

import numpy as np

from lanl.features import _kernels as K
from lanl.features.block import Block
from lanl.features.registry import Param, feature


@feature(
    "number_peaks",
    family="peaks",
    params={"n": Param(int, lo=1)},
    combiner=True,
    min_length=lambda n: 2 * n + 1,
    grid=[{"n": n} for n in (1, 2, 3, 5, 10, 50, 100)],
)
def number_peaks(blk: Block, params: list[dict]) -> np.ndarray:
    """Number of peaks of support n: #{t : n <= t < len - n, x_t > x_{t-j} and x_t > x_{t+j} for j = 1..n}
    (strict inequalities; tsfresh number_peaks). All supports of a set are counted in one pass."""
    supports, inverse = np.unique([p["n"] for p in params], return_inverse=True)
    return K.number_peaks(blk.narrow, supports.astype(np.int64))[:, inverse]


@feature(
    "number_crossing_m",
    family="peaks",
    params={"m": Param(float)},
    min_length=lambda m: 2,
    grid=[{"m": m} for m in (-10.0, -1.0, 0.0, 1.0, 10.0)],
)
def number_crossing_m(blk: Block, m: float) -> np.ndarray:
    """Number of level crossings of m: #{t : (x_t > m) != (x_{t+1} > m)} (tsfresh number_crossing_m;
    m = 0 counts zero crossings)."""
    return K.crossings(blk.x, m)
