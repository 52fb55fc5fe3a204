"""Atomic writes and file fingerprints: an interrupted run never leaves output that looks complete.

Output is written to a temporary file or folder beside its target (``.NAME.<random>.tmp``) and renamed into
place when complete. The process writing it holds an ``flock`` on it, so a temporary entry that nobody holds
was left by a run that died (kill -9, a crash, a power cut): the next write of the same target removes it and
logs what it removed (:func:`sweep_stale`). Files and folders are created with the umask's permissions
(0666 / 0777 less the umask), so a shared cache or runs folder is readable by the group.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from lanl.errors import LanlError

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so no sweeping either
    fcntl = None

log = logging.getLogger(__name__)
TMP = ".tmp"
# the folders a workspace (lanl.workspace) writes to, relative to where a command runs: one home, read by the
# stages' defaults and the CLI's options alike (this module is light enough for the CLI to import)
RUNS_DIR = Path("runs")
FEATURES_DIR = Path("features")
SUBMISSIONS_DIR = Path("submissions")


def umask() -> int:
    """This process's umask (read without changing it where /proc says it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def locked_temp(
    folder: str | Path, prefix: str, suffix: str = TMP, *, directory: bool = False
) -> tuple[Path, int]:
    """A new temporary file (or folder) ``folder/<prefix><random><suffix>``, with the usual permissions, and
    the descriptor that holds its flock: closing it (or dying) leaves the entry for :func:`sweep_stale`.

    It is created under a ``.new`` name and renamed once locked, so a sweep never sees it unlocked."""
    folder = Path(folder)
    try:
        if directory:
            new = tempfile.mkdtemp(prefix=prefix, suffix=".new", dir=folder)
            fd = os.open(new, os.O_RDONLY)
        else:
            fd, new = tempfile.mkstemp(prefix=prefix, suffix=".new", dir=folder)
    except OSError as exc:  # name the folder the user gave, not the temporary name
        raise OSError(exc.errno, exc.strerror, str(folder)) from None
    path = Path(new[: -len(".new")] + suffix)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(new, path)
        os.chmod(path, (0o777 if directory else 0o666) & ~umask())
    except BaseException:  # a signal or an error half way: leave nothing
        os.close(fd)
        for leftover in (Path(new), path):
            _remove(leftover)
        raise
    return path, fd


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep_stale(folder: str | Path, pattern: str) -> list[Path]:
    """Remove the entries of ``folder`` matching ``pattern`` (a glob of our temporary names) that no live
    process holds, logging each with its size; returns them."""
    removed = []
    for path in sorted(Path(folder).glob(pattern)):
        with contextlib.suppress(OSError):
            if _remove_if_unheld(path):
                removed.append(path)
    return removed


def _remove_if_unheld(path: Path) -> bool:
    if fcntl is None:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # a live run is writing it
        os.close(fd)
        return False
    try:
        size = _size(path)
        _remove(path)
    finally:
        os.close(fd)
    log.warning("removed %s (%s), left by an interrupted run", path, _human(size))
    return True


def _size(path: Path) -> int:
    if not path.is_dir():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _human(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def sweep_temps(target: str | Path) -> list[Path]:
    """:func:`sweep_stale` for the temporary entries of ``target`` (``.NAME.*.tmp`` beside it)."""
    target = Path(target)
    return sweep_stale(target.parent, f".{glob.escape(target.name)}.*{TMP}")


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``, on error delete it."""
    target = Path(target)
    made = _make_parents(target)
    tmp = fd = None
    try:
        sweep_temps(target)
        tmp, fd = locked_temp(target.parent, f".{target.name}.")
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        _remove_empty(made)
        raise
    finally:
        if fd is not None:
            os.close(fd)


def write_parquet(frame, path: str | Path) -> None:
    """``frame.to_parquet(path)`` without the index; an OS error (a full disk) names ``path``, which
    pyarrow's own does not."""
    try:
        frame.to_parquet(path, index=False)
    except OSError as exc:
        what = os.strerror(exc.errno) if exc.errno else str(exc)
        raise OSError(exc.errno, what, str(path)) from None


def write_text_atomic(target: str | Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def write_json_atomic(target: str | Path, obj) -> Path:
    return write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``target``; on success it replaces ``target`` whole."""
    target = Path(target)
    made = _make_parents(target)
    tmp = fd = None
    try:
        sweep_temps(target)
        tmp, fd = locked_temp(target.parent, f".{target.name}.", directory=True)
        yield tmp
        _replace_dir(tmp, target)
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(made)
        raise
    finally:
        if fd is not None:
            os.close(fd)


def _make_parents(target: Path) -> list[Path]:
    """Create the missing folders above ``target``; return them, outermost first."""
    missing = [p for p in reversed(target.parents) if not p.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a file where a folder should be
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), exc.filename) from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (made for an output that failed) where they are still empty, innermost first."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _replace_dir(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an existing ``target`` is first moved aside under a temporary name (of
    the swept pattern, should this process die before removing it)."""
    if not target.exists():
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}{TMP}")
    os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def file_fingerprint(path: str | Path, n_samples: int = 64, block: int = 1 << 16) -> str:
    """A cheap content fingerprint: blake2b over the size, the first and last 1 MiB and ``n_samples`` evenly
    spaced 64 KiB blocks. Reads ~5 MiB whatever the file size (a full hash of 9.7 GB would cost ~20 s)."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    h.update(str(size).encode())
    with open(path, "rb") as f:
        head = 1 << 20
        h.update(f.read(head))
        if size > head:
            for k in range(n_samples):
                f.seek((size * k) // n_samples)
                h.update(f.read(block))
            f.seek(max(0, size - head))
            h.update(f.read(head))
    return h.hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_at(path: str | Path, pieces) -> None:
    """Fill each writable buffer of ``pieces`` ((buffer, byte offset) pairs) from the file at ``path``: one
    ``preadv`` per piece straight into it (no page-fault storm of a memory map, no intermediate bytes),
    repeated on partial reads. A short file raises LanlError naming it and the offset."""

    preadv = getattr(os, "preadv", None)
    fd = os.open(path, os.O_RDONLY)
    try:
        for buffer, offset in pieces:
            view = memoryview(buffer).cast("B")
            done = preadv(fd, [view], offset) if preadv else 0
            while done < view.nbytes:  # a partial read, or no preadv (not POSIX)
                rest = view[done:]
                if preadv:
                    got = preadv(fd, [rest], offset + done)
                else:
                    os.lseek(fd, offset + done, os.SEEK_SET)
                    got = os.readv(fd, [rest])
                if got <= 0:
                    raise LanlError(
                        f"{path}: short read at byte {offset + done:,} ({view.nbytes - done} missing)"
                    )
                done += got
    finally:
        os.close(fd)
