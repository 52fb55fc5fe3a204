"""What a trainer hands back, and the metrics both trainers report the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def confusion_matrix(targets: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """``cm[actual, predicted]`` counts."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(targets), np.asarray(predicted)), 1)
    return cm


def most_confused(cm: np.ndarray, classes: list[str], min_count: int = 1) -> list[tuple[str, str, int]]:
    """(actual, predicted, count) for the off-diagonal cells with at least ``min_count``, largest first."""
    off = cm.copy()
    np.fill_diagonal(off, 0)
    pairs = [
        (classes[i], classes[j], int(off[i, j])) for i, j in zip(*np.nonzero(off >= min_count), strict=True)
    ]
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))


@dataclass
class TrainResult:
    """One trainer's run: per-batch training losses, per-epoch validation metrics, validation predictions."""

    trainer: str  # "fastai" or "pytorch"
    backbone: str
    pretrained: bool
    classes: list[str]
    lr: float
    valid_targets: np.ndarray  # class indices
    valid_probs: np.ndarray  # (n_valid, n_classes)
    train_seconds: float
    model_path: Path | None = None
    batch_losses: list[float] = field(default_factory=list)
    epochs: list[dict] = field(
        default_factory=list
    )  # {"epoch", "frozen", "train_loss", "valid_loss", "error_rate"}

    @property
    def valid_predicted(self) -> np.ndarray:
        return self.valid_probs.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        return float((self.valid_predicted == self.valid_targets).mean())

    @property
    def error_rate(self) -> float:
        return 1.0 - self.accuracy

    @property
    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.valid_targets, self.valid_predicted, len(self.classes))

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        return most_confused(self.confusion, self.classes, min_count)

    def summary(self) -> dict:
        """JSON-ready figures of the run."""
        return {
            "trainer": self.trainer,
            "backbone": self.backbone,
            "pretrained": self.pretrained,
            "lr": self.lr,
            "accuracy": round(self.accuracy, 6),
            "error_rate": round(self.error_rate, 6),
            "valid_images": int(len(self.valid_targets)),
            "train_seconds": round(self.train_seconds, 2),
            "epochs": self.epochs,
            "most_confused": self.most_confused()[:10],
            "model": str(self.model_path) if self.model_path else None,
        }
