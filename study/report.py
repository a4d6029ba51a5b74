"""The ``report.html`` of a simulation run or of a comparison, with its figures.

Each report writes its PNG figures (:mod:`urbangrid.study.figures`) into the output
folder and one self-contained page (:func:`urbangrid.study.html.write_page`) that embeds
them, so it opens offline.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from urbangrid.catalogue import CHANNELS
from urbangrid.simulation import SUMMARY_KPIS, kpi_definitions

from .figures import plot_backlog, plot_differences, plot_handling_cdf, plot_map
from .html import figure, table, write_page
from .numbers import estimate_parts

if TYPE_CHECKING:
    from urbangrid.simulation import RunResult

__all__ = ["REPORT_KPIS", "write_comparison_report", "write_simulation_report"]


#: KPIs shown in report tables, with a display format (the ``simulate`` table's).
REPORT_KPIS = SUMMARY_KPIS


def _fmt(rec: Mapping[str, Any], fmt: str, difference: bool = False) -> tuple[str, str]:
    return estimate_parts(rec.get("mean"), rec.get("ci95"), fmt, difference=difference)


def _kpi_table(kpis: Mapping[str, Any], by_channel: Mapping[str, Any]) -> str:
    rows = []
    for name, fmt in REPORT_KPIS:
        m, h = _fmt(kpis.get(name, {}), fmt)
        chans = [" ".join(_fmt(by_channel.get(c, {}).get(name, {}), fmt)) for c in CHANNELS]
        rows.append([name, m, h, *chans])
    return table(["KPI", "all cases", "± 95 %", *CHANNELS], rows)


def write_simulation_report(out_dir: str | Path, result: RunResult,
                            kpis: Mapping[str, Any]) -> Path:
    """Write the figures and ``report.html`` of a ``simulate`` run.

    Parameters
    ----------
    out_dir
        Existing output folder.
    result
        Replication 0's full records (``ReplicationSummary.first``).
    kpis
        The ``kpis.json`` document (:func:`urbangrid.simulation.kpis_document`):
        ``kpis``, ``by_channel``, ``replications``, ``seed``.

    Returns
    -------
    Path
        The ``report.html`` written.
    """
    out = Path(out_dir)
    step = result.scenario.output.backlog_step_min * 60.0
    figs = [
        (plot_map(result, out / "map.png"), "Case density and mean handling time per cell"),
        (plot_backlog({result.scenario.name: result}, out / "backlog.png", step),
         "Open cases over time"),
        (plot_handling_cdf({result.scenario.name: result}, out / "handling_cdf.png"),
         "Handling time CDF per channel, calendar and working days"),
    ]
    sc = result.scenario
    body = [
        f"<p>{html.escape(sc.description)}</p>" if sc.description else "",
        f"<p>{sc.run.days:g} simulated days after a {sc.run.warmup_days:g}-day warm-up "
        f"(discarded), {kpis.get('replications', 1)} replication(s), root seed "
        f"{kpis.get('seed', result.seed)}, dispatch policy "
        f"<code>{html.escape(sc.dispatch.policy)}</code>, process "
        f"<code>{html.escape(sc.workflow.process)}</code>. Means with 95 % Student-t "
        "half-widths over replications; maps and plots show replication 0.</p>",
        "<h2>KPIs</h2>", _kpi_table(kpis.get("kpis", {}), kpis.get("by_channel", {})),
        _backlog_split(kpis.get("kpis", {})),
        _office_table(kpis.get("by_office", {})),
        "<h2>Figures</h2>", *(figure(p, alt) for p, alt in figs),
        _definitions(),
    ]
    return write_page(out / "report.html", f"urbangrid: {sc.name}", body)


#: Columns of the per-organisation table: key, heading, format.
_OFFICE_COLUMNS = (
    ("staff", "people on duty", "{:.0f}"), ("arrivals_per_day", "work items / day", "{:,.0f}"),
    ("utilisation", "staff utilisation", "{:.1%}"), ("queue_mean", "queue (mean)", "{:,.1f}"),
    ("queue_hours_mean", "time in queue (h)", "{:.2f}"), ("orders", "orders replied", "{:,.0f}"),
    ("returned", "orders returned", "{:,.0f}"), ("on_time_rate", "replied on time", "{:.1%}"),
)


def _office_table(by_office: Mapping[str, Any]) -> str:
    """The per-organisation table (work orders): one row per office, means ± 95 %."""
    if not by_office:
        return ""
    rows = []
    for name, rec in by_office.items():
        row = [html.escape(name)]
        for key, _, fmt in _OFFICE_COLUMNS:
            m, h = _fmt(rec.get(key, {}), fmt)
            row.append(f"{m} {h}".strip())
        rows.append(row)
    return ("<h2>Work orders: organisations</h2><p class='note'>Each office's staff, the "
            "work it was asked for (orders, hops, returns, callbacks: items), how busy its "
            "people were in their duty hours and how long work waited for them.</p>"
            + table(["office"] + [h for _, h, _ in _OFFICE_COLUMNS], rows))


def _backlog_split(k: Mapping[str, Any]) -> str:
    crew, office = k.get("backlog_crew_mean"), k.get("backlog_office_mean")
    if not crew or not office:
        return ""
    c, o = _fmt(crew, "{:,.0f}")[0], _fmt(office, "{:,.0f}")[0]
    return (f"<p>Open cases (time-weighted mean): {c} waiting for a crew, {o} work orders "
            "with an office.</p>")


def _definitions() -> str:
    """The KPIs' definitions (``simulation/kpis.py``), so a reader of a table knows what
    each row counts."""
    rows = [[f"<code>{html.escape(name)}</code>", html.escape(text)]
            for name, text in kpi_definitions()]
    return ("<h2>KPI definitions</h2><p class='note'>Case KPIs count the cases reported "
            "in the statistics window (after the warm-up); backlog and utilisation are "
            "time-weighted over the window.</p>" + table(["KPI", "definition"], rows))


def _settings_table(doc: Mapping[str, Any]) -> str:
    """What differs between the scenarios, as resolved (after ``extends`` and defaults):
    the question the comparison answers, next to its answer."""
    rows = []
    for label, diffs in (doc.get("settings_differ") or {}).items():
        for d in diffs:
            rows.append([html.escape(label), f"<code>{html.escape(d['key'])}</code>",
                         html.escape(_short(d["baseline"])), html.escape(_short(d["value"]))])
    if not rows:
        return ""
    return (f"<h2>What differs from {html.escape(doc['baseline'])}</h2><p class='note'>"
            "The resolved settings (after <code>extends</code> and defaults) in which each "
            "scenario differs from the baseline; everything else is the same.</p>"
            + table(["scenario", "setting", html.escape(doc["baseline"]), "scenario's"],
                    rows))


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _comparison_tables(doc: Mapping[str, Any]) -> str:
    names = list(doc["kpis"])
    base = doc["baseline"]
    header = ["KPI", *(html.escape(n) for n in names),
              *(f"{html.escape(n)} − {html.escape(base)}" for n in names[1:])]
    parts = []
    for group in ("all", *CHANNELS):
        rows = []
        for name, fmt in REPORT_KPIS:
            cells: list[Any] = [name]
            for n in names:
                m, h = _fmt(doc["kpis"][n].get(group, {}).get(name, {}), fmt)
                cells.append(f"{m} {h}")
            for n in names[1:]:
                rec = doc["differences"][n].get(group, {}).get(name, {})
                m, h = _fmt(rec, fmt, difference=True)
                if rec.get("crosses_zero"):
                    cells.append((f"{m} {h} (CI crosses 0)", "zero"))
                else:
                    cells.append(f"{m} {h}")
            rows.append(cells)
        title = "all cases" if group == "all" else group + " channel"
        parts.append(f"<h3>{title}</h3>" + table(header, rows))
    return "".join(parts)


def write_comparison_report(out_dir: str | Path, document: Mapping[str, Any],
                            results: Mapping[str, RunResult]) -> Path:
    """Write the figures and ``report.html`` of a ``compare`` run.

    Parameters
    ----------
    out_dir
        Existing output folder.
    document
        The ``comparison.json`` document (:func:`urbangrid.study.comparison_document`).
    results
        Replication 0 of each scenario by label (``Comparison.first``); may be empty, in
        which case only the tables and the difference figure are written.

    Returns
    -------
    Path
        The ``report.html`` written.
    """
    out = Path(out_dir)
    base = document["baseline"]
    figs = [(plot_differences(document["differences"], base, out / "differences.png"),
             f"Paired differences against {base} with 95 % intervals")]
    if results:
        figs.append((plot_backlog(results, out / "backlog.png"), "Open cases over time"))
        figs.append((plot_handling_cdf(results, out / "handling_cdf.png"),
                     "Handling time CDF per channel and scenario"))
        for label, res in results.items():
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)
            figs.append((plot_map(res, out / f"map_{safe}.png"),
                         f"{label}: case density and mean handling time per cell"))
    body = [
        f"<p>{document['replications']} replications per scenario under common random "
        f"numbers (root seed {document['seed']}); differences are paired per replication "
        f"against the baseline <b>{html.escape(base)}</b> with 95 % Student-t intervals. "
        "Italic cells: the interval contains zero, so the runs do not tell the two "
        "apart on that KPI.</p>",
        _settings_table(document),
        "<h2>KPIs and paired differences</h2>", _comparison_tables(document),
        "<h2>Figures</h2>", *(figure(p, alt) for p, alt in figs),
        _definitions(),
    ]
    title = "urbangrid comparison: " + " vs ".join(document["kpis"])
    return write_page(out / "report.html", title, body)
