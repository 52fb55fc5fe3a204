"""Stacking: a level-2 model on runs' OOF predictions, on their own folds, written as a run folder."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lanl.cli import _Group
from lanl.commands.tune import COMMANDS
from lanl.cv.runs import Run
from lanl.cv.stack import Stacker, stack_runs
from lanl.cv.train import config_from_dict, train_table
from lanl.data.ingest import ingest
from lanl.data.segments import SegmentSpec, test_segments, train_segments
from lanl.data.synth import generate
from lanl.errors import LanlError
from lanl.kaggle.submit import read_ledger, submit
from lanl.models import load_model
from lanl.report import build_report

LENGTH = 30_000
LGBM = {"n_estimators": 60, "learning_rate": 0.1, "early_stopping_rounds": 10, "min_child_samples": 5}


def noisy_views(cache, seed=0):
    """Two features, each the label plus its own independent noise: a run on either one errs independently of
    a run on the other, so their blend beats both."""
    rng = np.random.default_rng(seed)
    train = train_segments(cache, SegmentSpec(length=LENGTH))
    test = test_segments(cache)
    for name in ("view_a", "view_b"):
        train[name] = train["label"] + rng.normal(0, 2.0, len(train))
        test[name] = rng.uniform(0, 12, len(test))
    return train, test


def level1_run(train, test, view, root, cache, **config):
    """A run on one view, recorded the way lanl train records the data it was built on."""
    cols = ["seg_id", "start", "cycle", "label", view]
    cfg = config_from_dict({"name": view, "folds": {"k": 3}, "params": LGBM, **config})
    run = train_table(train[cols], cfg, test=test[cols], runs_dir=root)
    record = json.loads((run / "config.json").read_text())
    record.update(data_fingerprint=cache.fingerprint, cache_dir=str(cache.root))
    (run / "config.json").write_text(json.dumps(record))
    return run


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("stack")
    generate(root / "data", seed=5, rows=3_000_000, cycles=6, test_segments=8, segment_length=LENGTH)
    cache = ingest(root / "data", segment_length=LENGTH).cache
    train, test = noisy_views(cache)
    runs = [level1_run(train, test, view, root / "runs", cache) for view in ("view_a", "view_b")]
    return root, cache, runs, (train, test)


def test_blend_beats_its_inputs_without_leakage(world):
    root, cache, runs, _ = world
    stacked = Run.open(stack_runs(runs, method="blend", name="blend"))
    inputs = [Run.open(r) for r in runs]
    assert stacked.root == root / "runs" / "blend"  # beside its inputs
    assert stacked.metrics["cv_mae"] < min(r.metrics["cv_mae"] for r in inputs)
    assert [i["cv_mae"] for i in stacked.metrics["inputs"]] == [r.metrics["cv_mae"] for r in inputs]
    # fold k's level-2 model was fitted on the other folds' OOF rows only, and predicts fold k and the test set
    P = np.column_stack([r.oof.set_index("seg_id").loc[stacked.oof["seg_id"], "pred"] for r in inputs])
    T = np.column_stack(
        [r.test_pred.set_index("seg_id").loc[stacked.test_pred["seg_id"], "mean"] for r in inputs]
    )
    y, fold = stacked.oof["label"].to_numpy(), stacked.oof["fold"].to_numpy()
    assert (fold == inputs[0].oof.set_index("seg_id").loc[stacked.oof["seg_id"], "fold"].to_numpy()).all()
    for k in range(3):
        saved = load_model(stacked.root / "models" / f"fold_{k}.json")
        refit = Stacker("blend").fit(P[fold != k], y[fold != k])
        np.testing.assert_allclose(saved.coef_, refit.coef_, atol=1e-9)
        assert saved.coef_.min() >= 0 and saved.coef_.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(stacked.oof["pred"][fold == k], np.maximum(P[fold == k] @ saved.coef_, 0))
        np.testing.assert_allclose(stacked.test_pred[f"fold_{k}"], np.maximum(T @ saved.coef_, 0))
    np.testing.assert_allclose(stacked.test_pred["mean"], stacked.test_pred.filter(like="fold_").mean(axis=1))


def test_stack_run_folder_reads_like_any_run(world, tmp_path):
    root, cache, runs, _ = world
    run_dir = stack_runs(runs, method="ridge", runs_dir=tmp_path)
    run = Run.open(run_dir)
    assert {p.name for p in run_dir.iterdir()} == {
        "config.json",
        "metrics.json",
        "oof.parquet",
        "test_pred.parquet",
        "history.json",
        "folds.json",
        "models",
    }
    cfg, first = run.config, Run.open(runs[0]).config
    assert cfg["model"] == "stack" and cfg["inputs"] == ["view_a", "view_b"] and cfg["method"] == "ridge"
    for key in ("folds_id", "data_fingerprint", "cache_dir"):
        assert cfg[key] == first[key]
    assert run.history == {} and run.folds.id == cfg["folds_id"]
    assert set(run.metrics) >= set(Run.open(runs[0]).metrics)  # the same metrics, plus the inputs'
    assert list(run.test_pred.columns) == ["seg_id", "fold_0", "fold_1", "fold_2", "mean"]

    files = build_report([*runs, run_dir], tmp_path / "report")
    page = files.html.read_text()
    assert f"<td>{run.name}</td>" in page and f"{run.metrics['cv_mae']:.3f}" in page
    sub = submit(run_dir, cache, out_dir=tmp_path / "subs")
    assert list(pd.read_csv(sub.path)["seg_id"]) == cache.test_ids
    assert read_ledger(tmp_path / "subs" / "ledger.csv").loc[0, "runs"] == "view_a view_b"


@pytest.mark.parametrize("method", ["linear", "lgbm"])
def test_other_methods(world, tmp_path, method):
    root, cache, runs, _ = world
    run = Run.open(stack_runs(runs, method=method, runs_dir=tmp_path))
    assert run.metrics["cv_mae"] < run.metrics["baseline_mae"]
    assert run.oof["pred"].notna().all() and run.test_pred["mean"].notna().all()
    if method == "linear":
        assert min(run.metrics["weights"][r] for r in ("view_a", "view_b")) >= 0


def _copy(run, tmp_path, name, edit=None, drop=None):
    out = tmp_path / name
    shutil.copytree(run, out)
    if edit:
        record = json.loads((out / "config.json").read_text())
        (out / "config.json").write_text(json.dumps({**record, **edit}))
    if drop:
        (out / drop).unlink()
    return out


def test_bad_inputs_are_refused_and_nothing_is_written(world, tmp_path):
    root, cache, runs, (train, test) = world
    other_folds = level1_run(train, test, "view_b", tmp_path / "k2", cache, folds={"k": 2})
    cases = [
        ([runs[0], other_folds], "different folds"),
        ([runs[0], _copy(runs[1], tmp_path, "d", edit={"data_fingerprint": "other"})], "different data"),
        (
            [runs[0], _copy(runs[1], tmp_path, "w", edit={"segments": {"length": 15_000, "stride": 0}})],
            "windows",
        ),
        ([runs[0], _copy(runs[1], tmp_path, "t", drop="test_pred.parquet")], "t: no test predictions"),
        ([runs[0]], "two or more different runs"),
    ]
    for inputs, message in cases:
        with pytest.raises(LanlError, match=message):
            stack_runs(inputs, runs_dir=tmp_path / "out")
    with pytest.raises(LanlError, match="unknown stacking method 'median'"):
        stack_runs(runs, method="median", runs_dir=tmp_path / "out")
    with pytest.raises(LanlError, match="is one of its inputs"):
        stack_runs(runs, name="view_a")
    assert not (tmp_path / "out").exists()
    assert Run.open(runs[0]).model == "lgbm"  # the input is untouched


def test_cli_stack(world, tmp_path):
    root, cache, runs, _ = world
    cli = _Group(commands={c.name: c for c in COMMANDS})
    res = CliRunner().invoke(cli, ["stack", *map(str, runs), "--name", "cli", "--runs", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert re.search(r"view_a  CV MAE [0-9.]+  weight 0\.\d{3}\n", res.output), res.output
    assert "cli (blend): CV MAE" in res.output
    res = CliRunner().invoke(cli, ["stack", str(runs[0]), str(tmp_path / "missing")])
    assert res.exit_code == 2 and "no such run folder" in res.output
