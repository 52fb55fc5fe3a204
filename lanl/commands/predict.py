"""``lanl predict``: a trained run's models applied to (other) data's test segments, without retraining."""

from __future__ import annotations

from pathlib import Path

import click

from lanl.commands._options import cache_opt, feature_jobs_opt, features_dir_opt
from lanl.fsutil import RUNS_DIR


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--data", type=click.Path(path_type=Path), required=True, help="The data to predict (Kaggle layout)."
)
@cache_opt
@click.option("--name", default=None, help="Name of the new run folder (default: <run>-pred-<fingerprint>).")
@click.option(
    "--runs",
    "runs_dir",
    type=click.Path(path_type=Path),
    default=RUNS_DIR,
    show_default=True,
    help="Where the new run folder goes.",
)
@features_dir_opt
@feature_jobs_opt
def predict(run, data, cache_dir, name, runs_dir, features_dir, jobs):
    """Predict DATA's test segments with the per-fold models of RUN (a stack: with its inputs' models first).

    Writes RUNS/<name>/: a copy of RUN whose test_pred.parquet holds the new predictions and whose config
    records DATA, so `lanl submit RUNS/<name> --data DATA` works on it. The test inputs are built as in
    training; a run whose feature set changed since it was trained is refused.
    """
    from lanl.cv.predict import predict_to_run
    from lanl.workspace import Workspace

    ws = Workspace.open(data, cache_dir, runs=runs_dir, features=features_dir, jobs=jobs)
    with ws:
        out = predict_to_run(run, ws, name=name)
    click.echo(f"predicted {len(ws.signal.test_ids)} test segments of {data} with {run} -> {out}")


COMMANDS = [predict]
