"""Model commands: ``lanl folds``, ``lanl train`` and ``lanl report``."""

from __future__ import annotations

from pathlib import Path

import click

from lanl.commands._options import (
    cache_opt,
    data_arg,
    feature_jobs_opt,
    features_dir_opt,
    load_table_options,
    runs_opt,
    shift_opt,
    table_opts,
)
from lanl.cv.folds import SCHEMES
from lanl.models import MODEL_KINDS, TARGETS


@click.command()
@click.argument("data", type=click.Path(path_type=Path), required=False)
@click.option("--model", type=click.Choice(MODEL_KINDS), default=None, help="Model (default lgbm).")
@click.option("--features", default=None, help="Feature set of lgbm: winners, kernel, full or a .toml file.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML run config; the options given here override it.",
)
@click.option("--name", default=None, help="Run name (default: model-features-<config hash>).")
@click.option("--seed", type=int, default=None, help="Model seed (default 0).")
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=None,
    help="Fit time_to_failure, or the fraction of the quake cycle elapsed (converted back).",
)
@click.option(
    "--folds",
    "folds_scheme",
    type=click.Choice(SCHEMES),
    default=None,
    help="CV scheme (default cycle: whole quake cycles per fold).",
)
@click.option("--k", "folds_k", type=int, default=None, help="Number of folds (default 5).")
@shift_opt
@table_opts
@runs_opt
@cache_opt
@features_dir_opt
@feature_jobs_opt
def train(
    data,
    model,
    features,
    config_file,
    name,
    seed,
    target,
    folds_scheme,
    folds_k,
    shift,
    runs_dir,
    cache_dir,
    features_dir,
    jobs,
    **table_options,
):
    """Cross-validate a model on DATA (or on a feature table, --table) and write runs/<name>/.

    The run folder holds the resolved config, seed, code version and folds id, the per-fold models, the OOF
    predictions, the test predictions per fold and averaged, learning curves and metrics.json (CV MAE per
    fold and per cycle next to the constant-median baseline). Same config and seed, same OOF.

    With --table (and --test-table), a feature table of your own takes DATA's place: the same folds, runs,
    report, stacking and submission. Its quake cycles come from a cycle column, else from start and the
    quake rows, else from label resets; the run's config says which.
    """
    from lanl.cv.shift import parse_remedies
    from lanl.cv.train import load_config, train_tables
    from lanl.cv.train import train as run_train
    from lanl.workspace import Workspace

    config = load_config(
        config_file,
        model=model,
        features=features,
        name=name,
        seed=seed,
        target=target,
        folds_scheme=folds_scheme,
        folds_k=folds_k,
        shift=parse_remedies(shift) if shift is not None else None,
    )
    tables = load_table_options(**table_options)
    if tables is not None:
        if data is not None:
            raise click.UsageError("give DATA or --table, not both")
        _echo_tables(tables)
        run_dir = train_tables(tables, config, runs_dir=runs_dir)
    elif data is None:
        raise click.UsageError("give DATA (a Kaggle-layout folder) or --table TRAIN")
    else:
        ws = Workspace.open(data, cache_dir, runs=runs_dir, features=features_dir, jobs=jobs)
        with ws:
            run_dir = run_train(ws, config)
    _echo_run(run_dir)


def _echo_tables(tables) -> None:
    info = tables.info
    test = f", test {len(tables.test):,} segments" if tables.test is not None else ""
    dropped = info["straddling_dropped"]
    click.echo(
        f"table: {len(tables.train):,} windows x {len(tables.features)} features{test}; "
        f"{info['n_cycles']} cycles from {info['cycles_from']}"
        + (f"; {dropped} window(s) spanning a quake dropped" if dropped else "")
    )


def _echo_run(run_dir: Path) -> None:
    from lanl.cv.runs import Run

    run = Run.open(run_dir)
    m = run.metrics
    folds = "  ".join(f"{f['mae']:.3f}" for f in m["folds"])
    click.echo(
        f"{run.name}: CV MAE {m['cv_mae']:.3f} (median baseline {m['baseline_mae']:.3f}) "
        f"on {m['n_segments']} windows, {m['scheme']} folds [{folds}] in {m['seconds']:.1f} s -> {run_dir}"
    )
    for note in m.get("shift", {}).get("notes", []):
        click.echo(f"  shift {note}")
    if "cv_mae_matched" in m:
        click.echo(f"  CV MAE on the cycles closest to test: {m['cv_mae_matched']:.3f}")
    test = m.get("distribution", {}).get("test")
    if test:
        click.echo(f"  test predictions: mean {test['mean']:.3f}, median {test['q50']:.3f}")


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Report folder (default: RUNS_PARENT/_reports/<run names>).",
)
@click.option(
    "--study",
    "studies",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A tuning study folder (runs/_studies/NAME) whose optimisation plots to include; repeatable.",
)
def report(runs, out_dir, studies):
    """Write the CV report of one or more RUNS: report.html (self-contained) and report.md.

    Runs trained from a study's best.toml get that study's optimisation history and parameter importances.
    """
    from lanl.report import build_report

    files = build_report(list(runs), out_dir, studies=list(studies) or None)
    click.echo(f"report: {files.html}\nsummary: {files.markdown}")


@click.command()
@data_arg
@click.option("--scheme", type=click.Choice(SCHEMES), default="cycle", show_default=True)
@click.option("--k", type=int, default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--length", type=int, default=150_000, show_default=True, help="Window length.")
@click.option("--stride", type=int, default=0, show_default=True, help="Window stride (0: non-overlapping).")
@runs_opt
@cache_opt
def folds(data, scheme, k, seed, length, stride, runs_dir, cache_dir):
    """Make (or find) the CV folds of DATA's train windows and print them per fold."""
    from lanl.cv.folds import FoldSpec, ensure_folds
    from lanl.cv.runs import FOLDS_SUBDIR
    from lanl.data.ingest import require_cache
    from lanl.data.segments import SegmentSpec, train_segments

    table = train_segments(require_cache(data, cache_dir), SegmentSpec(length=length, stride=stride or None))
    made, path = ensure_folds(table, FoldSpec(scheme, k, seed), runs_dir / FOLDS_SUBDIR)
    click.echo(f"folds {made.id} -> {path}")
    for fold, _, valid in made.split(table):
        cycles = sorted(set(table["cycle"].iloc[valid].tolist()))
        click.echo(f"  fold {fold}: {len(valid):,} windows, cycles {', '.join(map(str, cycles))}")


COMMANDS = [folds, train, report]
