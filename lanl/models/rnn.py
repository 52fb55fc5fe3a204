"""Recurrent net (LSTM or GRU) on sequences of per-chunk features: the public "RNN starter".

The input is (n, steps, features): each window cut into chunks of ``chunk`` samples (150 x 1,000 for a
150,000-sample window), a dozen statistics per chunk (:mod:`lanl.models.chunks`). Features are compressed with
``sign(f) log1p(|f|)`` and standardised per feature with the training rows' mean and standard deviation; the
last hidden state feeds a small head. Any number of steps works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from lanl.errors import LanlError
from lanl.models._torch import nn, torch
from lanl.models.base import Range, at_least, one_of, take
from lanl.models.torch_base import TorchRegressor

CELLS = ("lstm", "gru")


@dataclass(repr=False, eq=False)
class RNNRegressor(TorchRegressor):
    cell: str = "lstm"
    hidden: int = 32
    layers: int = 1
    head: int = 16
    chunk: int = 1000  # samples per step: read by whoever builds the input sequences (lanl.models.chunks)

    kind: ClassVar[str] = "lstm"
    input: ClassVar[str] = "chunks"
    fitted_attrs: ClassVar[tuple[str, ...]] = ("mean_", "std_", "n_features_in_")
    param_ranges: ClassVar[dict[str, Range]] = {
        "cell": one_of(*CELLS, what="recurrent cell"),
        "hidden": at_least(1),
        "layers": at_least(1),
        "head": at_least(1),
        "chunk": at_least(1),
    }

    def _fit_inputs(self, X) -> None:
        if self.cell not in CELLS:
            raise LanlError(f"unknown recurrent cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        x = _compress(np.asarray(X))
        if x.ndim != 3:
            raise LanlError(f"the recurrent net takes (rows, steps, features) sequences, got shape {x.shape}")
        self.mean_ = x.mean(axis=(0, 1))
        self.std_ = np.where(x.std(axis=(0, 1)) > 0, x.std(axis=(0, 1)), 1.0)
        self.n_features_in_ = int(x.shape[2])

    def _fetcher(self, X, device: torch.device):
        def fetch(idx: np.ndarray) -> torch.Tensor:
            x = (_compress(np.asarray(take(X, idx))) - self.mean_) / self.std_
            return torch.from_numpy(x.astype(np.float32)).to(device)

        return fetch

    def _build_net(self) -> nn.Module:
        return SequenceRNN(self.cell, self.n_features_in_, self.hidden, self.layers, self.head)


def _compress(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return np.sign(x) * np.log1p(np.abs(x))


class SequenceRNN(nn.Module):
    def __init__(self, cell: str, n_features: int, hidden: int, layers: int, head: int):
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(n_features, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, head), nn.ReLU(), nn.Linear(head, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)
