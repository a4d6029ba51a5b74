"""Figures (PNG) of simulation runs and comparisons, for the reports.

Drawn through Matplotlib's object API (:class:`matplotlib.figure.Figure`), which renders
PNG without a display and leaves the global back end (``pyplot``) alone.

``map.png``
    Cases per cell per day and mean handling time (calendar days, closed cases) per cell,
    as choropleths over the district's H3 cells with sub-district borders and names (toy
    districts without H3 ids are drawn as squares at the cell centres).
``waiting.png``
    Where waiting builds up: cases waiting for a crew per cell (time-weighted over the
    window) and the mean wait from the dispatch pool to the first crew on site per
    sub-district.
``timeline.png``
    Per hour of the window: cases reported by channel against the teams on duty (from
    the scenario's shifts), and the cases waiting for a crew.
``backlog.png``
    Open cases over the whole run (replication 0): the warm-up, the statistics window
    and the drain after it (arrivals go on), so that a surge's recovery shows.
``handling_cdf.png``
    Empirical CDF of handling time per channel, in calendar and in working days.
``differences.png`` (comparisons)
    Paired differences against the baseline with 95 % intervals; bars whose interval
    contains zero are drawn hatched.

Maps carry no basemap: sub-district borders and names, plain degree ticks (no offset
such as "+1.214e2") and a scale bar. The maps of a comparison share one colour scale per
panel (:func:`map_scales`), so equal colours mean equal values across scenarios. Map
labels are the sub-districts' English names when the district has them, else their
names when the figure font can draw them, else their codes (Matplotlib's default font
has no Chinese glyphs; the tables show every name).
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
    "backlog_figure",
    "cell_metrics",
    "hourly_timeline",
    "map_figure",
    "map_label",
    "map_scales",
    "plot_backlog",
    "plot_differences",
    "plot_handling_cdf",
    "plot_map",
    "plot_timeline",
    "plot_waiting",
    "subdistrict_label_points",
    "subdistrict_outlines",
    "timeline_figure",
    "waiting_figure",
    "waiting_metrics",
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


def _crew_waits(result) -> tuple[np.ndarray, np.ndarray]:
    """Each case's wait for a crew: from its first entry into the dispatch pool to the
    first crew on site (``arrived`` event), or to the end of the run when no crew came.
    Returns ``(start, end)`` per case; NaN start for cases that never needed a crew."""
    from urbangrid.simulation import Event
    from urbangrid.simulation.kpis import run_end

    c, ev = result.cases, result.events
    arrive = np.full(c["t_pool"].shape, np.inf)
    sel = ev["kind"] == Event.ARRIVED
    np.minimum.at(arrive, ev["case"][sel], ev["time"][sel])
    end = np.minimum(arrive, run_end(result))
    return c["t_pool"], end


def waiting_metrics(result) -> dict[str, np.ndarray]:
    """Where waiting builds up, over the statistics window.

    Returns
    -------
    dict
        ``waiting_per_cell``: cases waiting for a crew per cell, time-weighted over the
        window (Little's law: the mean number at any moment); ``wait_hours_subdistrict``:
        mean hours from the dispatch pool to the first crew on site of the window's
        cases per sub-district (cases no crew reached count until the end of the run, a
        lower bound; NaN where no case needed a crew); ``waited_subdistrict``: how many
        cases that mean is over.
    """
    c = result.cases
    space = result.space
    start, end = _crew_waits(result)
    a, b = result.t_stats, result.t_end
    needed = np.isfinite(start)
    overlap = np.clip(np.minimum(end[needed], b) - np.maximum(start[needed], a), 0.0, None)
    per_cell = np.bincount(c["cell"][needed], weights=overlap,
                           minlength=space.n_cells) / (b - a)
    win = needed & (c["t_report"] >= a) & (c["t_report"] < b)
    sub = space.subdistrict[c["cell"][win]]
    hours = (end[win] - start[win]) / 3600.0
    n = np.bincount(sub, minlength=space.n_subdistricts).astype(float)
    total = np.bincount(sub, weights=hours, minlength=space.n_subdistricts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return {"waiting_per_cell": per_cell, "wait_hours_subdistrict": mean,
            "waited_subdistrict": n}


def _drawable(text: str) -> bool:
    """Whether the figures' font has a glyph for every character of ``text`` (else
    Matplotlib draws empty boxes)."""
    from matplotlib import font_manager, ft2font

    font = ft2font.FT2Font(font_manager.findfont(font_manager.FontProperties()))
    return all(font.get_char_index(ord(ch)) for ch in text if not ch.isspace())


def map_label(space, k: int) -> str:
    """The label of sub-district ``k`` on a map: its English name without the trailing
    "Subdistrict" when the district has one, else its name when the font can draw it,
    else its code."""
    if k < len(space.sub_names_en) and space.sub_names_en[k]:
        name = str(space.sub_names_en[k])
        for suffix in (" Subdistrict", " Sub-district"):
            name = name.removesuffix(suffix)
        return name
    name = str(space.sub_names[k])
    return name if name and _drawable(name) else str(space.sub_codes[k])


def subdistrict_label_points(space) -> list[tuple[float, float, str]]:
    """``(lon, lat, label)`` of each sub-district that has cells: a point inside it (the
    representative point of its largest polygon, from the union of its H3 cells; for
    cells without H3 ids, its cell centre nearest the mean of its cells)."""
    return [(x, y, label) for _, x, y, label in _label_points(space)]


def _label_points(space) -> list[tuple[int, float, float, str]]:
    """:func:`subdistrict_label_points` with each sub-district's index."""
    out = []
    has_h3 = bool(space.h3) and all(space.h3)
    for k in range(space.n_subdistricts):
        cells = np.flatnonzero(space.subdistrict == k)
        if cells.size == 0:
            continue
        if has_h3:
            import h3
            from shapely.geometry import Polygon

            shape = h3.cells_to_h3shape([space.h3[i] for i in cells])
            polys = [shape] if isinstance(shape, h3.LatLngPoly) else list(shape)
            big = max((Polygon([(lng, lat) for lat, lng in p.outer]) for p in polys),
                      key=lambda g: g.area)
            pt = big.representative_point()
            x, y = float(pt.x), float(pt.y)
        else:
            lon, lat = space.lon[cells], space.lat[cells]
            i = int(np.argmin(np.hypot(lon - lon.mean(), lat - lat.mean())))
            x, y = float(lon[i]), float(lat[i])
        out.append((k, x, y, map_label(space, k)))
    return out


def _degrees(hemispheres: str):
    """A tick formatter ``121.45°E`` (no offset, no scientific notation)."""
    from matplotlib.ticker import FuncFormatter

    pos, neg = hemispheres
    return FuncFormatter(lambda v, _: f"{abs(v):.2f}°{pos if v >= 0 else neg}")


def _geo_axes(ax, space) -> None:
    """A basemap-free map frame: equal-distance aspect, plain degree ticks, a scale bar."""
    from matplotlib.ticker import MaxNLocator

    lat0 = float(np.mean(space.lat))
    ax.set_aspect(1.0 / math.cos(math.radians(lat0)))
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(_degrees("EW"))
    ax.yaxis.set_major_formatter(_degrees("NS"))
    ax.tick_params(labelsize=7)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    km_per_deg = 111.32 * math.cos(math.radians(lat0))
    width_km = (x1 - x0) * km_per_deg
    bar = next((v for v in (5.0, 2.0, 1.0, 0.5, 0.2, 0.1) if v <= width_km / 3), 0.05)
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.03 * (y1 - y0)
    ax.plot([bx, bx + bar / km_per_deg], [by, by], color="black", lw=2.5,
            solid_capstyle="butt")
    ax.text(bx, by + 0.012 * (y1 - y0), f"{bar:g} km", fontsize=7, va="bottom")


def _label_subdistricts(ax, space, values: np.ndarray | None = None,
                        fmt: str = "{:.1f}") -> None:
    """Sub-district names at points inside them (with ``values[k]`` below when given),
    haloed so that they read over any colour."""
    import textwrap

    import matplotlib.patheffects as pe

    halo = [pe.withStroke(linewidth=2.2, foreground="white")]
    for k, x, y, label in _label_points(space):
        text = "\n".join(textwrap.wrap(label, 12)) or label
        if values is not None and np.isfinite(values[k]):
            text += "\n" + fmt.format(values[k])
        ax.text(x, y, text, fontsize=6, ha="center", va="center", path_effects=halo,
                zorder=5)


def _scale_of(values: np.ndarray) -> tuple[float, float]:
    """The colour range of one panel: 0 to the 98th percentile of the finite values (a
    few extreme cells do not wash out the rest)."""
    finite = values[np.isfinite(values)]
    vmax = float(np.quantile(finite, 0.98)) if finite.size else 1.0
    return 0.0, max(vmax, 1e-9)


def _panels(result) -> dict[str, np.ndarray]:
    """The values of every map panel (``map.png`` and ``waiting.png``), by panel name."""
    m = cell_metrics(result)
    w = waiting_metrics(result)
    return {"cases_per_day": m["cases_per_day"], "handling_days_mean": m["handling_days_mean"],
            "waiting_per_cell": w["waiting_per_cell"],
            "wait_hours_subdistrict": w["wait_hours_subdistrict"]}


def map_scales(results: Mapping[str, RunResult]) -> dict[str, tuple[float, float]]:
    """One colour range per map panel shared by every run: from 0 to the largest of the
    runs' own upper ends, so that equal colours mean equal values across scenarios."""
    per_run = [{k: _scale_of(v) for k, v in _panels(r).items()} for r in results.values()]
    return {k: (0.0, max(s[k][1] for s in per_run)) for k in per_run[0]}


def _draw_cells(ax, space, values: np.ndarray, cmap: str, label: str, fig: Figure,
                scale: tuple[float, float]) -> None:
    import matplotlib
    import matplotlib.colors as mcolors
    from matplotlib.collections import PolyCollection

    norm = mcolors.Normalize(vmin=scale[0], vmax=scale[1])
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
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    _geo_axes(ax, space)
    fig.colorbar(mappable, ax=ax, shrink=0.8, label=label)


def map_figure(result: RunResult, scales: Mapping[str, tuple[float, float]] | None = None
               ) -> Figure:
    """The figure of :func:`plot_map` (``scales``: shared colour ranges by panel, from
    :func:`map_scales`; default the run's own)."""
    m = cell_metrics(result)
    scales = scales or map_scales({"": result})
    fig = _figure((12, 7))
    axes = fig.subplots(1, 2)
    _draw_cells(axes[0], result.space, m["cases_per_day"], "viridis",
                "cases per cell per day", fig, scales["cases_per_day"])
    axes[0].set_title("Case density")
    _draw_cells(axes[1], result.space, m["handling_days_mean"], "magma_r",
                "mean handling time (calendar days)", fig, scales["handling_days_mean"])
    axes[1].set_title("Mean handling time of closed cases (grey: none closed)")
    for ax in axes:
        _label_subdistricts(ax, result.space)
    fig.suptitle(f"{result.scenario.name}: replication {result.replication}, "
                 "sub-district borders in black")
    fig.tight_layout()
    return fig


def plot_map(result: RunResult, path: str | Path,
             scales: Mapping[str, tuple[float, float]] | None = None) -> Path:
    """Choropleths of cases per cell per day and mean handling time per cell, with the
    sub-districts' names (``scales``: see :func:`map_figure`)."""
    return _save(map_figure(result, scales), path)


def waiting_figure(result: RunResult,
                   scales: Mapping[str, tuple[float, float]] | None = None) -> Figure:
    """The figure of :func:`plot_waiting`."""
    w = waiting_metrics(result)
    scales = scales or map_scales({"": result})
    space = result.space
    fig = _figure((12, 7))
    axes = fig.subplots(1, 2)
    _draw_cells(axes[0], space, w["waiting_per_cell"], "YlOrRd",
                "cases waiting for a crew (time-weighted mean)", fig,
                scales["waiting_per_cell"])
    axes[0].set_title("Cases waiting for a crew, per cell")
    _label_subdistricts(axes[0], space)
    hours = w["wait_hours_subdistrict"]
    _draw_cells(axes[1], space, hours[space.subdistrict], "YlOrRd",
                "hours from dispatch pool to first crew on site", fig,
                scales["wait_hours_subdistrict"])
    axes[1].set_title("Mean wait for the first crew, per sub-district (h)")
    _label_subdistricts(axes[1], space, hours, "{:.1f} h")
    fig.suptitle(f"{result.scenario.name}: where waiting builds up (statistics window, "
                 f"replication {result.replication})")
    fig.tight_layout()
    return fig


def plot_waiting(result: RunResult, path: str | Path,
                 scales: Mapping[str, tuple[float, float]] | None = None) -> Path:
    """Where waiting builds up (:func:`waiting_metrics`) as two maps."""
    return _save(waiting_figure(result, scales), path)


# -- time series and distributions --------------------------------------------------

#: Longest stretch of the hourly timeline drawn (days): hours stay readable.
TIMELINE_DAYS = 14.0


def backlog_figure(results: Mapping[str, RunResult], step_s: float = 3600.0) -> Figure:
    """The figure of :func:`plot_backlog`."""
    from urbangrid.simulation import backlog_series
    from urbangrid.simulation.kpis import run_end

    fig = _figure((10, 4))
    ax = fig.subplots()
    first = next(iter(results.values()))
    warm = first.t_stats / DAY
    days = (first.t_end - first.t_stats) / DAY
    drain = (run_end(first) - first.t_end) / DAY
    if warm > 0:
        ax.axvspan(-warm, 0.0, color="#e6e6e6", lw=0, label="warm-up (discarded)")
    if drain > 0:
        ax.axvspan(days, days + drain, color="#deebf7", lw=0,
                   label="drain (arrivals go on; not in the KPIs)")
    for x in (0.0, days):
        ax.axvline(x, color="black", lw=0.8, ls="--")
    for label, res in results.items():
        t, counts = backlog_series(res, step_s, start=0.0, end=run_end(res))
        ax.plot((t - res.t_stats) / DAY, counts, label=label, lw=1.2)
    ax.set_xlabel("days from the start of the statistics window (dashed: the window)")
    ax.set_ylabel("open cases")
    ax.set_title("Backlog over the whole run (replication 0)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_backlog(results: Mapping[str, RunResult], path: str | Path,
                 step_s: float = 3600.0) -> Path:
    """Open cases over the whole run, one line per run: the warm-up shaded grey, the
    statistics window between dashed lines, and the drain after it (when the scenario
    has one) shaded blue, so that a surge's recovery shows."""
    return _save(backlog_figure(results, step_s), path)


def hourly_timeline(result: RunResult, days: float = TIMELINE_DAYS) -> dict[str, Any]:
    """Per hour of the statistics window (its first ``days`` days): cases reported by
    channel, teams on duty and cases waiting for a crew.

    Returns
    -------
    dict
        ``t`` (start of each hour, seconds since the run start), ``arrivals`` (channel
        → valid cases reported in the hour), ``crews_on_duty`` (mean teams on duty in
        the hour, from the teams' shift windows), ``waiting`` (cases waiting for a crew
        at the start of the hour, see :func:`waiting_metrics`).
    """
    from urbangrid.simulation import Status

    a = result.t_stats
    b = min(result.t_end, a + days * DAY)
    edges = np.arange(a, b + 1e-9, 3600.0)
    if edges[-1] < b:
        edges = np.append(edges, b)
    c = result.cases
    valid = c["status"] != Status.INVALID
    arrivals = {}
    for k, ch in enumerate(CHANNELS):
        t = c["t_report"][valid & (c["channel"] == k)]
        arrivals[ch] = np.histogram(t, bins=edges)[0]
    teams = result.teams
    per_pattern = np.bincount(teams["pattern"], minlength=len(teams["patterns"]))
    on_duty = np.zeros(edges.size)
    for n, w in zip(per_pattern, teams["patterns"], strict=True):
        if n:
            start = np.maximum(w.start, a)[:, None]
            done = np.clip(np.minimum(w.end[:, None], edges[None, :]) - start, 0.0, None)
            on_duty += n * done.sum(axis=0)
    crews = np.diff(on_duty) / np.diff(edges)
    start, end = _crew_waits(result)
    need = np.isfinite(start)
    s, e = np.sort(start[need]), np.sort(end[need])
    waiting = (np.searchsorted(s, edges[:-1], side="right")
               - np.searchsorted(e, edges[:-1], side="right"))
    return {"t": edges[:-1], "arrivals": arrivals, "crews_on_duty": crews,
            "waiting": waiting}


def timeline_figure(result: RunResult, days: float = TIMELINE_DAYS) -> Figure:
    """The figure of :func:`plot_timeline`."""
    import matplotlib.dates as mdates

    tl = hourly_timeline(result, days)
    # local clock time (the scenario's start is Asia/Shanghai local time): night shifts
    # and office hours read off the axis
    start = np.datetime64(result.scenario.run.start_datetime.replace(tzinfo=None), "s")
    x = start + tl["t"].round().astype("timedelta64[s]")
    hour = np.timedelta64(3600, "s")
    fig = _figure((12, 6))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    base = np.zeros(x.size)
    for ch in CHANNELS:
        top.bar(x, tl["arrivals"][ch], width=1 / 24, bottom=base, align="edge",
                color=_CHANNEL_COLOURS[ch], label=f"reported: {ch}", lw=0)
        base = base + tl["arrivals"][ch]
    top.set_ylabel("cases reported per hour")
    crews = top.twinx()
    crews.step(np.append(x, x[-1] + hour), np.append(tl["crews_on_duty"],
               tl["crews_on_duty"][-1]), where="post", color="black", lw=1.3,
               label="teams on duty")
    crews.set_ylabel("teams on duty")
    crews.set_ylim(0, max(1.0, float(np.max(tl["crews_on_duty"]))) * 1.15)
    handles = top.get_legend_handles_labels()[0] + crews.get_legend_handles_labels()[0]
    top.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0),
               ncol=5, frameon=False)
    bottom.step(x, tl["waiting"], where="post", color="#b2182b", lw=1.1)
    bottom.set_ylabel("cases waiting\nfor a crew")
    shown = (tl["t"][-1] + 3600.0 - result.t_stats) / DAY if x.size else 0.0
    full = (result.t_end - result.t_stats) / DAY
    bottom.set_xlabel("local time (statistics window"
                      + (f", its first {shown:g} of {full:g} days)" if full > shown + 1e-9
                         else ")"))
    locator = mdates.AutoDateLocator()
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.suptitle(f"{result.scenario.name}: cases reported per hour against the teams on "
                 f"duty (replication {result.replication})")
    fig.tight_layout()
    return fig


def plot_timeline(result: RunResult, path: str | Path, days: float = TIMELINE_DAYS) -> Path:
    """Per hour of the window (its first ``days`` days): cases reported, stacked by
    channel, against the teams on duty; below, the cases waiting for a crew."""
    return _save(timeline_figure(result, days), path)


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


#: Steps an empirical CDF is drawn with at most: far more than a figure has pixels, far
#: fewer than a year's cases (2.4 million vertices per line took ~1 GB and 20 s to draw).
ECDF_POINTS = 2000


def ecdf_points(x: np.ndarray, max_points: int = ECDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The steps ``(x, F(x))`` of the empirical CDF of the finite values of ``x``: every
    value when there are at most ``max_points``, else the order statistics at
    ``max_points`` evenly spaced ranks (first and last included), each with its exact
    ``F`` (rank / n), so the drawn curve is the true one at those points."""
    x = np.sort(x[np.isfinite(x)])
    n = x.size
    if n <= max_points:
        return x, np.arange(1, n + 1) / max(n, 1)
    rank = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    return x[rank], (rank + 1) / n


def _ecdf(ax, x: np.ndarray, **kw) -> None:
    xs, ys = ecdf_points(x)
    if xs.size == 0:
        return
    ax.step(np.concatenate([[0.0], xs]), np.concatenate([[0.0], ys]), where="post", **kw)


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
