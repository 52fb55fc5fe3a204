"""Submissions: aligned to sample_submission, validated, clipped, atomic, with a ledger line each."""

import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lanl.cli import main
from lanl.cv.folds import FoldSpec
from lanl.cv.train import RunConfig, SegmentsConfig, train_table
from lanl.data.ingest import ingest
from lanl.data.segments import SegmentSpec, iter_blocks, test_segments, train_segments
from lanl.data.synth import generate
from lanl.errors import LanlError
from lanl.kaggle.submit import read_ledger, submit, validate

LENGTH = 30_000


def _stats_table(cache, table):
    rows = []
    for part, block in iter_blocks(cache, table, batch=32, length=LENGTH):
        x = block.astype(np.float64)
        rows.append(pd.DataFrame({"std": x.std(1), "q05": np.quantile(x, 0.05, axis=1),
                                  "q95": np.quantile(x, 0.95, axis=1)}, index=part.index))
    return pd.concat([table, pd.concat(rows)], axis=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("submit")
    generate(root / "data", seed=3, rows=3_000_000, cycles=6, test_segments=10, segment_length=LENGTH)
    cache = ingest(root / "data", segment_length=LENGTH).cache
    train = _stats_table(cache, train_segments(cache, SegmentSpec(length=LENGTH)))
    test = _stats_table(cache, test_segments(cache))
    config = RunConfig(model="lgbm", name="small", params={"n_estimators": 50}, folds=FoldSpec(k=3),
                       segments=SegmentsConfig(length=LENGTH))
    run = train_table(train, config, test=test, runs_dir=root / "runs")
    return root, cache, run


def test_submission_is_aligned_and_ledgered(world, tmp_path):
    root, cache, run = world
    sub = submit(run, cache, out_dir=tmp_path)
    written = pd.read_csv(sub.path)
    assert list(written.columns) == ["seg_id", "time_to_failure"]
    assert list(written["seg_id"]) == cache.test_ids  # sample_submission order
    pred = pd.read_parquet(run / "test_pred.parquet").set_index("seg_id")["mean"]
    np.testing.assert_allclose(written["time_to_failure"], pred.loc[cache.test_ids].clip(0), atol=1e-6)
    ledger = read_ledger(tmp_path / "ledger.csv")
    assert len(ledger) == 1 and ledger.loc[0, "file"] == "small.csv"
    assert ledger.loc[0, "runs"] == "small" and float(ledger.loc[0, "cv_mae"]) > 0
    import hashlib

    assert ledger.loc[0, "sha256"] == hashlib.sha256(sub.path.read_bytes()).hexdigest()
    submit(run, cache, out_dir=tmp_path, name="again")
    assert list(read_ledger(tmp_path / "ledger.csv")["file"]) == ["small.csv", "again.csv"]


def test_validate_rejects_and_clips():
    ids = ["seg_a", "seg_b", "seg_c"]
    frame = pd.DataFrame({"seg_id": ids, "time_to_failure": [-1.0, 5.0, 30.0]})
    out, clipped = validate(frame, ids, (0.0, 16.1))
    assert out["time_to_failure"].tolist() == [0.0, 5.0, 16.1] and clipped == 2
    with pytest.raises(LanlError, match="set or order"):
        validate(frame, ["seg_b", "seg_a", "seg_c"], (0, 16))
    with pytest.raises(LanlError, match="non-finite"):
        validate(frame.assign(time_to_failure=[1.0, np.nan, 2.0]), ids, (0, 16))


def test_run_without_test_predictions(world, tmp_path):
    root, cache, run = world
    bare = tmp_path / "bare"
    shutil.copytree(run, bare)
    (bare / "test_pred.parquet").unlink()
    with pytest.raises(LanlError, match="no test predictions"):
        submit(bare, cache, out_dir=tmp_path / "subs")
    assert not (tmp_path / "subs").exists()


def test_predictions_for_other_segments(world, tmp_path):
    root, cache, run = world
    odd = tmp_path / "odd"
    shutil.copytree(run, odd)
    pred = pd.read_parquet(odd / "test_pred.parquet")
    pred.loc[0, "seg_id"] = "seg_ffffff"
    pred.to_parquet(odd / "test_pred.parquet", index=False)
    with pytest.raises(LanlError, match="1 missing.*1 extra"):
        submit(odd, cache, out_dir=tmp_path / "subs")


def test_run_from_other_data(world, tmp_path):
    """A run records the fingerprint of its data (as `lanl train` does); other data is refused."""
    import json

    root, cache, run = world
    tagged = tmp_path / "tagged"
    shutil.copytree(run, tagged)
    config = json.loads((tagged / "config.json").read_text())
    (tagged / "config.json").write_text(json.dumps({**config, "data_fingerprint": cache.fingerprint}))
    generate(tmp_path / "other", seed=4, rows=3_000_000, cycles=6, test_segments=10, segment_length=LENGTH)
    other = ingest(tmp_path / "other", segment_length=LENGTH).cache
    with pytest.raises(LanlError, match="trained on other data"):
        submit(tagged, other, out_dir=tmp_path / "subs")
    assert submit(tagged, cache, out_dir=tmp_path / "subs").path.exists()


def test_cli_kaggle_offline_keeps_file_and_ledger(world, tmp_path, monkeypatch):
    root, cache, run = world
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    out = tmp_path / "subs"
    res = CliRunner().invoke(
        main, ["submit", str(run), "--cache", str(cache.root), "--out", str(out), "--kaggle", "first try"]
    )
    assert res.exit_code == 2, res.output
    assert "Kaggle API" in res.output and "local file is kept" in res.output
    assert (out / "small.csv").exists()
    assert read_ledger(out / "ledger.csv").loc[0, "kaggle"] == "failed"
