"""The one-command pipeline on a small synthetic dataset: every stage runs, outputs are valid, reruns reuse."""

import pandas as pd
import pytest
from click.testing import CliRunner

from lanl.cli import main
from lanl.cv.runs import Run
from lanl.data.synth import generate
from lanl.errors import LanlError
from lanl.pipeline import PipelineConfig, load_pipeline_config, run_pipeline


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipe") / "data"
    generate(out, seed=5, rows=10_000_000, cycles=6, test_segments=12)
    return out


def test_pipeline_end_to_end_and_rerun(data, tmp_path):
    config = PipelineConfig(models=["lgbm", "lstm"], stack="", submission="t")
    logs = []
    res = run_pipeline(data, config, work=tmp_path, log=logs.append)
    assert [p.name for p in res.runs] == ["t-lgbm", "t-lstm"]
    best = Run.open(res.best)
    assert best.metrics["cv_mae"] == min(Run.open(r).metrics["cv_mae"] for r in res.runs)
    assert best.metrics["cv_mae"] < best.metrics["baseline_mae"]
    sub = pd.read_csv(res.submission)
    sample = pd.read_csv(data / "sample_submission.csv")
    assert list(sub["seg_id"]) == list(sample["seg_id"]) and sub["time_to_failure"].notna().all()
    assert "<img" in res.report.read_text()
    runs = [line for line in logs if "CV MAE" in line]  # one line per run; the rest say what shift chose
    assert len(runs) == 2 and "CV MAE" in logs[0]
    assert all(line.startswith("shift ") for line in logs if line not in runs) and len(logs) > 2
    # the rerun finds the cache and the feature tables, and reproduces the runs exactly
    oof = Run.open(res.runs[0]).oof
    again = run_pipeline(data, config, work=tmp_path, log=logs.append)
    assert not res.cache_reused and again.cache_reused
    pd.testing.assert_frame_equal(Run.open(again.runs[0]).oof, oof)
    assert len(pd.read_csv(tmp_path / "submissions" / "ledger.csv")) == 2


def test_pipeline_config_errors(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('models = ["lgbm", "xgb"]\n')
    with pytest.raises(LanlError, match="models must be"):
        load_pipeline_config(bad)
    bad.write_text("modles = []\n")
    with pytest.raises(LanlError, match="unknown keys"):
        load_pipeline_config(bad)
    with pytest.raises(LanlError, match="no such"):
        load_pipeline_config(tmp_path / "missing.toml")


def test_cli_run_on_given_data(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.toml").write_text('models = ["lgbm"]\nsubmission = "cli"\n[folds]\nk = 3\n')
    res = CliRunner().invoke(main, ["run", "--data", str(data), "--config", "p.toml"])
    assert res.exit_code == 0, res.output
    assert "submission: submissions/cli.csv" in res.output
    assert (tmp_path / "submissions" / "cli.csv").exists()
