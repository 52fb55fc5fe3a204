"""The signal cache: what ``lanl ingest`` writes and everything downstream reads by index.

A cache folder holds raw little-endian arrays and a manifest written last::

    signal.i16        int16    (rows,)              acoustic_data of train.csv
    ttf.f64           float64  (rows,)              time_to_failure of train.csv (exact: same doubles as the CSV)
    test_signal.i16   int16    (n_test, seg_len)    test segments in sample_submission order (if present)
    manifest.json     sources, rows, cycle starts, test ids, code version

A folder without ``manifest.json`` marked complete is not a cache (ingest writes to a temporary folder and
renames it, so an interrupted run leaves none).
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lanl.errors import LanlError
from lanl.fsutil import read_at

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
DEFAULT_CACHE_NAME = ".lanl-cache"


def default_cache_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / DEFAULT_CACHE_NAME


def read_manifest(cache_dir: str | Path) -> dict | None:
    """The manifest of a complete cache of the current format, else None."""
    path = Path(cache_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not manifest.get("complete") or manifest.get("format_version") != FORMAT_VERSION:
        return None
    return manifest


@dataclass
class SignalCache:
    root: Path
    manifest: dict
    signal: np.ndarray
    ttf: np.ndarray
    cycle_starts: np.ndarray
    test_ids: list[str] = field(default_factory=list)
    test_signal: np.ndarray | None = None

    @classmethod
    def open(cls, cache_dir: str | Path) -> SignalCache:
        root = Path(cache_dir)
        manifest = read_manifest(root)
        if manifest is None:
            raise LanlError(f"{root}: no complete signal cache here; run `lanl ingest DATA` first")
        rows = manifest["rows"]
        sizes = {"signal.i16": 2 * rows, "ttf.f64": 8 * rows}
        if manifest.get("test_ids"):
            sizes["test_signal.i16"] = 2 * len(manifest["test_ids"]) * manifest["test_segment_length"]
        for name, size in sizes.items():
            have = (root / name).stat().st_size if (root / name).is_file() else None
            if have != size:
                raise LanlError(
                    f"{root / name}: {'missing' if have is None else f'{have:,} bytes'}, the manifest says "
                    f"{size:,}; the cache is damaged: run `lanl ingest DATA --force`"
                )
        signal = np.memmap(root / "signal.i16", dtype="<i2", mode="r", shape=(rows,))
        ttf = np.memmap(root / "ttf.f64", dtype="<f8", mode="r", shape=(rows,))
        test_ids = list(manifest.get("test_ids", []))
        test_signal = None
        if test_ids:
            shape = (len(test_ids), manifest["test_segment_length"])
            test_signal = np.memmap(root / "test_signal.i16", dtype="<i2", mode="r", shape=shape)
        starts = np.asarray(manifest["cycle_starts"], dtype=np.int64)
        return cls(root, manifest, signal, ttf, starts, test_ids, test_signal)

    @classmethod
    def open_shared(cls, cache_dir: str | Path) -> SignalCache:
        """``open``, kept per process while the manifest file is the same one (ingest replaces the whole
        folder, so a rebuilt cache is opened afresh): worker tasks name the cache by its folder, and parsing
        a full-size manifest for every task would cost more than reading the task's windows."""
        root = Path(cache_dir)
        try:
            st = (root / MANIFEST).stat()
        except OSError:
            return cls.open(root)
        return _open_shared(str(root.absolute()), (st.st_ino, st.st_mtime_ns, st.st_size))

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])

    @property
    def n_cycles(self) -> int:
        return len(self.cycle_starts)

    @property
    def fingerprint(self) -> str:
        """Identifies the source data (train and test); the feature store keys tables by it."""
        return self.manifest["fingerprint"]

    def cycle_bounds(self) -> np.ndarray:
        """(n_cycles, 2) array of [start, end) rows of each quake cycle."""
        ends = np.append(self.cycle_starts[1:], self.rows)
        return np.stack([self.cycle_starts, ends], axis=1)

    def read_windows(self, starts, length: int) -> np.ndarray:
        """The train signal rows [s, s + length) for each start s (1-D), as an int16 array
        (len(starts), length); a window outside the data is a LanlError naming it."""
        starts = _rows_in(starts, self.rows - length + 1, f"window of {length:,} rows at row", "train data")
        return _read_rows(self.root / "signal.i16", self.signal, starts, length)

    def ttf_at(self, rows) -> np.ndarray:
        """time_to_failure at the given train rows (any shape), read value by value: indexing the 5 GB
        memory map at scattered rows would map 64 KB around each one (fault-around) and inflate this
        process's RSS by gigabytes for strided windows."""
        shape = np.shape(rows)
        rows = _rows_in(np.ravel(rows), self.rows, "row", "train data")
        if sys.byteorder != "little":
            return np.asarray(self.ttf[rows], dtype=np.float64).reshape(shape)
        out = np.empty(rows.size, np.float64)
        read_at(self.root / "ttf.f64", ((out[k : k + 1], row * 8) for k, row in enumerate(rows.tolist())))
        return out.reshape(shape)

    def read_test(self, rows) -> np.ndarray:
        """Test segments number ``rows`` (positions in ``test_ids``, 1-D) as an int16 array (len(rows), length)."""
        length = int(self.manifest["test_segment_length"])
        rows = _rows_in(rows, len(self.test_ids), "test segment number", "test segments")
        return _read_rows(self.root / "test_signal.i16", self.test_signal.reshape(-1), rows * length, length)

    def cycle_of(self, rows) -> np.ndarray:
        """Cycle id of each row index: cycle k holds rows [cycle_starts[k], cycle_starts[k+1])."""
        rows = np.asarray(rows)
        if rows.size and (rows.min() < 0 or rows.max() >= self.rows):
            raise IndexError(f"row index out of range [0, {self.rows})")
        return np.searchsorted(self.cycle_starts, rows, side="right") - 1


def _rows_in(rows, stop: int, what: str, where: str) -> np.ndarray:
    """``rows`` as a 1-D int64 array, each in [0, stop), else a LanlError naming the first that is not."""
    rows = np.atleast_1d(np.asarray(rows, np.int64))
    if rows.ndim != 1:
        raise LanlError(f"expected a 1-D list of {what}s, got shape {rows.shape}")
    bad = (rows < 0) | (rows >= stop)
    if bad.any():
        raise LanlError(f"{what} {int(rows[bad][0]):,} is outside the {where} ({max(stop, 0):,} positions)")
    return rows


@functools.lru_cache(maxsize=4)
def _open_shared(root: str, _stamp: tuple) -> SignalCache:
    return SignalCache.open(root)


def _read_rows(path: Path, mapped: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Rows [s, s + length) of the int16 file at ``path`` for each start s, read straight into the result
    (about ten times faster than copying out of the memory map, whose first touch of every page faults);
    the memory map on big-endian machines (the file is little-endian)."""
    out = np.empty((len(starts), length), np.int16)
    if sys.byteorder != "little":
        for k, start in enumerate(starts):
            out[k] = mapped[start : start + length]
        return out
    read_at(path, ((out[k], int(start) * 2) for k, start in enumerate(starts)))
    return out
