"""Label parsing for the course's dataset layouts: one pure function of the image path per layout.

``pets``          Oxford-IIIT Pet: ``<breed>_<n>.jpg`` in one folder (``great_pyrenees_173.jpg`` -> ``great_pyrenees``)
``pets-species``  the same files labelled ``cat`` / ``dog`` (Pets names cat breeds with a capital letter)
``folder``        a folder per class (Stanford Dogs ``n02085620-Chihuahua/...`` -> ``Chihuahua``, Fruits-360)
``prefix``        Dogs vs Cats: ``<class>.<n>.jpg`` (``cat.123.jpg`` -> ``cat``)

The label functions are module-level so that a fastai export pickles them by reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from image_baseline.errors import DataError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
PETS_PATTERN = re.compile(r"^(.+)_\d+\.(?:jpe?g|png)$", re.IGNORECASE)
PREFIX_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)\.\d+\.(?:jpe?g|png)$", re.IGNORECASE)
WORDNET_ID = re.compile(r"^n\d{8}-")
MATCH_SHARE = 0.95  # share of file names that must match a name pattern for auto-detection


def pets_label(path: Path | str) -> str:
    """The breed in an Oxford-IIIT Pet file name: everything before the final ``_<number>``."""
    name = Path(path).name
    match = PETS_PATTERN.match(name)
    if match is None:
        raise DataError(path, f"file name {name!r} is not of the Pets form <breed>_<number>.jpg")
    return match.group(1)


def pets_species_label(path: Path | str) -> str:
    """``cat`` or ``dog`` for a Pets file: cat breeds are capitalised (``Bengal_3.jpg``), dog breeds not."""
    return "cat" if pets_label(path)[0].isupper() else "dog"


def folder_label(path: Path | str) -> str:
    """The name of the image's folder, without a leading WordNet id (``n02085620-Chihuahua`` -> ``Chihuahua``)."""
    return WORDNET_ID.sub("", Path(path).parent.name)


def prefix_label(path: Path | str) -> str:
    """The class before the first dot of a Dogs vs Cats name (``dog.12.jpg`` -> ``dog``)."""
    name = Path(path).name
    match = PREFIX_PATTERN.match(name)
    if match is None:
        raise DataError(path, f"file name {name!r} is not of the form <class>.<number>.jpg")
    return match.group(1)


LABELLERS: dict[str, Callable[[Path | str], str]] = {
    "pets": pets_label,
    "pets-species": pets_species_label,
    "folder": folder_label,
    "prefix": prefix_label,
}
LAYOUTS = ("auto", *LABELLERS)


@dataclass
class LabelledImages:
    """Image files under ``root`` with their labels, in sorted path order."""

    root: Path
    layout: str
    files: list[Path]
    labels: list[str]
    skipped: list[Path] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, indices) -> LabelledImages:
        idx = [int(i) for i in indices]
        return LabelledImages(
            self.root, self.layout, [self.files[i] for i in idx], [self.labels[i] for i in idx]
        )


def image_files(root: Path) -> list[Path]:
    """All image files under ``root`` (recursively, hidden folders left out), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "no such folder")
    files = (p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    return sorted(p for p in files if not any(part.startswith(".") for part in p.relative_to(root).parts))


def detect_layout(root: Path, files: list[Path]) -> str:
    """Pick the layout from the files: several folders -> folder; else the name pattern most names match."""
    if not files:
        raise DataError(root, f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) found")
    if len({f.parent for f in files}) >= 2:
        return "folder"
    for layout, pattern in (("prefix", PREFIX_PATTERN), ("pets", PETS_PATTERN)):
        if sum(bool(pattern.match(f.name)) for f in files) >= MATCH_SHARE * len(files):
            return layout
    raise DataError(
        root,
        f"cannot tell the layout of {len(files)} images in one folder named like {files[0].name!r}: expected "
        "<breed>_<n>.jpg (Pets), <class>.<n>.jpg (Dogs vs Cats) or a folder per class; pass --layout",
    )


def label_images(root: Path | str, layout: str = "auto") -> LabelledImages:
    """List and label the images under ``root``; files whose names do not fit the layout are skipped."""
    root = Path(root)
    files = image_files(root)
    if layout == "auto":
        layout = detect_layout(root, files)
    if layout not in LABELLERS:
        raise DataError(root, f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    labeller = LABELLERS[layout]
    kept, labels, skipped = [], [], []
    for path in files:
        try:
            labels.append(labeller(path))
            kept.append(path)
        except DataError:
            skipped.append(path)
    if len(set(labels)) < 2:
        raise DataError(
            root, f"layout {layout!r} gives {len(set(labels))} class(es) in {len(files)} images; need 2+"
        )
    return LabelledImages(root, layout, kept, labels, skipped)


def limit_per_class(images: LabelledImages, limit: int | None) -> LabelledImages:
    """The first ``limit`` images of each class (in path order); all of them when ``limit`` is None."""
    if limit is None:
        return images
    seen: dict[str, int] = {}
    keep = []
    for i, label in enumerate(images.labels):
        if seen.get(label, 0) < limit:
            seen[label] = seen.get(label, 0) + 1
            keep.append(i)
    return images.subset(keep)
