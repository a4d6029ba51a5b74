"""The hall's ``report.html`` and charts (Matplotlib's object API, no ``pyplot`` state;
the page is written by the project's one HTML writer, :mod:`urbangrid.study.html`)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .kpis import HALL_KPIS

__all__ = ["DIFF_KPIS", "plot_staffing", "write_hall_comparison_report",
           "write_hall_report"]

#: KPIs of the comparison chart (group ``all`` unless prefixed).
DIFF_KPIS = ("requests_per_day", "wait_min_mean", "wait_min_p90", "counter_utilisation",
             "trips_per_matter_mean", "trips_over_one_share", "approval_days_working_mean",
             "online_share")

_DPI = 110


def _figure(size: tuple[float, float]):
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=_DPI)
    return path


def _cell(rec: Mapping[str, Any] | None, fmt: str) -> str:
    rec = rec or {}
    m, h = rec.get("mean"), rec.get("ci95")
    if m is None or not math.isfinite(float(m)):
        return "–"
    text = fmt.format(m)
    if h is not None and math.isfinite(float(h)):
        text += " ± " + fmt.format(h)
    return text


def plot_wait_by_hour(by_hour: Mapping[str, Any], path: Path) -> Path:
    """Mean and p90 wait by hour of the ticket, with 95 % intervals over replications."""
    fig = _figure((8, 3.5))
    ax = fig.add_subplot()
    hours = sorted(by_hour, key=int)

    def series(kpi: str) -> tuple[list[float], list[float]]:
        m = [by_hour[h][kpi]["mean"] for h in hours]
        e = [by_hour[h][kpi]["ci95"] for h in hours]
        return ([np.nan if x is None else x for x in m],
                [0.0 if x is None else x for x in e])

    x = [int(h) for h in hours]
    for kpi, fmt, label in (("wait_min_mean", "o-", "mean"),
                            ("wait_min_p90", "s--", "90th percentile")):
        m, e = series(kpi)
        ax.errorbar(x, m, yerr=e, fmt=fmt, capsize=3, label=label)
    ax.set_xlabel("hour of the ticket")
    ax.set_ylabel("wait at the counter, min")
    ax.set_title("District hall: wait over the day (95 % intervals over replications)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_utilisation(profile: Mapping[str, Any], path: Path) -> Path:
    util = profile["utilisation"]
    groups = list(util)
    hours = [h for h in range(24) if any(math.isfinite(util[g][h]) for g in groups)]
    data = np.array([[util[g][h] for h in hours] for g in groups], dtype=float)
    fig = _figure((8, 0.5 * len(groups) + 2))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(data), aspect="auto", cmap="viridis", vmin=0,
                   vmax=1)
    ax.set_xticks(range(len(hours)), [f"{h:02d}" for h in hours])
    ax.set_yticks(range(len(groups)), groups)
    ax.set_xlabel("hour of day")
    ax.set_title("Counter utilisation by group and hour (replication 0)")
    fig.colorbar(im, ax=ax, label="busy / on duty")
    fig.tight_layout()
    return _save(fig, path)


def plot_trips(profile: Mapping[str, Any], path: Path) -> Path:
    trips = profile["trips"]
    fig = _figure((5, 3.2))
    ax = fig.add_subplot()
    total = max(sum(trips), 1)
    ax.bar(range(len(trips)), [t / total for t in trips])
    ax.set_xticks(range(len(trips)))
    ax.set_xlabel("trips to a counter per approved matter (0: online or no-application)")
    ax.set_ylabel("share")
    ax.set_title("Trips (replication 0)")
    fig.tight_layout()
    return _save(fig, path)


def plot_staffing(doc: Mapping[str, Any], path: Path) -> Path:
    """Required, scheduled and the scenario's own windows per hour (all groups)."""
    slots = doc["slots"]
    req = np.sum([doc["requirement"][g] for g in doc["requirement"]], axis=0)
    got = np.sum([doc["staffed"][g] for g in doc["staffed"]], axis=0)
    fig = _figure((8, 3.5))
    ax = fig.add_subplot()
    x = np.arange(len(slots))
    ax.bar(x - 0.2, req, width=0.4,
           label="requirement (Erlang C, adjusted by the simulation checks)")
    ax.bar(x + 0.2, got, width=0.4, label="scheduled windows")
    ax.step(x, doc["baseline_staffed"], where="mid", color="k", label="scenario's windows")
    ax.set_xticks(x, slots)
    ax.set_xlabel("hour slot")
    ax.set_ylabel("windows open")
    ax.set_title(f"Counter schedule: {doc['counter_hours']:g} counter-hours "
                 f"(scenario {doc['baseline_counter_hours']:g}); simulated p90 wait "
                 f"{doc['p90_wait_min']:.1f} min")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def write_hall_report(out: Path, doc: Mapping[str, Any], profile: Mapping[str, Any]) -> Path:
    """Figures and ``report.html`` of a ``hall simulate`` run."""
    from urbangrid.study.html import figure, table, write_page

    rows = [[name, _cell(doc.get(name), fmt),
             *[_cell(doc["by_channel"][c].get(name), fmt) for c in doc["by_channel"]]]
            for name, fmt in HALL_KPIS]
    dept_rows = []
    for code, g in doc["by_department"].items():
        dept_rows.append([html.escape(code), _cell(g["requests_per_day"], "{:.1f}"),
                          _cell(g["online_share"], "{:.1%}"),
                          _cell(g["wait_min_mean"], "{:.1f}"),
                          _cell(g["wait_min_p90"], "{:.1f}"),
                          _cell(g["trips_per_matter_mean"], "{:.3f}"),
                          _cell(g["approval_days_working_mean"], "{:.2f}"),
                          _cell(g["on_time_rate"], "{:.1%}"),
                          str(doc["backoffice_staff"].get(code, "")),
                          _cell(g.get("backoffice_utilisation"), "{:.1%}")])
    body = [
        f"<p class='note'>{doc['matters']} matters, {doc['departments']} departments; "
        f"{doc['replications']} replication(s), seed {doc['seed']}, {doc['days']:g} days "
        f"after a {doc['warmup_days']:g}-day warm-up, {doc['drain_days']:g}-day drain. "
        "Values: mean ± half-width of the 95 % t-interval over replications. "
        "requests_per_day is the district hall's (per weekday).</p>",
        table(["KPI", "all (hall)", *doc["by_channel"]], rows),
        figure(plot_wait_by_hour(doc["by_hour"], out / "wait_by_hour.png"),
               "wait at the district hall's counters by hour of the ticket"),
        figure(plot_utilisation(profile, out / "utilisation.png"),
               "counter utilisation by window group and hour"),
        figure(plot_trips(profile, out / "trips.png"), "trips per approved matter"),
        "<h2>Per window group (district hall)</h2>",
        table(["window group", "visits / weekday", "wait mean", "wait p90", "over target",
               "utilisation"],
              [[html.escape(name), _cell(g["visits_per_day"], "{:.1f}"),
                _cell(g["wait_min_mean"], "{:.1f}"), _cell(g["wait_min_p90"], "{:.1f}"),
                _cell(g["wait_share_over_target"], "{:.1%}"),
                _cell(g["counter_utilisation"], "{:.1%}")]
               for name, g in doc.get("by_window", {}).items()]),
        "<h2>Per department</h2>",
        table(["department", "requests / weekday", "online", "wait mean (hall)",
               "wait p90 (hall)", "trips", "approval, working days", "on time",
               "back-office staff", "back-office utilisation"], dept_rows),
    ]
    return write_page(out / "report.html", f"Services hall: {doc['scenario']}", body)


def write_hall_comparison_report(out: Path, doc: Mapping[str, Any]) -> Path:
    """``report.html`` of ``compare`` on hall scenarios: KPIs and paired differences,
    with the study's paired-difference chart (``differences.png``)."""
    from urbangrid.study.figures import plot_differences
    from urbangrid.study.html import figure, table, write_page

    names = list(doc["kpis"])
    base = doc["baseline"]
    rows = []
    for group in ("all", "channel:hall", "channel:online"):
        for name, fmt in HALL_KPIS:
            cells: list = [html.escape(f"{group}.{name}" if group != "all" else name)]
            cells += [_cell(doc["kpis"][n].get(group, {}).get(name), fmt) for n in names]
            for n in names[1:]:
                rec = doc["differences"][n].get(group, {}).get(name)
                text = _cell(rec, fmt.replace("{:", "{:+"))
                if rec and rec.get("crosses_zero"):
                    cells.append((text + " *", "zero"))
                else:
                    cells.append(text)
            rows.append(cells)
    header = ["KPI", *map(html.escape, names),
              *[html.escape(f"{n} − {base}") for n in names[1:]]]
    return write_page(out / "report.html", "Services hall comparison", [
        f"<p class='note'>{doc['replications']} replications under common random numbers, "
        f"seed {doc['seed']}; differences are paired (scenario − {html.escape(base)}) with "
        "95 % t-intervals; * marks an interval that contains 0.</p>",
        figure(plot_differences(doc["differences"], base, out / "differences.png",
                                kpis=DIFF_KPIS),
               "paired differences against the baseline (95 % intervals)"),
        table(header, rows)])
