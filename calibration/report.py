"""The validation report: ``validation.html`` with the headline table, the handling-time
quantiles per category and overlay plots of real and simulated requests.

The page is written by :func:`urbangrid.study.html.write_page` (self-contained, figures
embedded as PNG); the figures are drawn through Matplotlib's object API.
"""

from __future__ import annotations

import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from urbangrid.study.html import figure, table, write_page

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["HEADLINE", "write_report"]

#: The headline measures of a validation: (key in the metrics, label, format).
HEADLINE = (
    ("daily_mape", "daily volume MAPE", "{:.1%}"),
    ("total_ratio", "window total sim / real", "{:.3f}"),
    ("hour_tvd", "hour-of-day TVD", "{:.3f}"),
    ("category_tvd", "category shares TVD", "{:.3f}"),
    ("category_tvd_training", "category shares TVD, training mix (baseline)", "{:.3f}"),
    ("channel_tvd", "channel shares TVD", "{:.3f}"),
    ("handling_ks_weighted", "handling KS (weighted mean)", "{:.3f}"),
    ("handling_ks_pooled", "handling KS (pooled)", "{:.3f}"),
    ("same_day_real", "same-day closure, real", "{:.1%}"),
    ("same_day_sim", "same-day closure, sim", "{:.1%}"),
    ("spatial_corr", "per-cell counts r", "{:.3f}"),
    ("spatial_corr_parent", "per-parent-cell counts r", "{:.3f}"),
)


def _figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def _figures(m: dict[str, Any]) -> list[tuple[bytes, str]]:
    """(PNG, caption) of the overlay plots."""
    imgs = []
    fig = _figure((7, 3))
    ax = fig.subplots()
    d = m["daily"]
    x = np.arange(len(d))
    ax.bar(x - 0.2, [r["real"] for r in d], 0.4, label="real")
    ax.bar(x + 0.2, [r["sim"] for r in d], 0.4, label="simulated (mean)")
    ax.set_xticks(x, [r["date"][5:] for r in d], rotation=45)
    ax.set_title("requests per full day")
    ax.legend()
    imgs.append((_png(fig), "Daily volume"))
    fig = _figure((7, 3))
    ax = fig.subplots()
    ax.plot(range(24), m["hour_of_day"]["real"], "o-", label="real")
    ax.plot(range(24), m["hour_of_day"]["sim"], "s--", label="simulated")
    ax.set_xlabel("hour")
    ax.set_title(f"hour-of-day profile (TVD {m['hour_tvd']:.3f})")
    ax.legend()
    imgs.append((_png(fig), "Hour of day"))
    cats = m["categories"][:15]
    fig = _figure((7, 4))
    ax = fig.subplots()
    y = np.arange(len(cats))
    ax.barh(y - 0.2, [c["share_real"] for c in cats], 0.4, label="real")
    ax.barh(y + 0.2, [c["share_sim"] for c in cats], 0.4, label="simulated")
    ax.set_yticks(y, [c["category"][:30] for c in cats])
    ax.invert_yaxis()
    ax.set_title(f"category shares (TVD {m['category_tvd']:.3f})")
    ax.legend()
    imgs.append((_png(fig), "Category shares"))
    top = [c for c in m["categories"] if c["n_real"] >= 30][:6]
    if top:
        fig = _figure((10, 5.5))
        axes = fig.subplots(2, 3, squeeze=False)
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
        imgs.append((_png(fig), "Handling time"))
    sp = m["spatial"]["parent"]
    fig = _figure((4.5, 4.5))
    ax = fig.subplots()
    ax.scatter(sp["real"], sp["sim"], s=8)
    hi = max(max(sp["real"] or [1]), max(sp["sim"] or [1]))
    ax.plot([0, hi], [0, hi], "k:")
    ax.set_xlabel("real requests per cell")
    ax.set_ylabel("simulated")
    ax.set_title(f"res {sp['resolution']} cells, r = {sp['pearson']:.3f}")
    imgs.append((_png(fig), "Spatial"))
    return imgs


def _fmt(v, f: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f.format(v)


def _q(v) -> str:
    return "&gt;" if v is None else f"{v:.2f}"


def write_report(m: dict[str, Any], path: str | Path) -> Path:
    """Write the validation page of the metrics ``m`` (:func:`validate`'s) to ``path``."""
    headline = table(["measure", "value"],
                     [[label, _fmt(m.get(k), f)] for k, label, f in HEADLINE])
    quantiles = table(
        ["category", "n real", "n sim", "KS", "p10", "p25", "p50", "p75", "p90"],
        [[html.escape(str(c["category"])), str(c["n_real"]), f"{c['n_sim']:.0f}",
          _fmt(c["ks"], "{:.3f}"),
          *(f"{_q(a)} / {_q(b)}" for a, b in zip(c["q_real"], c["q_sim"], strict=True))]
         for c in m["categories"]])
    body = [
        f"<p>Log {html.escape(str(m['log']))}, window {m['window']['start']} – "
        f"{m['window']['end']}; {m['replications']} replication(s); handling times "
        f"censored at {m['horizon_days']:g} days. Real requests: {m['n_real']:,}; "
        f"simulated (mean): {m['n_sim_mean']:,.0f}.</p>",
        headline,
        "<h2>Handling time per category (days; real / simulated; \"&gt;\" beyond the "
        "horizon)</h2>",
        quantiles,
        "<h2>Figures</h2>",
        *(figure(png, caption) for png, caption in _figures(m)),
    ]
    return write_page(path, f"Validation of {m['scenario']}", body)
