"""Case arrivals: non-homogeneous Poisson processes per cell × category × channel.

The intensity of channel ``c`` in cell ``i`` for category ``k`` at local hour ``h`` of
day ``d`` is separable::

    λ_c(i, k, d, h) = V · s_c · (w_i m_c,i / Σ_j w_j) · mix_c(k) · dow_c(d) · hod_c(d, h)
                      · surge(t)

with ``V`` = ``demand.cases_per_day``, ``s_c`` the channel share, ``w`` the cell weights,
``m_c,i`` the channel's multiplier per cell (IoT: covered 0/1 over the reference coverage;
patrol: inspectors per grid relative to nominal; hotline: reporting propensity of the
sub-district; other: 1), so that at the reference settings the expected total is ``V``,
``mix_c`` the catalogue's category mix of the channel, and day-of-week and hour-of-day
profiles normalised to mean 1 (patrol arrivals follow the inspectors' on-duty hours).

Because the intensity is piecewise constant per hour, each day is generated exactly and
vectorised: a Poisson count per channel × hour, uniform times within the hour, then cells
and categories drawn independently from their distributions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from urbangrid.calendar import DAY, WorkCalendar
from urbangrid.catalogue import CHANNELS, Catalogue

from .scenario import Scenario
from .space import Space

__all__ = ["DayArrivals", "DemandModel", "iot_coverage", "placement_rng"]


@dataclass(frozen=True)
class DayArrivals:
    """One day's arrivals, sorted by time."""

    t: np.ndarray  # float64 simulation seconds (report time)
    cell: np.ndarray  # int32
    category: np.ndarray  # int16
    channel: np.ndarray  # int8, index into CHANNELS
    #: With a trace (``demand.trace``): each arrival's position in :class:`.trace.Trace`.
    ref: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True)
class _Surge:
    """A surge resolved against the district: its window in seconds, the channel indices
    it scales and, when limited to sub-districts, the mask of their cells."""

    start: float
    end: float
    factor: float
    channels: list[int]
    cells: np.ndarray | None

    @classmethod
    def of(cls, cfg, space: Space) -> _Surge:
        chans = list(range(len(CHANNELS))) if cfg.channels is None else sorted(
            CHANNELS.index(c) for c in cfg.channels)
        cells = None
        if cfg.subdistricts is not None:
            subs = [space.subdistrict_index(ref, "demand.surges subdistricts")
                    for ref in cfg.subdistricts]
            cells = np.isin(space.subdistrict, subs)
        return cls(cfg.start_day * DAY, (cfg.start_day + cfg.days) * DAY, cfg.factor,
                   chans, cells)

    def active(self, t: np.ndarray) -> np.ndarray:
        return (t >= self.start) & (t < self.end)


#: Entropy word mixed with ``run.seed`` for the IoT placement's generator, so that it is
#: independent of every replication's streams (simulation/run.py ``streams_for``).
_PLACEMENT_KEY = 0x107C0DE


def placement_rng(scenario: Scenario) -> np.random.Generator:
    """The generator that places the scenario's fixed infrastructure (IoT coverage).

    It depends on ``run.seed`` alone, not on the replication nor on a ``seed=`` given to
    :func:`~urbangrid.simulation.simulate`: cameras are part of the district the scenario
    describes, so every replication (and both sides of a comparison with the same
    ``run.seed``) has them in the same cells; only arrivals and fates vary.
    """
    return np.random.default_rng(np.random.SeedSequence([scenario.run.seed, _PLACEMENT_KEY]))


def iot_coverage(weight: np.ndarray, area: np.ndarray | None, coverage: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Covered cells: the ``round(coverage × n)`` cells of highest demand density.

    The density is ``weight / area`` (cases per km² when the weight is area-based), so a
    district whose demand follows area has every cell tied and the cameras are spread at
    random over it; under employment or population weights the dense cells come first.
    Ties, equal to 12 significant digits, are broken by one random permutation from
    ``rng`` (:func:`placement_rng`), not by cell index: index order is a spatial sweep, and
    breaking ties by it put the cameras of an area-weighted district in a diagonal band.
    One permutation serves every coverage, so a larger coverage keeps the cells of a
    smaller one (what-ifs on coverage add cameras, they do not move them).
    """
    w = np.asarray(weight, dtype=float)
    n = w.shape[0]
    density = w.copy()
    if area is not None:
        a = np.asarray(area, dtype=float)
        ok = a > 0
        density[ok] = w[ok] / a[ok]
    top = density.max() if n else 0.0
    key = np.round(density / top, 12) if top > 0 else np.zeros(n)
    order = np.lexsort((rng.permutation(n), -key))
    covered = np.zeros(n, dtype=bool)
    covered[order[:int(round(coverage * n))]] = True
    return covered


def _norm_mean1(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    m = x.mean()
    return x / m if m > 0 else np.zeros_like(x)


class DemandModel:
    """Generates arrivals day by day from a scenario.

    Parameters
    ----------
    scenario, space, catalogue, calendar
        The run's inputs.
    patrol_windows
        :class:`~urbangrid.calendar.ShiftWindows` of the inspectors, the hour
        profile of patrol arrivals.
    """

    def __init__(self, scenario: Scenario, space: Space, catalogue: Catalogue,
                 calendar: WorkCalendar, patrol_windows) -> None:
        self.calendar = calendar
        dem = scenario.demand
        ch = scenario.channels
        n = space.n_cells
        w = space.weights.get(scenario.district.weight)
        if w is None:
            from urbangrid.errors import InputError

            raise InputError(
                f"district.weight = {scenario.district.weight!r} is not a cell weight of this "
                f"district (available: {', '.join(space.weights)})")
        w = np.clip(np.asarray(w, dtype=float), 0.0, None)
        if w.sum() <= 0:
            w = np.ones(n)
        self.weight = w
        self.iot_covered = iot_coverage(w, space.weights.get("w_area"), ch.iot.coverage,
                                        placement_rng(scenario))
        patrol_mult = np.full(n, scenario.inspectors.per_grid
                              / scenario.inspectors.nominal_per_grid)
        prop = np.ones(space.n_subdistricts)
        for ref, v in ch.hotline.propensity.items():
            prop[space.subdistrict_index(ref, "channels.hotline.propensity key")] = v
        mult = {
            "iot": self.iot_covered.astype(float) / ch.iot.reference_coverage,
            "patrol": patrol_mult,
            "hotline": prop[space.subdistrict],
            "other": np.ones(n),
        }
        shares = {"iot": ch.iot.share, "patrol": ch.patrol.share,
                  "hotline": ch.hotline.share, "other": ch.other.share}
        mix = catalogue.channel_mix(dem.event_share)
        self.cell_cdf: list[np.ndarray] = []
        self.cat_cdf: list[np.ndarray] = []
        self.volume = np.zeros(len(CHANNELS))
        for c, name in enumerate(CHANNELS):
            wm = w * mult[name]
            tot = wm.sum()
            self.volume[c] = dem.cases_per_day * shares[name] * tot / w.sum()
            if mix[c].sum() <= 0:
                self.volume[c] = 0.0
            cdf = np.cumsum(wm / tot) if tot > 0 else np.linspace(0, 1, n + 1)[1:]
            cdf[-1] = 1.0
            self.cell_cdf.append(cdf)
            cc = np.cumsum(mix[c]) if mix[c].sum() > 0 else np.linspace(0, 1, catalogue.n + 1)[1:]
            cc[-1] = 1.0
            self.cat_cdf.append(cc)
        self.dow = {name: _norm_mean1(dem.day_of_week) for name in ("iot", "other")}
        self.dow["hotline"] = _norm_mean1(ch.hotline.day_of_week)
        self.hod = {name: _norm_mean1(dem.hour_of_day) for name in ("iot", "other")}
        self.hod["hotline"] = _norm_mean1(ch.hotline.hour_of_day)
        self.patrol_windows = patrol_windows
        hod = ch.patrol.hour_of_day
        self.patrol_hod = None if hod is None else np.asarray(hod, dtype=float)
        # district-wide surges scale the hourly rates; a surge limited to sub-districts
        # adds (or thins) arrivals there only, after the ordinary draws (_local_surges)
        self.surges = [_Surge.of(s, space) for s in dem.surges]
        self._has_local = any(s.cells is not None for s in self.surges)
        # A recorded log replaces the streams (simulation/trace.py).
        self.trace = None
        if dem.trace:
            from .trace import day_slices, read_trace

            run = scenario.run
            t_stop = (run.warmup_days + run.days + run.drain_days) * DAY
            self.trace = read_trace(dem.trace, space=space, catalogue=catalogue,
                                    start=run.start_datetime, t_stop=t_stop)
            self._trace_days = day_slices(self.trace, calendar.day_offset,
                                          int(np.ceil(t_stop / DAY)) + 2)
            self._trace_span_days = t_stop / DAY
            self._space = space

    def expected_by_subdistrict(self, space: Space, categories: np.ndarray,
                                channels: tuple[int, ...] | None = None) -> np.ndarray:
        """Expected cases per ordinary day in each sub-district among ``categories`` (a
        boolean mask over the catalogue), from ``channels`` (indices into ``CHANNELS``,
        default all) together (before profiles)."""
        n_sub = space.n_subdistricts
        out = np.zeros(n_sub)
        if self.trace is not None:
            tr = self.trace
            use = categories[tr.category]
            if channels is not None:
                use &= np.isin(tr.channel, channels)
            return np.bincount(space.subdistrict[tr.cell[use]], minlength=n_sub).astype(
                float) / self._trace_span_days
        for c in range(len(CHANNELS)) if channels is None else channels:
            if self.volume[c] <= 0:
                continue
            p_cell = np.diff(self.cell_cdf[c], prepend=0.0)
            p_cat = np.diff(self.cat_cdf[c], prepend=0.0)
            out += self.volume[c] * float(p_cat[categories].sum()) * np.bincount(
                space.subdistrict, weights=p_cell, minlength=n_sub)
        return out

    def expected_per_day(self) -> dict[str, float]:
        """Expected arrivals per ordinary day by channel (before profiles and surges); with
        a trace, its simulated rows per day of the run."""
        if self.trace is not None:
            counts = np.bincount(self.trace.channel, minlength=len(CHANNELS))
            return {name: float(counts[c]) / self._trace_span_days
                    for c, name in enumerate(CHANNELS)}
        return {name: float(self.volume[c]) for c, name in enumerate(CHANNELS)}

    def forecast(self, t0: float, t1: float, group: np.ndarray, n_groups: int,
                 cells: np.ndarray | None = None) -> np.ndarray:
        """Expected arrivals in ``[t0, t1)`` per cell × group, shape ``(n_cells, n_groups)``
        (only the rows of ``cells``, cell indices, when given).

        ``group[k]`` is the group of category ``k`` (a skill index, say; ``-1`` leaves the
        category out). The forecast is the model's own intensity (hour and day profiles,
        district-wide and local surges: what a forecaster who knew the demand model
        would say), not the realised arrivals, so a look-ahead policy reads the same
        numbers under every random seed. A traced run (``demand.trace``) has no
        intensity: its forecast is the trace's mean rate per cell and group over the
        run, times the window's length.
        """
        group = np.asarray(group, dtype=np.int64)
        rows = (np.arange(self.cell_cdf[0].shape[0]) if cells is None
                else np.asarray(cells, dtype=np.int64))
        out = np.zeros((rows.size, n_groups))
        use = group >= 0
        if t1 <= t0:
            return out
        if self.trace is not None:
            tr = self.trace
            g = group[tr.category]
            keep = g >= 0
            full = np.zeros((self.cell_cdf[0].shape[0], n_groups))
            np.add.at(full, (tr.cell[keep], g[keep]), 1.0)
            return full[rows] * ((t1 - t0) / (self._trace_span_days * DAY))
        # expected count per channel and hour overlapping the window, local surges kept
        # per cell (their extra arrivals follow the channel's cell weights inside)
        # each channel's category mix folded into the groups, the same on every day
        p_group = [np.bincount(group[use], weights=np.diff(cdf, prepend=0.0)[use],
                               minlength=n_groups) for cdf in self.cat_cdf]
        cal = self.calendar
        for day in range(int(cal.day_index(t0)), int(cal.day_index(t1 - 1e-9)) + 1):
            d0 = cal.day_start(day)
            starts = d0 + 3600.0 * np.arange(24)
            overlap = np.clip(np.minimum(starts + 3600.0, t1) - np.maximum(starts, t0),
                              0.0, 3600.0) / 3600.0
            if not overlap.any():
                continue
            rates = self._hour_rates(day) * overlap[None, :]
            mid = starts + 1800.0
            for c in range(len(CHANNELS)):
                total = float(rates[c].sum())
                if total <= 0.0:
                    continue
                p_cell = np.diff(self.cell_cdf[c], prepend=0.0)[rows] * total
                for sg in self.surges:
                    if sg.cells is None or c not in sg.channels:
                        continue
                    active = float((rates[c] * sg.active(mid)).sum()) / total
                    p_cell = np.where(sg.cells[rows],
                                      p_cell * (1.0 + (sg.factor - 1.0) * active), p_cell)
                out += np.outer(p_cell, p_group[c])
        return out

    def _hour_rates(self, day: int) -> np.ndarray:
        """Expected arrivals per channel × hour of calendar day ``day``, shape (4, 24)."""
        cal = self.calendar
        d0 = cal.day_start(day)
        dow = cal.dates[day].weekday() if 0 <= day < cal.n_days else day % 7
        rates = np.zeros((len(CHANNELS), 24))
        for c, name in enumerate(CHANNELS):
            v = self.volume[c]
            if v <= 0:
                continue
            if name == "patrol":
                starts = d0 + 3600.0 * np.arange(24)
                duty = np.array([self.patrol_windows.on_duty_seconds(s, s + 3600.0)
                                 for s in starts]) / 3600.0
                # Patrol finds the day's cases during the inspectors' on-duty hours, shaped
                # by its hour profile when it has one (evenly where the profile gives no
                # duty hour of the day any weight).
                if self.patrol_hod is not None and (duty * self.patrol_hod).sum() > 0:
                    duty = duty * self.patrol_hod
                rates[c] = v * duty / duty.sum() if duty.sum() > 0 else 0.0
            else:
                rates[c] = v / 24.0 * self.dow[name][dow] * self.hod[name]
        hour_t = d0 + 3600.0 * (np.arange(24) + 0.5)
        for s in self.surges:
            if s.cells is None:
                rates[s.channels] *= np.where(s.active(hour_t), s.factor, 1.0)[None, :]
        return rates

    def _local_surges(self, day: int, c: int, g: np.random.Generator, rates: np.ndarray,
                      t: np.ndarray, cell: np.ndarray, cat: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Channel ``c``'s arrivals ``(t, cell, category)`` of day ``day`` under the surges limited
        to sub-districts: where ``factor > 1`` a Poisson number of extra arrivals at rate
        ``(factor − 1) × rate × (the channel's share of demand in those cells)``, placed
        by the channel's cell weights within them; where ``factor < 1`` each arrival
        there is kept with probability ``factor``. Its draws come from a stream jumped
        ahead of the channel's generator, which it leaves untouched: every arrival the
        surge does not touch is the same as without it, on this day and the next
        (common random numbers between a what-if and its baseline)."""
        g = np.random.Generator(g.bit_generator.jumped())
        d0 = self.calendar.day_start(day)
        hour_t = d0 + 3600.0 * (np.arange(24) + 0.5)
        p_cell = np.diff(self.cell_cdf[c], prepend=0.0)
        for s in self.surges:
            if s.cells is None or c not in s.channels or not s.active(hour_t).any():
                continue
            inside = s.cells[np.minimum(cell, s.cells.size - 1)] & s.active(t)
            if s.factor < 1.0:
                keep = ~inside | (g.random(t.size) < s.factor)
                t, cell, cat = t[keep], cell[keep], cat[keep]
            elif s.factor > 1.0:
                p_in = np.where(s.cells, p_cell, 0.0)
                share = float(p_in.sum())
                if share <= 0.0:
                    continue
                lam = (s.factor - 1.0) * rates[c] * share * s.active(hour_t)
                counts = g.poisson(lam)
                n = int(counts.sum())
                hours = np.repeat(np.arange(24), counts)
                t_new = d0 + 3600.0 * (hours + g.random(n))
                cdf = np.cumsum(p_in) / share
                c_new = np.minimum(np.searchsorted(cdf, g.random(n), side="right"),
                                   cdf.size - 1).astype(cell.dtype)
                k_new = np.searchsorted(self.cat_cdf[c], g.random(n),
                                        side="right").astype(cat.dtype)
                t, cell = np.concatenate([t, t_new]), np.concatenate([cell, c_new])
                cat = np.concatenate([cat, k_new])
        return t, cell, cat

    def generate(self, day: int,
                 rng: np.random.Generator | Sequence[np.random.Generator]) -> DayArrivals:
        """Arrivals of calendar day ``day`` (may include times before 0; the caller clips).

        ``rng`` is one generator per channel (in :data:`CHANNELS` order) or a single one
        used for every channel in turn. Each channel's arrivals are drawn from its own
        generator only, so with per-channel streams a change to one channel (IoT coverage,
        inspector staffing) leaves the other channels' arrivals identical — common random
        numbers across what-ifs.
        """
        if self.trace is not None:
            return self._traced(day)
        rngs = [rng] * len(CHANNELS) if isinstance(rng, np.random.Generator) else list(rng)
        if len(rngs) != len(CHANNELS):
            raise ValueError(f"give one generator per channel ({len(CHANNELS)})")
        rates = self._hour_rates(day)
        d0 = self.calendar.day_start(day)
        t_parts, cell_parts, cat_parts, ch_parts = [], [], [], []
        for c, g in enumerate(rngs):
            counts = g.poisson(rates[c])  # (24,)
            n = int(counts.sum())
            hours = np.repeat(np.arange(24), counts)
            t_c = d0 + 3600.0 * (hours + g.random(n))
            cell_c = np.searchsorted(self.cell_cdf[c], g.random(n), side="right")
            cat_c = np.searchsorted(self.cat_cdf[c], g.random(n), side="right")
            if self._has_local:
                t_c, cell_c, cat_c = self._local_surges(day, c, g, rates, t_c, cell_c, cat_c)
            t_parts.append(t_c)
            cell_parts.append(cell_c)
            cat_parts.append(cat_c)
            ch_parts.append(np.full(t_c.size, c, dtype=np.int8))
        t = np.concatenate(t_parts)
        cell = np.concatenate(cell_parts).astype(np.int32)
        cat = np.concatenate(cat_parts).astype(np.int16)
        ch = np.concatenate(ch_parts)
        np.minimum(cell, len(self.cell_cdf[0]) - 1, out=cell)
        order = np.argsort(t, kind="stable")
        return DayArrivals(t=t[order], cell=cell[order], category=cat[order],
                           channel=ch[order])

    def _traced(self, day: int) -> DayArrivals:
        """Calendar day ``day``'s rows of the trace (already in time order)."""
        b = self._trace_days
        if day < 0 or day + 1 >= b.shape[0]:
            lo = hi = 0
        else:
            lo, hi = int(b[day]), int(b[day + 1])
        tr = self.trace
        return DayArrivals(t=tr.t[lo:hi], cell=tr.cell[lo:hi], category=tr.category[lo:hi],
                           channel=tr.channel[lo:hi], ref=np.arange(lo, hi, dtype=np.int64))
