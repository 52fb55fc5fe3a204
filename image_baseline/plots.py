"""Figures for the report and the notebook; each function returns a matplotlib Figure (no pyplot state kept)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from image_baseline.metrics import TrainResult


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def to_data_uri(fig: Figure) -> str:
    return "data:image/png;base64," + base64.b64encode(to_png(fig)).decode("ascii")


def lr_find_figure(lrs: Sequence[float], losses: Sequence[float], suggestion: float | None = None) -> Figure:
    """Loss against learning rate (log scale) from the learning-rate finder, with the suggestion marked."""
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    ax.plot(lrs, losses)
    ax.set(xscale="log", xlabel="learning rate", ylabel="loss", title="learning-rate finder")
    if suggestion is not None:
        ax.axvline(suggestion, color="tab:red", linestyle="--", label=f"valley {suggestion:.1e}")
        ax.legend()
    return fig


def training_curves(results: Sequence[TrainResult]) -> Figure:
    """Training loss per batch, validation loss and error rate per epoch, one line per trainer."""
    fig = Figure(figsize=(12, 3.5))
    batch_ax, loss_ax, err_ax = fig.subplots(1, 3)
    for result in results:
        batch_ax.plot(result.batch_losses, label=result.trainer, alpha=0.8)
        epochs = [e["epoch"] + 1 for e in result.epochs]
        loss_ax.plot(epochs, [e["valid_loss"] for e in result.epochs], marker="o", label=result.trainer)
        err_ax.plot(epochs, [e["error_rate"] for e in result.epochs], marker="o", label=result.trainer)
    batch_ax.set(xlabel="batch", ylabel="training loss", title="training loss")
    loss_ax.set(xlabel="epoch", ylabel="validation loss", title="validation loss")
    err_ax.set(xlabel="epoch", ylabel="error rate", title="validation error rate")
    for ax in (batch_ax, loss_ax, err_ax):
        ax.legend()
    return fig


def confusion_figure(cm: np.ndarray, classes: Sequence[str], title: str = "confusion matrix") -> Figure:
    """Counts of actual (rows) against predicted (columns) classes."""
    n = len(classes)
    fig = Figure(figsize=(max(4, 0.45 * n + 2), max(4, 0.45 * n + 2)))
    ax = fig.subplots()
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), classes, rotation=90)
    ax.set_yticks(range(n), classes)
    ax.set(xlabel="predicted", ylabel="actual", title=title)
    if n <= 40:
        for i, j in np.ndindex(cm.shape):
            color = "white" if cm[i, j] > cm.max() / 2 else "black"
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", color=color, fontsize=8)
    return fig


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str], overlays=None, ncols: int = 4) -> Figure:
    """Pictures (H, W, 3 in [0, 1]) in a grid with titles; ``overlays`` (H, W maps) drawn as heat maps."""
    nrows = max(1, -(-len(images) // ncols))
    fig = Figure(figsize=(3 * ncols, 3.2 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k >= len(images):
            continue
        ax.imshow(images[k])
        if overlays is not None:
            ax.imshow(
                overlays[k],
                cmap="jet",
                alpha=0.45,
                extent=(-0.5, images[k].shape[1] - 0.5, images[k].shape[0] - 0.5, -0.5),
            )
        ax.set_title(titles[k], fontsize=9)
    return fig
