"""The bad-input and fault cases of the independent CLI review (shared/reliability/failing-cases.md), one test
each, named by the case id, plus the checks of the root causes behind them.

``base`` is the cases' ``lanl synth base --rows 3000000 --cycles 4 --test-segments 8``; each case works on a
fresh copy. Commands run in this process through click's runner unless the case needs a real process (signals,
mounts, resource limits).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lanl import synth
from lanl.cli import main

LONG = "3,4.98083678031234567891"  # > 18 significant digits: the value is converted outside the fast path


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cases") / "base"
    synth.generate(folder, seed=0, rows=3_000_000, cycles=4, test_segments=8)
    return folder


@pytest.fixture
def fresh(base, tmp_path):
    """``fresh(name)``: a copy of ``base`` at tmp_path/name."""

    def copy(name: str) -> Path:
        return Path(shutil.copytree(base, tmp_path / name))

    return copy


def lanl(*args, cwd: Path | None = None):
    """``lanl ARGS`` in this process: (exit code, stdout and stderr together)."""
    args = [str(a) for a in args]
    if cwd is None:
        res = CliRunner().invoke(main, args)
    else:
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(cwd)
            res = CliRunner().invoke(main, args)
    assert "Traceback" not in res.output, res.output
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.output


def setline(path: Path, n: int, text: str) -> None:
    """Line ``n`` (1-based) of ``path`` becomes ``text``, as the cases' ``setline`` does."""
    lines = path.read_bytes().split(b"\n")
    lines[n - 1] = text.encode()
    path.write_bytes(b"\n".join(lines))


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary entries (ours end in .tmp) and a cache, where a failed command must leave none."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name == ".lanl-cache")


def assert_refused(code: int, out: str, where: str, problem: str) -> None:
    assert code == 2, out
    assert f"error: {where}" in out, out
    assert problem in out, out


# ------------------------------------------------------------------- 1: every train line checked alike


@pytest.mark.parametrize(
    "case,lines,problem",
    [
        ("T12b", {5000: "3,1e999"}, "time_to_failure is infinite"),
        ("T17a", {10: LONG, 5000: "3,x.y"}, "time_to_failure is empty or not a number"),
        ("T17b", {10: LONG, 5000: "3,inf"}, "time_to_failure is empty or not a number"),
        ("T17c", {10: LONG, 5000: ",4.9"}, "acoustic_data is empty or not an integer"),
        ("T17d", {10: LONG, 5000: "40000,4.9"}, "acoustic_data is outside the int16 range"),
        ("T17e", {10: LONG, 5000: ""}, "empty line"),
    ],
)
def test_slow_values_are_checked_like_the_rest(fresh, case, lines, problem):
    data = fresh(case)
    for n, text in lines.items():
        setline(data / "train.csv", n, text)
    for force in ([], ["--force"]):  # T17c: --force used to rebuild the same damaged cache
        code, out = lanl("ingest", data, *force)
        assert_refused(code, out, f"{data / 'train.csv'}, line 5000: ", problem)
        assert leftovers(data) == []


def test_slow_value_negative_or_huge_named_by_its_line(small_data):
    from conftest import write_train_csv

    from lanl.errors import DataError
    from lanl.ingest import ingest

    data, sig, ttf, *_ = small_data
    for text, problem in (("-4.98083678031234567891", "negative"), ("1.5e400", "infinite")):
        t = ttf.copy()
        write_train_csv(data / "train.csv", sig, t)
        setline(data / "train.csv", 777, f"3,{text}")
        setline(data / "train.csv", 30_000, "3,oops")  # a later bad line, in another piece of the chunk
        with pytest.raises(DataError, match=problem) as err:
            ingest(data, chunk_bytes=1 << 20)
        assert err.value.line == 777


def test_slow_values_are_exact_and_keep_the_cycles(small_data):
    """Values of 20 digits or a power of ten beyond 22, anywhere in a chunk: exact doubles (float(text)),
    and the quake cycles found around them as around any other row."""
    from lanl.ingest import ingest

    data, sig, ttf, starts, _ = small_data
    texts = [f"{t!r}" for t in ttf.tolist()]
    for row in (0, 5, starts[1] - 1, starts[1], starts[2], len(ttf) - 1):
        texts[row] = f"{ttf[row]:.22f}" if row % 2 else f"{round(ttf[row] * 1e30)}e-30"
    with open(data / "train.csv", "w") as f:
        f.write("acoustic_data,time_to_failure\n")
        f.writelines(f"{a},{t}\n" for a, t in zip(sig.tolist(), texts, strict=True))
    cache = ingest(data, chunk_bytes=1 << 16, segment_length=1000).cache
    np.testing.assert_array_equal(np.asarray(cache.ttf), [float(t) for t in texts])
    np.testing.assert_array_equal(cache.cycle_starts, starts)


# ------------------------------------------------------------------------- 2: a quake, or an error


def test_T14a_a_1ms_glitch_is_no_quake(fresh):
    data = fresh("t14a")
    setline(data / "train.csv", 300_000, "3,2.737")
    code, out = lanl("ingest", data)
    assert_refused(code, out, f"{data / 'train.csv'}, line 300000: ", "time_to_failure rises from 2.73")
    assert leftovers(data) == []
    code, out = lanl("ingest", data, "--ttf-rises", "warn")
    assert code == 0, out
    assert "warning: " in out and "1 rise(s)" in out and "300000" in out
    assert "4 cycles" in out


def test_T14c_a_reversed_cycle_is_no_811010_quakes(fresh):
    data = fresh("t14c")
    lines = (data / "train.csv").read_bytes().split(b"\n")
    s, e = 672_071 + 1, 1_483_079 + 1
    sig = [line.split(b",")[0] for line in lines[s:e]]
    ttf = [line.split(b",")[1] for line in lines[s:e]][::-1]
    lines[s:e] = [a + b"," + v for a, v in zip(sig, ttf, strict=True)]
    (data / "train.csv").write_bytes(b"\n".join(lines))
    code, out = lanl("ingest", data)
    assert_refused(code, out, f"{data / 'train.csv'}, line 672073: ", "rises from")
    code, out = lanl("ingest", data, "--ttf-rises", "warn")
    assert code == 0 and "rise(s) of time_to_failure that are no quake" in out, out
