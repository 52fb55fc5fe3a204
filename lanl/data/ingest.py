"""``lanl ingest``: stream the Kaggle CSVs once into the memory-mapped :mod:`lanl.data.cache`.

train.csv is read in fixed-size byte chunks cut at the last newline; each chunk is split into pieces that
numba parses and validates in parallel (:mod:`lanl.data.csvparse`) while a reader thread fetches the next chunk.
Parsed rows are appended to the cache files, so peak memory is a few chunk buffers whatever the file size.
Quake boundaries (rows where time_to_failure jumps up) are recorded during the parse.

Everything is written into a temporary folder renamed into place at the end.

The data is identified by its content, never by its path or mtime. The manifest keeps each source's size and a
digest of sampled blocks (a zip member: its size and CRC-32), the mtimes, and a 64-bit digest of every parsed
row (:func:`lanl.data.csvparse.rows_digest`). A rerun whose sources have the same size and sampled blocks is a no-op;
where an mtime changed too (``touch``, a copy), the sources are parsed again, without writing, and their row
digest compared: the same content keeps the cache. The cache's fingerprint, which the feature store and the
runs record, is a hash of the row digests, the row count and the test ids: the same rows are the same data,
wherever they lie and however their numbers are spelled.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from lanl import __version__
from lanl.data import csvparse
from lanl.data.cache import FORMAT_VERSION, MANIFEST, SignalCache, default_cache_dir, read_manifest
from lanl.data.directio import DirectWriter
from lanl.data.layout import (
    DataLayout,
    Source,
    match_test_ids,
    read_sample_submission,
    test_identity,
    test_stamp,
)
from lanl.data.segments import SEGMENT_LENGTH
from lanl.errors import DataError, LanlError
from lanl.fsutil import atomic_dir, sweep_temps, write_json_atomic
from lanl.progress import progress

TRAIN_HEADER = "acoustic_data,time_to_failure"
TEST_HEADER = "acoustic_data"
CHUNK_BYTES = 32 << 20
_MAX_LINE = 1 << 12
_JUMP_CAP = 256
log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    cache: SignalCache
    skipped: bool  # True when the cache was already up to date
    seconds: float


def ingest(
    data_dir: str | Path,
    cache_dir: str | Path | None = None,
    *,
    force: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
    segment_length: int = SEGMENT_LENGTH,
    rises: str = "error",
) -> IngestResult:
    """Parse, validate and cache ``DATA/train.csv`` and the test segments; return the opened cache.

    ``rises="warn"`` keeps upward time_to_failure jumps that are no quake (see :class:`Quakes`) inside their
    cycle with a warning, instead of stopping with an error naming the line."""
    t0 = time.perf_counter()
    layout = DataLayout(data_dir)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir(data_dir)
    sweep_temps(cache_dir)  # what interrupted ingests left (the cache itself may be up to date)
    src = _resolve(layout)
    identity, stamps = src.identity(), src.stamps()
    old = read_manifest(cache_dir)
    if not force and _unchanged(old, identity, stamps, src, cache_dir, chunk_bytes):
        return IngestResult(SignalCache.open(cache_dir), True, time.perf_counter() - t0)
    with atomic_dir(cache_dir) as tmp:
        train = ingest_train(src.train, tmp, chunk_bytes=chunk_bytes, rises=rises)
        test_digest = ingest_test(src.test_ids, src.test, tmp / "test_signal.i16", segment_length)
        digests = {"train": train.digest, "test": test_digest}
        manifest = {
            "format_version": FORMAT_VERSION,
            "code_version": __version__,
            "sources": identity,
            "stamps": stamps,
            "digests": digests,
            "fingerprint": _fingerprint(train.rows, digests, src.test_ids, segment_length),
            "rows": train.rows,
            "cycle_starts": [int(x) for x in train.cycle_starts],
            "test_ids": src.test_ids,
            "test_segment_length": segment_length,
            "complete": True,
        }
        write_json_atomic(tmp / MANIFEST, manifest)
    return IngestResult(SignalCache.open(cache_dir), False, time.perf_counter() - t0)


@dataclass
class _Sources:
    train: Source
    test_ids: list[str]  # in sample_submission order
    test: dict[str, Source]
    sample: Source | None

    def identity(self) -> dict:
        """Content only (no path, no mtime): sizes and sampled digests, cheap at any size."""
        sample = self.sample.identity() if self.sample else None
        return {"train": self.train.identity(), "test": test_identity(self.test), "sample_submission": sample}

    def stamps(self) -> dict:
        return {"train": self.train.stamp(), "test": test_stamp(self.test)}


def _unchanged(old, identity, stamps, src: _Sources, cache_dir, chunk_bytes: int) -> bool:
    """Whether the cache of manifest ``old`` holds these sources: same sizes and sampled blocks, and either
    the same mtimes or, parsed again without writing, the same row digests (the manifest then takes the new
    mtimes, so the next check is instant)."""
    if old is None or old.get("sources") != identity:
        return False
    if old.get("stamps") == stamps:
        return True
    before = old.get("stamps") or {}
    if before.get("train") != stamps["train"]:
        if ingest_train(src.train, None, chunk_bytes=chunk_bytes).digest != old["digests"]["train"]:
            return False
    if before.get("test") != stamps["test"]:
        if ingest_test(src.test_ids, src.test, None, old["test_segment_length"]) != old["digests"]["test"]:
            return False
    write_json_atomic(Path(cache_dir) / MANIFEST, {**old, "stamps": stamps})
    log.info("%s: the sources' mtimes changed, their content did not: the cache is kept", cache_dir)
    return True


def _fingerprint(rows: int, digests: dict, test_ids: list[str], segment_length: int) -> str:
    blob = json.dumps([rows, digests, test_ids, segment_length], sort_keys=True)
    return hashlib.blake2b(blob.encode(), digest_size=12).hexdigest()


def _resolve(layout: DataLayout) -> _Sources:
    return _Sources(layout.train(), *_resolve_test(layout))


def _resolve_test(layout: DataLayout) -> tuple[list[str], dict[str, Source], Source | None]:
    """Test ids in sample_submission order (sorted ids when there is no sample_submission)."""
    srcs = layout.test_sources()
    sample = layout.sample_submission()
    if sample is None:
        return sorted(srcs), srcs, None
    ids = read_sample_submission(sample)
    if srcs:
        match_test_ids(ids, srcs, sample.name)
    return (ids if srcs else []), srcs, sample


# ----------------------------------------------------------------------------------------------- train.csv


def _check_header(first: bytes, expected: str, name: str) -> None:
    text = first.decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n")
    if not first:
        raise DataError(name, f"empty file (expected header '{expected}')", line=1)
    if text != expected:
        raise DataError(name, f"expected header '{expected}', found {text[:80]!r}", line=1)


def _read_into(f, buf: np.ndarray, offset: int, nbytes: int) -> int:
    """Fill ``buf[offset:offset+nbytes]`` from ``f`` (fewer bytes only at end of file)."""
    view = memoryview(buf)[offset : offset + nbytes]
    got = 0
    while got < nbytes:
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


@dataclass
class TrainParse:
    rows: int
    cycle_starts: list[int]
    digest: str  # lanl.data.csvparse.rows_digest of every row, hex


def ingest_train(
    src: Source, out_dir: Path | None, *, chunk_bytes: int = CHUNK_BYTES, rises: str = "error"
) -> TrainParse:
    """Stream ``src`` into ``out_dir/signal.i16`` and ``ttf.f64`` (``out_dir=None``: parse and digest only).

    ``rises``: what an upward time_to_failure jump that is not a quake (see :class:`Quakes`) is: ``"error"``
    (a DataError naming its line) or ``"warn"`` (logged; the row starts no cycle).
    """
    quakes = Quakes(src.name, rises) if out_dir is not None else None
    sink = _TrainSink(out_dir, src.name, chunk_bytes, quakes)
    with (
        src.open() as f,
        sink,
        progress(total=src.size(), desc=f"ingest {Path(src.name).name}", unit="B", unit_scale=True) as bar,
    ):
        header = f.readline(_MAX_LINE)
        _check_header(header, TRAIN_HEADER, src.name)
        bar.update(len(header))
        for buf, cut in _chunks(f, chunk_bytes, src.name, lambda: sink.rows):
            sink.add(buf, cut)
            bar.update(cut)
            bar.set_postfix(rows=f"{sink.rows:,}", refresh=False)
    if sink.rows == 0:
        raise DataError(src.name, "no data rows after the header", line=2)
    if quakes is None:
        return TrainParse(sink.rows, [], f"{sink.digest:016x}")
    quakes.report()
    return TrainParse(sink.rows, quakes.starts, f"{sink.digest:016x}")


def _chunks(f, chunk_bytes: int, name: str, rows_done):
    """Yield (buffer, cut): chunks of ``f`` cut after their last newline (the rest carried into the next).

    Two byte buffers alternate: while the caller parses one, a thread reads the next chunk into the other.
    ``rows_done()`` gives the rows parsed so far, to name the line of a truncated or overlong last line."""
    bufs = [np.empty(chunk_bytes + _MAX_LINE, np.uint8) for _ in range(2)]
    with cf.ThreadPoolExecutor(1) as pool:
        k, carry = 0, 0
        pending = pool.submit(_read_into, f, bufs[0], 0, chunk_bytes)
        while True:
            buf = bufs[k]
            got = pending.result()
            filled, eof = carry + got, got == 0
            cut = int(csvparse.last_newline(buf, filled)) + 1
            if eof and cut < filled:
                raise DataError(
                    name, "last line is truncated (no newline at end of file)", line=rows_done() + 2
                )
            if cut == 0 and filled >= chunk_bytes:
                raise DataError(name, f"line longer than {chunk_bytes} bytes", line=rows_done() + 2)
            carry = filled - cut
            bufs[k ^ 1][:carry] = buf[cut:filled]
            if not eof:
                pending = pool.submit(_read_into, f, bufs[k ^ 1], carry, chunk_bytes)
            yield buf, cut
            if eof:
                return
            k ^= 1


class _TrainSink:
    """Where parsed train rows go: the cache files (none without ``out_dir``), the quake cycles (none without
    ``quakes``) and the row digest; ``add`` parses one chunk."""

    def __init__(self, out_dir: Path | None, name: str, chunk_bytes: int, quakes: Quakes | None):
        self.out_dir, self.name, self.quakes, self.rows, self.digest = out_dir, name, quakes, 0, 0
        self.n_pieces = max(2, numba.get_num_threads() * 2)
        cap = (chunk_bytes + _MAX_LINE) // self.n_pieces // 4 + _MAX_LINE  # a line takes at least 4 bytes
        self.sig = np.empty((self.n_pieces, cap), np.int16)
        self.ttf = np.empty((self.n_pieces, cap), np.float64)
        self.jumps = np.empty((self.n_pieces, _JUMP_CAP), np.int64)
        self._files = contextlib.ExitStack()

    def __enter__(self) -> _TrainSink:
        if self.out_dir is None:
            self.writers = []
            return self
        self.writers = [
            self._files.enter_context(DirectWriter(self.out_dir / f)) for f in ("signal.i16", "ttf.f64")
        ]
        return self

    def __exit__(self, *exc) -> None:
        self._files.__exit__(*exc)

    def add(self, buf: np.ndarray, cut: int) -> None:
        pieces = _parse_chunk(buf, cut, self.sig, self.ttf, self.jumps, self.n_pieces, self.name, self.rows)
        for piece_sig, piece_ttf, piece_jumps in pieces:
            if len(piece_ttf) == 0:
                continue
            if self.quakes is not None:
                self.quakes.add(piece_ttf, piece_jumps, self.rows)
            for writer, rows in zip(self.writers, (piece_sig, piece_ttf), strict=False):
                writer.append(rows)
            self.digest = _add(
                self.digest, csvparse.rows_digest(piece_sig, piece_ttf.view(np.uint64), self.rows)
            )
            self.rows += len(piece_ttf)


def _add(digest: int, part) -> int:
    """Row digests add up modulo 2**64."""
    return (digest + int(part)) & 0xFFFF_FFFF_FFFF_FFFF


class Quakes:
    """The quake cycles of a train file, from its upward time_to_failure jumps.

    A quake is a jump from a near-zero time_to_failure to a cycle-length one: the value before the jump is at
    most ``MAX_FRACTION`` of the value after it, and the jump is at least ``MIN_RISE`` seconds (lab cycles
    last seconds; the real file's jumps go from ~0.001 s to 7-16 s). Any other rise (a glitch of a few ms,
    a cycle recorded backwards) is an error naming its line, or with ``rises="warn"`` a logged warning and
    no new cycle."""

    MAX_FRACTION = 0.5
    MIN_RISE = 0.1
    RISES = ("error", "warn")

    def __init__(self, name: str, rises: str = "error"):
        if rises not in self.RISES:
            raise LanlError(f"rises must be one of {', '.join(self.RISES)}, got {rises!r}")
        self.name, self.rises = name, rises
        self.starts: list[int] = [0]
        self.prev = np.inf
        self.ignored: list[int] = []  # lines of the rises taken as glitches (rises="warn"), the first few
        self.n_ignored = 0

    def add(self, t: np.ndarray, jumps: list[int], row0: int) -> None:
        """Rows ``t`` (starting at row ``row0``), rising at the rows ``jumps`` (within ``t``) and perhaps at 0."""
        at = np.asarray(([0] if t[0] > self.prev else []) + list(jumps), np.int64)
        if at.size:
            before = np.where(at > 0, t[np.maximum(at - 1, 0)], self.prev)
            after = t[at]
            quake = (after - before >= self.MIN_RISE) & (before <= self.MAX_FRACTION * after)
            if not quake.all():
                self._glitches(row0 + at[~quake], before[~quake], after[~quake])
            self.starts.extend((row0 + at[quake]).tolist())
        self.prev = float(t[-1])

    def _glitches(self, rows: np.ndarray, before: np.ndarray, after: np.ndarray) -> None:
        line = int(rows[0]) + 2
        if self.rises == "error":
            raise DataError(
                self.name,
                f"time_to_failure rises from {float(before[0])!r} to {float(after[0])!r}, which is no quake (a quake "
                "jumps from near 0 to a cycle length); fix the row, or ingest with --ttf-rises warn to keep "
                "it inside its cycle",
                line=line,
            )
        self.n_ignored += len(rows)
        self.ignored.extend(int(r) + 2 for r in rows[: max(0, 5 - len(self.ignored))])

    def report(self) -> None:
        if self.n_ignored:
            lines = ", ".join(map(str, self.ignored)) + (
                ", ..." if self.n_ignored > len(self.ignored) else ""
            )
            log.warning(
                "%s: %s rise(s) of time_to_failure that are no quake, kept inside their cycle (lines %s)",
                self.name,
                f"{self.n_ignored:,}",
                lines,
            )


def _parse_chunk(buf, cut, sig, ttf, jumps, n_pieces, name, rows_before):
    """Parse ``buf[:cut]`` in parallel pieces; return per piece (signal rows, ttf rows, upward-jump rows).

    Every line is validated by the same kernel; the values it leaves to Python (more digits or a larger
    power of ten than its exact fast path takes) are converted exactly and checked here. The first bad line
    of the chunk, whichever check finds it, is the one named."""
    if cut == 0:
        return []
    bounds = csvparse.split_lines(buf, cut, n_pieces)
    res = csvparse.parse_train(buf, bounds, sig, ttf, csvparse.pow10(), jumps)
    first_line = 2 + rows_before + np.concatenate([[0], np.cumsum(res[:, 0])])  # each piece's first row
    out = []
    for k in range(n_pieces):
        n, line0, t = int(res[k, 0]), int(first_line[k]), ttf[k, : res[k, 0]]
        if res[k, 4]:
            _convert_slow(buf, t, name, line0)
        if res[k, 1] != csvparse.OK:
            raise DataError(name, csvparse.MESSAGES[int(res[k, 1])], line=line0 + n)
        if res[k, 4] or res[k, 3] > _JUMP_CAP:  # jumps not (all) recorded: find them with numpy
            piece_jumps = (np.flatnonzero(t[1:] > t[:-1]) + 1).tolist()
        else:
            piece_jumps = jumps[k, : res[k, 3]].tolist()
        out.append((sig[k, :n], t, piece_jumps))
    return out


def _convert_slow(buf, t: np.ndarray, name: str, line0: int) -> None:
    """Replace the marked values of ``t`` (rows from line ``line0``) by their exact doubles; an infinite or
    negative one is a DataError naming its line, as the fast path names a negative one."""
    rows = np.flatnonzero(t < 0)
    values = csvparse.slow_texts(buf, t[rows])
    bad = (values < 0) | np.isinf(values)
    if bad.any():
        i = int(np.argmax(bad))
        code = csvparse.NEGATIVE if values[i] < 0 else csvparse.INFINITE
        raise DataError(name, csvparse.MESSAGES[code], line=line0 + int(rows[i]))
    t[rows] = values + 0.0  # -0.0 reads as 0.0, as on the fast path


# -------------------------------------------------------------------------------------------- test segments


def ingest_test(ids: list[str], srcs: dict[str, Source], out: Path | None, segment_length: int) -> str:
    """Parse every test segment, in ``ids`` order, into one (n, segment_length) little-endian int16 file,
    written in order (a full disk is then an OSError naming the file, not a fault on a mapped page); with
    ``out=None`` parse only. Returns the segments' row digest (hex)."""
    digest = 0
    with DirectWriter(out) if out is not None and ids else contextlib.nullcontext() as writer:
        for k, seg_id in enumerate(progress(ids, desc="ingest test segments", unit="seg")):
            seg = parse_test_segment(srcs[seg_id], segment_length)
            digest = _add(digest, csvparse.rows_digest(seg, np.empty(0, np.uint64), k * segment_length))
            if writer is not None:
                writer.append(seg.astype("<i2", copy=False))
    return f"{digest:016x}"


def parse_test_segment(src: Source, segment_length: int = SEGMENT_LENGTH) -> np.ndarray:
    """One ``seg_*.csv`` as an int16 array of exactly ``segment_length`` rows, or a DataError."""
    data = src.read_bytes()
    nl = data.find(b"\n")
    _check_header(data[: nl + 1] if nl >= 0 else data, TEST_HEADER, src.name)
    buf = np.frombuffer(data, np.uint8)
    start = nl + 1
    if len(data) > start and data[-1:] != b"\n":
        line = 1 + data.count(b"\n", start) + 1
        raise DataError(src.name, "last line is truncated (no newline at end of file)", line=line)
    body = buf[start:]
    n = int(csvparse._count_newlines(body, 0, len(body)))
    if n != segment_length:
        raise DataError(src.name, f"has {n:,} data rows, expected {segment_length:,}")
    out = np.empty(n, np.int16)
    bounds = csvparse.split_lines(body, len(body), 2)
    counts = csvparse.count_lines(body, bounds)
    offsets = np.array([0, counts[0]], np.int64)
    res = csvparse.parse_signal(body, bounds, offsets, out)
    bad = np.flatnonzero(res[:, 1] != csvparse.OK)
    if bad.size:
        k = bad[0]
        line = 1 + int(offsets[k] + res[k, 0]) + 1
        raise DataError(
            src.name, csvparse.MESSAGES[int(res[k, 1])].replace("acoustic_data", "value"), line=line
        )
    return out


def require_cache(data_dir: str | Path | None, cache_dir: str | Path | None) -> SignalCache:
    """Open the cache of ``data_dir`` (or ``cache_dir``), ingesting first when it is missing or stale."""
    if data_dir is None and cache_dir is None:
        raise LanlError("give a data folder (or --cache DIR)")
    if data_dir is None:
        return SignalCache.open(cache_dir)
    return ingest(data_dir, cache_dir).cache
