"""The bad-input and fault cases of the independent CLI review (shared/reliability/failing-cases.md), one test
each, named by the case id, plus the checks of the root causes behind them.

``base`` is the cases' ``lanl synth base --rows 3000000 --cycles 4 --test-segments 8``; each case works on a
fresh copy. Commands run in this process through click's runner unless the case needs a real process (signals,
mounts, resource limits).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lanl.cli import main
from lanl.data import synth
from lanl.errors import LanlError

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

    from lanl.data.ingest import ingest
    from lanl.errors import DataError

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
    from lanl.data.ingest import ingest

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


# ------------------------------------------------------------------ 3: OS errors are clear, exit 2

REPO = Path(__file__).resolve().parents[1]


def cli_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "LANL_PROGRESS": "0"}


def run_cli(*args, cwd: Path, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """``lanl ARGS`` in a process of its own (this checkout's package)."""
    cmd = [sys.executable, "-m", "lanl", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def work(base, tmp_path_factory) -> Path:
    """The cases' working folder: ``w`` (base, ingested), runs/a (lgbm, kernel) and runs/awin (winners)."""
    root = tmp_path_factory.mktemp("work")
    shutil.copytree(base, root / "w")
    for name, fs in (("a", "kernel"), ("awin", "winners")):
        code, out = lanl(
            "train", "w", "--model", "lgbm", "--features", fs, "--k", "3", "--name", name, cwd=root
        )
        assert code == 0, out
    return root


@pytest.fixture(scope="module")
def mounts(tmp_path_factory):
    """``mounts(script, cwd)`` runs a shell script in a mount namespace of its own (its tmpfs mounts vanish
    with it); skips where this machine allows no mounts."""
    probe = tmp_path_factory.mktemp("probe")
    check = f"mount -t tmpfs -o size=1m tmpfs {probe} && mount -o remount,ro {probe} && ! touch {probe}/x"
    if not shutil.which("unshare"):
        pytest.skip("no unshare(1) here: cannot mount a read-only or full file system")
    res = subprocess.run(["unshare", "-m", "sh", "-c", check], capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"mounting a tmpfs is not permitted here ({res.stderr.strip()[:100]})")

    def run(script: str, cwd: Path) -> subprocess.CompletedProcess:
        lines = f"set -e; L='{sys.executable} -m lanl'\n{script}"
        return subprocess.run(
            ["unshare", "-m", "bash", "-c", lines],
            cwd=cwd,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run


def assert_clear(res: subprocess.CompletedProcess, where: str, problem: str) -> None:
    assert "Traceback" not in res.stderr, res.stderr
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert f"error: {where}: {problem}" in res.stderr, res.stderr


READ_ONLY = "mkdir -p ro && mount -t tmpfs -o size=10m tmpfs ro && mount -o remount,ro ro\n"


def test_R01_ingest_into_read_only_data(mounts, base, tmp_path):
    script = "mkdir -p rodata && mount -t tmpfs -o size=100m tmpfs rodata && cp -r BASE/* rodata/\n"
    script += "mount -o remount,ro rodata\n$L ingest rodata\n"
    res = mounts(script.replace("BASE", str(base)), tmp_path)
    assert_clear(res, "rodata", "Read-only file system (the file system is read-only: write elsewhere")


@pytest.mark.parametrize(
    "case,command,where",
    [
        ("R02", "cd ro && $L features ../w", "features"),
        (
            "R03",
            "cd ro && $L train ../w --model lgbm --features kernel --k 3 --features-dir ../features",
            "runs",
        ),
        ("R04", "$L submit runs/a --data w --out ro/subs", "ro/subs"),
        ("R05", "$L bundle --out ro/bundle", "ro/bundle"),
        ("R06", "$L report runs/a --out ro/rep", "ro"),
        ("R07", "$L synth ro/syn --rows 1300000 --cycles 2 --test-segments 2", "ro"),
    ],
)
def test_read_only_outputs(mounts, work, case, command, where):
    res = mounts(READ_ONLY + command, work)
    assert_clear(res, where, "Read-only file system")


def test_DSK1_full_disk_during_ingest(mounts, base, tmp_path):
    script = f"mkdir small && mount -t tmpfs -o size=2m tmpfs small\nset +e\n$L ingest {base} --cache small/cache\n"
    res = mounts(script + "echo rc=$?\nls -A small", tmp_path)
    assert "Traceback" not in res.stderr, res.stderr
    assert "rc=2" in res.stdout, (res.stdout, res.stderr)
    assert re.search(
        r"error: small/cache/(signal\.i16|ttf\.f64): No space left on device \(no space", res.stderr
    )
    assert res.stdout.strip() == "rc=2"  # nothing left on the full disk


def test_DSK2_full_disk_during_features(mounts, work):
    script = (
        "mkdir -p tiny && mount -t tmpfs -o size=64k tmpfs tiny\nset +e\n$L features w --out tiny/features\n"
    )
    res = mounts(script + "echo rc=$?\nls -A tiny", work)
    assert "Traceback" not in res.stderr, res.stderr
    assert "rc=2" in res.stdout, (res.stdout, res.stderr)
    assert "error: tiny/features/kernel-train-" in res.stderr and "No space left on device" in res.stderr
    assert res.stdout.strip() == "rc=2"  # no temporary folder, no empty features/ either


def test_full_disk_by_file_size_limit(base, tmp_path):
    """The full-disk case without mounts: a file-size limit makes the cache's first big write fail."""

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    res = run_cli("ingest", base, "--cache", tmp_path / "out" / "cache", cwd=tmp_path, preexec_fn=limit)
    assert_clear(res, f"{tmp_path / 'out' / 'cache'}/ttf.f64", "File too large")  # the first past 1 MB
    assert not (tmp_path / "out").exists()  # nothing half-written, not even the folder made for it


def test_C19_a_folder_given_as_config_file(work, tmp_path):
    (tmp_path / "cfgdir").mkdir()
    code, out = lanl("train", work / "w", "--config", tmp_path / "cfgdir")
    assert_refused(code, out, f"{tmp_path / 'cfgdir'}: ", "Is a directory (this is a folder: give a file)")


def test_a_file_in_the_output_path(work, tmp_path):
    (tmp_path / "file").write_text("x")
    code, out = lanl("ingest", work / "w", "--cache", tmp_path / "file" / "cache")
    assert_refused(code, out, f"{tmp_path / 'file'}: ", "Not a directory (a part of this path is a file")
    code, out = lanl("submit", work / "runs" / "a", "--data", work / "w", "--out", tmp_path / "file" / "subs")
    assert_refused(code, out, f"{tmp_path / 'file'}", "Not a directory")


# ----------------------------------------------------------- 7: interrupted runs clean up after themselves


def start_ingest(data: Path, *extra) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "lanl", "ingest", str(data), *extra]
    return subprocess.Popen(cmd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt_ingest(data: Path, signum: int, *extra) -> tuple[int, str]:
    """Start ``lanl ingest DATA``, send ``signum`` once its temporary cache folder exists; (exit code, stderr)."""
    proc = start_ingest(data, *extra)
    while not list(data.glob("..lanl-cache.*.tmp")):
        if proc.poll() is not None:
            pytest.fail(f"ingest ended before it could be interrupted: {proc.communicate()}")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 1)])
def test_P04_sigterm_or_ctrl_c_removes_the_temporary_cache(fresh, signum, code):
    data = fresh("p04")
    rc, err = interrupt_ingest(data, signum, "--force")
    assert rc == code, err
    assert "Traceback" not in err, err
    assert leftovers(data) == []


def test_P05_stale_temporary_folders_are_swept(fresh):
    data = fresh("p05")
    rc, _ = interrupt_ingest(data, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    (stale,) = data.glob("..lanl-cache.*.tmp")
    legacy = data / "..lanl-cache.ab12cd34.tmp"  # what the previous code left (mkdtemp, no lock)
    legacy.mkdir()
    (legacy / "signal.i16").write_bytes(b"x" * 1000)
    code, out = lanl("ingest", data)
    assert code == 0, out
    assert f"warning: removed {stale} (" in out and f"warning: removed {legacy} (1.0 KB)" in out
    assert leftovers(data) == [".lanl-cache"]
    rc, _ = interrupt_ingest(data, signal.SIGKILL, "--force")  # on top of a good cache
    code, out = lanl("ingest", data)  # the cache is up to date: the leftovers go all the same
    assert code == 0 and "cache up to date" in out and "warning: removed" in out, out
    assert leftovers(data) == [".lanl-cache"]


def test_a_live_runs_temporary_folder_is_left_alone(tmp_path):
    """Another process writing the same output keeps its temporary folder; once it is killed, it is swept."""
    from lanl.fsutil import sweep_temps

    target = tmp_path / "out"
    writer = "import sys, time; from lanl.fsutil import atomic_dir\n"
    writer += "with atomic_dir(sys.argv[1]) as tmp:\n    print(tmp, flush=True); time.sleep(120)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", writer, str(target)], stdout=subprocess.PIPE, text=True, env=cli_env()
    )
    try:
        tmp = Path(proc.stdout.readline().strip())
        assert tmp.is_dir() and sweep_temps(target) == [] and tmp.is_dir()
    finally:
        proc.kill()
        proc.wait()
    assert sweep_temps(target) == [tmp] and not tmp.exists()


@pytest.mark.parametrize("mask,dirs,files", [(0o022, 0o755, 0o644), (0o002, 0o775, 0o664)])
def test_outputs_follow_the_umask(small_data, tmp_path, mask, dirs, files):
    from lanl.data.ingest import ingest

    data, *_ = small_data
    old = os.umask(mask)
    try:
        root = ingest(data, tmp_path / "cache", segment_length=1000).cache.root
    finally:
        os.umask(old)
    assert root.stat().st_mode & 0o777 == dirs
    for path in root.iterdir():
        assert path.stat().st_mode & 0o777 == files, path


# ------------------------------------------------------------------ 8: workers end with their parent


def test_P07_feature_workers_exit_when_the_parent_is_killed(work, tmp_path):
    import psutil

    cmd = [
        sys.executable,
        "-m",
        "lanl",
        "features",
        "w",
        "--stride",
        "1000",
        "--jobs",
        "2",
        "--out",
        tmp_path / "f",
    ]
    proc = subprocess.Popen(list(map(str, cmd)), cwd=work, env=cli_env(), stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    workers: list = []
    for _ in range(600):
        workers = _pool_workers(parent)
        if len(workers) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert len(workers) >= 2, "the features run ended before its workers were seen"
    proc.kill()
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert alive == [], f"workers still running after their parent was killed: {alive}"


def _pool_workers(parent) -> list:
    """The processes the fork server forked for the pool (the parent's own children are the fork server and
    multiprocessing's resource tracker)."""
    import psutil

    found = []
    for p in parent.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if p.ppid() != parent.pid:
                found.append(p)
    return found


def test_process_runner_does_not_fork_this_process():
    from lanl.features.runners import pool_context

    assert pool_context().get_start_method() in ("forkserver", "spawn")


# ------------------------------------------------------------------------- 6: data identified by content


def test_DET6_the_same_data_by_an_absolute_path(work):
    code, out = lanl("info", work / "w")
    assert code == 0, out
    code, out = lanl("submit", "runs/a", "--data", work / "w", cwd=work)
    assert code == 0, out


def test_DET7_touch_keeps_the_cache_and_the_runs(fresh, tmp_path):
    data = fresh("tw")
    code, out = lanl(
        "train", data, "--model", "lgbm", "--features", "kernel", "--k", "3", "--name", "tw", cwd=tmp_path
    )
    assert code == 0, out
    signal_file = data / ".lanl-cache" / "signal.i16"
    written = signal_file.stat().st_mtime_ns
    for path in [data / "train.csv", *(data / "test").iterdir()]:
        path.touch()
    code, out = lanl("submit", "runs/tw", "--data", data, cwd=tmp_path)
    assert code == 0, out
    assert "note: " in out and "their content did not" in out
    assert signal_file.stat().st_mtime_ns == written  # not ingested again
    code, out = lanl("ingest", data)
    assert "cache up to date" in out and "note" not in out  # the new mtimes are recorded


def test_a_same_size_edit_outside_the_sampled_blocks_is_caught(fresh):
    """Size and sampled blocks unchanged, mtime changed: the rows are parsed again and their digest differs."""
    from lanl.data.ingest import ingest

    data = fresh("edit")
    first = ingest(data).cache.fingerprint
    text = bytearray((data / "train.csv").read_bytes())
    at = text.index(b"\n", len(text) * 20 // 64 + (100 << 10)) + 1  # 100 KiB past sampled block 20
    at += text[at] == ord("-")
    text[at] = ord("7") if text[at] != ord("7") else ord("8")  # a digit of one row's acoustic_data
    (data / "train.csv").write_bytes(bytes(text))
    again = ingest(data)
    assert not again.skipped and again.cache.fingerprint != first


def test_the_same_rows_are_the_same_data_wherever_and_however_stored(small_data, tmp_path):
    import zipfile

    from lanl.data.ingest import ingest

    data, *_ = small_data
    here = ingest(data, segment_length=1000).cache.fingerprint
    moved = Path(shutil.copytree(data, tmp_path / "elsewhere", ignore=shutil.ignore_patterns(".lanl-cache")))
    assert ingest(moved, segment_length=1000).cache.fingerprint == here
    zipped = tmp_path / "zipped"
    zipped.mkdir()
    with zipfile.ZipFile(zipped / "train.csv.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(data / "train.csv", "train.csv")
    shutil.copytree(data / "test", zipped / "test")
    shutil.copy(data / "sample_submission.csv", zipped)
    assert ingest(zipped, segment_length=1000).cache.fingerprint == here


# ------------------------------------------------------------- 4: damaged archives and run files named


def zip_train(data: Path, method: int) -> Path:
    with zipfile.ZipFile(data / "train.csv.zip", "w", method) as z:
        z.write(data / "train.csv", "train.csv")
    (data / "train.csv").unlink()
    return data / "train.csv.zip"


def test_T16e_corrupt_deflate_data_in_train_zip(fresh):
    data = fresh("t16e")
    path = zip_train(data, zipfile.ZIP_DEFLATED)
    b = bytearray(path.read_bytes())
    m = len(b) // 2
    b[m : m + 64] = random.Random(0).randbytes(64)
    path.write_bytes(bytes(b))
    code, out = lanl("ingest", data)
    # the garbage the damaged stream inflates to is met (and named by its line) before the CRC at its end
    assert code == 2 and re.search(
        f"error: {re.escape(str(path))}:train.csv(: damaged zip|, line [0-9]+: )", out
    ), out
    assert leftovers(data) == []


def test_T16e2_crc_mismatch_in_a_stored_train_zip(fresh):
    data = fresh("t16e2")
    path = zip_train(data, zipfile.ZIP_STORED)
    b = bytearray(path.read_bytes())
    i = b.find(b"\n", len(b) // 2) + 1
    b[i] = ord("7") if b[i] != ord("7") else ord("8")
    path.write_bytes(bytes(b))
    code, out = lanl("ingest", data)
    assert_refused(code, out, f"{path}:train.csv: ", "damaged zip archive: Bad CRC-32")
    assert leftovers(data) == []


def test_T16f_garbage_test_zip(fresh):
    data = fresh("t16f")
    shutil.rmtree(data / "test")
    (data / "test.zip").write_bytes(random.Random(1).randbytes(5000))
    code, out = lanl("ingest", data)
    assert_refused(code, out, f"{data / 'test.zip'}: ", "not a readable zip archive")


def test_T16g_corrupt_member_of_test_zip(fresh):
    data = fresh("t16g")
    with zipfile.ZipFile(data / "test.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted((data / "test").glob("*.csv")):
            z.write(p, f"test/{p.name}")
    shutil.rmtree(data / "test")
    b = bytearray((data / "test.zip").read_bytes())
    b[3000:3064] = random.Random(0).randbytes(64)
    (data / "test.zip").write_bytes(bytes(b))
    code, out = lanl("ingest", data)
    assert_refused(code, out, f"{data / 'test.zip'}:test/seg_", "damaged zip archive")
    assert leftovers(data) == []


def test_S17_sample_submission_not_utf8(fresh):
    data = fresh("s13")
    path = data / "sample_submission.csv"
    path.write_bytes(path.read_bytes().replace(b"seg_33065d", b"seg_33065d\xff\xfe", 1))
    code, out = lanl("ingest", data)
    assert_refused(code, out, f"{path}, line 3: ", "not UTF-8 text (byte 0xff at column 11)")


def copy_run(work: Path, name: str, new: str) -> Path:
    return Path(shutil.copytree(work / "runs" / name, work / "runs" / new, dirs_exist_ok=True))


def test_U04_a_string_typed_mean_column(work):
    run = copy_run(work, "a", "u02c")
    t = pd.read_parquet(run / "test_pred.parquet")
    t["mean"] = t["mean"].astype(str)
    t.loc[1, "mean"] = "abc"
    t.to_parquet(run / "test_pred.parquet", index=False)
    code, out = lanl("submit", "runs/u02c", "--data", "w", cwd=work)
    assert_refused(code, out, f"{Path('runs/u02c/test_pred.parquet')}: ", "column mean holds")
    assert "not numbers, e.g. row 2: 'abc'" in out


def test_U05_a_garbage_parquet(work):
    run = copy_run(work, "a", "u03")
    (run / "test_pred.parquet").write_bytes(b"PAR1garbage")
    code, out = lanl("submit", "runs/u03", "--data", "w", cwd=work)
    assert_refused(code, out, "runs/u03/test_pred.parquet: ", "not a readable Parquet table")


def test_U07_a_missing_mean_column(work):
    run = copy_run(work, "a", "u04b")
    path = run / "test_pred.parquet"
    pd.read_parquet(path).drop(columns=["mean"]).to_parquet(path, index=False)
    code, out = lanl("submit", "runs/u04b", "--data", "w", cwd=work)
    assert_refused(code, out, "runs/u04b/test_pred.parquet: ", "no mean column (columns: seg_id, fold_0")


def test_U11_a_garbage_oof_in_report(work):
    run = copy_run(work, "a", "u10")
    (run / "oof.parquet").write_bytes(b"garbage")
    code, out = lanl("report", "runs/u10", cwd=work)
    assert_refused(code, out, "runs/u10/oof.parquet: ", "not a readable Parquet table")


# ----------------------------------------------------------------- 9: a stack refuses NaN predictions


def test_K04_stack_refuses_a_nan_test_prediction(work):
    run = copy_run(work, "awin", "u02")
    path = run / "test_pred.parquet"
    t = pd.read_parquet(path)
    t.loc[2, "mean"] = np.nan
    t.to_parquet(path, index=False)
    code, out = lanl("stack", "runs/a", "runs/u02", "--name", "k04", cwd=work)
    bad = t.loc[2, "seg_id"]
    assert_refused(
        code, out, "runs/u02/test_pred.parquet: ", f"1 non-finite mean value(s), e.g. segment {bad}"
    )
    assert not (work / "runs" / "k04").exists()
    code, out = lanl("submit", "runs/u02", "--data", "w", cwd=work)  # submit names the file too now
    assert_refused(code, out, "runs/u02/test_pred.parquet: ", "non-finite mean")


# ------------------------------------------------------------- 5: model parameters checked for range


@pytest.mark.parametrize(
    "case,param,problem",
    [
        ("C10", "learning_rate = -0.5", "learning_rate must be > 0, got -0.5"),
        ("C14", "num_leaves = 1", "num_leaves must be in [2, 131072], got 1"),
    ],
)
def test_lgbm_parameters_out_of_range(work, tmp_path, case, param, problem):
    config = tmp_path / f"{case}.toml"
    config.write_text(f'model = "lgbm"\n[folds]\nk = 3\n[params]\n{param}\n')
    code, out = lanl("train", work / "w", "--config", config, "--runs", tmp_path / "runs")
    assert_refused(code, out, "parameters of model 'lgbm': ", problem)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("lgbm-*"))


def test_every_model_kind_checks_its_ranges():
    """Each kind's defaults lie in its ranges; a value outside one is refused with the range in the message."""
    from lanl.cv.stack import Stacker
    from lanl.models import MODEL_KINDS, make_model, model_class
    from lanl.models.base import check_params, get_params_json, param_ranges

    for cls in [*(model_class(kind) for kind in MODEL_KINDS), Stacker]:
        check_params(cls, get_params_json(cls()), cls.__name__)  # the defaults pass
        ranges = param_ranges(cls)
        assert ranges, f"{cls.__name__} declares no parameter ranges"
        for key, valid in ranges.items():
            bad = (
                "no-such-choice"
                if valid.choices
                else (valid.low - 1 if valid.low is not None else valid.high + 1)
            )
            with pytest.raises(LanlError, match=f"{key if not valid.choices else 'unknown'}"):
                check_params(cls, {key: bad}, cls.__name__)
    with pytest.raises(LanlError, match=r"crop must be in \(0, 1\], got 0"):
        make_model("cnn", {"crop": 0})
    with pytest.raises(LanlError, match="batch_size must be >= 1, got 0"):
        make_model("lstm", {"batch_size": 0})


# ---------------------------------------------- the image baseline: fewer training images than a batch


def test_image_baseline_batch_larger_than_the_training_split(tmp_path, monkeypatch, caplog):
    """47 Pets photos with the default batch of 64 crashed fastai's lr_find (ZeroDivisionError): the batch
    now shrinks to the training split, with a warning (here 12 digit images, 10 of them for training)."""
    from image_baseline import datasets, pipeline
    from image_baseline.config import TrainConfig

    monkeypatch.setenv("IMAGE_BASELINE_PROGRESS", "0")
    monkeypatch.setenv("IMAGE_BASELINE_HOME", str(tmp_path / "home"))
    folder = datasets.write_digits(tmp_path / "digits")
    images = tmp_path / "images"
    images.mkdir()
    for name in ("zero", "one", "seven"):
        for n in range(1, 5):
            shutil.copy(folder / f"{name}_{n}.jpg", images / f"{name}_{n}.jpg")
    config = TrainConfig(arch="efficientnet_lite0", epochs=1, lr_find_iterations=12, size=32, item_size=40)
    outcome = pipeline.run(config, data=images, out_dir=tmp_path / "run", trainers=("fastai",), report=False)
    assert outcome.config.batch_size == 10
    assert "batch size 64 is larger than the 10 training images: using 10" in caplog.text
    assert outcome.fastai.lr_finding is not None


def test_sources_are_closed_after_reading(small_data, tmp_path):
    """The ResourceWarning of lanl/data/layout.py: sample_submission.csv was read through a wrapper never closed."""
    import gc
    import warnings

    from lanl.data.layout import Source, plain_source, read_sample_submission

    data, *_, ids = small_data
    with zipfile.ZipFile(tmp_path / "data.zip", "w") as z:
        z.write(data / "sample_submission.csv", "sample_submission.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for src in (
            plain_source(data / "sample_submission.csv"),
            Source(tmp_path / "data.zip", "sample_submission.csv"),
        ):
            assert read_sample_submission(src) == ids
            with src.open() as f:
                assert f.readline() == b"seg_id,time_to_failure\n"
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
