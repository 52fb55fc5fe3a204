"""Running the package's work on a dask.distributed cluster.

    connect(scheduler, n_workers=None)         -> context manager yielding a distributed.Client
    parse_scheduler(value)                     -> "local" or "tcp://HOST:PORT" (LanlError otherwise)
    DaskRunner(scheduler, n_jobs, worker_cache) -> the runner interface of lanl.features.runners, on Dask
    cluster_map(client, func, tasks)           -> what DaskRunner.map runs (results in task order)
    check_worker_cache(client, location, fp)   -> LanlError unless every worker can read the cache
    blas_env()                                 -> BLAS thread counts a LocalCluster's workers start with

``scheduler`` is ``"local"`` (a LocalCluster of worker processes on 127.0.0.1, one thread each, no dashboard;
closed on exit) or the address of a running scheduler (``tcp://HOST:PORT``, started with ``dask scheduler``
and ``dask worker``).

The runner knows nothing of what it runs. Signal windows never travel through the scheduler all the same:
the feature extractors' tasks are :class:`lanl.data.windows.WindowsRef` (the cache location, its
fingerprint, the segment ids and start rows: a few hundred bytes), their function (bound to the feature set)
is sent to every worker once per map, and the worker reads the windows itself. The location is the one the
runner gives (:meth:`DaskRunner.cache_location`): a path (memory-mapped; on a cluster, storage every worker
mounts at that path) or an fsspec URL (``s3://bucket/lanl-cache``, ``gs://...``, ``file:///shared/...``; read
by byte ranges, the remote protocol's package, e.g. ``s3fs``, installed on the workers).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager

from lanl.data.windows import open_location
from lanl.errors import LanlError
from lanl.extras import require
from lanl.features.runners import in_order, local_location, tune_allocator

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


def _probe_cache(location: str, fingerprint: str | None) -> str:
    """'ok' when this process can open the cache at ``location`` and it holds the expected data."""
    try:
        open_location(location, fingerprint)
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
def cluster_map(client, func: Callable, tasks: Iterable, *, in_flight: int | None = None) -> Iterator:
    """``func(task)`` for each task on the cluster, in task order (what DaskRunner.map does).

    ``func`` (a feature extractor's function carries its feature set) is sent to every worker once per map;
    each task travels on its own. At most ``in_flight`` tasks (default 4 per worker thread) are submitted
    ahead of the one being yielded."""
    tasks = iter(tasks)
    first = next(tasks, None)
    if first is None:
        return
    [shared] = client.scatter([func], broadcast=True, hash=False)
    calls = ((_apply, shared, task) for task in _chain(first, tasks))
    yield from _ordered(client, calls, in_flight or 4 * worker_threads(client))


def _apply(func: Callable, task):
    return func(task)


def _chain(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _ordered(client, calls: Iterable[tuple], in_flight: int) -> Iterator:
    """Submit ``(func, *args)`` calls, at most ``in_flight`` ahead, and yield their results in order."""
    return in_order(lambda call: client.submit(*call, pure=False), calls, in_flight, client.cancel)


# ------------------------------------------------------------------------------------------- the runner
class DaskRunner:
    """Runs tasks on a dask.distributed cluster, yielding results in task order.

    ``scheduler``: ``"local"`` (a LocalCluster of ``n_jobs`` worker processes on 127.0.0.1, default one per
    core), ``"tcp://HOST:PORT"`` (a running cluster) or a ``distributed.Client`` (used as it is, not closed).
    The cluster is reached on the first ``map`` (an all-hits feature request never starts one) and kept until
    ``close()`` or the end of a ``with`` block. ``func`` goes to every worker once per map, each task on its
    own (``func`` module-level or a partial of one, tasks picklable). Its workers read the signal cache from
    ``cache_location`` (default: the cache's own absolute path, then on storage every worker shares), a path
    or an fsspec URL: :meth:`cache_location` says so to the extractors, having checked every worker can.
    """

    shares_files = False  # its workers may be on other machines

    def __init__(self, scheduler="local", n_jobs: int | None = None, worker_cache: str | None = None):
        self.scheduler = scheduler
        self.worker_cache = worker_cache
        self._n_jobs = n_jobs
        self._client = None if isinstance(scheduler, str) else scheduler
        self._opened = ExitStack()  # what this runner started: its client, its LocalCluster
        self._checked: set[tuple[str, str | None]] = set()  # cache locations every worker was seen to read

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
        return cluster_map(self.client, func, tasks)

    def cache_location(self, cache) -> str:
        """Where the workers read ``cache`` (a SignalCache): the runner's ``worker_cache`` or the cache's
        absolute path; a LanlError naming each worker that cannot read it there (checked once per place)."""
        location = str(self.worker_cache or local_location(cache))
        if (location, cache.fingerprint) not in self._checked:
            check_worker_cache(self.client, location, cache.fingerprint)
            self._checked.add((location, cache.fingerprint))
        return location

    def close(self) -> None:
        """Close the client and the LocalCluster this runner opened (a client passed in stays open)."""
        if isinstance(self.scheduler, str):
            self._client = None
        self._opened.close()

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
