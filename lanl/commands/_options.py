"""Arguments and options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

from lanl.fsutil import FEATURES_DIR, RUNS_DIR

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
    default=RUNS_DIR,
    show_default=True,
    help="Runs folder: run folders, the shared folds in RUNS/_folds, tuning studies in RUNS/_studies.",
)
features_dir_opt = click.option(
    "--features-dir",
    type=click.Path(path_type=Path),
    default=FEATURES_DIR,
    show_default=True,
    help="Feature store folder.",
)
JOBS_HELP = (
    "Feature extraction processes: 0, one per core this process may use; 1, this process alone. The features "
    "are the same whatever the number."
)
feature_jobs_opt = click.option("--jobs", type=int, default=0, show_default=True, help=JOBS_HELP)


def table_opts(command):
    """The options that point a command at feature tables of one's own instead of DATA (lanl.data.tables)."""
    options = [
        click.option(
            "--table",
            "table",
            type=click.Path(path_type=Path),
            default=None,
            help="A train feature table (CSV or Parquet) to use instead of DATA: one row per window, feature "
            "columns, a label column, optionally seg_id, start (first train.csv row) and cycle.",
        ),
        click.option(
            "--test-table",
            type=click.Path(path_type=Path),
            default=None,
            help="The test feature table: seg_id and the train table's feature columns.",
        ),
        click.option(
            "--label-column",
            default=None,
            help="The train table's label column (default: time_to_failure, else label, else target).",
        ),
        click.option(
            "--sample-submission",
            type=click.Path(path_type=Path),
            default=None,
            help="sample_submission.csv: the submission's row order, checked against the test table "
            "(default: the test table's order).",
        ),
        click.option(
            "--quakes",
            type=click.Path(path_type=Path),
            default=None,
            help="A file of quake rows (first train.csv row after each failure) for tables with a start "
            "column (default: the 16 of the real data).",
        ),
        click.option(
            "--keep-straddling",
            is_flag=True,
            help="Keep windows that span a quake (dropped by default: their features mix two cycles).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_table_options(table, test_table, label_column, sample_submission, quakes, keep_straddling):
    """The FeatureTables the table options name, or None without --table."""
    from lanl.data.tables import load_tables

    if table is None:
        if (
            any(v is not None for v in (test_table, label_column, sample_submission, quakes))
            or keep_straddling
        ):
            raise click.UsageError(
                "--test-table, --label-column, --sample-submission, --quakes and --keep-straddling go with --table"
            )
        return None
    return load_tables(
        table,
        test_table,
        label_column=label_column,
        sample_submission=sample_submission,
        quakes=quakes,
        keep_straddling=keep_straddling,
    )


shift_opt = click.option(
    "--shift",
    default=None,
    metavar="REMEDIES",
    help="Train -> test shift remedies, comma-separated: auto, none, or any of ks_filter, cycle_subset, "
    "cycle_length, weights, fraction, mean (see lanl.cv.shift; overrides the config's [shift] remedies).",
)
