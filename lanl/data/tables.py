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

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lanl.data.layout import Source, read_sample_submission
from lanl.data.real import REAL_QUAKE_ROWS
from lanl.data.segments import KEY_COLUMNS, SEGMENT_LENGTH
from lanl.errors import DataError, LanlError

LABEL_COLUMNS = ("time_to_failure", "label", "target")
RESET_SECONDS = 1.0  # an upward label step larger than this is a quake; a smaller one is an error
MAX_ROW = 1 << 40  # far beyond any train.csv (629,145,480 rows), within int64 arithmetic
MAX_CYCLE = 1 << 31
FLOAT32_MAX = float(np.finfo(np.float32).max)  # some models (the adversarial trees among them) run in float32
NAME_CHARS = '[]{}":,'  # LightGBM refuses these in feature names


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
    train, test = Path(train).resolve(), Path(test).resolve() if test is not None else None
    sample = Path(sample_submission).resolve() if sample_submission is not None else None
    quakes = Path(quakes).resolve() if quakes is not None else None
    raw = read_table(train)
    label = _label_column(raw, label_column, train)
    frame = raw.rename(columns={label: "label"}) if label != "label" else raw
    features = [c for c in frame.columns if c not in KEY_COLUMNS]
    _check_features(frame, features, train)
    _check_labels(frame, train)
    if quakes is not None and ("cycle" in frame.columns or "start" not in frame.columns):
        why = "it has a cycle column" if "cycle" in frame.columns else "it has no start column"
        raise LanlError(f"--quakes places windows by their start row; it does not apply to {train}: {why}")
    keys = frame.assign(
        seg_id=_seg_ids(frame, train)
    )  # checked before any row is dropped: rows as in the file
    keys, how, dropped = _with_cycles(keys, train, _quake_rows(quakes), keep_straddling, window)
    info = {
        "tables": {
            "train": str(train),
            "test": str(test) if test else None,
            "sample_submission": str(sample) if sample else None,
            "label_column": label,
            "quakes": str(quakes) if quakes else None,
            "keep_straddling": keep_straddling,
        },
        "cycles_from": how,
        "straddling_dropped": dropped,
        "n_cycles": int(keys["cycle"].nunique()),
    }
    test_frame, sample_ids = None, None
    if test is not None:
        test_frame = _test_table(read_table(test), features, test)
        if sample is not None:
            if not sample.is_file():
                raise DataError(sample, "no such file" if not sample.exists() else "not a file")
            sample_ids = read_sample_submission(Source(sample))
            test_frame = _in_submission_order(test_frame, sample_ids, test, sample)
    elif sample is not None:
        raise LanlError("--sample-submission orders a test table: give --test-table too")
    # the same bytes read the same way are the same data, wherever they lie
    options = f"{label}|{keep_straddling}|{window}".encode()
    info["data_fingerprint"] = "table:" + _digest([train, test, sample, quakes], options)
    ordered = list(KEY_COLUMNS)
    train_out = keys[[c for c in ordered if c in keys.columns] + features].reset_index(drop=True)
    return FeatureTables(train_out, test_frame, features, info)


# ------------------------------------------------------------------------------------------ reading
def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet table, its unnamed index column (if any) dropped."""
    if not path.is_file():
        raise DataError(path, "no such file" if not path.exists() else "not a file")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        if parquet:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, low_memory=False)
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise DataError(
            path,
            f"not a readable {'Parquet' if parquet else 'CSV'} table "
            f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})",
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns.size and (frame.columns[0] == "" or frame.columns[0].startswith("Unnamed: 0")):
        frame = frame.drop(columns=frame.columns[0])
    names = list(frame.columns) if parquet else _csv_header(path)
    dup = next((c for i, c in enumerate(names) if c in names[:i]), None)
    if dup is not None:
        raise DataError(path, f"column {dup!r} appears twice")
    if frame.empty:
        raise DataError(path, "the table has no rows")
    return frame


def _csv_header(path: Path) -> list[str]:
    """The CSV's column names as written (pandas renames a repeated name to ``name.1``), less an unnamed
    leading index column."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        names = [h.strip() for h in next(csv.reader(f), [])]
    return names[1:] if names and not names[0] else names


def _label_column(frame: pd.DataFrame, given: str | None, path: Path) -> str:
    """The label column; any other column named like a label is refused (as a feature it would leak)."""
    if given is not None and given not in frame.columns:
        raise DataError(path, f"no label column {given!r} (columns: {_some(frame.columns)})")
    found = [name for name in LABEL_COLUMNS if name in frame.columns]
    label = given or (found[0] if found else None)
    others = [name for name in LABEL_COLUMNS if name in frame.columns and name != label]
    if label is not None and others:
        raise DataError(
            path,
            f"columns {', '.join([label, *others])} all look like labels: keep only the label ({label!r}) "
            "or rename the others (as features they would leak the answer)",
        )
    if label is not None:
        return label
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
    """Every feature column named as models accept, numeric, finite and within float32; none all-NaN."""
    if not features:
        raise DataError(path, "the table has no feature columns")
    _check_names(features, path)
    for col in features:
        values = frame[col]
        if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
            bad = pd.to_numeric(values, errors="coerce").isna() & values.notna()
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1 if bad.any() else 1
            raise DataError(
                path, f"column {col!r} is not numeric (row {row}: {_cell(values.iloc[row - 1])!r})"
            )
        x = values.to_numpy(np.float64)
        if np.isnan(x).all():
            raise DataError(path, f"column {col!r} holds no values (all NaN)")
        bad = ~np.isfinite(x) | (np.abs(x) > FLOAT32_MAX)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                path,
                f"column {col!r}, row {row + 1}: {x[row]} ({int(bad.sum())} non-finite or beyond-float32 "
                "value(s) in the column; fill or drop them before training)",
            )


def _check_names(features: list[str], path: Path) -> None:
    """Names every model takes: LightGBM refuses JSON's special characters, and names that are equal once
    its spaces become underscores."""
    seen: dict[str, str] = {}
    for col in features:
        bad = sorted(set(col) & set(NAME_CHARS))
        if bad:
            raise DataError(
                path, f"column {col!r}: feature names cannot hold {' '.join(bad)} (LightGBM refuses them)"
            )
        key = "_".join(col.split())
        if key in seen:
            raise DataError(
                path, f"columns {seen[key]!r} and {col!r} are one name to LightGBM (spaces become _)"
            )
        seen[key] = col


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
    return _unique_ids(frame["seg_id"], path)


def _unique_ids(column: pd.Series, path: Path) -> pd.Series:
    """The seg_id column as text; a missing or repeated id is a DataError naming its row."""
    _no_missing_ids(column, path)
    ids = column.astype(str)
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(path, f"row {row + 1}: duplicate seg_id {ids.iloc[row]!r}")
    return ids


def _no_missing_ids(ids: pd.Series, path: Path) -> None:
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise DataError(path, f"row {row + 1}: no seg_id")


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
            try:
                row = int(token)
            except ValueError:
                if lineno == 1 and not rows:
                    continue  # a header
                raise DataError(path, f"not a row number: {token!r}", line=lineno) from None
            if not 0 <= row < MAX_ROW:
                raise DataError(path, f"row number {token} out of range (0 .. {MAX_ROW - 1})", line=lineno)
            rows.append(row)
    if not rows or np.any(np.diff(rows) <= 0):
        raise DataError(path, "expected increasing train.csv row numbers, one per quake")
    return np.asarray(rows, np.int64)


def _with_cycles(frame, path, quakes, keep_straddling, window):
    """(frame with a cycle column and straddling windows handled, how the cycles were found, rows dropped)."""
    if "cycle" in frame.columns:
        cycle = _whole_numbers(frame, "cycle", path, MAX_CYCLE, "a cycle number")
        return frame.assign(cycle=cycle), "cycle column", 0
    if "start" in frame.columns:
        start = pd.Series(
            _whole_numbers(frame, "start", path, MAX_ROW, "a train.csv row number"), index=frame.index
        )
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


def _whole_numbers(frame: pd.DataFrame, column: str, path: Path, limit: int, what: str) -> np.ndarray:
    """The column as int64, each value a whole number in [0, limit); else a DataError naming the row."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values >= limit)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cell = _cell(frame[column].iloc[row])
        raise DataError(path, f"row {row + 1}: {column} {cell!r} is not {what} (0 .. {limit - 1})")
    return values.astype(np.int64)


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
    ids = _unique_ids(frame["seg_id"], path)
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


def _digest(paths, options: bytes = b"") -> str:
    """Content digest of the given files (their bytes) and the options they were read with: the same tables
    read the same way are the same data wherever they lie."""
    h = hashlib.blake2b(options, digest_size=8)
    for p in paths:
        if p is None:
            h.update(b"-")
            continue
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        h.update(b"|")
    return h.hexdigest()
