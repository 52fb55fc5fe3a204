"""Rolling-window family: summaries of the rolling mean and the rolling standard deviation series.

For a window of w samples a rolling series has one value per full window, r_j for j = 0..m-1, m = n-w+1:
``series=mean`` is pandas ``x.rolling(w).mean()`` and ``series=std`` is ``x.rolling(w).std()`` (ddof=1),
leading NaNs dropped. The feature summarises that series with ``stat``:

* ``mean``: (1/m) sum r_j;  ``std``: sqrt((1/m) sum (r_j - mean)^2) (ddof=0, as np.std);
* ``min`` / ``max``;  ``change``: (r_{m-1} - r_0) / (m - 1), the mean of diff(r) (the mean change);
* ``quantile``: np.quantile(r, q) (linear interpolation). The 1st-place solution's 20th percentile of the
  rolling std over 50 samples is window=50, series=std, stat=quantile, q=0.2.

Both series of a window come from one pass of sliding window sums, so a set asking for several statistics
of both series of a window pays for one pass.
"""

from __future__ import annotations

import functools

import numpy as np

from lanl.features import _kernels as K
from lanl.features.block import Block, lerp, quantile_ranks
from lanl.features.registry import Param, feature

SERIES = ("mean", "std")
STATS = ("mean", "std", "min", "max", "change", "quantile")
_STAT_COLUMN = {"mean": 0, "std": 1, "min": 2, "max": 3, "change": 4}
_WINDOWS = (10, 50, 100, 500, 1000)
_QUANTILES = (0.01, 0.05, 0.1, 0.2, 0.5, 0.95, 0.99)


def _check(params: dict) -> str | None:
    if (params["stat"] == "quantile") != ("q" in params):
        return "q is required with stat=quantile, and only then"
    return None


def _grid() -> list[dict]:
    plain = [{"stat": s} for s in STATS if s != "quantile"]
    quantiles = [{"stat": "quantile", "q": q} for q in _QUANTILES]
    return [{"window": w, "series": f, **p} for w in _WINDOWS for f in SERIES for p in plain + quantiles]


@feature(
    "rolling",
    family="rolling",
    params={
        "window": Param(int, lo=2),
        "series": Param(str, choices=SERIES),
        "stat": Param(str, choices=STATS),
        "q": Param(float, lo=0.0, hi=1.0, required=False),
    },
    combiner=True,
    check=_check,
    min_length=lambda window, **_: window + 1,
    grid=_grid(),
)
def rolling(blk: Block, params: list[dict]) -> np.ndarray:
    """Summary ``stat`` of the rolling ``series`` (mean or sample std) over ``window`` samples: see the
    module docstring. One kernel call serves every statistic of both series of every window."""
    windows = sorted({p["window"] for p in params})
    qs = {f: sorted({p["q"] for p in params if p["series"] == f and "q" in p}) for f in SERIES}
    plans = {f: [_plan(blk.length - w + 1, tuple(qs[f])) for w in windows] for f in SERIES}
    summaries = K.rolling_summaries(
        blk.x,
        np.array(windows, dtype=np.int64),
        *(np.array([plan.ranks for plan in plans[f]], dtype=np.int64) for f in SERIES),
        blk.integer,
    )
    out = np.empty((blk.n_segments, len(params)))
    for s, series in enumerate(SERIES):
        for i, window in enumerate(windows):
            summary = summaries[s][:, i]
            quantiles = plans[series][i].values(summary[:, 5:])
            for j, p in enumerate(params):
                if p["window"] == window and p["series"] == series:
                    stat = p["stat"]
                    out[:, j] = quantiles[p["q"]] if stat == "quantile" else summary[:, _STAT_COLUMN[stat]]
    return out


@functools.lru_cache(maxsize=64)
def _plan(m: int, qs: tuple[float, ...]) -> _QuantilePlan:
    """The plan for m values and quantiles ``qs``, kept across blocks (plans are read-only)."""
    return _QuantilePlan(m, list(qs))


class _QuantilePlan:
    """The order statistics (ascending ranks, two per quantile) needed for the quantiles ``qs`` of a series
    of m values, and their interpolation."""

    def __init__(self, m: int, qs: list[float]):
        self.qs = qs
        lower, upper, self.gamma = quantile_ranks(m, qs)
        both = np.concatenate([lower, upper])
        order = np.argsort(both, kind="stable")
        self.ranks = both[order]
        self.inverse = np.empty_like(order)
        self.inverse[order] = np.arange(order.size)

    def values(self, order_stats: np.ndarray) -> dict[float, np.ndarray]:
        stats = order_stats[:, self.inverse]
        k = len(self.qs)
        interpolated = lerp(stats[:, :k], stats[:, k:], self.gamma)
        return {q: interpolated[:, j] for j, q in enumerate(self.qs)}
