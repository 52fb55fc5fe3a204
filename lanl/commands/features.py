"""``lanl features``: the feature table of a dataset's train windows and test segments, from the store when
the request is unchanged."""

from __future__ import annotations

from pathlib import Path

import click

from lanl.commands._options import feature_jobs_opt
from lanl.fsutil import FEATURES_DIR


@click.command("features")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--set",
    "set_name",
    default="kernel",
    show_default=True,
    help="Feature set: winners, kernel, full, or a .toml file.",
)
@click.option("--stride", type=int, default=None, help="Train window stride (default: non-overlapping).")
@feature_jobs_opt
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Signal cache folder (default: DATA/.lanl-cache; built by `lanl ingest` when missing).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=FEATURES_DIR,
    show_default=True,
    help="Feature store folder.",
)
@click.option(
    "--part",
    type=click.Choice(["train", "test", "both"]),
    default="both",
    show_default=True,
    help="Which segments to compute.",
)
@click.option("--batch", type=int, default=None, help="Segments per task (default 16; bounds memory).")
@click.option(
    "--tsfresh",
    "tsfresh_level",
    type=click.Choice(["minimal", "efficient", "comprehensive"]),
    default=None,
    help="Compute tsfresh's own feature set instead of --set (efficient: seconds per segment).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT|local",
    help="Run on a dask.distributed cluster: a running scheduler's address, or 'local' to start a "
    "LocalCluster of --jobs worker processes on this machine (default: one per core).",
)
@click.option(
    "--worker-cache",
    default=None,
    metavar="PATH|URL",
    help="Where the Dask workers read the signal cache: a path they all mount or an fsspec URL "
    "(s3://bucket/lanl-cache). Default: the --cache folder's absolute path.",
)
@click.pass_context
def features_cmd(
    ctx, data, set_name, stride, jobs, cache_dir, out_dir, part, batch, tsfresh_level, scheduler, worker_cache
):
    """Compute the feature set's table for the train windows and the test segments of DATA.

    Tables land in the feature store (--out, default features/) with a manifest; an unchanged request is
    read back instead of recomputed. Prints where each table is. With --scheduler the blocks of segments
    run on a Dask cluster whose workers read the signal cache themselves (same tables, bit for bit).
    """
    from lanl.data.ingest import require_cache
    from lanl.data.segments import SegmentSpec
    from lanl.errors import LanlError
    from lanl.features.extract import DEFAULT_BATCH
    from lanl.features.featureset import load
    from lanl.features.runners import tune_allocator
    from lanl.features.store import FeatureStore

    if jobs < 0:
        raise LanlError(f"--jobs must be 0 (one per core) or more, got {jobs}")
    if worker_cache and not scheduler:
        raise LanlError("--worker-cache applies to Dask workers; give --scheduler too")
    if scheduler:
        from lanl.distributed import parse_scheduler

        scheduler = parse_scheduler(scheduler)
    fs = None if tsfresh_level else load(set_name)
    tune_allocator()
    cache = require_cache(data, cache_dir)
    spec = SegmentSpec(stride=stride)
    store = FeatureStore(out_dir)
    parts = ["train", "test"] if part == "both" else [part]
    if part == "both" and not cache.test_ids:
        click.echo("no test segments in this data: computing train only")
        parts = ["train"]
    with _runner(ctx, jobs, scheduler, worker_cache) as runner:
        options = dict(spec=spec, store=store, runner=runner, batch=batch or DEFAULT_BATCH)
        for name in parts:
            _compute_part(name, fs, tsfresh_level, cache, options)


def _runner(ctx, jobs: int, scheduler: str | None, worker_cache: str | None):
    """A context manager giving the runner of the options: local (--jobs) or a DaskRunner (--scheduler)."""
    from lanl.features.runners import make_runner

    if not scheduler:
        return make_runner(jobs)  # a ProcessRunner keeps its pool for every part of the request
    from lanl.distributed import LOCAL, DaskRunner, parse_scheduler  # the dask extra, when asked for

    scheduler = parse_scheduler(scheduler)
    jobs_given = ctx.get_parameter_source("jobs") is not click.core.ParameterSource.DEFAULT
    if scheduler != LOCAL and jobs_given:
        click.echo(f"note: --jobs does not apply to the cluster at {scheduler} (it has its own workers)")
    n_workers = (jobs or None) if jobs_given else None
    return DaskRunner(scheduler, n_jobs=n_workers, worker_cache=worker_cache)


def _compute_part(name: str, fs, tsfresh_level: str | None, cache, options: dict) -> None:
    """One part's table (train or test), from the store or computed; prints where it is."""
    from lanl.features.extract import KEY_COLUMNS
    from lanl.features.store import segment_features

    note = ""
    if tsfresh_level:
        from lanl.features.tsfresh_interop import tsfresh_segment_features

        table, folder, hit, bad = tsfresh_segment_features(cache, tsfresh_level, part=name, **options)
        label = f"tsfresh-{tsfresh_level}"
        note = f"; warning: {bad:,} NaN/inf values (tsfresh's own)" if bad else ""
    else:
        table, folder, hit = segment_features(cache, fs, part=name, **options)
        label = fs.name
    n_features = len(table.columns) - len(KEY_COLUMNS)
    state = "up to date" if hit else "computed"
    click.echo(
        f"{name}: {len(table):,} segments x {n_features} features ({label}), {state} -> {folder}{note}"
    )


COMMANDS = [features_cmd]
