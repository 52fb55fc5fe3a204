"""1D-CNN on the raw signal.

Each window is centred on its own median, divided by a scale fitted on the training rows (the standard
deviation of their centred samples) and compressed with ``sign(x) log1p(|x|)`` (the lab signal has spikes in
the thousands). A strided front convolution (``front_kernel`` samples, stride ``front_stride``) downsamples the
150,000 samples: the window is cut into frames of ``frame`` samples (a remainder at the start is dropped) and
a convolution over ``front_kernel`` frames maps them to ``channels`` (a strided convolution of kernel
``frame * front_kernel`` and stride ``frame``, computed as one matrix product per step); ``depth`` blocks of
(kernel 8, stride 4) convolutions follow, and the mean and max over time feed a small head. Any window length
works as long as the strides leave at least one step.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from lanl.errors import LanlError
from lanl.models._torch import nn, torch
from lanl.models.base import Range, at_least, between, take
from lanl.models.torch_base import TorchRegressor, out_length

BLOCK_KERNEL, BLOCK_STRIDE = 8, 4
SCALE_ROWS = 64  # training rows sampled to fit the input scale
PREPARE_BYTES = 256 << 20  # inputs up to this size (as float32) are prepared once per fit
HALF_STEPS = 1 << 17  # int16 samples less an int16 median, in half steps, lie in (-HALF_STEPS, HALF_STEPS)


@dataclass(repr=False, eq=False)
class CNNRegressor(TorchRegressor):
    channels: int = 16
    frame: int = 32
    front_kernel: int = 2
    depth: int = 3
    head: int = 16
    crop: float = 0.7  # training batches see a random crop of this fraction of each window (augmentation)
    epochs: int = 20

    kind: ClassVar[str] = "cnn"
    input: ClassVar[str] = "signal"
    fitted_attrs: ClassVar[tuple[str, ...]] = ("scale_", "length_")
    param_ranges: ClassVar[dict[str, Range]] = {
        "channels": at_least(1),
        "frame": at_least(1),
        "front_kernel": at_least(1),
        "depth": at_least(0),
        "head": at_least(1),
        "crop": between(0, 1, low_open=True),
    }

    def _fit_inputs(self, X) -> None:
        rows = np.random.default_rng(self.seed).permutation(len(X))[:SCALE_ROWS]
        sample = _centred(np.asarray(take(X, np.sort(rows))))
        self.scale_ = float(sample.std() or 1.0)
        self.length_ = int(sample.shape[1])
        self._check_length(int(self.length_ * min(self.crop, 1.0)))

    def _check_length(self, length: int) -> None:
        steps = out_length(length // self.frame, self.front_kernel, 1)
        for _ in range(self.depth):
            steps = out_length(steps, BLOCK_KERNEL, BLOCK_STRIDE)
        if steps < 1:
            raise LanlError(
                f"CNN: windows of {length:,} samples are too short for frames of {self.frame} and "
                f"depth {self.depth} (lower the depth or the stride)"
            )

    def _fetcher(self, X, device: torch.device):
        """Row indices -> prepared batch; inputs up to PREPARE_BYTES are prepared once, larger ones per batch
        with each window's median computed once (the median is most of a window's preparation, and a fit
        fetches every training window once per epoch): the same numbers either way."""
        blocks = [np.arange(lo, min(lo + 256, len(X))) for lo in range(0, len(X), 256)]
        if len(X) * self.length_ * 4 <= PREPARE_BYTES:
            prepared = torch.from_numpy(np.concatenate([self._prepare(take(X, rows)) for rows in blocks]))
            return lambda idx: prepared[idx].to(device)
        medians = np.concatenate([_medians(np.asarray(take(X, rows), np.float32)) for rows in blocks])
        return lambda idx: torch.from_numpy(self._prepare(take(X, idx), medians[idx])).to(device)

    def _prepare(self, rows, medians: np.ndarray | None = None) -> np.ndarray:
        """sign(x) log1p(|x|) of the centred, scaled windows, in float32 and in place where it can be (the
        same numbers as the three-array formula, in fewer passes over the batch). int16 windows (the signal
        cache's) are looked up instead: centred on a median of int16 values, a sample is a half-integer in
        (-2^16, 2^16), so a table of every one's prepared value (:func:`_compressed`) gives the same float32
        numbers without a logarithm per sample."""
        rows = np.asarray(rows)
        if medians is None and rows.dtype == np.int16:
            medians = _medians(rows.astype(np.float32))
        # medians of int16 windows by _medians are float32 half-integers; any others take the formula
        if (
            rows.dtype == np.int16
            and medians.dtype == np.float32
            and np.all(2 * medians == np.rint(2 * medians))
        ):
            at = rows.astype(np.int32)
            at *= 2
            at += (HALF_STEPS - (2 * medians).astype(np.int32))[:, None]
            return np.take(_compressed(self.scale_), at)
        x = _centred(rows, medians)
        x /= np.float32(self.scale_)
        y = np.log1p(np.abs(x))
        return np.copysign(y, x, out=y)

    def _build_net(self) -> nn.Module:
        return SignalCNN(self.channels, self.frame, self.front_kernel, self.depth, self.head, self.crop)


def _centred(block: np.ndarray, medians: np.ndarray | None = None) -> np.ndarray:
    """Each window minus its median (``medians``: computed already, by :func:`_medians`)."""
    block = block.astype(np.float32)
    return block - (_medians(block) if medians is None else medians)[:, None]


@functools.lru_cache(maxsize=8)
def _compressed(scale: float) -> np.ndarray:
    """The prepared value of every half-integer ``h / 2``, ``h`` in ``[-HALF_STEPS, HALF_STEPS)``, at index
    ``h + HALF_STEPS``: the float32 operations of :meth:`CNNRegressor._prepare` on each (1 MiB)."""
    x = (np.arange(2 * HALF_STEPS, dtype=np.float32) - np.float32(HALF_STEPS)) / np.float32(2)
    x /= np.float32(scale)
    y = np.log1p(np.abs(x))
    return np.copysign(y, x, out=y)


def _medians(block: np.ndarray) -> np.ndarray:
    """Each float32 window's median (float32)."""
    return np.median(block, axis=1)


class SignalCNN(nn.Module):
    def __init__(
        self, channels: int, frame: int, front_kernel: int, depth: int, head: int, crop: float = 1.0
    ):
        super().__init__()
        self.frame, self.crop = frame, crop
        layers = _conv_block(frame, channels, front_kernel, 1)
        for _ in range(depth):
            layers += _conv_block(channels, channels, BLOCK_KERNEL, BLOCK_STRIDE)
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(2 * channels, head), nn.ReLU(), nn.Linear(head, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.crop < 1.0:
            keep = max(self.frame, int(x.shape[1] * self.crop))
            start = int(torch.randint(0, x.shape[1] - keep + 1, ()))
            x = x[:, start : start + keep]
        n, length = x.shape
        steps = length // self.frame
        frames = x[:, length - steps * self.frame :].reshape(n, steps, self.frame).transpose(1, 2)
        h = self.body(frames)
        return self.head(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)).squeeze(-1)


def _conv_block(c_in: int, c_out: int, kernel: int, stride: int) -> list[nn.Module]:
    return [nn.Conv1d(c_in, c_out, kernel, stride=stride), nn.BatchNorm1d(c_out), nn.ReLU()]
