"""The PyTorch training loop shared by the nets, with its extras as callbacks.

``fit_loop`` runs epochs of shuffled mini-batches (a seeded generator; batches are prepared lazily from row
indices, so a raw-signal input never has to sit in memory as float32) and hands a :class:`LoopState` to each
callback after every epoch: :class:`History` records the learning curves, :class:`EarlyStopping` stops when
the stopping-set loss has not improved for ``patience`` epochs, :class:`Checkpoint` keeps (and optionally
writes) the best weights and restores them at the end. A progress bar shows the running loss.

Losses are :class:`RowLoss` modules: ``loss(pred, target, weight=None)``, the mean over rows of a per-row loss,
weighted when the caller gives sample weights (scaled to a mean of 1 over the training rows, so a batch's loss is
the plain mean of weight x loss). The stopping set is scored unweighted, by ``valid_loss`` (default ``loss``).

``torch_runtime`` sets the thread count, the device and deterministic kernels for one fit and restores the
previous settings afterwards (no global state changed at import or left behind).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lanl.fsutil import atomic_path
from lanl.models._torch import torch
from lanl.progress import progress

Fetch = Callable[[np.ndarray], torch.Tensor]  # row indices -> input batch (on the device)
LOSSES = ("l1", "huber")


@contextlib.contextmanager
def torch_runtime(threads: int, seed: int, device: str = "auto") -> Iterator[torch.device]:
    """Seeded, deterministic torch with ``threads`` CPU threads on ``device`` (auto: CUDA when present)."""
    dev = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else "cpu" if device == "auto" else device
    )
    old_threads = torch.get_num_threads()
    old_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.set_num_threads(max(1, threads))
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(seed)
            yield dev
    finally:
        torch.set_num_threads(old_threads)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old_cudnn


@dataclass
class LoopState:
    net: torch.nn.Module
    epoch: int = 0
    train_loss: float = math.nan
    valid_loss: float = math.nan
    stop: bool = False


class Callback:
    def on_epoch_end(self, state: LoopState) -> None:
        pass

    def on_train_end(self, state: LoopState) -> None:
        pass


@dataclass
class History(Callback):
    """Learning curves: loss per epoch on the training rows and on the stopping set."""

    curves: dict[str, list[float]] = field(default_factory=lambda: {"train_loss": [], "valid_loss": []})

    def on_epoch_end(self, state: LoopState) -> None:
        self.curves["train_loss"].append(state.train_loss)
        if not math.isnan(state.valid_loss):
            self.curves["valid_loss"].append(state.valid_loss)


@dataclass
class EarlyStopping(Callback):
    patience: int
    best: float = math.inf
    best_epoch: int = 0

    def on_epoch_end(self, state: LoopState) -> None:
        if math.isnan(state.valid_loss):
            return
        if state.valid_loss < self.best:
            self.best, self.best_epoch = state.valid_loss, state.epoch
        elif state.epoch - self.best_epoch >= self.patience:
            state.stop = True


@dataclass
class Checkpoint(Callback):
    """Keep the weights of the best epoch (lowest stopping loss; the last epoch without a stopping set),
    write them to ``path`` when given, and load them back into the net when training ends."""

    path: Path | None = None
    best: float = math.inf
    best_epoch: int = 0
    state_dict: dict | None = None

    def on_epoch_end(self, state: LoopState) -> None:
        score = state.valid_loss if not math.isnan(state.valid_loss) else -state.epoch
        if score < self.best:
            self.best, self.best_epoch = score, state.epoch
            self.state_dict = copy.deepcopy(state.net.state_dict())
            if self.path is not None:
                with atomic_path(self.path) as tmp:
                    torch.save({"epoch": state.epoch, "state_dict": self.state_dict}, tmp)

    def on_train_end(self, state: LoopState) -> None:
        if self.state_dict is not None:
            state.net.load_state_dict(self.state_dict)


@dataclass
class CosineSchedule(Callback):
    """Cosine decay of the learning rate from its initial value to ``floor`` times it over ``epochs``."""

    optimizer: torch.optim.Optimizer
    epochs: int
    floor: float = 0.05

    def __post_init__(self):
        self.base = [g["lr"] for g in self.optimizer.param_groups]

    def on_epoch_end(self, state: LoopState) -> None:
        t = min(state.epoch / max(self.epochs, 1), 1.0)
        factor = self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * t))
        for group, lr in zip(self.optimizer.param_groups, self.base, strict=True):
            group["lr"] = lr * factor


class RowLoss(torch.nn.Module):
    """Mean over rows of ``rows(pred, target)`` (a loss per row), weighted by ``weight`` when given."""

    def rows(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, pred, target, weight: torch.Tensor | None = None) -> torch.Tensor:
        per_row = self.rows(pred, target)
        return per_row.mean() if weight is None else (per_row * weight).mean()


class ElementLoss(RowLoss):
    """``l1`` or ``huber`` (delta 1) between a prediction and its target, per row."""

    def __init__(self, name: str):
        super().__init__()
        self.element = {"l1": torch.nn.L1Loss, "huber": torch.nn.HuberLoss}[name](reduction="none")

    def rows(self, pred, target):
        return self.element(pred, target)


def loss_function(name: str) -> RowLoss:
    return ElementLoss(name)


def fit_loop(
    net: torch.nn.Module,
    fetch: Fetch,
    y: torch.Tensor,
    *,
    valid: tuple[Fetch, torch.Tensor] | None,
    epochs: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    loss: RowLoss,
    generator: torch.Generator,
    callbacks: list[Callback],
    desc: str = "train",
    weight: torch.Tensor | None = None,
    valid_loss: RowLoss | None = None,
) -> LoopState:
    """Train ``net`` for up to ``epochs`` epochs (rows weighted by ``weight``, mean 1, when given); the
    stopping set is scored by ``valid_loss`` (default ``loss``). Returns the final state (callbacks hold the
    rest)."""
    state = LoopState(net)
    n_batches = math.ceil(len(y) / batch_size)
    score = valid_loss or loss
    with progress(total=epochs * n_batches, desc=desc, unit="batch") as bar:
        for epoch in range(1, epochs + 1):
            state.epoch = epoch
            batches = (fetch, y, weight, batch_size)
            state.train_loss = _train_epoch(net, batches, optimizer, loss, generator, bar)
            state.valid_loss = evaluate(net, *valid, score, batch_size) if valid is not None else math.nan
            bar.set_postfix(loss=f"{state.train_loss:.3f}", stop=f"{state.valid_loss:.3f}", refresh=False)
            for cb in callbacks:
                cb.on_epoch_end(state)
            if state.stop:
                break
    for cb in callbacks:
        cb.on_train_end(state)
    return state


def _train_epoch(net, batches, optimizer, loss, generator, bar) -> float:
    fetch, y, weight, batch_size = batches
    net.train()
    order = torch.randperm(len(y), generator=generator).numpy()
    total = 0.0
    for lo in range(0, len(order), batch_size):
        idx = np.sort(order[lo : lo + batch_size])
        optimizer.zero_grad(set_to_none=True)
        batch_loss = loss(net(fetch(idx)), y[idx], None if weight is None else weight[idx])
        batch_loss.backward()
        optimizer.step()
        total += float(batch_loss.detach()) * len(idx)
        bar.update(1)
    return total / len(order)


@torch.no_grad()
def predict_batches(net: torch.nn.Module, fetch: Fetch, n: int, batch_size: int) -> torch.Tensor:
    net.eval()
    parts = [net(fetch(np.arange(lo, min(lo + batch_size, n)))) for lo in range(0, n, batch_size)]
    return torch.cat(parts) if parts else torch.empty(0)


def evaluate(net, fetch: Fetch, y: torch.Tensor, loss: RowLoss, batch_size: int) -> float:
    return float(loss(predict_batches(net, fetch, len(y), batch_size), y))
