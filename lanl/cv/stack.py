"""Stacking and blending: a level-2 model on the out-of-fold predictions of runs scored on the same folds.

    stack_runs([run_dir, ...], method="blend") -> runs/<name>/   (what `lanl stack` runs; a run folder)
    Stacker(method)                            the level-2 estimator (lanl.models.stacker: its METHODS)

No leakage: the level-2 OOF prediction of fold k comes from a level-2 model fitted on the other folds' OOF rows
only (the CV loop of :func:`lanl.cv.train.cross_validate`, on the inputs' own fold artifact); its test prediction
is that model applied to the inputs' averaged test predictions, and the stack's ``mean`` averages the folds.
Inputs must share folds (``folds_id``), data (``data_fingerprint``) and windows, and carry test predictions;
anything else is refused before a file is written. The stack's folder has the files of any run
(:mod:`lanl.cv.runs`), with ``"model": "stack"`` and ``"inputs"`` in its config, so ``lanl report`` and
``lanl submit`` read it unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lanl.cv.runs import Run, check_finite, check_run_name, code_version, write_run
from lanl.cv.train import CVResult, cross_validate, cv_metrics, matched_metrics
from lanl.data.segments import KEY_COLUMNS
from lanl.errors import LanlError
from lanl.models.base import check_params, get_params_json
from lanl.models.stacker import METHODS, Stacker

__all__ = ["METHODS", "Level1", "Stacker", "check_inputs", "read_inputs", "stack_runs"]


# ------------------------------------------------------------------------------------------- the inputs
@dataclass
class Level1:
    """The inputs' predictions side by side: OOF (rows of ``table``) and test (rows of ``test_ids``)."""

    runs: list[Run]
    table: pd.DataFrame  # seg_id, start, cycle, label of the first run's OOF, in its order
    oof: np.ndarray  # (rows, runs)
    test_ids: list[str]
    test: np.ndarray  # (test segments, runs): each run's mean test prediction

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]


def read_inputs(run_dirs: list[str | Path]) -> Level1:
    """Open the runs and line up their predictions; refuse runs that cannot be stacked (see check_inputs)."""
    runs = [Run.open(p) for p in run_dirs]
    check_inputs(runs)
    first = runs[0]
    table = first.oof[[c for c in KEY_COLUMNS if c in first.oof.columns]].reset_index(drop=True)
    oof = np.column_stack([_aligned(r.oof, table["seg_id"], "pred") for r in runs])
    test_ids = list(first.test_pred["seg_id"])
    test = np.column_stack([_aligned(r.test_pred, pd.Series(test_ids), "mean") for r in runs])
    return Level1(runs, table, oof, test_ids, test)


def _aligned(frame: pd.DataFrame, ids: pd.Series, column: str) -> np.ndarray:
    return frame.set_index("seg_id").loc[ids.to_numpy(), column].to_numpy(np.float64)


def check_inputs(runs: list[Run]) -> None:
    """Two or more distinct runs, each with test predictions, on the same folds, data and windows."""
    names = [r.name for r in runs]
    if len(runs) < 2 or len(set(names)) != len(names):
        raise LanlError(f"stack two or more different runs (got {', '.join(names) or 'none'})")
    bare = [r.name for r in runs if r.test_pred is None]
    if bare:
        raise LanlError(
            f"{', '.join(bare)}: no test predictions (test_pred.parquet); a stack predicts the test set from "
            "its inputs' test predictions (train the runs on data with test segments)"
        )
    for key, what in (("folds_id", "folds"), ("data_fingerprint", "data"), ("segments", "windows")):
        _same(runs, lambda r, key=key: r.config.get(key), what)
    _same(runs, lambda r: _digest(r.oof.sort_values("seg_id")[["seg_id", "label", "fold"]]), "windows")
    _same(runs, lambda r: _digest(r.test_pred[["seg_id"]].sort_values("seg_id")), "test segments")
    for run in runs:
        check_finite(run.oof, "pred", run.root / "oof.parquet")
        check_finite(run.test_pred, "mean", run.root / "test_pred.parquet")


def _same(runs: list[Run], value, what: str) -> None:
    values = [value(r) for r in runs]
    if any(v != values[0] for v in values[1:]):
        shown = "; ".join(f"{r.name}: {_short(v)}" for r, v in zip(runs, values, strict=True))
        raise LanlError(
            f"the runs were built on different {what} ({shown}); a stack needs inputs made on the same "
            "data, windows and folds (lanl train with the same [folds] and [segments])"
        )


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _digest(frame: pd.DataFrame) -> str:
    values = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy()
    return hashlib.blake2b(values.tobytes(), digest_size=8).hexdigest()


# ---------------------------------------------------------------------------------------------- the run
def stack_runs(
    run_dirs: list[str | Path],
    *,
    method: str = "blend",
    name: str | None = None,
    runs_dir: str | Path | None = None,
    seed: int = 0,
    alpha: float = 1.0,
) -> Path:
    """Cross-validate a level-2 ``method`` on the runs' OOF predictions (their own folds) and write its run
    folder (default ``<runs_dir>/stack-<method>-<hash of the inputs>``, beside the first input)."""

    params = check_params(Stacker, {"method": method, "alpha": alpha, "seed": seed}, "stack parameters")
    stacker = Stacker(**params)
    level1 = read_inputs(run_dirs)
    name = check_run_name(name or default_name(method, level1.names))
    if name in level1.names:
        raise LanlError(f"the stack's name {name!r} is one of its inputs; give another --name")
    run_dir = Path(runs_dir if runs_dir is not None else level1.runs[0].root.parent) / name
    folds = level1.runs[0].folds
    result: CVResult = cross_validate(
        stacker, level1.oof, level1.table, folds, X_test=level1.test, test_ids=level1.test_ids, refit=True
    )
    metrics = {**cv_metrics(result, folds), "inputs": [_input_metrics(r) for r in level1.runs]}
    matched = {tuple(r.metrics.get("matched_cycles") or ()) for r in level1.runs}
    if len(matched) == 1 and () not in matched:  # every input scored on the same cycles closest to test
        metrics.update(matched_metrics(result.oof, list(matched.pop())))
    if method != "lgbm":
        metrics["weights"] = _mean_weights(result, level1.names)
    record = stack_record(level1, stacker, name, folds.id)
    return write_run(run_dir, record, metrics, result, folds, suffix=".json", history=False)


def default_name(method: str, names: list[str]) -> str:
    digest = hashlib.blake2b(json.dumps([method, names]).encode(), digest_size=4).hexdigest()
    return f"stack-{method}-{digest}"


def _input_metrics(run: Run) -> dict[str, Any]:
    return {"run": run.name, "model": run.model, "cv_mae": run.metrics["cv_mae"]}


def _mean_weights(result, names: list[str]) -> dict[str, Any]:
    coef = np.mean([r.model.coef_ for r in result.folds], axis=0)
    intercept = float(np.mean([r.model.intercept_ for r in result.folds]))
    return {**dict(zip(names, coef.tolist(), strict=True)), "intercept": intercept}


def stack_record(level1: Level1, stacker: Stacker, name: str, folds_id: str) -> dict[str, Any]:
    """The stack's config.json: method, inputs, and the provenance its inputs share."""
    first = level1.runs[0].config
    return {
        "model": "stack",
        "method": stacker.method,
        "name": name,
        "inputs": level1.names,
        "input_dirs": [str(r.root) for r in level1.runs],
        "seed": stacker.seed,
        "target": "ttf",
        "folds": first.get("folds"),
        "segments": first.get("segments"),
        "params": get_params_json(stacker),
        "feature_set": "oof:" + "+".join(level1.names),
        "code_version": code_version(),
        "folds_id": folds_id,
        "data_fingerprint": first.get("data_fingerprint"),
        "data": first.get("data"),
        "cache_dir": next((r.config["cache_dir"] for r in level1.runs if r.config.get("cache_dir")), None),
        "tables": first.get("tables"),
    }
