"""Where a run's start-up transient ends: MSER-5 on the backlog series.

The model starts empty: no open case, no order in any office queue. Hotline work orders
stay open for days, so the backlog needs days to fill, and KPIs measured before it has
are biased (a short warm-up makes ``backlog_mean`` depend on ``run.days``). MSER-5
(White, 1997; Hoad, Robinson & Davies, JORS 61, 2010) batches the series in fives and
truncates where the mean squared standard error of the rest is smallest; a truncation
in the second half of the series means the run never settled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WarmupCheck", "check_warmup", "mser5"]

DAY = 86400.0


def mser5(series: np.ndarray, batch: int = 5) -> tuple[int, bool]:
    """MSER-``batch`` truncation of ``series``: ``(observations to discard, settled)``.

    ``settled`` is False when the minimum falls in the second half of the batched series
    (the rule's own test of a series too short or still trending).
    """
    x = np.asarray(series, dtype=float)
    k = x.size // batch
    if k < 4:
        return 0, False
    b = x[: batch * k].reshape(k, batch).mean(axis=1)
    # for each truncation d: sum of squared deviations of b[d:] / (k - d)^2
    rev = b[::-1]
    n = np.arange(1, k + 1)
    s1 = np.cumsum(rev)
    s2 = np.cumsum(rev * rev)
    sse = s2 - s1 * s1 / n
    mser = (sse / (n * n))[::-1]  # index d: batches d .. k-1
    half = k // 2
    # (the last few batches are left out of the search: a handful of points always has
    # a small spread)
    d = int(np.argmin(mser[: max(k - 5, 1)]))
    return batch * d, d <= half


@dataclass(frozen=True)
class WarmupCheck:
    """MSER-5 on a run's daily mean backlog from time 0 to the horizon."""

    detected_days: float  #: where the transient ends
    configured_days: float  #: run.warmup_days
    settled: bool  #: MSER-5 found its minimum in the first half

    @property
    def ok(self) -> bool:
        """The configured warm-up covers the transient and the run settled."""
        return self.settled and self.configured_days >= self.detected_days

    def document(self) -> dict:
        return {"method": "MSER-5 on the daily mean backlog from time 0",
                "detected_days": self.detected_days, "configured_days": self.configured_days,
                "settled": self.settled, "ok": self.ok}


def check_warmup(result) -> WarmupCheck:
    """MSER on ``result``'s daily mean backlog (every open case) from 0 to the horizon:
    batches of 5 days when the run has 20 days or more, single days otherwise (the
    daily cycle of arrivals and office hours is averaged out first: on hourly values
    it, not the transient, sets the minimum)."""
    from .kpis import daily_backlog

    daily = daily_backlog(result, start=0.0)
    cut, settled = mser5(daily, batch=5 if daily.size >= 20 else 1)
    return WarmupCheck(detected_days=float(cut), configured_days=result.t_stats / DAY,
                       settled=settled)
