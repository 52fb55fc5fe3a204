"""``lanl features``: the feature table of a dataset's train windows and test segments, from the store when
the request is unchanged."""

from __future__ import annotations

from pathlib import Path

import click


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
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes (0: one per core).")
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
    default=Path("features"),
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
@click.option("--batch", type=int, default=None, help="Segments per block (default 4; bounds memory).")
@click.option(
    "--tsfresh",
    "tsfresh_level",
    type=click.Choice(["minimal", "efficient", "comprehensive"]),
    default=None,
    help="Compute tsfresh's own feature set instead of --set (efficient: seconds per segment).",
)
def features_cmd(data, set_name, stride, jobs, cache_dir, out_dir, part, batch, tsfresh_level):
    """Compute the feature set's table for the train windows and the test segments of DATA.

    Tables land in the feature store (--out, default features/) with a manifest; an unchanged request is
    read back instead of recomputed. Prints where each table is.
    """
    from lanl.errors import LanlError
    from lanl.features.extract import DEFAULT_BATCH, KEY_COLUMNS
    from lanl.features.featureset import load
    from lanl.features.runners import make_runner, tune_allocator
    from lanl.features.store import FeatureStore, segment_features
    from lanl.ingest import require_cache
    from lanl.segments import SegmentSpec

    if jobs < 0:
        raise LanlError(f"--jobs must be 0 (one per core) or more, got {jobs}")
    fs = None if tsfresh_level else load(set_name)
    tune_allocator()
    cache = require_cache(data, cache_dir)
    spec = SegmentSpec(stride=stride)
    store = FeatureStore(out_dir)
    parts = ["train", "test"] if part == "both" else [part]
    if part == "both" and not cache.test_ids:
        click.echo("no test segments in this data: computing train only")
        parts = ["train"]
    options = dict(spec=spec, store=store, runner=make_runner(jobs), batch=batch or DEFAULT_BATCH)
    for name in parts:
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
