"""Feature tables one brings (lanl.data.tables, lanl train/run --table): reading, checks, cycles, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lanl.cli import main
from lanl.cv.runs import Run
from lanl.data.tables import REAL_QUAKE_ROWS, load_tables
from lanl.errors import DataError, LanlError

REAL = Path(__file__).resolve().parents[1].parent / "shared"
LABELLED = REAL / "lanl_real_labelled"
needs_real = pytest.mark.skipif(not LABELLED.is_dir(), reason="../shared/lanl_real_labelled is absent")


def windows(n_cycles: int = 6, per_cycle: int = 30, seed: int = 0) -> pd.DataFrame:
    """Contiguous windows in time order over ``n_cycles`` cycles: label resets, two informative features."""
    rng = np.random.default_rng(seed)
    parts = []
    for c in range(n_cycles):
        d = 8 + 2 * (c % 3)
        ttf = np.linspace(d, 0.05, per_cycle)
        parts.append(
            pd.DataFrame(
                {
                    "a": ttf + rng.normal(0, 0.5, per_cycle),
                    "b": rng.normal(size=per_cycle),
                    "time_to_failure": ttf,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def segments_table(n: int = 10, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"seg_id": [f"seg_{i:06x}" for i in range(n)], "a": rng.uniform(0, 10, n), "b": rng.normal(size=n)}
    )


@pytest.fixture
def files(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    windows().to_csv(train)  # with the unnamed index column a saved DataFrame carries
    segments_table().to_csv(test, index=False)
    return train, test


def test_label_resets_give_cycles_and_drop_the_window_at_each_quake(files):
    t = load_tables(*files)
    assert t.features == ["a", "b"]  # the unnamed index column is not a feature
    assert t.info["cycles_from"] == "label resets" and t.info["n_cycles"] == 6
    assert t.info["straddling_dropped"] == 5 and len(t.train) == 175
    assert t.train.groupby("cycle").size().tolist() == [30, 29, 29, 29, 29, 29]
    assert t.test_ids == list(segments_table()["seg_id"]) and list(t.test.columns) == ["seg_id", "a", "b"]
    kept = load_tables(*files, keep_straddling=True)
    assert len(kept.train) == 180 and kept.info["straddling_dropped"] == 0
    assert t.fingerprint.startswith("table:") and t.ttf_range == (0.05, t.train["label"].max())
    assert 12.0 not in set(t.train["label"])  # the window at the reset into the 12 s cycle was dropped


def test_the_same_bytes_are_the_same_data_wherever_they_lie(files, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    for f in files:
        (other / f.name).write_bytes(f.read_bytes())
    assert load_tables(*files).fingerprint == load_tables(other / "train.csv", other / "test.csv").fingerprint
    (other / "test.csv").write_text((other / "test.csv").read_text().replace("seg_000000", "seg_00000a"))
    assert load_tables(*files).fingerprint != load_tables(other / "train.csv", other / "test.csv").fingerprint


def test_cycles_from_start_and_the_quake_rows(tmp_path):
    q = np.asarray(REAL_QUAKE_ROWS)
    start = np.r_[np.arange(0, 40) * 150_000]  # window 37 spans the first real quake (row 5,656,574)
    frame = pd.DataFrame({"start": start, "a": np.arange(40.0), "label": np.linspace(1.4, 0.1, 40)})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    t = load_tables(path)
    assert t.info["cycles_from"].startswith("start column") and t.info["straddling_dropped"] == 1
    assert 37 * 150_000 not in set(t.train["start"])
    expect = np.searchsorted(q, t.train["start"] + 149_999, side="right")
    np.testing.assert_array_equal(t.train["cycle"], expect)
    quakes = tmp_path / "quakes.txt"
    quakes.write_text("row\n1500000\n3000000\n")
    given = load_tables(path, quakes=quakes)
    assert given.info["n_cycles"] == 3 and given.info["straddling_dropped"] == 0  # on window boundaries


def test_a_cycle_column_wins_and_seg_ids_are_kept(tmp_path):
    frame = windows().assign(cycle=lambda f: f.index // 30, seg_id=lambda f: [f"x{i}" for i in f.index])
    frame = frame.rename(columns={"time_to_failure": "target"})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    t = load_tables(path)
    assert t.info["cycles_from"] == "cycle column" and len(t.train) == 180
    assert list(t.train.columns) == ["seg_id", "cycle", "label", "a", "b"] and t.train["seg_id"][0] == "x0"
    assert t.info["tables"]["label_column"] == "target"


def test_sample_submission_orders_the_test_table(files, tmp_path):
    ids = list(reversed(segments_table()["seg_id"]))
    sample = tmp_path / "sample_submission.csv"
    sample.write_text("seg_id,time_to_failure\n" + "".join(f"{s},0\n" for s in ids))
    t = load_tables(*files, sample_submission=sample)
    assert t.test_ids == ids
    sample.write_text("seg_id,time_to_failure\n" + "".join(f"{s},0\n" for s in [*ids[:-1], "seg_ffffff"]))
    with pytest.raises(DataError, match=r"seg_ids differ from .*1 listed there are missing here.*seg_ffffff"):
        load_tables(*files, sample_submission=sample)


def _write(tmp_path, frame: pd.DataFrame, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda f: f.assign(a=f["a"].astype(object).where(f.index != 4, "oops")),
            r"'a' is not numeric \(row 5",
        ),
        (lambda f: f.assign(b=np.nan), "column 'b' holds no values"),
        (lambda f: f.assign(a=f["a"].where(f.index != 7, np.inf)), r"column 'a', row 8: inf"),
        (lambda f: f.assign(a=f["a"].where(f.index != 2, np.nan)), r"column 'a', row 3: nan \(1 non-finite"),
        (
            lambda f: f.assign(time_to_failure=f["time_to_failure"].where(f.index != 9)),
            "row 10: the label is",
        ),
        (lambda f: f.drop(columns="time_to_failure"), "no label column: expected one of"),
        (lambda f: f.drop(columns=["a", "b"]), "no feature columns"),
        (lambda f: f.iloc[[0, 2, 1, *range(3, len(f))]], "row 3: the label rises .* without a quake"),
        (lambda f: f.assign(seg_id=["dup"] * len(f)), "row 2: duplicate seg_id 'dup'"),
        (lambda f: f.assign(cycle=0.5), "cycle 0.5 is not a cycle number"),
        (lambda f: f.head(0), "no rows"),
    ],
)
def test_bad_train_tables_are_named(tmp_path, change, message):
    path = _write(tmp_path, change(windows()))
    with pytest.raises(DataError, match=message) as err:
        load_tables(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.drop(columns="b"), r"missing training feature column\(s\): b"),
        (lambda f: f.drop(columns="seg_id"), "needs a seg_id column"),
        (lambda f: f.assign(seg_id="seg_000001"), "row 2: duplicate seg_id 'seg_000001'"),
        (lambda f: f.assign(b="x"), "column 'b' is not numeric"),
    ],
)
def test_bad_test_tables_are_named(files, tmp_path, change, message):
    bad = _write(tmp_path, change(segments_table()), "bad_test.csv")
    with pytest.raises(DataError, match=message) as err:
        load_tables(files[0], bad)
    assert str(bad) in str(err.value)


def test_unreadable_files_are_named(tmp_path, files):
    garbage = tmp_path / "g.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="not a readable Parquet table"):
        load_tables(garbage)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,label\n\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_tables(latin)
    with pytest.raises(DataError, match="no such file"):
        load_tables(tmp_path / "nope.csv")
    with pytest.raises(LanlError, match="give --test-table too"):
        load_tables(files[0], sample_submission=tmp_path / "s.csv")


def test_cli_train_and_run_on_tables(files, tmp_path):
    train, test = files
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        args = ["--table", str(train), "--test-table", str(test), "--k", "3", "--name", "t"]
        res = runner.invoke(main, ["train", *args, "--shift", "none"])
        assert res.exit_code == 0, res.output
        assert "175 windows x 2 features, test 10 segments; 6 cycles from label resets" in res.output
        assert "5 window(s) spanning a quake dropped" in res.output
        run = Run.open("runs/t")
        assert run.config["cycles_from"] == "label resets" and run.config["straddling_dropped"] == 5
        assert (
            run.config["tables"]["train"] == str(train)
            and run.metrics["cv_mae"] < run.metrics["baseline_mae"]
        )
        assert run.metrics["distribution"]["test"]["mean"] > 0
        res = runner.invoke(main, ["submit", "runs/t"])
        assert res.exit_code == 0, res.output
        sub = pd.read_csv("submissions/t.csv")
        assert (
            list(sub["seg_id"]) == list(segments_table()["seg_id"])
            and sub["time_to_failure"].between(0.05, 12).all()
        )
        res = runner.invoke(main, ["run", "--table", str(train), "--test-table", str(test)])
        assert res.exit_code == 0, res.output
        assert "submission: submissions/pipeline.csv" in res.output and Path("runs/pipeline-lgbm").is_dir()


def test_cli_bad_table_exits_2_and_writes_nothing(tmp_path):
    bad = _write(tmp_path, windows().assign(b=np.nan))
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        res = runner.invoke(main, ["train", "--table", str(bad)])
        assert res.exit_code == 2 and "column 'b' holds no values" in res.output
        assert not Path("runs").exists()
        res = runner.invoke(main, ["train", "--test-table", str(bad)])
        assert res.exit_code == 2 and "go with --table" in res.output
        res = runner.invoke(main, ["train"])
        assert res.exit_code == 2 and "give DATA" in res.output


def test_too_few_cycles_for_the_folds(tmp_path):
    path = _write(tmp_path, windows(n_cycles=2))
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        res = runner.invoke(main, ["train", "--table", str(path), "--k", "5"])
        assert res.exit_code == 2 and "cycle" in res.output and "Traceback" not in res.output
        assert not list(Path("runs").glob("lgbm-*"))


# ----------------------------------------------------------------------------------------------- real data
@needs_real
@pytest.mark.real
def test_real_table_cycles_match_the_published_quake_rows():
    features = LABELLED / "features"
    t = load_tables(
        features / "timestocome__Kaggle__train_stats.csv",
        features / "timestocome__Kaggle__test_stats.csv",
        sample_submission=REAL / "lanl_real" / "sample_submission.csv",
    )
    windows_kept = np.array([int(s[1:]) for s in t.train["seg_id"]])
    straddling = {37, 333, 697, 925, 1250, 1457, 1638, 2052, 2255, 2502, 2795, 3078, 3305, 3525, 3903, 4146}
    assert set(range(4194)) - set(windows_kept) == straddling  # label resets find exactly the 16 quakes
    expect = np.searchsorted(np.asarray(REAL_QUAKE_ROWS), 150_000 * windows_kept + 149_999, side="right")
    np.testing.assert_array_equal(t.train["cycle"], expect)
    assert t.train.groupby("cycle").size().tolist() == [
        37,
        295,
        363,
        227,
        324,
        206,
        180,
        413,
        202,
        246,
        292,
        282,
        226,
        219,
        377,
        242,
        47,
    ]
    assert len(t.features) == 33 and len(t.test) == 2624 and t.test_ids[0] == "seg_00030f"


def test_cli_tune_on_a_table_and_train_its_best_config(files, tmp_path):
    train, _ = files
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        res = runner.invoke(main, ["tune", "--table", str(train), "--trials", "2", "--k", "3"])
        assert res.exit_code == 0, res.output
        best = next(Path("runs/_studies").glob("lgbm-table-*/best.toml"))
        assert f"lanl train --table {train} --config {best}" in res.output
        res = runner.invoke(main, ["train", "--table", str(train), "--config", str(best), "--name", "tuned"])
        assert res.exit_code == 0, res.output
        assert Run.open("runs/tuned").config["feature_set"].startswith("table-")
        res = runner.invoke(main, ["tune", "--trials", "1"])
        assert res.exit_code == 2 and "give DATA" in res.output


# ------------------------------------------------------------------------------ found by a hostile review
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.assign(label=f["time_to_failure"]), "time_to_failure, label all look like labels"),
        (lambda f: f.assign(target=1.0), "time_to_failure, target all look like labels"),
        (
            lambda f: f.assign(start=np.arange(len(f)) * 150_000 + 0.5),
            r"row 1: start 0.5 is not a train.csv row",
        ),
        (
            lambda f: f.assign(start=np.r_[np.arange(len(f) - 1) * 150_000, 1e19]),
            "row 180: start 1e\\+19 is not",
        ),
        (lambda f: f.assign(cycle=f.index // 30 - 3), r"row 1: cycle -3 is not a cycle number"),
        (lambda f: f.assign(cycle=2.0**70), "is not a cycle number"),
        (lambda f: f.assign(**{"f[1]": 1.0}), r"column 'f\[1\]': feature names cannot hold \[ \]"),
        (lambda f: f.assign(**{"q x": 1.0, "q_x": 2.0}), "columns 'q x' and 'q_x' are one name to LightGBM"),
        (lambda f: f.assign(b=f["b"].where(f.index != 3, 1e300)), "column 'b', row 4: 1e\\+300"),
        (lambda f: f.assign(seg_id=[*[f"s{i}" for i in range(len(f) - 1)], None]), "row 180: no seg_id"),
    ],
)
def test_more_bad_train_tables_are_named(tmp_path, change, message):
    path = _write(tmp_path, change(windows()))
    with pytest.raises(DataError, match=message):
        load_tables(path)


def test_labels_twice_leak_nothing_even_when_one_is_named(tmp_path):
    path = _write(tmp_path, windows().assign(label=lambda f: f["time_to_failure"]))
    with pytest.raises(DataError, match="look like labels"):
        load_tables(path, label_column="label")


def test_a_repeated_csv_column_is_named(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,time_to_failure\n1,2,3\n1,2,2\n")
    with pytest.raises(DataError, match="column 'a' appears twice"):
        load_tables(path)


def test_duplicate_seg_id_is_named_at_its_row_in_the_file(tmp_path):
    frame = windows().assign(seg_id=lambda f: [f"s{i}" for i in f.index])
    frame.loc[100, "seg_id"] = "s99"  # file row 101; 3 windows spanning quakes come before it
    with pytest.raises(DataError, match="row 101: duplicate seg_id 's99'"):
        load_tables(_write(tmp_path, frame))


def test_bad_sample_submission_and_quake_files_are_named(files, tmp_path):
    with pytest.raises(DataError, match="nope.csv: no such file"):
        load_tables(*files, sample_submission=tmp_path / "nope.csv")
    with pytest.raises(DataError, match="not a file"):
        load_tables(*files, sample_submission=tmp_path)
    frame = pd.DataFrame(
        {"start": np.arange(40) * 150_000, "a": np.arange(40.0), "label": np.linspace(9, 1, 40)}
    )
    path = _write(tmp_path, frame, "start.csv")
    for text, message in [("99999999999999999999999\n", "out of range"), ("5\n-5\n", "out of range")]:
        quakes = tmp_path / "q.txt"
        quakes.write_text(text)
        with pytest.raises(DataError, match=message):
            load_tables(path, quakes=quakes)
    with pytest.raises(LanlError, match="--quakes places windows by their start row"):
        load_tables(files[0], quakes=quakes)


def test_the_fingerprint_covers_how_the_tables_were_read(tmp_path):
    frame = pd.DataFrame(
        {"start": np.arange(40) * 150_000, "a": np.arange(40.0), "label": np.linspace(1.4, 0.1, 40)}
    )
    path = _write(tmp_path, frame, "start.csv")
    quakes = tmp_path / "q.txt"
    quakes.write_text("1500000\n")
    prints = {load_tables(path).fingerprint, load_tables(path, keep_straddling=True).fingerprint,
              load_tables(path, quakes=quakes).fingerprint}  # fmt: skip
    quakes.write_text("3000000\n")
    prints.add(load_tables(path, quakes=quakes).fingerprint)
    assert len(prints) == 4


def test_cli_refuses_before_writing_anything(files, tmp_path):
    train, test = files
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        cases = [
            (["train", "--table", str(train), "--shift", "ks_filter"], "need feature tables with test rows"),
            (
                ["train", "--table", str(train), "--test-table", str(test), "--shift", "mean"],
                "needs test_mean",
            ),
            (
                ["train", "--table", str(train), "--features", "winners"],
                "names a feature set to extract from DATA",
            ),
            (["run", "--table", str(train)], "give the test table too"),
            (["train", "--table", str(train), "--shift", "none,weights"], "'none' goes alone"),
            (["train", "--keep-straddling"], "go with --table"),
        ]
        for args, message in cases:
            res = runner.invoke(main, args)
            assert res.exit_code == 2 and message in res.output, (args, res.output)
            assert not Path("runs").exists(), args


def test_submit_a_table_run_whose_tables_moved(files, tmp_path):
    train, test = files
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        res = runner.invoke(
            main, ["train", "--table", str(train), "--test-table", str(test), "--k", "3", "--name", "m"]
        )
        assert res.exit_code == 0, res.output
        moved = Path("moved")
        moved.mkdir()
        for f in (train, test):
            f.rename(moved / f.name)
        res = runner.invoke(main, ["submit", "runs/m"])
        assert res.exit_code == 2 and "no such file" in res.output
        args = [
            "submit",
            "runs/m",
            "--table",
            str(moved / train.name),
            "--test-table",
            str(moved / test.name),
        ]
        res = runner.invoke(main, args)
        assert res.exit_code == 0, res.output
        (moved / test.name).write_text((moved / test.name).read_text().replace("seg_000001", "seg_00000b"))
        res = runner.invoke(main, args)
        assert (
            res.exit_code == 2 and "was trained on other data" in res.output and "these tables" in res.output
        )
