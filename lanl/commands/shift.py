"""``lanl shift``: how the test set differs from train, and what the shift stage would do about it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lanl.commands._options import (
    cache_opt,
    feature_jobs_opt,
    features_dir_opt,
    load_table_options,
    table_opts,
)


@click.command()
@click.argument("data", type=click.Path(path_type=Path), required=False)
@click.option("--features", default=None, help="Feature set to compare on (DATA only; default kernel).")
@click.option(
    "--remedies",
    default="auto",
    show_default=True,
    help="Remedies to plan, comma-separated: auto, or any of ks_filter, cycle_subset, cycle_length, weights, fraction, mean.",
)
@click.option("--test-mean", type=float, default=0.0, help="The test mean prior of the 'mean' remedy.")
@click.option(
    "--test-cycle-seconds",
    type=float,
    default=0.0,
    help="The test cycle length of 'fraction' (0: estimated).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the diagnostics as JSON.")
@table_opts
@cache_opt
@features_dir_opt
@feature_jobs_opt
def shift(
    data,
    features,
    remedies,
    test_mean,
    test_cycle_seconds,
    as_json,
    cache_dir,
    features_dir,
    jobs,
    **table_options,
):
    """Train -> test shift diagnostics of DATA's feature tables (or of --table/--test-table).

    Prints the adversarial AUC (a classifier telling train windows from test segments; 0.5: alike) before and
    after each remedy, the features that shift most (KS D and p), the training cycles closest to test and
    what the remedies (default: auto) would choose, with the reasons. Reads only features, never labels of
    the test set (it has none).
    """
    from lanl.cv.shift import diagnose, parse_remedies, shift_config
    from lanl.cv.train import load_config, prepare
    from lanl.workspace import Workspace

    config = shift_config(
        {
            "remedies": parse_remedies(remedies),
            "test_mean": test_mean,
            "test_cycle_seconds": test_cycle_seconds,
        }
    )
    tables = load_table_options(**table_options)
    if tables is not None:
        if data is not None:
            raise click.UsageError("give DATA or --table, not both")
        if tables.test is None:
            raise click.UsageError("shift diagnostics compare train with test: give --test-table too")
        train, test, names = tables.train, tables.test, tables.features
    elif data is None:
        raise click.UsageError("give DATA (a Kaggle-layout folder) or --table TRAIN --test-table TEST")
    else:
        run = load_config(None, model="lgbm", features=features)
        ws = Workspace.open(data, cache_dir, features=features_dir, jobs=jobs)
        with ws:
            _, _, inputs = prepare(ws, run)
        if inputs.X_test is None:
            raise click.UsageError(f"{data} has no test segments to compare with")
        train, test, names = inputs.table.join(inputs.X), inputs.X_test, list(inputs.X.columns)
    doc = diagnose(train[names], train["cycle"].to_numpy(), train["label"].to_numpy(), test[names], config)
    click.echo(json.dumps(doc, indent=2) if as_json else _format(doc, len(train), len(test)))


def _format(doc: dict, n_train: int, n_test: int) -> str:
    lines = [
        f"train {n_train:,} windows, test {n_test:,} segments, {len(doc['features'])} features kept",
        f"adversarial AUC: {doc['auc_before']:.3f} before, {doc['auc_after_features']:.3f} after the feature "
        f"filter"
        + (f", {doc['auc_after_cycles']:.3f} after the cycle subset" if "auc_after_cycles" in doc else ""),
        "most shifted features (KS D, p):",
        *[f"  {r['feature']:<40} {r['statistic']:.4f}  {r['pvalue']:.3g}" for r in doc["ks"]],
        f"closest cycles: {doc['cycle_match']['cycles']} (mean KS D {doc['cycle_match']['score']:.4f}; all "
        f"cycles {doc['cycle_match']['all_score']:.4f}; best of {doc['cycle_match']['draws']} draws)",
        f"remedies chosen: {', '.join(doc['remedies']) or 'none'}",
        *[f"  {n}" for n in doc["notes"]],
    ]
    return "\n".join(lines)


COMMANDS = [shift]
