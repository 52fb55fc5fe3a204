"""The same classifier in plain PyTorch: torchvision transforms, an explicit loop, fastai's schedule by hand.

Same images, split, backbone and metrics as the fastai trainer; the head is the usual plain one
(average pool, dropout, linear). The schedule copies ``fine_tune``: one frozen one-cycle epoch at ``lr``,
then all layers at ``lr / 2`` with the body at a hundredth of that, AdamW with fastai's betas and decay.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from image_baseline import progress
from image_baseline.backbones import Backbone, untrained_body
from image_baseline.config import TrainConfig
from image_baseline.layouts import LabelledImages
from image_baseline.metrics import TrainResult

CHECKPOINT_NAME = "model.pt"


class ImageFiles(Dataset):
    """(transformed image, class index) for a list of files."""

    def __init__(self, files: list[Path], targets: list[int], transform):
        self.files, self.targets, self.transform = list(files), list(targets), transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):
        from PIL import Image

        with Image.open(self.files[i]) as image:
            return self.transform(image.convert("RGB")), self.targets[i]


def image_transform(
    size: int, item_size: int, stats, *, train: bool, flip: bool = False, min_scale: float = 0.75
):
    """Presize to a square ``item_size``; on training images a random crop of ``min_scale``-100% and small warps."""
    from torchvision import transforms as T

    presize = [T.Resize(item_size), T.CenterCrop(item_size)]
    if train:
        augment = [
            T.RandomResizedCrop(size, scale=(min_scale, 1.0)),
            T.RandomAffine(degrees=10),
            T.ColorJitter(0.2, 0.2),
        ]
        augment += [T.RandomHorizontalFlip()] if flip else []
    else:
        augment = [T.Resize(size)]
    return T.Compose([*presize, *augment, T.ToTensor(), T.Normalize(*stats)])


class Classifier(nn.Module):
    """Backbone body and a plain head: global average pool, dropout, one linear layer."""

    def __init__(self, body: nn.Module, features: int, n_classes: int):
        super().__init__()
        self.body = body
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.25), nn.Linear(features, n_classes)
        )

    def forward(self, x):
        return self.head(self.body(x))


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def build_loaders(
    images: LabelledImages, train_idx, valid_idx, classes, config: TrainConfig, stats, generator
):
    index = {c: i for i, c in enumerate(classes)}
    targets = [index[label] for label in images.labels]

    def loader(idx, train: bool) -> DataLoader:
        tfm = image_transform(
            config.size, config.item_size, stats, train=train, flip=config.flip, min_scale=config.min_scale
        )
        data = ImageFiles([images.files[i] for i in idx], [targets[i] for i in idx], tfm)
        return DataLoader(
            data, batch_size=config.batch_size, shuffle=train, drop_last=train, generator=generator
        )

    return loader(train_idx, True), loader(valid_idx, False)


def set_body_frozen(model: Classifier, frozen: bool) -> None:
    """Freeze the body's weights but, as fastai does, keep its batch-norm layers training."""
    for layer in model.body.modules():
        trainable = not frozen or isinstance(layer, nn.modules.batchnorm._BatchNorm)
        for param in layer.parameters(recurse=False):
            param.requires_grad_(trainable)


def one_cycle(model: Classifier, body_lr: float, head_lr: float, steps: int, pct_start: float, div: float):
    """AdamW over (body, head) groups with a one-cycle schedule of learning rate and momentum."""
    groups = [{"params": list(model.body.parameters())}, {"params": list(model.head.parameters())}]
    optimizer = torch.optim.AdamW(groups, lr=head_lr, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[body_lr, head_lr], total_steps=steps, pct_start=pct_start, div_factor=div,
        final_div_factor=1e5, base_momentum=0.85, max_momentum=0.95,
    )  # fmt: skip
    return optimizer, schedule


def train_epoch(model, loader, optimizer, schedule, desc: str) -> list[float]:
    model.train()
    losses = []
    for x, y in progress.bar(loader, desc=desc):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def evaluate(model, loader) -> tuple[np.ndarray, np.ndarray, float]:
    """(probabilities, targets, mean loss) over ``loader``."""
    model.eval()
    probs, targets, loss_sum = [], [], 0.0
    for x, y in loader:
        logits = model(x)
        loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        probs.append(logits.softmax(dim=1).numpy())
        targets.append(y.numpy())
    probs_all, targets_all = np.concatenate(probs), np.concatenate(targets)
    return probs_all, targets_all, loss_sum / len(targets_all)


@dataclass
class Phase:
    epochs: int
    frozen: bool
    body_lr: float
    head_lr: float
    pct_start: float
    div: float


def phases(config: TrainConfig, pretrained: bool, lr: float) -> list[Phase]:
    """fastai's ``fine_tune`` schedule for a pretrained body; one one-cycle fit for a random one."""
    if not pretrained:
        return [Phase(config.freeze_epochs + config.epochs, False, lr, lr, 0.25, 25.0)]
    return [
        Phase(config.freeze_epochs, True, lr / 10, lr, 0.99, 25.0),
        Phase(config.epochs, False, lr / 2 / config.lr_mult, lr / 2, 0.3, 5.0),
    ]


def fit(model: Classifier, train_dl, valid_dl, plan: list[Phase]) -> tuple[list[float], list[dict]]:
    """Run the phases; returns each batch's training loss and each epoch's validation metrics."""
    batch_losses, epochs = [], []
    total = sum(p.epochs for p in plan)
    for phase in (p for p in plan if p.epochs > 0):
        set_body_frozen(model, phase.frozen)
        steps = phase.epochs * len(train_dl)
        optimizer, schedule = one_cycle(
            model, phase.body_lr, phase.head_lr, steps, phase.pct_start, phase.div
        )
        for _ in range(phase.epochs):
            desc = f"pytorch epoch {len(epochs) + 1}/{total}" + (" (frozen)" if phase.frozen else "")
            losses = train_epoch(model, train_dl, optimizer, schedule, desc)
            probs, targets, valid_loss = evaluate(model, valid_dl)
            err = float((probs.argmax(1) != targets).mean())
            batch_losses += losses
            epochs.append(
                dict(
                    epoch=len(epochs),
                    frozen=phase.frozen,
                    train_loss=float(np.mean(losses)),
                    valid_loss=valid_loss,
                    error_rate=err,
                )
            )
    set_body_frozen(model, False)
    return batch_losses, epochs


@dataclass
class TorchRun:
    model: Classifier
    result: TrainResult
    valid_dl: DataLoader


def train_torch(
    images: LabelledImages,
    train_idx,
    valid_idx,
    config: TrainConfig,
    backbone: Backbone,
    out_dir: Path,
    lr: float | None = None,
) -> TorchRun:
    """Loaders, model, the fine-tune schedule, validation predictions and a checkpoint, in that order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lr = config.lr if lr is None else lr
    classes = images.classes
    generator = seed_everything(config.seed)
    train_dl, valid_dl = build_loaders(
        images, train_idx, valid_idx, classes, config, backbone.stats, generator
    )
    model = Classifier(backbone.build(), backbone.features, len(classes))
    start = time.perf_counter()
    batch_losses, epochs = fit(model, train_dl, valid_dl, phases(config, backbone.pretrained, lr))
    seconds = time.perf_counter() - start
    probs, targets, _ = evaluate(model, valid_dl)
    path = save_checkpoint(out_dir / CHECKPOINT_NAME, model, backbone, classes, config)
    result = TrainResult(
        "pytorch",
        backbone.name,
        backbone.pretrained,
        classes,
        lr,
        targets,
        probs,
        seconds,
        path,
        batch_losses,
        epochs,
    )
    return TorchRun(model, result, valid_dl)


def save_checkpoint(path: Path, model: Classifier, backbone: Backbone, classes, config: TrainConfig) -> Path:
    meta = dict(arch=backbone.name, features=backbone.features, stats=backbone.stats, classes=list(classes))
    meta.update(size=config.size, item_size=config.item_size)
    torch.save({"state_dict": model.state_dict(), **meta}, path)
    return path


@dataclass
class LoadedClassifier:
    model: Classifier
    classes: list[str]
    transform: object


def load_checkpoint(path: Path | str) -> LoadedClassifier:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = Classifier(untrained_body(checkpoint["arch"]), checkpoint["features"], len(checkpoint["classes"]))
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    tfm = image_transform(checkpoint["size"], checkpoint["item_size"], checkpoint["stats"], train=False)
    return LoadedClassifier(model, checkpoint["classes"], tfm)


@torch.no_grad()
def predict_checkpoint(loaded: LoadedClassifier, image: Path | str) -> tuple[str, float, dict[str, float]]:
    """(label, its probability, all probabilities) for one image file."""
    from PIL import Image

    with Image.open(image) as picture:
        x = loaded.transform(picture.convert("RGB"))[None]
    probs = loaded.model(x).softmax(dim=1)[0]
    best = int(probs.argmax())
    return (
        loaded.classes[best],
        float(probs[best]),
        {c: float(p) for c, p in zip(loaded.classes, probs, strict=True)},
    )
