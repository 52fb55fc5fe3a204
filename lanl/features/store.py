"""The feature store: one Parquet table per request under ``features/``, with a manifest beside it.

A request is (feature set, code version, source fingerprint, part, segment spec). Its key hashes all five,
so an unchanged request finds its table (a hit) and any change, including an edit to the feature code,
lands in a new folder and recomputes. Each table is written into a temporary folder that is renamed into
place only when complete::

    features/<set>-<part>-<key>/features.parquet   seg_id, start, cycle, label, then the feature columns
    features/<set>-<part>-<key>/manifest.json      the request in full, rows, columns, timing
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

import lanl
from lanl.data.segments import SegmentSpec, test_segments, train_segments
from lanl.errors import LanlError
from lanl.features.extract import DEFAULT_BATCH, KEY_COLUMNS, extract_segments
from lanl.features.featureset import FeatureSet, load
from lanl.features.runners import Runner
from lanl.fsutil import FEATURES_DIR, atomic_dir, write_parquet

DEFAULT_ROOT = FEATURES_DIR
TABLE = "features.parquet"
MANIFEST = "manifest.json"


def feature_code_version() -> str:
    """The package version plus a digest of the feature code (every .py file of lanl.features)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return f"{lanl.__version__}+{h.hexdigest()[:12]}"


@dataclass(frozen=True)
class Request:
    """What a feature table is computed from: ``segments`` names the windows (a SegmentSpec key for train,
    ``"test"`` for the test segments); ``spec`` describes them for people. ``feature_set`` is a FeatureSet
    or anything else with a ``name``, a ``hash`` and ``to_dict()`` (e.g. a tsfresh_interop.TsfreshSet)."""

    feature_set: FeatureSet
    source: str
    part: str
    segments: str
    spec: str = ""

    def identity(self, version: str) -> dict:
        return {
            "feature_set_hash": self.feature_set.hash,
            "code_version": version,
            "source_fingerprint": self.source,
            "part": self.part,
            "segments": self.segments,
        }

    def key(self, version: str) -> str:
        blob = json.dumps(self.identity(version), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class FeatureStore:
    """Feature tables under ``root`` (default ``features/``)."""

    def __init__(self, root: str | Path = DEFAULT_ROOT):
        self.root = Path(root)

    def folder(self, request: Request, version: str | None = None) -> Path:
        version = version or feature_code_version()
        return self.root / f"{request.feature_set.name}-{request.part}-{request.key(version)}"

    def load(self, request: Request) -> pd.DataFrame | None:
        """The stored table of ``request``, or None when there is none (or it is not complete)."""
        version = feature_code_version()
        folder = self.folder(request, version)
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        if manifest.get("request_key") != request.key(version):
            return None
        return pd.read_parquet(folder / TABLE)

    def save(self, request: Request, table: pd.DataFrame, seconds: float | None = None) -> Path:
        """Write ``table`` and its manifest atomically; returns the folder."""
        version = feature_code_version()
        folder = self.folder(request, version)
        manifest = {
            **request.identity(version),
            "request_key": request.key(version),
            "feature_set": request.feature_set.to_dict(),
            "segment_spec": request.spec,
            "rows": len(table),
            "n_features": len(table.columns) - len(KEY_COLUMNS),
            "seconds": seconds,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        with atomic_dir(folder) as tmp:
            write_parquet(table, tmp / TABLE)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return folder

    def get_or_compute(
        self, request: Request, compute: Callable[[], pd.DataFrame]
    ) -> tuple[pd.DataFrame, Path, bool]:
        """(table, folder, hit): the stored table when the request is unchanged, else ``compute()`` stored."""
        table = self.load(request)
        if table is not None:
            return table, self.folder(request), True
        start = time.perf_counter()
        table = compute()
        return table, self.save(request, table, time.perf_counter() - start), False


def segment_features(
    cache,
    feature_set: str | Path | FeatureSet,
    *,
    part: str = "train",
    spec=None,
    store: FeatureStore | None = None,
    runner: Runner | None = None,
    batch: int = DEFAULT_BATCH,
) -> tuple[pd.DataFrame, Path, bool]:
    """The feature table of the train windows (``spec``: a lanl.data.segments.SegmentSpec) or of the test
    segments (``part="test"``) of ``cache``, from ``store`` when unchanged: (table, folder, hit)."""
    fs = load(feature_set)
    request, table, length = segment_request(cache, fs, part, spec)
    compute = partial(
        extract_segments, cache, table, fs, runner=runner, batch=batch, length=length, desc=part
    )
    return (store or FeatureStore()).get_or_compute(request, compute)


def segment_request(cache, feature_set, part: str, spec=None) -> tuple[Request, pd.DataFrame, int | None]:
    """The store request, the segment table and the window length of ``part`` of ``cache``."""

    spec = spec or SegmentSpec()
    if part == "train":
        table, segments, described, length = (
            train_segments(cache, spec),
            spec.key(),
            spec.describe(),
            spec.length,
        )
    elif part == "test":
        table, segments, described, length = test_segments(cache), "test", "the test segments", None
    else:
        raise LanlError(f"part must be train or test, got {part!r}")
    return Request(feature_set, cache.fingerprint, part, segments, described), table, length


# ------------------------------------------------------------------- reading another store's tables
def offered_tables(source: Path) -> list[tuple[Path, dict]]:
    """(folder, manifest) of every complete feature-store folder under ``source``."""

    out = []
    for path in sorted(source.rglob(MANIFEST)):
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and (path.parent / TABLE).is_file():
            out.append((path.parent, manifest))
    return out


def find_table(offered, request, keys, version: str):
    """(table, None) for the first offered table answering ``request`` on this data, else (None, why)."""
    want = request.identity(version)
    same_set = [
        (folder, m)
        for folder, m in offered
        if all(m.get(k) == want[k] for k in ("feature_set_hash", "part", "segments"))
    ]
    if not same_set:
        return None, "none of this feature set, part and windows"
    current = [(folder, m) for folder, m in same_set if m.get("code_version") == version]
    if not current:
        found = sorted({str(m.get("code_version")) for _, m in same_set})
        return None, f"built by feature code {', '.join(found)}; this bundle carries {version}"
    for folder, _ in current:
        table = pd.read_parquet(folder / TABLE)
        if same_keys(table, keys):
            return table, None
    return None, "their seg_id, start, cycle or label differ from this data's"


def same_keys(table, keys) -> bool:
    """Whether ``table`` has exactly the rows of segment table ``keys`` (seg_id, start, cycle, label)."""
    if len(table) != len(keys) or any(c not in table.columns for c in keys.columns):
        return False
    if list(table["seg_id"].astype(str)) != list(keys["seg_id"].astype(str)):
        return False
    return all(
        np.array_equal(table[c].to_numpy(float), keys[c].to_numpy(float), equal_nan=True)
        for c in keys.columns
        if c != "seg_id"
    )
