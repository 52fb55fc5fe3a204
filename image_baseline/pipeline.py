"""The whole assignment as a list of named steps: data, split, backbone, both trainers, metrics, report.

Each run writes its own folder::

    config.json  split.csv  metrics.json  report.html
    fastai/export.pkl       (fastai's Learner.export; ``image-baseline predict`` loads it)
    pytorch/model.pt        (state dict and what is needed to rebuild the model)
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

from image_baseline import __version__
from image_baseline.backbones import Backbone, resolve_backbone
from image_baseline.config import TrainConfig, fit_batch_size, split_indices, write_split
from image_baseline.datasets import ImageSource, default_out_dir, resolve_images
from image_baseline.layouts import LabelledImages, label_images, limit_per_class
from image_baseline.metrics import TrainResult

TRAINERS = ("fastai", "pytorch")


@dataclass
class RunOutcome:
    """What a run produced: its inputs, each trainer's run and result, and where the files are."""

    out_dir: Path
    source: ImageSource
    images: LabelledImages
    valid_idx: list[int]
    config: TrainConfig
    backbone: Backbone
    fastai: object | None = None  # fastai_trainer.FastaiRun
    pytorch: object | None = None  # torch_trainer.TorchRun
    report: Path | None = None
    results: list[TrainResult] = field(default_factory=list)

    @property
    def valid_files(self) -> list[Path]:
        return [self.images.files[i] for i in self.valid_idx]


def prepare_run_dir(out_dir: Path, config: TrainConfig, images: LabelledImages, valid_idx) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(config.to_json())
    write_split(out_dir / "split.csv", images.files, images.labels, valid_idx)
    return out_dir


def write_metrics(outcome: RunOutcome) -> Path:
    images = outcome.images
    summary = {
        "version": __version__,
        "python": platform.python_version(),
        "dataset": {"name": outcome.source.name, "path": str(outcome.source.path), "layout": images.layout},
        "images": len(images),
        "classes": images.classes,
        "valid_images": len(outcome.valid_idx),
        "backbone": {"name": outcome.backbone.name, "weights": outcome.backbone.weights},
        "results": {r.trainer: r.summary() for r in outcome.results},
    }
    path = outcome.out_dir / "metrics.json"
    path.write_text(json.dumps(summary, indent=2))
    return path


def run(
    config: TrainConfig,
    *,
    source: str = "auto",
    data: Path | str | None = None,
    layout: str = "auto",
    out_dir: Path | str | None = None,
    trainers: tuple[str, ...] = TRAINERS,
    report: bool = True,
) -> RunOutcome:
    """Train the requested trainers on the same images and split; write metrics (and the report)."""
    image_source = resolve_images(source, data)
    config = config.for_dataset(image_source.name)
    images = limit_per_class(label_images(image_source.path, layout), config.limit_per_class)
    train_idx, valid_idx = split_indices(len(images), config.valid_pct, config.seed)
    config = fit_batch_size(config, len(train_idx))
    run_dir = (
        Path(out_dir)
        if out_dir
        else default_out_dir() / f"{image_source.name}-{config.arch}-seed{config.seed}"
    )
    prepare_run_dir(run_dir, config, images, valid_idx)
    backbone = resolve_backbone(
        config.arch, require_pretrained=config.require_pretrained, download=config.download_weights
    )
    outcome = RunOutcome(run_dir, image_source, images, [int(i) for i in valid_idx], config, backbone)
    if "fastai" in trainers:
        from image_baseline.fastai_trainer import train_fastai

        outcome.fastai = train_fastai(images, valid_idx, config, backbone, run_dir / "fastai")
        outcome.results.append(outcome.fastai.result)
    if "pytorch" in trainers:
        from image_baseline.torch_trainer import train_torch

        lr = outcome.fastai.result.lr if outcome.fastai else None  # the finder's rate, when it was used
        outcome.pytorch = train_torch(
            images, train_idx, valid_idx, config, backbone, run_dir / "pytorch", lr=lr
        )
        outcome.results.append(outcome.pytorch.result)
    write_metrics(outcome)
    if report:
        from image_baseline.run_report import build_report

        outcome.report = build_report(outcome)
    return outcome
