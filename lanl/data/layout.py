"""Find the Kaggle files in a data folder: plain files or the zip archives Kaggle serves.

Accepted, in this order of preference:

* ``DATA/train.csv``, else ``DATA/train.csv.zip``, else any ``DATA/*.zip`` holding ``train.csv``;
* ``DATA/test/seg_*.csv``, else ``DATA/test.zip``, else any ``DATA/*.zip`` holding ``test/seg_*.csv``;
* ``DATA/sample_submission.csv``, else inside any ``DATA/*.zip``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lanl.errors import DataError
from lanl.fsutil import file_fingerprint

_SEG_RE = re.compile(r"(?:^|/)(seg_[0-9a-fA-F]+)\.csv$")


@dataclass(frozen=True)
class Source:
    """One logical input file: a file on disk, or a member of a zip archive on disk."""

    path: Path
    member: str | None = None

    @property
    def name(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    def open(self) -> BinaryIO:
        """The file, or the member's decompressed bytes (damage in the archive: a DataError naming it)."""
        if self.member is None:
            return open(self.path, "rb")
        return _Member(self)

    def read_bytes(self) -> bytes:
        with self.open() as f:
            return f.read()

    def size(self) -> int:
        if self.member is None:
            return self.path.stat().st_size
        with _open_zip(self.path) as z:
            return z.getinfo(self.member).file_size

    def identity(self) -> dict:
        """What identifies the content, cheaply and wherever the file lies (no path, no mtime): the size and a
        digest of sampled blocks (:func:`lanl.fsutil.file_fingerprint`); a zip member's size and CRC-32."""
        if self.member is not None:
            with _open_zip(self.path) as z:
                info = z.getinfo(self.member)
            return {"size": info.file_size, "crc32": f"{info.CRC:08x}"}
        return {"size": self.path.stat().st_size, "sample": file_fingerprint(self.path)}

    def stamp(self) -> int | None:
        """The file's mtime: while it is unchanged the content is taken as unchanged (a zip member: None,
        its CRC-32 covers all of it)."""
        return None if self.member is not None else self.path.stat().st_mtime_ns


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise DataError(path, f"not a readable zip archive ({exc})") from None


_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError)


class _Member(io.RawIOBase):
    """A zip member being read: the archive is closed with it, and damage found while decompressing (a bad
    CRC, corrupt deflate data, a truncated archive) is a DataError naming the archive and the member."""

    def __init__(self, src: Source):
        self.name = src.name
        self._zip = _open_zip(src.path)
        self._file = self._guard(self._zip.open, src.member)

    def _guard(self, call, *args):
        try:
            return call(*args)
        except _DAMAGE as exc:
            raise DataError(self.name, f"damaged zip archive: {exc}") from None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._guard(self._file.readinto, buffer)

    def readline(self, size: int = -1) -> bytes:
        return self._guard(self._file.readline, size)

    def read(self, size: int = -1) -> bytes:
        return self._guard(self._file.read, size)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._zip.close()
        super().close()


class DataLayout:
    """The Kaggle layout under one folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.exists():
            raise DataError(
                self.root, "data folder does not exist (run `lanl synth DIR` or `lanl download DIR`)"
            )
        if not self.root.is_dir():
            raise DataError(self.root, "expected a data folder in the Kaggle layout, found a file")
        self._zips = sorted(self.root.glob("*.zip"))

    def _in_zips(self, member: str) -> Source | None:
        for z in self._zips:
            with _open_zip(z) as zf:
                if member in zf.namelist():
                    return Source(z, member)
        return None

    def train(self) -> Source:
        plain = self.root / "train.csv"
        if plain.is_file():
            return plain_source(plain)
        src = self._in_zips("train.csv")
        if src is None:
            raise DataError(self.root, "no train.csv (nor train.csv.zip, nor a zip holding train.csv) here")
        return src

    def sample_submission(self) -> Source | None:
        plain = self.root / "sample_submission.csv"
        if plain.is_file():
            return plain_source(plain)
        return self._in_zips("sample_submission.csv")

    def test_sources(self) -> dict[str, Source]:
        """seg_id -> Source for every ``seg_*.csv`` of the test folder or zip (empty when there is none)."""
        folder = self.root / "test"
        if folder.is_dir():
            return {p.stem: plain_source(p) for p in sorted(folder.glob("seg_*.csv"))}
        for z in self._zips:
            with _open_zip(z) as zf:
                found = {m.group(1): Source(z, n) for n in zf.namelist() if (m := _SEG_RE.search(n))}
            if found:
                return found
        return {}


def plain_source(path: Path) -> Source:
    return Source(Path(path), None)


def test_identity(sources: dict[str, Source]) -> dict:
    """:meth:`Source.identity` of the whole test set, cheap for thousands of segments: per segment its id,
    size and a digest of three 4 KiB blocks (start, middle, end), or a zip member's size and CRC-32."""
    h = hashlib.blake2b(digest_size=16)
    for seg_id, src in sorted(sources.items()):
        h.update(f"{seg_id}|{json.dumps(_segment_identity(src), sort_keys=True)}\n".encode())
    return {"segments": len(sources), "sample": h.hexdigest()}


def test_stamp(sources: dict[str, Source]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for seg_id, src in sorted(sources.items()):
        h.update(f"{seg_id}|{src.stamp()}\n".encode())
    return h.hexdigest()


def _segment_identity(src: Source) -> dict:
    if src.member is not None:
        return src.identity()
    size = src.path.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    with open(src.path, "rb") as f:
        for offset in (0, max(0, size // 2 - 2048), max(0, size - 4096)):
            f.seek(offset)
            h.update(f.read(4096))
    return {"size": size, "sample": h.hexdigest()}


def read_sample_submission(src: Source) -> list[str]:
    """The seg_ids of ``sample_submission.csv`` in file order; header and duplicates are checked. The one
    reader of the file: ingest, brought tables and the synthetic generator's ``sample_submission=``."""
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise DataError(src.name, f"cannot read sample submission: {exc}") from None
    lines = _decode(data, src.name).splitlines()
    if not lines:
        raise DataError(src.name, "empty file (expected header seg_id,time_to_failure)", line=1)
    if lines[0].strip() != "seg_id,time_to_failure":
        raise DataError(
            src.name, f"expected header 'seg_id,time_to_failure', found {lines[0][:80]!r}", line=1
        )
    ids: list[str] = []
    seen: dict[str, int] = {}
    for lineno, text in enumerate(lines[1:], start=2):
        if not text.strip():
            raise DataError(src.name, "empty line", line=lineno)
        seg_id = text.split(",", 1)[0].strip()
        if not re.fullmatch(r"seg_[0-9a-fA-F]+", seg_id):
            raise DataError(src.name, f"malformed seg_id {seg_id!r}", line=lineno)
        if seg_id in seen:
            raise DataError(
                src.name, f"duplicate seg_id {seg_id} (first on line {seen[seg_id]})", line=lineno
            )
        seen[seg_id] = lineno
        ids.append(seg_id)
    return ids


def _decode(data: bytes, name: str) -> str:
    """UTF-8 text (a BOM dropped), else a DataError naming the line and column of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        problem = f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {exc.start - line_start + 1})"
        raise DataError(name, problem, line=line) from None


def match_test_ids(sample_ids: list[str], sources: dict[str, Source], sample_name: str) -> None:
    """The test folder must hold exactly the segments that sample_submission lists."""
    missing = [s for s in sample_ids if s not in sources]
    extra = sorted(set(sources) - set(sample_ids))
    if missing:
        more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        raise DataError(sample_name, f"lists segments with no test file: {', '.join(missing[:5])}{more}")
    if extra:
        more = f" (and {len(extra) - 5} more)" if len(extra) > 5 else ""
        raise DataError(
            sources[extra[0]].name, f"test segments not in {sample_name}: {', '.join(extra[:5])}{more}"
        )
