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
    TVD between the share vectors, plus the per-category table. For a calibrated
    scenario also ``category_tvd_training``: the TVD between the calibration log's own
    category mix (the raw training mix, from ``SCENARIO.calibration.json``) and this
    log's, the baseline a simulation must match or beat: on another period, "the mix
    will be what it was" is the forecast that needs no model.
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

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.calendar import DAY
from urbangrid.errors import InputError
from urbangrid.simulation import json_safe

from .codes import category_of
from .logs import (
    CleanLog,
    ColumnMapping,
    clean_log,
    full_days,
    load_mapping,
    parse_period,
    read_log,
)
from .report import write_report
from .simulate import read_calibration, simulate_period

__all__ = ["compare", "censored_ks", "tvd", "validate"]

log = logging.getLogger(__name__)

_QS = (0.1, 0.25, 0.5, 0.75, 0.9)


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance ½ Σ|p − q| between two count vectors, each normalised
    (NaN when either is empty)."""
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
    rh = ((real["closed"] - real["requested"]).dt.total_seconds() / DAY).to_numpy()
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
    out["hour_tvd"] = tvd(hr, hs)
    # Category and channel shares.
    cats = sorted(set(rcat) | set(sim["category"]))
    rc = pd.Series(rcat).value_counts().reindex(cats, fill_value=0)
    sc = pd.Series(sim["category"]).value_counts().reindex(cats, fill_value=0) / reps
    out["category_tvd"] = tvd(rc.to_numpy(), sc.to_numpy())
    fitted = {c["code"]: c["n"] for c in (calibration or {}).get("categories", [])}
    if fitted:
        keys = sorted(set(cats) | set(fitted))
        out["category_tvd_training"] = tvd(
            rc.reindex(keys, fill_value=0).to_numpy(),
            np.array([fitted.get(k, 0) for k in keys], dtype=float))
    chs = ["iot", "patrol", "hotline", "other"]
    rch = real["channel"].value_counts().reindex(chs, fill_value=0)
    sch = pd.Series(sim["channel"]).value_counts().reindex(chs, fill_value=0) / reps
    out["channel_tvd"] = tvd(rch.to_numpy(), sch.to_numpy())
    out["channel_shares"] = {c: {"real": float(rch[c] / max(rch.sum(), 1)),
                                 "sim": float(sch[c] / max(sch.sum(), 1e-12))} for c in chs}
    # Handling time per category.
    table = []
    ks_w, w_sum = 0.0, 0
    # CDFs on a log grid from 1 minute to the horizon, for the overlay plots.
    grid = np.geomspace(60.0 / DAY, horizon, 60)
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
    cal = read_calibration(scenario)
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
