"""Windows by reference: where a task's signal windows lie, read by whichever process runs the task.

A :class:`WindowsRef` names a signal cache (its folder, or an fsspec URL of a copy: ``s3://bucket/cache``,
``gs://...``, ``file:///shared/...``), the cache's fingerprint, and the windows (segment ids and start rows):
a few hundred bytes however long the windows are. ``ref.read()`` opens the cache where it runs (once per
process: a folder is memory-mapped, a URL is read by byte ranges through fsspec, the 'dask' extra) and
returns the int16 block through :func:`lanl.data.segments.load_block`, so a worker process, a Dask worker on
another machine and this process read the same windows the same way.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from lanl.data.cache import FORMAT_VERSION, MANIFEST, SignalCache, _rows_in
from lanl.data.segments import load_block
from lanl.errors import LanlError
from lanl.extras import require


@dataclass(frozen=True)
class WindowsRef:
    """The windows ``seg_ids`` / ``starts`` (train start rows; -1 for test segments) of ``length`` samples
    (None: the segment length) in the cache at ``location`` whose fingerprint is ``fingerprint`` (checked
    where the windows are read; None: not checked)."""

    location: str
    fingerprint: str | None
    seg_ids: tuple[str, ...]
    starts: np.ndarray = field(compare=False)
    length: int | None = None

    @classmethod
    def of(cls, cache: SignalCache, table: pd.DataFrame, length: int | None = None) -> WindowsRef:
        """The windows of segment table ``table`` (seg_id, start) in ``cache``, at the cache's own folder."""
        return cls(
            str(Path(cache.root).absolute()),
            cache.fingerprint,
            tuple(str(s) for s in table["seg_id"]),
            table["start"].to_numpy(np.int64),
            length,
        )

    @classmethod
    def blocks(
        cls, cache: SignalCache, table: pd.DataFrame, batch: int, length: int | None, location: str
    ) -> list[tuple[slice, WindowsRef]]:
        """``table``'s rows ``batch`` at a time, each block with its reference, read from ``location`` (where a
        runner's workers read the cache): the tasks of the extractors."""
        fingerprint, starts = cache.fingerprint, table["start"].to_numpy(np.int64)
        ids = tuple(str(s) for s in table["seg_id"])
        rows = [slice(a, min(a + batch, len(table))) for a in range(0, len(table), batch)]
        return [(r, cls(str(location), fingerprint, ids[r], starts[r], length)) for r in rows]

    def at(self, location: str) -> WindowsRef:
        """The same windows, read from a copy of the cache at ``location``."""
        return replace(self, location=str(location))

    def __len__(self) -> int:
        return len(self.seg_ids)

    def read(self) -> np.ndarray:
        """The windows as one int16 array (n, length), read here."""
        table = pd.DataFrame({"seg_id": list(self.seg_ids), "start": self.starts})
        return load_block(open_location(self.location, self.fingerprint), table, self.length)


def is_url(location: str | Path) -> bool:
    return "://" in str(location)


def open_location(location: str, fingerprint: str | None = None):
    """The cache at ``location`` (a folder: :class:`SignalCache`; a URL: :class:`RemoteCache`), opened once
    per process while it is the same cache, checked to hold the data of ``fingerprint``."""
    location = str(location)
    cache = _remote(location) if is_url(location) else SignalCache.open_shared(location)
    if fingerprint is not None and cache.manifest.get("fingerprint") != fingerprint:
        raise LanlError(
            f"{location}: this signal cache holds other data (fingerprint {cache.manifest.get('fingerprint')}, "
            f"expected {fingerprint}); point the workers at a copy of the same cache"
        )
    return cache


@dataclass(frozen=True)
class RemoteCache:
    """A signal cache at an fsspec URL, read by byte ranges: the reading half of :class:`SignalCache`
    (``test_ids``, ``read_windows``, ``read_test``), so :func:`lanl.data.segments.load_block` serves both."""

    url: str
    fs: object
    root: str
    manifest: dict

    @classmethod
    def open(cls, url: str) -> RemoteCache:
        url_to_fs = require("fsspec.core", "dask", "reading the signal cache from a URL").url_to_fs
        fs, root = url_to_fs(url)
        root = root.rstrip("/")
        try:
            manifest = json.loads(fs.cat_file(f"{root}/{MANIFEST}"))
        except (OSError, ValueError) as exc:
            raise LanlError(f"{url}: cannot read the signal cache's manifest ({exc})") from None
        if not manifest.get("complete") or manifest.get("format_version") != FORMAT_VERSION:
            raise LanlError(f"{url}: no complete signal cache here; run `lanl ingest DATA` and copy it there")
        return cls(url, fs, root, manifest)

    @property
    def test_ids(self) -> list[str]:
        return list(self.manifest.get("test_ids", []))

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])

    def read_windows(self, starts, length: int) -> np.ndarray:
        """As :meth:`SignalCache.read_windows`."""
        starts = _rows_in(starts, self.rows - length + 1, f"window of {length:,} rows at row", "train data")
        return self._read("signal.i16", starts, length)

    def read_test(self, rows) -> np.ndarray:
        """As :meth:`SignalCache.read_test`."""
        length = int(self.manifest["test_segment_length"])
        rows = _rows_in(rows, len(self.test_ids), "test segment number", "test segments")
        return self._read("test_signal.i16", rows * length, length)

    def _read(self, name: str, starts: np.ndarray, length: int) -> np.ndarray:
        path = f"{self.root}/{name}"
        blobs = self.fs.cat_ranges(
            [path] * len(starts), [int(s) * 2 for s in starts], [(int(s) + length) * 2 for s in starts]
        )
        out = np.empty((len(starts), length), np.int16)
        for k, blob in enumerate(blobs):
            if isinstance(blob, Exception):
                raise LanlError(f"{self.url}: reading {name} failed ({blob})")
            out[k] = np.frombuffer(blob, "<i2")
        return out


@functools.lru_cache(maxsize=4)
def _remote(url: str) -> RemoteCache:
    return RemoteCache.open(url)
