"""One self-contained HTML page: tables and PNG figures inline, nothing external.

Every report of the project (a simulation run, a comparison, a calibration's validation)
is written by :func:`write_page`, so they all open offline and look alike: figures are
embedded as base64 PNG, the style sheet is inline, and there is no script.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

__all__ = ["Cell", "figure", "table", "write_page"]

#: A table cell: an HTML fragment, or ``(fragment, css_class)``.
Cell = str | tuple[str, str]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:0.85em;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#eee} img{max-width:100%} figcaption{font-size:0.8em;color:#555}
.zero{color:#888;font-style:italic} .note{font-size:0.85em;color:#555}
th.t,td.t{text-align:left}
"""


def figure(png: bytes | str | Path, caption: str) -> str:
    """A ``<figure>`` embedding a PNG (its bytes, or the file holding it) with a caption."""
    data = png if isinstance(png, bytes) else Path(png).read_bytes()
    b64 = base64.b64encode(data).decode("ascii")
    alt = html.escape(caption)
    return (f'<figure><img alt="{alt}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{alt}</figcaption></figure>")


def _td(cell: Cell) -> str:
    if isinstance(cell, tuple):
        text, cls = cell
        return f'<td class="{html.escape(cls)}">{text}</td>'
    return f"<td>{cell}</td>"


def table(header: Sequence[str], rows: Sequence[Sequence[Cell]], *,
          text_columns: int = 1) -> str:
    """A ``<table>`` with a header row; header and cells are HTML fragments (escape plain
    text with :func:`html.escape`). The first ``text_columns`` columns (names, codes)
    are aligned left, the others (figures) right."""
    def cls(j: int, cell: Cell) -> Cell:
        return (cell, "t") if j < text_columns and not isinstance(cell, tuple) else cell

    head = "".join(f'<th class="t">{h}</th>' if j < text_columns else f"<th>{h}</th>"
                   for j, h in enumerate(header))
    body = "".join("<tr>" + "".join(_td(cls(j, c)) for j, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_page(path: str | Path, title: str, body: Sequence[str]) -> Path:
    """Write ``body`` (HTML fragments, in order) as one page titled ``title``.

    Returns
    -------
    Path
        The file written (UTF-8).
    """
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"note\">urbangrid report, written "
            f"{stamp}</p>" + "\n".join(body) + "</body></html>\n")
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path
