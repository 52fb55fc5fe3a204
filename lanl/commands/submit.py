"""``lanl submit``: a run's test predictions as a validated Kaggle submission, recorded in the ledger."""

from __future__ import annotations

from pathlib import Path

import click

from lanl.commands._options import load_table_options, table_opts
from lanl.fsutil import SUBMISSIONS_DIR


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="The data the run was trained on (default: the cache recorded in the run).",
)
@click.option(
    "--cache", "cache_dir", type=click.Path(path_type=Path), default=None, help="Signal cache folder."
)
@click.option("--name", default=None, help="File name (default: the run's name) -> submissions/NAME.csv.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=SUBMISSIONS_DIR, show_default=True)
@click.option(
    "--kaggle",
    "kaggle_message",
    default=None,
    metavar="MESSAGE",
    help="Also submit to the competition through the Kaggle API with this message.",
)
@table_opts
def submit(run, data, cache_dir, name, out_dir, kaggle_message, **table_options):
    """Validate RUN's test predictions and write submissions/NAME.csv plus a ledger line.

    The predictions are aligned to sample_submission order, checked (exact seg_id set and order, finite) and
    clipped to the training range of time_to_failure. The ledger (submissions/ledger.csv) records time, runs,
    CV MAE, config hash, code version and the file's sha256. A run trained on feature tables (--table) reads
    them again from where the run recorded them, or from the --table options when they moved (checked by
    content against the run's fingerprint).
    """
    from lanl.cv.runs import Run
    from lanl.data.ingest import require_cache
    from lanl.data.tables import load_tables
    from lanl.kaggle.submit import submit as run_submit
    from lanl.kaggle.submit import submit_tables

    recorded = Run.open(run).config
    tables = load_table_options(**table_options)
    if tables is None and data is None and cache_dir is None and recorded.get("tables"):  # on recorded tables
        t = recorded["tables"]
        tables = load_tables(
            t["train"],
            t["test"],
            label_column=t["label_column"],
            sample_submission=t["sample_submission"],
            quakes=t["quakes"],
            keep_straddling=t["keep_straddling"],
        )
    if tables is not None:
        sub = submit_tables(run, tables, name=name, out_dir=out_dir, kaggle_message=kaggle_message)
    else:
        if data is None and cache_dir is None:
            cache_dir = recorded.get("cache_dir")
            if cache_dir is None:
                raise click.UsageError("give --data DATA (or --cache DIR): the run does not record its cache")
        sub = run_submit(
            run, require_cache(data, cache_dir), name=name, out_dir=out_dir, kaggle_message=kaggle_message
        )
    row = sub.ledger_row
    click.echo(
        f"wrote {sub.path} ({row['rows']} rows, {sub.clipped} clipped, CV MAE {row['cv_mae']}); "
        f"ledger: {sub.path.parent / 'ledger.csv'}"
    )
    if row["kaggle"] == "submitted":
        click.echo("submitted to Kaggle")


COMMANDS = [submit]
