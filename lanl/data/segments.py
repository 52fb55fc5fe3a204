"""Segments: the 150,000-row windows every model sees, as a table of row indices into the cache.

A train window lies inside one quake cycle (it never straddles a failure) and carries its cycle id, its start
row and its label, the time_to_failure of its last row. Windows are laid per cycle from the cycle's first row,
``stride`` apart (non-overlapping when ``stride`` is None), or drawn at random (``n_random`` windows, seeded).
Test segments come from the cache in sample_submission order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from lanl.data.cache import SignalCache
from lanl.errors import LanlError

SEGMENT_LENGTH = 150_000
KEY_COLUMNS = ["seg_id", "start", "cycle", "label"]  # every window table's key columns, in this order


@dataclass(frozen=True)
class SegmentSpec:
    length: int = SEGMENT_LENGTH
    stride: int | None = None
    n_random: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.length < 1:
            raise LanlError(f"segment length must be positive, got {self.length}")
        if self.stride is not None and self.stride < 1:
            raise LanlError(f"stride must be positive, got {self.stride}")
        if self.n_random is not None and self.n_random < 1:
            raise LanlError(f"n_random must be positive, got {self.n_random}")
        if self.stride is not None and self.n_random is not None:
            raise LanlError("give either a stride or a number of random windows, not both")

    def key(self) -> str:
        """A stable string naming this spec (for caches and manifests)."""
        blob = json.dumps(asdict(self), sort_keys=True)
        return hashlib.blake2b(blob.encode(), digest_size=6).hexdigest()

    def describe(self) -> str:
        if self.n_random is not None:
            return f"{self.n_random} random windows of {self.length:,} rows (seed {self.seed})"
        stride = self.stride or self.length
        return f"windows of {self.length:,} rows, stride {stride:,}"


def _starts_in_cycles(bounds: np.ndarray, spec: SegmentSpec) -> np.ndarray:
    """Start rows of all windows that fit inside a cycle."""
    if spec.n_random is not None:
        return _random_starts(bounds, spec)
    stride = spec.stride or spec.length
    parts = [np.arange(a, b - spec.length + 1, stride, dtype=np.int64) for a, b in bounds]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _random_starts(bounds: np.ndarray, spec: SegmentSpec) -> np.ndarray:
    """``n_random`` starts drawn uniformly among all valid window positions (seeded, sorted)."""
    room = np.maximum(bounds[:, 1] - bounds[:, 0] - spec.length + 1, 0)
    total = int(room.sum())
    if total == 0:
        return np.empty(0, np.int64)
    rng = np.random.default_rng(spec.seed)
    picks = np.sort(rng.choice(total, size=min(spec.n_random, total), replace=False))
    offsets = np.concatenate([[0], np.cumsum(room)])
    cyc = np.searchsorted(offsets, picks, side="right") - 1
    return bounds[cyc, 0] + (picks - offsets[cyc])


def train_segments(cache: SignalCache, spec: SegmentSpec = SegmentSpec()) -> pd.DataFrame:
    """The training windows of ``spec``: seg_id, start row, cycle id, label (ttf of the last row)."""
    starts = _starts_in_cycles(cache.cycle_bounds(), spec)
    if len(starts) == 0:
        raise LanlError(f"no {spec.length:,}-row window fits inside any quake cycle of this data")
    last = starts + spec.length - 1
    return pd.DataFrame(
        {
            "seg_id": [f"train_{s}" for s in starts],
            "start": starts,
            "cycle": cache.cycle_of(starts),
            "label": cache.ttf_at(last),
        }
    )


def test_segments(cache: SignalCache) -> pd.DataFrame:
    """The test segments in sample_submission order (start and cycle are -1, label NaN)."""
    if not cache.test_ids:
        raise LanlError(f"{cache.root}: the cached data has no test segments")
    n = len(cache.test_ids)
    return pd.DataFrame(
        {
            "seg_id": list(cache.test_ids),
            "start": np.full(n, -1, np.int64),
            "cycle": np.full(n, -1, np.int64),
            "label": np.full(n, np.nan),
        }
    )


test_segments.__test__ = False  # a library function, not a pytest test (it is imported by tests)


def _rows_of(cache: SignalCache, table: pd.DataFrame) -> tuple[np.ndarray, bool]:
    starts = table["start"].to_numpy()
    is_test = bool(len(starts)) and bool((starts < 0).all())
    if not is_test and (starts < 0).any():
        raise LanlError("a segment table must hold only train windows or only test segments")
    if is_test:
        index = {s: k for k, s in enumerate(cache.test_ids)}
        try:
            return np.array([index[s] for s in table["seg_id"]], np.int64), True
        except KeyError as exc:
            raise LanlError(f"test segment {exc.args[0]} is not in the cache") from None
    return starts.astype(np.int64), False


def load_block(cache: SignalCache, table: pd.DataFrame, length: int | None = None) -> np.ndarray:
    """The signal windows of ``table``'s rows as one int16 array (n, length)."""
    rows, is_test = _rows_of(cache, table)
    if is_test:
        return cache.read_test(rows)
    return cache.read_windows(rows, length or SEGMENT_LENGTH)  # it names a window outside the data


def iter_blocks(
    cache: SignalCache, table: pd.DataFrame, batch: int = 64, length: int | None = None
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Yield (table slice, int16 block (n, length)) ``batch`` rows at a time: memory bounded by the batch."""
    for lo in range(0, len(table), batch):
        part = table.iloc[lo : lo + batch]
        yield part, load_block(cache, part, length)
