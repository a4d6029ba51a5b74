"""How the study tools print an estimate: a mean with its 95 % half-width.

One rule for every table (``simulate``, ``compare``, ``sweep``, the reports): the
half-width is shown to two significant digits and the mean to the same decimal place, so
that both read at the precision the replications support ("0.760 ± 0.060", "6,650 ±
270", never "0.76 ± 0.0603" or "6.65e+03 ± 266"). A share (a KPI whose display format is
a percentage) prints as a percentage; a difference of two shares is in percentage points
("+2.4 pp"), which a "%" would misstate as a relative change.
"""

from __future__ import annotations

import math

__all__ = ["estimate", "estimate_of", "estimate_parts", "is_share"]


def is_share(fmt: str) -> bool:
    """Whether a display format such as ``"{:.1%}"`` shows a share as a percentage."""
    return fmt.endswith("%}")


def estimate(mean: float | None, half: float | None = None, fmt: str = "{:.3g}", *,
             difference: bool = False) -> str:
    """``mean ± half`` as text at the precision the interval supports.

    Parameters
    ----------
    mean, half
        The estimate and its 95 % half-width (``None`` or NaN when unknown: the mean is
        then printed with ``fmt`` alone; "–" when the mean is unknown).
    fmt
        The KPI's display format, used when there is no interval; a percentage format
        marks a share.
    difference
        A paired difference: signed, and in percentage points for a share.

    Examples
    --------
    >>> estimate(0.76, 0.0603)
    '0.760 ± 0.060'
    >>> estimate(6650.4, 266.0, "{:,.0f}")
    '6,650 ± 270'
    >>> estimate(0.024, 0.011, "{:.1%}", difference=True)
    '+2.4 ± 1.1 pp'
    >>> estimate(0.913, None, "{:.1%}")
    '91.3%'
    """
    m, h = estimate_parts(mean, half, fmt, difference=difference)
    return f"{m} {h}" if h else m


def estimate_of(rec: dict | None, fmt: str = "{:.3g}", *, difference: bool = False) -> str:
    """:func:`estimate` of a KPI record ``{"mean": ..., "ci95": ...}`` (``None``: "–")."""
    rec = rec or {}
    return estimate(rec.get("mean"), rec.get("ci95"), fmt, difference=difference)


def estimate_parts(mean: float | None, half: float | None = None, fmt: str = "{:.3g}", *,
                   difference: bool = False) -> tuple[str, str]:
    """:func:`estimate` in two cells, the mean and ``"± half"`` (empty without one),
    for tables with a column of their own for the interval.

    >>> estimate_parts(0.9134, 0.0021, "{:.1%}")
    ('91.34%', '± 0.21%')
    """
    if mean is None or not math.isfinite(float(mean)):
        return "–", ""
    share = is_share(fmt)
    scale = 100.0 if share else 1.0
    unit = (" pp" if difference else "%") if share else ""
    sign = "+" if difference else ""
    if half is None or not math.isfinite(float(half)) or half <= 0.0:
        if share:
            return f"{float(mean) * scale:{sign}.1f}{unit}", ""
        return (fmt.replace("{:", "{:+") if difference else fmt).format(mean), ""
    h = float(half) * scale
    place = 1 - math.floor(math.log10(h))  # the second significant digit of h
    h_shown = round(h, place)  # 0.0603 -> 0.060, 266 -> 270
    decimals = max(0, place)
    comma = "," if "," in fmt else ""
    m = f"{float(mean) * scale:{sign}{comma}.{decimals}f}"
    if share and not difference:
        m += "%"
    return m, f"± {h_shown:{comma}.{decimals}f}{unit}"
