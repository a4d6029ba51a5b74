"""Validate a (calibrated) scenario against a real service-request log.

:func:`validate` simulates the log's own period with the scenario and compares simulated
with real requests:

``daily volume``
    requests per full day of the window, real vs mean simulated; reported as the mean
    absolute percentage error (MAPE) and the ratio of window totals (sim / real).
``hour-of-day``
    total variation distance (TVD, ½ Σ|p − q|, 0 = identical, 1 = disjoint) between the
    24-hour request profiles.
``category shares`` / ``channel shares``
    TVD between the share vectors, plus the per-category table.
``handling time``
    per category the Kolmogorov–Smirnov distance between the real and simulated
    distributions of ``closed − requested``, **censored at the follow-up horizon**
    ``drain_days``: the simulation runs that many days past the window and requests not
    closed by then count as "> horizon" on both sides (the supremum is taken below the
    horizon); with the quantile table p10 … p90. The headline is the count-weighted mean
    KS over categories with at least ``min_n`` real requests, and the pooled KS.
``same-day closure``
    share of requests closed on the calendar day they were made.
``spatial``
    Pearson correlation of request counts per H3 cell (real located requests vs mean
    simulated), at the scenario's resolution and at its parent resolution (coarser, less
    Poisson noise).

Out of sample means: the scenario was fitted on another period of the log; nothing of
the validation period enters the scenario except its dates (and holiday dates, scaled by
the holiday factor fitted on the calibration period).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.errors import InputError

from .calibrate import (
    _DAY,
    SPOT_SUFFIX,
    CleanLog,
    ColumnMapping,
    _holiday_dates,
    category_of,
    clean_log,
    full_days,
    load_mapping,
    parse_period,
    read_log,
)
from .replications import json_safe, run_tasks

__all__ = ["compare", "simulate_period", "validate", "write_report"]

log = logging.getLogger(__name__)

_QS = (0.1, 0.25, 0.5, 0.75, 0.9)


def _calibration_for(scenario_path: Path) -> dict[str, Any] | None:
    p = scenario_path.with_suffix(".calibration.json")
    if p.is_file():
        return json.loads(p.read_text(encoding="utf-8"))
    return None


def simulate_period(scenario_path: str | Path, clean: CleanLog, *, replications: int = 1,
                    seed: int | None = None, drain_days: float = 14.0,
                    calibration: dict[str, Any] | None = None,
                    processes: int | None = None) -> dict[str, np.ndarray]:
    """Simulate the window of ``clean`` (plus ``drain_days``) and pool the requests.

    The run starts at midnight opening the window with no warm-up (the calibrated model
    holds no backlog beyond the preparation stage, which starts with each request) and
    ends ``drain_days`` after the window, so every request of the window has at least
    that much follow-up. Holidays of the new period get the calibration's holiday factor.
    Replications run in ``processes`` worker processes (default: one per core) through
    :func:`.replications.run_tasks`; the result does not depend on how many.

    Returns
    -------
    dict
        Arrays over simulated requests made inside the window, all replications:
        ``rep``, ``requested`` (datetime64), ``category`` (codes), ``channel``,
        ``h3``, ``handling_days`` (NaN when not closed by the end of the run),
        ``closed_same_day`` (bool); and ``n_reps``.
    """
    from .scenario import load_scenario

    scenario_path = Path(scenario_path)
    sc = load_scenario(scenario_path)
    cal = calibration if calibration is not None else _calibration_for(scenario_path)
    t0, t1 = clean.window
    start = t0.normalize()
    days = math.ceil((t1 - start) / pd.Timedelta(days=1)) + drain_days
    over: dict[str, Any] = {"run.start": start.strftime("%Y-%m-%dT%H:%M"),
                            "run.days": float(days), "run.warmup_days": 0.0,
                            "output.events": False}
    if cal and cal.get("holidays", {}).get("factor") is not None:
        hol = _holiday_dates(cal["holidays"]["rule"], start.date(),
                             (start + pd.Timedelta(days=days)).date())
        f = max(float(cal["holidays"]["factor"]), 0.0)
        over["demand.surges"] = [{"start_day": float((pd.Timestamp(d) - start).days),
                                  "days": 1.0, "factor": f} for d in sorted(hol)]
    sc = sc.replace(over)
    seed = sc.run.seed if seed is None else int(seed)
    reps = int(replications)
    jobs = [(sc, seed, r, start, t0, t1) for r in range(reps)]
    procs = (os.cpu_count() or 1) if processes is None else max(int(processes), 1)
    workers = min(procs, reps) if reps > 1 and procs > 1 else 0
    # Results come back in replication order: independent of the process count.
    results = run_tasks(_one_replication, jobs, workers=workers, districts=[sc])
    parts = {k: [res[k] for res in results] for k in results[0]}
    out = {k: np.concatenate(v) if v else np.array([]) for k, v in parts.items()}
    out["n_reps"] = int(replications)
    out["resolution"] = sc.district.resolution
    out["drain_days"] = float(drain_days)
    return out


def _one_replication(job) -> dict[str, np.ndarray]:
    """One replication reduced to the arrays the comparison needs (picklable)."""
    from urbangrid.catalogue import CHANNELS

    from ._model import S_CLOSED
    from .run import simulate

    sc, seed, r, start, t0, t1 = job
    res = simulate(sc, seed=seed, replication=r)
    c = res.cases
    base = np.datetime64(start.to_datetime64(), "ms")
    req = base + (c["t_report"] * 1000).astype("timedelta64[ms]")
    sel = (req >= np.datetime64(t0.to_datetime64(), "ms")) & \
        (req <= np.datetime64(t1.to_datetime64(), "ms"))
    closed = c["status"] == S_CLOSED
    h = np.where(closed, (c["t_close"] - c["t_report"]) / _DAY, np.nan)
    day_r = np.floor((c["t_report"] - res.calendar.day_offset) / _DAY)
    day_c = np.floor((np.nan_to_num(c["t_close"], nan=-1e18) - res.calendar.day_offset)
                     / _DAY)
    # On-the-spot twin categories count as their category.
    base_codes = [k.removesuffix(SPOT_SUFFIX) for k in res.catalogue.code]
    return {
        "rep": np.full(int(sel.sum()), r),
        "requested": req[sel],
        "category": np.asarray(base_codes, dtype=object)[c["category"][sel]],
        "channel": np.asarray(CHANNELS, dtype=object)[c["channel"][sel]],
        "h3": np.asarray(res.space.h3, dtype=object)[c["cell"][sel]],
        "handling_days": h[sel],
        "closed_same_day": (closed & (day_r == day_c))[sel],
    }


def _tvd(p: np.ndarray, q: np.ndarray) -> float:
    p = np.asarray(p, float)
    q = np.asarray(q, float)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def censored_ks(real: np.ndarray, sim: np.ndarray, horizon: float) -> float:
    """KS distance between two handling-time samples censored at ``horizon``.

    NaN (not closed) and values ≥ ``horizon`` count as censored; the CDFs are compared
    on ``[0, horizon)`` with denominators including the censored values.
    """
    r = np.where(np.isfinite(real), real, np.inf)
    s = np.where(np.isfinite(sim), sim, np.inf)
    if r.size == 0 or s.size == 0:
        return float("nan")
    grid = np.unique(np.concatenate([r[r < horizon], s[s < horizon]]))
    if grid.size == 0:
        return 0.0
    fr = np.searchsorted(np.sort(r), grid, side="right") / r.size
    fs = np.searchsorted(np.sort(s), grid, side="right") / s.size
    return float(np.max(np.abs(fr - fs)))


def _cdf(x: np.ndarray, grid: np.ndarray) -> list[float]:
    """Share of ``x`` at or below each grid value (NaN = not closed: never counted)."""
    v = np.sort(np.where(np.isfinite(x), x, np.inf))
    if v.size == 0:
        return [float("nan")] * len(grid)
    return (np.searchsorted(v, grid, side="right") / v.size).tolist()


def _cquant(x: np.ndarray, horizon: float) -> list[float | None]:
    """Quantiles of a censored sample (None where the quantile lies beyond the horizon)."""
    v = np.sort(np.where(np.isfinite(x), x, np.inf))
    out: list[float | None] = []
    for q in _QS:
        if v.size == 0:
            out.append(None)
            continue
        val = v[min(int(math.ceil(q * v.size)) - 1, v.size - 1)] if q * v.size >= 1 else v[0]
        out.append(float(val) if val < horizon else None)
    return out


def compare(clean: CleanLog, sim: dict[str, Any], calibration: dict[str, Any] | None, *,
            min_n: int = 30) -> dict[str, Any]:
    """Distances between a cleaned real log and :func:`simulate_period` output."""
    import h3

    real = clean.frame
    t0, t1 = clean.window
    horizon = float(sim["drain_days"])
    reps = max(int(sim["n_reps"]), 1)
    codes = (calibration or {}).get("category_codes", {})
    rcat = category_of(real, codes)
    unmapped = int((rcat == "(unmapped)").sum())
    # Follow-up of real requests: handling beyond the horizon is censored like the sim's.
    rh = ((real["closed"] - real["requested"]).dt.total_seconds() / _DAY).to_numpy()
    rh = np.where(rh < horizon, rh, np.nan)
    sh = np.where(sim["handling_days"] < horizon, sim["handling_days"], np.nan)
    out: dict[str, Any] = {"window": {"start": str(t0), "end": str(t1)},
                           "horizon_days": horizon, "replications": reps,
                           "n_real": int(len(real)), "n_sim_mean": len(sh) / reps,
                           "unmapped_real_types": unmapped}
    # Daily volume on full days.
    days = full_days(real["requested"], t0, t1)
    rd = real["requested"].dt.date.value_counts()
    sdates = pd.to_datetime(sim["requested"]).date if len(sh) else np.array([])
    sd = pd.Series(sdates).value_counts() / reps if len(sh) else pd.Series(dtype=float)
    daily = [{"date": str(d), "real": int(rd.get(d, 0)), "sim": float(sd.get(d, 0.0))}
             for d in days]
    ape = [abs(x["sim"] - x["real"]) / x["real"] for x in daily if x["real"] > 0]
    out["daily"] = daily
    out["daily_mape"] = float(np.mean(ape)) if ape else float("nan")
    out["total_ratio"] = (len(sh) / reps) / max(len(real), 1)
    # Hour of day.
    hr = np.bincount(real["requested"].dt.hour, minlength=24)
    hs = np.bincount(pd.to_datetime(sim["requested"]).hour, minlength=24) / reps \
        if len(sh) else np.zeros(24)
    out["hour_of_day"] = {"real": (hr / max(hr.sum(), 1)).tolist(),
                          "sim": (hs / max(hs.sum(), 1e-12)).tolist()}
    out["hour_tvd"] = _tvd(hr, hs)
    # Category and channel shares.
    cats = sorted(set(rcat) | set(sim["category"]))
    rc = pd.Series(rcat).value_counts().reindex(cats, fill_value=0)
    sc = pd.Series(sim["category"]).value_counts().reindex(cats, fill_value=0) / reps
    out["category_tvd"] = _tvd(rc.to_numpy(), sc.to_numpy())
    chs = ["iot", "patrol", "hotline", "other"]
    rch = real["channel"].value_counts().reindex(chs, fill_value=0)
    sch = pd.Series(sim["channel"]).value_counts().reindex(chs, fill_value=0) / reps
    out["channel_tvd"] = _tvd(rch.to_numpy(), sch.to_numpy())
    out["channel_shares"] = {c: {"real": float(rch[c] / max(rch.sum(), 1)),
                                 "sim": float(sch[c] / max(sch.sum(), 1e-12))} for c in chs}
    # Handling time per category.
    table = []
    ks_w, w_sum = 0.0, 0
    # CDFs on a log grid from 1 minute to the horizon, for the overlay plots.
    grid = np.geomspace(60.0 / _DAY, horizon, 60)
    out["cdf_grid_days"] = grid.tolist()
    for code in cats:
        r = rh[rcat == code]
        s = sh[sim["category"] == code]
        ks = censored_ks(r, s, horizon) if r.size and s.size else float("nan")
        row = {"category": code, "n_real": int(r.size), "n_sim": float(s.size / reps),
               "share_real": float(rc[code] / max(rc.sum(), 1)),
               "share_sim": float(sc[code] / max(sc.sum(), 1e-12)),
               "ks": ks, "q_real": _cquant(r, horizon), "q_sim": _cquant(s, horizon),
               "cdf_real": _cdf(r, grid), "cdf_sim": _cdf(s, grid),
               "closed_within_horizon_real": float(np.isfinite(r).mean()) if r.size
               else None,
               "closed_within_horizon_sim": float(np.isfinite(s).mean()) if s.size
               else None}
        table.append(row)
        if r.size >= min_n and math.isfinite(ks):
            ks_w += ks * r.size
            w_sum += r.size
    table.sort(key=lambda x: -x["n_real"])
    out["categories"] = table
    out["handling_ks_weighted"] = ks_w / w_sum if w_sum else float("nan")
    out["handling_ks_pooled"] = censored_ks(rh, sh, horizon)
    out["handling_ks_categories"] = int(sum(1 for t in table if t["n_real"] >= min_n))
    out["quantiles"] = {"q": list(_QS), "real": _cquant(rh, horizon),
                        "sim": _cquant(sh, horizon)}
    # Same-day closure.
    rsame = (real["closed"].dt.date == real["requested"].dt.date).to_numpy()
    out["same_day_real"] = float(rsame.mean())
    out["same_day_sim"] = float(np.mean(sim["closed_same_day"])) if len(sh) else float("nan")
    out["closed_within_horizon_real"] = float(np.isfinite(rh).mean())
    out["closed_within_horizon_sim"] = float(np.isfinite(sh).mean()) if len(sh) \
        else float("nan")
    # Spatial.
    res = int(sim["resolution"])
    loc = real["lat"].notna().to_numpy()
    rcells = [h3.latlng_to_cell(a, b, res) for a, b in
              zip(real["lat"].to_numpy()[loc], real["lon"].to_numpy()[loc], strict=True)]
    spatial = {}
    for label, r_ in (("cell", res), ("parent", res - 1)):
        rr = pd.Series([c if r_ == res else h3.cell_to_parent(c, r_) for c in rcells])
        ss_cells = pd.Series(sim["h3"])
        if r_ != res:
            uniq = ss_cells.unique()
            lut = {c: h3.cell_to_parent(c, r_) for c in uniq if c}
            ss_cells = ss_cells.map(lut)
        keys = sorted(set(ss_cells.dropna().unique()))
        rv = rr.value_counts().reindex(keys, fill_value=0).to_numpy(float)
        sv = ss_cells.value_counts().reindex(keys, fill_value=0).to_numpy(float) / reps
        outside = int((~rr.isin(keys)).sum())
        corr = float(np.corrcoef(rv, sv)[0, 1]) if len(keys) > 2 and rv.std() > 0 \
            and sv.std() > 0 else float("nan")
        spatial[label] = {"resolution": r_, "cells": len(keys), "pearson": corr,
                          "real_outside_cells": outside, "real": rv.tolist(),
                          "sim": sv.tolist()}
    out["spatial"] = spatial
    out["spatial_corr"] = spatial["cell"]["pearson"]
    out["spatial_corr_parent"] = spatial["parent"]["pearson"]
    return out


HEADLINE = (
    ("daily_mape", "daily volume MAPE", "{:.1%}"),
    ("total_ratio", "window total sim / real", "{:.3f}"),
    ("hour_tvd", "hour-of-day TVD", "{:.3f}"),
    ("category_tvd", "category shares TVD", "{:.3f}"),
    ("channel_tvd", "channel shares TVD", "{:.3f}"),
    ("handling_ks_weighted", "handling KS (weighted mean)", "{:.3f}"),
    ("handling_ks_pooled", "handling KS (pooled)", "{:.3f}"),
    ("same_day_real", "same-day closure, real", "{:.1%}"),
    ("same_day_sim", "same-day closure, sim", "{:.1%}"),
    ("spatial_corr", "per-cell counts r", "{:.3f}"),
    ("spatial_corr_parent", "per-parent-cell counts r", "{:.3f}"),
)


def validate(log_path: str | Path, scenario: str | Path, out: str | Path, *,
             columns: str | Path | None = None, replications: int = 2,
             seed: int | None = None, drain_days: float = 14.0,
             timezone: str | None = None, period: str | None = None,
             processes: int | None = None) -> dict[str, Any]:
    """Simulate a log's period with ``scenario``; write ``validation.json`` and
    ``validation.html`` into ``out``; return the metrics.

    The log is read with the calibration's column mapping (``SCENARIO.calibration.json``)
    unless ``columns`` is given; ``period`` (``"START,END"``, END exclusive) selects
    the requests compared.

    Raises
    ------
    InputError
        Unreadable log or scenario, or replications < 1.
    """
    scenario = Path(scenario)
    if not scenario.is_file():
        raise InputError(f"scenario file not found: {scenario}", source=str(scenario))
    if int(replications) < 1:
        raise InputError(f"--replications {replications}: give at least 1")
    cal = _calibration_for(scenario)
    if columns is not None:
        mapping = load_mapping(columns)
    elif cal is not None:
        mapping = ColumnMapping.from_dict(cal["mapping"])
    else:
        mapping = load_mapping(None)
    raw = read_log(log_path, mapping)
    clean = clean_log(raw, mapping, source=str(log_path), timezone=timezone,
                      period=parse_period(period))
    sim = simulate_period(scenario, clean, replications=replications, seed=seed,
                          drain_days=drain_days, calibration=cal, processes=processes)
    metrics = compare(clean, sim, cal)
    metrics["log"] = str(log_path)
    metrics["scenario"] = str(scenario)
    metrics["cleaning"] = clean.counts
    outdir = Path(out)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder: {exc}", source=str(outdir)) from None
    (outdir / "validation.json").write_text(
        json.dumps(json_safe(metrics), indent=1, ensure_ascii=False), encoding="utf-8")
    write_report(metrics, outdir / "validation.html")
    return metrics


# --------------------------------------------------------------------------- report
def _fig_b64(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_report(m: dict[str, Any], path: str | Path) -> None:
    """An HTML page with the headline table, quantile table and overlay plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    imgs = []
    fig, ax = plt.subplots(figsize=(7, 3))
    d = m["daily"]
    x = np.arange(len(d))
    ax.bar(x - 0.2, [r["real"] for r in d], 0.4, label="real")
    ax.bar(x + 0.2, [r["sim"] for r in d], 0.4, label="simulated (mean)")
    ax.set_xticks(x, [r["date"][5:] for r in d], rotation=45)
    ax.set_title("requests per full day")
    ax.legend()
    imgs.append(("Daily volume", _fig_b64(fig)))
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(range(24), m["hour_of_day"]["real"], "o-", label="real")
    ax.plot(range(24), m["hour_of_day"]["sim"], "s--", label="simulated")
    ax.set_xlabel("hour")
    ax.set_title(f"hour-of-day profile (TVD {m['hour_tvd']:.3f})")
    ax.legend()
    imgs.append(("Hour of day", _fig_b64(fig)))
    cats = m["categories"][:15]
    fig, ax = plt.subplots(figsize=(7, 4))
    y = np.arange(len(cats))
    ax.barh(y - 0.2, [c["share_real"] for c in cats], 0.4, label="real")
    ax.barh(y + 0.2, [c["share_sim"] for c in cats], 0.4, label="simulated")
    ax.set_yticks(y, [c["category"][:30] for c in cats])
    ax.invert_yaxis()
    ax.set_title(f"category shares (TVD {m['category_tvd']:.3f})")
    ax.legend()
    imgs.append(("Category shares", _fig_b64(fig)))
    top = [c for c in m["categories"] if c["n_real"] >= 30][:6]
    if top:
        fig, axes = plt.subplots(2, 3, figsize=(10, 5.5), squeeze=False)
        grid = m["cdf_grid_days"]
        for ax, c in zip(axes.ravel(), top, strict=False):
            ax.step(grid, c["cdf_real"], where="post", label="real")
            ax.step(grid, c["cdf_sim"], "--", where="post", label="simulated")
            ax.set_xscale("log")
            ax.set_ylim(0, 1)
            ax.set_title(f"{c['category'][:24]} KS {c['ks']:.2f}", fontsize=9)
            ax.set_xlabel("days")
        axes.ravel()[0].legend()
        for ax in axes.ravel()[len(top):]:
            ax.axis("off")
        fig.suptitle(f"handling time: share closed within t (to the {m['horizon_days']:g}-day "
                     "horizon)")
        fig.tight_layout()
        imgs.append(("Handling time", _fig_b64(fig)))
    sp = m["spatial"]["parent"]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(sp["real"], sp["sim"], s=8)
    hi = max(max(sp["real"] or [1]), max(sp["sim"] or [1]))
    ax.plot([0, hi], [0, hi], "k:")
    ax.set_xlabel("real requests per cell")
    ax.set_ylabel("simulated")
    ax.set_title(f"res {sp['resolution']} cells, r = {sp['pearson']:.3f}")
    imgs.append(("Spatial", _fig_b64(fig)))
    rows = "".join(f"<tr><td>{lab}</td><td>{_fmt(m.get(k), f)}</td></tr>"
                   for k, lab, f in HEADLINE)
    qrows = "".join(
        f"<tr><td>{c['category']}</td><td>{c['n_real']}</td><td>{c['n_sim']:.0f}</td>"
        f"<td>{_fmt(c['ks'], '{:.3f}')}</td>"
        + "".join(f"<td>{_q(a)} / {_q(b)}</td>" for a, b in zip(c["q_real"], c["q_sim"],
                                                               strict=True))
        + "</tr>" for c in m["categories"])
    html = f"""<!doctype html><html><head><meta charset="utf-8">
<title>urbangrid validation</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;
font-size:13px}}</style></head><body>
<h1>Validation of {m['scenario']}</h1>
<p>Log {m['log']}, window {m['window']['start']} – {m['window']['end']};
{m['replications']} replication(s); handling times censored at {m['horizon_days']:g} days.
Real requests: {m['n_real']:,}; simulated (mean): {m['n_sim_mean']:,.0f}.</p>
<table><tr><th>measure</th><th>value</th></tr>{rows}</table>
<h2>Handling time per category (days; real / simulated; "&gt;" beyond the horizon)</h2>
<table><tr><th>category</th><th>n real</th><th>n sim</th><th>KS</th><th>p10</th><th>p25</th>
<th>p50</th><th>p75</th><th>p90</th></tr>{qrows}</table>
{''.join(f'<h2>{t}</h2><img src="data:image/png;base64,{b}">' for t, b in imgs)}
</body></html>"""
    Path(path).write_text(html, encoding="utf-8")


def _fmt(v, f: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f.format(v)


def _q(v) -> str:
    return "&gt;" if v is None else f"{v:.2f}"
