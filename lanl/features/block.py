"""A block: equal-length segments as one float64 array, with the intermediates features share.

Every feature of a view of a batch receives the same :class:`Block`, so a mean, a histogram for order
statistics, an rfft or a cumulative sum is computed once per block and only when some feature asks for it.
A block lives for one batch of one view; it holds no global state.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np
import scipy.fft

from lanl.features import _kernels as K

#: integer blocks whose values span at most this many integers get order statistics by counting
COUNTING_RANGE = 2**16 + 1


class Block:
    """``x``: float64 (n_segments, n_samples), C-contiguous; ``keys``: one name per segment (for errors and
    seeds); ``integer``: every value is an integer (order statistics may then be counted, not selected)."""

    def __init__(self, x: np.ndarray, keys: Sequence[str], integer: bool):
        if x.dtype == np.int16:
            self.__dict__["narrow"] = np.ascontiguousarray(x)
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.keys = list(keys)
        self.integer = integer
        self._memo: dict = {}

    @classmethod
    def from_array(cls, values: np.ndarray, keys: Sequence[str]) -> Block:
        """A block of ``values`` (any int or float dtype); integer-valued floats count as integers."""
        values = np.asarray(values)
        if values.dtype.kind in "iu":
            return cls(values, keys, True)
        x = np.ascontiguousarray(values, dtype=np.float64)
        return cls(x, keys, bool(K.all_integral(x)))

    @property
    def n_segments(self) -> int:
        return self.x.shape[0]

    @property
    def length(self) -> int:
        return self.x.shape[1]

    def memo(self, key, compute: Callable[[], np.ndarray]):
        """``compute()``, once per block and ``key``."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @cached_property
    def narrow(self) -> np.ndarray:
        """The same values in int16 when they are integers within its range (raw LANL segments), else ``x``:
        kernels that only compare values run on it four times as many lanes wide."""
        if self.integer and self.minimum.min() >= -(2**15) and self.maximum.max() < 2**15:
            return self.x.astype(np.int16)
        return self.x

    # ---------------------------------------------------------------------------------------- moments
    @cached_property
    def mean(self) -> np.ndarray:
        return self.x.mean(axis=1)

    @cached_property
    def central_sums(self) -> np.ndarray:
        """Columns: sum of (x - mean)^p for p = 1..4, sum of |x - mean|, sum of (t - (n-1)/2) x_t."""
        return K.central_sums(self.x, self.mean)

    # --------------------------------------------------------------------------------- order statistics
    @cached_property
    def _minmax(self) -> tuple[np.ndarray, np.ndarray]:
        return K.minmax_rows(self.x)

    @property
    def minimum(self) -> np.ndarray:
        return self._minmax[0]

    @property
    def maximum(self) -> np.ndarray:
        return self._minmax[1]

    @cached_property
    def _counts(self) -> tuple[float, np.ndarray] | None:
        """For integer blocks of modest range: (lowest value, cumulative counts per value) of each row."""
        lo, hi = self.minimum.min(), self.maximum.max()
        if not self.integer or hi - lo + 1 > COUNTING_RANGE:
            return None
        return lo, K.int_counts(self.narrow, lo, int(hi - lo) + 1)

    @cached_property
    def _histograms(self):
        return K.histograms(self.x, K.n_buckets(self.length))

    def order_stats(self, ranks) -> np.ndarray:
        """(n_segments, len(ranks)): the ``ranks``-th smallest values (0-based) of each segment: by counting
        for integer blocks, else by histogram selection (exact either way)."""
        ranks = np.asarray(ranks, dtype=np.int64)
        uniq, inverse = np.unique(ranks, return_inverse=True)
        if self._counts is not None:
            lo, cum = self._counts
            return K.int_order_stats(cum, lo, uniq)[:, inverse]
        base, scale, starts = self._histograms
        return K.select_rows(self.x, base, scale, starts, uniq)[:, inverse]

    def count_at_most(self, k: float) -> np.ndarray | None:
        """#{t : x_t <= k} per segment for an integer ``k``, read off the value counts when this block has
        already built them (integer blocks asked for order statistics), else None."""
        if "_counts" not in self.__dict__ or self._counts is None:
            return None
        lo, cum = self._counts
        index = int(np.clip(k - lo + 1, 0, cum.shape[1] - 1))  # cum[:, v + 1] = #{x <= lo + v}
        return cum[:, index].astype(np.float64)

    def quantiles(self, qs) -> np.ndarray:
        """(n_segments, len(qs)): numpy's default ('linear') quantiles of each segment."""
        return quantiles_from(self.order_stats, self.length, qs)

    # -------------------------------------------------------------------------------------- spectrum
    @cached_property
    def rfft(self) -> np.ndarray:
        """The one-sided DFT X_k = sum_t x_t exp(-2 pi i k t / n), k = 0..n//2, of each segment."""
        return scipy.fft.rfft(self.x, axis=1)

    @cached_property
    def power(self) -> np.ndarray:
        """|X_k|^2."""
        return K.powers(self.rfft)

    @cached_property
    def magnitude(self) -> np.ndarray:
        """|X_k| = sqrt(|X_k|^2)."""
        return K.roots(self.power)


def quantile_ranks(n: int, qs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For numpy's 'linear' quantiles of n sorted values: the lower and upper ranks and the weight."""
    return _quantile_ranks(n, tuple(float(q) for q in np.atleast_1d(qs)))


@functools.lru_cache(maxsize=256)
def _quantile_ranks(n: int, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """quantile_ranks, kept per (n, qs): every block of a request asks the same (read-only arrays)."""
    out = _compute_quantile_ranks(n, qs)
    for a in out:
        a.flags.writeable = False
    return out


def _compute_quantile_ranks(n: int, qs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    qs = np.asarray(qs, dtype=np.float64)
    virtual = n * qs + (1 - qs) - 1  # numpy's _compute_virtual_index with alpha = beta = 1
    below = np.floor(virtual)
    gamma = virtual - below
    lower = np.clip(below, 0, n - 1).astype(np.int64)
    upper = np.clip(below + 1, 0, n - 1).astype(np.int64)
    top = virtual >= n - 1
    lower[top] = upper[top] = n - 1
    return lower, upper, gamma


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's _lerp: a + (b - a) t, computed from b's side when t >= 0.5."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def quantiles_from(order_stats: Callable, n: int, qs) -> np.ndarray:
    """Quantiles given a function returning the order statistics of given ranks."""
    lower, upper, gamma = quantile_ranks(n, qs)
    values = order_stats(np.concatenate([lower, upper]))
    k = len(lower)
    return lerp(values[:, :k], values[:, k:], gamma)
