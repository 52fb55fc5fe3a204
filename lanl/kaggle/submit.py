"""Submissions: a run's test predictions, validated, written atomically, and recorded in a ledger.

``lanl submit RUN`` aligns the run's averaged test predictions to sample_submission order, checks them (the
exact seg_id set and order, one finite value per segment) and clips them to the range of time_to_failure seen in
training, then writes ``submissions/<name>.csv`` and appends a line to ``submissions/ledger.csv``: time, file,
runs, CV MAE, config hash, code version, data fingerprint and the file's sha256. ``--kaggle MESSAGE`` also
uploads the file through the Kaggle API; offline it says so and keeps the local file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lanl.cv.runs import Run, check_finite, code_version
from lanl.data.cache import SignalCache
from lanl.data.kaggle_api import COMPETITION, authenticated_api
from lanl.errors import LanlError, OfflineError
from lanl.fsutil import SUBMISSIONS_DIR, sha256_file, write_text_atomic

DEFAULT_DIR = SUBMISSIONS_DIR
LEDGER = "ledger.csv"
LEDGER_FIELDS = [
    "time",
    "file",
    "runs",
    "cv_mae",
    "config_hash",
    "code_version",
    "data_fingerprint",
    "rows",
    "clipped",
    "sha256",
    "kaggle",
]
REAL_TEST_ROWS = 2_624


@dataclass
class Submission:
    path: Path
    frame: pd.DataFrame
    clipped: int
    ledger_row: dict


def align_predictions(run: Run, sample_ids: list[str]) -> pd.DataFrame:
    """The run's averaged test predictions in sample_submission order, as ``seg_id,time_to_failure``."""
    pred = run.test_pred
    if pred is None:
        raise LanlError(f"{run.root}: the run has no test predictions (test_pred.parquet); nothing to submit")
    dup = pred["seg_id"][pred["seg_id"].duplicated()]
    if len(dup):
        raise LanlError(f"{run.root}: duplicate test predictions for {', '.join(dup[:5])}")
    have = set(pred["seg_id"])
    missing = [s for s in sample_ids if s not in have]
    extra = sorted(have - set(sample_ids))
    if missing or extra:
        raise LanlError(
            f"{run.root}: test predictions do not match sample_submission "
            f"({len(missing)} missing, e.g. {missing[:3]}; {len(extra)} extra, e.g. {extra[:3]})"
        )
    check_finite(pred, "mean", run.root / "test_pred.parquet")
    values = pred.set_index("seg_id").loc[sample_ids, "mean"].to_numpy(dtype=np.float64)
    return pd.DataFrame({"seg_id": sample_ids, "time_to_failure": values})


def validate(
    frame: pd.DataFrame, sample_ids: list[str], ttf_range: tuple[float, float]
) -> tuple[pd.DataFrame, int]:
    """Check ids, order and finiteness; clip to ``ttf_range``. Returns (clipped frame, values clipped)."""
    if list(frame.columns) != ["seg_id", "time_to_failure"]:
        raise LanlError(f"submission columns must be seg_id,time_to_failure, got {list(frame.columns)}")
    if list(frame["seg_id"]) != list(sample_ids):
        raise LanlError("submission seg_ids differ from sample_submission (set or order)")
    values = frame["time_to_failure"].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        ids = frame["seg_id"][bad].tolist()
        raise LanlError(f"{bad.sum()} non-finite predictions, e.g. {ids[:5]}")
    lo, hi = ttf_range
    clipped = np.clip(values, lo, hi)
    return frame.assign(time_to_failure=clipped), int((clipped != values).sum())


def train_ttf_range(cache: SignalCache) -> tuple[float, float]:
    """Smallest and largest time_to_failure of the training data (over every row, chunked)."""
    lo, hi = np.inf, -np.inf
    step = 1 << 24
    for a in range(0, cache.rows, step):
        part = np.asarray(cache.ttf[a : a + step])
        lo, hi = min(lo, float(part.min())), max(hi, float(part.max()))
    return lo, hi


def submission_csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.6f", lineterminator="\n")
    return buf.getvalue()


def submit(
    run_path: str | Path,
    cache: SignalCache,
    *,
    name: str | None = None,
    out_dir: str | Path = DEFAULT_DIR,
    kaggle_message: str | None = None,
) -> Submission:
    """Validate and write the run's submission and its ledger line; optionally upload it to Kaggle."""
    run = Run.open(run_path)
    _check_same_data(run, cache.fingerprint, cache.root)
    if not cache.test_ids:
        raise LanlError(f"{cache.root}: the data has no test segments / sample_submission")
    return write_submission(run, cache.test_ids, train_ttf_range(cache), name, out_dir, kaggle_message)


def submit_tables(
    run_path: str | Path,
    tables,
    *,
    name: str | None = None,
    out_dir: str | Path = DEFAULT_DIR,
    kaggle_message: str | None = None,
) -> Submission:
    """:func:`submit` for a run trained on feature tables (:class:`lanl.data.tables.FeatureTables`): the test
    table's order (or its sample_submission's), clipped to the train table's label range."""
    run = Run.open(run_path)
    _check_same_data(run, tables.fingerprint, "these tables (train, test, sample submission, as read)")
    if tables.test is None:
        raise LanlError("the tables have no test table (--test-table): nothing to submit")
    return write_submission(run, tables.test_ids, tables.ttf_range, name, out_dir, kaggle_message)


def write_submission(run: Run, sample_ids, ttf_range, name, out_dir, kaggle_message) -> Submission:
    frame, clipped = validate(align_predictions(run, sample_ids), sample_ids, ttf_range)
    out_dir = Path(out_dir)
    path = out_dir / f"{name or run.name}.csv"
    write_text_atomic(path, submission_csv(frame))
    row = _ledger_row(run, path, len(frame), clipped)
    try:
        if kaggle_message is not None:
            row["kaggle"] = "failed"
            _upload(path, kaggle_message)
            row["kaggle"] = "submitted"
    finally:  # the local file and its ledger line stay even when the upload fails
        append_ledger(out_dir / LEDGER, row)
    return Submission(path, frame, clipped, row)


def _check_same_data(run: Run, fingerprint: str, where) -> None:
    built_on = run.config.get("data_fingerprint")
    if built_on and built_on != fingerprint:
        raise LanlError(
            f"{run.root} was trained on other data (fingerprint {built_on}) than {where} "
            f"({fingerprint}); give the data the run was built on"
        )


def _ledger_row(run: Run, path: Path, rows: int, clipped: int) -> dict:
    inputs = run.config.get("inputs") or [run.name]
    cfg = {k: v for k, v in run.config.items() if k not in ("code_version",)}
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "file": path.name,
        "runs": " ".join(inputs) if isinstance(inputs, list) else str(inputs),
        "cv_mae": f"{run.metrics['cv_mae']:.5f}",
        "config_hash": hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:12],
        "code_version": code_version(),
        "data_fingerprint": run.config.get("data_fingerprint", ""),
        "rows": rows,
        "clipped": clipped,
        "sha256": sha256_file(path),
        "kaggle": "",
    }


def append_ledger(path: Path, row: dict) -> None:
    """Append one row to the ledger CSV (rewritten atomically, so a crash never leaves half a line)."""
    old = path.read_text() if path.exists() else ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LEDGER_FIELDS, lineterminator="\n")
    if not old:
        writer.writeheader()
    writer.writerow(row)
    write_text_atomic(path, old + buf.getvalue())


def read_ledger(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str)


def _upload(path: Path, message: str) -> None:
    """Submit through the Kaggle API; an OfflineError (with the local file kept) when that is impossible."""

    hint = f"The local file is kept: {path}. Upload it by hand on the competition's Submit page."
    api = authenticated_api("submit", hint)
    try:
        api.competition_submit(str(path), message, COMPETITION)
    except Exception as exc:
        raise OfflineError(f"Could not submit through the Kaggle API ({exc}). {hint}") from None
