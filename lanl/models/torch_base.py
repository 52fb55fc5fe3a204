"""The estimator shell shared by the PyTorch nets: fit, predict, save, load.

A subclass says how to learn its input scaling (``_fit_inputs``, training rows only), how to turn row indices
into an input batch (``_fetcher``) and which net to build (``_build_net``). The target is standardised with the
training rows' mean and standard deviation; learning curves are reported in target units (seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from lanl.errors import LanlError
from lanl.fsutil import atomic_path
from lanl.models._torch import torch
from lanl.models.base import (
    Range,
    above,
    at_least,
    check_params,
    check_weight,
    check_xy,
    get_params_json,
    one_of,
)
from lanl.models.torch_loop import (
    LOSSES,
    Checkpoint,
    CosineSchedule,
    EarlyStopping,
    History,
    RowLoss,
    fit_loop,
    loss_function,
    predict_batches,
    torch_runtime,
)

SCHEDULES = ("cosine", "constant")


@dataclass(repr=False, eq=False)
class TorchRegressor(RegressorMixin, BaseEstimator):
    epochs: int = 30
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 10
    schedule: str = "cosine"  # learning rate over the epochs: cosine (decay) or constant
    loss: str = "l1"
    seed: int = 0
    threads: int = (
        1  # small nets on a shared CPU: one thread is fastest (two contend); raise it on a free box
    )
    device: str = "auto"
    checkpoint_dir: str = ""  # when set, the best weights of each fit are also written there

    kind: ClassVar[str] = "torch"
    input: ClassVar[str] = ""
    fitted_attrs: ClassVar[tuple[str, ...]] = ()
    param_ranges: ClassVar[dict[str, Range]] = {
        "epochs": at_least(1),
        "batch_size": at_least(1),
        "lr": above(0),
        "weight_decay": at_least(0),
        "patience": at_least(0),
        "schedule": one_of(*SCHEDULES),
        "loss": one_of(*LOSSES),
        "threads": at_least(1),
    }

    # ----------------------------------------------------------------------------------- subclass hooks
    def _fit_inputs(self, X) -> None:
        raise NotImplementedError

    def _fetcher(self, X, device: torch.device):
        raise NotImplementedError

    def _build_net(self) -> torch.nn.Module:
        raise NotImplementedError

    def _losses(self) -> tuple[RowLoss, RowLoss | None]:
        """(training loss, stopping-set score; None: the training loss)."""
        return loss_function(self.loss), None

    def _head(self, out: torch.Tensor) -> torch.Tensor:
        """The prediction (scaled target) from the net's output."""
        return out

    # ---------------------------------------------------------------------------------------------- fit
    def fit(self, X, y, eval_set=None, sample_weight=None) -> TorchRegressor:
        """Fit on ``X``, rows weighted by ``sample_weight``; with ``eval_set=(X_stop, y_stop)``, stop early and
        keep the best epoch's weights."""
        y = check_xy(X, y)
        return self._fit(X, y, eval_set, check_weight(sample_weight, len(y)))

    def _fit(self, X, y: np.ndarray, eval_set, weight: np.ndarray | None, aux: np.ndarray | None = None):
        """The fit itself; ``aux`` (rows, heads), when given, holds further training targets, as the net's
        further outputs are trained on them (the subclass's losses say how)."""
        self._check_params()
        with torch_runtime(self.threads, self.seed, self.device) as device:
            self._fit_inputs(X)
            self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std() or 1.0)
            self.net_ = self._build_net().to(device)
            optimizer = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            history, stopper, checkpoint = History(), EarlyStopping(self.patience), self._checkpoint()
            callbacks = [history, checkpoint] + (
                [stopper] if eval_set is not None and self.patience > 0 else []
            )
            if self.schedule == "cosine":
                callbacks.append(CosineSchedule(optimizer, self.epochs))
            targets = self._scaled(y, device)
            if aux is not None:
                targets = torch.column_stack([targets, torch.tensor(aux, dtype=torch.float32, device=device)])
            loss, valid_loss = self._losses()
            state = fit_loop(
                self.net_,
                self._fetcher(X, device),
                targets,
                valid=self._valid(eval_set, device),
                epochs=self.epochs,
                batch_size=self.batch_size,
                optimizer=optimizer,
                loss=loss,
                generator=torch.Generator().manual_seed(self.seed),
                callbacks=callbacks,
                desc=self.kind,
                weight=_mean_one(weight, device),
                valid_loss=valid_loss,
            )
            self.net_.to("cpu")
        self.best_epoch_ = checkpoint.best_epoch if eval_set is not None else state.epoch
        self.history_ = {k: [v * self.y_scale_ for v in vals] for k, vals in history.curves.items()}
        return self

    def _check_params(self) -> None:
        """The parameters as set (also when the model was built in Python, not from a config)."""
        check_params(type(self), get_params_json(self), f"{type(self).__name__} parameters")

    def _checkpoint(self) -> Checkpoint:
        path = Path(self.checkpoint_dir) / f"{self.kind}-seed{self.seed}.pt" if self.checkpoint_dir else None
        return Checkpoint(path=path)

    def _scaled(self, y: np.ndarray, device) -> torch.Tensor:
        return torch.tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32, device=device)

    def _valid(self, eval_set, device):
        if eval_set is None:
            return None
        X_stop, y_stop = eval_set
        return self._fetcher(X_stop, device), self._scaled(check_xy(X_stop, y_stop), device)

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "net_"):
            raise LanlError(f"this {type(self).__name__} is not fitted yet")
        with torch_runtime(self.threads, self.seed, "cpu") as device:
            out = predict_batches(self.net_, self._fetcher(X, device), len(X), max(self.batch_size, 32))
        return self._head(out).numpy().astype(np.float64) * self.y_scale_ + self.y_mean_

    def refit_params(self) -> dict[str, Any]:
        return {"epochs": max(1, self.best_epoch_), "patience": 0}

    # ---------------------------------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> Path:
        fitted = {name: _to_saved(getattr(self, name)) for name in self.fitted_attrs}
        doc = {
            "kind": self.kind,
            "params": get_params_json(self),
            "state_dict": self.net_.state_dict(),
            "fitted": {
                **fitted,
                "y_mean_": self.y_mean_,
                "y_scale_": self.y_scale_,
                "best_epoch_": self.best_epoch_,
            },
            "history": self.history_,
        }
        with atomic_path(path) as tmp:
            torch.save(doc, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> TorchRegressor:
        doc = torch.load(path, map_location="cpu", weights_only=True)
        if doc.get("kind") != cls.kind:
            raise LanlError(f"{path}: not a saved {cls.__name__}")
        model = cls(**doc["params"])
        for name, value in doc["fitted"].items():
            setattr(model, name, np.asarray(value) if isinstance(value, list) else value)
        model.net_ = model._build_net()
        model.net_.load_state_dict(doc["state_dict"])
        model.history_ = doc["history"]
        return model


def _mean_one(weight: np.ndarray | None, device) -> torch.Tensor | None:
    if weight is None:
        return None
    return torch.tensor(weight / weight.mean(), dtype=torch.float32, device=device)


def _to_saved(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def out_length(length: int, kernel: int, stride: int) -> int:
    return math.floor((length - kernel) / stride) + 1
