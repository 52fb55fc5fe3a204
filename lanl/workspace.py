"""The workspace: what one piece of work reads and where it writes, made once and handed to every stage.

A :class:`Workspace` holds the open signal cache of the data (ingested once, however many models use it), the
runs folder, the feature store, the submissions folder and the one runner that computes features (``jobs``
processes). The CLI makes it at its edge; library callers make one the same way::

    with Workspace.open("data", jobs=2) as ws:    # runs/, features/, submissions/ here (root= elsewhere)
        train(ws, config_a)
        train(ws, config_b)   # same cache, same worker pool: nothing ingested or started twice

Used as a context manager, a process runner's pool starts on the first feature table and serves every later
one until the block ends; outside a ``with`` block each table starts and stops its own pool. A workspace
pickles as its paths (a spawned tuning worker opens the same cache and makes its own runner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lanl.data.cache import SignalCache
from lanl.data.ingest import IngestResult, ingest
from lanl.errors import LanlError
from lanl.features.runners import Runner, make_runner
from lanl.features.store import FeatureStore
from lanl.fsutil import FEATURES_DIR, RUNS_DIR, SUBMISSIONS_DIR


@dataclass
class Workspace:
    """The open cache (None for work on feature tables), the folders of runs, feature tables and submissions,
    and the number of feature processes (0: one per core)."""

    cache: SignalCache | None = None
    runs: Path = RUNS_DIR
    features: Path = FEATURES_DIR
    submissions: Path = SUBMISSIONS_DIR
    jobs: int = 1
    data: Path | None = None  # the data folder the cache was made from, as given (recorded in run configs)
    ingest: IngestResult | None = None  # what opening the data did (None: the cache was opened as it was)
    runner: Runner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.runs, self.features = Path(self.runs), Path(self.features)
        self.submissions = Path(self.submissions)
        self.data = Path(self.data) if self.data is not None else None
        self.runner = make_runner(self.jobs)

    @classmethod
    def open(
        cls,
        data: str | Path | None = None,
        cache_dir: str | Path | None = None,
        *,
        root: str | Path = ".",
        runs: str | Path | None = None,
        features: str | Path | None = None,
        submissions: str | Path | None = None,
        jobs: int = 1,
    ) -> Workspace:
        """The workspace of DATA: its cache opened once (ingested first when missing or stale; ``cache_dir``
        alone opens that cache). With neither, a workspace without data (feature tables, stacking). The
        folders default to runs/, features/ and submissions/ under ``root``."""
        root = Path(root)
        folders = {
            "runs": Path(runs) if runs is not None else root / RUNS_DIR,
            "features": Path(features) if features is not None else root / FEATURES_DIR,
            "submissions": Path(submissions) if submissions is not None else root / SUBMISSIONS_DIR,
        }
        if data is None:
            cache = SignalCache.open(cache_dir) if cache_dir is not None else None
            return cls(cache, **folders, jobs=jobs)
        opened = ingest(data, cache_dir)
        return cls(opened.cache, **folders, jobs=jobs, data=data, ingest=opened)

    @property
    def signal(self) -> SignalCache:
        """The signal cache; a clear error where the work needs the raw data and the workspace has none."""
        if self.cache is None:
            raise LanlError("give a data folder (or --cache DIR)")
        return self.cache

    @property
    def store(self) -> FeatureStore:
        return FeatureStore(self.features)

    def __reduce__(self):
        cache_dir = self.cache.root if self.cache is not None else None
        folders = (self.runs, self.features, self.submissions)
        return _reopen, (cache_dir, folders, self.jobs, self.data)

    def __enter__(self) -> Workspace:
        self.runner.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.runner.__exit__(*exc)


def _reopen(cache_dir, folders, jobs, data) -> Workspace:
    runs, features, submissions = folders
    cache = SignalCache.open(cache_dir) if cache_dir is not None else None
    return Workspace(cache, runs, features, submissions, jobs, data)
