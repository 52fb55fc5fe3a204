"""Every feature against an independent reference written plainly per segment (numpy, scipy, pandas,
tsfresh's feature_calculators, librosa, pywt), on seeded signals and edge cases: a constant segment, a
single huge spike, int16 extremes, float noise, and the shortest segment each feature accepts."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import pywt
import scipy.signal
import scipy.stats
from tsfresh.feature_extraction import feature_calculators as fc

from lanl.features import FEATURES, extract, feature_set_from_dict


def _signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    spike = np.zeros((2, 3000))
    spike[0, 1234] = 1e6
    spike[1, -1] = -3e4
    spike[1, :1000] = rng.normal(0, 1, 1000)
    return {
        "t3": (rng.standard_t(3, (2, 4000)) * 5 + 4).clip(-3000, 3000).astype(np.int16),
        "float": rng.normal(1.0, 3.0, (2, 3001)),
        "extremes": rng.choice(np.array([-32768, 32767, -1, 0, 1, 5], np.int16), (2, 2100)),
        "constant": np.full((2, 2500), 7, np.int16),
        "spike": spike,
    }


SIGNALS = _signals()
NAMES = list(SIGNALS)


def ours(x: np.ndarray, feature: str, params: dict | None = None, views=None, view="signal") -> np.ndarray:
    """Our value of one feature per row of x, through the public extract()."""
    data = {"features": [{"feature": feature, "view": view, "params": [params or {}]}], "views": views or {}}
    return extract(x, feature_set_from_dict(data)).iloc[:, 0].to_numpy()


def per_row(x: np.ndarray, ref) -> np.ndarray:
    return np.array([ref(np.asarray(row, dtype=np.float64)) for row in x], dtype=np.float64)


def close(got, want, x, kind="value"):
    """rtol 1e-6; atol by kind: 'value' scales with max|x|, 'power' with max x^2, 'unitless' 1e-9."""
    scale = max(1.0, float(np.abs(np.asarray(x, np.float64)).max()))
    atol = {"value": 1e-9 * scale, "power": 1e-12 * scale**2, "unitless": 1e-9}[kind]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=atol)


def shortest(feature: str, params: dict, seed: int = 0) -> np.ndarray:
    n = max(FEATURES.get(feature).min_length(**params), 1)
    rng = np.random.default_rng(seed)
    return (rng.standard_t(3, (2, n)) * 5).astype(np.int16)


def nan_to(value: float, fill: float) -> float:
    return fill if np.isnan(value) else value


# ------------------------------------------------------------------------------------------ distribution
DISTRIBUTION = (
    [
        ("mean", {}, np.mean, "value"),
        ("sum", {}, np.sum, "power"),
        ("std", {"ddof": 0}, lambda r: np.std(r), "value"),
        ("std", {"ddof": 1}, lambda r: np.std(r, ddof=1), "value"),
        ("min", {}, np.min, "value"),
        ("max", {}, np.max, "value"),
        ("median", {}, np.median, "value"),
        ("iqr", {}, lambda r: np.subtract(*np.percentile(r, [75, 25])), "value"),
        ("mean_abs_deviation", {}, lambda r: np.mean(np.abs(r - r.mean())), "value"),
        ("median_abs_deviation", {}, lambda r: scipy.stats.median_abs_deviation(r), "value"),
        ("skew", {}, lambda r: nan_to(pd.Series(r).skew(), 0.0), "unitless"),  # constant: ours 0, pandas NaN
        ("kurtosis", {}, lambda r: nan_to(pd.Series(r).kurt(), 0.0), "unitless"),
        ("count_above", {"threshold": 4.0}, lambda r: np.sum(r > 4.0), "value"),
        ("count_below", {"threshold": -1.0}, lambda r: np.sum(r < -1.0), "value"),
        ("abs_energy", {}, fc.abs_energy, "power"),
        ("mean_change", {}, fc.mean_change, "value"),
        ("mean_abs_change", {}, fc.mean_abs_change, "value"),
    ]
    + [
        ("quantile", {"q": q}, lambda r, q=q: np.quantile(r, q), "value")
        for q in (0, 0.001, 0.2, 0.5, 0.95, 1)
    ]
    + [
        ("trimmed_mean", {"proportion": p}, lambda r, p=p: scipy.stats.trim_mean(r, p), "value")
        for p in (0.0, 0.1, 0.3)
    ]
)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("feature", "params", "ref", "kind"), DISTRIBUTION, ids=lambda v: str(v)[:30])
def test_distribution(name, feature, params, ref, kind):
    x = SIGNALS[name]
    close(ours(x, feature, params), per_row(x, ref), x, kind)


@pytest.mark.parametrize(("feature", "params", "ref", "kind"), DISTRIBUTION, ids=lambda v: str(v)[:30])
def test_distribution_shortest_segment(feature, params, ref, kind):
    x = shortest(feature, params)
    close(ours(x, feature, params), per_row(x, ref), x, kind)


def kernel_change_rate(x: np.ndarray) -> float:
    """The popular kernels' calc_change_rate, verbatim but for the empty case (documented as 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.diff(x) / x[:-1]
    change = change[np.nonzero(change)[0]]
    change = change[~np.isnan(change)]
    change = change[change != -np.inf]
    change = change[change != np.inf]
    return float(np.mean(change)) if len(change) else 0.0


@pytest.mark.parametrize("name", NAMES)
def test_mean_change_rate(name):
    x = SIGNALS[name]
    close(ours(x, "mean_change_rate"), per_row(x, kernel_change_rate), x, "unitless")


# ------------------------------------------------------------------------------------------------ rolling
def rolling_ref(series: str, stat: str, window: int, q: float | None = None):
    def ref(r):
        rolled = getattr(pd.Series(r).rolling(window), series)().dropna().to_numpy()
        return {
            "mean": np.mean,
            "std": np.std,
            "min": np.min,
            "max": np.max,
            "change": lambda a: np.mean(np.diff(a)),
            "quantile": lambda a: np.quantile(a, q),
        }[stat](rolled)

    return ref


ROLLING = [
    {"window": w, "series": s, "stat": stat}
    for w in (2, 10, 50)
    for s in ("mean", "std")
    for stat in ("mean", "std", "min", "max", "change")
] + [
    {"window": w, "series": s, "stat": "quantile", "q": q}
    for w in (3, 50)
    for s in ("mean", "std")
    for q in (0.01, 0.2, 0.99)
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("params", ROLLING, ids=lambda p: "-".join(map(str, p.values())))
def test_rolling(name, params):
    x = SIGNALS[name]
    close(ours(x, "rolling", params), per_row(x, rolling_ref(**params)), x)


def test_rolling_several_statistics_in_one_set():
    """All statistics of both series of several windows computed in one call equal one-by-one references."""
    x = SIGNALS["t3"]
    params = ROLLING
    data = {"features": [{"feature": "rolling", "params": params}]}
    got = extract(x, feature_set_from_dict(data)).to_numpy()
    want = np.stack([per_row(x, rolling_ref(**p)) for p in params], axis=1)
    close(got, want, x)


def test_rolling_shortest_segment():
    params = {"window": 50, "series": "std", "stat": "quantile", "q": 0.2}
    x = shortest("rolling", params)
    close(ours(x, "rolling", params), per_row(x, rolling_ref(**params)), x)


# -------------------------------------------------------------------------------------------------- peaks
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [1, 2, 5, 50])
def test_number_peaks(name, n):
    x = SIGNALS[name]
    np.testing.assert_array_equal(
        ours(x, "number_peaks", {"n": n}), per_row(x, lambda r: fc.number_peaks(r, n))
    )


@pytest.mark.parametrize("name", NAMES)
def test_number_peaks_of_several_supports_in_one_set(name):
    x = SIGNALS[name]
    supports = [50, 1, 5, 2, 200]
    got = extract(
        x, feature_set_from_dict({"features": [{"feature": "number_peaks", "grid": {"n": supports}}]})
    )
    want = np.stack([per_row(x, lambda r, n=n: fc.number_peaks(r, n)) for n in supports], axis=1)
    np.testing.assert_array_equal(got.to_numpy(), want)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("m", [0.0, 4.5, 7.0])
def test_number_crossing_m(name, m):
    x = SIGNALS[name]
    want = per_row(x, lambda r: fc.number_crossing_m(r, m))
    np.testing.assert_array_equal(ours(x, "number_crossing_m", {"m": m}), want)


def test_peaks_and_crossings_shortest_segment():
    x = shortest("number_peaks", {"n": 3})
    np.testing.assert_array_equal(
        ours(x, "number_peaks", {"n": 3}), per_row(x, lambda r: fc.number_peaks(r, 3))
    )
    x = shortest("number_crossing_m", {"m": 0.0})
    want = per_row(x, lambda r: fc.number_crossing_m(r, 0.0))
    np.testing.assert_array_equal(ours(x, "number_crossing_m", {"m": 0.0}), want)


# ----------------------------------------------------------------------------------------------- spectral
def band_power_ref(r: np.ndarray, lo: float, hi: float) -> float:
    n = len(r)
    spectrum = np.abs(np.fft.rfft(r)) ** 2
    weights = np.full(len(spectrum), 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    f = 2.0 * np.arange(len(spectrum)) / n
    in_band = (f >= lo) & ((f < hi) | (hi == 1.0))
    return float(np.sum(weights[in_band] * spectrum[in_band]) / n**2)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("lo", "hi"), [(0.0, 0.01), (0.01, 0.3), (0.3, 1.0), (0.0, 1.0)])
def test_fft_band_power(name, lo, hi):
    x = SIGNALS[name]
    close(
        ours(x, "fft_band_power", {"lo": lo, "hi": hi}),
        per_row(x, lambda r: band_power_ref(r, lo, hi)),
        x,
        "power",
    )


def test_fft_bands_sum_to_mean_square():
    """Parseval: the bands of a partition of [0, 1] add up to mean(x^2)."""
    x = SIGNALS["t3"]
    edges = [0.0, 0.1, 0.35, 1.0]
    data = {
        "features": [
            {
                "feature": "fft_band_power",
                "params": [{"lo": a, "hi": b} for a, b in zip(edges[:-1], edges[1:], strict=True)],
            }
        ]
    }
    total = extract(x, feature_set_from_dict(data)).sum(axis=1).to_numpy()
    close(total, np.mean(x.astype(float) ** 2, axis=1), x, "power")


def _librosa_spectral(r: np.ndarray, what: str, **kw) -> float:
    import librosa

    mag = np.abs(np.fft.rfft(r))[:, None]
    freq = 2.0 * np.arange(mag.shape[0]) / len(r)
    value = getattr(librosa.feature, what)(S=mag, freq=freq, **kw)[0, 0]
    return nan_to(float(value), 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_spectral_centroid_matches_librosa(name):
    x = SIGNALS[name]
    close(
        ours(x, "spectral_centroid"),
        per_row(x, lambda r: _librosa_spectral(r, "spectral_centroid")),
        x,
        "unitless",
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("p", [0.5, 0.85])
def test_spectral_rolloff_matches_librosa(name, p):
    x = SIGNALS[name]
    want = per_row(x, lambda r: _librosa_spectral(r, "spectral_rolloff", roll_percent=p))
    close(ours(x, "spectral_rolloff", {"roll_percent": p}), want, x, "unitless")


def welch_ref(r, nperseg, lo=None, hi=None):
    f, p = scipy.signal.welch(r, fs=2.0, nperseg=nperseg)
    if lo is None:
        return f[np.argmax(p)]
    in_band = (f >= lo) & ((f < hi) | (hi == 1.0))
    return np.sum(p[in_band]) * 2.0 / nperseg


@pytest.mark.parametrize("name", NAMES)
def test_welch(name):
    x = SIGNALS[name]
    close(
        ours(x, "welch_peak_frequency", {"nperseg": 256}),
        per_row(x, lambda r: welch_ref(r, 256)),
        x,
        "unitless",
    )
    params = {"nperseg": 128, "lo": 0.05, "hi": 0.5}
    close(ours(x, "welch_band_power", params), per_row(x, lambda r: welch_ref(r, **params)), x, "power")


@pytest.mark.parametrize("name", NAMES)
def test_hilbert_mean(name):
    x = SIGNALS[name]
    close(ours(x, "hilbert_mean"), per_row(x, lambda r: np.abs(scipy.signal.hilbert(r)).mean()), x)


def librosa_mfcc_mean(r: np.ndarray, k: int, top_db: float = 80.0, **kw) -> float:
    import librosa

    log_mel = librosa.power_to_db(librosa.feature.melspectrogram(y=r, **kw), top_db=top_db)
    return float(librosa.feature.mfcc(S=log_mel)[k].mean())


@pytest.mark.parametrize("name", NAMES)
def test_mfcc_mean_matches_librosa(name):
    import librosa

    x = SIGNALS[name]
    data = {"features": [{"feature": "mfcc_mean", "grid": {"k": [0, 4, 18]}}]}
    got = extract(x, feature_set_from_dict(data)).to_numpy()
    want = np.stack(
        [per_row(x, lambda r, k=k: librosa.feature.mfcc(y=r)[k].mean()) for k in (0, 4, 18)], axis=1
    )
    close(got, want, x, "unitless")


def test_mfcc_mean_other_parameters_and_shortest_segment():
    params = {"k": 3, "sr": 4000.0, "n_fft": 512, "hop_length": 100, "n_mels": 40, "top_db": 60.0}
    kw = {"sr": 4000.0, "n_fft": 512, "hop_length": 100, "n_mels": 40, "top_db": 60.0}
    for x in (SIGNALS["float"], shortest("mfcc_mean", params)):
        close(
            ours(x, "mfcc_mean", params), per_row(x, lambda r: librosa_mfcc_mean(r, 3, **kw)), x, "unitless"
        )


# ----------------------------------------------------------------------------------------------- temporal
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("attr", ["slope", "intercept", "rvalue", "pvalue", "stderr"])
def test_linear_trend_matches_linregress(name, attr):
    x = SIGNALS[name]

    def ref(r):
        value = getattr(scipy.stats.linregress(np.arange(len(r)), r), attr)
        return nan_to(float(value), {"rvalue": 0.0, "pvalue": 1.0, "stderr": 0.0}.get(attr, np.nan))

    close(
        ours(x, "linear_trend", {"attr": attr}),
        per_row(x, ref),
        x,
        "unitless" if "value" in attr else "value",
    )


def classic_sta_lta(x, length_sta, length_lta):
    """The popular kernels' classic_sta_lta, verbatim."""
    sta = np.cumsum(x**2)
    sta = np.require(sta, dtype=np.float64)
    lta = sta.copy()
    sta[length_sta:] = sta[length_sta:] - sta[:-length_sta]
    sta /= length_sta
    lta[length_lta:] = lta[length_lta:] - lta[:-length_lta]
    lta /= length_lta
    sta[: length_lta - 1] = 0
    dtiny = np.finfo(0.0).tiny
    idx = lta < dtiny
    lta[idx] = dtiny
    return sta / lta


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("sta", "lta"), [(5, 100), (50, 1000), (333, 666)])
def test_sta_lta_mean(name, sta, lta):
    x = SIGNALS[name]
    want = per_row(x, lambda r: classic_sta_lta(r, sta, lta).mean())
    close(ours(x, "sta_lta_mean", {"sta": sta, "lta": lta}), want, x, "unitless")


def _with_silence() -> np.ndarray:
    x = (np.random.default_rng(7).standard_t(3, (2, 6000)) * 5).astype(np.int16)
    x[0, 2000:4500] = 0  # LTA windows of nothing but zeros: the ratio is 0 there
    x[1, :1500] = 0
    return x


@pytest.mark.parametrize("name", [*NAMES, "silence"])
def test_sta_lta_means_of_several_pairs_in_one_set(name):
    """Pairs sharing work (one division for two pairs on integer rows), an odd count, equal LTAs."""
    x = _with_silence() if name == "silence" else SIGNALS[name]
    pairs = [(5, 100), (50, 1000), (333, 666), (10, 100), (200, 1000)]
    got = extract(
        x,
        feature_set_from_dict(
            {"features": [{"feature": "sta_lta_mean", "params": [{"sta": a, "lta": b} for a, b in pairs]}]}
        ),
    ).to_numpy()
    want = np.stack([per_row(x, lambda r, a=a, b=b: classic_sta_lta(r, a, b).mean()) for a, b in pairs], 1)
    close(got, want, x, "unitless")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("window", [3, 150, 999])
def test_hann_window_mean(name, window):
    x = SIGNALS[name]
    w = scipy.signal.windows.hann(window)
    want = per_row(x, lambda r: (scipy.signal.convolve(r, w, mode="same") / sum(w)).mean())
    close(ours(x, "hann_window_mean", {"window": window}), want, x)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lag", [0, 1, 10, 500])
def test_autocorrelation(name, lag):
    x = SIGNALS[name]

    def ref(r):
        var = np.var(r)  # tsfresh answers NaN for a (near-)constant segment; ours is 0 when var = 0
        return 0.0 if var == 0 else fc.autocorrelation(r, lag)

    close(ours(x, "autocorrelation", {"lag": lag}), per_row(x, ref), x, "unitless")


@pytest.mark.parametrize("name", NAMES)
def test_ewm_mean(name):
    x = SIGNALS[name]
    spans = [1.0, 30.0, 3000.0]
    got = extract(x, feature_set_from_dict({"features": [{"feature": "ewm_mean", "grid": {"span": spans}}]}))
    want = np.stack(
        [per_row(x, lambda r, s=s: pd.Series(r).ewm(span=s).mean().mean()) for s in spans], axis=1
    )
    close(got.to_numpy(), want, x)


def test_temporal_shortest_segments():
    cases = [
        ("linear_trend", {"attr": "slope"}, lambda r: scipy.stats.linregress(np.arange(len(r)), r).slope),
        ("sta_lta_mean", {"sta": 3, "lta": 7}, lambda r: classic_sta_lta(r, 3, 7).mean()),
        ("autocorrelation", {"lag": 4}, lambda r: fc.autocorrelation(r, 4)),
        ("ewm_mean", {"span": 5.0}, lambda r: pd.Series(r).ewm(span=5.0).mean().mean()),
    ]
    for feature, params, ref in cases:
        x = shortest(feature, params, seed=3)
        close(ours(x, feature, params), per_row(x, ref), x, "unitless")


# ------------------------------------------------------------------------------------------ manipulations
def plain_seed(seed: int, chain: str, key: str) -> np.random.Generator:
    """The documented seed derivation, written out: (set seed, blake2b-64 of the chain, of the key)."""

    def digest(text):
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")

    return np.random.default_rng(np.random.SeedSequence([seed, digest(chain), digest(key)]))


def kernel_denoise(x, wavelet="db4", level=1):
    """The popular wavelet-denoising kernel's denoise_signal, verbatim but for pywt's new name of mode 'per'
    and the cut to the input length."""
    coeff = pywt.wavedec(x, wavelet, mode="periodization")
    sigma = (1 / 0.6745) * np.mean(np.absolute(coeff[-level] - np.mean(coeff[-level])))
    uthresh = sigma * np.sqrt(2 * np.log(len(x)))
    coeff[1:] = (pywt.threshold(i, value=uthresh, mode="hard") for i in coeff[1:])
    return pywt.waverec(coeff, wavelet, mode="periodization")[: len(x)]


def kernel_denoise_simple(x, wavelet="db4", threshold=10.0):
    """The 1st-place kernel's denoise_signal_simple: a fixed hard threshold on every detail level."""
    coeff = pywt.wavedec(x, wavelet, mode="periodization")
    coeff[1:] = (pywt.threshold(i, value=threshold, mode="hard") for i in coeff[1:])
    return pywt.waverec(coeff, wavelet, mode="periodization")[: len(x)]


def test_noise_median_view_is_seeded_per_segment():
    x = SIGNALS["t3"]
    step = {"manipulation": "noise_median", "sigma": 0.5}
    views = {"signal": [step]}
    data = {"seed": 11, "views": views, "features": [{"feature": "sum"}, {"feature": "max"}]}
    got = extract(x, feature_set_from_dict(data), keys=["a", "b"]).to_numpy()
    chain = '[{"manipulation": "noise_median", "sigma": 0.5}]'
    want = []
    for key, row in zip(["a", "b"], x.astype(float), strict=True):
        y = row + plain_seed(11, chain, key).normal(0.0, 0.5, len(row))
        y = y - np.median(y)
        want.append([y.sum(), y.max()])
    close(got, np.array(want), x)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("wavelet", ["db4", "haar"])
def test_wavelet_denoise_view(name, wavelet):
    x = SIGNALS[name]
    views = {"denoised": [{"manipulation": "wavelet_denoise", "wavelet": wavelet}]}
    got = ours(x, "abs_energy", views=views, view="denoised")
    want = per_row(x, lambda r: np.sum(kernel_denoise(r, wavelet) ** 2))
    close(got, want, x, "power")


@pytest.mark.parametrize("name", NAMES)
def test_slicing_and_abs_views(name):
    x = SIGNALS[name]
    views = {
        "abs": [{"manipulation": "abs"}],
        "head": [{"manipulation": "head", "n": 1000}],
        "tail": [{"manipulation": "tail", "n": 700}],
        "diff": [{"manipulation": "diff"}],
    }
    refs = {
        "abs": lambda r: np.quantile(np.abs(r), 0.95),
        "head": lambda r: np.quantile(r[:1000], 0.95),
        "tail": lambda r: np.quantile(r[-700:], 0.95),
        "diff": lambda r: np.quantile(np.diff(r), 0.95),
    }
    for view, ref in refs.items():
        close(ours(x, "quantile", {"q": 0.95}, views=views, view=view), per_row(x, ref), x)


# ----------------------------------------------------------------------------------- full-size segments
@pytest.fixture(scope="module")
def lab_segments():
    rng = np.random.default_rng(7)
    x = (rng.standard_t(3, (2, 150_000)) * 6 + 4).clip(-5000, 5000).astype(np.int16)
    x[1, 70_000] = 32767
    x[1, 70_001] = -32768
    return x


def test_winners_on_150k_segments(lab_segments):
    """The 1st-place four, recomputed from scratch: noise + median, simple wavelet denoising, tsfresh peaks,
    pandas rolling std, librosa MFCC."""
    got = extract(lab_segments, "winners", keys=["s0", "s1"]).to_numpy()
    chain = '[{"manipulation": "noise_median", "sigma": 0.5}]'
    want = []
    for key, row in zip(["s0", "s1"], lab_segments.astype(float), strict=True):
        y = row + plain_seed(0, chain, key).normal(0.0, 0.5, len(row))
        y = y - np.median(y)
        want.append(
            [
                fc.number_peaks(kernel_denoise_simple(y, "db4"), 2),
                np.quantile(pd.Series(y).rolling(50).std().dropna(), 0.2),
                librosa_mfcc_mean(y, 4),
                librosa_mfcc_mean(y, 18),
            ]
        )
    close(got, np.array(want), lab_segments, "unitless")


def test_kernel_set_spot_checks_on_150k_segments(lab_segments):
    table = extract(lab_segments, "kernel")
    x = lab_segments.astype(float)
    checks = {
        "signal__quantile__q_0.999": lambda r: np.quantile(r, 0.999),
        "signal__rolling__window_1000__series_std__stat_quantile__q_0.05": lambda r: np.quantile(
            pd.Series(r).rolling(1000).std().dropna(), 0.05
        ),
        "signal__sta_lta_mean__sta_5000__lta_100000": lambda r: classic_sta_lta(r, 5000, 100000).mean(),
        "signal__hilbert_mean": lambda r: np.abs(scipy.signal.hilbert(r)).mean(),
        "abs__quantile__q_0.99": lambda r: np.quantile(np.abs(r), 0.99),
        "tail_10000__mean_change_rate": lambda r: kernel_change_rate(r[-10000:]),
        "signal__ewm_mean__span_6000.0": lambda r: pd.Series(r).ewm(span=6000).mean().mean(),
        "signal__number_peaks__n_50": lambda r: fc.number_peaks(r, 50),
    }
    for column, ref in checks.items():
        close(table[column].to_numpy(), per_row(x, ref), x, "unitless")


@pytest.mark.real
def test_kernel_and_winners_on_real_test_segments(real_dir):
    files = sorted((real_dir / "test").glob("seg_*.csv"))[:2]
    x = np.stack([pd.read_csv(f)["acoustic_data"].to_numpy(np.int16) for f in files])
    table = extract(x, "kernel", keys=[f.stem for f in files])
    r = x.astype(float)
    close(table["signal__quantile__q_0.05"].to_numpy(), per_row(r, lambda s: np.quantile(s, 0.05)), x)
    close(
        table["signal__rolling__window_100__series_std__stat_quantile__q_0.99"].to_numpy(),
        per_row(r, lambda s: np.quantile(pd.Series(s).rolling(100).std().dropna(), 0.99)),
        x,
    )
    close(table["signal__kurtosis"].to_numpy(), per_row(r, lambda s: pd.Series(s).kurt()), x, "unitless")
    assert np.isfinite(extract(x, "winners").to_numpy()).all()
