"""Shift benchmark: each train -> test shift remedy, and ``auto``, on the real 33-feature table and on synthetic
tables whose test part is shifted by design.

For every remedy set, LightGBM (the default run config) under 5 cycle-grouped folds via ``lanl.cv.train``: CV MAE
on all cycles and on the training cycles closest to test (the same cycles for every row of the table: those
``lanl shift`` picks on all training rows), the adversarial AUC train vs test after the remedy, the test
predictions' mean and quartiles, seconds. The real table: ``../shared/lanl_real_labelled/features/`` (skipped
when absent). What it measures on the real table is whether a remedy moves the test predictions up, where
every top submission sat (public write-ups: the test mean of time_to_failure is about 6.3 s), at what cost in CV.

    python3 benchmarks/bench_shift.py                 # both tables
    python3 benchmarks/bench_shift.py --only synthetic
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lanl.cv.runs import Run
from lanl.cv.shift import ShiftConfig, diagnose
from lanl.cv.train import config_from_dict, matched_metrics, train_table
from lanl.data.synth_tables import shifted_tables
from lanl.data.tables import load_tables

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "lanl_real_labelled" / "features"
SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "lanl_real" / "sample_submission.csv"
REMEDIES = [
    [],
    ["ks_filter"],
    ["cycle_subset"],
    ["weights"],
    ["ks_filter", "cycle_subset"],
    ["ks_filter", "weights"],
    ["ks_filter", "cycle_subset", "weights"],
    ["fraction"],
    ["ks_filter", "cycle_subset", "fraction"],
    ["mean"],
    ["auto"],
]


def bench(train, test, runs: Path, label: str, test_mean: float) -> list[dict]:
    features = [c for c in train.columns if c not in ("seg_id", "start", "cycle", "label")]
    doc = diagnose(
        train[features],
        train["cycle"].to_numpy(),
        train["label"].to_numpy(),
        test[features],
        ShiftConfig(remedies=["ks_filter", "cycle_subset"]),
    )
    closest = doc["cycles"]
    rows = []
    for remedies in REMEDIES:
        shift = {"remedies": remedies, **({"test_mean": test_mean} if "mean" in remedies else {})}
        name = f"{label.split()[0]}-{'+'.join(remedies) or 'none'}"
        config = config_from_dict({"model": "lgbm", "name": name, "shift": shift})
        t = time.perf_counter()
        run = Run.open(train_table(train, config, test=test, runs_dir=runs))
        seconds = time.perf_counter() - t
        m = run.metrics
        sh = m.get("shift", {})
        auc = sh.get("auc_after_cycles", sh.get("auc_after_features", sh.get("auc_before", float("nan"))))
        q = np.quantile(run.test_pred["mean"], [0.25, 0.5, 0.75])
        rows.append(
            {
                "remedies": "+".join(remedies) or "none",
                "chosen": ",".join(sh.get("remedies", [])) if remedies == ["auto"] else "",
                "cv_all": m["cv_mae"],
                "cv_closest": matched_metrics(run.oof, closest)["cv_mae_matched"],
                "auc": auc,
                "test_mean": float(run.test_pred["mean"].mean()),
                "q": q,
                "seconds": seconds,
            }
        )
    print_table(label, rows, closest, doc["auc_before"])
    return rows


def print_table(label: str, rows: list[dict], closest: list[int], auc_before: float) -> None:
    print(f"\n{label}: LightGBM, 5 cycle-grouped folds; 'closest' = OOF MAE on cycles {closest}")
    print(f"adversarial AUC train vs test before any remedy: {auc_before:.3f}")
    print(
        "| remedies | CV MAE all | CV MAE closest | adv. AUC after | test mean | test q25 / q50 / q75 | s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        chosen = f" (chose {r['chosen'] or 'nothing'})" if r["remedies"] == "auto" else ""
        auc = "" if np.isnan(r["auc"]) else f"{r['auc']:.3f}"
        print(
            f"| {r['remedies']}{chosen} | {r['cv_all']:.3f} | {r['cv_closest']:.3f} | {auc} | "
            f"{r['test_mean']:.2f} | {' / '.join(f'{v:.2f}' for v in r['q'])} | {r['seconds']:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["real", "synthetic"], default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "real":
            train, test = shifted_tables(seed=0, durations=tuple(range(6, 18)) * 2, offset=0.5, n_test=800)
            bench(train, test, Path(tmp) / "synthetic", "synthetic (test: 16 s cycles, 'level' offset)", 8.0)
        if args.only != "synthetic":
            if not REAL.is_dir():
                print("\nreal: skipped (../shared/lanl_real_labelled is absent)")
                return
            t = load_tables(
                REAL / "timestocome__Kaggle__train_stats.csv",
                REAL / "timestocome__Kaggle__test_stats.csv",
                sample_submission=SAMPLE if SAMPLE.is_file() else None,
            )
            bench(
                t.train,
                t.test,
                Path(tmp) / "real",
                "real (timestocome 33 features, 2,624 test segments)",
                6.32,
            )


if __name__ == "__main__":
    main()
