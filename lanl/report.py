"""The cross-validation report: one self-contained HTML page (plots embedded as PNG) and a Markdown summary
for one or several runs side by side -- the page a competitor reads to decide what to submit.

    build_report([run_dir, ...], out_dir=None) -> ReportFiles(html, markdown, figures)

It shows the CV MAE of every run next to the constant-median baseline (overall, per fold, per cycle), the
predictions along each held-out cycle, residuals by true time_to_failure, feature importance, learning curves,
the test predictions against the OOF ones and, for a run trained from a tuning study's best config (or a study
given with ``studies=``), the study's optimisation history and parameter importances; and it warns when a
number is optimistic (shuffled KFold, overlapping windows) or when runs were scored on different folds.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lanl.cv.folds import OPTIMISTIC_WARNING
from lanl.cv.runs import Run
from lanl.errors import LanlError
from lanl.fsutil import atomic_dir

REPORTS_SUBDIR = "_reports"
BASELINE_COLOR = "0.6"
TOP_FEATURES = 20
# learning curves per boosting round (the nets': per epoch)
BOOSTERS = ("lgbm", "lgbm_dask", "catboost", "xgboost")


@dataclass
class ReportFiles:
    folder: Path
    html: Path
    markdown: Path
    figures: list[Path]


def build_report(
    run_dirs: list[str | Path], out_dir: str | Path | None = None, studies: list[str | Path] | None = None
) -> ReportFiles:
    """Read the runs, draw the figures, write ``report.html``, ``report.md`` and ``figures/*.png``.
    ``studies``: tuning study folders (``runs/_studies/<study>``) to show beside the ones found for the runs."""
    if not run_dirs:
        raise LanlError("give at least one run folder")
    runs = [Run.open(p) for p in run_dirs]
    _check_unique_names(runs)
    out_dir = Path(out_dir) if out_dir else default_out_dir(runs)
    summary = summary_table(runs)
    warnings = report_warnings(runs)
    tuned = tuning_studies(runs, studies or [])
    figures = draw_figures(runs, tuned)
    with atomic_dir(out_dir) as tmp:
        (tmp / "figures").mkdir()
        for name, (_, png) in figures.items():
            (tmp / "figures" / f"{name}.png").write_bytes(png)
        (tmp / "report.html").write_text(render_html(runs, summary, warnings, figures, tuned))
        (tmp / "report.md").write_text(render_markdown(runs, summary, warnings, figures, tuned))
    return ReportFiles(
        out_dir,
        out_dir / "report.html",
        out_dir / "report.md",
        [out_dir / "figures" / f"{n}.png" for n in figures],
    )


def default_out_dir(runs: list[Run]) -> Path:
    names = "+".join(r.name for r in runs)
    if len(names) > 80:
        names = f"{runs[0].name}+{len(runs) - 1}-more-{hashlib.blake2b(names.encode(), digest_size=4).hexdigest()}"
    return runs[0].root.parent / REPORTS_SUBDIR / names


def _check_unique_names(runs: list[Run]) -> None:
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise LanlError(f"runs with the same folder name cannot be told apart: {', '.join(names)}")


# ----------------------------------------------------------------------------------------------- numbers
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
    # lanl.cv.tune imports optuna (~0.5 s); only reports of studies need it
    from lanl.cv.tune import read_study, studies_of

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


# ----------------------------------------------------------------------------------------------- figures
def draw_figures(runs: list[Run], studies: list | None = None) -> dict[str, tuple[str, bytes]]:
    """name -> (caption, PNG bytes) for every figure that applies to these runs."""
    plots: list[tuple[str, str, Callable]] = [
        ("mae_by_fold", "MAE per fold; grey: the constant-median baseline", plot_mae_by_fold),
        ("mae_by_cycle", "MAE per quake cycle (as validation); grey: the baseline", plot_mae_by_cycle),
        ("cycles", "Predicted (OOF) vs true time_to_failure along each held-out cycle", plot_cycles),
        ("residuals", "Residual (pred - true) by true time_to_failure; line: binned mean", plot_residuals),
        (
            "importance",
            f"Feature importance (gain, mean and sd over folds, top {TOP_FEATURES})",
            plot_importance,
        ),
        ("learning_curves", "Learning curves per fold (loss in seconds; solid: stopping set)", plot_learning),
        (
            "test_vs_oof",
            "Distribution of test predictions (fold mean) vs OOF predictions and labels",
            plot_test_vs_oof,
        ),
        (
            "mae_vs_cycle_length",
            "MAE of each held-out cycle against its length in seconds",
            plot_mae_vs_length,
        ),
    ]
    figures = {}
    for name, caption, plot in plots:
        fig = plot(runs)
        if fig is not None:
            figures[name] = (caption, _png(fig))
    tuning = [
        (
            "tuning_history",
            "Tuning: CV MAE of every trial (x: pruned, at its last fold), best so far",
            plot_history,
        ),
        (
            "tuning_importance",
            "Tuning: parameter importances (PED-ANOVA over complete trials)",
            plot_param_importance,
        ),
    ]
    for name, caption, plot in tuning if studies else []:
        fig = plot(studies)
        if fig is not None:
            figures[name] = (caption, _png(fig))
    return figures


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _subplots(*grid, figsize: tuple[float, float], **kw):
    """(figure, axes) like pyplot.subplots, on a Figure of its own: no pyplot state and no backend switch, so
    importing the report leaves a notebook's inline plots alone; savefig renders PNG with Agg."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **kw)


def _grouped_bars(ax, labels, series: dict[str, list[float]], baseline: list[float]) -> None:
    x = np.arange(len(labels))
    width = 0.8 / (len(series) + 1)
    ax.bar(x - 0.4 + width / 2, baseline, width, color=BASELINE_COLOR, label="median baseline")
    for i, (name, values) in enumerate(series.items(), start=1):
        ax.bar(x - 0.4 + width * (i + 0.5), values, width, label=name)
    ax.set_xticks(x, labels)
    ax.set_ylabel("MAE (s)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def plot_mae_by_fold(runs: list[Run]):
    fig, ax = _subplots(figsize=(max(6, 1.2 * len(runs[0].metrics["folds"])), 3.5))
    folds = runs[0].metrics["folds"]
    series = {
        r.name: [f["mae"] for f in r.metrics["folds"]] for r in runs if len(r.metrics["folds"]) == len(folds)
    }
    _grouped_bars(ax, [f"fold {f['fold']}" for f in folds], series, [f["baseline_mae"] for f in folds])
    return fig


def plot_mae_by_cycle(runs: list[Run]):
    table = per_cycle_table(runs)
    fig, ax = _subplots(figsize=(max(6, 0.9 * len(table)), 3.5))
    _grouped_bars(
        ax,
        [str(c) for c in table["cycle"]],
        {r.name: table[r.name].tolist() for r in runs},
        table["baseline"].tolist(),
    )
    ax.set_xlabel("quake cycle")
    return fig


def plot_cycles(runs: list[Run]):
    base = runs[0].oof
    cycles = sorted(base["cycle"].unique())
    cols = min(4, len(cycles))
    rows = -(-len(cycles) // cols)
    fig, axes = _subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False, sharey=True)
    for ax, c in zip(axes.flat, cycles, strict=False):
        for i, r in enumerate(runs):
            part = _cycle_rows(r.oof, c)
            if i == 0:
                ax.plot(part["x"], part["label"], color="black", lw=2, label="true")
            ax.plot(part["x"], part["pred"], lw=1.2, marker=".", ms=3, label=r.name)
        ax.set_title(f"cycle {c} (fold {int(_cycle_rows(base, c)['fold'].iloc[0])})", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(cycles) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("time_to_failure (s)")
    axes[0, 0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("window in cycle")
    fig.tight_layout()
    return fig


def _cycle_rows(oof: pd.DataFrame, cycle) -> pd.DataFrame:
    part = oof[oof["cycle"] == cycle]
    part = part.sort_values("start") if "start" in part.columns else part
    return part.assign(x=np.arange(len(part)))


def plot_residuals(runs: list[Run]):
    fig, axes = _subplots(1, len(runs), figsize=(4.5 * len(runs), 3.2), squeeze=False, sharey=True)
    for ax, r in zip(axes[0], runs, strict=True):
        label, resid = r.oof["label"].to_numpy(), (r.oof["pred"] - r.oof["label"]).to_numpy()
        ax.scatter(label, resid, s=6, alpha=0.5)
        edges = np.linspace(label.min(), label.max(), 11)
        mids, means = _binned_mean(label, resid, edges)
        ax.plot(mids, means, color="C3", lw=2)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(r.name, fontsize=9)
        ax.set_xlabel("true time_to_failure (s)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("pred - true (s)")
    return fig


def _binned_mean(x, y, edges):
    which = np.clip(np.digitize(x, edges) - 1, 0, len(edges) - 2)
    mids = (edges[:-1] + edges[1:]) / 2
    means = np.array([y[which == b].mean() if (which == b).any() else np.nan for b in range(len(mids))])
    return mids, means


def plot_importance(runs: list[Run]):
    with_imp = [r for r in runs if r.importance is not None]
    if not with_imp:
        return None
    fig, axes = _subplots(
        1, len(with_imp), figsize=(7 * len(with_imp), 0.28 * TOP_FEATURES + 1), squeeze=False
    )
    for ax, r in zip(axes[0], with_imp, strict=True):
        stats = (
            r.importance.groupby("feature")["gain"].agg(["mean", "std"]).nlargest(TOP_FEATURES, "mean")[::-1]
        )
        sd = stats["std"].fillna(0).to_numpy()
        ax.barh(stats.index, stats["mean"], xerr=[np.minimum(sd, stats["mean"]), sd], color="C0", alpha=0.8)
        ax.set_title(r.name, fontsize=9)
        ax.set_xlabel("gain")
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


def plot_learning(runs: list[Run]):
    with_curves = [r for r in runs if any(any(v) for v in r.history.get("fold_0", {}).values())]
    if not with_curves:
        return None
    fig, axes = _subplots(1, len(with_curves), figsize=(4.5 * len(with_curves), 3.2), squeeze=False)
    for ax, r in zip(axes[0], with_curves, strict=True):
        for i, (fold, curves) in enumerate(sorted(r.history.items())):
            for key, values in curves.items():
                style = "--" if key.startswith("train") else "-"
                ax.plot(
                    np.arange(1, len(values) + 1),
                    values,
                    style,
                    color=f"C{i}",
                    lw=1,
                    label=fold if style == "-" else None,
                )
        ax.set_title(r.name, fontsize=9)
        ax.set_xlabel("iteration" if r.model in BOOSTERS else "epoch")
        ax.set_ylabel("loss (s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_test_vs_oof(runs: list[Run]):
    fig, axes = _subplots(1, len(runs), figsize=(4.5 * len(runs), 3.2), squeeze=False, sharey=True)
    for ax, r in zip(axes[0], runs, strict=True):
        bins = np.linspace(0, max(r.oof["label"].max(), r.oof["pred"].max()) * 1.05, 30)
        ax.hist(r.oof["label"], bins, histtype="step", color="black", density=True, label="OOF labels")
        ax.hist(r.oof["pred"], bins, histtype="step", lw=1.5, density=True, label="OOF predictions")
        if r.test_pred is not None:
            ax.hist(
                r.test_pred["mean"], bins, histtype="step", lw=1.5, density=True, label="test predictions"
            )
        ax.set_title(r.name, fontsize=9)
        ax.set_xlabel("time_to_failure (s)")
        ax.legend(fontsize=7)
    return fig


def plot_mae_vs_length(runs: list[Run]):
    fig, ax = _subplots(figsize=(6, 3.4))
    for i, r in enumerate(runs):
        cycles = pd.DataFrame(r.metrics["cycles"]).set_index("cycle")
        lengths = cycle_lengths(r).reindex(cycles.index)
        ax.scatter(lengths, cycles["mae"], s=18, color=f"C{i}", label=r.name)
        if i == 0:
            ax.scatter(
                lengths, cycles["baseline_mae"], s=12, marker="x", color=BASELINE_COLOR, label="baseline"
            )
    matched = runs[0].metrics.get("matched_cycles") or []
    for c in matched:
        ax.axvline(cycle_lengths(runs[0]).get(c, np.nan), color="C2", alpha=0.15, lw=4)
    ax.set_xlabel("cycle length (s)" + ("; shaded: the cycles closest to test" if matched else ""))
    ax.set_ylabel("MAE (s)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_history(studies: list):
    fig, axes = _subplots(1, len(studies), figsize=(5.5 * len(studies), 3.4), squeeze=False)
    for ax, st in zip(axes[0], studies, strict=True):
        t = st.trials
        done = t[t["state"] == "COMPLETE"].sort_values("number")
        pruned = t[t["state"] == "PRUNED"]
        ax.scatter(done["number"], done["value"], s=14, color="C0", label="complete")
        if len(pruned):
            last = pruned.filter(like="fold_").ffill(axis=1).iloc[:, -1]
            ax.scatter(pruned["number"], last, marker="x", s=18, color="C3", label="pruned")
        if len(done):
            ax.step(done["number"], done["value"].cummin(), where="post", color="black", lw=1.2, label="best")
            default = done[done["default"].astype(bool)]
            if len(default):
                ax.axhline(
                    default["value"].iloc[0], color=BASELINE_COLOR, ls="--", lw=1, label="default config"
                )
        ax.set_title(st.name, fontsize=9)
        ax.set_xlabel("trial")
        ax.set_ylabel("CV MAE (s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_param_importance(studies: list):
    with_imp = [st for st in studies if st.importances]
    if not with_imp:
        return None
    height = 0.3 * max(len(st.importances) for st in with_imp) + 1
    fig, axes = _subplots(1, len(with_imp), figsize=(5 * len(with_imp), height), squeeze=False)
    for ax, st in zip(axes[0], with_imp, strict=True):
        items = sorted(st.importances.items(), key=lambda kv: kv[1])
        ax.barh([k for k, _ in items], [v for _, v in items], color="C0", alpha=0.8)
        ax.set_title(st.name, fontsize=9)
        ax.set_xlabel("importance (share)")
        ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------- pages
_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.warn{background:#fff4d6;border-left:4px solid
#e0a800;padding:.5em 1em;margin:.5em 0}figure{margin:1.5em 0}figcaption{color:#555;font-size:14px}img{max-width:100%}"""


ONE_DECIMAL = {"gain %", "seconds"}


def _fmt(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers as text: three decimals (MAE in seconds), one for percentages and wall times."""
    out = table.copy().astype(object)
    for col in table.columns:
        digits = 1 if col in ONE_DECIMAL else 3
        out[col] = [f"{v:.{digits}f}" if isinstance(v, float) else v for v in table[col]]
    return out


def render_html(runs, summary, warnings, figures, studies=()) -> str:
    best = summary.loc[summary["CV MAE"].idxmin()]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>CV report: {html.escape(', '.join(summary['run']))}"
        f"</title><style>{_CSS}</style></head><body>",
        "<h1>Cross-validation report</h1>",
        f"<p>Best CV MAE: <b>{html.escape(best['run'])}</b> at <b>{best['CV MAE']:.3f}</b> s "
        f"(constant-median baseline {best['baseline MAE']:.3f} s).</p>",
        *[f"<div class='warn'>&#9888; {html.escape(w)}</div>" for w in warnings],
        "<h2>Summary</h2>",
        _fmt(summary).to_html(index=False),
    ]
    if studies:
        parts += ["<h2>Tuning studies</h2>", _fmt(tuning_table(studies)).to_html(index=False)]
    parts += _shift_html(runs)
    for name, (caption, png) in figures.items():
        data = base64.b64encode(png).decode()
        parts.append(
            f"<figure id='{name}'><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts += [
        "<h2>Per fold</h2>",
        _fmt(per_fold_table(runs)).to_html(index=False),
        "<h2>Per cycle (MAE)</h2>",
        _fmt(per_cycle_table(runs)).to_html(index=False),
        "<h2>Runs</h2>",
        _run_details(runs),
        "</body></html>",
    ]
    return "\n".join(parts)


def _shift_html(runs: list[Run]) -> list[str]:
    """The train -> test shift: what each run chose and why, the most shifted features, the distributions."""
    parts = ["<h2>Train &rarr; test shift</h2>"]
    chosen = shift_table(runs)
    if len(chosen):
        parts.append(_fmt(chosen).to_html(index=False))
        for r in runs:
            notes = r.metrics.get("shift", {}).get("notes", [])
            if notes:
                items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
                parts.append(f"<p><b>{html.escape(r.name)}</b>:</p><ul>{items}</ul>")
        parts += ["<h3>Most shifted features</h3>", _fmt(shifted_features_table(runs)).to_html(index=False)]
    else:
        parts.append("<p>No shift stage in these runs (config [shift] remedies, or --shift).</p>")
    dist = distribution_table(runs)
    if len(dist):
        parts += ["<h3>Labels, OOF and test predictions</h3>", _fmt(dist).to_html(index=False)]
    return parts


def _run_details(runs: list[Run]) -> str:
    rows = [
        f"<li><b>{html.escape(r.name)}</b>: {html.escape(str(r.root))}; seed {r.config['seed']}, folds "
        f"{html.escape(str(r.config.get('folds_id')))}, code {html.escape(str(r.config.get('code_version')))}</li>"
        for r in runs
    ]
    return "<ul>" + "".join(rows) + "</ul>"


def markdown_table(table: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs the optional tabulate package)."""
    cells = _fmt(table).astype(str)
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def render_markdown(runs, summary, warnings, figures, studies=()) -> str:
    lines = ["# Cross-validation report", ""]
    lines += [f"> **Warning:** {w}" for w in warnings] + ([""] if warnings else [])
    lines += ["## Summary", "", markdown_table(summary), ""]
    if studies:
        lines += ["## Tuning studies", "", markdown_table(tuning_table(studies)), ""]
    chosen, dist = shift_table(runs), distribution_table(runs)
    if len(chosen):
        lines += ["## Train -> test shift", "", markdown_table(chosen), ""]
        lines += [f"- {r.name}: {n}" for r in runs for n in r.metrics.get("shift", {}).get("notes", [])] + [
            ""
        ]
    if len(dist):
        lines += ["## Labels, OOF and test predictions", "", markdown_table(dist), ""]
    lines += ["## Per fold", "", markdown_table(per_fold_table(runs)), ""]
    lines += ["## Per cycle (MAE)", "", markdown_table(per_cycle_table(runs)), ""]
    lines += ["## Figures", ""] + [
        f"- [{caption}](figures/{name}.png)" for name, (caption, _) in figures.items()
    ]
    return "\n".join(lines) + "\n"
