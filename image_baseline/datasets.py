"""Where the images come from: a folder, the Kaggle input, a download, or the digits bundled with scikit-learn.

``resolve_images(source, data)`` picks the folder; ``layouts.label_images`` then labels what is in it.
Downloads are real code (fastai's ``untar_data``, the Kaggle API) that fail offline with an
:class:`~image_baseline.errors.OfflineError` whose message says what to do instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from image_baseline.errors import DataError, OfflineError

SOURCES = ("auto", "digits", "pets", "kaggle")
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGITS_IMAGE_SIZE = 32
KAGGLE_INPUT = Path("/kaggle/input")
KAGGLE_WORKING = Path("/kaggle/working")
KAGGLE_PETS_DATASET = "tanlikesmath/the-oxfordiiit-pet-dataset"


@dataclass(frozen=True)
class ImageSource:
    """A folder of images and the name of the dataset it holds (``digits``, ``pets`` or the folder's name)."""

    name: str
    path: Path


def cache_dir() -> Path:
    """Where generated and downloaded data go: ``$IMAGE_BASELINE_HOME`` or ``~/.cache/image_baseline``."""
    return Path(os.environ.get("IMAGE_BASELINE_HOME", Path.home() / ".cache" / "image_baseline"))


def _digit_image(pixels: np.ndarray, size: int):
    """One 8x8 digit (ink 0..16) as a ``size`` x ``size`` RGB picture: dark ink on white paper."""
    from PIL import Image

    gray = (255 - np.round(pixels * (255 / 16))).astype(np.uint8)
    return Image.fromarray(gray, mode="L").resize((size, size), Image.Resampling.BICUBIC).convert("RGB")


def write_digits(out_dir: Path | str | None = None, *, image_size: int = DIGITS_IMAGE_SIZE) -> Path:
    """Write scikit-learn's 1,797 handwritten digits as ``<digit name>_<n>.jpg`` files (the Pets layout).

    Returns the images folder. A folder already written with the same settings is reused; a new one is
    written into a temporary sibling and renamed into place, so an interrupted run leaves nothing half done.
    """
    from sklearn.datasets import load_digits

    root = Path(out_dir) if out_dir is not None else cache_dir() / f"digits-{image_size}"
    images_dir, manifest_path = root / "images", root / "manifest.json"
    digits = load_digits()
    manifest = {
        "dataset": "sklearn.datasets.load_digits",
        "images": len(digits.target),
        "image_size": image_size,
    }
    if manifest_path.exists() and json.loads(manifest_path.read_text()) == manifest:
        return images_dir
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    counts = dict.fromkeys(range(10), 0)
    (tmp / "images").mkdir()
    for pixels, target in zip(digits.images, digits.target, strict=True):
        counts[int(target)] += 1
        name = f"{DIGIT_NAMES[target]}_{counts[int(target)]}.jpg"
        _digit_image(pixels, image_size).save(tmp / "images" / name, quality=95)
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return images_dir


def kaggle_pets_images(kaggle_input: Path = KAGGLE_INPUT) -> Path | None:
    """The Pets ``images`` folder of the Kaggle dataset attached to a kernel, or None when there is none."""
    if not kaggle_input.is_dir():
        return None
    for dataset in sorted(kaggle_input.glob("**/the-oxfordiiit-pet-dataset")):
        for images in (dataset / "images" / "images", dataset / "images"):
            if images.is_dir() and any(images.glob("*_*.jpg")):
                return images
    return None


def _offline_message(what: str, exc: BaseException, instead: str) -> str:
    return (
        f"Could not {what} ({type(exc).__name__}: {exc}). This needs the internet, which this machine "
        f"does not seem to reach. {instead} Without --data and --source the offline default set "
        "(scikit-learn's handwritten digits written as image files) is used."
    )


def fetch_pets(dest: Path | str | None = None) -> Path:
    """Download Oxford-IIIT Pet with fastai's ``untar_data`` (into ``dest``); return its ``images`` folder."""
    from fastai.data.external import URLs, untar_data

    try:
        path = untar_data(URLs.PETS, base=str(dest) if dest is not None else None)
    except Exception as exc:  # any failure of the download is reported the same way
        raise OfflineError(
            _offline_message(
                "download Oxford-IIIT Pet with fastai's untar_data",
                exc,
                "Download https://www.robots.ox.ac.uk/~vgg/data/pets/ by hand elsewhere and pass its images "
                "folder with --data DIR.",
            )
        ) from exc
    return Path(path) / "images"


def fetch_pets_kaggle(dest: Path | str | None = None) -> Path:
    """Download the Kaggle copy of Oxford-IIIT Pet with the Kaggle API; return its ``images`` folder.

    ``kaggle`` is imported here: it authenticates (and prints) at import time.
    """
    dest = Path(dest) if dest is not None else cache_dir() / "kaggle-pets"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import kaggle

            kaggle.api.dataset_download_files(KAGGLE_PETS_DATASET, path=str(dest), unzip=True, quiet=True)
    except (Exception, SystemExit) as exc:  # auth and network failures alike end here
        raise OfflineError(
            _offline_message(
                f"download the Kaggle dataset {KAGGLE_PETS_DATASET}",
                exc,
                "The Kaggle API also needs a token (KAGGLE_API_TOKEN or ~/.kaggle/). Inside a Kaggle "
                "kernel, attach the dataset instead: it is found under /kaggle/input without a download.",
            )
        ) from exc
    for candidate in (dest / "images" / "images", dest / "images"):
        if candidate.is_dir():
            return candidate
    raise DataError(dest, "the Kaggle download has no images folder")


def resolve_images(
    source: str = "auto", data: Path | str | None = None, *, kaggle_input: Path = KAGGLE_INPUT
) -> ImageSource:
    """The folder to train on: ``data`` if given, else by ``source`` (auto: Kaggle input, else digits)."""
    if data is not None:
        path = Path(data)
        if not path.is_dir():
            raise DataError(path, "no such folder (--data takes a folder of images)")
        return ImageSource(path.name, path)
    if source not in SOURCES:
        raise DataError(source, f"unknown source; choose one of {', '.join(SOURCES)}")
    if source == "auto":
        found = kaggle_pets_images(kaggle_input)
        return ImageSource("pets", found) if found else ImageSource("digits", write_digits())
    if source == "digits":
        return ImageSource("digits", write_digits())
    if source == "pets":
        return ImageSource("pets", fetch_pets(cache_dir() / "fastai"))
    return ImageSource("pets", fetch_pets_kaggle())


def default_out_dir() -> Path:
    """Run outputs: the Kaggle working folder inside a kernel, else ``runs/image_baseline`` here."""
    if KAGGLE_WORKING.is_dir():
        return KAGGLE_WORKING / "image_baseline"
    return Path("runs") / "image_baseline"
