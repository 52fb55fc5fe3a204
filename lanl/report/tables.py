"""The report's numbers: per-run, per-fold and per-cycle tables, the shift and tuning tables, warnings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lanl.cv.folds import OPTIMISTIC_WARNING
from lanl.cv.runs import Run


def summary_table(runs: list[Run]) -> pd.DataFrame:
    rows = []
    for r in runs:
        m, c = r.metrics, r.config
        rows.append(
            {
                "run": r.name,
                "model": c["model"],
                "features": c.get("feature_set", c.get("features")),
                "target": c["target"],
                "folds": f"{c['folds']['scheme']} ({len(m['folds'])})",
                "CV MAE": m["cv_mae"],
                "baseline MAE": m["baseline_mae"],
                "gain %": 100 * (1 - m["cv_mae"] / m["baseline_mae"]),
                "fold MAE sd": float(np.std([f["mae"] for f in m["folds"]])),
                **({"CV MAE, cycles like test": m["cv_mae_matched"]} if "cv_mae_matched" in m else {}),
                **(
                    {"test mean": m["distribution"]["test"]["mean"]}
                    if "test" in m.get("distribution", {})
                    else {}
                ),
                "seconds": m["seconds"],
            }
        )
    return pd.DataFrame(rows)


def distribution_table(runs: list[Run]) -> pd.DataFrame:
    """Mean and quantiles of the labels, OOF and test predictions of each run (the shift shows here)."""
    rows = [
        {"run": r.name, "of": part, **values}
        for r in runs
        for part, values in r.metrics.get("distribution", {}).items()
    ]
    return pd.DataFrame(rows)


def shift_table(runs: list[Run]) -> pd.DataFrame:
    """What each run's shift stage chose (on all training rows) and the adversarial AUC before and after."""
    rows = []
    for r in runs:
        sh = r.metrics.get("shift")
        if not sh:
            continue
        n_all = r.metrics["n_segments"]
        rows.append(
            {
                "run": r.name,
                "remedies": ", ".join(sh["remedies"]) or "none",
                "features kept": len(sh["features"]),
                "cycles": "all" if sh.get("cycles") is None else ", ".join(map(str, sh["cycles"])),
                "rows": f"{sh['n_rows']} of {n_all}",
                "AUC before": sh.get("auc_before"),
                "AUC after filter": sh.get("auc_after_features"),
                "AUC after cycles": sh.get("auc_after_cycles", float("nan")),
                "test seconds": "" if sh.get("test_seconds") is None else sh["test_seconds"],
            }
        )
    return pd.DataFrame(rows)


def shifted_features_table(runs: list[Run]) -> pd.DataFrame:
    """The features that shift most between train and test (KS D, p) for the first run with a shift stage."""
    for r in runs:
        sh = r.metrics.get("shift")
        if sh and sh.get("ks"):
            return pd.DataFrame(sh["ks"]).rename(columns={"statistic": "KS D", "pvalue": "p"})
    return pd.DataFrame()


def per_fold_table(runs: list[Run]) -> pd.DataFrame:
    rows = [
        {
            "run": r.name,
            "fold": f["fold"],
            "cycles": ", ".join(map(str, f["cycles"])),
            "n": f["n"],
            "MAE": f["mae"],
            "baseline": f["baseline_mae"],
            "best iteration/epoch": f["best"],
        }
        for r in runs
        for f in r.metrics["folds"]
    ]
    return pd.DataFrame(rows)


def per_cycle_table(runs: list[Run]) -> pd.DataFrame:
    """MAE per cycle of each run, next to the cycle's length in seconds (its largest label: on the real data,
    the 16 real cycle lengths) and the baseline."""
    frames = [pd.DataFrame(r.metrics["cycles"]).assign(run=r.name) for r in runs]
    table = pd.concat(frames).pivot_table(index="cycle", columns="run", values="mae", sort=False)
    base = pd.DataFrame(runs[0].metrics["cycles"]).set_index("cycle")
    table.insert(0, "n", base["n"])
    table.insert(1, "length s", cycle_lengths(runs[0]).reindex(table.index))
    table.insert(2, "baseline", base["baseline_mae"])
    return table[["n", "length s", "baseline", *[r.name for r in runs]]].reset_index()


def cycle_lengths(run: Run) -> pd.Series:
    """Each cycle's length in seconds as its windows show it: the largest label (the first and last cycles
    of train.csv are partial)."""
    return run.oof.groupby("cycle")["label"].max()


def report_warnings(runs: list[Run]) -> list[str]:
    out = []
    for r in runs:
        seg = r.config.get("segments", {})
        overlap = seg.get("stride") and seg["stride"] < seg.get("length", 150_000)
        if r.config["folds"]["scheme"] == "kfold":
            out.append(f"{r.name}: {OPTIMISTIC_WARNING}{' (these windows overlap)' if overlap else ''}.")
    ids = {r.config.get("folds_id") for r in runs}
    if len(ids) > 1:
        out.append(
            "the runs were scored on different folds ("
            + ", ".join(sorted(map(str, ids)))
            + "): their CV MAEs are not directly comparable, and they cannot be stacked together."
        )
    return out


def tuning_studies(runs: list[Run], given: list[str | Path]) -> list:
    """The studies given, then those whose best config a run was trained from (each once)."""
    # lanl.cv.studies imports the CV loop (lanl.cv.train: ~2 s more); only reports of studies need it
    from lanl.cv.studies import read_study, studies_of

    folders = [Path(p) for p in given] + [f for r in runs for f in studies_of(r.root, r.config)]
    unique = list(dict.fromkeys(f.resolve() for f in folders))
    return [read_study(f) for f in unique]


def tuning_table(studies: list) -> pd.DataFrame:
    rows = [
        {
            "study": st.name,
            "model": st.summary.get("model"),
            "trials": st.summary.get("n_trials"),
            "complete": st.summary.get("n_complete"),
            "pruned": st.summary.get("n_pruned"),
            "default CV MAE": st.summary.get("default_value"),
            "best CV MAE": st.summary.get("best_value"),
            "best trial": st.summary.get("best_trial"),
        }
        for st in studies
    ]
    return pd.DataFrame(rows)
