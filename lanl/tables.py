"""Feature tables brought from elsewhere (a Kaggle dataset, a kernel's output, a colleague's CSV or Parquet).

    load_tables(train, test=None, label_column=None, sample_submission=None, quakes=None) -> FeatureTables

A train table holds one row per window: feature columns, a label column (``--label-column``; by default the
first of ``time_to_failure``, ``label``, ``target``) and optionally ``seg_id``, ``start`` (the window's first
train.csv row) and ``cycle``. A test table holds ``seg_id`` and the same feature columns. An unnamed leading
column (a saved DataFrame index) is dropped: a row number is not a feature.

The quake cycle of each train row, which the folds group by, comes from (in this order, recorded in ``info``):

1. a ``cycle`` column;
2. ``start`` and the quake rows (``quakes``: the first train.csv row after each failure; by default the 16 of the
   real competition data, a fact of it): a window whose rows span a quake mixes two cycles and is dropped
   unless ``keep_straddling``;
3. label resets in row order (the label jumps up by more than ``RESET_SECONDS``): the first window after each
   reset is taken to straddle the quake (true of contiguous windows) and dropped unless ``keep_straddling``.

Every problem is a :class:`~lanl.errors.DataError` naming the file, the row (1-based data row, the header not
counted) or column and the problem; nothing is written here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lanl.errors import DataError, LanlError
from lanl.layout import Source, read_sample_submission
from lanl.segments import SEGMENT_LENGTH

LABEL_COLUMNS = ("time_to_failure", "label", "target")
KEY_COLUMNS = ("seg_id", "start", "cycle", "label")
# First train.csv row after each of the 16 laboratory quakes of the competition's train.csv (0-based data rows).
REAL_QUAKE_ROWS = (
    5656574, 50085878, 104677356, 138772453, 187641820, 218652630, 245829585, 307838917,
    338276287, 375377848, 419368880, 461811623, 495800225, 528777115, 585568144, 621985673,
)  # fmt: skip
RESET_SECONDS = 1.0  # an upward label step larger than this is a quake; a smaller one is an error


@dataclass
class FeatureTables:
    """A train table (keys seg_id, start, cycle, label + features), its test table (seg_id + the same
    features, in submission order) and where they came from."""

    train: pd.DataFrame
    test: pd.DataFrame | None
    features: list[str]
    info: dict = field(default_factory=dict)

    @property
    def test_ids(self) -> list[str] | None:
        return None if self.test is None else list(self.test["seg_id"])

    @property
    def fingerprint(self) -> str:
        return self.info["data_fingerprint"]

    @property
    def ttf_range(self) -> tuple[float, float]:
        labels = self.train["label"].to_numpy(float)
        return float(labels.min()), float(labels.max())


def load_tables(
    train: str | Path,
    test: str | Path | None = None,
    *,
    label_column: str | None = None,
    sample_submission: str | Path | None = None,
    quakes: str | Path | None = None,
    keep_straddling: bool = False,
    window: int = SEGMENT_LENGTH,
) -> FeatureTables:
    """Read and check a train table (and test table); see the module docstring."""
    train, test = Path(train), Path(test) if test is not None else None
    raw = read_table(train)
    label = _label_column(raw, label_column, train)
    frame = raw.rename(columns={label: "label"}) if label != "label" else raw
    features = [c for c in frame.columns if c not in KEY_COLUMNS]
    _check_features(frame, features, train)
    _check_labels(frame, train)
    frame, how, dropped = _with_cycles(frame, train, _quake_rows(quakes), keep_straddling, window)
    keys = frame.assign(seg_id=_seg_ids(frame, train))
    info = {
        "tables": {
            "train": str(train),
            "test": str(test) if test else None,
            "sample_submission": str(sample_submission) if sample_submission else None,
            "label_column": label,
            "quakes": str(quakes) if quakes else None,
            "keep_straddling": keep_straddling,
        },
        "cycles_from": how,
        "straddling_dropped": dropped,
        "n_cycles": int(frame["cycle"].nunique()),
    }
    test_frame, sample_ids = None, None
    if test is not None:
        test_frame = _test_table(read_table(test), features, test)
        if sample_submission is not None:
            sample_ids = read_sample_submission(Source(Path(sample_submission)))
            test_frame = _in_submission_order(test_frame, sample_ids, test, Path(sample_submission))
    elif sample_submission is not None:
        raise LanlError("--sample-submission orders a test table: give --test-table too")
    info["data_fingerprint"] = "table:" + _digest([train, test, sample_submission])
    ordered = ["seg_id", "start", "cycle", "label"]
    train_out = keys[[c for c in ordered if c in keys.columns] + features].reset_index(drop=True)
    return FeatureTables(train_out, test_frame, features, info)


# ------------------------------------------------------------------------------------------ reading
def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet table, its unnamed index column (if any) dropped."""
    if not path.is_file():
        raise DataError(path, "no such file" if not path.exists() else "not a file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, low_memory=False)
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise DataError(
            path,
            f"not a readable {'Parquet' if path.suffix == '.parquet' else 'CSV'} table "
            f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})",
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns.size and (frame.columns[0] == "" or frame.columns[0].startswith("Unnamed: 0")):
        frame = frame.drop(columns=frame.columns[0])
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise DataError(path, f"column {dup!r} appears twice")
    if frame.empty:
        raise DataError(path, "the table has no rows")
    return frame


def _label_column(frame: pd.DataFrame, given: str | None, path: Path) -> str:
    if given is not None:
        if given not in frame.columns:
            raise DataError(path, f"no label column {given!r} (columns: {_some(frame.columns)})")
        return given
    for name in LABEL_COLUMNS:
        if name in frame.columns:
            return name
    raise DataError(
        path,
        f"no label column: expected one of {', '.join(LABEL_COLUMNS)} or --label-column NAME "
        f"(columns: {_some(frame.columns)})",
    )


def _cell(value):
    """A table cell as a plain Python value (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _some(columns, n: int = 8) -> str:
    columns = list(columns)
    return ", ".join(columns[:n]) + (f", ... ({len(columns)} in all)" if len(columns) > n else "")


def _check_features(frame: pd.DataFrame, features: list[str], path: Path) -> None:
    """Every feature column numeric, finite; none all-NaN."""
    if not features:
        raise DataError(path, "the table has no feature columns")
    for col in features:
        values = frame[col]
        if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
            bad = pd.to_numeric(values, errors="coerce").isna() & values.notna()
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1 if bad.any() else 1
            raise DataError(path, f"column {col!r} is not numeric (row {row}: {_cell(values.iloc[row - 1])!r})")
        x = values.to_numpy(np.float64)
        if np.isnan(x).all():
            raise DataError(path, f"column {col!r} holds no values (all NaN)")
        bad = ~np.isfinite(x)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                path,
                f"column {col!r}, row {row + 1}: {x[row]} ({int(bad.sum())} non-finite value(s) in the "
                "column; fill or drop them before training)",
            )


def _check_labels(frame: pd.DataFrame, path: Path) -> None:
    y = pd.to_numeric(frame["label"], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(y)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            path,
            f"row {row + 1}: the label is {_cell(frame['label'].iloc[row])!r} (not a finite number; "
            f"{int(bad.sum())} such rows)",
        )
    if (y < 0).any():
        row = int(np.flatnonzero(y < 0)[0])
        raise DataError(path, f"row {row + 1}: negative time_to_failure {y[row]}")
    frame["label"] = y


def _seg_ids(frame: pd.DataFrame, path: Path) -> pd.Series:
    if "seg_id" not in frame.columns:
        return pd.Series([f"w{i}" for i in frame.index], index=frame.index)
    ids = frame["seg_id"].astype(str)
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(path, f"row {row + 1}: duplicate seg_id {ids.iloc[row]!r}")
    return ids


# ------------------------------------------------------------------------------------------- cycles
def _quake_rows(quakes: str | Path | None) -> np.ndarray:
    if quakes is None:
        return np.asarray(REAL_QUAKE_ROWS, np.int64)
    path = Path(quakes)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DataError(path, f"cannot read the quake rows ({exc.strerror})") from None
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for token in line.replace(",", " ").split():
            if not token.isdigit():
                if lineno == 1 and not rows:
                    continue  # a header
                raise DataError(path, f"not a row number: {token!r}", line=lineno)
            rows.append(int(token))
    if not rows or np.any(np.diff(rows) <= 0):
        raise DataError(path, "expected increasing train.csv row numbers, one per quake")
    return np.asarray(rows, np.int64)


def _with_cycles(frame, path, quakes, keep_straddling, window):
    """(frame with a cycle column and straddling windows handled, how the cycles were found, rows dropped)."""
    if "cycle" in frame.columns:
        cycle = pd.to_numeric(frame["cycle"], errors="coerce")
        if cycle.isna().any() or (cycle != cycle.round()).any():
            row = int(np.flatnonzero((cycle.isna() | (cycle != cycle.round())).to_numpy())[0])
            raise DataError(path, f"row {row + 1}: cycle {_cell(frame['cycle'].iloc[row])!r} is not an integer")
        return frame.assign(cycle=cycle.astype(np.int64)), "cycle column", 0
    if "start" in frame.columns:
        start = pd.to_numeric(frame["start"], errors="coerce")
        if start.isna().any() or (start < 0).any():
            row = int(np.flatnonzero((start.isna() | (start < 0)).to_numpy())[0])
            raise DataError(path, f"row {row + 1}: start {_cell(frame['start'].iloc[row])!r} is not a row number")
        first = np.searchsorted(quakes, start.to_numpy(np.int64), side="right")
        last = np.searchsorted(quakes, start.to_numpy(np.int64) + window - 1, side="right")
        how = (
            f"start column and {len(quakes)} quake rows ({'given' if len(quakes) != 16 else 'the real data'})"
        )
        return _drop(frame.assign(cycle=last.astype(np.int64)), first != last, keep_straddling, how)
    y = frame["label"].to_numpy(np.float64)
    step = np.diff(y)
    glitch = (step > 0) & (step <= RESET_SECONDS)
    if glitch.any():
        row = int(np.flatnonzero(glitch)[0]) + 1
        raise DataError(
            path,
            f"row {row + 1}: the label rises from {y[row - 1]:.6g} to {y[row]:.6g} without a quake: "
            "with no cycle or start column the rows must be in time order (add a cycle column)",
        )
    resets = np.r_[False, step > RESET_SECONDS]
    cycle = np.cumsum(resets)
    return _drop(frame.assign(cycle=cycle.astype(np.int64)), resets, keep_straddling, "label resets")


def _drop(frame: pd.DataFrame, straddling: np.ndarray, keep: bool, how: str):
    n = int(straddling.sum())
    if keep or not n:
        return frame, how, 0
    return frame.loc[~straddling], how, n


# --------------------------------------------------------------------------------------------- test
def _test_table(frame: pd.DataFrame, features: list[str], path: Path) -> pd.DataFrame:
    if "seg_id" not in frame.columns:
        raise DataError(path, f"a test table needs a seg_id column (columns: {_some(frame.columns)})")
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise DataError(path, f"missing training feature column(s): {_some(missing)}")
    ids = frame["seg_id"].astype(str)
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(path, f"row {row + 1}: duplicate seg_id {ids.iloc[row]!r}")
    _check_features(frame, features, path)
    return pd.concat([ids.rename("seg_id"), frame[features]], axis=1).reset_index(drop=True)


def _in_submission_order(test: pd.DataFrame, sample_ids: list[str], path: Path, sample: Path):
    have = set(test["seg_id"])
    missing = [s for s in sample_ids if s not in have]
    extra = sorted(have - set(sample_ids))
    if missing or extra:
        raise DataError(
            path,
            f"seg_ids differ from {sample}: {len(missing)} listed there are missing here "
            f"(e.g. {', '.join(missing[:3]) or '-'}), {len(extra)} here are not listed there "
            f"(e.g. {', '.join(extra[:3]) or '-'})",
        )
    return test.set_index("seg_id").loc[sample_ids].reset_index()


def _digest(paths) -> str:
    """Content digest of the given files (size and bytes): the same tables are the same data wherever
    they lie."""
    h = hashlib.blake2b(digest_size=8)
    for p in paths:
        if p is None:
            h.update(b"-")
            continue
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        h.update(b"|")
    return h.hexdigest()
