"""What a second torch thread buys the nets: the LSTM and the CNN fitted with ``threads=1`` and ``threads=2``.

    python3 benchmarks/bench_net_threads.py [--windows 400] [--repeat 2]

Full-length int16 windows (150,000 samples, loudness varying from window to window), the models' default
architectures, a few epochs each (the LSTM on its 150 chunks x 12 statistics, the CNN on the raw samples: its
fit includes the single-threaded input preparation). Each setting is fitted ``--repeat`` times, alternating, and
the best time kept; prints the seconds and the speed-up of 2 threads over 1, and whether the predictions differ
(the README: the thread count may move a net's last digits, so ``threads`` defaults to 1).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lanl.models import make_model  # noqa: E402
from lanl.models.chunks import chunk_block  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--windows", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    loud = 3 + 5 * rng.random(args.windows)
    block = (rng.standard_normal((args.windows, 150_000)) * loud[:, None] + 4).round().astype(np.int16)
    y = 10 - loud
    seq = chunk_block(
        block, chunk=1000
    )  # the LSTM's input; 8 scaled copies make a full-size run's ~3,300 rows
    seqs, ys = np.concatenate([seq * (1 + 0.01 * k) for k in range(8)]), np.tile(y, 8)
    for kind, X, target, params in (("lstm", seqs, ys, {"epochs": 6}), ("cnn", block, y, {"epochs": 4})):
        best, preds = {}, {}
        for _ in range(args.repeat):
            for threads in (1, 2):
                t = time.perf_counter()
                model = make_model(kind, {**params, "threads": threads}).fit(X, target)
                best[threads] = min(best.get(threads, np.inf), time.perf_counter() - t)
                preds[threads] = model.predict(X)
        diff = float(np.abs(preds[1] - preds[2]).max())
        print(
            f"{kind}: 1 thread {best[1]:.2f} s, 2 threads {best[2]:.2f} s: {best[1] / best[2]:.2f}x; "
            f"predictions differ by at most {diff:.2g}"
        )


if __name__ == "__main__":
    main()
