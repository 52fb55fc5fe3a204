"""Signal manipulations: functions from a block of segments to another, chained into the views of a
feature set (e.g. ``denoised = [noise_median, wavelet_denoise]``).

Random manipulations draw from a generator seeded by the feature set's seed, the manipulation's place in
its chain and the segment's key (:meth:`SegmentContext.rng`), so a segment gets the same noise whichever
batch or worker computes it, and two views that share a chain prefix share its noise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pywt

from lanl.features import _kernels as K
from lanl.features.registry import Param, manipulation


def stable_int(text: str) -> int:
    """A 64-bit integer digest of ``text``, the same in every process and Python version."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class SegmentContext:
    """What a manipulation may know besides the values: the segment keys, the set's seed and a salt that
    names the manipulation's place in its chain."""

    keys: Sequence[str]
    seed: int
    salt: str

    def rng(self, row: int) -> np.random.Generator:
        """The generator of segment ``row``: seeded by (seed, salt, key), independent of batching."""
        words = [self.seed, stable_int(self.salt), stable_int(str(self.keys[row]))]
        return np.random.default_rng(np.random.SeedSequence(words))


@manipulation("noise_median", params={"sigma": Param(float, lo=0.0), "shared": Param(bool, required=False)})
def noise_median(x: np.ndarray, ctx: SegmentContext, sigma: float, shared: bool = False) -> np.ndarray:
    """The 1st-place augmentation: y = x + e, e_t ~ N(0, sigma^2) i.i.d., then y - median(y).

    By default e is drawn per segment (seeded by set seed, chain place and segment key). With
    ``shared = true`` every segment gets the same vector, as in the 1st place's published kernel:
    ``np.random.seed(seed); e = np.random.normal(0, sigma, n)`` (numpy's legacy generator), so a set with
    seed 1337 adds exactly that kernel's noise."""
    out = np.empty(x.shape, np.float64)
    common = np.random.RandomState(ctx.seed).normal(0.0, sigma, x.shape[1]) if shared else None
    for r in range(x.shape[0]):
        y = x[r] + (common if shared else ctx.rng(r).normal(0.0, sigma, x.shape[1]))
        out[r] = y - np.median(y)
    return out


def _check_wavelet(params: dict) -> str | None:
    wavelet = params.get("wavelet", "db4")
    if wavelet not in pywt.wavelist(kind="discrete"):
        return f"unknown discrete wavelet {wavelet!r} (see pywt.wavelist(kind='discrete'))"
    return None


@manipulation(
    "wavelet_denoise",
    params={
        "wavelet": Param(str, required=False),
        "level": Param(int, lo=1, required=False),
    },
    check=_check_wavelet,
    min_length=lambda wavelet="db4", level=1: pywt.Wavelet(wavelet).dec_len,
)
def wavelet_denoise(x: np.ndarray, ctx: SegmentContext, wavelet: str = "db4", level: int = 1) -> np.ndarray:
    """Wavelet denoising of the popular 'denoising' kernel: c = pywt.wavedec(x, wavelet, mode='per')
    ('per' is now spelled 'periodization');
    sigma = mean(|d - mean(d)|) / 0.6745 with d = c[-level]; every detail band is hard-thresholded at
    sigma sqrt(2 log n) (values with |c| < threshold become 0); the result is pywt.waverec(c, wavelet,
    mode='periodization') cut to n samples."""
    n = x.shape[1]
    coeffs = pywt.wavedec(np.asarray(x, np.float64), wavelet, mode="periodization", axis=1)
    d = coeffs[-level]
    sigma = np.abs(d - d.mean(axis=1, keepdims=True)).mean(axis=1) / 0.6745
    threshold = (sigma * np.sqrt(2 * np.log(n)))[:, None]
    coeffs[1:] = [np.where(np.abs(c) < threshold, 0.0, c) for c in coeffs[1:]]
    return np.ascontiguousarray(pywt.waverec(coeffs, wavelet, mode="periodization", axis=1)[:, :n])


@manipulation(
    "wavelet_denoise_simple",
    params={"wavelet": Param(str, required=False), "threshold": Param(float, lo=0.0, required=False)},
    check=_check_wavelet,
    min_length=lambda wavelet="db4", threshold=10.0: pywt.Wavelet(wavelet).dec_len,
)
def wavelet_denoise_simple(
    x: np.ndarray, ctx: SegmentContext, wavelet: str = "db4", threshold: float = 10.0
) -> np.ndarray:
    """The 1st place's ``denoise_signal_simple``: c = pywt.wavedec(x, wavelet, mode='per'); every detail
    band hard-thresholded at a fixed ``threshold`` (pywt.threshold(c, threshold, mode='hard'): values with
    |c| < threshold become 0); the result is pywt.waverec(c, wavelet, mode='per') cut to n samples.
    Unlike ``wavelet_denoise`` the threshold does not depend on the segment's noise level."""
    n = x.shape[1]
    coeffs = pywt.wavedec(np.asarray(x, np.float64), wavelet, mode="periodization", axis=1)
    coeffs[1:] = [pywt.threshold(c, threshold, mode="hard") for c in coeffs[1:]]
    return np.ascontiguousarray(pywt.waverec(coeffs, wavelet, mode="periodization", axis=1)[:, :n])


def _check_clip(params: dict) -> str | None:
    if params["lo"] >= params["hi"]:
        return f"lo must be below hi, got lo={params['lo']} hi={params['hi']}"
    return None


@manipulation(
    "clip_quantile",
    params={"lo": Param(float, lo=0.0, hi=1.0), "hi": Param(float, lo=0.0, hi=1.0)},
    check=_check_clip,
)
def clip_quantile(x: np.ndarray, ctx: SegmentContext, lo: float, hi: float) -> np.ndarray:
    """Each segment clipped to its own [quantile lo, quantile hi] (np.quantile, linear interpolation):
    the 'truncated' view, whose moments are not ruled by a few bursts."""
    bounds = np.quantile(np.asarray(x, np.float64), [lo, hi], axis=1)
    return np.clip(np.asarray(x, np.float64), bounds[0][:, None], bounds[1][:, None])


@manipulation("abs")
def absolute(x: np.ndarray, ctx: SegmentContext) -> np.ndarray:
    """|x_t|: as int32 for int8/int16/uint8/uint16 input (exact, |-32768| included, and the block built from
    it knows it is integral without scanning it), else as float64."""
    if x.dtype.kind in "iu" and x.dtype.itemsize <= 2:
        return K.abs_int32(x)
    return np.abs(x, dtype=np.float64)


@manipulation("head", params={"n": Param(int, lo=1)}, min_length=lambda n: n)
def head(x: np.ndarray, ctx: SegmentContext, n: int) -> np.ndarray:
    """The first n samples x_0..x_{n-1}."""
    return np.ascontiguousarray(x[:, :n])


@manipulation("tail", params={"n": Param(int, lo=1)}, min_length=lambda n: n)
def tail(x: np.ndarray, ctx: SegmentContext, n: int) -> np.ndarray:
    """The last n samples x_{len-n}..x_{len-1}."""
    return np.ascontiguousarray(x[:, -n:])


@manipulation("diff")
def diff(x: np.ndarray, ctx: SegmentContext) -> np.ndarray:
    """First differences x_{t+1} - x_t (one sample shorter)."""
    if x.dtype.kind in "iu":
        return np.diff(x.astype(np.int64), axis=1)
    return np.diff(x, axis=1)
