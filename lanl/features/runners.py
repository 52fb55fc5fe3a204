"""How work is scheduled, behind one small interface: ``runner.map(func, tasks)`` yields ``func(task)`` for
each task, in task order. Features and the extraction code never know which runner runs them, so serial
and parallel output are the same values in the same order: SerialRunner (this process), ProcessRunner (a
local process pool), DaskRunner (a dask.distributed cluster, local or remote; see lanl.distributed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from typing import Protocol


class Runner(Protocol):
    n_jobs: int

    def map(self, func: Callable, tasks: Iterable) -> Iterator: ...


def tune_allocator() -> bool:
    """Keep freed blocks in this process's heap instead of returning them to the OS (glibc only).

    Feature blocks allocate and free arrays of tens of MB; by default glibc maps each afresh and the first
    touch of every page faults (about a tenth of the extraction time). Called in the worker processes of
    ProcessRunner and by the ``lanl features`` command, never on import. Returns whether it applied."""
    name = ctypes.util.find_library("c")
    if os.name != "posix" or not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        ok = libc.mallopt(m_mmap_threshold, 32 << 20) == 1  # glibc's maximum
        ok &= libc.mallopt(m_trim_threshold, 512 << 20) == 1
        ok &= libc.mallopt(m_top_pad, 64 << 20) == 1
        return bool(ok)
    except (OSError, AttributeError):
        return False


def _init_worker(parent: int) -> None:
    """A ProcessRunner worker's setup: the allocator, and a watchdog that ends the worker when the process
    that started the pool is gone (killed with -9, its pool never shut down): a worker blocked on its task
    pipe would otherwise wait forever, holding the cache open."""
    tune_allocator()
    start_ppid = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(_WATCH_SECONDS)
            if os.getppid() != start_ppid or not _alive(parent):
                os._exit(1)

    threading.Thread(target=watch, name="lanl-parent-watch", daemon=True).start()


_WATCH_SECONDS = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pool_context():
    """The start method of ProcessRunner's workers: a fork server on POSIX (it preloads the feature modules
    once, then forks each worker from a process with no threads: forking this multi-threaded process -- numba,
    torch, the reader thread -- is unsafe), spawn elsewhere."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lanl.features.extract"])
    return context


class SerialRunner:
    """Runs every task in this process, one after the other."""

    n_jobs = 1

    def map(self, func: Callable, tasks: Iterable) -> Iterator:
        for task in tasks:
            yield func(task)

    def close(self) -> None:
        """Nothing to stop (every runner can be closed and used in a ``with`` block)."""

    def __enter__(self) -> SerialRunner:
        return self

    def __exit__(self, *exc) -> None:
        pass


class ProcessRunner:
    """Runs tasks in ``n_jobs`` worker processes, yielding results in task order.

    At most ``2 * n_jobs`` tasks are in flight, so a long task list (or tasks that carry data) never sits in
    memory all at once. ``func`` must be a module-level function and tasks picklable.

    Used as a context manager (``with ProcessRunner(2) as runner:``) the pool starts on the first ``map``
    and serves every later one until the block ends, so workers load the compiled kernels once (about half
    a second each) however many tables they compute; otherwise each ``map`` starts and stops its own pool.
    """

    def __init__(self, n_jobs: int | None = None):
        self.n_jobs = n_jobs or os.cpu_count() or 1
        self._keep = False
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.n_jobs, mp_context=pool_context(), initializer=_init_worker, initargs=(os.getpid(),)
        )

    def map(self, func: Callable, tasks: Iterable) -> Iterator:
        if not self._keep:
            with self._start() as pool:
                yield from self._map(pool, func, tasks)
            return
        if self._pool is None:
            self._pool = self._start()
        yield from self._map(self._pool, func, tasks)

    def _map(self, pool: ProcessPoolExecutor, func: Callable, tasks: Iterable) -> Iterator:
        pending: deque = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(func, task))
                if len(pending) >= 2 * self.n_jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # a consumer that stops early (or an error) leaves no queued work behind in a kept pool
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the kept pool (a later ``map`` starts a new one)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ProcessRunner:
        self._keep = True
        return self

    def __exit__(self, *exc) -> None:
        self._keep = False
        self.close()


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
            from lanl.distributed import connect

            self._client = self._opened.enter_context(connect(self.scheduler, n_workers=self._n_jobs))
        return self._client

    @property
    def n_jobs(self) -> int:
        """Worker threads of the cluster (before connecting: the LocalCluster's size, or 1 for a remote one)."""
        if self._client is None:
            return (self._n_jobs or os.cpu_count() or 1) if self.scheduler == "local" else 1
        from lanl.distributed import worker_threads

        return worker_threads(self._client)

    def map(self, func: Callable, tasks: Iterable) -> Iterator:
        from lanl.distributed import cluster_map

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


def make_runner(jobs: int | None = 1) -> Runner:
    """SerialRunner for jobs == 1, else a ProcessRunner (jobs None or 0: one worker per core)."""
    if jobs == 1:
        return SerialRunner()
    return ProcessRunner(jobs or None)
