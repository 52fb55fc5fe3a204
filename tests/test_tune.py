"""Tuning: Optuna studies over the saved folds -- resume, seeded sampling, pruning, worker processes, best.toml."""

import dataclasses
import os
import re
import tomllib
from types import SimpleNamespace

import numpy as np
import optuna
import pandas as pd
import pytest
from click.testing import CliRunner

from lanl.cli import _Group
from lanl.commands.models import COMMANDS as MODEL_COMMANDS
from lanl.commands.tune import COMMANDS
from lanl.cv.runs import Run
from lanl.cv.spaces import SPACES, default_point, suggest
from lanl.cv.studies import StudySpec, best_toml, load_study, open_storage, public_url, storage_url
from lanl.cv.train import config_from_dict, load_config, train_table
from lanl.cv.tune import core_share, tune_table
from lanl.data import synth
from lanl.data.ingest import ingest
from lanl.errors import LanlError
from lanl.features.runners import usable_cores
from lanl.report import build_report

# a slow learning rate for 150 trees: the defaults underfit, so tuning has something to find
BASE = {
    "folds": {"k": 3},
    "params": {"n_estimators": 150, "early_stopping_rounds": 20, "learning_rate": 0.005},
}


def feature_table(n_cycles=6, per_cycle=30, seed=0) -> pd.DataFrame:
    """Windows of 6 quake cycles; one informative feature, one weaker, one noise."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"train_{c}_{i}", c * 10_000 + i * 100, c, label)
        for c in range(n_cycles)
        for i, label in enumerate(np.linspace(rng.uniform(8, 14), 0.2, per_cycle))
    ]
    table = pd.DataFrame(rows, columns=["seg_id", "start", "cycle", "label"])
    table["f1"] = table["label"] + rng.normal(0, 1.5, len(table))
    table["f2"] = table["label"] + rng.normal(0, 3.0, len(table))
    table["f3"] = rng.normal(0, 1, len(table))
    return table


@pytest.fixture(scope="module")
def table():
    return feature_table()


def study_trials(result):
    storage = open_storage(storage_url(None, result.folder.parent.parent))
    return optuna.load_study(study_name=result.study, storage=storage).get_trials()


def test_study_resumes_and_its_best_config_trains(table, tmp_path):
    base = config_from_dict(BASE)
    first = tune_table(table, base, trials=4, runs_dir=tmp_path)
    assert first.n_trials == 4 and first.folder == tmp_path / "_studies" / first.study
    default = train_table(table, config_from_dict({**BASE, "name": "default"}), runs_dir=tmp_path)
    # trial 0 is the base config, scored exactly as lanl train scores it
    assert first.default_value == pytest.approx(Run.open(default).metrics["cv_mae"], abs=1e-12)
    again = tune_table(table, base, trials=3, runs_dir=tmp_path)
    assert again.study == first.study and again.n_trials == 7  # resumed: same study, 3 more trials
    assert [t.number for t in study_trials(again)] == list(range(7))
    assert again.best_value <= first.best_value < first.default_value

    best = load_config(again.best_config)  # a config lanl train accepts
    assert {k: best.params[k] for k in again.best_params} == again.best_params
    run = train_table(table, best, runs_dir=tmp_path)
    assert Run.open(run).metrics["cv_mae"] == pytest.approx(again.best_value, abs=1e-12)

    # the report finds the study whose best config the run was trained from
    files = build_report([run], tmp_path / "report")
    page = files.html.read_text()
    assert "<figure id='tuning_history'>" in page and "<figure id='tuning_importance'>" in page
    assert "Tuning studies" in page and again.study in page
    assert "## Tuning studies" in files.markdown.read_text()
    assert "tuning_history" not in build_report([default], tmp_path / "plain").html.read_text()


def test_seeded_sampler_reproduces_the_first_params(tmp_path):
    def first_points(seed, name):
        study = load_study(StudySpec(storage_url(tmp_path / "s.log", tmp_path), name, seed))
        return [suggest(study.ask(), SPACES["lgbm"]) for _ in range(3)]

    a, b, c = first_points(7, "a"), first_points(7, "b"), first_points(8, "c")
    assert a == b and a != c
    assert len({p["learning_rate"] for p in a}) == 3


def test_pruning_stops_a_bad_trial_after_its_first_fold(table, tmp_path):
    base = config_from_dict(BASE)
    result = tune_table(table, base, trials=3, runs_dir=tmp_path, pruner_startup=2, study="p")
    spec = StudySpec(storage_url(None, tmp_path), "p", 0)
    bad = {
        **default_point(SPACES["lgbm"], result.best_params),
        "learning_rate": 0.005,
        "min_child_samples": 100,
    }
    load_study(spec).enqueue_trial(bad)  # a tiny step and no split: barely better than a constant
    tune_table(table, base, trials=1, runs_dir=tmp_path, pruner_startup=2, study="p")
    trials = study_trials(result)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert all(sorted(t.intermediate_values) == [0, 1, 2] for t in complete)  # one value per fold
    assert all(t.intermediate_values[2] == t.value for t in complete)  # the last is the CV MAE
    last = trials[-1]
    assert last.params["learning_rate"] == 0.005
    assert last.state == optuna.trial.TrialState.PRUNED and list(last.intermediate_values) == [0]


def test_two_worker_processes_share_one_study(table, tmp_path):
    before = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    result = tune_table(table, config_from_dict(BASE), trials=4, workers=2, runs_dir=tmp_path, study="shared")
    assert result.n_trials == 4
    storage = open_storage(storage_url(None, tmp_path))
    assert [s.study_name for s in optuna.get_all_study_summaries(storage)] == ["shared"]
    trials = study_trials(result)
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert len({t.user_attrs["pid"] for t in trials}) == 2  # run by two processes
    assert all(t.state.is_finished() for t in trials)
    if before is not None:  # each worker on its share of the cores; this process gets all of its own back
        shares = {len(core_share(before, w, 2)) for w in (0, 1)}
        assert {t.user_attrs["cores"] for t in trials} <= shares
        assert sorted(os.sched_getaffinity(0)) == before and usable_cores() == len(before)


def test_core_shares_split_the_cores_between_workers():
    assert core_share([0, 1, 2, 3], 0, 2) == [0, 2] and core_share([0, 1, 2, 3], 1, 2) == [1, 3]
    assert core_share([0, 1], 2, 3) == [0] and core_share([5], 1, 2) == [5]  # more workers than cores
    assert core_share([0, 1, 2], 0, 1) == [0, 1, 2]
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:
        from lanl.cv.tune import _on_core_share

        cores = sorted(os.sched_getaffinity(0))
        with _on_core_share(cores, 1, 2):
            assert sorted(os.sched_getaffinity(0)) == cores[1::2] and usable_cores() == len(cores[1::2])
        assert sorted(os.sched_getaffinity(0)) == cores


def test_a_study_refuses_other_folds(table, tmp_path):
    tune_table(table, config_from_dict(BASE), trials=1, runs_dir=tmp_path, study="s")
    other = config_from_dict({**BASE, "folds": {"k": 2}})
    with pytest.raises(LanlError, match="study 's' was made for another .*folds_id: cycle-k3"):
        tune_table(table, other, trials=1, runs_dir=tmp_path, study="s")
    with pytest.raises(LanlError, match="unknown parameter.*num_leafs"):
        tune_table(table, config_from_dict(BASE), trials=1, runs_dir=tmp_path, space={"num_leafs": None})


def test_storage_urls_and_toml(tmp_path):
    assert storage_url(None, tmp_path) == f"sqlite:///{tmp_path}/_studies/study.db"
    assert storage_url(tmp_path / "x.log", tmp_path) == f"journal:{tmp_path}/x.log"
    assert storage_url("postgresql://u:secret@host/db", tmp_path) == "postgresql://u:secret@host/db"
    assert public_url("postgresql://u:secret@host/db") == "postgresql://u:***@host/db"
    params = {"a": 1e-05, "b": 'x"y', "c": True, "d": [1, 2], "extra": {}, "n": {"k": 3}}
    config = config_from_dict({"model": "lgbm", "name": "gone", "params": params})
    text = best_toml(config, "s", SimpleNamespace(number=3, value=2.5))
    assert text.startswith("# best of study s: trial 3, CV MAE 2.50000\n")
    want = {k: v for k, v in dataclasses.asdict(config).items() if k != "name"}
    assert tomllib.loads(text) == want and tomllib.loads(text)["params"] == params


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tune") / "data"
    synth.generate(root, seed=2, rows=3_000_000, cycles=6, test_segments=4, segment_length=30_000)
    ingest(root, segment_length=30_000)
    return root


def test_cli_tune_then_train_the_best_config(data, tmp_path):
    cli = _Group(commands={c.name: c for c in COMMANDS + MODEL_COMMANDS})
    base = tmp_path / "base.toml"
    base.write_text(
        'features = "winners"\n[folds]\nk = 3\n[segments]\nlength = 30000\n[params]\nn_estimators = 40\n'
        "learning_rate = 0.1\nearly_stopping_rounds = 10\n"
    )
    where = ["--runs", str(tmp_path / "runs"), "--features-dir", str(tmp_path / "features")]
    res = CliRunner().invoke(cli, ["tune", str(data), "--config", str(base), "--trials", "3", *where])
    assert res.exit_code == 0, res.output
    assert "trial 2 " in res.output and "3 trials (" in res.output
    best_value = float(re.search(r"best CV MAE ([0-9.]+)", res.output).group(1))
    best = re.search(r"best config: (\S+)", res.output).group(1)
    assert tomllib.loads(open(best).read())["features"] == "winners"
    res = CliRunner().invoke(cli, ["train", str(data), "--config", best, "--name", "tuned", *where])
    assert res.exit_code == 0, res.output
    assert Run.open(tmp_path / "runs" / "tuned").metrics["cv_mae"] == pytest.approx(best_value, abs=1e-4)
    res = CliRunner().invoke(cli, ["tune", str(data), "--model", "cnn", "--features", "kernel", *where])
    assert res.exit_code == 2 and "does not apply" in res.output
