"""The report's figures, each drawn on a Figure of its own (no pyplot state, no backend switch) and
rendered to PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lanl.cv.runs import Run
from lanl.report.tables import cycle_lengths, per_cycle_table

BASELINE_COLOR = "0.6"
TOP_FEATURES = 20
# learning curves per boosting round (the nets': per epoch)
BOOSTERS = ("lgbm", "lgbm_dask", "catboost", "xgboost")


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
