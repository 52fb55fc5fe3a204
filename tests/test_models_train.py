"""End to end: a small synthetic dataset (lanl.data.synth) -> ingest -> features -> `lanl train` -> run folders."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lanl.cli import _Group
from lanl.commands.models import COMMANDS
from lanl.cv.runs import Run
from lanl.cv.train import config_from_dict, load_config, resolve, train
from lanl.data import synth
from lanl.data.ingest import ingest
from lanl.errors import LanlError
from lanl.workspace import Workspace

LGBM = {
    "n_estimators": 80,
    "learning_rate": 0.1,
    "early_stopping_rounds": 15,
    "min_child_samples": 5,
    "threads": 1,
}
TINY_NETS = {
    "cnn": {"epochs": 2, "batch_size": 16, "channels": 4, "frame": 16, "depth": 2, "head": 4},
    "lstm": {"epochs": 2, "batch_size": 16, "hidden": 8, "head": 4},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """5 quake cycles, 3.6M rows, 4 test segments."""
    root = tmp_path_factory.mktemp("synth") / "data"
    synth.generate(root, seed=1, rows=3_600_000, cycles=5, test_segments=4)
    ingest(root)
    return root


def cli():
    return _Group(commands={c.name: c for c in COMMANDS})


def config(model="lgbm", length=30_000, **kw):
    params = LGBM if model == "lgbm" else TINY_NETS[model]
    base = {"model": model, "folds": {"k": 3}, "segments": {"length": length}, "params": params}
    if model == "lgbm":
        base["features"] = "winners"
    return config_from_dict({**base, **kw})


def test_lgbm_run_folder_and_reproducibility(data, tmp_path):
    run_a = train(Workspace.open(data, runs=tmp_path / "a", features=tmp_path / "features"), config())
    run_b = train(Workspace.open(data, runs=tmp_path / "b", features=tmp_path / "features"), config())
    a, b = Run.open(run_a), Run.open(run_b)
    pd.testing.assert_frame_equal(a.oof, b.oof)  # same config and seed, same OOF
    pd.testing.assert_frame_equal(a.test_pred, b.test_pred)
    rerun = train(
        Workspace.open(data, runs=tmp_path / "c", features=tmp_path / "features"),
        load_config(run_a / "config.json"),
    )
    assert rerun.name == a.name  # a run's own config.json reruns it
    pd.testing.assert_frame_equal(Run.open(rerun).oof, a.oof)
    assert a.config["folds_id"] == b.config["folds_id"] == a.folds.id
    assert (tmp_path / "a" / "_folds" / f"{a.folds.id}.json").is_file()
    for name in (
        "config.json",
        "metrics.json",
        "oof.parquet",
        "test_pred.parquet",
        "history.json",
        "importance.parquet",
        "folds.json",
        "models/fold_0.json",
        "models/fold_2.json",
    ):
        assert (run_a / name).is_file(), name
    cfg = a.config
    assert (
        cfg["seed"] == 0
        and cfg["code_version"]
        and cfg["feature_set"] == "winners"
        and cfg["feature_set_hash"]
    )
    assert cfg["params"]["num_leaves"] == 15  # defaults resolved into the record
    assert cfg["data_fingerprint"] and cfg["cache_dir"] == str(data / ".lanl-cache")
    assert list(a.test_pred.columns) == ["seg_id", "fold_0", "fold_1", "fold_2", "mean"]
    assert set(a.importance["fold"]) == {0, 1, 2}
    m = a.metrics
    assert m["cv_mae"] == pytest.approx((a.oof["pred"] - a.oof["label"]).abs().mean())
    assert m["cv_mae"] < m["baseline_mae"]
    assert sum(f["n"] for f in m["folds"]) == len(a.oof) == m["n_segments"]
    assert {c["cycle"] for c in m["cycles"]} == set(range(5))
    for f in m["folds"]:  # grouped by cycle: a cycle's windows all sit in its fold
        assert set(a.oof.loc[a.oof["fold"] == f["fold"], "cycle"]) == set(f["cycles"])
    fold0 = a.load_model(0)
    X = pd.read_parquet(next((tmp_path / "features").glob("winners-train-*")) / "features.parquet")
    assert fold0.predict(X[fold0.feature_names_in_]).shape == (len(X),)


@pytest.mark.parametrize("model", ["cnn", "lstm"])
def test_net_runs(data, tmp_path, model):
    run_dir = train(Workspace.open(data, runs=tmp_path), config(model, length=15_000, target="fraction"))
    run = Run.open(run_dir)
    assert run.config["feature_set"] == ("raw" if model == "cnn" else "rnn_chunk")
    assert run.oof["pred"].between(0, 100).all() and len(run.oof) > 200
    assert run.test_pred["mean"].notna().all()
    assert run.history["fold_0"]["train_loss"]
    assert run.load_model(1).predict(
        np.zeros((2, 150_000, 12)) if model == "lstm" else np.zeros((2, 15_000))
    ).shape == (2,)
    if model == "lstm":  # reproducible too
        again = Run.open(
            train(
                Workspace.open(data, runs=tmp_path / "again"), config(model, length=15_000, target="fraction")
            )
        )
        pd.testing.assert_frame_equal(run.oof, again.oof)


def test_cli_train_report_folds(data, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        'target = "ttf"\n[folds]\nk = 3\n[segments]\nlength = 30000\n[params]\nn_estimators = 50\n'
        "learning_rate = 0.1\nthreads = 1\n"
    )
    runs = tmp_path / "runs"
    args = ["--runs", str(runs), "--features-dir", str(tmp_path / "features")]
    res = CliRunner().invoke(
        cli(),
        [
            "train",
            str(data),
            "--model",
            "lgbm",
            "--features",
            "winners",
            "--config",
            str(cfg),
            "--name",
            "first",
            *args,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "first: CV MAE" in res.output and "median baseline" in res.output
    res = CliRunner().invoke(cli(), ["report", str(runs / "first")])
    assert res.exit_code == 0, res.output
    assert (runs / "_reports" / "first" / "report.html").is_file()
    res = CliRunner().invoke(
        cli(), ["folds", str(data), "--k", "3", "--length", "30000", "--runs", str(runs)]
    )
    assert res.exit_code == 0 and "fold 2:" in res.output
    assert Run.open(runs / "first").config["folds_id"] in res.output  # the run used the shared folds


def test_cli_train_zoo_kinds_then_stack_and_report(data, tmp_path):
    """`lanl train --model ridge` / `--model xgboost` on a feature set, then `lanl stack` and `lanl report`."""
    from lanl.commands.tune import COMMANDS as TUNE_COMMANDS

    runs = tmp_path / "runs"
    common = ["--features", "winners", "--runs", str(runs), "--features-dir", str(tmp_path / "features")]
    configs = {  # (top-level keys, [params]); the ridge refits on all training folds (it does not iterate)
        "ridge": ("refit = true\n", ""),
        "xgboost": ("", "[params]\nn_estimators = 60\nlearning_rate = 0.1\n"),
    }
    for kind, (top, params) in configs.items():
        cfg = tmp_path / f"{kind}.toml"
        cfg.write_text(top + "[folds]\nk = 3\n[segments]\nlength = 30000\n" + params)
        res = CliRunner().invoke(
            cli(), ["train", str(data), "--model", kind, "--config", str(cfg), "--name", kind, *common]
        )
        assert res.exit_code == 0, res.output
        run = Run.open(runs / kind)
        assert run.model == kind and run.metrics["cv_mae"] < run.metrics["baseline_mae"]
        assert run.load_model(0).predict(np.zeros((2, run.config["n_features"]))).shape == (2,)
    assert sorted(p.name for p in (runs / "ridge" / "models").iterdir())[0] == "fold_0.npz"
    assert Run.open(runs / "xgboost").history["fold_0"]["stop_mae"]
    group = _Group(commands={c.name: c for c in [*COMMANDS, *TUNE_COMMANDS]})
    res = CliRunner().invoke(group, ["stack", str(runs / "ridge"), str(runs / "xgboost"), "--name", "zoo"])
    assert res.exit_code == 0 and "zoo (blend" in res.output, res.output
    res = CliRunner().invoke(group, ["report", str(runs / "ridge"), str(runs / "xgboost"), str(runs / "zoo")])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--folds", "cycle", "--k", "6"], "5 cycles, 6 folds"),
        (["--model", "cnn", "--features", "kernel"], "does not apply"),
        (["--name", "bad name"], "bad run name"),
    ],
)
def test_cli_errors(data, tmp_path, argv, message):
    args = ["--runs", str(tmp_path), "--features-dir", str(tmp_path / "features")]
    res = CliRunner().invoke(cli(), ["train", str(data), *args, *argv])
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "features").exists()  # refused before any feature extraction


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "lgbm"\nlearning_rate = 0.1\n')
    with pytest.raises(LanlError, match=r"unknown key\(s\) learning_rate; valid keys: model"):
        load_config(bad)
    bad.write_text("[folds]\nschema = 'cycle'\n")
    with pytest.raises(LanlError, match=r"\[folds\]: unknown key\(s\) schema"):
        load_config(bad)
    bad.write_text("[params]\nnum_leafs = 3\n")
    with pytest.raises(LanlError, match="unknown key.*num_leafs"):
        resolve(load_config(bad))
    bad.write_text("model = [")
    with pytest.raises(LanlError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(LanlError, match="unknown model 'svm'"):
        resolve(load_config(None, model="svm"))
    with pytest.raises(LanlError, match="top level"):
        resolve(config_from_dict({"params": {"seed": 3}}))
    bad.write_text('seed = "1"\n')
    with pytest.raises(LanlError, match="seed must be an integer, got '1'"):
        load_config(bad)
    bad.write_text("[folds]\nk = 2.5\n")
    with pytest.raises(LanlError, match=r"\[folds\]: k must be an integer"):
        load_config(bad)
    bad.write_text("folds = 3\n")
    with pytest.raises(LanlError, match=r"\[folds\] must be a table"):
        load_config(bad)
    bad.write_text("[params]\nlearning_rate = 'fast'\n")
    with pytest.raises(LanlError, match="learning_rate must be a number"):
        resolve(load_config(bad))
    with pytest.raises(LanlError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_resolved_name_follows_the_config():
    a, _ = resolve(config_from_dict({"model": "lgbm"}))
    b, _ = resolve(config_from_dict({"model": "lgbm", "seed": 1}))
    assert a.name.startswith("lgbm-kernel-") and a.name != b.name
    assert a.name == resolve(config_from_dict({"model": "lgbm"}))[0].name
    assert json.dumps(a.params)  # plain JSON


def test_run_missing_files(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text("{}")
    with pytest.raises(LanlError, match="missing metrics.json, oof.parquet"):
        Run.open(tmp_path / "r")
    with pytest.raises(LanlError, match="no such run folder"):
        Run.open(tmp_path / "nope")
