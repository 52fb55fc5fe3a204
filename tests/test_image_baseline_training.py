"""image_baseline end to end on a tiny real set: both trainers, export/predict, report, CLI and the notebook.

The set is 4 classes x 80 of scikit-learn's digits (32 px), trained at 32 px for one frozen and three unfrozen
epoch, so that the whole file runs in a few minutes on two CPU cores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from image_baseline import datasets
from image_baseline.cli import main
from image_baseline.layouts import label_images

CLASSES = ("zero", "one", "four", "seven")
PER_CLASS = 80
N_VALID = round(PER_CLASS * len(CLASSES) * 0.2)
TINY_SETTINGS = ["--size", "32", "--item-size", "40", "--batch-size", "16", "--epochs", "3"]
TINY_SETTINGS += ["--lr", "4e-3", "--lr-mult", "1", "--no-flip", "--min-scale", "1"]


@pytest.fixture(scope="module", autouse=True)
def quiet_and_isolated(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("IMAGE_BASELINE_PROGRESS", "0")
    patch.setenv("IMAGE_BASELINE_HOME", str(tmp_path_factory.mktemp("home")))
    yield
    patch.undo()


@pytest.fixture(scope="module")
def tiny_digits(tmp_path_factory) -> Path:
    """The first PER_CLASS digits of each of CLASSES, as Pets-style files in one folder."""
    folder = datasets.write_digits(tmp_path_factory.mktemp("all") / "digits")
    tiny = tmp_path_factory.mktemp("tiny") / "images"
    tiny.mkdir()
    for name in CLASSES:
        for n in range(1, PER_CLASS + 1):
            shutil.copy(folder / f"{name}_{n}.jpg", tiny / f"{name}_{n}.jpg")
    return tiny


@pytest.fixture(scope="module")
def run_dir(tiny_digits, tmp_path_factory) -> Path:
    """One CLI run of both trainers with the learning-rate finder and the report."""
    out = tmp_path_factory.mktemp("run")
    args = ["train", "--data", str(tiny_digits), "--out", str(out), "--arch", "efficientnet_lite0"]
    result = CliRunner().invoke(main, [*args, *TINY_SETTINGS, "--lr-find-iterations", "12"])
    assert result.exit_code == 0, result.output
    assert re.search(r"fastai\s+efficientnet_lite0\s+\d\.\d{4}", result.output)
    assert re.search(r"pytorch\s+efficientnet_lite0\s+\d\.\d{4}", result.output)
    return out


@pytest.fixture(scope="module")
def metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.mark.parametrize("trainer", ["fastai", "pytorch"])
def test_both_trainers_learn_well_above_chance(metrics, trainer):
    result = metrics["results"][trainer]
    assert result["pretrained"] and result["valid_images"] == N_VALID
    assert result["accuracy"] >= 0.5, result  # twice chance (0.25 with four classes)
    first, last = result["epochs"][0], result["epochs"][-1]
    assert len(result["epochs"]) == 4 and first["frozen"] and not last["frozen"]
    assert last["valid_loss"] < np.log(len(CLASSES))  # below the loss of a uniform guess


def test_run_folder_holds_config_split_and_models(run_dir, metrics):
    split = (run_dir / "split.csv").read_text().splitlines()
    assert split[0] == "file,label,is_valid" and len(split) == 1 + PER_CLASS * len(CLASSES)
    assert sum(line.endswith(",1") for line in split[1:]) == N_VALID
    assert json.loads((run_dir / "config.json").read_text())["size"] == 32
    assert metrics["classes"] == sorted(CLASSES) and metrics["dataset"]["layout"] == "pets"
    assert (run_dir / "fastai" / "export.pkl").is_file() and (run_dir / "pytorch" / "model.pt").is_file()


def valid_images(run_dir: Path) -> list[tuple[Path, str]]:
    rows = [line.split(",") for line in (run_dir / "split.csv").read_text().splitlines()[1:]]
    return [(Path(f), label) for f, label, is_valid in rows if is_valid == "1"]


@pytest.mark.parametrize("model", ["fastai/export.pkl", "pytorch/model.pt"])
def test_saved_model_predicts_like_the_trained_one(run_dir, metrics, model):
    """Reloaded, each model gives the validation accuracy it reported, image by image through predict."""
    from image_baseline.predict import load_predictor

    predictor = load_predictor(run_dir / model)
    images = valid_images(run_dir)
    predictions = [predictor(f) for f, _ in images]
    correct = [p.label == label for p, (_, label) in zip(predictions, images, strict=True)]
    trainer = model.split("/")[0]
    assert np.mean(correct) == pytest.approx(metrics["results"][trainer]["accuracy"], abs=1e-6)
    assert all(p.label in CLASSES and p.probabilities[p.label] == p.probability for p in predictions)
    assert all(abs(sum(p.probabilities.values()) - 1) < 1e-4 for p in predictions)


def test_cli_predict_on_a_run_folder(run_dir):
    image, label = next((f, lab) for f, lab in valid_images(run_dir))
    result = CliRunner().invoke(main, ["predict", str(run_dir), str(image)])
    assert result.exit_code == 0, result.output
    path, predicted, probability = result.output.strip().split("\t")
    assert path == str(image) and predicted in CLASSES and 0 < float(probability) <= 1


def test_report_embeds_every_figure_and_both_trainers(run_dir):
    html = (run_dir / "report.html").read_text()
    for heading in ("Overview", "Training", "Errors", "Grad-CAM"):
        assert f"<h2>{heading}</h2>" in html
    # lr finder, curves, 2 confusion matrices, 2 top-loss grids, 2 Grad-CAM grids
    assert html.count('src="data:image/png;base64,') == 8
    assert "learning-rate finder" in html and "<td>fastai</td>" in html and "<td>pytorch</td>" in html


def test_grad_cam_of_a_linear_model_is_its_feature_map():
    """With one feature map A, global pooling and a linear layer, Grad-CAM of a class with a positive weight
    is A itself (scaled to 1), and of a class with a negative weight nothing."""
    import torch

    from image_baseline.gradcam import grad_cam

    conv = torch.nn.Conv2d(1, 1, 1, bias=False)
    conv.weight.data.fill_(1.0)
    linear = torch.nn.Linear(1, 2, bias=False)
    linear.weight.data = torch.tensor([[1.0], [-1.0]])
    model = torch.nn.Sequential(conv, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), linear)
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 2:5, 3:6] = 2.0
    x[0, 0, 6, 6] = 1.0
    cam, predicted = grad_cam(model, conv, x)
    assert predicted == 0
    np.testing.assert_allclose(cam, x[0, 0].numpy() / 2, atol=1e-6)
    cam_other, target = grad_cam(model, conv, x, target=1)
    assert target == 1 and not cam_other.any()


def test_grad_cam_on_the_backbone_is_an_input_sized_map():
    import torch

    from image_baseline.backbones import resolve_backbone
    from image_baseline.gradcam import grad_cam

    body = resolve_backbone("efficientnet_lite0").build()
    model = torch.nn.Sequential(
        body, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(1280, 4)
    )
    x = torch.ones(1, 3, 64, 64)
    x[..., 16:48, 28:36] = -1.0  # a dark stroke on white paper
    cam, predicted = grad_cam(model, body, x)
    with torch.no_grad():
        assert predicted == int(model(x).argmax())
    assert cam.shape == (64, 64) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)


def test_pytorch_trainer_is_reproducible(tiny_digits, tmp_path):
    from image_baseline.backbones import resolve_backbone
    from image_baseline.config import TrainConfig, split_indices
    from image_baseline.torch_trainer import train_torch

    images = label_images(tiny_digits)
    config = TrainConfig(epochs=0, size=32, item_size=40, batch_size=16, lr=1e-2).for_dataset("digits")
    train_idx, valid_idx = split_indices(len(images), config.valid_pct, config.seed)
    backbone = resolve_backbone("efficientnet_lite0")
    runs = [
        train_torch(images, train_idx, valid_idx, config, backbone, tmp_path / str(k)).result
        for k in range(2)
    ]
    assert runs[0].batch_losses == runs[1].batch_losses
    assert np.array_equal(runs[0].valid_probs, runs[1].valid_probs)


def test_generated_notebook_runs_end_to_end(tiny_digits, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    # the notebook's kernel imports this checkout's image_baseline, not another one installed (editable)
    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))

    out = tmp_path / "week1.ipynb"
    args = ["notebook", str(out), "--data", str(tiny_digits), "--limit-per-class", "8", "--epochs", "1"]
    args += ["--size", "32", "--item-size", "40", "--batch-size", "16", "--lr-find-iterations", "12"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    notebook = nbformat.read(out, as_version=4)
    assert "image-baseline-embed" in notebook.cells[1].metadata["tags"]
    nbclient.NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert (
        sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    )  # batch, lr finder, confusion, top losses, cam
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "images: 32 images, 4 classes, layout pets" in text
    assert ": pretrained, ImageNet weights" in text and "TRAINING FROM SCRATCH" not in text
    assert "SuggestedLRs" in text and "pytorch" in text
