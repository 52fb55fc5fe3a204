"""Spectral family: FFT band powers, spectral centroid and rolloff, Welch PSD summaries, the Hilbert envelope
and MFCC means.

X_k (k = 0..n//2) is the one-sided DFT of a segment (one rfft per block, shared by every feature here);
frequencies are given as fractions of the Nyquist frequency, f_k = 2k/n in [0, 1], so a set does not
depend on the sampling rate (the lab data is sampled at 4 MHz: f = 1 is 2 MHz).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
import scipy.signal
import scipy.sparse

from lanl.features import _kernels as K
from lanl.features.block import Block
from lanl.features.registry import Param, feature

_BAND_EDGES = (0.0, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _band_check(params: dict) -> str | None:
    return None if params["lo"] < params["hi"] else "lo must be below hi"


@functools.lru_cache(maxsize=8)
def _nyquist_fractions(n: int) -> np.ndarray:
    """f_k = 2k/n, k = 0..n//2 (kept across blocks, read-only)."""
    f = 2.0 * np.arange(n // 2 + 1) / n
    f.flags.writeable = False
    return f


def _band_slice(f: np.ndarray, lo: float, hi: float) -> slice:
    """The bins with lo <= f < hi (f ascending); the top band (hi = 1) includes the Nyquist bin."""
    stop = len(f) if hi == 1.0 else int(np.searchsorted(f, hi, side="left"))
    return slice(int(np.searchsorted(f, lo, side="left")), stop)


@feature(
    "fft_band_power",
    family="spectral",
    params={"lo": Param(float, lo=0.0, hi=1.0), "hi": Param(float, lo=0.0, hi=1.0)},
    combiner=True,
    check=_band_check,
    grid=[{"lo": a, "hi": b} for a, b in zip(_BAND_EDGES[:-1], _BAND_EDGES[1:], strict=True)],
)
def fft_band_power(blk: Block, params: list[dict]) -> np.ndarray:
    """Power in a frequency band: (1/n^2) sum_{k : lo <= f_k < hi} c_k |X_k|^2 with c_k = 2 except c = 1 at
    DC and (n even) at Nyquist. By Parseval the bands of a partition of [0, 1] sum to mean(x^2)."""
    n = blk.length
    f = _nyquist_fractions(n)
    bands = [_band_slice(f, p["lo"], p["hi"]) for p in params]
    starts = np.array([b.start for b in bands], dtype=np.int64)
    stops = np.array([max(b.start, b.stop) for b in bands], dtype=np.int64)
    power = blk.power
    sums = 2.0 * K.slice_sums(power, starts, stops)
    single = [0, len(f) - 1] if n % 2 == 0 else [0]  # bins that count once: DC and (n even) Nyquist
    for k in single:
        inside = (starts <= k) & (k < stops)
        sums[:, inside] -= power[:, [k]]
    return sums / n**2


@feature("spectral_centroid", family="spectral")
def spectral_centroid(blk: Block) -> np.ndarray:
    """Magnitude-weighted mean frequency: sum_k f_k |X_k| / sum_k |X_k| (0 for an all-zero segment)."""
    total, centroid = K.weighted_sums(blk.magnitude, _nyquist_fractions(blk.length))
    return np.divide(centroid, total, out=np.zeros_like(total), where=total > 0)


@feature(
    "spectral_rolloff",
    family="spectral",
    params={"roll_percent": Param(float, lo=0.0, hi=1.0)},
    grid=[{"roll_percent": p} for p in (0.5, 0.85, 0.95)],
)
def spectral_rolloff(blk: Block, roll_percent: float) -> np.ndarray:
    """Rolloff frequency: the smallest f_k with sum_{j <= k} |X_j| >= roll_percent * sum_j |X_j|
    (librosa.feature.spectral_rolloff's rule on the whole-segment magnitude spectrum)."""
    return _nyquist_fractions(blk.length)[K.rolloff_index(blk.magnitude, roll_percent)]


def _welch(blk: Block, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """scipy.signal.welch with fs = 2 (frequencies in Nyquist fractions), Hann window, 50% overlap,
    constant detrend, density scaling, mean over segments."""
    return blk.memo(("welch", nperseg), lambda: scipy.signal.welch(blk.x, fs=2.0, nperseg=nperseg, axis=-1))


_NPERSEG = Param(int, lo=8)


@feature(
    "welch_peak_frequency",
    family="spectral",
    params={"nperseg": _NPERSEG},
    min_length=lambda nperseg: nperseg,
    grid=[{"nperseg": 256}, {"nperseg": 4096}],
)
def welch_peak_frequency(blk: Block, nperseg: int) -> np.ndarray:
    """Frequency (Nyquist fraction) of the largest value of the Welch PSD (first one on ties)."""
    freqs, psd = _welch(blk, nperseg)
    return freqs[np.argmax(psd, axis=1)]


@feature(
    "welch_band_power",
    family="spectral",
    params={"nperseg": _NPERSEG, "lo": Param(float, lo=0.0, hi=1.0), "hi": Param(float, lo=0.0, hi=1.0)},
    combiner=True,
    check=_band_check,
    min_length=lambda nperseg, lo, hi: nperseg,
    grid=[{"nperseg": 256, "lo": a, "hi": b} for a, b in ((0.0, 0.05), (0.05, 0.2), (0.2, 0.5), (0.5, 1.0))],
)
def welch_band_power(blk: Block, params: list[dict]) -> np.ndarray:
    """Welch PSD integrated over a band: sum_{lo <= f < hi} P(f) * df, df = 2 / nperseg (top band includes
    Nyquist). With the same bands as fft_band_power it estimates the same power."""
    cols = []
    for p in params:
        freqs, psd = _welch(blk, p["nperseg"])
        cols.append(psd[:, _band_slice(freqs, p["lo"], p["hi"])].sum(axis=1) * (2.0 / p["nperseg"]))
    return np.stack(cols, axis=1)


@feature("hilbert_mean", family="spectral")
def hilbert_mean(blk: Block) -> np.ndarray:
    """Mean Hilbert envelope: (1/n) sum_t |x_t + i H(x)_t|, the analytic signal of scipy.signal.hilbert.
    H(x) = irfft(-i X_k) with the DC and (n even) Nyquist bins zeroed, from the shared rfft; a few rows at a
    time (pocketfft vectorises across rows, and the temporaries stay in cache), into one reused buffer."""
    n = blk.length
    out = np.empty(blk.n_segments)
    spectrum = blk.rfft
    buf = np.empty((min(_HILBERT_ROWS, blk.n_segments), spectrum.shape[1]), np.complex128)
    for r0 in range(0, blk.n_segments, _HILBERT_ROWS):
        r1 = min(r0 + _HILBERT_ROWS, blk.n_segments)
        part = buf[: r1 - r0]
        K.quarter_turn(spectrum[r0:r1], part, n % 2 == 0)
        h = scipy.fft.irfft(part, n, axis=1, overwrite_x=True)
        out[r0:r1] = K.envelope_mean(blk.x[r0:r1], h)
    return out


_HILBERT_ROWS = 4  # rows per inverse transform of hilbert_mean (as fast as the whole block, measured)
