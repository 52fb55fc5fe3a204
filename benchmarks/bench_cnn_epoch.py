"""Where a CNN training epoch goes when the windows are too many to prepare once (above PREPARE_BYTES: from
~450 full-length windows, so every full-size run): per batch, reading the windows from the cache, their medians,
the scaling and log compression, and the net's forward and backward pass.

    python3 benchmarks/bench_cnn_epoch.py [--data DIR] [--windows 600] [--batches 30]

The baseline is the first preparation, as it was written (each window's median computed in every batch of every
epoch; three arrays for the log compression); ours computes each median once per fit and looks each int16
sample's prepared value up in a table (no logarithm per sample); the step between (medians once, the formula in
place) is timed too. Both are timed here on the same batches, and their outputs compared for equality. Synthetic data (generated into a temporary folder) unless ``--data``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lanl.data import synth  # noqa: E402
from lanl.data.ingest import ingest  # noqa: E402
from lanl.data.segments import SegmentSpec, train_segments  # noqa: E402
from lanl.models import cnn  # noqa: E402
from lanl.models._torch import torch  # noqa: E402
from lanl.models.base import take  # noqa: E402
from lanl.models.inputs import WindowSource  # noqa: E402
from lanl.models.torch_loop import torch_runtime  # noqa: E402


def baseline_prepare(model, rows) -> np.ndarray:
    """The CNN's input preparation before this change, as it was written: the median in every batch."""
    block = np.asarray(rows).astype(np.float32)
    x = (block - np.median(block, axis=1, keepdims=True)) / np.float32(model.scale_)
    return np.sign(x) * np.log1p(np.abs(x))


def per_batch(f, batches) -> float:
    t = time.perf_counter()
    for idx in batches:
        f(idx)
    return 1000 * (time.perf_counter() - t) / len(batches)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path)
    ap.add_argument("--windows", type=int, default=600)
    ap.add_argument("--batches", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "data"
        if args.data is None:
            synth.generate(data, seed=0, rows=args.windows * 25_000 + 2_000_000, cycles=4, test_segments=0)
        cache = ingest(data).cache
        table = train_segments(cache, SegmentSpec(stride=25_000)).iloc[: args.windows]
        X = WindowSource(cache, table)
        model = cnn.CNNRegressor(seed=0)
        model._fit_inputs(X)
        size = len(X) * model.length_ * 4
        print(
            f"{len(X)} windows of {model.length_:,} samples: {size / 2**20:.0f} MiB as float32 "
            f"(prepared once up to {cnn.PREPARE_BYTES / 2**20:.0f} MiB)"
        )
        rng = np.random.default_rng(0)
        batches = [np.sort(rng.choice(len(X), model.batch_size, replace=False)) for _ in range(args.batches)]

        t = time.perf_counter()
        medians = np.concatenate(
            [cnn._medians(np.asarray(take(X, np.arange(lo, min(lo + 256, len(X)))), np.float32))
             for lo in range(0, len(X), 256)]
        )  # fmt: skip
        once = time.perf_counter() - t
        read = per_batch(lambda idx: np.asarray(take(X, idx)), batches)
        median = per_batch(lambda idx: cnn._medians(np.asarray(take(X, idx), np.float32)), batches) - read
        old = per_batch(lambda idx: baseline_prepare(model, take(X, idx)), batches)
        formula = per_batch(
            lambda idx: model._prepare(np.asarray(take(X, idx), np.float32), medians[idx]), batches
        )  # the medians once, the logarithm per sample (before the table)
        new = per_batch(lambda idx: model._prepare(take(X, idx), medians[idx]), batches)
        same = all(
            np.array_equal(baseline_prepare(model, take(X, idx)), model._prepare(take(X, idx), medians[idx]))
            for idx in batches
        )
        with torch_runtime(model.threads, 0, "cpu"):
            net = model._build_net()
            opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
            inputs = [torch.from_numpy(model._prepare(take(X, idx), medians[idx])) for idx in batches]
            target = torch.zeros(model.batch_size)

            def step(k):
                opt.zero_grad()
                loss = torch.nn.functional.l1_loss(net(inputs[k]), target)
                loss.backward()
                opt.step()

            train = per_batch(step, range(len(batches)))
    print(
        f"per batch of {model.batch_size} (ms): read {read:.1f}, medians {median:.1f}, "
        f"net forward+backward {train:.1f}"
    )
    print(
        f"preparation per batch: baseline (median every batch) {old:.1f} ms, medians once {formula:.1f} ms, "
        f"ours (medians once, the int16 table) {new:.1f} ms: {old / new:.2f}x the baseline, {formula / new:.2f}x "
        f"the formula; the medians once per fit: {once:.2f} s; same numbers as the baseline: {same}"
    )
    epoch_old, epoch_new = (
        (old + train) * len(X) / model.batch_size,
        (new + train) * len(X) / model.batch_size,
    )
    print(
        f"an epoch over these windows: {epoch_old / 1000:.1f} s -> {epoch_new / 1000:.1f} s "
        f"({epoch_old / epoch_new:.2f}x)"
    )


if __name__ == "__main__":
    main()
