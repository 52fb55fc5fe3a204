"""One self-contained HTML file: tables and figures, the figures embedded as PNG data URIs."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from image_baseline.plots import to_data_uri

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
th { background: #f3f3f3; }
figure { margin: 0 0 1.5em; display: inline-block; vertical-align: top; }
figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; }
"""


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def figure(fig: Figure, caption: str) -> str:
    return f'<figure><img src="{to_data_uri(fig)}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'


def paragraph(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def write_report(path: Path, title: str, sections: Sequence[tuple[str, Sequence[str]]]) -> Path:
    """Write ``sections`` (heading, html parts) under ``title`` to ``path``."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"]
    parts.append(f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>")
    for heading, contents in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.extend(contents)
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
