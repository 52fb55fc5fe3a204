"""How work is scheduled, behind one small interface: ``runner.map(func, tasks)`` yields ``func(task)`` for
each task, in task order. Features and the extraction code never know which runner runs them, so serial
and parallel output are the same values in the same order. (A Dask runner only needs the same ``map``.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
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


class SerialRunner:
    """Runs every task in this process, one after the other."""

    n_jobs = 1

    def map(self, func: Callable, tasks: Iterable) -> Iterator:
        for task in tasks:
            yield func(task)


class ProcessRunner:
    """Runs tasks in ``n_jobs`` worker processes, yielding results in task order.

    At most ``2 * n_jobs`` tasks are in flight, so a long task list (or tasks that carry data) never sits in
    memory all at once. ``func`` must be a module-level function and tasks picklable.
    """

    def __init__(self, n_jobs: int | None = None):
        self.n_jobs = n_jobs or os.cpu_count() or 1

    def map(self, func: Callable, tasks: Iterable) -> Iterator:
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(self.n_jobs, mp_context=context, initializer=tune_allocator) as pool:
            pending: deque = deque()
            for task in tasks:
                pending.append(pool.submit(func, task))
                if len(pending) >= 2 * self.n_jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()


def make_runner(jobs: int | None = 1) -> Runner:
    """SerialRunner for jobs == 1, else a ProcessRunner (jobs None or 0: one worker per core)."""
    if jobs == 1:
        return SerialRunner()
    return ProcessRunner(jobs or None)
