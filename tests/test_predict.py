"""Predict-only: a run's saved models on the test segments reproduce its test_pred.parquet; on other data
they give that data's predictions, and the predicted copy of the run submits as any run does."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TINY_SET

from lanl.commands.predict import predict as predict_command
from lanl.cv.folds import FoldSpec
from lanl.cv.predict import predict_run, predict_to_run
from lanl.cv.runs import Run
from lanl.cv.stack import stack_runs
from lanl.cv.train import RunConfig, SegmentsConfig, train
from lanl.data.ingest import ingest
from lanl.data.synth import generate
from lanl.errors import LanlError
from lanl.features import load_feature_set
from lanl.kaggle.submit import submit
from lanl.workspace import Workspace

LGBM = {"learning_rate": 0.1, "n_estimators": 200, "early_stopping_rounds": 20, "min_child_samples": 5}
TINY_RNN = {"epochs": 2, "batch_size": 16, "hidden": 8, "head": 4, "threads": 1}
TINY_CNN = {"epochs": 2, "batch_size": 16, "channels": 4, "frame": 64, "depth": 2, "head": 4, "threads": 1}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Data A with four runs (lgbm on ttf, lgbm on the cycle fraction, a tiny cnn and lstm) and a stack."""
    root = tmp_path_factory.mktemp("predict")
    generate(root / "a", seed=3, rows=3_700_000, cycles=6, test_segments=6)
    cache = ingest(root / "a", root / "cache-a").cache
    (root / "tiny.toml").write_text(TINY_SET)
    common = {
        "folds": FoldSpec(k=3),
        "segments": SegmentsConfig(length=150_000, stride=50_000),
    }
    ws = Workspace.open(root / "a", cache.root, runs=root / "runs", features=root / "features")
    runs = {
        "gb": RunConfig(model="lgbm", features=str(root / "tiny.toml"), params=LGBM, name="gb", **common),
        "gbf": RunConfig(
            model="lgbm",
            features=str(root / "tiny.toml"),
            target="fraction",
            seed=1,
            params=LGBM,
            name="gbf",
            **common,
        ),
        "cnn": RunConfig(model="cnn", params=TINY_CNN, name="cnn", **common),
        "rnn": RunConfig(model="lstm", params={**TINY_RNN, "chunk": 5000}, name="rnn", **common),
    }
    dirs = {name: train(ws, config) for name, config in runs.items()}
    dirs["stk"] = stack_runs([dirs["gb"], dirs["gbf"], dirs["cnn"]], method="linear", name="stk")
    return root, cache, dirs


def test_predict_reproduces_the_runs_test_predictions(world):
    root, cache, dirs = world
    for name, atol in (("gb", 1e-9), ("gbf", 1e-9), ("cnn", 1e-5), ("rnn", 1e-5), ("stk", 1e-5)):
        ref = Run.open(dirs[name]).test_pred
        got = predict_run(dirs[name], Workspace(cache, features=root / "features"))
        assert list(got.columns) == list(ref.columns) == ["seg_id", "fold_0", "fold_1", "fold_2", "mean"]
        assert list(got["seg_id"]) == list(ref["seg_id"]) == cache.test_ids
        np.testing.assert_allclose(got.iloc[:, 1:], ref.iloc[:, 1:], rtol=0, atol=atol, err_msg=name)
    # features computed afresh (an empty store) give the same lgbm predictions
    fresh = predict_run(dirs["gbf"], Workspace(cache, features=root / "fresh-features"))
    np.testing.assert_allclose(fresh.iloc[:, 1:], Run.open(dirs["gbf"]).test_pred.iloc[:, 1:], atol=1e-9)


def test_other_data_gets_its_own_predictions_and_submits(world, tmp_path):
    root, cache, dirs = world
    generate(tmp_path / "b", seed=8, rows=2_000_000, cycles=3, test_segments=4)
    other = ingest(tmp_path / "b", tmp_path / "cache-b").cache
    assert not set(other.test_ids) & set(cache.test_ids)
    out = predict_to_run(dirs["stk"], Workspace(other, tmp_path / "runs", tmp_path / "features"))
    assert out.name == f"stk-pred-{other.fingerprint[:8]}"
    run = Run.open(out)
    assert list(run.test_pred["seg_id"]) == other.test_ids
    assert np.isfinite(run.test_pred.iloc[:, 1:].to_numpy()).all()
    assert run.config["data_fingerprint"] == other.fingerprint and run.config["cache_dir"] == str(other.root)
    assert run.config["predicted_from"]["data_fingerprint"] == cache.fingerprint
    assert run.oof.equals(Run.open(dirs["stk"]).oof) and run.metrics == Run.open(dirs["stk"]).metrics
    sub = submit(out, other, out_dir=tmp_path / "subs")
    assert list(pd.read_csv(sub.path)["seg_id"]) == other.test_ids
    with pytest.raises(LanlError, match="trained on other data"):
        submit(dirs["stk"], other, out_dir=tmp_path / "subs")  # the original run still refuses it
    # the command: `lanl predict RUN --data DATA --runs DIR --name NAME`
    res = CliRunner().invoke(
        predict_command,
        [
            str(dirs["gb"]),
            "--data",
            str(tmp_path / "b"),
            "--cache",
            str(other.root),
            "--runs",
            str(tmp_path / "runs"),
            "--name",
            "gb-b",
            "--features-dir",
            str(tmp_path / "features"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert f"-> {tmp_path / 'runs' / 'gb-b'}" in res.output
    direct = predict_run(dirs["gb"], Workspace(other, features=tmp_path / "features"))
    pd.testing.assert_frame_equal(Run.open(tmp_path / "runs" / "gb-b").test_pred, direct)
    with pytest.raises(LanlError, match="the run itself"):
        predict_to_run(dirs["gb"], Workspace(cache, dirs["gb"].parent), name="gb")


def test_changed_feature_set_is_refused(world, tmp_path):
    root, cache, dirs = world
    copy = tmp_path / "broken" / "gb"
    shutil.copytree(dirs["gb"], copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "feature_set_hash": "0" * 64}))
    ws = Workspace(cache, features=root / "features")
    with pytest.raises(LanlError, match="feature set or the feature code changed"):
        predict_run(copy, ws)
    # the feature-set file is not on this machine: refused, unless the set is given (matched by its hash)
    (copy / "config.json").write_text(
        json.dumps({**config, "features": str(tmp_path / "gone" / "tiny.toml")})
    )
    with pytest.raises(LanlError, match="cannot load the run's feature set"):
        predict_run(copy, ws)
    fs = load_feature_set(root / "tiny.toml")
    got = predict_run(copy, ws, feature_sets=[fs])
    np.testing.assert_allclose(got["mean"], Run.open(dirs["gb"]).test_pred["mean"], atol=1e-9)
    # a stack whose inputs are gone says which
    stack = tmp_path / "alone" / "stk"
    shutil.copytree(dirs["stk"], stack)
    config = json.loads((stack / "config.json").read_text())
    (stack / "config.json").write_text(json.dumps({**config, "input_dirs": [str(tmp_path / "x")] * 3}))
    with pytest.raises(LanlError, match="input run 'gb' is not found"):
        predict_run(stack, ws)
    got = predict_run(stack, ws, inputs_dir=dirs["gb"].parent)
    np.testing.assert_allclose(got["mean"], Run.open(dirs["stk"]).test_pred["mean"], atol=1e-5)
