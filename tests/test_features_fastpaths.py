"""Fast paths of the feature kernels agree with plain numpy (exactly where the maths allows)."""

import numpy as np
import pytest

from lanl.features import _kernels as K
from lanl.features import extract


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 15, 16, 17, 1000, 1001])
def test_minmax_matches_numpy(n):
    a = np.random.default_rng(n).standard_t(3, n)
    assert K._minmax(a) == (a.min(), a.max())


def test_powers_bit_identical_to_numpy():
    z = np.fft.rfft(np.random.default_rng(1).normal(size=(3, 1001)), axis=1)
    assert np.array_equal(K.powers(z), z.real**2 + z.imag**2)


@pytest.mark.parametrize("w", [5, 40])
def test_compact_both_paths(w):
    a = np.convolve(np.random.default_rng(w).standard_t(3, 5000), np.ones(w) / w, mode="valid")
    lo, hi = np.quantile(a, [0.1, 0.9])
    for rough in (False, True):
        tails, counts = np.empty((4, a.size)), np.zeros(4, np.int64)
        for k in (0, 2):  # the pair of tails (below, above) at rows k, k + 1
            K._compact(a, 0, a.size // 3, lo, hi, tails, counts, k, rough)  # in two calls, appending
            K._compact(a, a.size // 3, a.size, lo, hi, tails, counts, k, rough)
            assert np.array_equal(tails[k, : counts[k]], a[a <= lo])
            assert np.array_equal(tails[k + 1, : counts[k + 1]], a[a >= hi])


def test_hilbert_quarter_turn_and_abs_kernels_match_numpy():
    z = np.fft.rfft(np.random.default_rng(3).normal(size=(3, 1000)), axis=1)
    for zero_last in (False, True):
        out = np.empty_like(z)
        K.quarter_turn(z, out, zero_last)
        want = z * -1j
        want[:, 0] = 0
        if zero_last:
            want[:, -1] = 0
        assert np.array_equal(out, want)
    x = np.array([[-32768, -1, 0, 1, 32767]], np.int16)
    assert K.abs_int32(x).tolist() == [[32768, 1, 0, 1, 32767]] and K.abs_int32(x).dtype == np.int32


@pytest.mark.parametrize("threshold", [-3.5, -3.0, 0.0, 0.5, 2.0, 499.9, 1e9, -1e9])
def test_counts_from_value_counts_match_numpy(threshold):
    x = (np.random.default_rng(4).standard_t(3, (3, 5000)) * 5).astype(np.int16)
    fs = {
        "name": "t",
        "features": [
            {"feature": "median"},  # builds the value counts first
            {"feature": "count_above", "params": [{"threshold": threshold}]},
            {"feature": "count_below", "params": [{"threshold": threshold}]},
        ],
    }
    from lanl.features.featureset import from_dict

    got = extract(x, from_dict(fs, source="test")).to_numpy()
    assert np.array_equal(got[:, 1], (x > threshold).sum(axis=1))
    assert np.array_equal(got[:, 2], (x < threshold).sum(axis=1))


def test_abs_view_int_and_float_agree():
    x = (np.random.default_rng(2).standard_t(3, (3, 20_000)) * 5).astype(np.int16)
    x[0, 0] = -32768
    fs = {
        "name": "t",
        "views": {"abs": [{"manipulation": "abs"}]},
        "features": [
            {"feature": f, "view": "abs"} for f in ("mean", "max", "min", "median", "mean_change_rate")
        ],
    }
    from lanl.features.featureset import from_dict

    a = extract(x, from_dict(fs, source="test"))
    b = extract(x.astype(np.float64), from_dict(fs, source="test"))
    assert np.array_equal(a.to_numpy(), b.to_numpy())
    assert a.to_numpy()[0, 1] == 32768.0
