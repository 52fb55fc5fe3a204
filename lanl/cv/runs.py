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

import numpy as np
import pandas as pd

import lanl
from lanl import models
from lanl.cv.folds import Folds, load_folds
from lanl.errors import LanlError
from lanl.fsutil import RUNS_DIR, atomic_dir, write_json_atomic, write_parquet

DEFAULT_RUNS = RUNS_DIR
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


def write_run(
    run_dir: Path, record: dict, metrics: dict, result, folds: Folds, *, suffix: str, history=True
) -> Path:
    """The run folder that :class:`Run` reads, written whole into a temporary folder and renamed into place:
    ``result`` holds ``oof``, ``test_pred`` (or None) and per-fold results (``fold``, ``model``, ``history``);
    each fold's model is saved as ``models/fold_<k><suffix>``; models with ``importance`` get
    ``importance.parquet``. ``history=False`` writes an empty ``history.json`` (a stack's level 2)."""
    with atomic_dir(run_dir) as tmp:
        write_json_atomic(tmp / "config.json", record)
        write_json_atomic(tmp / "metrics.json", metrics)
        write_json_atomic(tmp / "folds.json", folds.to_json())
        write_json_atomic(
            tmp / "history.json", {f"fold_{r.fold}": r.history for r in result.folds} if history else {}
        )
        write_parquet(result.oof, tmp / "oof.parquet")
        if result.test_pred is not None:
            write_parquet(result.test_pred, tmp / "test_pred.parquet")
        (tmp / "models").mkdir()
        for r in result.folds:
            r.model.save(tmp / "models" / f"fold_{r.fold}{suffix}")
        if hasattr(result.folds[0].model, "importance"):
            write_parquet(_importance(result.folds), tmp / "importance.parquet")
    return run_dir


def _importance(results) -> pd.DataFrame:
    parts = [
        pd.DataFrame({"gain": r.model.importance("gain"), "split": r.model.importance("split")})
        .rename_axis("feature")
        .reset_index()
        .assign(fold=r.fold)
        for r in results
    ]
    return pd.concat(parts, ignore_index=True)


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
        return read_table(self.root / "oof.parquet", OOF_COLUMNS)

    @cached_property
    def test_pred(self) -> pd.DataFrame | None:
        path = self.root / "test_pred.parquet"
        return read_table(path, TEST_COLUMNS) if path.is_file() else None

    @cached_property
    def history(self) -> dict[str, dict[str, list[float]]]:
        return _read_json(self.root / "history.json")

    @cached_property
    def importance(self) -> pd.DataFrame | None:
        path = self.root / "importance.parquet"
        return read_table(path, IMPORTANCE_COLUMNS) if path.is_file() else None

    @cached_property
    def folds(self) -> Folds:
        return load_folds(self.root / "folds.json")

    def model_path(self, fold: int) -> Path:
        hits = sorted((self.root / "models").glob(f"fold_{fold}.*"))
        if not hits:
            raise LanlError(f"{self.root}: no model file for fold {fold}")
        return hits[0]

    def load_model(self, fold: int):
        return models.load_model(self.model_path(fold))


# the columns every reader relies on: text (seg_id, feature) or numbers
OOF_COLUMNS = {"seg_id": str, "label": float, "pred": float, "fold": float}
TEST_COLUMNS = {"seg_id": str, "mean": float}
IMPORTANCE_COLUMNS = {"feature": str, "gain": float}


def read_table(path: Path, columns: dict[str, type]) -> pd.DataFrame:
    """A run's Parquet table, with ``columns`` present and numeric where they should be; a damaged or
    foreign file is a LanlError naming it and the damage."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise LanlError(f"{path}: not a readable Parquet table ({exc}); {_REDO}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none"
        raise LanlError(f"{path}: no {', '.join(missing)} column (columns: {have}); {_REDO}")
    for name, kind in columns.items():
        if kind is float and not _numeric(frame[name]):
            numbers = pd.to_numeric(frame[name], errors="coerce")
            bad = frame[name][numbers.isna() & frame[name].notna()]
            example = f", e.g. row {bad.index[0] + 1}: {bad.iloc[0]!r}" if len(bad) else ""
            raise LanlError(
                f"{path}: column {name} holds {frame[name].dtype} values, not numbers{example}; {_REDO}"
            )
    return frame


_REDO = "the run folder is damaged: run it again"


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def check_finite(frame: pd.DataFrame, column: str, path: Path) -> None:
    """Every ``column`` value of a run's table finite, else a LanlError naming the file and the segments."""
    bad = ~np.isfinite(frame[column].to_numpy(np.float64))
    if bad.any():
        ids = frame["seg_id"][bad].tolist()
        raise LanlError(
            f"{path}: {len(ids)} non-finite {column} value(s), e.g. segment {', '.join(map(str, ids[:3]))}; "
            "predictions must be finite (train that run again)"
        )


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LanlError(f"{path}: unreadable ({exc})") from None
