"""The course's classifier with fastai: DataBlock with presizing, ``vision_learner``, ``lr_find``, ``fine_tune``.

``train_fastai`` reads as the list of steps of the assignment; each step is a function usable on its own
(the notebook calls the same fastai API directly, to show it).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import fastai.callback.schedule  # noqa: F401  (adds Learner.lr_find, fit_one_cycle and fine_tune)
import numpy as np
from fastai.callback.core import Callback
from fastai.callback.progress import ProgressCallback  # registers fastai's bars, as fastai.vision.all does
from fastai.data.block import CategoryBlock, DataBlock
from fastai.data.transforms import IndexSplitter, Normalize
from fastai.interpret import ClassificationInterpretation
from fastai.learner import Learner, load_learner
from fastai.metrics import error_rate
from fastai.torch_core import set_seed
from fastai.vision.augment import Resize, aug_transforms
from fastai.vision.data import ImageBlock
from fastai.vision.learner import create_head, vision_learner
from torch import nn

from image_baseline import progress
from image_baseline.backbones import Backbone
from image_baseline.config import TrainConfig
from image_baseline.layouts import LABELLERS, LabelledImages
from image_baseline.metrics import TrainResult

EXPORT_NAME = "export.pkl"


class EpochHistory(Callback):
    """Collects each training batch's loss and each epoch's metrics across the fits of ``fine_tune``."""

    order = 55  # after the Recorder (50) has logged the epoch

    def __init__(self):
        self.batch_losses: list[float] = []
        self.epochs: list[dict] = []

    def after_batch(self):
        if self.training:
            self.batch_losses.append(float(self.learn.loss.detach()))

    def after_epoch(self):
        train_loss, valid_loss, err = (float(v) for v in self.recorder.values[-1][:3])
        frozen = bool(getattr(self.learn.opt, "frozen_idx", 0))
        epoch = len(self.epochs)
        self.epochs.append(
            dict(epoch=epoch, frozen=frozen, train_loss=train_loss, valid_loss=valid_loss, error_rate=err)
        )


def _arch(backbone: Backbone):
    """A fastai ``arch``: body plus a pooling layer, which fastai's automatic cut finds and drops."""

    def arch(pretrained: bool = True):
        return nn.Sequential(backbone.build(), nn.AdaptiveAvgPool2d(1))

    return arch


def build_datablock(images: LabelledImages, valid_idx: np.ndarray, config: TrainConfig, stats) -> DataBlock:
    """Presizing: resize each item to ``item_size`` once, then augment and crop whole batches to ``size``."""
    return DataBlock(
        blocks=(ImageBlock, CategoryBlock),
        get_y=LABELLERS[images.layout],
        splitter=IndexSplitter(list(valid_idx)),
        item_tfms=Resize(config.item_size),
        batch_tfms=[
            *aug_transforms(size=config.size, min_scale=config.min_scale, do_flip=config.flip),
            Normalize.from_stats(*stats),
        ],
    )


def build_dataloaders(images: LabelledImages, valid_idx: np.ndarray, config: TrainConfig, stats):
    set_seed(config.seed, reproducible=True)
    block = build_datablock(images, valid_idx, config, stats)
    return block.dataloaders(images.files, bs=config.batch_size, num_workers=0, device="cpu")


def build_learner(dls, backbone: Backbone, path: Path) -> Learner:
    """``vision_learner`` over our backbone: fastai adds its head and freezes the pretrained body."""
    learn = vision_learner(
        dls,
        _arch(backbone),
        normalize=False,  # the DataBlock normalises with the backbone's own statistics
        custom_head=create_head(backbone.features, dls.c),  # fastai's default head, sized without a probe
        pretrained=backbone.pretrained,
        metrics=error_rate,
        path=path,
    )
    learn.arch = backbone.name  # keep the export light: a name, not the builder
    if not progress.enabled():
        learn.remove_cb(ProgressCallback)
    return learn


@dataclass
class LrFinding:
    """The learning-rate finder's curve (losses against rates) and its 'valley' suggestion."""

    suggestion: float
    lrs: list[float]
    losses: list[float]


def find_lr(learn: Learner, num_it: int = 60) -> LrFinding:
    """fastai's learning-rate finder: a short run with growing rates; the model is restored afterwards."""
    suggestion = learn.lr_find(num_it=num_it, show_plot=False)
    lrs, losses = (
        learn.recorder.lrs[:-5],
        [float(v) for v in learn.recorder.losses[:-5]],
    )  # as fastai plots it
    return LrFinding(float(suggestion.valley), [float(v) for v in lrs], losses)


def fit(learn: Learner, backbone: Backbone, config: TrainConfig, lr: float) -> EpochHistory:
    """``fine_tune`` for a pretrained body (frozen, then unfrozen); a plain one-cycle fit from scratch."""
    history = EpochHistory()
    set_seed(config.seed, reproducible=True)
    for loader in learn.dls.loaders:  # each shuffles with its own generator, which set_seed leaves alone
        loader.rng.seed(config.seed)
    if backbone.pretrained:
        learn.fine_tune(
            config.epochs,
            base_lr=lr,
            freeze_epochs=config.freeze_epochs,
            lr_mult=config.lr_mult,
            cbs=[history],
        )
    else:
        learn.fit_one_cycle(config.freeze_epochs + config.epochs, lr, cbs=[history])
    return history


@dataclass
class FastaiRun:
    """The fastai run: its learner (for plots and Grad-CAM), interpretation and figures."""

    learn: Learner
    interp: ClassificationInterpretation
    result: TrainResult
    lr_finding: LrFinding | None


def train_fastai(
    images: LabelledImages, valid_idx, config: TrainConfig, backbone: Backbone, out_dir: Path
) -> FastaiRun:
    """Data, learner, learning-rate finder, fine-tuning, interpretation and export, in that order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dls = build_dataloaders(images, valid_idx, config, backbone.stats)
    learn = build_learner(dls, backbone, out_dir)
    lr_finding = find_lr(learn, config.lr_find_iterations) if config.lr_find or config.use_lr_find else None
    lr = lr_finding.suggestion if config.use_lr_find and lr_finding else config.lr
    start = time.perf_counter()
    history = fit(learn, backbone, config, lr)
    seconds = time.perf_counter() - start
    probs, targets = learn.get_preds(dl=dls.valid)
    interp = ClassificationInterpretation.from_learner(learn)
    learn.export(EXPORT_NAME)
    result = TrainResult(
        "fastai",
        backbone.name,
        backbone.pretrained,
        list(dls.vocab),
        lr,
        targets.numpy(),
        probs.numpy(),
        seconds,
        out_dir / EXPORT_NAME,
        history.batch_losses,
        history.epochs,
    )
    return FastaiRun(learn, interp, result, lr_finding)


def load_exported(path: Path | str) -> Learner:
    """``load_learner`` without its warning about pickles (the file is one this package wrote)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learn = load_learner(path)
    if not progress.enabled():
        learn.remove_cb(ProgressCallback)
    return learn


def predict_exported(learn: Learner, image: Path | str) -> tuple[str, float, dict[str, float]]:
    """(label, its probability, all probabilities) for one image file."""
    with learn.no_bar():
        label, index, probs = learn.predict(Path(image))
    return (
        str(label),
        float(probs[index]),
        {str(c): float(p) for c, p in zip(learn.dls.vocab, probs, strict=True)},
    )
