"""The feature sets that ship by name, written as data in the TOML shape of featureset.py (which reads them).

* ``winners``: the 1st-place solution's four features, after its noise-and-median manipulation (noise drawn per
  segment; the ``first-place`` recipe's set adds the published kernel's one shared noise vector instead);
* ``kernel``: the ~135 features of the popular public kernels (moments, quantiles, change rates, trend,
  STA/LTA, Hilbert and Hann means, rolling-window statistics, first/last-part statistics, FFT bands);
* ``full``: every registered feature over its default grid on the raw signal, the distribution family on
  |x|, and the ``winners`` features on their views.
"""

from __future__ import annotations

from lanl.features.registry import BASE_VIEW, FEATURES

NOISE = {"manipulation": "noise_median", "sigma": 0.5}

WINNERS = {
    "name": "winners",
    "description": "1st place: peaks of support 2 on the denoised signal, 20th percentile of the rolling "
    "std over 50 samples, MFCC 4 and 18 means; all after adding N(0, 0.5^2) noise and removing the median",
    "seed": 0,
    # the 1st place's peak count was on denoise_signal_simple (a fixed threshold of 10), not on the
    # universal-threshold denoiser (wavelet_denoise): tests/test_recipes.py checks it on real windows
    "views": {
        "signal": [NOISE],
        "denoised": [NOISE, {"manipulation": "wavelet_denoise_simple", "wavelet": "db4"}],
    },
    "features": [
        {"feature": "number_peaks", "view": "denoised", "params": [{"n": 2}]},
        {"feature": "rolling", "params": [{"window": 50, "series": "std", "stat": "quantile", "q": 0.2}]},
        {"feature": "mfcc_mean", "grid": {"k": [4, 18]}},
    ],
}

_PARTS = {f"{end}_{n}": [{"manipulation": end, "n": n}] for end in ("head", "tail") for n in (10_000, 50_000)}
_ROLL_STATS = ["mean", "std", "min", "max", "change"]
_ROLL_QUANTILES = [0.01, 0.05, 0.95, 0.99]
_STA_LTA = [
    {"sta": 500, "lta": 10000},
    {"sta": 5000, "lta": 100000},
    {"sta": 3333, "lta": 6666},
    {"sta": 10000, "lta": 25000},
    {"sta": 50, "lta": 1000},
    {"sta": 100, "lta": 5000},
    {"sta": 333, "lta": 666},
    {"sta": 4000, "lta": 10000},
]
_BANDS = [0.0, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]


def _rolling(series: str) -> list[dict]:
    windows = [10, 100, 1000]
    return [
        {"feature": "rolling", "grid": {"window": windows, "series": [series], "stat": _ROLL_STATS}},
        {
            "feature": "rolling",
            "grid": {"window": windows, "series": [series], "stat": ["quantile"], "q": _ROLL_QUANTILES},
        },
    ]


KERNEL = {
    "name": "kernel",
    "description": "the popular public kernels' features (Andrew Lukyanenko, Gabriel Preda and others)",
    "seed": 0,
    "views": {"abs": [{"manipulation": "abs"}], **_PARTS},
    "features": [
        {"feature": "mean"},
        {"feature": "std", "params": [{"ddof": 1}]},
        {"feature": "min"},
        {"feature": "max"},
        {"feature": "median"},
        {"feature": "mean_abs_deviation"},
        {"feature": "skew"},
        {"feature": "kurtosis"},
        {"feature": "quantile", "grid": {"q": [0.001, 0.01, 0.05, 0.1, 0.9, 0.95, 0.99, 0.999]}},
        {"feature": "iqr"},
        {"feature": "trimmed_mean", "params": [{"proportion": 0.1}]},
        {"feature": "mean_change"},
        {"feature": "mean_abs_change"},
        {"feature": "mean_change_rate"},
        {"feature": "linear_trend", "params": [{"attr": "slope"}]},
        {"feature": "hilbert_mean"},
        {"feature": "hann_window_mean", "params": [{"window": 150}]},
        {"feature": "sta_lta_mean", "params": _STA_LTA},
        {"feature": "ewm_mean", "grid": {"span": [300.0, 3000.0, 6000.0]}},
        {"feature": "number_crossing_m", "params": [{"m": 0.0}]},
        {"feature": "number_peaks", "grid": {"n": [10, 50]}},
        {"feature": "autocorrelation", "grid": {"lag": [1, 10, 100]}},
        {
            "feature": "fft_band_power",
            "params": [{"lo": a, "hi": b} for a, b in zip(_BANDS[:-1], _BANDS[1:], strict=True)],
        },
        {"feature": "spectral_centroid"},
        {"feature": "spectral_rolloff", "params": [{"roll_percent": 0.85}]},
        {"feature": "mean", "view": "abs"},
        {"feature": "std", "view": "abs", "params": [{"ddof": 1}]},
        {"feature": "max", "view": "abs"},
        {"feature": "quantile", "view": "abs", "grid": {"q": [0.01, 0.05, 0.95, 0.99]}},
        {"feature": "count_above", "view": "abs", "params": [{"threshold": 500.0}]},
        {"feature": "linear_trend", "view": "abs", "params": [{"attr": "slope"}]},
        *[
            {"feature": f, "views": list(_PARTS), "params": [p]}
            for f, p in (
                ("mean", {}),
                ("std", {"ddof": 1}),
                ("min", {}),
                ("max", {}),
                ("mean_change_rate", {}),
            )
        ],
        *_rolling("mean"),
        *_rolling("std"),
    ],
}


def _noisy(view: str) -> str:
    """The winners' base view is called ``noisy`` inside ``full`` (whose ``signal`` is the raw signal)."""
    return "noisy" if view == BASE_VIEW else view


def full_dict() -> dict:
    """Every registered feature with its default grid on the signal, the distribution family on |x|, and the
    winners' features on their views."""
    every = [{"feature": f.name, "params": [dict(p) for p in f.grid]} for f in FEATURES]
    on_abs = [
        {"feature": f.name, "view": "abs", "params": [dict(p) for p in f.grid]}
        for f in FEATURES
        if f.family == "distribution"
    ]
    winners = [{**e, "view": _noisy(e.get("view", BASE_VIEW))} for e in WINNERS["features"]]
    return {
        "name": "full",
        "description": "every registered feature over its default grid, plus |x| statistics and the winners",
        "seed": 0,
        "views": {
            "abs": [{"manipulation": "abs"}],
            "noisy": [NOISE],
            "denoised": WINNERS["views"]["denoised"],
        },
        "features": every + on_abs + winners,
    }


NAMES = ("winners", "kernel", "full")


def data(name: str) -> dict:
    """A built-in set by name, as the data lanl.features.featureset.from_dict reads."""
    return {"winners": lambda: WINNERS, "kernel": lambda: KERNEL, "full": full_dict}[name]()
