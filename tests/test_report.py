"""The CV report: runs written from hand-built tables (fast), then the HTML page and the Markdown summary."""

import base64
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lanl.cv.runs import Run
from lanl.cv.train import Inputs, config_from_dict, resolve, run_cv, train_table
from lanl.errors import LanlError
from lanl.report import build_report

LGBM = {
    "n_estimators": 40,
    "learning_rate": 0.1,
    "early_stopping_rounds": 10,
    "min_child_samples": 3,
    "threads": 1,
}


def tables(n_cycles=5, per_cycle=16, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_cycles):
        for i, label in enumerate(np.linspace(rng.uniform(8, 14), 0.2, per_cycle)):
            rows.append((f"train_{c}_{i}", c * 10_000 + i * 100, c, label))
    train = pd.DataFrame(rows, columns=["seg_id", "start", "cycle", "label"])
    train["signal__mean"] = train["label"] + rng.normal(0, 1.0, len(train))
    train["signal__std__ddof_1"] = rng.normal(0, 1, len(train))
    test = pd.DataFrame(
        {
            "seg_id": [f"seg_{i:02x}" for i in range(6)],
            "start": -1,
            "cycle": -1,
            "label": np.nan,
            "signal__mean": rng.uniform(0, 10, 6),
            "signal__std__ddof_1": rng.normal(0, 1, 6),
        }
    )
    return train, test


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    train, test = tables()
    grouped = train_table(
        train,
        config_from_dict({"name": "lgbm-grouped", "folds": {"k": 5}, "params": LGBM}),
        test=test,
        runs_dir=root,
    )
    shuffled = train_table(
        train,
        config_from_dict({"name": "lgbm-kfold", "folds": {"scheme": "kfold", "k": 5}, "params": LGBM}),
        runs_dir=root,
    )
    config, model = resolve(
        config_from_dict(
            {
                "model": "lstm",
                "name": "lstm-tiny",
                "folds": {"k": 5},
                "params": {"epochs": 3, "hidden": 4, "head": 4, "threads": 1},
            }
        )
    )
    seq = np.random.default_rng(0).normal(size=(len(train), 6, 12)) + train["label"].to_numpy()[:, None, None]
    net = run_cv(config, model, Inputs(train[["seg_id", "start", "cycle", "label"]], seq), root)
    return grouped, shuffled, net


def images(page: str) -> dict[str, bytes]:
    found = re.findall(
        r"<figure id='(\w+)'><img alt='[^']*' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>", page
    )
    return {name: base64.b64decode(data) for name, data in found}


def test_single_run_report(runs):
    grouped = Run.open(runs[0])
    files = build_report([runs[0]])
    assert files.folder == runs[0].parent / "_reports" / "lgbm-grouped"
    page = files.html.read_text()
    pngs = images(page)
    assert set(pngs) == {
        "mae_by_fold",
        "mae_by_cycle",
        "cycles",
        "residuals",
        "importance",
        "learning_curves",
        "test_vs_oof",
        "mae_vs_cycle_length",
    }
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000 for png in pngs.values())
    m = grouped.metrics
    for number in (m["cv_mae"], m["baseline_mae"], m["folds"][0]["mae"], m["cycles"][3]["mae"]):
        assert f"{number:.3f}" in page
    assert "class='warn'" not in page  # no warning for cycle-grouped folds
    md = files.markdown.read_text()
    assert "| lgbm-grouped | lgbm |" in md and f"{m['cv_mae']:.3f}" in md
    assert "(figures/cycles.png)" in md and (files.folder / "figures" / "cycles.png").is_file()


def test_runs_side_by_side_with_warnings(runs, tmp_path):
    files = build_report(list(runs), tmp_path / "cmp")
    page = files.html.read_text()
    for run in runs:
        assert f"<td>{run.name}</td>" in page
        assert f"{Run.open(run).metrics['cv_mae']:.3f}" in page
    assert "lgbm-kfold: shuffled KFold" in page and "optimistic" in page
    assert "optimistic" in Run.open(runs[1]).metrics["warning"]
    assert "scored on different folds" in page
    best = min(runs, key=lambda r: Run.open(r).metrics["cv_mae"])
    assert f"Best CV MAE: <b>{best.name}</b>" in page
    assert len(images(page)) == 8
    assert "> **Warning:** lgbm-kfold: shuffled KFold" in files.markdown.read_text()


def test_net_run_has_learning_curves_and_no_importance(runs, tmp_path):
    files = build_report([runs[2]], tmp_path / "net")
    pngs = images(files.html.read_text())
    assert "learning_curves" in pngs and "importance" not in pngs
    assert "test_vs_oof" in pngs  # OOF and labels even without test predictions


def test_report_errors(runs, tmp_path):
    with pytest.raises(LanlError, match="at least one run"):
        build_report([])
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "metrics.json", "history.json", "folds.json"):
        (broken / name).write_bytes((runs[0] / name).read_bytes())
    with pytest.raises(LanlError, match="missing oof.parquet"):
        build_report([broken])
    with pytest.raises(LanlError, match="cannot be told apart"):
        build_report([runs[0], runs[0]])


def test_importing_the_report_leaves_the_matplotlib_backend_alone():
    """A notebook's inline backend (here: svg, set before import) survives ``import lanl.report``."""
    code = "import matplotlib, lanl.report; print(matplotlib.get_backend())"
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "svg"
