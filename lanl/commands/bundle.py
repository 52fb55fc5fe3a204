"""``lanl bundle``: the pipeline as one self-contained Kaggle kernel script plus its kernel-metadata.json."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Pipeline TOML, as for `lanl run` (default: the default pipeline).",
)
@click.option(
    "--recipe",
    default=None,
    metavar="NAME",
    help="Bundle one of the shipped solutions instead (`lanl run --list-recipes` lists them).",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("bundle"), show_default=True)
@click.option(
    "--features-dataset",
    metavar="OWNER/SLUG",
    default=None,
    help="A Kaggle dataset of precomputed feature tables (a features/ folder) to attach; the kernel adopts "
    "the tables that match its data and computes the rest.",
)
@click.option(
    "--runs-dataset",
    metavar="OWNER/SLUG",
    default=None,
    help="A Kaggle dataset of trained run folders (the runs/ folder `lanl run --config` wrote) to attach; the "
    "kernel predicts with the best of the config's runs (`lanl predict`) instead of training, then submits.",
)
@click.option(
    "--id",
    "kernel_id",
    metavar="OWNER/SLUG",
    default=None,
    help="The kernel's id (default: $KAGGLE_USERNAME/lanl-<submission>; --push fills in the owner).",
)
@click.option("--seed", type=int, default=None, help="Override the config's seed.")
@click.option(
    "--numba-cache",
    "numba_python",
    metavar="PYTHON",
    default=None,
    help="Ship the config's numba kernels compiled by this interpreter, which must have the kernel's Python "
    "and numba versions (e.g. a venv installed with -c ../shared/kaggle/kaggle-image-2026.txt): the kernel "
    "then starts in seconds instead of compiling them. Default: they compile on first use.",
)
@click.option("--push", is_flag=True, help="Also push the kernel through the Kaggle API.")
def bundle(config_file, recipe, out_dir, features_dataset, runs_dataset, kernel_id, seed, numba_python, push):
    """Write OUT/lanl_kernel.py (the package packed inside, the config embedded) and OUT/kernel-metadata.json.

    The script runs the configured pipeline on /kaggle/input/LANL-Earthquake-Prediction and writes
    /kaggle/working/submission.csv; LANL_INPUT, LANL_WORKING, LANL_FEATURES, LANL_RUNS override the paths for a
    local run. With --runs-dataset it loads the trained runs and predicts instead of training.
    The same code and config always give the same bytes.
    """
    from lanl.kaggle.bundle import build_bundle, push_bundle

    if recipe is not None:
        if config_file is not None:
            raise click.UsageError("give --config or --recipe, not both")
        from lanl import recipes

        config_file = recipes.load(recipe).config()
    b = build_bundle(
        config_file,
        out_dir,
        features_dataset=features_dataset,
        kernel_id=kernel_id,
        seed=seed,
        runs_dataset=runs_dataset,
        numba_python=numba_python,
    )
    k = b.kernel
    click.echo(
        f"wrote {b.script} ({b.script.stat().st_size:,} bytes: {b.files} files of lanl, payload sha256 "
        f"{b.payload_sha256[:12]}) and {b.metadata}"
    )
    sources = ", ".join(k["competition_sources"] + k["dataset_sources"])
    click.echo(f"kernel {k['id']}: {sources}; GPU {'on' if k['enable_gpu'] else 'off'}, internet off")
    if b.numba_cache:
        n = b.numba_cache
        click.echo(
            f"numba: {n['files']} cache files ({n['bytes'] / 1e6:.1f} MB) compiled for Python {n['python']}, "
            f"numba {n['numba']}, {n['cpu']}; used where those match, else the kernels compile on first use"
        )
    if runs_dataset:
        click.echo(f"the kernel predicts with the runs of {runs_dataset} (LANL_RUNS) instead of training")
    click.echo(f"run it here: LANL_INPUT=DATA LANL_WORKING=OUT python -I {b.script}")
    if push:
        url = push_bundle(out_dir)
        click.echo(f"pushed {url or k['id']}")


COMMANDS = [bundle]
