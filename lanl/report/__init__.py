"""The cross-validation report: one self-contained HTML page (plots embedded as PNG) and a Markdown summary
for one or several runs side by side -- the page a competitor reads to decide what to submit.

    build_report([run_dir, ...], out_dir=None) -> ReportFiles(html, markdown, figures)

It shows the CV MAE of every run next to the constant-median baseline (overall, per fold, per cycle), the
predictions along each held-out cycle, residuals by true time_to_failure, feature importance, learning curves,
the test predictions against the OOF ones and, for a run trained from a tuning study's best config (or a study
given with ``studies=``), the study's optimisation history and parameter importances; and it warns when a
number is optimistic (shuffled KFold, overlapping windows) or when runs were scored on different folds.

:mod:`~lanl.report.tables` computes the numbers, :mod:`~lanl.report.figures` draws the figures and
:mod:`~lanl.report.pages` renders the two pages; this module reads the runs and writes the report folder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from lanl.cv.runs import Run
from lanl.errors import LanlError
from lanl.fsutil import atomic_dir
from lanl.report.figures import draw_figures
from lanl.report.pages import render_html, render_markdown
from lanl.report.tables import report_warnings, summary_table, tuning_studies

REPORTS_SUBDIR = "_reports"


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
