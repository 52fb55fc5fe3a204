"""Temporal family, from the popular public kernels: linear trend, STA/LTA ratio, Hann-window mean,
autocorrelation and exponentially weighted means.

t = 0..n-1 is the sample index of a segment x_t; mean = (1/n) sum x_t, m_2 = sum (x_t - mean)^2.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.signal
import scipy.stats

from lanl.features import _kernels as K
from lanl.features.block import Block
from lanl.features.registry import Param, feature

TREND_ATTRS = ("slope", "intercept", "rvalue", "pvalue", "stderr")
STA_LTA_PAIRS = ((500, 10000), (5000, 100000), (3333, 6666), (10000, 25000), (50, 1000), (100, 5000))


@feature(
    "linear_trend",
    family="temporal",
    params={"attr": Param(str, choices=TREND_ATTRS)},
    combiner=True,
    min_length=lambda attr: 3,
    grid=[{"attr": a} for a in TREND_ATTRS],
)
def linear_trend(blk: Block, params: list[dict]) -> np.ndarray:
    """Least-squares line x_t ~ intercept + slope t (scipy.stats.linregress, tsfresh linear_trend):
    slope = S_tx / S_tt with S_tx = sum (t - tbar) x_t, S_tt = n (n^2 - 1) / 12; intercept = mean - slope tbar;
    rvalue = S_tx / sqrt(S_tt m_2); stderr = sqrt((1 - r^2) m_2 / S_tt / (n - 2)); pvalue = two-sided
    Student-t (n - 2 dof) of r sqrt((n - 2) / ((1 - r)(1 + r))). A constant segment has rvalue 0, pvalue 1
    and stderr 0 (linregress answers NaN)."""
    n = blk.length
    stt = n * (n * n - 1.0) / 12.0
    stx = blk.central_sums[:, 5]
    m2 = blk.central_sums[:, 1]
    slope = stx / stt
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(m2 > 0, np.clip(stx / np.sqrt(stt * m2), -1.0, 1.0), 0.0)
    tiny = 1.0e-20
    tstat = r * np.sqrt((n - 2) / ((1.0 - r + tiny) * (1.0 + r + tiny)))
    values = {  # computed only when asked for (the p-value's Student-t tail is the slow one)
        "slope": lambda: slope,
        "intercept": lambda: blk.mean - slope * (n - 1) / 2.0,
        "rvalue": lambda: r,
        "pvalue": lambda: 2 * scipy.stats.t.sf(np.abs(tstat), n - 2),
        "stderr": lambda: np.sqrt(np.maximum(1 - r**2, 0.0) * m2 / stt / (n - 2)),
    }
    return np.stack([values[p["attr"]]() for p in params], axis=1)


@feature(
    "sta_lta_mean",
    family="temporal",
    params={"sta": Param(int, lo=1), "lta": Param(int, lo=2)},
    combiner=True,
    check=lambda p: None if p["sta"] < p["lta"] else "sta must be shorter than lta",
    min_length=lambda sta, lta: lta,
    grid=[{"sta": a, "lta": b} for a, b in STA_LTA_PAIRS],
)
def sta_lta_mean(blk: Block, params: list[dict]) -> np.ndarray:
    """Mean over t of the classic STA/LTA ratio of the kernels' classic_sta_lta (obspy's definition):
    with c = cumsum(x^2), STA_t = (c_t - c_{t-sta}) / sta, LTA_t = max((c_t - c_{t-lta}) / lta, tiny)
    (a window reaching before the start sums from the start), ratio_t = STA_t / LTA_t for t >= lta - 1 and
    0 before; the feature is (1/n) sum_t ratio_t. Exact sums for integer segments (below 2^53)."""
    sta = np.array([p["sta"] for p in params], dtype=np.int64)
    lta = np.array([p["lta"] for p in params], dtype=np.int64)
    return K.sta_lta_means(blk.x, sta, lta, blk.integer)


def hann_weights(n: int, window: int) -> np.ndarray:
    """c_j such that mean(convolve(x, w, 'same')) = sum_j c_j x_j / n, w = the symmetric Hann window.

    The 'same' output i is the 'full' output i + s, s = (window - 1) // 2, so x_j enters with the window
    taps k for which 0 <= j + k - s < n: c_j = sum(w) except within a window of either end."""
    w = scipy.signal.windows.hann(window)
    cum = np.concatenate([[0.0], np.cumsum(w)])
    j = np.arange(n)
    s = (window - 1) // 2
    k_lo = np.clip(s - j, 0, window)
    k_hi = np.clip(s + n - j, 0, window)
    return cum[k_hi] - cum[k_lo]


@feature(
    "hann_window_mean",
    family="temporal",
    params={"window": Param(int, lo=3)},  # hann(2) is all zeros
    min_length=lambda window: window,
    grid=[{"window": w} for w in (50, 150, 1500, 15000)],
)
def hann_window_mean(blk: Block, window: int) -> np.ndarray:
    """Mean of the Hann-smoothed signal: mean(scipy.signal.convolve(x, w, mode='same') / sum(w)) with
    w = scipy.signal.windows.hann(window); computed as sum_j c_j x_j / (n sum(w)) (see hann_weights),
    where only the c_j within a window of either end differ from sum(w)."""
    n = blk.length
    if n < 4 * window:
        weights = hann_weights(n, window)  # einsum, not BLAS: same bits on any thread count
        return np.einsum("ij,j->i", blk.x, weights) / (n * scipy.signal.windows.hann(window).sum())
    c = hann_weights(4 * window, window)  # the same edge weights as for n; its middle is sum(w)
    w_sum = c[2 * window]
    edges = np.einsum("ij,j->i", blk.x[:, :window], c[:window] - w_sum) + np.einsum(
        "ij,j->i", blk.x[:, -window:], c[-window:] - w_sum
    )
    return (w_sum * blk.mean * n + edges) / (n * w_sum)


@feature(
    "autocorrelation",
    family="temporal",
    params={"lag": Param(int, lo=0)},
    combiner=True,
    min_length=lambda lag: lag + 1,
    grid=[{"lag": k} for k in (1, 2, 3, 5, 10, 100, 1000)],
)
def autocorrelation(blk: Block, params: list[dict]) -> np.ndarray:
    """Autocorrelation at a lag l (tsfresh): sum_{t < n-l} (x_t - mean)(x_{t+l} - mean) / ((n - l) var),
    var = m_2 / n; 0 for a constant segment."""
    n = blk.length
    lags = np.array([p["lag"] for p in params], dtype=np.int64)
    cov = K.autocovariances(blk.x, blk.mean, lags) / (n - lags)
    var = (blk.central_sums[:, 1] / n)[:, None]
    return np.divide(cov, var, out=np.zeros_like(cov), where=var > 0)


@feature(
    "ewm_mean",
    family="temporal",
    params={"span": Param(float, lo=1.0)},
    combiner=True,
    grid=[{"span": s} for s in (300.0, 3000.0, 6000.0)],
)
def ewm_mean(blk: Block, params: list[dict]) -> np.ndarray:
    """Mean over t of the exponentially weighted mean x.ewm(span=span).mean() (pandas, adjust=True):
    y_t = sum_{i<=t} (1-a)^(t-i) x_i / sum_{i<=t} (1-a)^(t-i), a = 2 / (span + 1)."""
    return K.ewm_mean_average(blk.x, _ewm_weights(blk.length, tuple(2.0 / (p["span"] + 1.0) for p in params)))


@functools.lru_cache(maxsize=16)
def _ewm_weights(n: int, alphas: tuple[float, ...]) -> np.ndarray:
    """K.ewm_weights of each factor, stacked and kept across blocks: building them is a serial recurrence
    over n samples that costs more than the dot products of a block (read-only, so sharing is safe)."""
    g = np.stack([K.ewm_weights(n, alpha) for alpha in alphas])
    g.flags.writeable = False
    return g
