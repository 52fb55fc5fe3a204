"""Predict with a saved model: fastai's ``export.pkl`` or the plain trainer's ``model.pt`` (or a run folder)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from image_baseline.errors import DataError


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float
    probabilities: dict[str, float]


def model_file(path: Path | str) -> Path:
    """The model file itself, or in a run folder its fastai export (else its PyTorch checkpoint)."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "fastai" / "export.pkl", path / "pytorch" / "model.pt"):
            if candidate.is_file():
                return candidate
        raise DataError(path, "no fastai/export.pkl or pytorch/model.pt in this folder")
    if not path.is_file():
        raise DataError(path, "no such model file")
    if path.suffix not in (".pkl", ".pt", ".pth"):
        raise DataError(path, "expected a fastai export (.pkl) or a PyTorch checkpoint (.pt)")
    return path


def load_predictor(path: Path | str) -> Callable[[Path | str], Prediction]:
    """A function from an image file to its :class:`Prediction`, for the model at ``path``."""
    path = model_file(path)
    if path.suffix == ".pkl":
        from image_baseline.fastai_trainer import load_exported, predict_exported

        learn = load_exported(path)
        return lambda image: Prediction(*predict_exported(learn, _image(image)))
    from image_baseline.torch_trainer import load_checkpoint, predict_checkpoint

    loaded = load_checkpoint(path)
    return lambda image: Prediction(*predict_checkpoint(loaded, _image(image)))


def _image(image: Path | str) -> Path:
    if not Path(image).is_file():
        raise DataError(image, "no such image file")
    return Path(image)
