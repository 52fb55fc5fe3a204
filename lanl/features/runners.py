"""How work is scheduled, behind one small interface: ``runner.map(func, tasks)`` yields ``func(task)`` for
each task, in task order. Features and the extraction code never know which runner runs them, so serial
and parallel output are the same values in the same order: SerialRunner (this process), ProcessRunner (a
local process pool); lanl.distributed.DaskRunner (a dask.distributed cluster) has the same interface.

Runners know nothing of what they run: a task is whatever ``func`` takes (the feature extractors map a
function bound to the feature set over :class:`lanl.data.windows.WindowsRef` tasks). What a runner says of
itself: ``n_jobs``; ``cache_location(cache)``, where its workers read the signal cache from (a remote
cluster's copy); ``shares_files``, whether its workers are processes on this machine that can read a file
this process writes (then a big in-memory block travels through one instead of a pipe).
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
from pathlib import Path
from typing import Protocol


class Runner(Protocol):
    n_jobs: int
    shares_files: bool

    def map(self, func: Callable, tasks: Iterable) -> Iterator: ...

    def cache_location(self, cache) -> str: ...


def local_location(cache) -> str:
    """Where processes on this machine read ``cache`` (a SignalCache): its folder, absolute."""
    return str(Path(cache.root).absolute())


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


def in_order(submit: Callable, items: Iterable, ahead: int, cancel: Callable[[list], None]) -> Iterator:
    """``submit(item)`` (a future) for each item, at most ``ahead`` in flight, yielding the results in item order;
    a consumer that stops early (or an error) hands the futures still pending to ``cancel``, so a kept pool or
    a cluster is left no queued work. The loop of ProcessRunner and of lanl.distributed's DaskRunner."""
    pending: deque = deque()
    try:
        for item in items:
            pending.append(submit(item))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        if pending:
            cancel(list(pending))


class SerialRunner:
    """Runs every task in this process, one after the other."""

    n_jobs = 1
    shares_files = False  # nothing to share: the tasks run here

    def cache_location(self, cache) -> str:
        return local_location(cache)

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
    Blocks nest (a workspace's block around a model's): the pool stops when the outermost one ends.
    """

    shares_files = True

    def __init__(self, n_jobs: int | None = None):
        self.n_jobs = n_jobs or os.cpu_count() or 1
        self._depth = 0  # open ``with`` blocks: the pool is kept while any is open
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.n_jobs, mp_context=pool_context(), initializer=_init_worker, initargs=(os.getpid(),)
        )

    def map(self, func: Callable, tasks: Iterable) -> Iterator:
        if not self._depth:
            with self._start() as pool:
                yield from self._map(pool, func, tasks)
            return
        if self._pool is None:
            self._pool = self._start()
        yield from self._map(self._pool, func, tasks)

    def _map(self, pool: ProcessPoolExecutor, func: Callable, tasks: Iterable) -> Iterator:
        def cancel(futures: list) -> None:
            for future in futures:
                future.cancel()

        return in_order(lambda task: pool.submit(func, task), tasks, 2 * self.n_jobs, cancel)

    def cache_location(self, cache) -> str:
        return local_location(cache)

    def close(self) -> None:
        """Stop the kept pool (a later ``map`` starts a new one)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ProcessRunner:
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if not self._depth:
            self.close()


def make_runner(jobs: int | None = 1) -> Runner:
    """SerialRunner for one job, else a ProcessRunner of ``jobs`` workers (None or 0: one per core this
    process may use, :func:`usable_cores`; on a single core that is the SerialRunner too)."""
    jobs = jobs or usable_cores()
    if jobs == 1:
        return SerialRunner()
    return ProcessRunner(jobs)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it, else the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
