"""Targets: what a model is fitted to, and the way back to time_to_failure.

* ``ttf``: time_to_failure itself (predictions below 0 are clipped to 0: a label never is).
* ``fraction``: the fraction of its quake cycle a window has elapsed, ``1 - ttf / D_c`` (the 3rd, 5th and 11th
  places). ``D_c``, the cycle's duration, is the largest label of the cycle's training windows; the data's
  first cycle starts mid-cycle (in the real and the synthetic data), so its duration is taken as at least the
  median of the others. A prediction ``f`` converts back as ``(1 - clip(f, 0, 1)) * D``, ``D`` the median
  duration of the training cycles: an estimate fitted on the training folds only, like everything fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lanl.errors import LanlError

TARGETS = ("ttf", "fraction")


@dataclass(eq=False)
class Target:
    kind: str = "ttf"

    def __post_init__(self):
        if self.kind not in TARGETS:
            raise LanlError(f"unknown target {self.kind!r}; choose one of {', '.join(TARGETS)}")

    def fit(self, labels: np.ndarray, cycles: np.ndarray) -> Target:
        """Learn the cycle durations from the training rows (only used by the ``fraction`` target)."""
        self.durations_ = cycle_durations(np.asarray(labels, float), np.asarray(cycles))
        self.duration_ = float(np.median(list(self.durations_.values())))
        return self

    def transform(self, labels: np.ndarray, cycles: np.ndarray) -> np.ndarray:
        labels = np.asarray(labels, float)
        if self.kind == "ttf":
            return labels
        d = np.array([self.durations_.get(int(c), self.duration_) for c in cycles])
        return 1.0 - labels / d

    def inverse(self, pred: np.ndarray, duration: float | None = None) -> np.ndarray:
        """Predictions back to time_to_failure; ``duration`` (fraction only) replaces the training cycles'
        median duration, e.g. with a test cycle length of another lab run."""
        pred = np.asarray(pred, float)
        if self.kind == "ttf":
            return np.maximum(pred, 0.0)
        return (1.0 - np.clip(pred, 0.0, 1.0)) * (duration or self.duration_)

    def to_json(self) -> dict:
        return {"kind": self.kind, "duration": getattr(self, "duration_", None)}


def cycle_durations(labels: np.ndarray, cycles: np.ndarray) -> dict[int, float]:
    """Duration of each cycle seen in the rows: its largest label; the first cycle (partial) at least the
    median of the others."""
    if len(labels) == 0:
        raise LanlError("no training rows to learn cycle durations from")
    ids = np.unique(cycles)
    durations = {int(c): float(labels[cycles == c].max()) for c in ids}
    first = int(ids.min())
    if first == 0 and len(ids) > 1:
        others = np.median([d for c, d in durations.items() if c != first])
        durations[first] = max(durations[first], float(others))
    return durations
