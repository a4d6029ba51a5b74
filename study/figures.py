"""Figures (PNG) of simulation runs and comparisons, for the reports.

Drawn through Matplotlib's object API (:class:`matplotlib.figure.Figure`), which renders
PNG without a display and leaves the global back end (``pyplot``) alone.

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

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from urbangrid.calendar import DAY
from urbangrid.catalogue import CHANNELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from urbangrid.simulation import RunResult

__all__ = [
    "DIFF_KPIS",
    "cell_metrics",
    "plot_backlog",
    "plot_differences",
    "plot_handling_cdf",
    "plot_map",
    "subdistrict_outlines",
]

#: KPIs of the paired-difference figure (all cases unless prefixed by a channel).
DIFF_KPIS = ("handling_days_calendar_mean", "hotline.handling_days_calendar_mean",
             "hotline.handling_days_working_mean", "same_day_rate", "on_time_rate",
             "backlog_mean", "utilisation_mean", "dispatch_delay_min_mean")

_CHANNEL_COLOURS = {"iot": "#1b9e77", "patrol": "#d95f02", "hotline": "#7570b3",
                    "other": "#e7298a"}

_DPI = 110


def _figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=_DPI)
    return path


# -- per-cell figures ---------------------------------------------------------------

def cell_metrics(result: RunResult) -> dict[str, np.ndarray]:
    """Per-cell figures over the statistics window (valid cases reported after warm-up).

    Returns
    -------
    dict
        ``cases`` (count), ``cases_per_day``, ``handling_days_mean`` (closed cases, NaN
        where none closed), ``closed`` (count), each an array over cells.
    """
    from urbangrid.simulation import Status

    c = result.cases
    n = result.space.n_cells
    win = ((c["t_report"] >= result.t_stats) & (c["t_report"] < result.t_end)
           & (c["status"] != Status.INVALID))
    cells = c["cell"][win]
    counts = np.bincount(cells, minlength=n).astype(float)
    closed = win & (c["status"] == Status.CLOSED)
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


def subdistrict_outlines(space) -> list[np.ndarray]:
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


def _draw_cells(ax, space, values: np.ndarray, cmap: str, label: str, fig: Figure) -> None:
    import matplotlib
    import matplotlib.colors as mcolors
    from matplotlib.collections import PolyCollection

    finite = values[np.isfinite(values)]
    vmax = float(np.quantile(finite, 0.98)) if finite.size else 1.0
    norm = mcolors.Normalize(vmin=0.0, vmax=max(vmax, 1e-9))
    cm = matplotlib.colormaps[cmap].with_extremes(bad="#dddddd")
    has_h3 = bool(space.h3) and all(space.h3)
    if has_h3:
        import h3

        polys = [np.array(h3.cell_to_boundary(h), dtype=float)[:, ::-1] for h in space.h3]
        coll = PolyCollection(polys, array=np.ma.masked_invalid(values), cmap=cm,
                              norm=norm, edgecolors="none")
        ax.add_collection(coll)
        mappable = coll
        for ring in subdistrict_outlines(space):
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


def plot_map(result: RunResult, path: str | Path) -> Path:
    """Choropleths of cases per cell per day and mean handling time per cell."""
    m = cell_metrics(result)
    fig = _figure((12, 5.5))
    axes = fig.subplots(1, 2)
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
    from urbangrid.simulation import backlog_series

    fig = _figure((10, 4))
    ax = fig.subplots()
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
    from urbangrid.simulation import Status, case_table_metrics

    c = result.cases
    m = case_table_metrics(result)
    win = ((c["t_report"] >= result.t_stats) & (c["t_report"] < result.t_end)
           & (c["status"] == Status.CLOSED))
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
    data = {label: _handling_by_channel(r) for label, r in results.items()}
    units = ("calendar days", "working days")
    if len(results) == 1:
        (label, d), = data.items()
        fig = _figure((11, 4))
        axes = fig.subplots(1, 2)
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
        fig = _figure((14, 6.5))
        axes = fig.subplots(2, len(CHANNELS), squeeze=False)
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


def _num(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and x is not None else float("nan")


def plot_differences(differences: Mapping[str, Mapping[str, Any]], baseline: str,
                     path: str | Path, kpis: Sequence[str] = DIFF_KPIS) -> Path:
    """Paired differences (scenario − baseline) with 95 % intervals, a panel per KPI."""
    kpis = list(kpis)
    ncol = 2
    nrow = math.ceil(len(kpis) / ncol)
    labels = list(differences)
    fig = _figure((12, 1.2 + 1.1 * nrow * max(1, len(labels))))
    axes = fig.subplots(nrow, ncol, squeeze=False)
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
