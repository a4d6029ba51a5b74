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
from urbangrid.organisations import load_departments
from urbangrid.simulation import SUMMARY_KPIS, kpi_definitions

from .figures import (
    map_scales,
    plot_backlog,
    plot_differences,
    plot_handling_cdf,
    plot_map,
    plot_timeline,
    plot_waiting,
)
from .html import Cell, figure, table, write_page
from .numbers import estimate_parts
from .tables import office_name

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
        (plot_waiting(result, out / "waiting.png"),
         "Where waiting builds up: cases waiting for a crew per cell, and the mean wait "
         "for the first crew per sub-district"),
        (plot_timeline(result, out / "timeline.png"),
         "Cases reported per hour against the teams on duty, and the cases waiting for "
         "a crew"),
        (plot_backlog({result.scenario.name: result}, out / "backlog.png", step),
         "Open cases over the whole run: warm-up, statistics window, drain"),
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
        _place_tables(kpis.get("subdistricts", {})),
        _department_table(kpis.get("departments", {})),
        _office_table(kpis.get("by_office", {}), result.space),
        "<h2>Figures</h2>", *(figure(p, alt) for p, alt in figs),
        _definitions(),
    ]
    return write_page(out / "report.html", f"urbangrid: {sc.name}", body)


#: Columns of the per-organisation table: key, heading, format.
_OFFICE_COLUMNS = (
    ("staff", "people on duty", "{:.0f}"), ("arrivals_per_day", "work items / day", "{:,.0f}"),
    ("utilisation", "staff utilisation", "{:.1%}"), ("queue_mean", "queue (mean)", "{:,.1f}"),
    ("queue_hours_mean", "time in queue (h)", "{:.2f}"), ("orders", "orders replied", "{:,.0f}"),
    ("returned", "orders returned", "{:,.0f}"),
    ("extended", "orders extended", "{:,.0f}"), ("on_time_rate", "replied on time", "{:.1%}"),
)


def _office_table(by_office: Mapping[str, Any], space) -> str:
    """The per-organisation table (work orders): one row per office by name, means
    ± 95 %."""
    if not by_office:
        return ""
    deps = load_departments()
    rows = []
    for office, rec in by_office.items():
        name, name_en = office_name(office, space, deps)
        row = [html.escape(name), html.escape(name_en)]
        for key, _, fmt in _OFFICE_COLUMNS:
            m, h = _fmt(rec.get(key, {}), fmt)
            row.append(f"{m} {h}".strip())
        rows.append(row)
    return ("<h2>Work orders: organisations</h2><p class='note'>Each office's staff, the "
            "work it was asked for (orders, hops, returns, callbacks: items), how busy its "
            "people were in their duty hours and how long work waited for them.</p>"
            + table(["office", "English name"] + [h for _, h, _ in _OFFICE_COLUMNS], rows,
                    text_columns=2))


#: KPIs of the sub-district × channel tables (one table each), with a display format.
PLACE_KPIS = (("cases_created", "{:,.0f}"), ("handling_days_calendar_mean", "{:.2f}"),
              ("on_time_rate", "{:.1%}"), ("cases_open_end", "{:,.0f}"))

#: Columns of the per-department table: part of the record, key, heading, format.
_DEPARTMENT_COLUMNS = (
    ("cases", "cases_created", "cases", "{:,.0f}"),
    ("cases", "handling_days_calendar_mean", "handling (calendar days)", "{:.2f}"),
    ("cases", "on_time_rate", "on time", "{:.1%}"),
    ("cases", "cases_open_end", "open at the end", "{:,.0f}"),
    ("crews", "teams", "teams", "{:,.0f}"),
    ("crews", "crew_utilisation_mean", "crew utilisation", "{:.1%}"),
    ("work_orders", "staff", "office staff", "{:.0f}"),
    ("work_orders", "orders", "orders replied", "{:,.0f}"),
    ("work_orders", "on_time_rate", "replied on time", "{:.1%}"),
    ("work_orders", "queue_hours_mean", "time in queue (h)", "{:.2f}"),
)

_PLACE_NOTE = ("<p class='note'>Cases by the sub-district of the cell they were reported "
               "in; rows are the district's sub-districts by name (English name and code "
               "beside), columns all cases and each discovery channel.</p>")
_DEPARTMENT_NOTE = ("<p class='note'>Each department's cases (the categories whose crews "
                    "it owns, as the work orders route them), the teams holding its crew "
                    "skills and their utilisation, and its work-order office.</p>")


def _place_tables(subdistricts: Mapping[str, Any]) -> str:
    """One table per :data:`PLACE_KPIS` KPI: a row per sub-district, a column for all
    cases and one per channel, means ± 95 %."""
    if not subdistricts:
        return ""
    parts = ["<h2>Sub-districts × channels</h2>", _PLACE_NOTE]
    for kpi, fmt in PLACE_KPIS:
        rows = []
        for name, row in subdistricts.items():
            cells = [html.escape(name), html.escape(row.get("name_en", "")),
                     html.escape(row.get("code", ""))]
            for group in ("all", *CHANNELS):
                m, h = _fmt(row.get(group, {}).get(kpi, {}), fmt)
                cells.append(f"{m} {h}".strip())
            rows.append(cells)
        parts.append(f"<h3><code>{kpi}</code></h3>" + table(
            ["sub-district", "English name", "code", "all cases", *CHANNELS], rows,
            text_columns=3))
    return "".join(parts)


def _department_table(departments: Mapping[str, Any]) -> str:
    """A row per department by name: its cases, crews and work-order office."""
    if not departments:
        return ""
    rows = []
    for name, row in departments.items():
        cells = [html.escape(name), html.escape(row.get("name_en", ""))]
        for part, key, _, fmt in _DEPARTMENT_COLUMNS:
            m, h = _fmt(row.get(part, {}).get(key, {}), fmt)
            cells.append(f"{m} {h}".strip())
        rows.append(cells)
    return ("<h2>Departments</h2>" + _DEPARTMENT_NOTE + table(
        ["department", "English name", *(h for _, _, h, _ in _DEPARTMENT_COLUMNS)], rows,
        text_columns=2))


def _compared(base: Mapping[str, Any], other: Mapping[str, Any], diff: Mapping[str, Any],
              fmt: str) -> Cell:
    """``baseline → scenario (difference ± 95 %)``, greyed when the interval contains 0:
    the two means alone (their own intervals are in ``comparison.json``), the paired
    difference with its interval, which is what tells the scenarios apart."""
    b = estimate_parts(base.get("mean"), None, fmt)[0]
    o = estimate_parts(other.get("mean"), None, fmt)[0]
    d = " ".join(_fmt(diff, fmt, difference=True)).strip()
    text = f"{b} → {o} ({d})"
    return (text, "zero") if diff.get("crosses_zero") else text


_COMPARED_NOTE = ("<p class='note'>Each cell: baseline → scenario, means over the "
                  "replications (paired difference ± 95 %); grey italics: the interval "
                  "contains 0.</p>")


def _compared_place_tables(doc: Mapping[str, Any]) -> str:
    """Per non-baseline scenario and :data:`PLACE_KPIS` KPI: a row per sub-district (by
    name), a column for all cases and one per channel, baseline → scenario (paired
    difference)."""
    base = doc["baseline"]
    subs = doc.get("subdistricts") or {}
    if base not in subs:
        return ""
    parts = ["<h2>Sub-districts × channels</h2>", _PLACE_NOTE,
             _COMPARED_NOTE]
    for label, diffs in (doc.get("subdistrict_differences") or {}).items():
        for kpi, fmt in PLACE_KPIS:
            rows = []
            for name, row in subs[base].items():
                other = subs.get(label, {}).get(name, {})
                diff = diffs.get(name, {})
                cells: list[Cell] = [html.escape(name), html.escape(row.get("name_en", ""))]
                for group in ("all", *CHANNELS):
                    cells.append(_compared(row.get(group, {}).get(kpi, {}),
                                           other.get(group, {}).get(kpi, {}),
                                           diff.get(group, {}).get(kpi, {}), fmt))
                rows.append(cells)
            parts.append(f"<h3>{html.escape(label)} against {html.escape(base)}: "
                         f"<code>{kpi}</code></h3>" + table(
                             ["sub-district", "English name", "all cases", *CHANNELS], rows,
                             text_columns=2))
    return "".join(parts)


def _compared_department_tables(doc: Mapping[str, Any]) -> str:
    """Per non-baseline scenario: a row per department (by name), baseline → scenario
    (paired difference) for each column of the department table."""
    base = doc["baseline"]
    deps = doc.get("departments") or {}
    if base not in deps:
        return ""
    parts = ["<h2>Departments</h2>", _DEPARTMENT_NOTE,
             _COMPARED_NOTE]
    for label, diffs in (doc.get("department_differences") or {}).items():
        rows = []
        for name, row in deps[base].items():
            other = deps.get(label, {}).get(name, {})
            diff = diffs.get(name, {})
            cells: list[Cell] = [html.escape(name), html.escape(row.get("name_en", ""))]
            for part, key, _, fmt in _DEPARTMENT_COLUMNS:
                cells.append(_compared(row.get(part, {}).get(key, {}),
                                       other.get(part, {}).get(key, {}),
                                       diff.get(part, {}).get(key, {}), fmt))
            rows.append(cells)
        parts.append(f"<h3>{html.escape(label)} against {html.escape(base)}</h3>" + table(
            ["department", "English name", *(h for _, _, h, _ in _DEPARTMENT_COLUMNS)],
            rows, text_columns=2))
    return "".join(parts)


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
        figs.append((plot_backlog(results, out / "backlog.png"),
                     "Open cases over the whole run: warm-up, statistics window, drain"))
        figs.append((plot_handling_cdf(results, out / "handling_cdf.png"),
                     "Handling time CDF per channel and scenario"))
        scales = map_scales(results)
        for label, res in results.items():
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)
            figs.append((plot_map(res, out / f"map_{safe}.png", scales),
                         f"{label}: case density and mean handling time per cell "
                         "(colour scales shared by the scenarios)"))
            figs.append((plot_waiting(res, out / f"waiting_{safe}.png", scales),
                         f"{label}: where waiting builds up (colour scales shared by the "
                         "scenarios)"))
            figs.append((plot_timeline(res, out / f"timeline_{safe}.png"),
                         f"{label}: cases reported per hour against the teams on duty"))
    body = [
        f"<p>{document['replications']} replications per scenario under common random "
        f"numbers (root seed {document['seed']}); differences are paired per replication "
        f"against the baseline <b>{html.escape(base)}</b> with 95 % Student-t intervals. "
        "Italic cells: the interval contains zero, so the runs do not tell the two "
        "apart on that KPI.</p>",
        _settings_table(document),
        "<h2>KPIs and paired differences</h2>", _comparison_tables(document),
        _compared_place_tables(document), _compared_department_tables(document),
        "<h2>Figures</h2>", *(figure(p, alt) for p, alt in figs),
        _definitions(),
    ]
    title = "urbangrid comparison: " + " vs ".join(document["kpis"])
    return write_page(out / "report.html", title, body)
