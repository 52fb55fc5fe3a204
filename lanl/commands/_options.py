"""Arguments and options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

data_arg = click.argument("data", type=click.Path(path_type=Path))
cache_opt = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Signal cache folder (default: DATA/.lanl-cache, built when missing). Use it when DATA is read-only.",
)
runs_opt = click.option(
    "--runs",
    "runs_dir",
    type=click.Path(path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Runs folder: run folders, the shared folds in RUNS/_folds, tuning studies in RUNS/_studies.",
)
features_dir_opt = click.option(
    "--features-dir",
    type=click.Path(path_type=Path),
    default=Path("features"),
    show_default=True,
    help="Feature store folder.",
)
feature_jobs_opt = click.option(
    "--jobs", type=int, default=1, show_default=True, help="Feature extraction processes (0: one per core)."
)
