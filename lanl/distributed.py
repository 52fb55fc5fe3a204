"""Running the package's work on a dask.distributed cluster.

    connect(scheduler, n_workers=None)         -> context manager yielding a distributed.Client
    parse_scheduler(value)                     -> "local" or "tcp://HOST:PORT" (LanlError otherwise)
    DaskRunner(scheduler, n_jobs, cache_location) -> the runner interface of lanl.features.runners, on Dask
    cluster_map(client, func, tasks, ...)      -> what DaskRunner.map runs (results in task order)
    read_windows(location, fingerprint, ...)   -> int16 windows, read where the task runs
    check_worker_cache(client, location, fp)   -> LanlError unless every worker can read the cache
    blas_env()                                 -> BLAS thread counts a LocalCluster's workers start with

``scheduler`` is ``"local"`` (a LocalCluster of worker processes on 127.0.0.1, one thread each, no dashboard;
closed on exit) or the address of a running scheduler (``tcp://HOST:PORT``, started with ``dask scheduler``
and ``dask worker``).

Signal windows never travel through the scheduler: a feature block task carries the cache location, the
cache fingerprint, the segment ids and start rows (a few hundred bytes; the feature set is sent to every
worker once per map) and the worker reads the windows itself. The location is a path (memory-mapped, as
``lanl.data.cache`` does; on a cluster it must be storage every worker mounts at that path) or an fsspec URL
(``s3://bucket/lanl-cache``, ``gs://...``, ``file:///shared/...``; read by byte ranges, the remote protocol's
package, e.g. ``s3fs``, installed on the workers). tsfresh sets run through tsfresh's own Dask distributor
(``CacheDaskDistributor``, a ``ClusterDaskDistributor`` on the same client) whose chunks carry window
references that the workers resolve the same way.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lanl.data.cache import FORMAT_VERSION, MANIFEST, SignalCache, read_manifest
from lanl.data.segments import SEGMENT_LENGTH, load_block
from lanl.errors import LanlError
from lanl.extras import require
from lanl.features.extract import compute_block
from lanl.features.runners import in_order, tune_allocator

LOCAL = "local"
SCHEDULER_RE = re.compile(r"^(tcp|tls|ucx|inproc)://[^\s/]+:\d+/?$")
CONNECT_TIMEOUT = 30  # seconds to reach a scheduler or start a LocalCluster


# ------------------------------------------------------------------------------------------- connecting
def parse_scheduler(value: str) -> str:
    """``"local"`` or a scheduler address ``tcp://HOST:PORT``; anything else is a LanlError."""
    value = value.strip()
    if value == LOCAL or SCHEDULER_RE.match(value):
        return value.rstrip("/")
    raise LanlError(
        f"--scheduler must be 'local' or a scheduler address like tcp://10.0.0.5:8786, got {value!r}"
    )


def _dask(module: str):
    """``module`` of the 'dask' extra, or a MissingExtra naming it."""
    return require(module, "dask", "running on Dask (--scheduler, DaskRunner, the lgbm_dask model)")


@contextmanager
def connect(scheduler: str = LOCAL, *, n_workers: int | None = None, timeout: float = CONNECT_TIMEOUT):
    """A Client on ``scheduler``: a LocalCluster of ``n_workers`` processes (default: one per core) on
    loopback for ``"local"``, else the running cluster at that address. Closes what it opened."""
    Client = _dask("distributed").Client

    scheduler = parse_scheduler(scheduler)
    if scheduler != LOCAL:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise LanlError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    with _local_cluster(n_workers or os.cpu_count() or 1, timeout) as cluster:
        client = Client(cluster, timeout=timeout)
        try:
            client.run(_tune_worker)
            yield client
        finally:
            client.close()


@contextmanager
def _local_cluster(n_workers: int, timeout: float):
    dask = _dask("dask")
    LocalCluster = _dask("distributed").LocalCluster

    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **blas_env()}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=None,  # no dashboard; its plain HTTP endpoints on loopback, any free port:
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.ERROR,
                timeout=timeout,
            )
    except Exception as exc:  # no sockets, no process spawning, ...: say so, whatever the cause
        raise LanlError(f"could not start a local Dask cluster: {type(exc).__name__}: {exc}") from None
    try:
        yield cluster
    finally:
        cluster.close()


def blas_env() -> dict[str, str]:
    """BLAS thread counts for worker processes equal to this process's.

    A matrix product's rounding depends on how many threads BLAS splits it over, and dask's nanny sets one
    thread per worker process; features computed with ``@`` (spectral_centroid, mfcc, some temporal ones)
    would then differ from the serial runner's in the last bit. Same counts, same bits (on this machine)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {}
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    if not counts:
        return {}
    n = str(max(counts))
    return {"OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "BLIS_NUM_THREADS": n}


def _tune_worker() -> bool:
    return tune_allocator()


def worker_threads(client) -> int:
    """Threads over all workers of the client's cluster (at least 1)."""
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


# ------------------------------------------------------------------------------------- the cache, remotely
def is_url(location: str | Path) -> bool:
    return "://" in str(location)


class _RemoteCache(NamedTuple):
    fs: Any
    root: str
    manifest: dict


@functools.lru_cache(maxsize=4)
def _local_cache(path: str, fingerprint: str | None):
    cache = SignalCache.open(path)
    _check_fingerprint(path, cache.manifest, fingerprint)
    return cache


@functools.lru_cache(maxsize=4)
def _remote_cache(url: str, fingerprint: str | None) -> _RemoteCache:
    url_to_fs = _dask("fsspec.core").url_to_fs

    fs, root = url_to_fs(url)
    root = root.rstrip("/")
    try:
        manifest = json.loads(fs.cat_file(f"{root}/{MANIFEST}"))
    except (OSError, ValueError) as exc:
        raise LanlError(f"{url}: cannot read the signal cache's manifest ({exc})") from None
    if not manifest.get("complete") or manifest.get("format_version") != FORMAT_VERSION:
        raise LanlError(f"{url}: no complete signal cache here; run `lanl ingest DATA` and copy it there")
    _check_fingerprint(url, manifest, fingerprint)
    return _RemoteCache(fs, root, manifest)


def _check_fingerprint(where: str, manifest: dict, fingerprint: str | None) -> None:
    if fingerprint is not None and manifest.get("fingerprint") != fingerprint:
        raise LanlError(
            f"{where}: this signal cache holds other data (fingerprint {manifest.get('fingerprint')}, "
            f"expected {fingerprint}); point the workers at a copy of the same cache"
        )


def read_windows(
    location: str, fingerprint: str | None, seg_ids, starts, length: int | None = None
) -> np.ndarray:
    """The int16 windows (n, length) of train start rows ``starts`` (or of test segments ``seg_ids`` when
    every start is -1), read from the cache at ``location`` (a path or an fsspec URL) where this runs."""
    if not is_url(location):
        table = pd.DataFrame({"seg_id": list(seg_ids), "start": np.asarray(starts, np.int64)})
        return load_block(_local_cache(str(location), fingerprint), table, length)
    return _read_remote(_remote_cache(str(location), fingerprint), location, seg_ids, starts, length)


def _read_remote(cache: _RemoteCache, url: str, seg_ids, starts, length: int | None) -> np.ndarray:
    starts = np.asarray(starts, np.int64)
    if len(starts) and (starts < 0).all():
        index = {s: k for k, s in enumerate(cache.manifest.get("test_ids", []))}
        missing = [s for s in seg_ids if s not in index]
        if missing:
            raise LanlError(f"test segment {missing[0]} is not in the cache at {url}")
        length = int(cache.manifest["test_segment_length"])
        rows = np.array([index[s] for s in seg_ids], np.int64) * length
        path = f"{cache.root}/test_signal.i16"
    else:
        if (starts < 0).any():
            raise LanlError("a segment table must hold only train windows or only test segments")
        length = length or SEGMENT_LENGTH
        if len(starts) and starts.max() + length > cache.manifest["rows"]:
            raise LanlError(f"window of {length:,} rows at {starts.max():,} runs past the end of the data")
        rows, path = starts, f"{cache.root}/signal.i16"
    blobs = cache.fs.cat_ranges(
        [path] * len(rows), [int(r) * 2 for r in rows], [(int(r) + length) * 2 for r in rows]
    )
    out = np.empty((len(rows), length), np.int16)
    for k, blob in enumerate(blobs):
        if isinstance(blob, Exception):
            raise LanlError(f"{url}: reading {path} failed ({blob})")
        out[k] = np.frombuffer(blob, "<i2")
    return out


def _probe_cache(location: str, fingerprint: str | None) -> str:
    """'ok' when this process can open the cache at ``location`` and it holds the expected data."""
    try:
        (_remote_cache if is_url(location) else _local_cache)(str(location), fingerprint)
    except Exception as exc:  # reported per worker by check_worker_cache
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def check_worker_cache(client, location: str, fingerprint: str | None) -> None:
    """A LanlError naming each worker that cannot read the signal cache at ``location``."""
    answers = client.run(_probe_cache, str(location), fingerprint)
    bad = {worker: answer for worker, answer in answers.items() if answer != "ok"}
    if bad:
        lines = "\n".join(f"  {worker}: {answer}" for worker, answer in sorted(bad.items()))
        raise LanlError(
            f"{len(bad)} of {len(answers)} Dask workers cannot read the signal cache at {location}:\n{lines}\n"
            "put the cache on storage every worker mounts at that path, or pass --worker-cache URL"
        )


# ----------------------------------------------------------------------------------------- the task map
def cluster_map(
    client,
    func: Callable,
    tasks: Iterable,
    *,
    cache_location: str | None = None,
    in_flight: int | None = None,
) -> Iterator:
    """``func(task)`` for each task on the cluster, in task order (what DaskRunner.map does).

    Cache block tasks of lanl.features.extract travel slim (see the module doc); tsfresh block tasks run
    through tsfresh's Dask distributor; any other ``func`` is submitted as it is. At most ``in_flight`` tasks
    (default 4 per worker thread) are submitted ahead of the one being yielded."""
    tasks = iter(tasks)
    first = next(tasks, None)
    if first is None:
        return
    tasks = _chain(first, tasks)
    kind = _task_kind(func, first)
    in_flight = in_flight or 4 * worker_threads(client)
    if kind == "tsfresh":
        yield from _tsfresh_map(client, list(tasks), cache_location, in_flight)
    elif kind == "features":
        yield from _features_map(client, tasks, first, cache_location, in_flight)
    else:
        yield from _ordered(client, ((func, task) for task in tasks), in_flight)


def _chain(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


# the cache block tasks of the extractors: each task is (cache root, segment table slice, length, feature set)
CACHE_TASKS = {
    ("lanl.features.extract", "_cache_task"): "features",
    ("lanl.features.tsfresh_interop", "_cache_task"): "tsfresh",
}


def _task_kind(func: Callable, task) -> str:
    """Which CACHE_TASKS kind ``func`` and its first task are ("features", "tsfresh"), else "other"."""
    kind = CACHE_TASKS.get((getattr(func, "__module__", ""), getattr(func, "__qualname__", "")), "other")
    shaped = isinstance(task, tuple) and len(task) == 4 and isinstance(task[1], pd.DataFrame)
    return kind if shaped and {"seg_id", "start"} <= set(task[1].columns) else "other"


def _where(task, cache_location: str | None) -> tuple[str, str | None]:
    """(location the workers read, fingerprint of the client's cache) for a cache block task."""
    root = task[0]
    manifest = read_manifest(root) or {}
    return str(cache_location or Path(root).absolute()), manifest.get("fingerprint")


def block_args(task, location: str, fingerprint: str | None) -> tuple:
    """The payload of one feature block task, without the feature set: (location, fingerprint, length,
    seg_ids, starts)."""
    _, part, length, _ = task
    return location, fingerprint, length, tuple(part["seg_id"]), part["start"].to_numpy(np.int64)


def feature_block(location, fingerprint, length, seg_ids, starts, fs) -> np.ndarray:
    """On a worker: read the windows, compute the features of the block (as extract._cache_task does)."""
    values = read_windows(location, fingerprint, seg_ids, starts, length)
    return compute_block(values, list(seg_ids), fs)


def _features_map(client, tasks: Iterator, first, cache_location, in_flight: int) -> Iterator:
    location, fingerprint = _where(first, cache_location)
    check_worker_cache(client, location, fingerprint)
    sent: dict[int, Any] = {}  # id(feature set) -> its future on every worker (one set per map, in practice)

    def call(task) -> tuple:
        fs = task[3]
        if id(fs) not in sent:
            [sent[id(fs)]] = client.scatter([fs], broadcast=True, hash=False)
        return (feature_block, *block_args(task, location, fingerprint), sent[id(fs)])

    yield from _ordered(client, map(call, tasks), in_flight)


def _ordered(client, calls: Iterable[tuple], in_flight: int) -> Iterator:
    """Submit ``(func, *args)`` calls, at most ``in_flight`` ahead, and yield their results in order."""
    return in_order(lambda call: client.submit(*call, pure=False), calls, in_flight, client.cancel)


# ------------------------------------------------------------------------------------ tsfresh on Dask
class WindowRef(NamedTuple):
    """Where a window lies in the cache: what a tsfresh chunk carries instead of the samples."""

    seg_id: str
    start: int


def _tsfresh_map(client, tasks: list, cache_location: str | None, in_flight: int) -> Iterator[pd.DataFrame]:
    """tsfresh features of cache block tasks (root, part, length, TsfreshSet), one table per task, through
    tsfresh's extract_features with a CacheDaskDistributor; ``in_flight`` tasks per extract_features call."""
    extract_features = require("tsfresh", "tsfresh", "a tsfresh feature set").extract_features
    location, fingerprint = _where(tasks[0], cache_location)
    check_worker_cache(client, location, fingerprint)
    for lo in range(0, len(tasks), in_flight):
        group = tasks[lo : lo + in_flight]
        refs = [
            WindowRef(s, int(a)) for t in group for s, a in zip(t[1]["seg_id"], t[1]["start"], strict=True)
        ]
        length, tset = group[0][2], group[0][3]
        distributor = cache_dask_distributor(client, location, fingerprint, length)
        table = extract_features(
            window_data(refs),
            default_fc_parameters=tset.settings(),
            distributor=distributor,
            chunksize=max(1, len(group[0][1])),
            disable_progressbar=True,
        )
        at = 0
        for _, part, _, _ in group:
            out = table.iloc[at : at + len(part)]
            out.index = list(part["seg_id"])
            at += len(part)
            yield out


@functools.cache
def _window_data_class():
    from tsfresh.feature_extraction.data import PartitionedTsData, Timeseries

    class WindowData(PartitionedTsData):
        """tsfresh time series whose data are WindowRefs; ids are positions 0..n-1 (int64)."""

        def __init__(self, refs: list[WindowRef]):
            self.refs = refs
            self.df_id_type = np.dtype(np.int64)

        def __len__(self):
            return len(self.refs)

        def __iter__(self):
            for k, ref in enumerate(self.refs):
                yield Timeseries(k, "signal", ref)

    return WindowData


def window_data(refs: list[WindowRef]):
    """A tsfresh TsData of the windows ``refs`` (the class is built on first use: tsfresh imports slowly)."""
    return _window_data_class()(refs)


@functools.cache
def _distributor_class():
    from tsfresh.utilities.distribution import ClusterDaskDistributor

    class CacheDaskDistributor(ClusterDaskDistributor):
        """tsfresh's ClusterDaskDistributor on an existing client, whose chunks carry WindowRefs: the worker
        reads the windows of its chunk list from the cache, then runs tsfresh's own chunk function."""

        def __init__(self, client, location: str, fingerprint: str | None, length: int | None):
            self.client = client  # ClusterDaskDistributor would open a second client
            self.where = (location, fingerprint, length)

        def distribute(self, func, partitioned_chunks, kwargs):
            func = functools.partial(_with_windows, func, self.where)
            return super().distribute(func, partitioned_chunks, kwargs)

        def close(self):
            pass  # the client belongs to the caller

    return CacheDaskDistributor


def cache_dask_distributor(client, location: str, fingerprint: str | None, length: int | None):
    """A CacheDaskDistributor (the class is built on first use: tsfresh imports slowly)."""
    return _distributor_class()(client, location, fingerprint, length)


def _with_windows(func, where, chunk_list, **kwargs):
    """On a worker: replace the WindowRefs of ``chunk_list`` by the windows (float64 Series, as
    tsfresh_interop.tsfresh_block hands them to tsfresh), then run tsfresh's chunk function."""
    from tsfresh.feature_extraction.data import Timeseries

    location, fingerprint, length = where
    refs = [chunk.data for chunk in chunk_list]
    values = read_windows(location, fingerprint, [r.seg_id for r in refs], [r.start for r in refs], length)
    chunks = [
        Timeseries(c.id, c.kind, pd.Series(v.astype(np.float64)))
        for c, v in zip(chunk_list, values, strict=True)
    ]
    return func(chunks, **kwargs)


# ------------------------------------------------------------------------------------------- the runner
class DaskRunner:
    """Runs tasks on a dask.distributed cluster, yielding results in task order.

    ``scheduler``: ``"local"`` (a LocalCluster of ``n_jobs`` worker processes on 127.0.0.1, default one per
    core), ``"tcp://HOST:PORT"`` (a running cluster) or a ``distributed.Client`` (used as it is, not closed).
    The cluster is reached on the first ``map`` (an all-hits feature request never starts one) and kept until
    ``close()`` or the end of a ``with`` block. Cache block tasks travel as (cache location, segment ids and
    start rows) with the feature set sent once per map; workers read the windows from ``cache_location``
    (default: the cache's own absolute path, then on storage every worker shares), a path or an fsspec URL.
    tsfresh sets run through tsfresh's own Dask distributor. Anything else is submitted as it is (``func``
    module-level, tasks picklable).
    """

    def __init__(self, scheduler="local", n_jobs: int | None = None, cache_location: str | None = None):
        self.scheduler = scheduler
        self.cache_location = cache_location
        self._n_jobs = n_jobs
        self._client = None if isinstance(scheduler, str) else scheduler
        self._opened = ExitStack()  # what this runner started: its client, its LocalCluster

    @property
    def client(self):
        """The distributed.Client, connecting (or starting the LocalCluster) on first use."""
        if self._client is None:
            self._client = self._opened.enter_context(connect(self.scheduler, n_workers=self._n_jobs))
        return self._client

    @property
    def n_jobs(self) -> int:
        """Worker threads of the cluster (before connecting: the LocalCluster's size, or 1 for a remote one)."""
        if self._client is None:
            return (self._n_jobs or os.cpu_count() or 1) if self.scheduler == "local" else 1
        return worker_threads(self._client)

    def map(self, func: Callable, tasks: Iterable) -> Iterator:
        return cluster_map(self.client, func, tasks, cache_location=self.cache_location)

    def close(self) -> None:
        """Close the client and the LocalCluster this runner opened (a client passed in stays open)."""
        if isinstance(self.scheduler, str):
            self._client = None
        self._opened.close()

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
