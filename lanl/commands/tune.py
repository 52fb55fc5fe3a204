"""Tuning and stacking commands: ``lanl tune`` and ``lanl stack``."""

from __future__ import annotations

from pathlib import Path

import click

from lanl.commands._options import (
    JOBS_HELP,
    cache_opt,
    features_dir_opt,
    load_table_options,
    runs_opt,
    table_opts,
)
from lanl.cv.folds import SCHEMES
from lanl.models import MODEL_KINDS, STACK_METHODS


@click.command()
@click.argument("data", type=click.Path(path_type=Path), required=False)
@click.option("--model", type=click.Choice(MODEL_KINDS), default=None, help="Model (default lgbm).")
@click.option("--trials", type=int, default=20, show_default=True, help="Trials to add to the study.")
@click.option(
    "--storage",
    default=None,
    help="Study storage: a database URL (sqlite:///, postgresql://, mysql://), a .db file, or a journal "
    "file path (default: SQLite in RUNS/_studies/study.db).",
)
@click.option(
    "--study", default=None, help="Study name (default: model-features-<hash of config, folds, data>)."
)
@click.option(
    "--workers", type=int, default=1, show_default=True, help="Processes sharing the study's storage."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Sampler seed.")
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), default=None, help="Base run config (TOML)."
)
@click.option("--features", default=None, help="Feature set of lgbm: winners, kernel, full or a .toml file.")
@click.option("--folds", "folds_scheme", type=click.Choice(SCHEMES), default=None, help="CV scheme.")
@click.option("--k", "folds_k", type=int, default=None, help="Number of folds (default 5).")
@click.option("--timeout", type=float, default=None, help="Stop each worker after this many seconds.")
@runs_opt
@cache_opt
@features_dir_opt
@click.option(
    "--jobs",
    "--feature-jobs",
    "jobs",
    type=int,
    default=0,
    show_default=True,
    help=JOBS_HELP,
)
@table_opts
def tune(
    data,
    model,
    trials,
    storage,
    study,
    workers,
    seed,
    config_file,
    features,
    folds_scheme,
    folds_k,
    timeout,
    runs_dir,
    cache_dir,
    features_dir,
    jobs,
    **table_options,
):
    """Tune a model's parameters on DATA (or a feature table, --table) with an Optuna study scored by the
    saved folds' CV MAE.

    The study lives in its storage and resumes where it stopped (a rerun adds --trials more); --workers N runs N
    processes on it, and the same command on another machine with a shared database URL joins it.
    The best parameters are written as RUNS/_studies/<study>/best.toml: lanl train DATA --config best.toml.
    """
    from lanl.cv.train import load_config
    from lanl.cv.tune import tune as run_tune
    from lanl.cv.tune import tune_table
    from lanl.workspace import Workspace

    config = load_config(
        config_file, model=model, features=features, folds_scheme=folds_scheme, folds_k=folds_k
    )
    tables = load_table_options(**table_options)
    if tables is not None and data is not None:
        raise click.UsageError("give DATA or --table, not both")
    if tables is None and data is None:
        raise click.UsageError("give DATA (a Kaggle-layout folder) or --table TRAIN")
    common = {"trials": trials, "storage": storage, "study": study, "workers": workers, "seed": seed,
              "timeout": timeout, "log": click.echo}  # fmt: skip
    if tables is not None:
        result = tune_table(
            tables.train, config, info=tables.info, test=tables.test, runs_dir=runs_dir, **common
        )
        paths = tables.info["tables"]
        data = f"--table {paths['train']}" + (f" --test-table {paths['test']}" if paths["test"] else "")
    else:
        ws = Workspace.open(data, cache_dir, runs=runs_dir, features=features_dir, jobs=jobs)
        result = run_tune(ws, config, **common)
    click.echo(
        f"study {result.study}: {result.n_trials} trials ({result.n_complete} complete, {result.n_pruned} "
        f"pruned); best CV MAE {_num(result.best_value)}, default config {_num(result.default_value)}"
    )
    if result.best_config is not None:
        click.echo(f"best config: {result.best_config}\n  lanl train {data} --config {result.best_config}")


def _num(value) -> str:
    return "-" if value is None else f"{value:.4f}"


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--method",
    type=click.Choice(list(STACK_METHODS)),
    default="blend",
    show_default=True,
    help="blend: non-negative weights summing to 1 minimising OOF MAE; mean: the plain average; linear: "
    "non-negative least squares; ridge; lgbm: a small LightGBM.",
)
@click.option("--name", default=None, help="Run name (default: stack-<method>-<hash of the inputs>).")
@click.option(
    "--runs",
    "runs_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Runs folder for the stack (default: the first input's).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--alpha", type=float, default=1.0, show_default=True, help="Ridge penalty.")
def stack(runs, method, name, runs_dir, seed, alpha):
    """Stack RUNS: a level-2 model on their OOF predictions, cross-validated on their own folds.

    Writes a run folder like any model's (lanl report and lanl submit read it); the inputs must share
    folds, data and windows and carry test predictions.
    """
    from lanl.cv.runs import Run
    from lanl.cv.stack import stack_runs

    run_dir = stack_runs(list(runs), method=method, name=name, runs_dir=runs_dir, seed=seed, alpha=alpha)
    m = Run.open(run_dir).metrics
    weights = m.get("weights", {})
    width = max(len(i["run"]) for i in m["inputs"])
    for i in m["inputs"]:
        weight = f"  weight {weights[i['run']]:.3f}" if i["run"] in weights else ""
        click.echo(f"  {i['run']:<{width}}  CV MAE {i['cv_mae']:.4f}{weight}")
    intercept = f", intercept {weights['intercept']:.3f}" if weights.get("intercept") else ""
    click.echo(
        f"{run_dir.name} ({method}{intercept}): CV MAE {m['cv_mae']:.4f} "
        f"(median baseline {m['baseline_mae']:.4f}) -> {run_dir}"
    )


COMMANDS = [tune, stack]
