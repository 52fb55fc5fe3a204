"""Find the Kaggle files in a data folder: plain files or the zip archives Kaggle serves.

Accepted, in this order of preference:

* ``DATA/train.csv``, else ``DATA/train.csv.zip``, else any ``DATA/*.zip`` holding ``train.csv``;
* ``DATA/test/seg_*.csv``, else ``DATA/test.zip``, else any ``DATA/*.zip`` holding ``test/seg_*.csv``;
* ``DATA/sample_submission.csv``, else inside any ``DATA/*.zip``.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
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
        if self.member is None:
            return open(self.path, "rb")
        return zipfile.ZipFile(self.path).open(self.member)

    def read_bytes(self) -> bytes:
        with self.open() as f:
            return f.read()

    def size(self) -> int:
        if self.member is None:
            return self.path.stat().st_size
        with zipfile.ZipFile(self.path) as z:
            return z.getinfo(self.member).file_size

    def describe(self) -> dict:
        """Size, mtime and a content fingerprint: what the cache manifest compares to detect a change."""
        st = self.path.stat()
        return {
            "name": self.name,
            "size": self.size(),
            "mtime_ns": st.st_mtime_ns,
            "fingerprint": file_fingerprint(self.path),
        }


class DataLayout:
    """The Kaggle layout under one folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.exists():
            raise DataError(self.root, "data folder does not exist (run `lanl synth DIR` or `lanl download DIR`)")
        if not self.root.is_dir():
            raise DataError(self.root, "expected a data folder in the Kaggle layout, found a file")
        self._zips = sorted(self.root.glob("*.zip"))

    def _in_zips(self, member: str) -> Source | None:
        for z in self._zips:
            try:
                with zipfile.ZipFile(z) as zf:
                    if member in zf.namelist():
                        return Source(z, member)
            except zipfile.BadZipFile as exc:
                raise DataError(z, f"not a readable zip archive ({exc})") from None
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
            with zipfile.ZipFile(z) as zf:
                found = {m.group(1): Source(z, n) for n in zf.namelist() if (m := _SEG_RE.search(n))}
            if found:
                return found
        return {}


def plain_source(path: Path) -> Source:
    return Source(Path(path), None)


def describe_test(sources: dict[str, Source], sample: Source | None) -> dict:
    """A cheap identity for the whole test set: names, sizes and mtimes of every segment file."""
    h = hashlib.blake2b(digest_size=16)
    for seg_id, src in sorted(sources.items()):
        st = src.path.stat()
        h.update(f"{seg_id}|{src.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return {
        "segments": len(sources),
        "fingerprint": h.hexdigest(),
        "sample_submission": sample.describe() if sample else None,
    }


def read_sample_submission(src: Source) -> list[str]:
    """The seg_ids of ``sample_submission.csv`` in file order; header and duplicates are checked."""
    lines = io.TextIOWrapper(src.open(), encoding="utf-8-sig").read().splitlines()
    if not lines:
        raise DataError(src.name, "empty file (expected header seg_id,time_to_failure)", line=1)
    if lines[0].strip() != "seg_id,time_to_failure":
        raise DataError(src.name, f"expected header 'seg_id,time_to_failure', found {lines[0][:80]!r}", line=1)
    ids: list[str] = []
    seen: dict[str, int] = {}
    for lineno, text in enumerate(lines[1:], start=2):
        if not text.strip():
            raise DataError(src.name, "empty line", line=lineno)
        seg_id = text.split(",", 1)[0].strip()
        if not re.fullmatch(r"seg_[0-9a-fA-F]+", seg_id):
            raise DataError(src.name, f"malformed seg_id {seg_id!r}", line=lineno)
        if seg_id in seen:
            raise DataError(src.name, f"duplicate seg_id {seg_id} (first on line {seen[seg_id]})", line=lineno)
        seen[seg_id] = lineno
        ids.append(seg_id)
    return ids


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
