"""Calibrate a scenario from a real service-request log (Open311 GeoReport Bulk, 12345 …).

One entry function, :func:`calibrate`, turns a CSV or Parquet log into a scenario that
``urbangrid simulate`` runs directly: ``SCENARIO.toml`` plus, next to it,
``SCENARIO.categories.csv`` (the case catalogue), ``SCENARIO.weights.csv`` (demand weight
per H3 cell), ``SCENARIO.boundary.geojson`` (the district outline, ``code``/``name``
columns for :meth:`urbangrid.grid.District.from_files`) and ``SCENARIO.calibration.json``
(every fitted figure with its sample size, the cleaning counts, the column mapping and
the category names, which :mod:`urbangrid.calibration.validation` reads back).

Steps
-----
1. **Read and clean** (:mod:`urbangrid.calibration.logs`: :func:`read_log`,
   :func:`clean_log`): columns named as in Open311 Bulk or through a column mapping
   (``"12345"`` for Chinese 12345 / 网格 exports); every cleaning count reported, no row
   dropped silently.
2. **Fit** (:mod:`urbangrid.calibration.fit`: :func:`fit_log`): daily volume with
   day-of-week factors and an hour-of-day profile per channel, holidays apart (written
   as ``demand.surges``), category and channel mixes, crew hours, and per category the
   handling-time distribution (censoring-aware, families ranked by AIC).
3. **District** (:mod:`urbangrid.calibration.district`): the user boundary or an
   outline of the log's points as a GeoJSON of sub-districts, and smoothed request
   counts per H3 cell.
4. **Write** (:mod:`urbangrid.calibration.write`): the scenario TOML and its catalogue,
   then the optional pilot correction below.

How handling time maps onto the model
-------------------------------------
A real 311 request's handling time is mostly waiting in a department's queue and
scheduling (a bulky-item pickup is booked days ahead), not work on site. The model's
natural knob for that is the per-category **preparation** stage (``prep_hours`` /
``prep_cv``: coordination between signing and a crew setting out, lognormal, holding no
crew). The calibration therefore

* sets the model's own stages to near zero where the log has no counterpart
  (registration, signing and feedback 1 min, no misroutes, rework, extensions or
  callbacks, resolution probability 1: the log's open requests are treated as long,
  right-censored ones, not failures);
* puts crews on the hours and days when the log's requests are closed (a crew shift
  fitted from the close times), so that closures fall in office hours as in the log;
* maps instant closures (< 60 s) of the patrol channel (city staff reporting work they
  did, e.g. LA's "Driver Self Report") onto the on-the-spot fix: each category's share
  of instantly closed patrol reports becomes its ``onspot_prob`` in the catalogue (see
  :func:`catalogue_rows`), so a case fixed on the spot keeps its category and is marked
  in the output's ``on_the_spot`` column; instant closures of other channels cannot be
  represented and are counted (``instant_closures_not_modelled``);
* maps the remaining handling times onto ``prep_hours`` (the mean) and ``prep_cv`` of
  a **lognormal** with the median and interquartile range of the AIC-best family's fit
  (the lognormal's own AIC gap is reported); then, for ``pilot`` steps, simulates the
  fitted period and corrects each category's log-median and log-IQR by the difference
  between simulated and real (the model adds crew waiting, travel, work and the wait
  for the next shift to the preparation time), a quantile-matching step, twice by
  default.

How well it works is measured by :mod:`urbangrid.calibration.validation`, not asserted
here: the preparation stage is a single lognormal per category, so multi-modal real
distributions (scheduled pickups on fixed weekdays) are only matched in their body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.calendar import DAY
from urbangrid.errors import InputError
from urbangrid.simulation import json_safe

from .codes import category_of, slug
from .district import build_district_files, read_boundary
from .fit import INSTANT_S, fit_log
from .logs import (
    CleanLog,
    ColumnMapping,
    check_timezone,
    clean_log,
    load_mapping,
    parse_period,
    read_log,
)
from .simulate import simulate_period
from .write import prep_from_lognormal, write_scenario

__all__ = ["Calibration", "calibrate"]


@dataclass
class Calibration:
    """Everything fitted from one log (JSON-compatible in :attr:`data`) and the files."""

    data: dict[str, Any]
    scenario_path: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        """The headline figures (volume, shares, cleaning counts)."""
        d = self.data
        return {"cases_per_day": d["demand"]["cases_per_day"],
                "channel_shares": d["channels"]["shares"], "cleaning": d["cleaning"],
                "n_categories": len(d["categories"]), "n_cells": d["district"]["n_cells"]}


def calibrate(log_path: str | Path, out: str | Path, *, columns: str | Path | None = None,
              boundary: str | Path | None = None, resolution: int | None = None,
              timezone: str | None = None, holidays: str | None = None,
              max_categories: int = 30, pilot: int = 2, drain_days: float = 14.0,
              seed: int = 1, period: str | None = None) -> Calibration:
    """Turn a service-request log into a runnable scenario (see the module docstring).

    Parameters
    ----------
    log_path
        CSV or Parquet log.
    out
        The scenario TOML to write; the other files go next to it with the same stem.
    columns
        Column mapping (see :func:`load_mapping`).
    boundary
        Optional polygon file (GeoJSON, GeoPackage, Shapefile) of the area.
    resolution
        H3 resolution; default: the finest with at most 1,500 cells.
    timezone, holidays
        Override the mapping's options.
    pilot
        Number of pilot steps: each simulates the fitted period and corrects each
        category's preparation lognormal (log-median and log-IQR) by the real −
        simulated difference (0 = none). Each step lowers the in-sample handling-time
        KS distance, with diminishing returns after two (hence the default).
    drain_days
        Follow-up after the window used by the pilot run (handling times longer than
        this are compared as censored).
    period
        ``"START,END"``: fit only requests made in ``[START, END)`` (local time).
    seed
        Seed of the pilot simulations; it differs from the scenario's own seed (which
        validation uses) so that the correction does not fit one realisation's noise.

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        For any problem with the inputs (see :func:`read_log`, :func:`clean_log`).
    """
    mapping = load_mapping(columns)
    if holidays is not None:
        mapping = ColumnMapping(**{**mapping.__dict__, "holidays": holidays})
    if timezone is not None:
        check_timezone(timezone, "--timezone")
        mapping = ColumnMapping(**{**mapping.__dict__, "timezone": timezone})
    if resolution is not None and not 7 <= int(resolution) <= 11:
        raise InputError(f"--resolution {resolution}: use an H3 resolution 7 – 11")
    out = Path(out)
    if out.suffix != ".toml":
        raise InputError(f"--out {out}: the scenario file must end in .toml")
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    raw = read_log(log_path, mapping)
    bpoly = None
    if boundary is not None:
        import shapely

        bpoly = shapely.union_all(list(read_boundary(boundary).geometry))
    clean = clean_log(raw, mapping, source=str(log_path), boundary=bpoly,
                      period=parse_period(period))
    fit = fit_log(clean, holidays=mapping.holidays, max_categories=max_categories)
    district = build_district_files(clean, boundary, resolution, stem)
    # Skills: one per agency (ASCII names).
    used: set[str] = set()
    skill_of: dict[str, str] = {}
    for c in fit["categories"]:
        if c["agency"] not in skill_of:
            skill_of[c["agency"]] = slug(c["agency"], used, f"dept{len(used) + 1:02d}")
        c["skill"] = skill_of[c["agency"]]
    files = write_scenario(fit, district, stem, log_name=Path(log_path).name,
                           calendar=mapping.calendar, counts=clean.counts,
                           drain_days=drain_days)
    data = {"log": str(log_path), "mapping": mapping.to_dict(), "cleaning": clean.counts,
            "cleaning_notes": clean.notes, "district": district, **fit,
            "drain_days": drain_days, "pilot": None,
            "handling_mapping": (
                "prep_hours/prep_cv = lognormal fit of non-instant handling time per "
                "category (calendar time); crews on the fitted close-hour shift; instant "
                "patrol closures = on-the-spot fixes")}
    cal = Calibration(data=data, scenario_path=files["scenario"],
                      files={**files, "boundary": stem.with_suffix(".boundary.geojson"),
                             "weights": stem.with_suffix(".weights.csv")})
    for it in range(int(pilot)):
        _pilot_correct(cal, clean, seed=seed, drain_days=drain_days, iteration=it)
    jpath = stem.with_suffix(".calibration.json")
    jpath.write_text(json.dumps(json_safe(cal.data), indent=1, ensure_ascii=False),
                     encoding="utf-8")
    cal.files["calibration"] = jpath
    return cal


def _pilot_correct(cal: Calibration, clean: CleanLog, *, seed: int,
                   drain_days: float, iteration: int = 0) -> None:
    """One quantile-matching step on each category's preparation lognormal."""
    sim = simulate_period(cal.scenario_path, clean, replications=1, seed=seed,
                          drain_days=drain_days, calibration=cal.data)
    real = clean.frame
    cat_real = category_of(real, cal.data["category_codes"])
    hr = ((real["closed"] - real["requested"]).dt.total_seconds() / DAY).to_numpy()
    cpath = cal.files["categories"]
    rows = pd.read_csv(cpath, dtype={"code": str}, keep_default_na=False)
    changes = {}
    for c in cal.data["categories"]:
        code = c["code"]
        # Non-instant handling times; beyond the follow-up (or open) = +inf, so the
        # quantiles are those of the censored distribution, not of the closed ones.
        r = hr[(cat_real == code)]
        r = np.where(np.isfinite(r) & (r < drain_days), r, np.inf)
        r = r[r * DAY >= INSTANT_S]
        s = sim["handling_days"][sim["category"] == code]
        s = np.where(np.isfinite(s) & (s < drain_days), s, np.inf)
        s = s[s * DAY >= INSTANT_S]
        if r.size < 20 or s.size < 20:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            qr = np.log(np.quantile(r, [0.25, 0.5, 0.75]))
            qs = np.log(np.quantile(s, [0.25, 0.5, 0.75]))
        if not (np.isfinite(qr[1]) and np.isfinite(qs[1])):
            continue
        ln = c.get("prep_lognormal_days") or c["handling_days"]["lognorm"]
        mu = ln["mu"] + (qr[1] - qs[1])
        ratio = ((qr[2] - qr[0]) / max(qs[2] - qs[0], 1e-6)
                 if np.isfinite(qr[2]) and np.isfinite(qs[2]) else 1.0)
        sigma = ln["sigma"] * float(np.clip(ratio, 0.5, 2.0))
        prep_h, prep_cv, sig = prep_from_lognormal(mu, sigma)
        i = int(np.flatnonzero(rows["code"] == code)[0])
        rows.loc[i, "prep_hours"] = round(prep_h, 6)
        rows.loc[i, "prep_cv"] = round(prep_cv, 6)
        c["prep_lognormal_days"] = {"mu": mu, "sigma": sig}
        changes[code] = {"mu_days": mu, "sigma": sig, "prep_hours": prep_h,
                         "prep_cv": prep_cv, "log_median_shift": float(qr[1] - qs[1]),
                         "log_iqr_ratio": float(ratio), "n_real": int(r.size),
                         "n_sim": int(s.size)}
    rows.to_csv(cpath, index=False)
    prev = cal.data.get("pilot") or {"seed": seed, "drain_days": drain_days, "steps": []}
    prev["steps"].append(changes)
    prev["corrected"] = changes
    cal.data["pilot"] = prev
