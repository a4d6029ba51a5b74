"""Figures (PNG) and one self-contained ``report.html`` for a simulation or a comparison.

The report opens offline: every figure is embedded as a base64 PNG and there is no
script or external style sheet. Figures are drawn with Matplotlib's Agg back end, so no
display is needed.

Figures
-------
``map.png``
    Cases per cell per day and mean handling time (calendar days, closed cases) per cell,
    as choropleths over the district's H3 cells with sub-district borders (toy districts
    without H3 ids are drawn as squares at the cell centres).
``backlog.png``
    Open cases over time after the warm-up (replication 0).
``handling_cdf.png``
    Empirical CDF of handling time per channel, in calendar and in working days.
``differences.png`` (comparisons)
    Paired differences against the baseline with 95 % intervals; bars whose interval
    contains zero are drawn hatched.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from urbangrid.catalogue import CHANNELS

from .kpis import SUMMARY_KPIS
from .run import RunResult

__all__ = [
    "REPORT_KPIS",
    "cell_metrics",
    "plot_backlog",
    "plot_differences",
    "plot_handling_cdf",
    "plot_map",
    "write_comparison_report",
    "write_simulation_report",
]

#: KPIs shown in report tables and difference plots, with a display format.
REPORT_KPIS = SUMMARY_KPIS

# KPIs of the paired-difference figure (all cases unless prefixed by a channel).
_DIFF_KPIS = ("handling_days_calendar_mean", "hotline.handling_days_calendar_mean",
              "hotline.handling_days_working_mean", "same_day_rate", "on_time_rate",
              "backlog_mean", "utilisation_mean", "dispatch_delay_min_mean")

_CHANNEL_COLOURS = {"iot": "#1b9e77", "patrol": "#d95f02", "hotline": "#7570b3",
                    "other": "#e7298a"}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


# -- per-cell figures ---------------------------------------------------------------

def cell_metrics(result: RunResult) -> dict[str, np.ndarray]:
    """Per-cell figures over the statistics window (valid cases reported after warm-up).

    Returns
    -------
    dict
        ``cases`` (count), ``cases_per_day``, ``handling_days_mean`` (closed cases, NaN
        where none closed), ``closed`` (count), each an array over cells.
    """
    from urbangrid.calendar import DAY

    from ._model import S_CLOSED, S_INVALID

    c = result.cases
    n = result.space.n_cells
    win = ((c["t_report"] >= result.t_stats) & (c["t_report"] < result.t_end)
           & (c["status"] != S_INVALID))
    cells = c["cell"][win]
    counts = np.bincount(cells, minlength=n).astype(float)
    closed = win & (c["status"] == S_CLOSED)
    hd = (c["t_close"][closed] - c["t_register"][closed]) / DAY
    ok = np.isfinite(hd)
    ccell = c["cell"][closed][ok]
    s = np.bincount(ccell, weights=hd[ok], minlength=n)
    k = np.bincount(ccell, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(k > 0, s / np.maximum(k, 1), np.nan)
    days = max((result.t_end - result.t_stats) / DAY, 1e-9)
    return {"cases": counts, "cases_per_day": counts / days, "handling_days_mean": mean,
            "closed": k}


def _subdistrict_outlines(space) -> list[np.ndarray]:
    """Outer rings (lon, lat) of each sub-district, from the union of its H3 cells."""
    import h3

    rings = []
    h3ids = np.asarray(space.h3, dtype=object)
    for k in range(space.n_subdistricts):
        cells = [str(x) for x in h3ids[space.subdistrict == k] if x]
        if not cells:
            continue
        shape = h3.cells_to_h3shape(cells)
        polys = [shape] if isinstance(shape, h3.LatLngPoly) else list(shape)
        for p in polys:
            ring = np.array(p.outer, dtype=float)
            rings.append(np.vstack([ring[:, ::-1], ring[:1, ::-1]]))
    return rings


def _draw_cells(ax, space, values: np.ndarray, cmap: str, label: str, fig) -> None:
    import matplotlib.colors as mcolors
    from matplotlib.collections import PolyCollection

    finite = values[np.isfinite(values)]
    vmax = float(np.quantile(finite, 0.98)) if finite.size else 1.0
    norm = mcolors.Normalize(vmin=0.0, vmax=max(vmax, 1e-9))
    cm = _cmap(cmap).with_extremes(bad="#dddddd")
    has_h3 = bool(space.h3) and all(space.h3)
    if has_h3:
        import h3

        polys = [np.array(h3.cell_to_boundary(h), dtype=float)[:, ::-1] for h in space.h3]
        coll = PolyCollection(polys, array=np.ma.masked_invalid(values), cmap=cm,
                              norm=norm, edgecolors="none")
        ax.add_collection(coll)
        mappable = coll
        for ring in _subdistrict_outlines(space):
            ax.plot(ring[:, 0], ring[:, 1], color="black", lw=0.7)
    else:
        colours = np.where(np.isfinite(values), values, np.nan)
        mappable = ax.scatter(space.lon, space.lat, c=colours, cmap=cm, norm=norm,
                              marker="s", s=60, plotnonfinite=True)
    ax.autoscale_view()
    ax.set_aspect(1.0 / math.cos(math.radians(float(np.mean(space.lat)))))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.tick_params(labelsize=7)
    fig.colorbar(mappable, ax=ax, shrink=0.8, label=label)


def _cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def plot_map(result: RunResult, path: str | Path) -> Path:
    """Choropleths of cases per cell per day and mean handling time per cell."""
    plt = _plt()
    m = cell_metrics(result)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    _draw_cells(axes[0], result.space, m["cases_per_day"], "viridis", "cases per cell per day",
                fig)
    axes[0].set_title("Case density")
    _draw_cells(axes[1], result.space, m["handling_days_mean"], "magma_r",
                "mean handling time (calendar days)", fig)
    axes[1].set_title("Mean handling time of closed cases (grey: none closed)")
    fig.suptitle(f"{result.scenario.name}: replication {result.replication}, "
                 "sub-district borders in black")
    fig.tight_layout()
    return _save(fig, path)


# -- time series and distributions --------------------------------------------------

def plot_backlog(results: Mapping[str, RunResult], path: str | Path,
                 step_s: float = 3600.0) -> Path:
    """Open cases over time (after warm-up), one line per run."""
    from urbangrid.calendar import DAY

    from .kpis import backlog_series

    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4))
    for label, res in results.items():
        t, counts = backlog_series(res, step_s)
        ax.plot((t - res.t_stats) / DAY, counts, label=label, lw=1.2)
    ax.set_xlabel("days after warm-up")
    ax.set_ylabel("open cases")
    ax.set_title("Backlog (replication 0)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _handling_by_channel(result: RunResult) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from ._model import S_CLOSED
    from .kpis import case_table_metrics

    c = result.cases
    m = case_table_metrics(result)
    win = ((c["t_report"] >= result.t_stats) & (c["t_report"] < result.t_end)
           & (c["status"] == S_CLOSED))
    out = {}
    for k, ch in enumerate(CHANNELS):
        sel = win & (c["channel"] == k)
        out[ch] = (np.sort(m["handling_days_calendar"][sel]),
                   np.sort(m["handling_days_working"][sel]))
    return out


def _ecdf(ax, x: np.ndarray, **kw) -> None:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return
    y = np.arange(1, x.size + 1) / x.size
    ax.step(np.concatenate([[0.0], x]), np.concatenate([[0.0], y]), where="post", **kw)


def plot_handling_cdf(results: Mapping[str, RunResult], path: str | Path) -> Path:
    """Empirical CDF of handling time per channel, in calendar and working days.

    One run: two panels (calendar, working days) with a line per channel. Several runs:
    a row per unit and a column per channel, with a line per run.
    """
    plt = _plt()
    data = {label: _handling_by_channel(r) for label, r in results.items()}
    units = ("calendar days", "working days")
    if len(results) == 1:
        (label, d), = data.items()
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for u, ax in enumerate(axes):
            for ch in CHANNELS:
                x = d[ch][u]
                _ecdf(ax, x, label=f"{ch} (n={x.size:,})", color=_CHANNEL_COLOURS[ch])
            ax.set_xscale("symlog", linthresh=0.1)
            ax.set_xlabel(f"handling time ({units[u]})")
            ax.set_ylabel("share of closed cases")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        fig.suptitle(f"{label}: handling time (closed − registered)")
    else:
        fig, axes = plt.subplots(2, len(CHANNELS), figsize=(14, 6.5), squeeze=False)
        for u in range(2):
            for j, ch in enumerate(CHANNELS):
                ax = axes[u, j]
                for label, d in data.items():
                    _ecdf(ax, d[ch][u], label=label)
                ax.set_xscale("symlog", linthresh=0.1)
                ax.set_title(f"{ch}", fontsize=9)
                ax.set_xlabel(units[u], fontsize=8)
                ax.grid(alpha=0.3)
                ax.tick_params(labelsize=7)
        axes[0, 0].set_ylabel("share of closed cases")
        axes[1, 0].set_ylabel("share of closed cases")
        for ax in axes.flat:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
                break
        fig.suptitle("Handling time per channel (replication 0)")
    fig.tight_layout()
    return _save(fig, path)


def _kpi_lookup(summary: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``summary`` is ``{group: {kpi: record}}``; ``key`` is ``kpi`` or ``channel.kpi``."""
    group, _, name = key.rpartition(".")
    return summary.get(group or "all", {}).get(name, {})


def plot_differences(differences: Mapping[str, Mapping[str, Any]], baseline: str,
                     path: str | Path, kpis: Sequence[str] = _DIFF_KPIS) -> Path:
    """Paired differences (scenario − baseline) with 95 % intervals, a panel per KPI."""
    plt = _plt()
    kpis = list(kpis)
    ncol = 2
    nrow = math.ceil(len(kpis) / ncol)
    labels = list(differences)
    fig, axes = plt.subplots(nrow, ncol, figsize=(12, 1.2 + 1.1 * nrow * max(1, len(labels))),
                             squeeze=False)
    for i, key in enumerate(kpis):
        ax = axes[i // ncol, i % ncol]
        for j, label in enumerate(labels):
            rec = _kpi_lookup(differences[label], key)
            mean = _num(rec.get("mean"))
            half = _num(rec.get("ci95"))
            crosses = rec.get("crosses_zero")
            # Neutral colours: whether lower is better depends on the KPI.
            colour = "#bbbbbb" if crosses in (True, None) else "#4c72b0"
            ax.barh(j, 0.0 if math.isnan(mean) else mean, color=colour,
                    hatch="//" if crosses else None, edgecolor="black", lw=0.5)
            if math.isfinite(half):
                ax.errorbar(mean, j, xerr=half, color="black", capsize=4, lw=1)
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=8)
        ax.set_title(key, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    for i in range(len(kpis), nrow * ncol):
        axes[i // ncol, i % ncol].set_visible(False)
    fig.suptitle(f"Paired differences vs {baseline} (95 % CI; hatched: CI contains 0)")
    fig.tight_layout()
    return _save(fig, path)


def _num(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and x is not None else float("nan")


def _save(fig, path: str | Path) -> Path:
    plt = _plt()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- HTML ----------------------------------------------------------------------------

def _fmt(rec: Mapping[str, Any], fmt: str) -> tuple[str, str]:
    mean, half = rec.get("mean"), rec.get("ci95")
    m = "–" if mean is None or not math.isfinite(float(mean)) else fmt.format(mean)
    h = "" if half is None or not math.isfinite(float(half)) else "± " + fmt.format(half)
    return m, h


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>")


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:0.85em;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#eee} img{max-width:100%} figcaption{font-size:0.8em;color:#555}
.zero{color:#888;font-style:italic} .note{font-size:0.85em;color:#555}
"""


def _page(title: str, body: list[str]) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"note\">urbangrid report, written "
            f"{stamp}</p>" + "\n".join(body) + "</body></html>\n")


def _kpi_table(kpis: Mapping[str, Any], by_channel: Mapping[str, Any]) -> str:
    rows = ["<table><thead><tr><th>KPI</th><th>all cases</th><th>± 95 %</th>"
            + "".join(f"<th>{c}</th>" for c in CHANNELS) + "</tr></thead><tbody>"]
    for name, fmt in REPORT_KPIS:
        m, h = _fmt(kpis.get(name, {}), fmt)
        chans = "".join(f"<td>{' '.join(_fmt(by_channel.get(c, {}).get(name, {}), fmt))}</td>"
                        for c in CHANNELS)
        rows.append(f"<tr><td>{name}</td><td>{m}</td><td>{h}</td>{chans}</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


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
        The ``kpis.json`` document (:func:`kpis_document`): ``kpis``, ``by_channel``,
        ``replications``, ``seed``.

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
        "<h2>Figures</h2>", *(_img(p, alt) for p, alt in figs),
    ]
    path = out / "report.html"
    path.write_text(_page(f"urbangrid: {sc.name}", body), encoding="utf-8")
    return path


def _comparison_tables(doc: Mapping[str, Any]) -> str:
    names = list(doc["kpis"])
    base = doc["baseline"]
    parts = []
    for group in ("all", *CHANNELS):
        rows = [f"<h3>{'all cases' if group == 'all' else group + ' channel'}</h3>"
                "<table><thead><tr><th>KPI</th>"
                + "".join(f"<th>{html.escape(n)}</th>" for n in names)
                + "".join(f"<th>{html.escape(n)} − {html.escape(base)}</th>"
                          for n in names[1:]) + "</tr></thead><tbody>"]
        for name, fmt in REPORT_KPIS:
            cells = []
            for n in names:
                m, h = _fmt(doc["kpis"][n].get(group, {}).get(name, {}), fmt)
                cells.append(f"<td>{m} {h}</td>")
            for n in names[1:]:
                rec = doc["differences"][n].get(group, {}).get(name, {})
                m, h = _fmt(rec, fmt)
                cz = rec.get("crosses_zero")
                cls = ' class="zero"' if cz else ""
                note = " (CI crosses 0)" if cz else ""
                cells.append(f"<td{cls}>{m} {h}{note}</td>")
            rows.append(f"<tr><td>{name}</td>{''.join(cells)}</tr>")
        rows.append("</tbody></table>")
        parts.append("".join(rows))
    return "".join(parts)


def write_comparison_report(out_dir: str | Path, document: Mapping[str, Any],
                            results: Mapping[str, RunResult]) -> Path:
    """Write the figures and ``report.html`` of a ``compare`` run.

    Parameters
    ----------
    out_dir
        Existing output folder.
    document
        The ``comparison.json`` document (:func:`comparison_document`).
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
        "<h2>KPIs and paired differences</h2>", _comparison_tables(document),
        "<h2>Figures</h2>", *(_img(p, alt) for p, alt in figs),
    ]
    path = out / "report.html"
    title = "urbangrid comparison: " + " vs ".join(document["kpis"])
    path.write_text(_page(title, body), encoding="utf-8")
    return path
