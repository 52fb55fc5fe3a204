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
        below, above, counts = np.empty(a.size), np.empty(a.size), np.zeros(2, np.int64)
        K._compact(a, 0, a.size, lo, hi, below, above, counts, 0, rough)
        assert np.array_equal(below[: counts[0]], a[a <= lo])
        assert np.array_equal(above[: counts[1]], a[a >= hi])


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
