"""Data commands: ``lanl download``, ``lanl ingest``, ``lanl info`` and the one-command ``lanl run``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lanl.commands._options import (
    cache_opt,
    data_arg,
    feature_jobs_opt,
    load_table_options,
    shift_opt,
    table_opts,
)

DEFAULT_SYNTH_DIR = Path("data") / "synthetic"


@click.command()
@data_arg
@click.option("--competition", default="LANL-Earthquake-Prediction", show_default=True)
def download(data: Path, competition: str) -> None:
    """Download the competition files into DATA through the Kaggle API.

    Needs a Kaggle API token and internet; otherwise it says what to do instead (copy the files by hand, or
    use `lanl synth DATA`).
    """
    from lanl.data.kaggle_api import download_competition

    out = download_competition(data, competition)
    click.echo(f"downloaded {competition} into {out}")


@click.command()
@data_arg
@cache_opt
@click.option("--force", is_flag=True, help="Rebuild the cache even when the sources are unchanged.")
@click.option(
    "--ttf-rises",
    type=click.Choice(["error", "warn"]),
    default="error",
    show_default=True,
    help="An upward time_to_failure jump that is no quake (a glitch): stop naming the line, or warn and keep it.",
)
def ingest(data: Path, cache_dir: Path | None, force: bool, ttf_rises: str) -> None:
    """Stream DATA/train.csv (and the test segments) once into a memory-mapped cache.

    DATA is the Kaggle layout: train.csv, test/seg_*.csv, sample_submission.csv (or Kaggle's zip files). Every
    row is validated; a bad row stops the run with the file, line and problem, and no cache is left behind.
    A rerun on unchanged sources is a no-op.
    """
    from lanl.data.ingest import ingest as run_ingest

    res = run_ingest(data, cache_dir, force=force, rises=ttf_rises)
    c = res.cache
    if res.skipped:
        click.echo(f"cache up to date: {c.root} ({c.rows:,} rows, {c.n_cycles} cycles)")
    else:
        rate = c.rows / res.seconds / 1e6 if res.seconds else float("nan")
        click.echo(
            f"cached {c.rows:,} rows, {c.n_cycles} cycles, {len(c.test_ids):,} test segments "
            f"in {res.seconds:.1f} s ({rate:.1f} M rows/s) -> {c.root}"
        )


@click.command()
@data_arg
@cache_opt
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info(data: Path, cache_dir: Path | None, as_json: bool) -> None:
    """Print rows, quake cycles (rows and seconds) and signal statistics of DATA (ingesting it if needed)."""
    from lanl.data.ingest import require_cache
    from lanl.data.summary import format_summary, summarize

    summary = summarize(require_cache(data, cache_dir))
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary, str(data)))


@click.command()
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Kaggle-layout data folder. Default: a synthetic dataset generated in {DEFAULT_SYNTH_DIR}/.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Pipeline TOML: models, stack, folds, per-model run configs (see lanl.pipeline).",
)
@click.option(
    "--recipe",
    default=None,
    metavar="NAME",
    help="A known solution shipped as a pipeline config (first-place, public-kernel, ...: see --list-recipes).",
)
@click.option("--list-recipes", is_flag=True, help="List the recipes, one line each, and exit.")
@cache_opt
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed of the models (overrides the config's) and of the synthetic data.",
)
@click.option(
    "--models",
    default=None,
    metavar="LIST",
    help="Level-1 models, comma-separated (overrides the config's models; default lgbm,lstm, or the "
    "feature-table models with --table), e.g. lgbm,cnn,lstm to add the CNN.",
)
@feature_jobs_opt
@shift_opt
@table_opts
def run(
    data: Path | None,
    config_file: Path | None,
    recipe: str | None,
    list_recipes: bool,
    cache_dir: Path | None,
    seed: int | None,
    models: str | None,
    jobs: int,
    shift: str | None,
    **table_options,
) -> None:
    """The whole pipeline: ingest, features, folds, LightGBM and LSTM (CNN when asked), stack, report and submission.

    With no --data, a synthetic lab-quake dataset is generated first (once; reruns reuse it, the signal cache
    and the feature store). With --table (and --test-table), feature tables of your own replace DATA: the
    feature-table models, stack, report and a submission for the test table's segments. The train -> test
    shift stage runs with remedies "auto" unless the config or --shift says otherwise; the log, each run's
    config and the report say what it chose. --recipe NAME runs one of the shipped solutions instead of the
    default pipeline (on a feature table: its models, shift and stack on the table's columns). Outputs: runs/,
    features/, submissions/ in the current folder.
    """
    from lanl import recipes
    from lanl.cv.shift import parse_remedies
    from lanl.pipeline import (
        TABLE_MODELS,
        load_pipeline_config,
        run_pipeline,
        run_tables,
        with_models,
        with_remedies,
    )
    from lanl.workspace import Workspace

    if list_recipes:
        for name, description in recipes.summaries():
            click.echo(f"{name:<20} {description}")
        return
    tables = load_table_options(**table_options)
    if recipe is not None:
        if config_file is not None:
            raise click.UsageError("give --config or --recipe, not both")
        chosen = recipes.load(recipe)
        click.echo(f"recipe {chosen.name}: {chosen.description}")
        config = chosen.config(tables=tables is not None)
    else:
        config = load_pipeline_config(
            config_file, default_models=TABLE_MODELS if tables is not None else None
        )
    if seed is not None:
        config.seed = seed
    if shift is not None:
        config = with_remedies(config, parse_remedies(shift))
    if models is not None:
        config = with_models(config, [m.strip() for m in models.split(",") if m.strip()])
    if tables is not None:
        if data is not None:
            raise click.UsageError("give --data or --table, not both")
        res = run_tables(tables, config, log=click.echo)
    else:
        if data is None:
            data = ensure_synthetic(DEFAULT_SYNTH_DIR, seed or 0)
        res = run_pipeline(Workspace.open(data, cache_dir, jobs=jobs), config, log=click.echo)
    click.echo(f"best run: {res.best.name}")
    click.echo(f"report: {res.report}")
    click.echo(f"submission: {res.submission} (ledger: {res.submission.parent / 'ledger.csv'})")
    click.echo("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in res.seconds.items()))


def ensure_synthetic(folder: Path, seed: int, model: str = "default") -> Path:
    """Generate the default-size synthetic dataset into ``folder`` unless one with this seed and generator
    model (default: the default one), written with the model's present constants (``synth.model_digest``), is
    already there (one written by another model, or by the same preset while its constants were different, is
    replaced; the sizes are not checked)."""
    from lanl.data import synth

    name, constants = synth.resolve_model(model)
    info_file = folder / "synth_info.json"
    if info_file.exists():
        try:
            info = json.loads(info_file.read_text())
        except ValueError:
            info = None
        info = info if isinstance(info, dict) else {}
        if info.get("seed") == seed and info.get("model", "v1") == name:
            if info.get("model_digest") == synth.model_digest(constants):
                return folder
            click.echo(
                f"{folder} was written by other constants of model {name} (or before they were recorded)"
            )
    click.echo(f"generating the synthetic dataset in {folder} (seed {seed}, model {name})")
    synth.generate(folder, seed=seed, model=name)
    return folder


COMMANDS = [download, ingest, info, run]
