"""Synthetic feature tables whose test part is shifted by design (for the shift stage's tests and benchmark).

Cycles of several lengths. ``phase`` tells the fraction of the cycle elapsed (as the real signal does);
``spread`` has a spread that grows with the cycle's length (a regime marker: the KS distance finds it over many
rows, one row hardly tells it); ``level`` tells the phase too but is offset by ``offset`` in test (a shifted
feature). The test rows come from cycles of ``test_duration`` seconds, so their time_to_failure runs higher
than train's when ``test_duration`` is above the training cycles' median length, as in the real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DURATIONS = (6, 8, 10, 12, 14, 16) * 2


def shifted_tables(
    seed: int = 0,
    *,
    durations=DURATIONS,
    rows_per_second: int = 8,
    test_duration: float = 16.0,
    offset: float = 0.0,
    n_test: int = 400,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train table: seg_id, start, cycle, label, phase, spread, level; test table: seg_id and the features)."""
    rng = np.random.default_rng(seed)
    parts = []
    for c, d in enumerate(durations):
        n = rows_per_second * d
        frac = (np.arange(n) + 0.5) / n
        parts.append(_features(rng, frac, d, 0.0).assign(cycle=c, label=(1 - frac) * d))
    train = pd.concat(parts, ignore_index=True)
    train.insert(0, "seg_id", [f"w{i}" for i in range(len(train))])
    train.insert(1, "start", np.arange(len(train)) * 150_000)
    test = _features(rng, rng.uniform(0, 1, n_test), test_duration, offset)
    test.insert(0, "seg_id", [f"seg_{i:06x}" for i in range(n_test)])
    return train[["seg_id", "start", "cycle", "label", "phase", "spread", "level"]], test


def _features(rng, frac: np.ndarray, duration: float, offset: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "phase": frac + rng.normal(0, 0.05, len(frac)),
            "spread": rng.normal(0, (duration / 8) ** 2, len(frac)),
            "level": 2 * frac + rng.normal(0, 0.1, len(frac)) + offset,
        }
    )
