"""Per-chunk feature sequences for the recurrent net (the public "RNN starter" inputs).

A window of ``length`` samples is cut into ``length // chunk`` chunks (150 x 1,000 for a 150,000-sample
window; a remainder at the start is dropped so the last chunk ends at the window's end). Each chunk gets the
feature set :data:`CHUNK_SET`: mean, standard deviation, minimum and maximum of the chunk, of its last 100 and
of its last 10 samples (12 features). lanl.features has no chunk mode; its extractor computes them on the
reshaped (n * steps, chunk) block, so the numbers are the feature extractor's.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from lanl.data.windows import WindowsRef
from lanl.errors import LanlError
from lanl.features import compute_block, feature_set_from_dict
from lanl.features.runners import Runner, SerialRunner
from lanl.progress import progress

CHUNK_SET = {
    "name": "rnn_chunk",
    "description": "RNN starter: mean, std, min, max of the chunk, its last 100 and its last 10 samples",
    "seed": 0,
    "views": {
        "tail_100": [{"manipulation": "tail", "n": 100}],
        "tail_10": [{"manipulation": "tail", "n": 10}],
    },
    "features": [
        {"feature": name, "views": ["signal", "tail_100", "tail_10"], "params": [params]}
        for name, params in (("mean", {}), ("std", {"ddof": 0}), ("min", {}), ("max", {}))
    ],
}
BATCH = 32  # windows per extraction block


def chunk_block(block: np.ndarray, chunk: int = 1000, feature_set=None) -> np.ndarray:
    """(n, steps, features) chunk features of an (n, length) block of windows."""

    fs = feature_set or feature_set_from_dict(CHUNK_SET)
    n, length = block.shape
    steps = length // chunk
    if steps < 1:
        raise LanlError(f"windows of {length:,} samples hold no chunk of {chunk:,} samples")
    chunks = np.ascontiguousarray(block[:, length - steps * chunk :]).reshape(n * steps, chunk)
    keys = [f"chunk_{i}" for i in range(len(chunks))]
    return compute_block(chunks, keys, fs).reshape(n, steps, len(fs.columns))


def chunks_of(chunk: int, fs, ref: WindowsRef) -> np.ndarray:
    """The task of :func:`chunk_sequences`: the chunk features of the windows ``ref``, read where it runs."""
    return chunk_block(ref.read(), chunk, fs)


def chunk_sequences(
    cache, table: pd.DataFrame, chunk: int = 1000, length: int | None = None, runner: Runner | None = None
) -> np.ndarray:
    """Chunk-feature sequences of the windows of ``table`` (train windows or test segments) read from
    ``cache``, ``BATCH`` windows per task in the runner's workers (the same values with any runner)."""

    fs, runner = feature_set_from_dict(CHUNK_SET), runner or SerialRunner()
    blocks = WindowsRef.blocks(cache, table, BATCH, length, runner.cache_location(cache))
    results = runner.map(partial(chunks_of, chunk, fs), (ref for _, ref in blocks))
    parts = list(progress(results, total=len(blocks), desc="chunk features", unit="block"))
    return np.concatenate(parts).astype(np.float32)


def chunk_columns() -> list[str]:
    return list(feature_set_from_dict(CHUNK_SET).columns)
