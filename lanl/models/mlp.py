"""A small multilayer perceptron on standardised features (``mlp``), optionally multitask (the 1st place's net).

Inputs: the feature columns standardised with the training rows' mean and standard deviation (unweighted; a
feature constant on them is only centred). ``layers`` hidden layers of ``hidden`` units (ReLU, dropout) feed
one linear output per head. The loss of the main head is ``loss`` (``l1``: the MAE) on the standardised target;
early stopping (``patience`` epochs) scores the main head's loss on the held-out stopping rows, as every other
model's early stopping does, and keeps the best epoch's weights.

``multitask = true`` adds the 1st place's auxiliary heads, trained beside the main one (each loss times
``aux_weight``) and never used to predict:

* ``close``: time_to_failure < ``close_s`` (0.5 s), a logistic head (binary cross-entropy); it needs only the
  labels;
* ``since``: time since the last quake, ``D_c - ttf`` with ``D_c`` the duration of the row's cycle estimated from
  the training rows' labels as :func:`lanl.models.target.cycle_durations` does (its largest label; the partial
  first cycle at least the median of the others). It needs each row's cycle: ``fit(..., cycles=...)``. Without
  cycles the net trains the ``close`` head only; ``aux_heads_`` records which. ``lanl.cv.train`` passes them for the
  ``ttf`` target.

Both auxiliary targets are computed from the rows ``fit`` is given (training rows) and their labels only. They
assume ``y`` is time_to_failure in seconds (the ``ttf`` target); under the ``fraction`` target the ``close``
threshold does not apply, so use ``multitask = false`` there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from lanl.errors import LanlError
from lanl.models._torch import nn, torch
from lanl.models.base import (
    Range,
    between,
    check_weight,
    check_xy,
    feature_names,
    finite_values,
    validate_params,
)
from lanl.models.target import cycle_durations
from lanl.models.torch_base import TorchRegressor
from lanl.models.torch_loop import RowLoss, loss_function


@dataclass(repr=False, eq=False)
class MLPRegressor(TorchRegressor):
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.1
    multitask: bool = False
    aux_weight: float = 0.5  # each auxiliary head's loss is weighted by this next to the main head's
    close_s: float = 0.5  # threshold of the "close to failure" head (s)
    epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 20

    kind: ClassVar[str] = "mlp"
    input: ClassVar[str] = "features"
    uses_cycles: ClassVar[bool] = True  # lanl.cv.train passes the fit rows' cycles (ttf target only)
    fitted_attrs: ClassVar[tuple[str, ...]] = (
        "mean_",
        "std_",
        "feature_names_in_",
        "n_features_in_",
        "aux_heads_",
        "since_scale_",
    )

    param_ranges: ClassVar[dict[str, Range]] = {
        "hidden": between(1, 4096),
        "layers": between(1, 8),
        "dropout": between(0.0, 0.9),
        "aux_weight": between(0.0, 100.0),
        "close_s": between(0.0, 1e3),
        "lr": between(1e-6, 1.0),
    }

    def fit(self, X, y, eval_set=None, sample_weight=None, cycles=None) -> MLPRegressor:
        """Fit on ``X`` (rows weighted by ``sample_weight``; early stopping on ``eval_set``); ``cycles``, the
        quake cycle of each row, turns on the multitask ``since`` head."""
        validate_params(self)
        y = check_xy(X, y)
        weight = check_weight(sample_weight, len(y))
        aux = None
        self.aux_heads_, self.since_scale_ = [], 1.0
        if self.multitask:
            aux = self._aux_targets(y, cycles)
        return self._fit(X, y, eval_set, weight, aux)

    def _aux_targets(self, y: np.ndarray, cycles) -> np.ndarray:
        """(rows, heads): the ``close`` indicator, and the standardised time since the last quake when the
        rows' cycles are known."""
        columns = [(y < self.close_s).astype(np.float64)]
        self.aux_heads_ = ["close"]
        if cycles is not None:
            cycles = np.asarray(cycles)
            if cycles.shape != y.shape:
                raise LanlError(f"cycles must be one per row: {len(y)} rows, cycles of shape {cycles.shape}")
            durations = cycle_durations(y, cycles)
            since = np.array([durations[int(c)] for c in cycles]) - y
            self.since_scale_ = float(since.std() or 1.0)
            columns.append(since / self.since_scale_)
            self.aux_heads_.append("since")
        return np.column_stack(columns)

    def _losses(self) -> tuple[RowLoss, RowLoss | None]:
        main = loss_function(self.loss)
        if not self.aux_heads_:
            return main, None
        return MultitaskLoss(main, self.aux_heads_, self.aux_weight), MainHead(main)

    def _head(self, out: torch.Tensor) -> torch.Tensor:
        return out[:, 0] if out.ndim == 2 else out

    def _fit_inputs(self, X) -> None:
        values = finite_values(X, self.kind)
        self.feature_names_in_ = feature_names(X)
        self.n_features_in_ = len(self.feature_names_in_)
        self.mean_ = values.mean(axis=0)
        std = values.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0)

    def _fetcher(self, X, device: torch.device):
        if len(feature_names(X)) != self.n_features_in_:
            raise LanlError(f"the model was fitted on {self.n_features_in_} features, not {X.shape[1]}")
        scaled = torch.tensor((finite_values(X, self.kind) - self.mean_) / self.std_, dtype=torch.float32)
        return lambda idx: scaled[idx].to(device)

    def _build_net(self) -> nn.Module:
        outputs = 1 + len(self.aux_heads_)
        return FeatureMLP(self.n_features_in_, self.hidden, self.layers, self.dropout, outputs)


class FeatureMLP(nn.Module):
    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float, outputs: int):
        super().__init__()
        body: list[nn.Module] = []
        width = n_features
        for _ in range(layers):
            body += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.body = nn.Sequential(*body)
        self.out = nn.Linear(width, outputs)
        self.outputs = outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.out(self.body(x))
        return out.squeeze(-1) if self.outputs == 1 else out


class MainHead(RowLoss):
    """A loss of the main head (column 0) alone: the stopping-set score of a multitask net."""

    def __init__(self, main: RowLoss):
        super().__init__()
        self.main = main

    def rows(self, pred, target):
        return self.main.rows(pred[:, 0], target)


class MultitaskLoss(RowLoss):
    """Main loss on column 0, plus ``aux_weight`` times each auxiliary head's: binary cross-entropy (logits) for
    ``close``, L1 for ``since``."""

    def __init__(self, main: RowLoss, heads: list[str], aux_weight: float):
        super().__init__()
        self.main, self.heads, self.aux_weight = main, list(heads), aux_weight
        self.bce = nn.BCEWithLogitsLoss(reduction="none")

    def rows(self, pred, target):
        total = self.main.rows(pred[:, 0], target[:, 0])
        for j, head in enumerate(self.heads, start=1):
            aux = self.bce(pred[:, j], target[:, j]) if head == "close" else (pred[:, j] - target[:, j]).abs()
            total = total + self.aux_weight * aux
        return total
