"""``lanl synth``: write a synthetic lab-quake dataset in the exact Kaggle layout."""

from __future__ import annotations

import time

import click

# Sizes and presets are repeated here (not imported) so that ``lanl --help`` does not import numpy and numba.
_ROWS, _CYCLES, _TEST_SEGMENTS = 24_000_000, 8, 64
_MODELS, _DEFAULT_MODEL = ("v6", "v5", "v4", "v3", "v2", "v1"), "v6"


@click.command(name="synth")
@click.argument("out", type=click.Path(file_okay=False, writable=True))
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same seed, same bytes.")
@click.option(
    "--rows",
    type=int,
    default=_ROWS,
    show_default=True,
    help="Rows of train.csv. Each cycle needs at least 4 segments of 150,000 rows plus one 4,096-row block.",
)
@click.option(
    "--cycles",
    type=int,
    default=_CYCLES,
    show_default=True,
    help="Stick-slip cycles in train.csv (at least 2): a partial first one, then one per failure; "
    "8 or more make grouped cross-validation meaningful.",
)
@click.option(
    "--test-segments",
    type=int,
    default=None,
    help=f"Test segments to write (150,000 rows each, from held-out cycles). Default: {_TEST_SEGMENTS}, "
    "or the row count of --sample-submission.",
)
@click.option(
    "--sample-submission",
    type=click.Path(dir_okay=False),
    default=None,
    help="A Kaggle sample_submission.csv whose seg_ids (in file order) name the test segments.",
)
@click.option(
    "--model",
    type=click.Choice(_MODELS),
    default=_DEFAULT_MODEL,
    show_default=True,
    help="The generator's calibration: v6 (v5 on the real instrument floor, its quiet windows as impulsive as "
    "the real ones), v5 (v4 with a steady part of the activity under its events, as busy "
    "as the real windows), v4 (v3 with events as long as the real ones, more small ones and the real "
    "signal's lean to positive swings), v3 (v2's signal refitted to the real windows' joint statistics and how "
    "readable their label is), v2 (the real train windows and test segments statistic by statistic: spectra, "
    "tails, label trend; v2 and later lay out the real cycles at --rows 629145480 --cycles 17) or v1 (the first "
    "one). Figures in the README say which one they used.",
)
def synth(out, seed, rows, cycles, test_segments, sample_submission, model):
    """Write a synthetic LANL dataset to OUT: train.csv, test/seg_*.csv, sample_submission.csv.

    The signal mimics the lab: stick-slip cycles of 7-16 s, 4,096-sample blocks with recording gaps, int16
    signal around 4.5: an instrument floor, resonances excited by acoustic-emission events that grow towards
    each failure (with the real spectra), and a large burst ~0.3 s before each failure.
    OUT/synth_info.json records the seed, the model, the sizes and the first row of each cycle. OUT is replaced
    whole and atomically; it must be absent, empty, or an earlier synthetic dataset.
    """
    from lanl.data.synth import generate

    t0 = time.perf_counter()
    info = generate(
        out,
        seed=seed,
        rows=rows,
        cycles=cycles,
        test_segments=test_segments,
        sample_submission=sample_submission,
        model=model,
    )
    click.echo(
        f"wrote {info.out_dir}: train.csv ({info.rows:,} rows, {info.cycles} cycles), "
        f"{info.test_segments:,} test segments (model {info.model}) in {time.perf_counter() - t0:.1f} s"
    )


COMMANDS = [synth]
