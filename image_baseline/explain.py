"""Pictures that explain a trained classifier: top losses and Grad-CAM heat maps, for either trainer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from image_baseline.gradcam import denormalize, grad_cam
from image_baseline.metrics import TrainResult
from image_baseline.plots import image_grid


def load_picture(path: Path, size: int = 128) -> np.ndarray:
    """An image file as an (H, W, 3) array in [0, 1], resized to ``size`` for display."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((size, size))) / 255.0


def top_losses(result: TrainResult, k: int) -> list[tuple[int, float]]:
    """(validation position, loss) of the ``k`` worst-predicted validation images: -log p(actual class)."""
    p_actual = result.valid_probs[np.arange(len(result.valid_targets)), result.valid_targets]
    losses = -np.log(np.clip(p_actual, 1e-12, None))
    order = np.argsort(-losses, kind="stable")[:k]
    return [(int(i), float(losses[i])) for i in order]


def top_losses_figure(
    result: TrainResult, valid_files: Sequence[Path], worst: Sequence[tuple[int, float]]
) -> Figure:
    """The worst images titled predicted / actual / loss / probability of the prediction, as fastai shows them."""
    pictures, titles = [], []
    for i, loss in worst:
        predicted = int(result.valid_predicted[i])
        pictures.append(load_picture(valid_files[i]))
        actual = result.classes[int(result.valid_targets[i])]
        titles.append(
            f"{result.classes[predicted]}/{actual} / {loss:.2f} / {result.valid_probs[i, predicted]:.2f}"
        )
    return image_grid(pictures, titles, ncols=min(4, max(1, len(pictures))))


def cam_figure(
    model: nn.Module, layer: nn.Module, xs: torch.Tensor, stats, classes, actual: Sequence[str]
) -> Figure:
    """Grad-CAM of the predicted class over each image of the batch ``xs``."""
    pictures, maps, titles = [], [], []
    for x, truth in zip(xs, actual, strict=True):
        cam, predicted = grad_cam(model, layer, x[None])
        pictures.append(denormalize(x, stats))
        maps.append(cam)
        titles.append(f"predicted {classes[predicted]} / actual {truth}")
    return image_grid(pictures, titles, overlays=maps, ncols=min(4, max(1, len(pictures))))


def sample_per_class(files: Sequence[Path], labels: Sequence[str], n: int) -> list[int]:
    """Positions of the first image of each class (in class order), at most ``n`` of them."""
    first: dict[str, int] = {}
    for i, label in enumerate(labels):
        first.setdefault(label, i)
    return [first[label] for label in sorted(first)][:n]
