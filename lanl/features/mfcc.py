"""MFCC means, defined exactly as ``librosa.feature.mfcc`` (librosa 0.10-0.11 defaults), without librosa.

For one segment y (float64) with defaults sr=22050, n_fft=2048, hop_length=512, n_mels=128, top_db=80:

1. STFT: y padded with n_fft//2 zeros on both sides (center=True, pad_mode='constant'; ``pad_mode="reflect"``
   mirrors it instead, librosa's default before 0.10, which the 1st place's 2019 kernel ran), frames of n_fft
   samples every hop_length samples, times the periodic Hann window, rfft of each frame;
2. power spectrogram S = |STFT|^2, mel spectrogram M = B S with B the Slaney mel filterbank
   (librosa.filters.mel: htk=False, norm='slaney', fmin=0, fmax=sr/2), whose weights librosa rounds to
   float32;
3. log: L = 10 log10(max(1e-10, M)), then L = max(L, max(L) - top_db) (power_to_db with ref=1);
4. MFCC = DCT-II (orthonormal) of L along the mel axis; the feature is row k of it averaged over frames,
   which equals the DCT of the frame-averaged L (the DCT is linear).

The 1st-place solution used the means of MFCC 4 and 18 (``winners`` set).
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.signal
import scipy.sparse

from lanl.features.block import Block
from lanl.features.registry import Param, feature


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mel per 200 Hz) below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = np.log(6.4) / 27.0
    mel = f / f_sp
    log_part = f >= min_log_hz
    return np.where(
        log_part, min_log_hz / f_sp + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep, mel
    )


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def mel_filterbank(sr: float, n_fft: int, n_mels: int) -> np.ndarray:
    """Slaney-normalised triangular mel filters (n_mels, 1 + n_fft//2), rounded to float32 as librosa's."""
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper)).astype(np.float32)
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]  # float64 product stored as float32, as librosa
    return weights


def mean_log_mel(
    y: np.ndarray, basis, n_fft: int, hop_length: int, top_db: float, pad_mode: str = "constant"
) -> np.ndarray:
    """Frame-averaged log-mel spectrum (n_mels,) of one segment (steps 1-3 of the module docstring)."""
    padded = np.pad(y, n_fft // 2, mode=pad_mode)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    window = scipy.signal.get_window("hann", n_fft, fftbins=True)
    spec = scipy.fft.rfft(frames * window, axis=1)
    power = spec.real**2 + spec.imag**2
    mel = basis @ power.T  # (n_mels, n_frames)
    log_mel = 10.0 * np.log10(np.maximum(1e-10, mel))
    log_mel = np.maximum(log_mel, log_mel.max() - top_db)
    return log_mel.mean(axis=1)


PAD_MODES = ("constant", "reflect")


def _check_mfcc(p: dict) -> str | None:
    return "k must be below n_mels" if p["k"] >= p.get("n_mels", 128) else None


@feature(
    "mfcc_mean",
    family="spectral",
    params={
        "k": Param(int, lo=0),
        "sr": Param(float, lo=1.0, required=False),
        "n_fft": Param(int, lo=16, required=False),
        "hop_length": Param(int, lo=1, required=False),
        "n_mels": Param(int, lo=1, required=False),
        "top_db": Param(float, lo=0.0, required=False),
        "pad_mode": Param(str, choices=PAD_MODES, required=False),
    },
    combiner=True,
    check=_check_mfcc,
    min_length=lambda k, n_fft=2048, **_: n_fft,
    grid=[{"k": k} for k in range(20)],
)
def mfcc_mean(blk: Block, params: list[dict]) -> np.ndarray:
    """Mean over frames of MFCC k, as librosa.feature.mfcc(y=x, sr, n_fft, hop_length, n_mels) computes it
    (see the module docstring for the definition)."""
    out = np.empty((blk.n_segments, len(params)))
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(params):
        key = (p.get("sr", 22050.0), p.get("n_fft", 2048), p.get("hop_length", 512), p.get("n_mels", 128))
        groups.setdefault(key + (p.get("top_db", 80.0), p.get("pad_mode", "constant")), []).append(i)
    for (sr, n_fft, hop, n_mels, top_db, pad_mode), idx in groups.items():
        basis = scipy.sparse.csr_matrix(mel_filterbank(sr, n_fft, n_mels).astype(np.float64))
        for r in range(blk.n_segments):
            log_mel = mean_log_mel(blk.x[r], basis, n_fft, hop, top_db, pad_mode)
            coeffs = scipy.fft.dct(log_mel, type=2, norm="ortho")
            out[r, idx] = coeffs[[params[i]["k"] for i in idx]]
    return out
