"""Run folders: everything one cross-validated training run leaves behind, and reading it back.

``runs/<name>/`` (written whole into a temporary folder, renamed into place when complete)::

    config.json        the resolved config (every default filled in), seed, code version, folds id,
                       feature set (name and hash), data fingerprint, segment spec
    metrics.json       CV MAE overall, per fold and per cycle, each next to the constant-median baseline
    oof.parquet        seg_id, start, cycle, label, pred, fold, baseline (one row per train window)
    test_pred.parquet  seg_id, fold_0 .. fold_<k-1>, mean (absent when the data has no test segments)
    history.json       learning curves per fold ({"fold_0": {"train_loss": [...], ...}, ...})
    importance.parquet feature, fold, gain, split (LightGBM runs only)
    folds.json         a copy of the folds artifact the run used
    models/fold_<k>.*  the fitted model of each fold (``lanl.models.load_model``)

The stacker and the report read only these files.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

import lanl
from lanl.errors import LanlError
from lanl.folds import Folds, load_folds

DEFAULT_RUNS = Path("runs")
FOLDS_SUBDIR = "_folds"  # where the shared fold artifacts live inside the runs folder
REQUIRED = ("config.json", "metrics.json", "oof.parquet", "history.json", "folds.json")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def check_run_name(name: str) -> str:
    if not _NAME.match(name) or name == FOLDS_SUBDIR:
        raise LanlError(
            f"bad run name {name!r}: use letters, digits and _ . + - (not starting with one of them)"
        )
    return name


def code_version() -> str:
    """The package version, plus the git commit (and ``-dirty`` when lanl/ has local changes) when the
    package lives in a git checkout."""
    root = Path(lanl.__file__).resolve().parent
    try:
        commit = _git(root, "rev-parse", "--short=12", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--", str(root))
    except (OSError, subprocess.SubprocessError):
        return lanl.__version__
    return f"{lanl.__version__}+g{commit}{'-dirty' if dirty else ''}"


def _git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    return out.stdout.strip()


@dataclass
class Run:
    """A finished run folder, read lazily."""

    root: Path
    config: dict = field(repr=False)
    metrics: dict = field(repr=False)

    @classmethod
    def open(cls, path: str | Path) -> Run:
        root = Path(path)
        if not root.is_dir():
            raise LanlError(f"{root}: no such run folder")
        missing = [f for f in REQUIRED if not (root / f).is_file()]
        if missing:
            raise LanlError(f"{root}: not a complete run folder (missing {', '.join(missing)})")
        return cls(root, _read_json(root / "config.json"), _read_json(root / "metrics.json"))

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def model(self) -> str:
        return self.config["model"]

    @cached_property
    def oof(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "oof.parquet")

    @cached_property
    def test_pred(self) -> pd.DataFrame | None:
        path = self.root / "test_pred.parquet"
        return pd.read_parquet(path) if path.is_file() else None

    @cached_property
    def history(self) -> dict[str, dict[str, list[float]]]:
        return _read_json(self.root / "history.json")

    @cached_property
    def importance(self) -> pd.DataFrame | None:
        path = self.root / "importance.parquet"
        return pd.read_parquet(path) if path.is_file() else None

    @cached_property
    def folds(self) -> Folds:
        return load_folds(self.root / "folds.json")

    def model_path(self, fold: int) -> Path:
        hits = sorted((self.root / "models").glob(f"fold_{fold}.*"))
        if not hits:
            raise LanlError(f"{self.root}: no model file for fold {fold}")
        return hits[0]

    def load_model(self, fold: int):
        from lanl.models import load_model

        return load_model(self.model_path(fold))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LanlError(f"{path}: unreadable ({exc})") from None
