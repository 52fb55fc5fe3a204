"""Cross-validation folds: an artifact computed once from the segment table, saved, and read by every model.

Schemes (:class:`FoldSpec`):

* ``cycle`` (default): whole quake cycles are dealt into ``k`` folds (seeded, balanced by segment count), so no
  fold is scored by a model that saw its cycle;
* ``loco``: leave one cycle out (one fold per cycle; ``k`` is ignored);
* ``kfold``: shuffled KFold over segments (what the 1st place used). Windows of one cycle then sit on both
  sides of the split: the CV MAE is optimistic, more so when windows overlap.

A :class:`Folds` holds the fold of every seg_id; its ``id`` names the table, scheme, k and seed, and the file
``<folder>/<id>.json`` is written once and reused (:func:`ensure_folds`). Early stopping never looks at the
fold being scored: :func:`inner_split` carves its stopping set out of the training folds, by cycle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lanl.errors import LanlError
from lanl.fsutil import write_json_atomic

SCHEMES = ("cycle", "loco", "kfold")
FORMAT_VERSION = 1
OPTIMISTIC_WARNING = (
    "shuffled KFold puts windows of the same quake cycle in training and validation: the CV MAE is "
    "optimistic (neighbouring windows share the cycle's gain and phase), and more so when windows overlap"
)


@dataclass(frozen=True)
class FoldSpec:
    scheme: str = "cycle"
    k: int = 5
    seed: int = 0

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise LanlError(f"unknown fold scheme {self.scheme!r}; choose one of {', '.join(SCHEMES)}")
        if self.scheme != "loco" and self.k < 2:
            raise LanlError(f"cross-validation needs at least 2 folds, got k={self.k}")


@dataclass(frozen=True, eq=False)
class Folds:
    """The fold (0..n_folds-1) of each segment of a table, by seg_id."""

    spec: FoldSpec
    seg_ids: tuple[str, ...]
    cycles: np.ndarray
    fold: np.ndarray

    @property
    def n_folds(self) -> int:
        return int(self.fold.max()) + 1

    @property
    def id(self) -> str:
        blob = json.dumps([asdict(self.spec), self.seg_ids, self.cycles.tolist(), self.fold.tolist()])
        digest = hashlib.blake2b(blob.encode(), digest_size=5).hexdigest()
        return f"{self.spec.scheme}-k{self.n_folds}-s{self.spec.seed}-{digest}"

    def align(self, table: pd.DataFrame) -> np.ndarray:
        """The fold of each row of ``table`` (which must hold exactly these segments, in any order)."""
        index = pd.Index(self.seg_ids)
        pos = index.get_indexer(table["seg_id"])
        if (pos < 0).any() or len(table) != len(self.seg_ids) or table["seg_id"].duplicated().any():
            missing = table["seg_id"][pos < 0].head(3).tolist()
            raise LanlError(
                f"folds {self.id} were made for another segment table ({len(self.seg_ids)} segments; this "
                f"table has {len(table)}{', unknown ids ' + ', '.join(missing) if missing else ''})"
            )
        return self.fold[pos]

    def split(self, table: pd.DataFrame) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(fold, train row positions, validation row positions) of ``table`` for each fold."""
        fold = self.align(table)
        for k in range(self.n_folds):
            yield k, np.flatnonzero(fold != k), np.flatnonzero(fold == k)

    def to_json(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "id": self.id,
            "spec": asdict(self.spec),
            "n_folds": self.n_folds,
            "seg_id": list(self.seg_ids),
            "cycle": self.cycles.tolist(),
            "fold": self.fold.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Folds:
        folds = cls(
            FoldSpec(**data["spec"]),
            tuple(data["seg_id"]),
            np.asarray(data["cycle"], np.int64),
            np.asarray(data["fold"], np.int64),
        )
        if folds.id != data["id"]:
            raise LanlError(f"folds file {data['id']}: its content does not match its id (edited by hand?)")
        return folds


def make_folds(table: pd.DataFrame, spec: FoldSpec = FoldSpec()) -> Folds:
    """Assign every segment of ``table`` (seg_id, cycle) to a fold under ``spec``."""
    _check_table(table)
    cycles = table["cycle"].to_numpy(np.int64)
    if spec.scheme == "kfold":
        fold = _shuffled_kfold(len(table), spec.k, spec.seed)
    else:
        k = len(np.unique(cycles)) if spec.scheme == "loco" else spec.k
        fold = _cycle_folds(cycles, k, spec.seed)
    return Folds(spec, tuple(table["seg_id"].astype(str)), cycles, fold)


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in ("seg_id", "cycle") if c not in table.columns]
    if missing:
        raise LanlError(f"a segment table needs the columns seg_id and cycle (missing: {', '.join(missing)})")
    if table["seg_id"].duplicated().any():
        raise LanlError(
            f"duplicate seg_id in the segment table: {table['seg_id'][table['seg_id'].duplicated()].iloc[0]}"
        )
    if (table["cycle"] < 0).any():
        raise LanlError("the segment table holds test segments (cycle -1); folds are made from train windows")


def _cycle_folds(cycles: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Deal whole cycles into ``k`` folds: largest first (ties in seeded order) to the emptiest fold."""
    ids, sizes = np.unique(cycles, return_counts=True)
    if len(ids) < k:
        raise LanlError(
            f"cycle-grouped CV needs at least as many quake cycles as folds: {len(ids)} cycles, {k} folds "
            "(lower k, or use scheme 'loco')"
        )
    order = np.random.default_rng(seed).permutation(len(ids))
    order = order[np.argsort(-sizes[order], kind="stable")]
    load = np.zeros(k, np.int64)
    fold_of_cycle = {}
    for i in order:
        target = int(np.argmin(load))
        fold_of_cycle[ids[i]] = target
        load[target] += sizes[i]
    return np.array([fold_of_cycle[c] for c in cycles], np.int64)


def _shuffled_kfold(n: int, k: int, seed: int) -> np.ndarray:
    if n < k:
        raise LanlError(f"KFold needs at least as many segments as folds: {n} segments, {k} folds")
    fold = np.empty(n, np.int64)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return fold


# ------------------------------------------------------------------------------------------ the artifact
def folds_path(folder: str | Path, folds_id: str) -> Path:
    return Path(folder) / f"{folds_id}.json"


def save_folds(folds: Folds, folder: str | Path) -> Path:
    """Write ``<folder>/<id>.json`` (atomically; an existing file of that id is left as it is)."""
    path = folds_path(folder, folds.id)
    if not path.exists():
        write_json_atomic(path, folds.to_json())
    return path


def load_folds(path: str | Path) -> Folds:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LanlError(f"{path}: no such folds file") from None
    except (OSError, ValueError) as exc:
        raise LanlError(f"{path}: not a readable folds file ({exc})") from None
    if data.get("format_version") != FORMAT_VERSION:
        raise LanlError(f"{path}: folds file of another format version ({data.get('format_version')})")
    return Folds.from_json(data)


def ensure_folds(table: pd.DataFrame, spec: FoldSpec, folder: str | Path) -> tuple[Folds, Path]:
    """The folds of ``table`` under ``spec``: read from ``folder`` when saved before, else made and saved."""
    folds = make_folds(table, spec)
    path = folds_path(folder, folds.id)
    if path.exists():
        return load_folds(path), path
    return folds, save_folds(folds, folder)


# ---------------------------------------------------------------------------------- early-stopping split
def inner_split(
    cycles: np.ndarray, *, by_cycle: bool = True, fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows (their ``cycles``) into (fit positions, stopping positions) for early stopping.

    By cycle: whole cycles, drawn in seeded order until they hold ``fraction`` of the rows, go to the
    stopping set (at least one cycle stays for fitting). With fewer than two cycles, or ``by_cycle=False``
    (shuffled KFold runs), a seeded random ``fraction`` of the rows."""
    cycles = np.asarray(cycles)
    rng = np.random.default_rng(seed)
    ids = np.unique(cycles)
    if not by_cycle or len(ids) < 2:
        n_stop = max(1, round(fraction * len(cycles)))
        perm = rng.permutation(len(cycles))
        return np.sort(perm[n_stop:]), np.sort(perm[:n_stop])
    held, count = [], 0
    for c in rng.permutation(ids)[:-1]:
        held.append(c)
        count += int((cycles == c).sum())
        if count >= fraction * len(cycles):
            break
    stop = np.isin(cycles, held)
    return np.flatnonzero(~stop), np.flatnonzero(stop)
