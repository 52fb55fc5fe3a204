"""Training settings: one dataclass saved with every run, with per-dataset defaults for sizes and flips."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from image_baseline.errors import DataError

log = logging.getLogger(__name__)

# Settings left None in TrainConfig come from the dataset. Photos (Pets, Stanford Dogs, ...): the course's
# settings. Digits fill their frame (no crops) and a mirrored 7 is no 7 (no flips); they are far from
# ImageNet, so the unfrozen body trains at the head's rate (lr_mult 1) instead of a hundredth of it.
PHOTO_DEFAULTS = dict(
    item_size=460, size=224, flip=True, min_scale=0.75, lr=2e-3, lr_mult=100.0, batch_size=64, epochs=3
)
DATASET_DEFAULTS = {
    "digits": dict(
        item_size=80, size=64, flip=False, min_scale=1.0, lr=4e-3, lr_mult=1.0, batch_size=32, epochs=4
    ),
}


@dataclass
class TrainConfig:
    """Everything that decides a run's result; settings left None come from the dataset's defaults."""

    arch: str = "auto"
    epochs: int | None = None  # unfrozen epochs, after ``freeze_epochs`` with the pretrained body frozen
    freeze_epochs: int = 1
    lr: float | None = None  # fine_tune's base_lr; the plain trainer copies its schedule
    lr_mult: float | None = None  # fine_tune's ratio of the head's to the body's learning rate once unfrozen
    use_lr_find: bool = False  # train with the learning-rate finder's suggestion instead of ``lr``
    lr_find: bool = True  # run the finder (for its plot) even when not using it
    lr_find_iterations: int = 60
    batch_size: int | None = None
    valid_pct: float = 0.2
    seed: int = 42
    size: int | None = None  # training size, after presizing to ``item_size``
    item_size: int | None = None
    flip: bool | None = None
    min_scale: float | None = None  # smallest share of the image area a training crop keeps
    limit_per_class: int | None = None
    require_pretrained: bool = False
    download_weights: bool = False

    def for_dataset(self, name: str) -> TrainConfig:
        """A copy with the settings left None filled in from dataset ``name``'s defaults."""
        defaults = DATASET_DEFAULTS.get(name, PHOTO_DEFAULTS)
        filled = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        config = dataclasses.replace(self, **filled)
        return dataclasses.replace(config, item_size=max(config.item_size, config.size))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)


def fit_batch_size(config: TrainConfig, n_train: int) -> TrainConfig:
    """``config`` with a batch no larger than the training split. The training loaders drop a last partial
    batch, so a larger batch gives no batch at all (fastai's lr_find then divides by zero); a batch of one
    cannot train the batch-norm layers, so fewer than two training images is an error."""
    if n_train < 2:
        raise DataError("the training split", f"{n_train} image(s): give at least 3 labelled images per run")
    if config.batch_size <= n_train:
        return config
    log.warning(
        "batch size %d is larger than the %d training images: using %d", config.batch_size, n_train, n_train
    )
    return dataclasses.replace(config, batch_size=n_train)


def split_indices(n: int, valid_pct: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``range(n)`` into sorted (train, valid) indices; both trainers share it."""
    if not 0 < valid_pct < 1:
        raise ValueError(f"valid_pct must be between 0 and 1, got {valid_pct}")
    order = np.random.default_rng(seed).permutation(n)
    n_valid = max(1, round(n * valid_pct))
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def write_split(path: Path, files: list[Path], labels: list[str], valid: np.ndarray) -> None:
    """The split as an artifact: ``file,label,is_valid`` per image."""
    is_valid = np.zeros(len(files), dtype=bool)
    is_valid[valid] = True
    lines = [
        "file,label,is_valid",
        *(f"{f},{lab},{int(v)}" for f, lab, v in zip(files, labels, is_valid, strict=True)),
    ]
    path.write_text("\n".join(lines) + "\n")
