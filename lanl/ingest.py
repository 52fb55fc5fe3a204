"""``lanl ingest``: stream the Kaggle CSVs once into the memory-mapped :mod:`lanl.cache`.

train.csv is read in fixed-size byte chunks cut at the last newline; each chunk is split into pieces that
numba parses and validates in parallel (:mod:`lanl.csvparse`) while a reader thread fetches the next chunk.
Parsed rows are appended to the cache files, so peak memory is a few chunk buffers whatever the file size.
Quake boundaries (rows where time_to_failure jumps up) are recorded during the parse.

Everything is written into a temporary folder renamed into place at the end; a rerun whose sources have the
same size, mtime and fingerprint is a no-op.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from lanl import __version__, csvparse
from lanl.cache import FORMAT_VERSION, MANIFEST, SignalCache, default_cache_dir, read_manifest
from lanl.directio import DirectWriter
from lanl.errors import DataError, LanlError
from lanl.fsutil import atomic_dir, write_json_atomic
from lanl.layout import DataLayout, Source, describe_test, match_test_ids, read_sample_submission
from lanl.progress import progress

TRAIN_HEADER = "acoustic_data,time_to_failure"
TEST_HEADER = "acoustic_data"
SEGMENT_LENGTH = 150_000
CHUNK_BYTES = 32 << 20
_MAX_LINE = 1 << 12
_JUMP_CAP = 256


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
) -> IngestResult:
    """Parse, validate and cache ``DATA/train.csv`` and the test segments; return the opened cache."""
    t0 = time.perf_counter()
    layout = DataLayout(data_dir)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir(data_dir)
    train_src = layout.train()
    test_ids, test_srcs, sample = _resolve_test(layout)
    sources = {"train": train_src.describe(), "test": describe_test(test_srcs, sample)}
    old = read_manifest(cache_dir)
    if not force and old is not None and old.get("sources") == sources:
        return IngestResult(SignalCache.open(cache_dir), True, time.perf_counter() - t0)
    with atomic_dir(cache_dir) as tmp:
        rows, cycle_starts = ingest_train(train_src, tmp, chunk_bytes=chunk_bytes)
        ingest_test(test_ids, test_srcs, tmp / "test_signal.i16", segment_length)
        manifest = {
            "format_version": FORMAT_VERSION,
            "code_version": __version__,
            "sources": sources,
            "fingerprint": _fingerprint(sources),
            "rows": rows,
            "cycle_starts": [int(x) for x in cycle_starts],
            "test_ids": test_ids,
            "test_segment_length": segment_length,
            "complete": True,
        }
        write_json_atomic(tmp / MANIFEST, manifest)
    return IngestResult(SignalCache.open(cache_dir), False, time.perf_counter() - t0)


def _fingerprint(sources: dict) -> str:
    return hashlib.blake2b(json.dumps(sources, sort_keys=True).encode(), digest_size=12).hexdigest()


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


def ingest_train(src: Source, out_dir: Path, *, chunk_bytes: int = CHUNK_BYTES) -> tuple[int, list[int]]:
    """Stream ``src`` into ``out_dir/signal.i16`` and ``ttf.f64``; return (rows, cycle start rows).

    Two byte buffers alternate: while numba parses one, a thread reads the next chunk into the other.
    """
    n_pieces = max(2, numba.get_num_threads() * 2)
    cap = (chunk_bytes + _MAX_LINE) // n_pieces // 4 + _MAX_LINE
    sig = np.empty((n_pieces, cap), np.int16)
    ttf = np.empty((n_pieces, cap), np.float64)
    jumps = np.empty((n_pieces, _JUMP_CAP), np.int64)
    bufs = [np.empty(chunk_bytes + _MAX_LINE, np.uint8) for _ in range(2)]
    rows, cycle_starts, prev_last = 0, [0], np.inf
    with (
        src.open() as f,
        DirectWriter(out_dir / "signal.i16") as fs,
        DirectWriter(out_dir / "ttf.f64") as ft,
        cf.ThreadPoolExecutor(1) as pool,
        progress(total=src.size(), desc=f"ingest {Path(src.name).name}", unit="B", unit_scale=True) as bar,
    ):
        header = f.readline(_MAX_LINE)
        _check_header(header, TRAIN_HEADER, src.name)
        bar.update(len(header))
        k, carry = 0, 0
        pending = pool.submit(_read_into, f, bufs[0], 0, chunk_bytes)
        while True:
            buf = bufs[k]
            got = pending.result()
            filled, eof = carry + got, got == 0
            cut = int(csvparse.last_newline(buf, filled)) + 1
            if eof and cut < filled:
                raise DataError(src.name, "last line is truncated (no newline at end of file)", line=rows + 2)
            if cut == 0 and filled >= chunk_bytes:
                raise DataError(src.name, f"line longer than {chunk_bytes} bytes", line=rows + 2)
            carry = filled - cut
            bufs[k ^ 1][:carry] = buf[cut:filled]
            if not eof:
                pending = pool.submit(_read_into, f, bufs[k ^ 1], carry, chunk_bytes)
            for piece_sig, piece_ttf, piece_jumps in _parse_chunk(
                buf, cut, sig, ttf, jumps, n_pieces, src.name, rows
            ):
                if len(piece_ttf) == 0:
                    continue
                if piece_ttf[0] > prev_last:
                    cycle_starts.append(rows)
                cycle_starts.extend(rows + j for j in piece_jumps)
                prev_last = piece_ttf[-1]
                fs.append(piece_sig)
                ft.append(piece_ttf)
                rows += len(piece_ttf)
            bar.update(cut)
            bar.set_postfix(rows=f"{rows:,}", refresh=False)
            if eof:
                break
            k ^= 1
    if rows == 0:
        raise DataError(src.name, "no data rows after the header", line=2)
    return rows, cycle_starts


def _parse_chunk(buf, cut, sig, ttf, jumps, n_pieces, name, rows_before):
    """Parse ``buf[:cut]`` in parallel pieces; return per piece (signal rows, ttf rows, upward-jump rows)."""
    if cut == 0:
        return []
    bounds = csvparse.split_lines(buf, cut, n_pieces)
    res = csvparse.parse_train(buf, bounds, sig, ttf, csvparse.pow10(), jumps)
    bad = np.flatnonzero(res[:, 1] != csvparse.OK)
    if bad.size:
        k = bad[0]
        if res[k, 1] == csvparse.SLOW:
            return [_parse_chunk_exact(buf, cut, name, rows_before)]
        line = 1 + rows_before + int(res[:k, 0].sum() + res[k, 0]) + 1
        raise DataError(name, csvparse.MESSAGES[int(res[k, 1])], line=line)
    out = []
    for k in range(n_pieces):
        n, nj = int(res[k, 0]), int(res[k, 3])
        if nj > _JUMP_CAP:  # more quakes in one piece than recorded: find them all with numpy
            t = ttf[k, :n]
            piece_jumps = (np.flatnonzero(t[1:] > t[:-1]) + 1).tolist()
        else:
            piece_jumps = jumps[k, :nj].tolist()
        out.append((sig[k, :n], ttf[k, :n], piece_jumps))
    return out


def _parse_chunk_exact(buf, cut, name, rows_before):
    """Slow exact path for values with more digits than the fast path handles: pyarrow's CSV parser."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            io.BytesIO(buf[:cut].tobytes()),
            read_options=pacsv.ReadOptions(column_names=["a", "t"]),
            convert_options=pacsv.ConvertOptions(column_types={"a": pa.int16(), "t": pa.float64()}),
        )
    except pa.ArrowInvalid as exc:
        raise DataError(name, f"unparseable data in the block after line {rows_before + 1}: {exc}") from None
    a = table.column("a").to_numpy()
    t = table.column("t").to_numpy()
    for problem, mask in (("time_to_failure is NaN", np.isnan(t)), ("time_to_failure is negative", t < 0)):
        if mask.any():
            raise DataError(name, problem, line=1 + rows_before + int(np.argmax(mask)) + 1)
    return a, t, (np.flatnonzero(t[1:] > t[:-1]) + 1).tolist()


# -------------------------------------------------------------------------------------------- test segments


def ingest_test(ids: list[str], srcs: dict[str, Source], out: Path, segment_length: int) -> None:
    """Parse every test segment, in ``ids`` order, into one (n, segment_length) int16 file."""
    if not ids:
        return
    mm = np.memmap(out, dtype="<i2", mode="w+", shape=(len(ids), segment_length))
    for k, seg_id in enumerate(progress(ids, desc="ingest test segments", unit="seg")):
        mm[k] = parse_test_segment(srcs[seg_id], segment_length)
    mm.flush()
    del mm


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
        raise DataError(src.name, csvparse.MESSAGES[int(res[k, 1])].replace("acoustic_data", "value"), line=line)
    return out


def require_cache(data_dir: str | Path | None, cache_dir: str | Path | None) -> SignalCache:
    """Open the cache of ``data_dir`` (or ``cache_dir``), ingesting first when it is missing or stale."""
    if data_dir is None and cache_dir is None:
        raise LanlError("give a data folder (or --cache DIR)")
    if data_dir is None:
        return SignalCache.open(cache_dir)
    return ingest(data_dir, cache_dir).cache
