"""The run's HTML report: the two trainers side by side, then the figures that explain them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from image_baseline import plots, report
from image_baseline.explain import cam_figure, sample_per_class, top_losses, top_losses_figure
from image_baseline.metrics import TrainResult

TOP_LOSSES = 8
CAM_SAMPLES = 8


def comparison_rows(results: list[TrainResult]) -> list[list[object]]:
    rows = []
    for r in results:
        epochs = len(r.epochs)
        rows.append(
            [
                r.trainer,
                r.backbone,
                r.pretrained,
                f"{r.lr:.2e}",
                epochs,
                f"{r.accuracy:.4f}",
                f"{r.error_rate:.4f}",
                f"{r.train_seconds:.1f}",
            ]
        )
    return rows


def overview_section(outcome) -> tuple[str, list[str]]:
    images, backbone = outcome.images, outcome.backbone
    rows = [
        ["dataset", f"{outcome.source.name} ({outcome.source.path})"],
        ["layout", images.layout],
        ["images / classes", f"{len(images)} / {len(images.classes)}"],
        ["train / valid", f"{len(images) - len(outcome.valid_idx)} / {len(outcome.valid_idx)}"],
        ["backbone", f"{backbone.name}: {backbone.weights}"],
    ]
    settings = [[k, v] for k, v in dataclasses.asdict(outcome.config).items()]
    header = ["trainer", "backbone", "pretrained", "lr", "epochs", "accuracy", "error rate", "train seconds"]
    return "Overview", [
        report.table(["", ""], rows),
        report.table(header, comparison_rows(outcome.results)),
        "<details><summary>settings</summary>" + report.table(["setting", "value"], settings) + "</details>",
    ]


def training_section(outcome) -> tuple[str, list[str]]:
    parts = []
    finding = outcome.fastai.lr_finding if outcome.fastai else None
    if finding is not None:
        fig = plots.lr_find_figure(finding.lrs, finding.losses, finding.suggestion)
        parts.append(report.figure(fig, "fastai learning-rate finder: loss while the rate grows each batch"))
    parts.append(report.figure(plots.training_curves(outcome.results), "training and validation curves"))
    return "Training", parts


def errors_section(outcome) -> tuple[str, list[str]]:
    parts = []
    for result in outcome.results:
        cm = outcome.fastai.interp.confusion_matrix() if result.trainer == "fastai" else result.confusion
        parts.append(
            report.figure(
                plots.confusion_figure(cm, result.classes, f"{result.trainer}: confusion matrix"), ""
            )
        )
    for result in outcome.results:
        confused = (
            outcome.fastai.interp.most_confused() if result.trainer == "fastai" else result.most_confused()
        )
        parts.append(f"<h3>{result.trainer}: most confused (actual, predicted, count)</h3>")
        parts.append(
            report.table(["actual", "predicted", "count"], confused[:15])
            if confused
            else report.paragraph("none")
        )
    for result in outcome.results:
        worst = _top_losses(outcome, result)
        fig = top_losses_figure(result, outcome.valid_files, worst)
        parts.append(
            report.figure(fig, f"{result.trainer}: top losses (predicted/actual / loss / probability)")
        )
    return "Errors", parts


def _top_losses(outcome, result: TrainResult) -> list[tuple[int, float]]:
    if result.trainer != "fastai":
        return top_losses(result, TOP_LOSSES)
    losses, idx = outcome.fastai.interp.top_losses(TOP_LOSSES)
    return [(int(i), float(v)) for v, i in zip(losses, idx, strict=True)]


def gradcam_section(outcome) -> tuple[str, list[str]]:
    files, labels = outcome.valid_files, [outcome.images.labels[i] for i in outcome.valid_idx]
    picks = sample_per_class(files, labels, CAM_SAMPLES)
    sample_files, actual = [files[i] for i in picks], [labels[i] for i in picks]
    stats, parts = outcome.backbone.stats, []
    if outcome.fastai:
        learn = outcome.fastai.learn
        xs = learn.dls.test_dl(sample_files).one_batch()[0].cpu()
        fig = cam_figure(learn.model, learn.model[0], xs, stats, list(learn.dls.vocab), actual)
        parts.append(
            report.figure(fig, "fastai: Grad-CAM of the predicted class on the body's last feature map")
        )
    if outcome.pytorch:
        run = outcome.pytorch
        xs = torch.stack([run.valid_dl.dataset.transform(_rgb(f)) for f in sample_files])
        fig = cam_figure(run.model, run.model.body, xs, stats, run.result.classes, actual)
        parts.append(
            report.figure(fig, "pytorch: Grad-CAM of the predicted class on the body's last feature map")
        )
    return "Grad-CAM", parts


def _rgb(path: Path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


def build_report(outcome) -> Path:
    sections = [
        overview_section(outcome),
        training_section(outcome),
        errors_section(outcome),
        gradcam_section(outcome),
    ]
    return report.write_report(outcome.out_dir / "report.html", "image-baseline report", sections)
