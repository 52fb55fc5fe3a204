"""Distribution family: moments, order statistics, counts and change rates of each segment.

Notation: x_1..x_n one segment, mean = (1/n) sum x_t, m_p = sum (x_t - mean)^p, x_(k) the k-th smallest
(0-based). Absolute-value versions are the same features on the ``abs`` view of a feature set.
"""

from __future__ import annotations

import numpy as np

from lanl.features import _kernels as K
from lanl.features.block import Block
from lanl.features.registry import Param, feature

_QUANTILE_GRID = [0.001, 0.01, 0.05, 0.1, 0.25, 0.75, 0.9, 0.95, 0.99, 0.999]


@feature("mean", family="distribution")
def mean(blk: Block) -> np.ndarray:
    """Arithmetic mean: (1/n) sum x_t."""
    return blk.mean


@feature("sum", family="distribution")
def sum_values(blk: Block) -> np.ndarray:
    """Sum of the values: sum x_t (tsfresh sum_values)."""
    return blk.x.sum(axis=1)


@feature(
    "std",
    family="distribution",
    params={"ddof": Param(int, lo=0, hi=1)},
    min_length=lambda ddof: ddof + 1,
    grid=[{"ddof": 0}, {"ddof": 1}],
)
def std(blk: Block, ddof: int) -> np.ndarray:
    """Standard deviation: sqrt(m_2 / (n - ddof)); ddof=0 is numpy's default, ddof=1 pandas'."""
    return np.sqrt(blk.central_sums[:, 1] / (blk.length - ddof))


@feature("min", family="distribution")
def minimum(blk: Block) -> np.ndarray:
    """Smallest value x_(0)."""
    return blk.minimum


@feature("max", family="distribution")
def maximum(blk: Block) -> np.ndarray:
    """Largest value x_(n-1)."""
    return blk.maximum


@feature("median", family="distribution")
def median(blk: Block) -> np.ndarray:
    """Median: x_((n-1)/2) for odd n, the mean of the two middle values for even n (np.median)."""
    n = blk.length
    both = blk.order_stats([(n - 1) // 2, n // 2])
    return (both[:, 0] + both[:, 1]) / 2


@feature(
    "quantile",
    family="distribution",
    params={"q": Param(float, lo=0.0, hi=1.0)},
    combiner=True,
    grid=[{"q": q} for q in _QUANTILE_GRID],
)
def quantile(blk: Block, params: list[dict]) -> np.ndarray:
    """q-quantile with linear interpolation (np.quantile's default): with h = (n - 1) q,
    x_(floor h) + (h - floor h) (x_(floor h + 1) - x_(floor h))."""
    return blk.quantiles([p["q"] for p in params])


def _check_range(params: dict) -> str | None:
    return None if params["lo"] < params["hi"] else f"lo must be below hi, got {params['lo']}, {params['hi']}"


@feature(
    "quantile_range",
    family="distribution",
    params={"lo": Param(float, lo=0.0, hi=1.0), "hi": Param(float, lo=0.0, hi=1.0)},
    combiner=True,
    check=_check_range,
    grid=[{"lo": 0.01, "hi": 0.99}, {"lo": 0.05, "hi": 0.95}, {"lo": 0.1, "hi": 0.9}],
)
def quantile_range(blk: Block, params: list[dict]) -> np.ndarray:
    """Quantile spread: quantile(hi) - quantile(lo) (np.quantile, linear interpolation); lo=0.25, hi=0.75 is
    the iqr."""
    qs = sorted({p[k] for p in params for k in ("lo", "hi")})
    values = dict(zip(qs, blk.quantiles(qs).T, strict=True))
    return np.column_stack([values[p["hi"]] - values[p["lo"]] for p in params])


@feature("iqr", family="distribution")
def iqr(blk: Block) -> np.ndarray:
    """Interquartile range: quantile(0.75) - quantile(0.25)."""
    q = blk.quantiles([0.25, 0.75])
    return q[:, 1] - q[:, 0]


@feature(
    "trimmed_mean",
    family="distribution",
    params={"proportion": Param(float, lo=0.0, hi=0.4999)},
    grid=[{"proportion": 0.05}, {"proportion": 0.1}, {"proportion": 0.25}],
)
def trimmed_mean(blk: Block, proportion: float) -> np.ndarray:
    """Mean of x_(c)..x_(n-c-1) with c = floor(proportion n) cut from each end (scipy.stats.trim_mean)."""
    n = blk.length
    cut = int(proportion * n)
    lo, hi = cut, n - cut
    ends = blk.order_stats([lo, hi - 1])
    return K.trimmed_sums(blk.x, ends[:, 0], ends[:, 1], lo, hi) / (hi - lo)


@feature("mean_abs_deviation", family="distribution")
def mean_abs_deviation(blk: Block) -> np.ndarray:
    """Mean absolute deviation around the mean: (1/n) sum |x_t - mean| (pandas' former Series.mad)."""
    return blk.central_sums[:, 4] / blk.length


@feature("median_abs_deviation", family="distribution")
def median_abs_deviation(blk: Block) -> np.ndarray:
    """Median absolute deviation: median_t |x_t - median(x)| (scipy.stats.median_abs_deviation, scale 1)."""
    med = median(blk)
    dev = Block(np.abs(blk.x - med[:, None]), blk.keys, integer=False)
    return median(dev)


@feature("skew", family="distribution", min_length=lambda: 3)
def skew(blk: Block) -> np.ndarray:
    """Sample skewness G1 = n sqrt(n - 1) / (n - 2) * m_3 / m_2^1.5 (pandas Series.skew; 0 for a constant segment, where pandas answers NaN)."""
    n = blk.length
    m2, m3 = blk.central_sums[:, 1], blk.central_sums[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        g1 = n * np.sqrt(n - 1.0) / (n - 2.0) * m3 / m2**1.5
    return np.where(m2 == 0, 0.0, g1)


@feature("kurtosis", family="distribution", min_length=lambda: 4)
def kurtosis(blk: Block) -> np.ndarray:
    """Sample excess kurtosis G2 = n (n+1) (n-1) m_4 / ((n-2) (n-3) m_2^2) - 3 (n-1)^2 / ((n-2) (n-3))
    (pandas Series.kurtosis; 0 for a constant segment, where pandas answers NaN)."""
    n = float(blk.length)
    m2, m4 = blk.central_sums[:, 1], blk.central_sums[:, 3]
    adj = 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        g2 = n * (n + 1) * (n - 1) * m4 / ((n - 2) * (n - 3) * m2**2) - adj
    return np.where(m2 == 0, 0.0, g2)


@feature(
    "count_above",
    family="distribution",
    params={"threshold": Param(float)},
    grid=[{"threshold": t} for t in (0.0, 10.0, 100.0, 500.0, 1000.0)],
)
def count_above(blk: Block, threshold: float) -> np.ndarray:
    """Number of values strictly above the threshold: #{t : x_t > threshold}."""
    at_most = blk.count_at_most(np.floor(threshold)) if blk.integer else None  # x <= t iff x <= floor(t)
    if at_most is not None:
        return blk.length - at_most
    return np.count_nonzero(blk.x > threshold, axis=1).astype(np.float64)


@feature(
    "count_below",
    family="distribution",
    params={"threshold": Param(float)},
    grid=[{"threshold": t} for t in (0.0, -10.0, -100.0, -500.0, -1000.0)],
)
def count_below(blk: Block, threshold: float) -> np.ndarray:
    """Number of values strictly below the threshold: #{t : x_t < threshold}."""
    below = blk.count_at_most(np.ceil(threshold) - 1) if blk.integer else None  # x < t iff x <= ceil(t) - 1
    if below is not None:
        return below
    return np.count_nonzero(blk.x < threshold, axis=1).astype(np.float64)


@feature("abs_energy", family="distribution")
def abs_energy(blk: Block) -> np.ndarray:
    """Energy: sum x_t^2 (tsfresh abs_energy)."""
    return np.einsum("ij,ij->i", blk.x, blk.x)


@feature("mean_change", family="distribution", min_length=lambda: 2)
def mean_change(blk: Block) -> np.ndarray:
    """Mean of the first differences: (1/(n-1)) sum (x_{t+1} - x_t) = (x_n - x_1) / (n - 1)."""
    return (blk.x[:, -1] - blk.x[:, 0]) / (blk.length - 1)


@feature("mean_abs_change", family="distribution", min_length=lambda: 2)
def mean_abs_change(blk: Block) -> np.ndarray:
    """Mean absolute first difference: (1/(n-1)) sum |x_{t+1} - x_t| (tsfresh mean_abs_change)."""
    return K.mean_abs_diff(blk.x)


@feature("mean_change_rate", family="distribution", min_length=lambda: 2)
def mean_change_rate(blk: Block) -> np.ndarray:
    """Mean relative change of the popular kernels' calc_change_rate: the mean of
    r_t = (x_{t+1} - x_t) / x_t over the steps where r_t is finite and non-zero (0 when there is none)."""
    return K.change_rate_mean(blk.x)
