"""The fast paths of the rolling-window, STA/LTA, peak and EWM kernels against plain references, on
segments long enough to take them (the tests of test_features_exact.py use segments too short for the
tail selection of rolling quantiles, which needs series of 8,192 values or more)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tsfresh.feature_extraction import feature_calculators as fc

from lanl.features import _kernels as K
from lanl.features import extract, feature_set_from_dict

WINDOWS = (10, 100, 1000)
QS = (0.01, 0.05, 0.2, 0.5, 0.95, 0.99)


def _segments() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    burst = (rng.standard_t(3, (2, 20_000)) * 5 + 4).clip(-32768, 32767)
    burst[:, 9_000:10_500] *= 40
    ties = np.full((2, 20_000), 5.0)
    ties[0, ::997] = 900  # rolling std mostly 0: the sample's cuts coincide, selection runs over all
    ties[1, 5_000:5_050] = -3
    wide = rng.normal(0, 2e6, (2, 20_000)).round()  # integer, but too wide for exact int64 window sums
    return {
        "burst": burst.clip(-32768, 32767).astype(np.int16),
        "float": rng.normal(3.0, 2.0, (2, 20_000)),
        "ties": ties.astype(np.int16),
        "wide": wide.astype(np.int32),
    }


SEGMENTS = _segments()


def rolling_reference(row: np.ndarray, window: int, series: str, stat: str, q=None) -> float:
    rolled = getattr(pd.Series(row).rolling(window), series)().dropna().to_numpy()
    if stat == "quantile":
        return float(np.quantile(rolled, q))
    if stat == "change":
        return float(np.mean(np.diff(rolled)))
    return float(getattr(np, stat)(rolled))


def test_long_segments_take_both_ways_to_the_rolling_means_order_statistics():
    """'burst' rows are counted for w=10 (window sums span few integers) and go through tails for w=1000
    (the burst widens the span beyond _COUNT_SPAN): the next test checks both against pandas."""
    row = SEGMENTS["burst"][0].astype(np.int64)
    c1 = np.concatenate([[0], np.cumsum(row - int(np.round(row.mean())))])
    spans = {w: np.subtract(*K._window_sum_range(c1, w)[::-1]) + 1 for w in (10, 1000)}
    assert spans[10] <= K._COUNT_SPAN < spans[1000]


@pytest.mark.parametrize("name", list(SEGMENTS))
def test_rolling_every_statistic_and_quantile_on_long_segments(name):
    x = SEGMENTS[name]
    params = [
        {"window": w, "series": s, "stat": stat}
        for w in WINDOWS
        for s in ("mean", "std")
        for stat in ("mean", "std", "min", "max", "change")
    ] + [
        {"window": w, "series": s, "stat": "quantile", "q": q}
        for w in WINDOWS
        for s in ("mean", "std")
        for q in QS
    ]
    got = extract(
        x, feature_set_from_dict({"features": [{"feature": "rolling", "params": params}]})
    ).to_numpy()
    r = x.astype(np.float64)
    want = np.array([[rolling_reference(row, **p) for p in params] for row in r])
    scale = max(1.0, float(np.abs(r).max()))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9 * scale)


@pytest.mark.parametrize("seed", range(5))
def test_selection_from_tails_equals_a_sort_and_falls_back(seed):
    """Tails too small for the ranks (a misleading sample) fall back to selection over all values."""
    rng = np.random.default_rng(seed)
    a = np.round(rng.standard_t(2, 30_000) * 3) if seed % 2 else rng.normal(0, 1, 30_000)
    ks = np.array([10, 11, 299, 300, 29_700, 29_701, 29_990], np.int64)
    want = np.sort(a)[ks]
    starts = np.zeros(K.n_buckets(a.size) + 1, np.int64)
    out = np.empty(ks.size)
    lo, hi = np.sort(a)[[400 + seed * 50, 29_500 - seed * 50]]
    below, above = np.sort(a[a <= lo]), a[a >= hi]
    K._select_from_tails(a, ks, out, starts, below, below.size, above, above.size)
    np.testing.assert_array_equal(out, want)
    K._select_from_tails(a, ks, out, starts, below, 100, above, 5)  # too few: over all values
    np.testing.assert_array_equal(out, want)


def test_sta_lta_int_and_float_paths_agree_with_the_kernels_formula():
    x = SEGMENTS["burst"].astype(np.float64)
    sta = np.array([50, 333, 500]), np.array([1000, 666, 10_000])
    exact = K.sta_lta_means(x, *sta, True)
    floating = K.sta_lta_means(x, *sta, False)
    np.testing.assert_allclose(exact, floating, rtol=1e-12)


@pytest.mark.parametrize("name", ["burst", "float"])
def test_peaks_and_ewm_on_long_segments(name):
    x = SEGMENTS[name]
    data = {
        "features": [
            {"feature": "number_peaks", "grid": {"n": [3, 10, 12, 50]}},
            {"feature": "ewm_mean", "grid": {"span": [300.0, 6000.0]}},
        ]
    }
    got = extract(x, feature_set_from_dict(data)).to_numpy()
    r = x.astype(np.float64)
    peaks = [[fc.number_peaks(row, n) for n in (3, 10, 12, 50)] for row in r]
    np.testing.assert_array_equal(got[:, :4], np.array(peaks, dtype=float))
    ewm = [[pd.Series(row).ewm(span=s).mean().mean() for s in (300, 6000)] for row in r]
    np.testing.assert_allclose(got[:, 4:], ewm, rtol=1e-6, atol=1e-9 * np.abs(r).max())
