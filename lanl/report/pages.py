"""The report's pages: the self-contained HTML page and the Markdown summary."""

from __future__ import annotations

import base64
import html

import pandas as pd

from lanl.cv.runs import Run
from lanl.report.tables import (
    distribution_table,
    per_cycle_table,
    per_fold_table,
    shift_table,
    shifted_features_table,
    tuning_table,
)

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
