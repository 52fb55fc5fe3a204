"""Sequential file writer that bypasses the page cache (``O_DIRECT``) from reused, page-aligned buffers.

On the machines here first-touching new memory (anonymous or page cache) runs at ~0.45 GB/s while ``O_DIRECT``
writes reach ~2.3 GB/s, so the multi-GB cache files are written this way, in a background thread, while the
parser works. Where the filesystem refuses ``O_DIRECT`` (tmpfs, some network filesystems) it falls back to
ordinary buffered writes with the same interface. A failed write (a full disk, a file-size limit) is an
OSError naming the file.
"""

from __future__ import annotations

import concurrent.futures as cf
import errno
import mmap
import os
from pathlib import Path

import numpy as np

_ALIGN = 4096


class DirectWriter:
    """Append arrays to a file; ``close()`` trims the file to the exact number of bytes appended."""

    def __init__(self, path: str | Path, buffer_bytes: int = 16 << 20):
        self.path = Path(path)
        self.size = buffer_bytes - buffer_bytes % _ALIGN
        self.written = 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            self.fd = os.open(self.path, flags | getattr(os, "O_DIRECT", 0), 0o666)
            self.direct = hasattr(os, "O_DIRECT")
        except OSError:
            self.fd = os.open(self.path, flags, 0o666)
            self.direct = False
        self.bufs = [np.frombuffer(mmap.mmap(-1, self.size), np.uint8) for _ in range(2)]
        self.fill = 0
        self.k = 0
        self.pool = cf.ThreadPoolExecutor(1)
        self.pending: cf.Future | None = None

    def _flush(self, nbytes: int) -> None:
        if self.pending is not None:
            self.pending.result()
        buf = self.bufs[self.k]
        self.pending = self.pool.submit(self._write, memoryview(buf)[:nbytes])
        self.k ^= 1
        self.fill = 0

    def _write(self, view: memoryview) -> None:
        try:
            try:
                self._write_all(view)
            except OSError:  # O_DIRECT refused at write time: fall back for the rest of the file
                if not self.direct:
                    raise
                self._reopen_buffered()
                self._write_all(view)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None

    def _write_all(self, view: memoryview) -> None:
        done = 0
        while done < len(view):  # a short write (nearly full disk): write the rest, or fail
            n = os.write(self.fd, view[done:])
            if n == 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            done += n

    def _reopen_buffered(self) -> None:
        pos = os.lseek(self.fd, 0, os.SEEK_CUR)
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY)
        os.lseek(self.fd, pos, os.SEEK_SET)
        self.direct = False

    def append(self, arr: np.ndarray) -> None:
        data = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)
        pos = 0
        while pos < len(data):
            take = min(self.size - self.fill, len(data) - pos)
            self.bufs[self.k][self.fill : self.fill + take] = data[pos : pos + take]
            self.fill += take
            pos += take
            if self.fill == self.size:
                self._flush(self.size)
        self.written += len(data)

    def close(self) -> None:
        """Write what is left (padded to the alignment O_DIRECT needs), then cut the file to its true size."""
        tail = self.fill
        if tail:
            padded = -(-tail // _ALIGN) * _ALIGN if self.direct else tail
            self.bufs[self.k][tail:padded] = 0
            self._flush(padded)
        if self.pending is not None:
            self.pending.result()
        self.pool.shutdown(wait=True)
        os.ftruncate(self.fd, self.written)
        os.close(self.fd)

    def __enter__(self) -> DirectWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.pool.shutdown(wait=True)
            os.close(self.fd)
