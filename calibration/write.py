"""Write a fitted log as a scenario: ``STEM.toml`` and its catalogue ``STEM.categories.csv``.

Every figure in the TOML is commented with where it comes from. How handling time maps
onto the model is explained in :mod:`urbangrid.calibration.pipeline`: the log's
handling time goes into each category's preparation stage (:func:`prep_from_lognormal`),
the model's own stages are set to near zero, and instant patrol closures become each
category's on-the-spot probability (:func:`catalogue_rows`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["catalogue_rows", "prep_from_lognormal", "write_scenario"]


def prep_from_lognormal(mu_days: float, sigma: float) -> tuple[float, float, float]:
    """(prep_hours mean, prep_cv, sigma used) of a lognormal given in days (the log's
    ``mu_days`` and ``sigma``), clipped to what the catalogue accepts."""
    s = float(min(max(sigma, 0.05), 2.148))  # the catalogue allows prep_cv <= 10
    mean_h = math.exp(mu_days + s * s / 2.0) * 24.0
    cv = math.sqrt(math.expm1(s * s))
    return min(mean_h, 1e5), min(cv, 10.0), s


def catalogue_rows(fit: dict[str, Any]) -> list[dict[str, Any]]:
    """Catalogue rows, one per fitted category.

    Real logs close a different share of each category's patrol reports on the spot
    (LA 2017/18: most graffiti driver self-reports, a third of illegal dumping ones), so
    each category carries its own fitted probability in ``onspot_prob`` (with
    ``onspot_fixable = 1``), which the model uses in place of the patrol channel's single
    ``onspot_fix_prob``. A category stays one category however it closes: how a case
    closed is the output's ``on_the_spot`` column, not a category of its own.
    """
    rows = []
    for c in fit["categories"]:
        ln = c["handling_days"].get("lognorm") or {"mu": 0.0, "sigma": 1.0}
        prep_h, prep_cv, _ = prep_from_lognormal(ln["mu"], ln["sigma"])
        p90 = c["handling_days"]["quantiles"].get("p90")
        limit_h = max(1.0, round((p90 if p90 else 5.0) * 24.0, 1))
        is_cjk = bool(re.search(r"[\u4e00-\u9fff]", c["name"]))
        rows.append({
            "code": c["code"], "name_zh": c["name"] if is_cjk else "",
            "name_en": c["name"], "kind": "event", "group": c["group"],
            "share": round(c["share"], 8), "skill": c["skill"], "urgency": "normal",
            "limit": min(limit_h, 1e4), "limit_unit": "calendar_hours",
            "work_dist": "lognormal", "work_mean_min": 30, "work_cv": 0.5,
            "prep_hours": round(prep_h, 6), "prep_cv": round(prep_cv, 6),
            "resolution_prob": 1.0, "onspot_fixable": int(c["onspot_fixable"]),
            "onspot_prob": round(c["onspot_prob"], 6),
            **{ch: round(c["affinity"][ch], 6) for ch in ("iot", "patrol", "hotline",
                                                          "other")},
        })
    return rows


def _mean1(xs) -> list[float]:
    x = np.asarray(xs, dtype=float)
    return (x / x.mean()).tolist() if x.sum() > 0 else [1.0] * len(x)


def _fmt_list(xs, nd: int = 4) -> str:
    return "[" + ", ".join(f"{x:.{nd}g}" for x in xs) + "]"


def _toml_str(s: str) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _crews(fit: dict[str, Any], district: dict[str, Any]) -> list[dict[str, Any]]:
    """One district-wide crew kind per skill, sized for about 50 % utilisation."""
    shift = fit["crew_shift"]
    hours = max(shift["end"] - shift["start"], 1)
    duty_days = 5 / 7 if shift["days"] == "working" else 1.0
    # Straight-line mean distance in a disc of the district's area, ×1.31 detour, 20 km/h.
    radius = math.sqrt(max(district["area_km2"], 0.01) / math.pi)
    travel_h = 0.905 * radius * 1.31 / 20.0
    per_skill: dict[str, float] = {}
    agency: dict[str, str] = {}
    for c in fit["categories"]:
        per_skill[c["skill"]] = per_skill.get(c["skill"], 0.0) + \
            c["share"] * fit["demand"]["cases_per_day"]
        agency[c["skill"]] = c["agency"]
    out = []
    for s, lam in per_skill.items():
        need = lam * (0.5 + travel_h) / (hours * duty_days * 0.5)
        out.append({"name": s, "skill": s, "n": int(max(2, math.ceil(need))),
                    "agency": agency[s], "cases_per_day": lam})
    return out


def write_scenario(fit: dict[str, Any], district: dict[str, Any], stem: Path, *,
                   log_name: str, calendar: str, counts: dict[str, int],
                   drain_days: float = 14.0) -> dict[str, Path]:
    """Write ``STEM.toml`` and ``STEM.categories.csv`` from a fit; every figure commented."""
    cat_rows = catalogue_rows(fit)
    cpath = stem.with_suffix(".categories.csv")
    pd.DataFrame(cat_rows).to_csv(cpath, index=False)
    t0 = pd.Timestamp(fit["window"]["start"])
    t1 = pd.Timestamp(fit["window"]["end"])
    start = t0.normalize()
    days = max(1, math.ceil((t1 - start) / pd.Timedelta(days=1)))
    dem = fit["demand"]
    ch = fit["channels"]
    n_rows = counts["rows_used"]
    nd = dem["n_full_days"]
    cs = fit["crew_shift"]
    ps = ch["patrol_shift"]
    crews = _crews(fit, district)
    hol = fit["holidays"]
    L: list[str] = []
    a = L.append
    a(f"# Calibrated by `urbangrid calibrate` from {log_name}")
    a(f"# ({n_rows:,} requests used of {counts['rows_read']:,} read; window {t0} – {t1}, "
      f"local time {fit['window']['timezone'] or 'of the log'}).")
    a(f"# Fitted figures, sample sizes and cleaning counts: {stem.name}.calibration.json.")
    a("# Run: urbangrid simulate " + stem.name + ".toml --out results/")
    a(f"name = {_toml_str(stem.name)}")
    a(f"description = {_toml_str('Calibrated from ' + log_name)}")
    a("")
    a("[run]")
    a(f"start = {_toml_str(start.strftime('%Y-%m-%dT%H:%M'))}   # midnight opening the "
      "log window (the log's local time)")
    a(f"days = {days}   # the log window, {t0:%Y-%m-%d %H:%M} – {t1:%Y-%m-%d %H:%M}")
    a("warmup_days = 0   # the model holds no backlog beyond preparation; see validate for "
      "the drain period")
    a("replications = 1")
    a("")
    a("[district]")
    a('source = "files"')
    a(f"boundary = {_toml_str(district['boundary_file'])}   # {district['outline']}")
    a(f"weights_file = {_toml_str(district['weights_file'])}   # smoothed request counts per "
      f"cell ({district['located']:,} located requests, smoothing {district['smoothing']})")
    a('weight = "w_requests"')
    a(f"resolution = {district['resolution']}   # {district['n_cells']} cells, "
      f"{district['area_km2']:.1f} km²")
    a(f"n_grids = {max(1, min(110, district['n_cells'] // 4))}")
    a("")
    a("[calendar]")
    a(f"rule = {_toml_str(calendar)}")
    a(f'work_start = "{cs["start"]:02d}:00"   # central 90 % of close times '
      f"({sum(c['n_closed'] for c in fit['categories']):,} closed requests)")
    a(f'work_end = "{min(cs["end"], 23):02d}:{"00" if cs["end"] < 24 else "59"}"')
    a("")
    a("[demand]")
    a(f"cases_per_day = {dem['cases_per_day']:.2f}   # mean requests per ordinary day over "
      f"{nd} full days ({n_rows:,} requests), patrol counted per duty day")
    a("event_share = 1.0   # every category is an 'event': the file shares apply as fitted")
    a(f"day_of_week = {_fmt_list(dem['day_of_week'])}   # Mon..Sun, non-citizen channels "
      f"(full days per weekday: {dem['per_weekday_n']})")
    a(f"hour_of_day = {_fmt_list(_mean1(dem['hour_of_day']))}   # per hour, mean 1, from "
      f"{int(sum(dem['hour_of_day'])):,} requests on full days")
    surges = []
    if hol["factor"] is not None:
        for dstr in hol["all_dates"]:
            off = (pd.Timestamp(dstr) - start).days
            if 0 <= off < days + drain_days:
                surges.append(off)
    if surges:
        a(f"# public holidays ({hol['rule']}): volume × {hol['factor']:.3f}, fitted on "
          f"{', '.join(hol['dates_in_window'])}")
        a("surges = [" + ", ".join(
            f"{{ start_day = {o}, days = 1, factor = {max(hol['factor'], 0.0):.4f} }}"
            for o in surges) + "]")
    a("")
    a("[channels.iot]")
    a(f"share = {ch['shares']['iot']:.6f}   # {ch['counts']['iot']:,} requests from sensor "
      "sources")
    a("coverage = 1.0")
    a("reference_coverage = 1.0")
    a("false_positive_rate = 0.0   # the log's closed requests are real ones")
    a("")
    a("[channels.patrol]")
    a(f"share = {ch['shares']['patrol']:.6f}   # {ch['counts']['patrol']:,} requests from "
      "staff / self-report sources")
    a(f"onspot_fix_prob = {ch['onspot_fix_prob']:.4f}   # share of patrol reports closed "
      "instantly (< 60 s), pooled; the catalogue's onspot_prob gives each category its own")
    a("detection_delay_hours = 0.0")
    if ch.get("patrol_hour_of_day"):
        a(f"hour_of_day = {_fmt_list(_mean1(ch['patrol_hour_of_day']))}   # per hour, mean 1, "
          f"from {int(sum(ch['patrol_hour_of_day'])):,} patrol reports on full days (within "
          "the patrol shift)")
    a("")
    a("[channels.hotline]")
    a(f"share = {ch['shares']['hotline']:.6f}   # {ch['counts']['hotline']:,} citizen "
      "requests (phone, app, web …)")
    a(f"day_of_week = {_fmt_list(ch['hotline_day_of_week'])}")
    a(f"hour_of_day = {_fmt_list(_mean1(ch['hotline_hour_of_day']))}   # per hour, mean 1, "
      f"from {int(sum(ch['hotline_hour_of_day'])):,} citizen requests on full days")
    a("")
    a("[orders]")
    a("enabled = false   # the log records no office stages: citizen requests follow the "
      "crews' path, their handling time sits in the categories' preparation")
    a("")
    a("[channels.other]")
    a(f"share = {ch['shares']['other']:.6f}   # {ch['counts']['other']:,} requests from "
      "council / department orders")
    a("priority_boost = 0")
    a("")
    a("[catalogue]")
    a(f"file = {_toml_str(cpath.name)}   # {len(cat_rows)} categories: shares, channel "
      "affinities, preparation = lognormal fit of handling time")
    a("")
    a("[shifts.calib_crew]")
    a(f'days = "{cs["days"]}"   # {cs["closed_on_weekdays"]:.1%} of closures on Mon–Fri')
    a(f'start = "{cs["start"]:02d}:00"')
    a(f"hours = {max(1, min(cs['end'], 24) - cs['start'])}   # central 90 % of close hours")
    a("")
    a("[shifts.calib_patrol]")
    a(f'days = "{ps["days"]}"')
    a(f'start = "{ps["start"]:02d}:00"')
    a(f"hours = {max(1, min(ps['end'], 24) - ps['start'])}   # central 90 % of patrol "
      "report hours")
    a("")
    a("[inspectors]")
    a('shift = "calib_patrol"')
    a("verify_delay_min = 1.0   # no verification stage in the log")
    for c in crews:
        a("")
        a("[[crews]]")
        a(f"name = {_toml_str(c['name'])}")
        a(f"skills = [{_toml_str(c['skill'])}]")
        a(f"district_wide = {c['n']}   # about 50 % busy at {c['cases_per_day']:.0f} "
          "requests/day, 30 min work (assumption) + travel")
        a('mode = "car"')
        a('shift = "calib_crew"')
        a("capacity = 3")
        a(f"agency = {_toml_str(c['agency'])}")
    a("")
    a("[workflow]")
    a('process = "integrated"')
    a("register_mean_min_urgent = 0.0   # stages the log does not record are zero or")
    a("register_mean_min_normal = 0.0   # near zero; the handling time sits in the "
      "categories' preparation")
    a("sign_mean_min = 1.0")
    a("misroute_prob = 0.0")
    a("feedback_mean_min = 1.0")
    a("rework_prob = 0.0")
    a("extension_prob = 0.0")
    a("")
    a("[dispatch]")
    a('policy = "nearest"')
    a("")
    a("[output]")
    a("events = false")
    spath = stem.with_suffix(".toml")
    spath.write_text("\n".join(L) + "\n", encoding="utf-8")
    from urbangrid.simulation import load_scenario

    load_scenario(spath)  # what we wrote must load (a failure here is a bug, not input)
    return {"scenario": spath, "categories": cpath}
