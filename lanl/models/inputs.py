"""The inputs each kind of model is fitted on, built from the signal cache:

* ``features``: the feature set's tables from the feature store (computed once, then read back);
* ``signal``: the raw windows, read lazily from the memory-mapped cache (:class:`WindowSource`);
* ``chunks``: per-chunk feature sequences (:mod:`lanl.models.chunks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lanl.data.segments import KEY_COLUMNS, SegmentSpec, load_block, test_segments, train_segments
from lanl.features import feature_columns, load_feature_set
from lanl.features.store import segment_features
from lanl.models.chunks import chunk_sequences

if TYPE_CHECKING:  # the workspace imports lanl.cv.runs, which imports lanl.models
    from lanl.workspace import Workspace


@dataclass
class Inputs:
    """A model's inputs: train keys and X, test ids and X (None without test segments), provenance."""

    table: pd.DataFrame
    X: Any
    test_ids: list[str] | None = None
    X_test: Any = None
    info: dict = field(default_factory=dict)


@dataclass
class WindowSource:
    """Signal windows of a segment table, read from the cache only when sliced: ``take(idx)`` narrows the
    rows, ``np.asarray(source)`` loads them as int16 (n, length)."""

    cache: object
    table: pd.DataFrame
    length: int | None = None

    def __len__(self) -> int:
        return len(self.table)

    def take(self, idx) -> WindowSource:
        return WindowSource(self.cache, self.table.iloc[np.asarray(idx)], self.length)

    def __array__(self, dtype=None, copy=None):
        block = load_block(self.cache, self.table, self.length)
        return block if dtype is None else block.astype(dtype)


def segment_spec(config) -> SegmentSpec:
    return SegmentSpec(length=config.segments.length, stride=config.segments.stride or None)


def build_inputs(model_cls, ws: Workspace, config):
    """The train and test inputs of ``model_cls`` (its ``input`` kind) for the run ``config`` on the workspace's
    cache (features: read from its feature store, computed by its runner where missing)."""
    cache, spec = ws.signal, segment_spec(config)
    table = train_segments(cache, spec)
    test = test_segments(cache) if cache.test_ids else None
    test_ids = list(test["seg_id"]) if test is not None else None
    if model_cls.input == "features":
        return _feature_inputs(ws, config.features, spec, test is not None)
    chunk = int(config.params.get("chunk", 1000))
    with ws.runner as runner:  # one worker pool for the test and train chunk features
        X_test = None
        if test is not None:
            X_test = inputs_of_test(model_cls.input, cache, spec=spec, chunk=chunk, runner=runner)[1]
        if model_cls.input == "signal":
            return Inputs(
                table, WindowSource(cache, table, spec.length), test_ids, X_test, {"feature_set": "raw"}
            )
        X = chunk_sequences(cache, table, chunk, spec.length, runner=runner)
    return Inputs(table, X, test_ids, X_test, {"feature_set": "rnn_chunk", "chunk": chunk})


def inputs_of_test(
    kind: str, cache, *, spec: SegmentSpec, chunk: int = 1000, fs=None, store=None, runner=None
):
    """(test seg_ids, X_test) of the cache's test segments for a model reading ``kind`` inputs: raw windows
    (``signal``), chunk sequences of ``chunk`` samples (``chunks``), or the ``features`` of feature set ``fs``
    (read from ``store``, computed by ``runner`` where missing). What training and lanl.cv.predict both use."""
    test = test_segments(cache)
    if kind == "signal":
        return list(test["seg_id"]), WindowSource(cache, test)
    if kind == "chunks":
        return list(test["seg_id"]), chunk_sequences(cache, test, chunk, runner=runner)
    table, _, _ = segment_features(cache, fs, part="test", spec=spec, store=store, runner=runner)
    return list(table["seg_id"]), table[feature_columns(table)]


def _feature_inputs(ws: Workspace, feature_set: str, spec: SegmentSpec, with_test: bool):
    fs = load_feature_set(feature_set)
    cache, store = ws.signal, ws.store
    with ws.runner as runner:  # one worker pool for both parts (and, in a workspace's block, for every model)
        train, folder, _ = segment_features(cache, fs, part="train", spec=spec, store=store, runner=runner)
        columns = [c for c in train.columns if c not in KEY_COLUMNS]
        info = {
            "feature_set": fs.name,
            "feature_set_hash": fs.hash,
            "n_features": len(columns),
            "features_table": str(folder),
        }
        if not with_test:
            return Inputs(train[KEY_COLUMNS], train[columns], info=info)
        test_ids, X_test = inputs_of_test("features", cache, spec=spec, fs=fs, store=store, runner=runner)
    return Inputs(train[KEY_COLUMNS], train[columns], test_ids, X_test, info)
