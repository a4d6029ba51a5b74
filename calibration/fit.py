"""Fit a cleaned log: volumes, time profiles, mixes and handling-time distributions.

:func:`fit_log` fits daily volume with day-of-week factors and an hour-of-day profile
per channel (the patrol channel's within its fitted shift; from full days; public
holidays, when given, are left out of the weekday factors and get their own factor);
the category mix overall and per channel (the
catalogue's channel affinities reproduce each channel's mix exactly); the channel mix
from ``source``; the hours crews close requests; and per category the handling time
``closed − requested`` (:func:`fit_handling`: a point mass of instant closures, and for
the rest the exponential, lognormal, gamma and Weibull families fitted by maximum
likelihood with right-censoring of still-open requests at the extract time, chosen by
AIC; empirical quantiles kept) and the share closed. The spatial intensity is fitted by
:mod:`urbangrid.calibration.district`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.calendar import DAY
from urbangrid.errors import InputError

from .codes import OTHER_BUCKET, bucket_names, slug
from .logs import CleanLog, full_days, holiday_dates

__all__ = ["FAMILIES", "INSTANT_S", "fit_handling", "fit_log"]

log = logging.getLogger(__name__)

#: Handling-time families compared by AIC (scipy.stats names, location fixed at 0).
FAMILIES = ("expon", "lognorm", "gamma", "weibull_min")

#: Closures faster than this (seconds) are "instant": closed at report.
INSTANT_S = 60.0
_MIN_PROFILE_N = 500  # requests needed to fit a channel's own time profiles
_MIN_SPOT_N = 5  # instant patrol closures needed to fit a category's on-the-spot share


def fit_handling(days: np.ndarray, censored_at: np.ndarray | None = None
                 ) -> dict[str, Any]:
    """Fit the :data:`FAMILIES` to handling times (days) with right-censoring; rank by AIC.

    Parameters
    ----------
    days
        Observed handling times in days (> 0).
    censored_at
        Follow-up of still-open requests (days from request to the extract time): the
        handling time is known to exceed it.

    Returns
    -------
    dict
        ``best`` (family with the lowest AIC), ``families`` ``{name: {"params", "aic",
        "loglik", "mean", "median"}}``, ``lognorm`` (``mu``, ``sigma`` of the log,
        days), ``n``, ``n_censored``, ``quantiles`` (empirical, observed times).
    """
    from scipy import stats

    x = np.asarray(days, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    c = np.asarray(censored_at if censored_at is not None else [], dtype=float)
    c = c[np.isfinite(c) & (c > 0)]
    out: dict[str, Any] = {"n": int(x.size), "n_censored": int(c.size), "families": {}}
    qs = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
    out["quantiles"] = ({f"p{int(q * 100)}": float(np.quantile(x, q)) for q in qs}
                        if x.size else {})
    if x.size < 2:
        out["best"] = None
        out["lognorm"] = ({"mu": float(np.log(x[0])), "sigma": 0.5} if x.size else None)
        return out
    data = stats.CensoredData(uncensored=x, right=c) if c.size else x
    for name in FAMILIES:
        dist = getattr(stats, name)
        try:
            params = dist.fit(data, floc=0)
        except Exception as exc:  # optimiser failure on degenerate data
            log.debug("fit %s failed: %s", name, exc)
            continue
        frozen = dist(*params)
        ll = float(np.sum(frozen.logpdf(x)) + (np.sum(frozen.logsf(c)) if c.size else 0.0))
        if not math.isfinite(ll):
            continue
        k = len(params) - 1  # loc fixed
        q25, q50, q75 = (float(v) for v in frozen.ppf([0.25, 0.5, 0.75]))
        out["families"][name] = {"params": [float(p) for p in params], "loglik": ll,
                                 "aic": 2 * k - 2 * ll, "mean": float(frozen.mean()),
                                 "median": q50, "q25": q25, "q75": q75}
    fams = out["families"]
    out["best"] = min(fams, key=lambda f: fams[f]["aic"]) if fams else None
    if out["best"]:
        # The model's preparation stage is lognormal: give it the AIC-best family's
        # median and log-interquartile range (KS distance is decided by the body, which
        # quartile matching keeps; an MLE lognormal would follow the tails instead).
        b = fams[out["best"]]
        lq25, lq75 = math.log(max(b["q25"], 1e-9)), math.log(max(b["q75"], 1e-9))
        out["lognorm"] = {"mu": math.log(max(b["median"], 1e-9)),
                          "sigma": max((lq75 - lq25) / 1.3489795, 1e-3),
                          "from": f"quartiles of the {out['best']} fit"}
        if "lognorm" in fams:
            out["lognorm_aic_gap"] = fams["lognorm"]["aic"] - b["aic"]
    else:
        lx = np.log(x)
        out["lognorm"] = {"mu": float(lx.mean()), "sigma": float(max(lx.std(), 1e-3)),
                          "from": "moments of the log"}
    return out


def _profiles(df: pd.DataFrame, days: list[dt.date], holidays: set[dt.date]
              ) -> dict[str, Any]:
    """Hour-of-day (24) and day-of-week (7, mean 1) profiles and volume per ordinary day."""
    date = df["requested"].dt.date
    on = date.isin(days)
    x = df[on]
    hours = np.bincount(x["requested"].dt.hour, minlength=24).astype(float)
    ordinary = [d for d in days if d not in holidays]
    per_day = x.groupby(x["requested"].dt.date).size()
    per_day = per_day.reindex(days, fill_value=0)
    wk = np.full(7, np.nan)
    nwk = np.zeros(7, dtype=int)
    for w in range(7):
        vals = [per_day[d] for d in ordinary if d.weekday() == w]
        nwk[w] = len(vals)
        if vals:
            wk[w] = float(np.mean(vals))
    if np.isnan(wk).all():
        wk[:] = per_day.mean() if len(per_day) else 0.0
    # Weekdays never observed take the mean of the observed days of the same kind.
    for w in range(7):
        if np.isnan(wk[w]):
            same = [v for i, v in enumerate(wk) if not np.isnan(v) and (i < 5) == (w < 5)]
            wk[w] = float(np.mean(same)) if same else float(np.nanmean(wk))
    mean = float(wk.mean())
    dow = wk / mean if mean > 0 else np.ones(7)
    hol = [d for d in days if d in holidays]
    hol_factor = None
    if hol and mean > 0:
        expected = sum(mean * dow[d.weekday()] for d in hol)
        hol_factor = float(sum(per_day[d] for d in hol) / expected) if expected else None
    return {"hour_counts": hours, "dow": dow, "per_weekday_n": nwk.tolist(),
            "volume": mean, "holiday_factor": hol_factor, "holidays_seen": [str(d) for d in hol],
            "per_day": {str(k): int(v) for k, v in per_day.items()}}


def _hour_window(hours: np.ndarray, lo_q: float = 0.05, hi_q: float = 0.95
                 ) -> tuple[int, int]:
    """Smallest whole-hour window [start, end) holding the central mass of ``hours``."""
    if hours.sum() <= 0:
        return 0, 24
    cdf = np.cumsum(hours) / hours.sum()
    start = int(np.searchsorted(cdf, lo_q, side="right"))
    end = int(np.searchsorted(cdf, hi_q, side="left")) + 1
    return start, max(end, start + 1)


def fit_log(clean: CleanLog, *, holidays: str | None = None, max_categories: int = 30,
            min_category_count: int = 5) -> dict[str, Any]:
    """Fit demand, mix, channels and handling times of a cleaned log (no space).

    Returns the JSON-compatible fit (the ``demand``, ``channels``, ``categories``,
    ``handling``, ``shifts`` and ``window`` parts of the calibration file).
    """
    df = clean.frame
    t0, t1 = clean.window
    days = full_days(df["requested"], t0, t1)
    if not days:
        raise InputError(f"the log covers {t0} – {t1}, less than one full day: too short "
                         "to fit daily volume", source=clean.source)
    hol = holiday_dates(holidays, t0.date(), (t1 + pd.Timedelta(days=400)).date())
    # Categories: the most frequent names; the rest folded into one bucket per group
    # (大类 / service_group) when the log has groups, else into one bucket.
    vc = df["service_name"].value_counts()
    keep_names = [n for n, k in vc.items() if k >= min_category_count][: max_categories - 1]
    if len(keep_names) == len(vc):
        keep_names = list(vc.index[:max_categories])
    cat_name = bucket_names(df["service_name"], df["group"], keep_names)
    bucket_counts = cat_name[~cat_name.isin(keep_names)].value_counts()
    # At most 60 rows in all (the catalogue holds 62).
    room = max(60 - len(keep_names) - 1, 0)
    small = [b for b in bucket_counts.index[room:] if b != OTHER_BUCKET]
    cat_name = cat_name.where(~cat_name.isin(small), OTHER_BUCKET)
    names = [*keep_names] + [b for b in cat_name[~cat_name.isin(keep_names)]
                             .value_counts().index]
    used: set[str] = set()
    codes = {n: slug(n, used, f"cat{i:02d}") for i, n in enumerate(names)}
    df = df.assign(category=cat_name.map(codes))
    # Channels.
    chans = ("iot", "patrol", "hotline", "other")
    prof = {ch: _profiles(df[df["channel"] == ch], days, hol) for ch in chans}
    allp = _profiles(df, days, hol)
    vol = {ch: prof[ch]["volume"] for ch in chans}
    patrol = df[df["channel"] == "patrol"]
    # Patrol arrivals follow the inspectors' shift (DemandModel): fit that shift from the
    # patrol reports' hours, on working days only when nearly all of them are.
    patrol_working = bool(len(patrol) and (patrol["requested"].dt.day_of_week < 5).mean() >= 0.9)
    ph = np.bincount(patrol["requested"].dt.hour, minlength=24).astype(float) \
        if len(patrol) else np.zeros(24)
    p_start, p_end = _hour_window(ph) if ph.sum() else (7, 19)
    if len(patrol):
        pd_days = [d for d in days if d not in hol and (d.weekday() < 5 or not patrol_working)]
        pd_counts = patrol[patrol["requested"].dt.date.isin(pd_days)].groupby(
            patrol["requested"].dt.date).size().reindex(pd_days, fill_value=0)
        # The model spreads `share × cases_per_day` over each duty day: per *duty* day.
        vol["patrol"] = float(pd_counts.mean()) if len(pd_counts) else 0.0
    total = sum(vol.values())
    if total <= 0:
        raise InputError("no requests on the full days of the log", source=clean.source)
    shares = {ch: vol[ch] / total for ch in chans}
    # Category mix per channel → catalogue share × affinity.
    n_all = df["category"].value_counts()
    p_k = n_all / n_all.sum()
    aff = {}
    for ch in chans:
        sub = df[df["channel"] == ch]["category"].value_counts()
        if sub.sum() > 0:
            aff[ch] = (sub / sub.sum()).reindex(p_k.index, fill_value=0.0) / p_k
        else:
            aff[ch] = pd.Series(1.0, index=p_k.index)
    # Handling times.
    closed = df[df["closed_known"]]
    h_s = (closed["closed"] - closed["requested"]).dt.total_seconds()
    open_ = df[~df["closed_known"]]
    cens_days = (clean.extract_time - open_["requested"]).dt.total_seconds() / DAY
    cats = []
    for n in names:
        code = codes[n]
        sel = (closed["category"] == code).to_numpy()
        h = h_s[sel].to_numpy()
        inst = h < INSTANT_S
        ch_closed = closed["channel"].to_numpy()[sel]
        cens = cens_days[(open_["category"] == code).to_numpy()].to_numpy()
        fit = fit_handling(h[~inst] / DAY, cens)
        rows = df[df["category"] == code]
        agency = rows["agency"].mode()
        agency = str(agency.iloc[0]) if len(agency) and agency.iloc[0] else "department"
        group = rows["group"].mode()
        group = str(group.iloc[0]) if len(group) and group.iloc[0] else agency
        pat_n = int((ch_closed == "patrol").sum())
        pat_inst = int((inst & (ch_closed == "patrol")).sum())
        pat_all = int((rows["channel"] == "patrol").sum())
        spot = pat_inst >= _MIN_SPOT_N
        cats.append({
            "code": code, "name": n, "n": int(len(rows)), "share": float(p_k[code]),
            "agency": agency, "group": group,
            "affinity": {ch: float(aff[ch][code]) for ch in chans},
            "n_closed": int(sel.sum()), "share_closed": float(sel.sum() / max(len(rows), 1)),
            "n_instant": int(inst.sum()), "n_instant_patrol": pat_inst,
            "n_closed_patrol": pat_n,
            "n_patrol": pat_all,
            "instant_share_patrol": pat_inst / pat_n if pat_n else 0.0,
            # Instant patrol closures are on-the-spot fixes: the category's probability
            # is their share of all its patrol reports (open ones were not fixed).
            "onspot_fixable": bool(spot),
            "onspot_prob": pat_inst / pat_all if spot else 0.0,
            "handling_days": fit,
            "same_day_share": float(np.mean(
                closed["closed"].dt.date.to_numpy()[sel]
                == closed["requested"].dt.date.to_numpy()[sel])) if sel.any() else None,
        })
    fixable = {c["code"] for c in cats if c["onspot_fixable"]}
    # Instant closures the model cannot produce: outside the patrol channel, or of a
    # category that is not fixed on the spot (left out of the family fit).
    not_modelled = sum(c["n_instant"] - (c["n_instant_patrol"] if c["code"] in fixable
                                         else 0) for c in cats)
    # The patrol channel's pooled share (each category's own share takes precedence).
    pat_reports = sum(c["n_patrol"] for c in cats)
    onspot = (sum(c["n_instant_patrol"] for c in cats if c["code"] in fixable)
              / pat_reports if pat_reports else 0.0)
    # Crew hours: when the log's requests get closed.
    ch_hours = np.bincount(closed["closed"].dt.hour, minlength=24).astype(float)
    c_start, c_end = _hour_window(ch_hours)
    wd_share = float((closed["closed"].dt.day_of_week < 5).mean()) if len(closed) else 1.0
    hod = {ch: prof[ch]["hour_counts"] for ch in chans}
    ch_n = {ch: int((df["channel"] == ch).sum()) for ch in chans}
    return {
        "window": {"start": str(t0), "end": str(t1), "full_days": [str(d) for d in days],
                   "extract_time": str(clean.extract_time), "timezone": clean.timezone},
        "holidays": {"rule": holidays, "dates_in_window": allp["holidays_seen"],
                     "factor": allp["holiday_factor"],
                     "all_dates": sorted(str(d) for d in hol)},
        "demand": {
            "cases_per_day": total,
            # The IoT / other channels' profiles: their own when they have enough
            # requests to estimate 24 + 7 figures, else all requests'.
            "day_of_week": (prof["other"]["dow"] if ch_n["other"] >= _MIN_PROFILE_N
                            else allp["dow"]).tolist(),
            "hour_of_day": (hod["other"] if ch_n["other"] >= _MIN_PROFILE_N
                            else allp["hour_counts"]).tolist(),
            "per_day": allp["per_day"], "per_weekday_n": allp["per_weekday_n"],
            "n_full_days": len(days),
        },
        "channels": {
            "shares": shares, "volume_per_day": vol,
            "counts": {ch: int((df["channel"] == ch).sum()) for ch in chans},
            "sources": {str(k): str(v) for k, v in
                        df.groupby("source")["channel"].first().items()},
            "hotline_day_of_week": prof["hotline"]["dow"].tolist(),
            "hotline_hour_of_day": hod["hotline"].tolist(),
            "patrol_shift": {"days": "working" if patrol_working else "all",
                             "start": p_start, "end": p_end},
            # Patrol reports within the shift: staff report in the morning more than in
            # the afternoon (LA's drivers), which matters for a window starting midday.
            "patrol_hour_of_day": (hod["patrol"].tolist() if ch_n["patrol"] >= _MIN_PROFILE_N
                                   else None),
            "onspot_fix_prob": onspot,
        },
        "crew_shift": {"days": "working" if wd_share >= 0.85 else "all",
                       "start": c_start, "end": c_end, "closed_on_weekdays": wd_share},
        "categories": cats,
        "category_codes": codes,
        "other_bucket": OTHER_BUCKET if OTHER_BUCKET in codes else None,
        "share_closed": float(df["closed_known"].mean()),
        "instant_closures_not_modelled": int(not_modelled),
    }
