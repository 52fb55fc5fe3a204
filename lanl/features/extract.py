"""Extraction: segments in, one row of features per segment out.

Segments travel as 2-D blocks of ``batch`` equal-length segments. For each block the views of the feature
set are built (chains of manipulations sharing prefixes), each view becomes a :class:`Block` whose shared
intermediates live only while that view's features run, and every feature group writes its columns. Train
windows and test segments take the same path; only where the block comes from differs.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lanl.data.segments import KEY_COLUMNS
from lanl.data.windows import WindowsRef
from lanl.errors import LanlError
from lanl.features.block import Block
from lanl.features.featureset import FeatureSet, Step, load
from lanl.features.manipulations import SegmentContext
from lanl.features.registry import FEATURES, MANIPULATIONS, Registered
from lanl.features.runners import Runner, SerialRunner
from lanl.fsutil import locked_temp, read_at, sweep_stale
from lanl.progress import progress

DEFAULT_BATCH = 16  # segments per task: a worker's share of scheduling and pickling is 1% of its work
BLOCK_ROWS = 8  # segments per block: batched FFTs and fewer Python calls per segment beat a smaller block
# that stays in cache (measured: 1 row 9.3, 4 rows 6.5, 8 rows 6.0 ms per 150k-sample window)


# ------------------------------------------------------------------------------------------- validation
def check_segments(values: np.ndarray, keys: Sequence) -> None:
    """A LanlError naming the segment unless ``values`` is a 2-D block of finite int or float samples."""
    if values.dtype.kind not in "iuf":
        raise LanlError(f"segments must hold integer or float samples, got dtype {values.dtype}")
    if values.ndim != 2 or values.shape[1] == 0:
        raise LanlError(f"segment {keys[0] if len(keys) else '?'} is empty")
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise LanlError(f"segment {keys[row]}: sample {col} is {values[row, col]} (NaN/inf not allowed)")


def _check_length(item: Registered, params: dict, length: int, what: str, key) -> None:
    need = item.min_length(**params)
    if length < need:
        raise LanlError(f"segment {key}: {what} needs at least {need} samples, the segment has {length}")


# --------------------------------------------------------------------------------------------- the engine
@dataclass
class _Group:
    """One call of a feature function: a feature on a view with all its requested parameter dicts."""

    item: Registered
    params: list[dict]
    columns: list[int]
    names: list[str]

    @functools.cached_property
    def min_length(self) -> int:
        """The fewest samples every parameter set of the group accepts."""
        return max(self.item.min_length(**p) for p in self.params)


@functools.lru_cache(maxsize=8)
def _plan(fs: FeatureSet) -> dict[str, list[_Group]]:
    """Feature groups per view, views in order of first use (kept per set: sets are immutable, and the
    plan is read-only)."""
    plan: dict[str, dict[str, _Group]] = {}
    for col, spec in enumerate(fs.features):
        groups = plan.setdefault(spec.view, {})
        group = groups.get(spec.feature)
        if group is None:
            group = groups[spec.feature] = _Group(FEATURES.get(spec.feature), [], [], [])
        group.params.append(dict(spec.params))
        group.columns.append(col)
        group.names.append(spec.column)
    return {view: list(groups.values()) for view, groups in plan.items()}


class _Views:
    """The arrays of a block's views, each chain prefix computed once (views sharing a prefix share it)."""

    def __init__(self, values: np.ndarray, keys: Sequence, fs: FeatureSet):
        self.keys = [str(k) for k in keys]
        self.seed = fs.seed
        self._arrays: dict[tuple[Step, ...], np.ndarray] = {(): values}

    def array(self, chain: tuple[Step, ...]) -> np.ndarray:
        if chain not in self._arrays:
            x = self.array(chain[:-1])
            step = chain[-1]
            item = MANIPULATIONS.get(step.manipulation)
            _check_length(
                item, dict(step.params), x.shape[1], f"manipulation {step.manipulation}", self.keys[0]
            )
            ctx = SegmentContext(
                self.keys, self.seed, json.dumps([s.to_dict() for s in chain], sort_keys=True)
            )
            self._arrays[chain] = item.func(x, ctx, **dict(step.params))
        return self._arrays[chain]


def compute_block(values: np.ndarray, keys: Sequence, fs: FeatureSet) -> np.ndarray:
    """Features (n_segments, n_columns) of equal-length segments, in ``fs.columns`` order, BLOCK_ROWS
    segments at a time (every feature of a segment depends on that segment and its key only)."""
    values = np.asarray(values)
    check_segments(values, keys)
    if values.shape[0] <= BLOCK_ROWS:
        return _compute(values, keys, fs)
    return np.concatenate(
        [
            _compute(values[a : a + BLOCK_ROWS], keys[a : a + BLOCK_ROWS], fs)
            for a in range(0, values.shape[0], BLOCK_ROWS)
        ]
    )


def _compute(values: np.ndarray, keys: Sequence, fs: FeatureSet) -> np.ndarray:
    out = np.empty((values.shape[0], len(fs.features)))
    views = _Views(values, keys, fs)
    for view, groups in _plan(fs).items():
        blk = Block.from_array(views.array(fs.chain(view)), views.keys)
        for group in groups:
            out[:, group.columns] = _run_group(group, blk)
    _check_finite(out, fs, views.keys)
    return out


def _run_group(group: _Group, blk: Block) -> np.ndarray:
    if blk.length < group.min_length:  # name the first parameter set that does not fit
        for params, name in zip(group.params, group.names, strict=True):
            _check_length(group.item, params, blk.length, f"feature {name}", blk.keys[0])
    if group.item.combiner:
        return group.item.func(blk, group.params)
    return np.stack([group.item.func(blk, **p) for p in group.params], axis=1)


def _check_finite(out: np.ndarray, fs: FeatureSet, keys: Sequence[str]) -> None:
    bad = ~np.isfinite(out)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise LanlError(f"segment {keys[row]}: feature {fs.columns[col]} is {out[row, col]} (not finite)")


# ---------------------------------------------------------------------------------------- library calls
def _block_task(task) -> np.ndarray:
    values, keys, fs = task
    return compute_block(values, keys, fs)


def _as_rows(data) -> list[np.ndarray]:
    if isinstance(data, np.ndarray):
        if data.ndim not in (1, 2):
            raise LanlError(f"segments must be a 1-D signal or a 2-D block, got shape {data.shape}")
        return [data] if data.ndim == 1 else list(data)
    rows = [np.asarray(row) for row in data]
    for i, row in enumerate(rows):
        if row.ndim != 1:
            raise LanlError(f"segment {i}: expected a 1-D signal, got shape {row.shape}")
    return rows


def extract(
    data,
    feature_set: str | Path | FeatureSet = "kernel",
    *,
    keys: Sequence | None = None,
    runner: Runner | None = None,
    batch: int = DEFAULT_BATCH,
) -> pd.DataFrame:
    """Features of in-memory segments: a 1-D signal, a 2-D block (n_segments, n_samples) or a list of 1-D
    signals (any lengths). Returns one row per segment, indexed by ``keys`` (default 0..n-1); the keys also
    seed random manipulations, so a segment gets the same values in any batch."""
    fs = load(feature_set)
    rows = _as_rows(data)
    keys = list(range(len(rows))) if keys is None else list(keys)
    if len(keys) != len(rows):
        raise LanlError(f"{len(keys)} keys for {len(rows)} segments")
    spans = _equal_length_spans(rows, batch)
    runner = runner or SerialRunner()
    out = np.empty((len(rows), len(fs.features)))
    with ExitStack() as stack:
        if runner.shares_files and isinstance(data, np.ndarray) and data.ndim == 2:
            # workers on this machine read their rows from one shared file instead of unpickling each block
            shared = stack.enter_context(_SharedRows(data))
            func, payloads = _shared_task, ((shared.ref(a, b), keys[a:b], fs) for a, b in spans)
        else:  # lazily: the runner bounds memory
            func, payloads = _block_task, ((np.stack(rows[a:b]), keys[a:b], fs) for a, b in spans)
        for (a, b), values in zip(spans, runner.map(func, payloads), strict=True):
            out[a:b] = values
    return pd.DataFrame(out, index=pd.Index(keys, name="segment"), columns=fs.columns)


class _SharedRows:
    """A 2-D array shared with local worker processes through a temporary file (in /dev/shm where it exists:
    memory, not disk): each task's rows are written just before the task is handed out and read by its
    worker with one ``preadv``, cheaper than pickling every block through a pipe (0.9 ms of the parent's
    CPU per 150k-sample segment, measured), and the first tasks start at once. Removed on exit."""

    def __init__(self, data: np.ndarray):
        self.data = data

    def __enter__(self) -> _SharedRows:
        folder = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        folder = folder or tempfile.gettempdir()
        sweep_stale(folder, "lanl-rows-*.bin")  # memory, in /dev/shm: what killed runs left is freed
        path, self.fd = locked_temp(folder, "lanl-rows-", ".bin")
        self.path = str(path)
        return self

    def ref(self, a: int, b: int) -> tuple:
        """Write rows a..b-1 and return what their task carries: (path, dtype, row length, a, b)."""
        rows = np.ascontiguousarray(self.data[a:b])
        view, offset = memoryview(rows).cast("B"), a * rows.itemsize * rows.shape[1]
        done = 0
        while done < view.nbytes:
            done += os.pwrite(self.fd, view[done:], offset + done)
        return self.path, rows.dtype.str, rows.shape[1], a, b

    def __exit__(self, *exc) -> None:
        os.close(self.fd)
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _read_shared(ref) -> np.ndarray:
    path, dtype, length, a, b = ref
    out = np.empty((b - a, length), np.dtype(dtype))
    read_at(path, [(out, a * length * out.itemsize)])
    return out


def _shared_task(task) -> np.ndarray:
    ref, keys, fs = task
    return compute_block(_read_shared(ref), keys, fs)


def _equal_length_spans(rows: list[np.ndarray], batch: int) -> list[tuple[int, int]]:
    """[start, stop) runs of consecutive equal-length rows, ``batch`` rows at most."""
    spans, start = [], 0
    while start < len(rows):
        stop = start + 1
        while stop < len(rows) and stop - start < batch and len(rows[stop]) == len(rows[start]):
            stop += 1
        spans.append((start, stop))
        start = stop
    return spans


def features_of(fs: FeatureSet, ref: WindowsRef) -> np.ndarray:
    """The task of :func:`extract_segments`: the features ``fs`` of the windows ``ref``, read where it runs
    (``functools.partial(features_of, fs)`` is the function a runner maps over the references)."""
    return compute_block(ref.read(), list(ref.seg_ids), fs)


def extract_segments(
    cache,
    table: pd.DataFrame,
    feature_set: str | Path | FeatureSet = "kernel",
    *,
    runner: Runner | None = None,
    batch: int = DEFAULT_BATCH,
    length: int | None = None,
    desc: str = "features",
) -> pd.DataFrame:
    """Features of the segments of ``table`` (lanl.data.segments.train_segments / test_segments) read from
    ``cache`` (a SignalCache), ``batch`` per task in the runner's workers. A task is a
    :class:`~lanl.data.windows.WindowsRef` (where the windows lie, at the location the runner's workers read
    the cache from); the feature set travels with the mapped function. Returns the table's key columns
    (seg_id, start, cycle, label) followed by the feature columns, in table order."""
    fs, runner = load(feature_set), runner or SerialRunner()
    table = table.reset_index(drop=True)
    blocks = WindowsRef.blocks(cache, table, batch, length, runner.cache_location(cache))
    tasks = (ref for _, ref in blocks)
    out = np.empty((len(table), len(fs.features)))
    with progress(total=len(table), desc=desc, unit="seg") as bar:
        for (rows, _), values in zip(
            blocks, runner.map(functools.partial(features_of, fs), tasks), strict=True
        ):
            out[rows] = values
            bar.update(rows.stop - rows.start)
    features = pd.DataFrame(out, columns=fs.columns)
    return pd.concat([table[KEY_COLUMNS], features], axis=1)


def feature_columns(df: pd.DataFrame) -> list[str]:
    """The feature columns of a table returned by extract_segments (everything but the key columns)."""
    return [c for c in df.columns if c not in KEY_COLUMNS]
