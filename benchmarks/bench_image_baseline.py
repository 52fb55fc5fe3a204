"""Benchmark: both trainers of image_baseline on the offline default set (scikit-learn's digits).

    python benchmarks/bench_image_baseline.py [--epochs N] [--out DIR]

Prints each trainer's validation accuracy and training wall time (fine-tuning only; the learning-rate finder,
evaluation and report are timed separately) and writes them to DIR/bench.json. Target: >= 97% accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from image_baseline.config import TrainConfig
from image_baseline.pipeline import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: the digits default (4)")
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_image_baseline"))
    args = parser.parse_args()

    import torch

    config = TrainConfig(arch=args.arch, epochs=args.epochs)
    start = time.perf_counter()
    outcome = run(config, source="digits", out_dir=args.out)
    total = time.perf_counter() - start
    rows = [
        {
            "trainer": r.trainer,
            "backbone": r.backbone,
            "accuracy": r.accuracy,
            "train_seconds": r.train_seconds,
        }
        for r in outcome.results
    ]
    print(
        f"\ndigits: {len(outcome.images)} images, {len(outcome.valid_idx)} validation; torch threads {torch.get_num_threads()}"
    )
    print(f"{'trainer':<8} {'backbone':<19} {'accuracy':>8} {'train s':>8}")
    for row in rows:
        print(
            f"{row['trainer']:<8} {row['backbone']:<19} {row['accuracy']:>8.4f} {row['train_seconds']:>8.1f}"
        )
    print(f"whole run (data, lr finder, both trainers, report): {total:.1f} s")
    bench = {
        "rows": rows,
        "total_seconds": round(total, 1),
        "config": json.loads(outcome.config.to_json()),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    (args.out / "bench.json").write_text(json.dumps(bench, indent=2))


if __name__ == "__main__":
    main()
