"""Compare the synthetic dataset with the real LANL test segments: per-segment statistics and label correlations.

Usage (from the repository root)::

    python3 benchmarks/calibrate_synth.py                 # generate the default synthetic set in a temp dir
    python3 benchmarks/calibrate_synth.py --data DIR      # or measure an existing dataset in the Kaggle layout
    python3 benchmarks/calibrate_synth.py --seed 3 --rows 48000000 --cycles 16

Prints two Markdown tables:

1. the 5/50/95th percentiles across segments of mean, std, kurtosis (Fisher), q05, q95 and max abs(x) for the
   real test segments (``../shared/lanl_real/test``, skipped when absent), the synthetic test segments and the
   synthetic train windows (non-overlapping, ``segment_length`` rows, laid per cycle), leaving out segments
   with a failure spike (max abs > 1000; their share is reported; ``--keep-spikes`` keeps them);
2. the Pearson correlation of simple single features with the label (time_to_failure of a train window's last
   row), over the synthetic train windows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kurtosis

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "lanl_real"
PERCENTILES = (5, 50, 95)
STATS = ("mean", "std", "kurtosis", "q05", "q95", "max abs")
SPIKE = 1000
# pandas >= 3 parses floats exactly by default (and deprecates the option); older pandas needs 'round_trip'
EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def segment_stats(x: np.ndarray) -> dict[str, float]:
    """The calibration statistics of one segment."""
    x = x.astype(np.float64)
    q05, q95 = np.quantile(x, [0.05, 0.95])
    return {
        "mean": x.mean(),
        "std": x.std(),
        "kurtosis": kurtosis(x),
        "q05": q05,
        "q95": q95,
        "max abs": np.abs(x).max(),
    }


def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """Standard deviation (ddof=1) of every window of ``n`` consecutive samples, via cumulative sums."""
    x = x.astype(np.float64)
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    s1, s2 = c1[n:] - c1[:-n], c2[n:] - c2[:-n]
    return np.sqrt(np.maximum(s2 - s1 * s1 / n, 0.0) / (n - 1))


def window_features(x: np.ndarray) -> dict[str, float]:
    """Simple single features of one window, the kind a first model would try."""
    xf = x.astype(np.float64)
    q01, q05, q95, q99 = np.quantile(xf, [0.01, 0.05, 0.95, 0.99])
    dev = np.abs(xf - np.median(xf))
    rs = rolling_std(xf, 50)
    return {
        "std": xf.std(),
        "q01": q01,
        "q05": q05,
        "q95": q95,
        "q99": q99,
        "kurtosis": kurtosis(xf),
        "q20 of rolling std (50)": np.quantile(rs, 0.2),
        "q50 of rolling std (50)": np.quantile(rs, 0.5),
        "count abs(x - median) > 10": float((dev > 10).sum()),
        "count abs(x - median) > 20": float((dev > 20).sum()),
    }


def read_segments(test_dir: Path) -> list[np.ndarray]:
    """The int16 signal of every ``seg_*.csv`` in ``test_dir`` (sorted by name)."""
    return [
        pd.read_csv(f, dtype={"acoustic_data": np.int16})["acoustic_data"].to_numpy()
        for f in sorted(test_dir.glob("seg_*.csv"))
    ]


def cycle_starts(data: Path, ttf: np.ndarray) -> np.ndarray:
    """Cycle starts from ``synth_info.json`` when present, else from the rows where time_to_failure jumps up."""
    info = data / "synth_info.json"
    if info.is_file():
        return np.asarray(json.loads(info.read_text())["cycle_starts"], dtype=np.int64)
    return np.concatenate([[0], np.flatnonzero(np.diff(ttf) > 0) + 1])


def train_windows(data: Path, length: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Non-overlapping windows of ``length`` rows laid from each cycle's start, and their labels."""
    df = pd.read_csv(
        data / "train.csv", dtype={"acoustic_data": np.int16, "time_to_failure": np.float64}, **EXACT_FLOATS
    )
    x, ttf = df["acoustic_data"].to_numpy(), df["time_to_failure"].to_numpy()
    bounds = np.append(cycle_starts(data, ttf), len(x))
    starts = [
        s for a, b in zip(bounds[:-1], bounds[1:], strict=True) for s in range(a, b - length + 1, length)
    ]
    return [x[s : s + length] for s in starts], np.array([ttf[s + length - 1] for s in starts])


def percentile_table(groups: dict[str, list[np.ndarray]], *, keep_spikes: bool = False) -> str:
    """Markdown: one row per statistic, the 5/50/95th percentiles across segments for each group.

    Unless ``keep_spikes``, the percentiles leave out segments holding a failure spike (max abs > SPIKE): the
    synthetic cycles are ~20 segments long against ~260 in the lab, so ~1 synthetic segment in 20 holds one
    against 0.76% of the real test set; the last row reports that share over all segments."""
    stats = {name: pd.DataFrame([segment_stats(x) for x in segs]) for name, segs in groups.items()}
    head = "| statistic | " + " | ".join(f"{n} p{p}" for n in groups for p in PERCENTILES) + " |"
    lines = [head, "|" + "---|" * (1 + len(groups) * len(PERCENTILES))]
    kept = {n: df if keep_spikes else df[df["max abs"] <= SPIKE] for n, df in stats.items()}
    for stat in STATS:
        cells = [f"{np.percentile(df[stat], p):.2f}" for df in kept.values() for p in PERCENTILES]
        lines.append(f"| {stat} | " + " | ".join(cells) + " |")
    lines.append(_summary_row("segments used", [f"{len(df)}" for df in kept.values()]))
    spikes = [f"{(df['max abs'] > SPIKE).mean():.1%}" for df in stats.values()]
    lines.append(_summary_row(f"share of segments with max abs > {SPIKE}", spikes))
    return "\n".join(lines)


def _summary_row(label: str, values: list[str]) -> str:
    """A row that puts one value per group under the group's median column."""
    cells = [v if p == 50 else "" for v in values for p in PERCENTILES]
    return f"| {label} | " + " | ".join(cells) + " |"


def correlation_table(windows: list[np.ndarray], labels: np.ndarray) -> str:
    """Markdown: Pearson r of each simple feature with the label over the train windows."""
    feats = pd.DataFrame([window_features(x) for x in windows])
    r = feats.corrwith(pd.Series(labels)).sort_values(key=np.abs, ascending=False)
    lines = [f"| feature (train windows, n={len(labels)}) | r with time_to_failure |", "|---|---|"]
    lines += [f"| {name} | {value:+.2f} |" for name, value in r.items()]
    return "\n".join(lines)


def _generate(args, out: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from lanl.data.synth import generate

    t0 = time.perf_counter()
    info = generate(out, seed=args.seed, rows=args.rows, cycles=args.cycles, test_segments=args.test_segments)
    print(f"generated {info.rows:,} rows, {info.cycles} cycles, {info.test_segments} test segments "
          f"(seed {info.seed}) in {time.perf_counter() - t0:.1f} s\n", file=sys.stderr)  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", type=Path, help="an existing dataset in the Kaggle layout (default: generate one)"
    )
    p.add_argument("--real", type=Path, default=REAL, help="folder holding the real test/seg_*.csv")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rows", type=int, default=24_000_000)
    p.add_argument("--cycles", type=int, default=8)
    p.add_argument("--test-segments", type=int, default=64)
    p.add_argument("--segment-length", type=int, default=150_000)
    p.add_argument(
        "--keep-spikes", action="store_true", help="keep failure-spike segments in the percentiles"
    )
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lanl-calibrate-") as tmp:
        data = args.data or _generate(args, Path(tmp) / "synth")
        windows, labels = train_windows(data, args.segment_length)
        groups = {"real test": read_segments(args.real / "test")} if (args.real / "test").is_dir() else {}
        if not groups:
            print(f"(no real segments under {args.real}: synthetic columns only)\n", file=sys.stderr)
        groups |= {"synth test": read_segments(data / "test"), "synth train": windows}
        print(
            percentile_table(groups, keep_spikes=args.keep_spikes)
            + "\n\n"
            + correlation_table(windows, labels)
        )


if __name__ == "__main__":
    main()
