"""The ingest stage: exact values, quake cycles, no-op reruns, zip input, and every bad-input case."""

import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import known_cycles, write_segment, write_train_csv

from lanl.cli import main
from lanl.data.cache import SignalCache
from lanl.data.ingest import ingest
from lanl.errors import DataError

SEG = 1000  # test segment length used by the small fixture


def run_ingest(data, **kw):
    return ingest(data, segment_length=SEG, **kw)


def test_values_are_exactly_pandas(small_data):
    data, sig, ttf, starts, ids = small_data
    cache = run_ingest(data, chunk_bytes=1 << 16).cache  # many chunks, many pieces
    ref = pd.read_csv(data / "train.csv", dtype={"acoustic_data": np.int16})
    assert cache.rows == len(ref) == len(sig)
    np.testing.assert_array_equal(cache.signal, ref["acoustic_data"].to_numpy())
    # bit-for-bit the doubles Python reads from the text
    text_ttf = np.array([float(line.split(",")[1]) for line in (data / "train.csv").read_text().splitlines()[1:]])
    np.testing.assert_array_equal(np.asarray(cache.ttf), text_ttf)


def test_cycles_are_exact(small_data):
    data, sig, ttf, starts, ids = small_data
    cache = run_ingest(data, chunk_bytes=1 << 15).cache
    np.testing.assert_array_equal(cache.cycle_starts, starts)
    rows = np.array([0, starts[1] - 1, starts[1], starts[2], cache.rows - 1])
    np.testing.assert_array_equal(cache.cycle_of(rows), [0, 0, 1, 2, 2])


def test_chunk_size_does_not_change_result(small_data):
    data, *_ = small_data
    a = run_ingest(data, cache_dir=data / "c1", chunk_bytes=1 << 14).cache
    b = run_ingest(data, cache_dir=data / "c2", chunk_bytes=1 << 24).cache
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.ttf, b.ttf)
    np.testing.assert_array_equal(a.cycle_starts, b.cycle_starts)


def test_test_segments_in_sample_submission_order(small_data):
    data, *_, ids = small_data
    order = [ids[2], ids[0], ids[1]]
    (data / "sample_submission.csv").write_text("seg_id,time_to_failure\n" + "".join(f"{s},0\n" for s in order))
    cache = run_ingest(data).cache
    assert cache.test_ids == order
    for k, seg_id in enumerate(order):
        ref = pd.read_csv(data / "test" / f"{seg_id}.csv")["acoustic_data"].to_numpy()
        np.testing.assert_array_equal(cache.test_signal[k], ref)


def test_rerun_is_noop_and_change_rebuilds(small_data):
    data, sig, ttf, *_ = small_data
    first = run_ingest(data)
    assert not first.skipped
    mtime = (first.cache.root / "signal.i16").stat().st_mtime_ns
    again = run_ingest(data)
    assert again.skipped
    assert (again.cache.root / "signal.i16").stat().st_mtime_ns == mtime
    sig2 = sig.copy()
    sig2[5] += 1
    write_train_csv(data / "train.csv", sig2, ttf)
    rebuilt = run_ingest(data)
    assert not rebuilt.skipped
    assert rebuilt.cache.signal[5] == sig2[5]


def test_the_same_data_by_any_spelling_is_the_same_cache(small_data, monkeypatch):
    """The data folder spelled relative, through '..', absolute or with a trailing slash: one cache, ingested
    once (the full-size run of issue 19 re-ingested when its folder was spelled differently)."""
    data = small_data[0]
    first = run_ingest(data)
    monkeypatch.chdir(data)
    for spelling in (".", f"../{data.name}", str(data.resolve()) + "/", f"../{data.name}/./"):
        again = run_ingest(spelling)
        assert again.skipped, spelling
        assert again.cache.root.resolve() == first.cache.root.resolve()
        assert again.cache.fingerprint == first.cache.fingerprint


def test_zip_layout(small_data, tmp_path):
    data, sig, *_ = small_data
    zdir = tmp_path / "zipped"
    zdir.mkdir()
    with zipfile.ZipFile(zdir / "train.csv.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(data / "train.csv", "train.csv")
    with zipfile.ZipFile(zdir / "test.zip", "w") as z:
        for p in sorted((data / "test").glob("*.csv")):
            z.write(p, f"test/{p.name}")
    shutil.copy(data / "sample_submission.csv", zdir)
    cache = run_ingest(zdir).cache
    np.testing.assert_array_equal(cache.signal, sig)
    assert len(cache.test_ids) == 3


def test_slow_path_for_long_floats(tmp_path):
    """Values with 17 significant digits take the exact pyarrow path and still equal float(text)."""
    sig, ttf, starts = known_cycles((3000, 2000))
    path = tmp_path / "d" / "train.csv"
    path.parent.mkdir()
    with open(path, "w") as f:
        f.write("acoustic_data,time_to_failure\n")
        f.writelines(f"{a},{t!r}\n" for a, t in zip(sig.tolist(), (ttf + 1e-13).tolist(), strict=True))
    cache = ingest(path.parent).cache
    np.testing.assert_array_equal(np.asarray(cache.ttf), ttf + 1e-13)
    np.testing.assert_array_equal(cache.cycle_starts, starts)


# --------------------------------------------------------------------------------------------- bad input


def _corrupt(data, line_no, text):
    lines = (data / "train.csv").read_text().splitlines(keepends=True)
    lines[line_no - 1] = text
    (data / "train.csv").write_text("".join(lines))


BAD_TRAIN_ROWS = [
    ("abc,1.5\n", "not an integer"),
    (",1.5\n", "not an integer"),
    ("12,\n", "not a number"),
    ("12,xyz\n", "not a number"),
    ("40000,1.5\n", "int16"),
    ("-32769,1.5\n", "int16"),
    ("12,nan\n", "NaN"),
    ("12,NaN\n", "NaN"),
    ("12,-0.5\n", "negative"),
    ("12\n", "expected 2 fields"),
    ("12,1.5,7\n", "extra field"),
    ("\n", "empty line"),
    ("1.5,1.5\n", "not an integer"),
]


@pytest.mark.parametrize("row,problem", BAD_TRAIN_ROWS)
def test_bad_train_row_names_file_line_problem(small_data, row, problem):
    data, *_ = small_data
    _corrupt(data, 54_321, row)
    with pytest.raises(DataError) as err:
        run_ingest(data, chunk_bytes=1 << 16)
    assert err.value.line == 54_321
    assert err.value.file.endswith("train.csv")
    assert problem in str(err.value)
    assert not (data / ".lanl-cache").exists()
    assert not [p for p in data.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


def test_bad_row_in_every_piece_position(small_data):
    """The reported line is right wherever the bad row falls relative to chunk and piece boundaries."""
    data, sig, ttf, *_ = small_data
    for line in (2, 3, 4097, 60_000, len(sig) + 1):
        write_train_csv(data / "train.csv", sig, ttf)
        _corrupt(data, line, "x,1\n")
        with pytest.raises(DataError) as err:
            run_ingest(data, chunk_bytes=1 << 15)
        assert err.value.line == line


def test_truncated_last_line(small_data):
    data, *_ = small_data
    text = (data / "train.csv").read_text()
    (data / "train.csv").write_text(text[:-7])  # cut inside the last row: no final newline
    with pytest.raises(DataError, match="truncated") as err:
        run_ingest(data)
    assert err.value.line == text.count("\n")


@pytest.mark.parametrize(
    "content,problem",
    [(b"", "empty file"), (b"acoustic_data\n12\n", "expected header"), (b"a,b\n1,2\n", "expected header")],
)
def test_bad_train_header_or_empty(small_data, content, problem):
    data, *_ = small_data
    (data / "train.csv").write_bytes(content)
    with pytest.raises(DataError, match=problem) as err:
        run_ingest(data)
    assert err.value.line == 1


def test_header_only(small_data):
    data, *_ = small_data
    (data / "train.csv").write_text("acoustic_data,time_to_failure\n")
    with pytest.raises(DataError, match="no data rows"):
        run_ingest(data)


def test_missing_train_and_missing_folder(small_data, tmp_path):
    data, *_ = small_data
    (data / "train.csv").unlink()
    with pytest.raises(DataError, match="no train.csv"):
        run_ingest(data)
    with pytest.raises(DataError, match="does not exist"):
        run_ingest(tmp_path / "nowhere")


def test_test_segment_wrong_row_count(small_data):
    data, *_, ids = small_data
    write_segment(data / "test" / f"{ids[1]}.csv", np.arange(999))
    with pytest.raises(DataError, match="999 data rows, expected 1,000") as err:
        run_ingest(data)
    assert ids[1] in err.value.file


def test_test_segment_bad_value(small_data):
    data, *_, ids = small_data
    p = data / "test" / f"{ids[0]}.csv"
    lines = p.read_text().splitlines(keepends=True)
    lines[10] = "4.5\n"
    p.write_text("".join(lines))
    with pytest.raises(DataError, match="not an integer") as err:
        run_ingest(data)
    assert err.value.line == 11


@pytest.mark.parametrize("case", ["missing", "extra", "duplicate"])
def test_sample_submission_mismatch(small_data, case):
    data, *_, ids = small_data
    sub = data / "sample_submission.csv"
    if case == "missing":
        (data / "test" / f"{ids[2]}.csv").unlink()
        match = f"no test file: {ids[2]}"
    elif case == "extra":
        write_segment(data / "test" / "seg_123456.csv", np.zeros(SEG, int))
        match = "not in .*sample_submission.csv: seg_123456"
    else:
        sub.write_text(sub.read_text() + f"{ids[0]},0\n")
        match = f"duplicate seg_id {ids[0]}"
    with pytest.raises(DataError, match=match):
        run_ingest(data)
    assert not (data / ".lanl-cache").exists()


def test_failed_rebuild_keeps_previous_cache(small_data):
    data, *_ = small_data
    good = run_ingest(data).cache
    rows = good.rows
    _corrupt(data, 100, "oops\n")
    with pytest.raises(DataError):
        run_ingest(data)
    assert SignalCache.open(data / ".lanl-cache").rows == rows


def test_cli_reports_error_without_traceback(small_data):
    data, *_ = small_data
    _corrupt(data, 7, "12,-1\n")
    res = CliRunner().invoke(main, ["ingest", str(data)])
    assert res.exit_code == 2
    assert "train.csv, line 7: time_to_failure is negative" in res.output
    assert "Traceback" not in res.output


def test_cli_help_on_every_subcommand():
    runner = CliRunner()
    for name in main.commands:
        res = runner.invoke(main, [name, "--help"])
        assert res.exit_code == 0, name
        assert "Usage:" in res.output


def test_download_offline_gives_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    res = CliRunner().invoke(main, ["download", str(tmp_path / "d")])
    assert res.exit_code == 2
    assert "Kaggle API" in res.output and "lanl synth" in res.output
    assert "Traceback" not in res.output
