"""The scenario: one typed, validated record describing a simulation run.

Loaded from TOML (:meth:`Scenario.from_toml`), overridden from the command line with
``--set key.path=value`` (:func:`parse_overrides`) and varied in Python with
:meth:`Scenario.replace`. Every field has a documented default, so an empty file is a
valid scenario: the built-in Jing'an district under the integrated 24/7 process with
nearest-team dispatch. Unknown keys, wrong types and out-of-range values fail at load
time with an :class:`~urbangrid.errors.InputError` naming the TOML path and the
allowed range.

Defaults that are assumptions rather than published figures are marked "assumption" in
the field descriptions.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from urbangrid.errors import InputError

__all__ = [
    "CalendarConfig",
    "ChannelsConfig",
    "CrewConfig",
    "DemandConfig",
    "DispatchConfig",
    "DistrictConfig",
    "InspectorConfig",
    "IotFastLane",
    "OrderStaffConfig",
    "OrderTypeConfig",
    "OrdersConfig",
    "OutputConfig",
    "RunConfig",
    "Scenario",
    "ShiftConfig",
    "SurgeConfig",
    "TravelConfig",
    "WorkflowConfig",
    "WorkstationConfig",
    "load_scenario",
    "parse_overrides",
    "read_scenario_toml",
    "scenario_diff",
]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _hhmm_seconds(value: str) -> float:
    m = _HHMM.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 – 23:59)")
    return int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0


def _check_hhmm(value: str) -> str:
    _hhmm_seconds(value)
    return value


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class RunConfig(_Model):
    """Horizon, seeds and replications."""

    start: str = Field("2025-03-03T00:00", description="local start, Asia/Shanghai (ISO 8601)")
    days: float = Field(14.0, gt=0.0, le=3660.0, description="simulated days after warm-up")
    warmup_days: float = Field(
        2.0, ge=0.0, le=365.0,
        description="days simulated before statistics start; cases registered in the "
        "warm-up are simulated but excluded from the KPIs (warm-up discarded)",
    )
    drain_days: float = Field(
        0.0, ge=0.0, le=3660.0,
        description="days simulated after the horizon (arrivals continue) so that the "
        "window's cases can close: case KPIs follow the cases reported in the window until "
        "they close or the drain ends (a cohort); backlog and utilisation stay window-only")
    seed: int = Field(20250303, ge=0, le=2**63 - 1)
    replications: int = Field(1, ge=1, le=10000)
    processes: int = Field(0, ge=0, le=256, description="worker processes, 0 = one per core")

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> str:
        # A TOML date (2025-03-03) or local date-time (2025-03-03T08:00) is as valid a
        # way to write the start as a string: TOML, and so --set, hands them over as
        # date objects. A date means its midnight.
        if isinstance(v, dt.datetime):
            v = v.isoformat(timespec="minutes")
        elif isinstance(v, dt.date):
            v = f"{v.isoformat()}T00:00"
        elif not isinstance(v, str):
            raise ValueError(f"{v!r} is not a date-time like 2025-03-03T00:00")
        try:
            t = dt.datetime.fromisoformat(v)
        except ValueError:
            raise ValueError(
                f"{v!r} is not an ISO 8601 date-time like 2025-03-03T00:00") from None
        if t.tzinfo is not None:
            raise ValueError("give the local (Asia/Shanghai) time without a UTC offset")
        return v

    @property
    def start_datetime(self) -> dt.datetime:
        """Start as a naive local datetime."""
        return dt.datetime.fromisoformat(self.start)


class DistrictConfig(_Model):
    """Where: the built-in Jing'an district, a district from files, or a toy lattice."""

    source: Literal["jingan", "files", "toy"] = "jingan"
    resolution: int = Field(10, ge=7, le=11, description="H3 resolution")
    network: str | None = Field(None, description="road network GraphML; none = surrogate")
    boundary: str | None = Field(None, description="boundary file (source = files)")
    code_column: str = "code"
    name_column: str = "name"
    source_crs: str = "EPSG:4326"
    weights_file: str | None = None
    n_grids: int | None = Field(110, ge=1, le=100000, description="responsibility grids")
    weight: str = Field("w_area", description="cell weight column used for demand")
    walk_kmh: float = Field(4.5, gt=0.0, le=200.0, description="assumption")
    ebike_kmh: float = Field(15.0, gt=0.0, le=200.0, description="assumption")
    car_kmh: float = Field(20.0, gt=0.0, le=200.0, description="assumption")
    detour_factor: float = Field(1.31, ge=1.0, le=5.0)
    toy_rows: int = Field(6, ge=1, le=200, description="toy lattice rows")
    toy_cols: int = Field(6, ge=1, le=200, description="toy lattice columns")
    toy_cell_m: float = Field(100.0, gt=0.0, le=10000.0, description="toy cell spacing")
    toy_subdistricts: int = Field(2, ge=1, le=100)

    @model_validator(mode="after")
    def _settings_of_another_source(self) -> DistrictConfig:
        # A boundary without source = "files" used to run Jing'an silently: settings that
        # only another source reads are a mistake, not something to ignore.
        only = {"files": ("boundary", "weights_file", "code_column", "name_column",
                          "source_crs"),
                "toy": ("toy_rows", "toy_cols", "toy_cell_m", "toy_subdistricts")}
        for source, names in only.items():
            if self.source == source:
                continue
            given = [n for n in names
                     if getattr(self, n) != type(self).model_fields[n].default]
            if given:
                raise ValueError(
                    f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} read only "
                    f"with source = {source!r}, but source = {self.source!r}: set "
                    f"source = {source!r} or remove {'it' if len(given) == 1 else 'them'}")
        return self


class CalendarConfig(_Model):
    """Working days and hours (legacy process, office shifts, working-time KPIs)."""

    rule: Literal["chinese", "weekdays"] = "chinese"
    work_start: str = "09:00"
    work_end: str = "17:00"

    _v_start = field_validator("work_start", "work_end")(_check_hhmm)

    @model_validator(mode="after")
    def _order(self) -> CalendarConfig:
        if _hhmm_seconds(self.work_end) <= _hhmm_seconds(self.work_start):
            raise ValueError("work_end must be after work_start")
        return self


class SurgeConfig(_Model):
    """A change of demand for a while (a typhoon, a campaign, a hotline outage): the
    chosen channels' arrivals in the chosen sub-districts scaled by ``factor`` from
    ``start_day`` for ``days``; travel times district-wide by ``travel_factor``."""

    start_day: float = Field(..., ge=0.0, le=3660.0, description="days after the start")
    days: float = Field(..., gt=0.0, le=3660.0)
    factor: float = Field(3.0, ge=0.0, le=100.0, description="demand multiplier")
    travel_factor: float = Field(1.0, ge=0.1, le=20.0, description="travel-time multiplier")
    channels: list[Literal["iot", "patrol", "hotline", "other"]] | None = Field(
        None, min_length=1, description="channels it scales (none: all)")
    subdistricts: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1,
        description="sub-districts (code, name or English label) it scales (none: all)")

    @model_validator(mode="after")
    def _travel_is_district_wide(self) -> SurgeConfig:
        if self.subdistricts is not None and self.travel_factor != 1.0:
            raise ValueError("travel_factor applies to the whole district: a surge limited "
                             "to subdistricts cannot set it (give it a surge of its own)")
        return self


class TravelConfig(_Model):
    """Trip-to-trip variation of travel times (traffic, lights, parking, finding the
    spot). Each trip a crew sets out on takes its planned time (the mode's travel matrix
    times the surges in force) times a factor drawn for that trip, lognormal with mean 1
    and coefficient of variation ``cv``; the dispatcher plans with the planned time, the
    expected one. ``cv = 0`` (the default) keeps travel deterministic."""

    distribution: Literal["lognormal"] = Field(
        "lognormal", description="distribution of the per-trip factor (mean 1)")
    cv: float = Field(0.0, ge=0.0, le=3.0,
                      description="coefficient of variation of the per-trip factor "
                      "(0: deterministic travel), assumption")


def _default_hours() -> list[float]:
    # Hour-of-day profile of occurrences (assumption): low at night, broad day peak.
    return [0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.8, 1.2, 1.5, 1.6, 1.6, 1.5,
            1.3, 1.4, 1.5, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.8, 0.6, 0.4]


class DemandConfig(_Model):
    """Arrivals: non-homogeneous Poisson per cell × category × channel."""

    cases_per_day: float = Field(
        6500.0, ge=0.0, le=1e6,
        description="expected cases per ordinary day when every channel is at its reference "
        "(IoT coverage = reference_coverage, inspectors = nominal_per_grid, propensity 1); "
        "Jing'an Data Bureau interview: 5,000 - 8,000 a day",
    )
    event_share: float | None = Field(0.85, ge=0.0, le=1.0, description="None = file shares")
    day_of_week: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default_factory=lambda: [1.0] * 7, min_length=7, max_length=7,
        description="Mon..Sun multipliers for IoT, patrol and other (normalised to mean 1)",
    )
    hour_of_day: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default_factory=_default_hours, min_length=24, max_length=24,
        description="hour profile of IoT and other arrivals (normalised), assumption",
    )
    surges: list[SurgeConfig] = Field(default_factory=list)
    trace: str | None = Field(
        None, description="a recorded log (CSV or Parquet, Open311 Bulk columns) whose "
        "rows are the run's arrivals instead of the Poisson streams (simulation/trace.py); "
        "relative to the scenario file")


def _hotline_hours() -> list[float]:
    # 84 % of requests 08-18 h in real 311 logs, peak 09-12 h.
    return [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.8, 2.6, 2.6, 2.3,
            1.6, 2.0, 2.0, 1.9, 1.7, 1.4, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2]


class IotFastLane(_Model):
    """The platform's closed loop for auto-detected cases (一网统管): machine filing, a
    push to the crew's app, and re-checking by the detecting camera or sensor.

    Off by default (auto-detected cases then follow the same stages as every other case).
    Every figure is an assumption (MODEL.md "IoT fast lane"); ``filing_shift`` is the
    operating choice behind the published same-day figure (CALIBRATION.md).
    """

    enabled: bool = False
    register_mean_min: float = Field(
        1.0, ge=0.0, le=1440.0, description="mean machine filing delay (replaces "
        "workflow.register_mean_min_*), assumption")
    sign_mean_min: float = Field(
        2.0, ge=0.0, le=1440.0, description="mean delay for the crew to sign the pushed "
        "order (replaces workflow.sign_mean_min), assumption")
    verify_delay_min: float = Field(
        5.0, ge=0.0, le=1440.0, description="mean delay for the detecting camera/sensor "
        "to confirm the fix (replaces the inspector's on-shift re-check), assumption")
    due_same_day: bool = Field(
        True, description="dispatch treats each auto-detected case as due by the end of "
        "the calendar day it is filed, or by its category limit if earlier (the "
        "platform's same-day rule); the on-time KPI keeps the category limit")
    filing_shift: str | None = Field(
        None, description="a shift name: non-urgent detections outside its on-duty "
        "windows are held and filed when it next starts (urgent ones are filed at once); "
        "None = filed round the clock")


class IotChannel(_Model):
    """IoT / video auto-detection: fast and 24 h, only in covered cells."""

    share: Fraction = Field(0.40, description="share of demand at the reference coverage, "
                            "assumption")
    coverage: Fraction = Field(
        0.5, description="fraction of cells covered: the densest first (demand weight "
        "per km²); ties, e.g. every cell under area weights, placed at random from run.seed"
    )
    reference_coverage: float = Field(
        0.5, gt=0.0, le=1.0,
        description="coverage at which `share` applies; IoT volume scales with "
        "coverage / reference_coverage")
    detection_delay_min: float = Field(3.0, ge=0.0, le=1440.0)
    false_positive_rate: Fraction = 0.03
    prep_factor: float = Field(
        1.0, ge=0.0, le=1000.0,
        description="multiplies the preparation time of this channel's cases (with "
        "workflow.prep_factor)")
    fast_lane: IotFastLane = Field(default_factory=IotFastLane)


class PatrolChannel(_Model):
    """Proactive inspector patrols over responsibility grids (in inspector shifts)."""

    share: Fraction = Field(0.35, description="share at nominal staffing, assumption")
    onspot_fix_prob: Fraction = Field(0.13, description="inspectors fix ~13 % on the spot")
    detection_delay_hours: float = Field(2.0, ge=0.0, le=240.0,
                                         description="mean occurrence-to-patrol-pass delay")
    hour_of_day: Annotated[list[Annotated[float, Field(ge=0.0, le=100.0)]],
                           Field(min_length=24, max_length=24)] | None = Field(
        None, description="relative patrol reports per hour of day within the inspectors' "
        "on-duty hours (24 values; none: evenly over those hours)")
    prep_factor: float = Field(
        1.0, ge=0.0, le=1000.0,
        description="multiplies the preparation time of this channel's cases (with "
        "workflow.prep_factor)")


class HotlineChannel(_Model):
    """Citizen hotline 12345 / app: passive, weekday daytime. Every hotline case is a work
    order handled as ``orders`` describes."""

    share: Fraction = Field(0.22, description="assumption")
    propensity: dict[str, Annotated[float, Field(ge=0.0, le=10.0)]] = Field(
        default_factory=dict,
        description="reporting multiplier per sub-district code (default 1; 0.33-1)",
    )
    day_of_week: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default_factory=lambda: [1.2, 1.2, 1.2, 1.2, 1.1, 0.55, 0.55], min_length=7,
        max_length=7,
    )
    hour_of_day: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default_factory=_hotline_hours, min_length=24, max_length=24)
    prep_factor: float = Field(
        1.0, ge=0.0, le=1000.0,
        description="multiplies the preparation time of this channel's cases (with "
        "workflow.prep_factor) when orders.enabled is false")


class OtherChannel(_Model):
    """Orders from above and other sources: rare, high priority."""

    share: Fraction = 0.03
    priority_boost: int = Field(1, ge=0, le=3)
    prep_factor: float = Field(
        1.0, ge=0.0, le=1000.0,
        description="multiplies the preparation time of this channel's cases (with "
        "workflow.prep_factor)")


class ChannelsConfig(_Model):
    """The four discovery channels."""

    iot: IotChannel = Field(default_factory=IotChannel)
    patrol: PatrolChannel = Field(default_factory=PatrolChannel)
    hotline: HotlineChannel = Field(default_factory=HotlineChannel)
    other: OtherChannel = Field(default_factory=OtherChannel)


class CatalogueConfig(_Model):
    """Case categories: the built-in file or another, with per-category overrides."""

    file: str | None = None
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ShiftConfig(_Model):
    """A daily on-duty window; ``hours = 24`` on ``days = "all"`` is round the clock."""

    days: Literal["all", "working"] = "all"
    start: str = "00:00"
    hours: float = Field(24.0, gt=0.0, le=24.0)

    _v = field_validator("start")(_check_hhmm)

    @property
    def start_seconds(self) -> float:
        return _hhmm_seconds(self.start)


def _default_shifts() -> dict[str, ShiftConfig]:
    return {
        "always": ShiftConfig(days="all", start="00:00", hours=24),
        "day": ShiftConfig(days="all", start="07:00", hours=14),
        "night": ShiftConfig(days="all", start="21:00", hours=10),
        "office": ShiftConfig(days="working", start="09:00", hours=8),
        "inspector": ShiftConfig(days="all", start="07:00", hours=12),
    }


class InspectorConfig(_Model):
    """Grid inspectors (网格监督员): patrol, fix on the spot, verify."""

    per_grid: float = Field(2.7, ge=0.0, le=100.0,
                            description="300 / 110 (Changning: 314 / 111)")
    nominal_per_grid: float = Field(
        2.7, gt=0.0, le=100.0, description="staffing at which patrol share applies")
    shift: str = "inspector"
    verify_delay_min: float = Field(30.0, ge=0.0, le=10000.0,
                                    description="mean re-check delay (limit 60 min)")


class CrewConfig(_Model):
    """A kind of department crew."""

    name: str
    skills: list[str] = Field(..., min_length=1)
    per_subdistrict: int = Field(0, ge=0, le=10000)
    district_wide: int = Field(0, ge=0, le=100000)
    mode: Literal["walk", "ebike", "car"] = "ebike"
    shift: str = "always"
    capacity: int = Field(3, ge=1, le=1000, description="tasks a crew may hold at once")
    agency: str | None = Field(None, description="agency_responsible (default: name)")
    split: Literal["even", "demand"] = Field(
        "even", description="per_subdistrict crews: the same number in every sub-district "
        "(even) or the same total split in proportion to each sub-district's demand weight, "
        "at least one each (demand)")


class WorkstationConfig(_Model):
    """An extra sub-district workstation: teams of existing crews based at one place.

    Each entry of ``crews`` adds that many teams of the named crew (same skills, mode,
    shift and capacity), bound to the sub-district like its ``per_subdistrict`` teams
    and starting from the workstation's cell (idle teams wait where their last job
    ended, as every team does).
    """

    name: str = Field(..., min_length=1)
    subdistrict: str = Field(..., min_length=1, description="sub-district code or name")
    location: tuple[Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)],
                    Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]] | None = \
        Field(None, description="[lat, lon] WGS-84 of the workstation; default: the "
              "sub-district's cell nearest the centre of its cells")
    crews: dict[str, Annotated[int, Field(ge=1, le=1000)]] = Field(
        ..., min_length=1, description="crew name (from [[crews]]) -> extra teams here")


def _default_crews() -> list[CrewConfig]:
    # Assumption: sized so that crews are about 60 – 70 % busy at 6,500 cases/day with
    # the built-in catalogue (about 530 teams, the scale of the optimizer benchmarks).
    return [
        CrewConfig(name="sanitation", skills=["sanitation"], per_subdistrict=7,
                   mode="ebike", shift="always"),
        CrewConfig(name="city_management", skills=["city_management"], per_subdistrict=12,
                   mode="ebike", shift="day"),
        CrewConfig(name="city_management_night", skills=["city_management"],
                   per_subdistrict=3, mode="ebike", shift="night",
                   agency="city_management"),
        CrewConfig(name="facilities", skills=["facilities"], per_subdistrict=8, mode="car",
                   shift="day"),
        CrewConfig(name="housing", skills=["housing"], per_subdistrict=4, mode="car",
                   shift="day"),
        CrewConfig(name="greenery", skills=["greenery"], per_subdistrict=3, mode="car",
                   shift="day"),
        CrewConfig(name="utilities", skills=["utilities"], district_wide=14, mode="car",
                   shift="always"),
    ]


class WorkflowConfig(_Model):
    """Stage delays, limits and loop probabilities of the case life cycle (stage limits as
    in the Taiyuan and Fuzhou digital city-management rules)."""

    process: Literal["integrated", "legacy"] = Field(
        "integrated",
        description="legacy: registration, forwarding, preparation and callbacks progress "
        "only in working hours; cases are forwarded district → sub-district → unit",
    )
    register_mean_min_urgent: float = Field(3.0, ge=0.0, le=10000.0)
    register_mean_min_normal: float = Field(10.0, ge=0.0, le=10000.0)
    register_limit_min_urgent: float = Field(10.0, gt=0.0, le=100000.0)
    register_limit_min_normal: float = Field(30.0, gt=0.0, le=100000.0)
    forwarding_hours: list[Annotated[float, Field(ge=0.0, le=10000.0)]] = Field(
        default_factory=list, max_length=5,
        description="mean delay of each forwarding hop (legacy: [district→sub-district, "
        "sub-district→unit] in working hours)",
    )
    sign_mean_min: float = Field(15.0, ge=0.0, le=100000.0, description="limit 1 h")
    misroute_prob: Fraction = Field(
        0.02, description="a mature system's 98 % correct dispatch; range 0.02-0.30")
    return_mean_hours: float = Field(2.0, ge=0.0, le=10000.0)
    prep_factor: float = Field(1.0, ge=0.0, le=1000.0,
                               description="multiplies every category's prep_hours")
    feedback_mean_min: float = Field(10.0, ge=0.0, le=10000.0)
    rework_prob: Fraction = Field(0.056,
                                description="failed verification, one published city")
    extension_prob: Fraction = Field(0.6, description="unresolved case extended, else parked")
    extension_mean_hours: float = Field(48.0, ge=0.0, le=100000.0)
    max_extensions: int = Field(2, ge=0, le=100)


class OrderTypeConfig(_Model):
    """A hotline work-order type: share, limit, work content, outcomes."""

    share: Fraction = Field(..., description="share of hotline work orders")
    limit_working_days: float = Field(..., gt=0.0, le=365.0,
                                      description="the published handling limit")
    work_hours: float = Field(
        ..., ge=0.0, le=1000.0,
        description="staff time of the handling unit per attempt (mean, lognormal with "
        "orders.work_cv), before orders.work_scale; assumption")
    field_prob: Fraction = Field(
        0.0, description="probability an attempt needs a crew on site (the case then "
        "goes through the crews' dispatch pool), assumption")
    resolve_prob: Fraction = Field(
        0.8, description="probability an attempt actually resolves the problem, "
        "assumption")
    park_prob: Fraction = Field(
        0.0, description="probability an unresolved attempt is parked (挂账: cannot be "
        "solved within limits) instead of replied to, assumption")
    extension_prob: Fraction = Field(
        0.0, description="probability the unit asks for an extension (延期) of a first "
        "attempt after signing (the order cannot be done within its limit); assumption: "
        "no rate is published")


def _default_order_types() -> dict[str, OrderTypeConfig]:
    # Dispatched work orders, not calls: pure consultations are answered on the line by
    # the municipal centre (about half of all contacts in large hotlines: Beijing 2019-21,
    # 58.5 % consultations) and never reach the district. Shares, work content, outcome
    # and extension probabilities are assumptions (extensions: a few per cent of ordinary
    # orders, a fifth of complex ones; no rate is published); limits are the Jing'an
    # Daning Road sub-district 12345 rules (2019).
    return {
        "consultation": OrderTypeConfig(share=0.15, limit_working_days=1, work_hours=0.25,
                                        field_prob=0.0, resolve_prob=0.9),
        "supervision_callback": OrderTypeConfig(share=0.10, limit_working_days=3,
                                                work_hours=0.5, field_prob=0.3,
                                                resolve_prob=0.8),
        "help_complaint": OrderTypeConfig(share=0.65, limit_working_days=5, work_hours=0.75,
                                          field_prob=0.8, resolve_prob=0.8,
                                          extension_prob=0.05),
        "complex": OrderTypeConfig(share=0.10, limit_working_days=15, work_hours=4.0,
                                   field_prob=0.8, resolve_prob=0.6, park_prob=0.2,
                                   extension_prob=0.2),
    }


class OrderStaffConfig(_Model):
    """Head count of the people who handle work orders (assumptions: no figure is
    published; units handle orders beside other duties).

    A head count works a 40-hour week: an office-hours office has all of them at work in
    working hours; a round-the-clock office has ``head count × 40 / 168`` on duty at any
    time (shifts), so the same people give the same weekly hours under either lever.
    The handling units' head counts are totals split over the units in proportion to
    the work orders each expects (at least one person each), as a district staffs its
    offices by their workload; ``units`` sets single units by name instead
    (``subdistrict:<code>`` or a department code).
    """

    municipal: int = Field(60, ge=1, le=100000,
                           description="municipal 12345 operators taking this district's "
                           "calls (round the clock)")
    hotline_office: int = Field(80, ge=1, le=10000,
                                description="district hotline office / operations centre")
    subdistricts: int = Field(450, ge=1, le=100000,
                              description="all sub-district offices together")
    departments: int = Field(300, ge=1, le=100000,
                             description="all departments and public-service companies "
                             "that handle orders together")
    units: dict[str, Annotated[int, Field(ge=1, le=100000)]] = Field(
        default_factory=dict, description="head count of single units, by name")
    scale: float = Field(1.0, gt=0.0, le=100.0,
                         description="multiplies the head count of every handling unit "
                         "(sub-district offices, departments, companies; what-if)")


class OrdersConfig(_Model):
    """Hotline work orders through the organisations that handle them.

    Every hotline case is a work order: the municipal 12345 centre takes it, dispatching
    offices route it to a handling unit (a sub-district office, a department, a
    public-service company), which signs, contacts the caller, handles it (with a crew
    on site when the attempt needs one), and replies; the district hotline office calls
    the citizen back, and a dissatisfied citizen gets a second attempt. The ``*_min`` and
    ``work_*`` figures are work content (staff time), shared by every scenario; the
    fields marked "lever" are the reform's switches (MODEL.md lists them).
    """

    enabled: bool = Field(
        True, description="hotline cases are work orders through the offices; false: they "
        "follow the crews' path like every other case (e.g. a scenario calibrated on a "
        "log that records no office stages)")
    types: dict[str, OrderTypeConfig] = Field(default_factory=_default_order_types)
    work_scale: float = Field(
        1.0, gt=0.0, le=100.0,
        description="multiplies every order type's work_hours (a what-if of work "
        "content; 1 in every built-in scenario, not fitted: scenarios/CALIBRATION.md says "
        "what is)")
    work_cv: float = Field(0.8, ge=0.0, le=10.0,
                           description="coefficient of variation of handling work")
    intake_min: float = Field(6.0, ge=0.0, le=1000.0,
                              description="operator time to record an order (Beijing)")
    dispatch_min: float = Field(5.0, ge=0.0, le=1000.0,
                                description="staff time of a dispatching office per order "
                                "and hop, assumption")
    sign_min: float = Field(10.0, ge=0.0, le=1000.0,
                            description="unit reads and signs for an order, assumption")
    review_min: float = Field(30.0, ge=0.0, le=10000.0,
                              description="unit reviews a misrouted order before returning "
                              "it (退单), assumption")
    contact_prob: Fraction = Field(0.5, description="the unit must call the caller "
                                   "before handling (clarification), assumption")
    reach_prob: Fraction = Field(0.7, description="a call reaches the caller (else again "
                                 "the next working day), assumption")
    contact_min: float = Field(10.0, ge=0.0, le=1000.0, description="per call, assumption")
    book_min: float = Field(
        10.0, gt=0.0, le=1000.0,
        description="unit books a crew for an attempt that needs one (fixed: the model "
        "synchronises its two engines this far ahead), assumption")
    reply_min: float = Field(
        20.0, gt=0.0, le=1000.0,
        description="unit writes the reply (fixed: no reply is quicker), assumption")
    callback_min: float = Field(5.0, ge=0.0, le=1000.0,
                                description="hotline office calls the citizen back, "
                                "assumption")
    subdistrict_share: Fraction = Field(
        0.6, description="orders handled by the sub-district office where the case is "
        "(属地) rather than the category's department, assumption")
    redo_limit_working_days: float = Field(3.0, gt=0.0, le=365.0,
                                           description="limit of a second attempt (§2)")
    max_redo: int = Field(1, ge=0, le=10, description="second attempts per order")
    max_returns: int = Field(5, ge=0, le=100,
                             description="returns after which the hotline office rules "
                             "who must take the order (审定)")
    satisfaction: tuple[float, float, float, float] = Field(
        (-0.5, 2.8, 0.25, 0.3),
        description="logistic satisfaction at callback: intercept, + if resolved, "
        "- per working day late, - per return or second attempt; assumption")
    staff: OrderStaffConfig = Field(default_factory=OrderStaffConfig)
    stage_limit_working_days: float = Field(
        1.0, gt=0.0, le=30.0,
        description="limit of each office stage (a dispatching hop, signing or returning "
        "an order, the callback): sign within 1 working day (the published rule), the same "
        "assumed for the others")
    start_margin: float = Field(
        -0.445, ge=-5.0, le=1.0,
        description="everyone 'works to the deadline': a stage starts on average when this "
        "share of its limit is left (uniform over [0, 2 (1 - start_margin)] limits after "
        "receipt), negative = that share past the deadline (shared behaviour; calibrated "
        "on the legacy scenario only, scenarios/CALIBRATION.md)")
    extension_working_days: float = Field(
        15.0, ge=0.0, le=365.0,
        description="working days an approved extension (延期) adds to the deadline: the "
        "published 'up to 15 working days with approval'")
    extension_min: float = Field(
        15.0, ge=0.0, le=10000.0,
        description="hotline office staff time to review and approve an extension request, "
        "assumption")
    # -- reform levers -----------------------------------------------------------------
    dispatch_hours: Literal["office", "always"] = Field(
        "always", description="lever: duty of the district hotline office / operations "
        "centre (legacy: office hours; integrated: 24/7)")
    route: Literal["hierarchical", "direct"] = Field(
        "direct", description="lever: hierarchical = municipal -> district hotline office "
        "-> sub-district office -> unit; direct = centre -> unit")
    correct_dispatch_prob: Fraction = Field(
        0.98, description="lever: first dispatch reaches the right unit (published: ~0.7 "
        "manual / automatic, 0.98 mature)")
    supervision: Literal["ranking", "live"] = Field(
        "live", description="lever: ranking = monthly ranking: offices take work first "
        "come first served and start each stage when start_margin of its limit is left; "
        "live = deadline warnings: earliest deadline first, dispatching offices act at "
        "once and units start at the warning (warning_days) if not before")
    warning_days: float = Field(
        1.0, ge=0.0, le=365.0,
        description="under live supervision, the warning ('yellow light') comes this many "
        "working days before a stage's deadline and the unit starts then if not before; "
        "assumption (a common platform rule)")

    @model_validator(mode="after")
    def _shares(self) -> OrdersConfig:
        if not self.types:
            raise ValueError("orders.types: at least one order type")
        total = sum(t.share for t in self.types.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"orders.types shares sum to {total:g}, not 1")
        return self


class DispatchConfig(_Model):
    """The dispatcher: which policy, how often, and on which events."""

    policy: str = "nearest"
    params: dict[str, Any] = Field(default_factory=dict)
    interval_s: float = Field(
        300.0, gt=0.0, le=86400.0,
        description="batch dispatch every interval_s seconds (urgent cases also on arrival, "
        "see on_events)")
    on_events: Literal["none", "urgent", "all"] = Field(
        "urgent", description="extra dispatch rounds when a case enters the pool")
    batch_per_slot: int = Field(1, ge=1, le=1000,
                                description="tasks offered per free slot and pool")
    area_bound: bool = Field(
        False, description="sub-district crews take only tasks in their own sub-district "
        "(pre-reform practice); district-wide crews go anywhere")
    validate_snapshots: bool = Field(
        False, description="validate every DispatchProblem the dispatcher builds (slower; "
        "for debugging a policy or the model)")
    handover: bool = Field(
        False, description="a crew whose shift ends hands its unstarted tasks back to the "
        "pool for the crews on duty (else they wait for its next shift)")
    reoffer: bool = Field(
        False, description="every round with new tasks also re-offers the queued, "
        "unstarted tasks of the crews on duty (task_current): the policy may move one to "
        "another crew (at the cost ScoreWeights.reassignment), postpone it or leave it "
        "out (it goes back to the pool, as a deferral); a started task is never "
        "re-offered")
    shift_lookahead_h: float = Field(0.5, ge=0.0, le=48.0,
                                     description="off-duty teams starting within this count")
    forecast_hours: float = Field(
        0.0, ge=0.0, le=168.0,
        description="look-ahead: snapshots carry the demand model's expected arrivals per "
        "cell and skill over the next forecast_hours (DispatchProblem.forecast) for Python "
        "policies; 0 = none")


class OutputConfig(_Model):
    """Which files a run writes."""

    events: bool = True
    cases: bool = True
    report: bool = Field(True, description="PNG figures and report.html (simulate)")
    backlog_step_min: float = Field(60.0, gt=0.0, le=10080.0)


class Scenario(_Model):
    """A complete simulation scenario; see the module docstring."""

    name: str = "jingan_integrated"
    description: str = ""
    run: RunConfig = Field(default_factory=RunConfig)
    district: DistrictConfig = Field(default_factory=DistrictConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    demand: DemandConfig = Field(default_factory=DemandConfig)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    catalogue: CatalogueConfig = Field(default_factory=CatalogueConfig)
    shifts: dict[str, ShiftConfig] = Field(default_factory=_default_shifts)
    inspectors: InspectorConfig = Field(default_factory=InspectorConfig)
    crews: list[CrewConfig] = Field(default_factory=_default_crews, min_length=1)
    workstations: list[WorkstationConfig] = Field(default_factory=list)
    workflow: WorkflowConfig = Field(default_factory=WorkflowConfig)
    orders: OrdersConfig = Field(default_factory=OrdersConfig)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    travel: TravelConfig = Field(default_factory=TravelConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @field_validator("shifts", mode="before")
    @classmethod
    def _merge_shifts(cls, v: Any) -> Any:
        # Named shifts in a file add to (or replace) the defaults rather than remove them.
        if isinstance(v, dict):
            merged: dict[str, Any] = dict(_default_shifts())
            merged.update(v)
            return merged
        return v

    @model_validator(mode="after")
    def _cross(self) -> Scenario:
        names = set(self.shifts)
        for i, c in enumerate(self.crews):
            if c.shift not in names:
                raise ValueError(
                    f"crews[{i}].shift = {c.shift!r} is not a defined shift "
                    f"({', '.join(sorted(names))})")
            if c.per_subdistrict == 0 and c.district_wide == 0:
                raise ValueError(f"crews[{i}] ({c.name}) has no teams: set per_subdistrict "
                                 "or district_wide")
        if self.inspectors.shift not in names:
            raise ValueError(f"inspectors.shift = {self.inspectors.shift!r} is not a "
                             "defined shift")
        filing = self.channels.iot.fast_lane.filing_shift
        if filing is not None and filing not in names:
            raise ValueError(f"channels.iot.fast_lane.filing_shift = {filing!r} is not a "
                             f"defined shift ({', '.join(sorted(names))})")
        ch = self.channels
        total = ch.iot.share + ch.patrol.share + ch.hotline.share + ch.other.share
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"channels.*.share must sum to 1 (iot {ch.iot.share:g} + patrol "
                f"{ch.patrol.share:g} + hotline {ch.hotline.share:g} + other "
                f"{ch.other.share:g} = {total:g})")
        crew_names = [c.name for c in self.crews]
        if len(set(crew_names)) != len(crew_names):
            raise ValueError("crews: names must be unique")
        for i, w in enumerate(self.workstations):
            unknown = sorted(set(w.crews) - set(crew_names))
            if unknown:
                raise ValueError(f"workstations[{i}] ({w.name}).crews: unknown crew(s) "
                                 f"{unknown} (defined: {', '.join(crew_names)})")
        return self

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> Scenario:
        """Validate a nested dictionary (as read from TOML).

        Raises
        ------
        InputError
            Naming the dotted TOML path, the value and the allowed range.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InputError(_format_error(exc, data), source=source) from None

    @classmethod
    def from_toml(
        cls, path: str | Path, overrides: dict[str, Any] | None = None
    ) -> Scenario:
        """Load a TOML file, apply dotted ``overrides`` and validate.

        Relative file paths inside the scenario (``district.boundary``,
        ``catalogue.file`` …) are resolved against the scenario file's folder.

        A file may start from another with ``extends = "base.toml"`` (relative to its
        own folder): its tables are merged into the base's key by key; lists of named
        tables (``crews``, ``workstations``) merge by ``name`` (an item with ``remove =
        true`` drops the base's item of that name); other arrays (``demand.surges`` …)
        and plain values replace the base's. A what-if is then only the keys it
        changes. ``--set crews.sanitation.shift=day`` names a list item the same way
        (or by position, ``crews.0``).
        """
        path = Path(path)
        data = read_scenario_toml(path, (), _defaults())
        for key, value in (overrides or {}).items():
            _set_path(data, key, value, source=f"--set {key}={value!r} (on {path})")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            # A mistake in a --set key or value is the command line's, not the file's.
            blamed = sorted(k for k in overrides or {}
                            if any(_same_branch(k, e["loc"]) for e in exc.errors()))
            source = (f"--set {', '.join(blamed)} (on {path})" if blamed else str(path))
            raise InputError(_format_error(exc, data), source=source) from None

    def replace(self, overrides: dict[str, Any] | None = None, **fields: Any) -> Scenario:
        """A validated copy with dotted-path ``overrides`` and top-level ``fields`` changed.

        Examples
        --------
        >>> s = Scenario().replace({"demand.cases_per_day": 5000}, name="quiet")
        >>> s.demand.cases_per_day, s.name
        (5000.0, 'quiet')
        """
        data = self.model_dump(mode="python")
        for key, value in {**(overrides or {}), **fields}.items():
            _set_path(data, key, value, source="replace()")
        return Scenario.from_dict(data, source="replace()")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dictionary of every field (defaults included)."""
        return self.model_dump(mode="json")


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys of a nested mapping (lists are values; an empty table has no key)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def scenario_diff(a: Scenario, b: Scenario) -> list[tuple[str, Any, Any]]:
    """``(key, value in a, value in b)`` for every resolved key that differs (a key only
    one has is paired with ``None``), sorted by key."""
    fa, fb = flatten(a.to_dict()), flatten(b.to_dict())
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k)]


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario TOML file; see :meth:`Scenario.from_toml`."""
    return Scenario.from_toml(path, overrides)


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """Parse ``key.path=value`` strings; values are read as TOML, else as plain strings.

    Raises
    ------
    InputError
        When an item has no ``=`` or an empty key.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--set {item!r}: expected key.path=value")
        raw = raw.strip()
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        out[key] = value
    return out


# -- helpers --------------------------------------------------------------------------

_PATH_FIELDS = (("district", "network"), ("district", "boundary"),
                ("district", "weights_file"), ("catalogue", "file"), ("demand", "trace"))


@lru_cache(maxsize=1)
def _defaults_cached() -> str:
    return Scenario().model_dump_json()


def _defaults() -> dict[str, Any]:
    import json

    return json.loads(_defaults_cached())


def read_scenario_toml(path: Path, chain: tuple[Path, ...] = (),
                       defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The TOML table of ``path`` with relative paths resolved and ``extends`` applied
    (tables merged, named tables merged by name, into ``defaults``' lists where a base
    leaves them to the defaults; ``chain``: the files that extend it, to refuse a
    cycle). Shared by every scenario format (grid, services hall)."""
    if not path.is_file():
        raise InputError(f"scenario file not found: {path}", source=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", source=str(path)) from None
    _resolve_paths(data, path.parent)
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise InputError(f"extends = {base!r}: give the path of a scenario file",
                         source=str(path))
    base_path = Path(base).expanduser()
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    here = chain + (path.resolve(),)
    if base_path.resolve() in here:
        raise InputError(f"extends = {base!r} makes a cycle: "
                         + " -> ".join(p.name for p in (*here, base_path.resolve())),
                         source=str(path))
    if not base_path.is_file():
        raise InputError(f"extends = {base!r}: scenario file not found: {base_path}",
                         source=str(path))
    return _merge_tables(read_scenario_toml(base_path, here, defaults), data, defaults)


def _item_index(items: list[Any], part: str) -> int | None:
    """Position of a list item named by its index or, for named tables (crews,
    workstations), by its ``name``; None when there is none."""
    if part.isdigit():
        return int(part) if int(part) < len(items) else None
    for k, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return k
    return None


def _item_names(items: list[Any]) -> str:
    names = [str(i["name"]) for i in items if isinstance(i, dict) and "name" in i]
    return f" (items: {', '.join(names)})" if names else f" ({len(items)} items)"


def _named_tables(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(v, dict) and "name" in v for v in value))


def _merge_tables(base: dict[str, Any], top: dict[str, Any],
                  defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """``top`` over ``base``: tables merge key by key; lists of named tables (crews,
    workstations) merge item by item on ``name`` (``remove = true`` drops an item, a new
    name is appended), so a what-if restates only the crew it changes; anything else
    replaces. Where ``base`` leaves such a list to the defaults, ``top`` merges into the
    ``defaults``' list (the base's crews are the default crews)."""
    out = dict(base)
    defaults = defaults or {}
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            sub = defaults.get(k) if isinstance(defaults.get(k), dict) else None
            out[k] = _merge_tables(out[k], v, sub)
        elif _named_tables(v) and _named_tables(out.get(k)):
            out[k] = _merge_named(out[k], v)
        elif _named_tables(v) and k not in out and _named_tables(defaults.get(k)):
            out[k] = _merge_named(copy.deepcopy(defaults[k]), v)
        else:
            out[k] = v
    return out


def _merge_named(base: list[dict[str, Any]], top: list[dict[str, Any]]) -> list[dict]:
    """Named items of ``top`` over ``base``'s, in ``base``'s order; a new item goes right
    after the item ``top`` lists before it (at the end when it is ``top``'s first), so
    that a what-if restating the whole list keeps its own order (teams are numbered in
    list order)."""
    out = [dict(item) for item in base]
    previous: str | None = None
    for item in top:
        names = [i["name"] for i in out]
        if item.get("remove") is True:
            if item["name"] in names:
                del out[names.index(item["name"])]
            continue
        if item["name"] in names:
            k = names.index(item["name"])
            out[k] = _merge_tables(out[k], item)
        elif previous in names:
            out.insert(names.index(previous) + 1, item)
        else:
            out.append(item)
        previous = item["name"]
    return out


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for section, key in _PATH_FIELDS:
        sec = data.get(section)
        if isinstance(sec, dict) and isinstance(sec.get(key), str) and sec[key]:
            p = Path(sec[key]).expanduser()
            if not p.is_absolute():
                sec[key] = str((base / p).resolve())


def _set_path(data: dict[str, Any], key: str, value: Any, *, source: str) -> None:
    parts = key.split(".")
    node: Any = data
    default: Any = _defaults()
    for i, part in enumerate(parts[:-1]):
        if isinstance(default, dict):
            default = default.get(part)
        elif isinstance(default, list) and _item_index(default, part) is not None:
            default = default[_item_index(default, part)]
        else:
            default = None
        if isinstance(node, list):
            k = _item_index(node, part)
            if k is None:
                raise InputError(f"{key}: no list item {part!r}{_item_names(node)}",
                                 source=source)
            node = node[k]
            continue
        if not isinstance(node, dict):
            raise InputError(f"{key}: {'.'.join(parts[:i])} is not a table", source=source)
        if part not in node or node[part] is None:
            # A path into a table the file does not set starts from the defaults, so that
            # e.g. crews.0.per_subdistrict=9 edits the default crews.
            node[part] = copy.deepcopy(default) if isinstance(default, (dict, list)) else {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        k = _item_index(node, last)
        if k is None:
            raise InputError(f"{key}: no list item {last!r}{_item_names(node)}",
                             source=source)
        node[k] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise InputError(f"{key}: parent is not a table", source=source)


def _field_range(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """Allowed range of the field at ``loc`` from its Field constraints."""
    cur: Any = model
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(cur, type) and issubclass(cur, BaseModel) and part in cur.model_fields:
            info = cur.model_fields[part]
            ann = info.annotation
            cur = _inner_model(ann)
        else:
            return None
    if info is None:
        return None
    lo = hi = None
    lo_inc = hi_inc = True
    metas = list(info.metadata)
    ann_args = getattr(info.annotation, "__args__", ())
    for a in ann_args:  # list[Annotated[float, Field(...)]]
        metas += list(getattr(a, "__metadata__", ()))
        for m in getattr(a, "__metadata__", ()):
            metas += list(getattr(m, "metadata", ()))
    for m in metas:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, lo_inc = m.gt, False
        if getattr(m, "le", None) is not None:
            hi = m.le
        if getattr(m, "lt", None) is not None:
            hi, hi_inc = m.lt, False
    if lo is None and hi is None:
        return None
    left = ("[" if lo_inc else "(") + (f"{lo:g}" if lo is not None else "-inf")
    right = (f"{hi:g}" if hi is not None else "inf") + ("]" if hi_inc else ")")
    return f"allowed range {left}, {right}"


def _inner_model(ann: Any) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in getattr(ann, "__args__", ()) or ():
        inner = _inner_model(a)
        if inner is not None:
            return inner
    return None


def _get(data: Any, loc: tuple[Any, ...]) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return "<missing>"
    return cur


def _same_branch(key: str, loc: tuple[Any, ...]) -> bool:
    """Whether dotted ``key`` and an error's location lie on one path of the tree."""
    a = key.split(".")
    b = [str(p) for p in loc if not (isinstance(p, str) and "[" in p)]
    n = min(len(a), len(b))
    return n > 0 and a[:n] == b[:n]


def _format_error(exc: ValidationError, data: dict[str, Any]) -> str:
    msgs = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
        path = path.replace(".[", "[") or "<top>"
        kind = err["type"]
        if kind == "extra_forbidden":
            parent_loc = loc[:-1]
            model = _inner_model_at(parent_loc)
            allowed = ", ".join(model.model_fields) if model else "?"
            msgs.append(f"{path}: unknown key (allowed keys here: {allowed})")
            continue
        value = _get(data, loc)
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        rng = _field_range(Scenario, loc)
        if not loc:
            msgs.append(msg)
            continue
        text = f"{path} = {value!r}: {msg}" if value != "<missing>" else f"{path}: {msg}"
        if rng and kind in ("greater_than_equal", "greater_than", "less_than_equal",
                            "less_than", "float_parsing", "int_parsing", "float_type",
                            "int_type", "int_from_float"):
            text += f" ({rng})"
        msgs.append(text)
    return "; ".join(msgs)


def _inner_model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    cur: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(cur, type) and issubclass(cur, BaseModel) and part in cur.model_fields:
            cur = _inner_model(cur.model_fields[part].annotation)
        else:
            return None
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def to_toml(scenario: Scenario) -> str:
    """The scenario as TOML text (every field, defaults included); loads back equal."""
    data = scenario.to_dict()
    lines: list[str] = []
    _emit_table(lines, [], data)
    return "\n".join(lines).strip() + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def _emit_table(lines: list[str], path: list[str], data: dict[str, Any]) -> None:
    scalars = {k: v for k, v in data.items() if v is not None and not _is_table(v)
               and not _is_table_array(v)}
    if path and (scalars or not data):
        lines.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_toml_value(v)}")
    for k, v in data.items():
        if _is_table(v):
            _emit_table(lines, [*path, k], v)
        elif _is_table_array(v):
            for item in v:
                lines.append(f"\n[[{'.'.join(_key(p) for p in [*path, k])}]]")
                for kk, vv in item.items():
                    if vv is not None:
                        lines.append(f"{_key(kk)} = {_toml_value(vv)}")


def _is_table(v: Any) -> bool:
    return isinstance(v, dict)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
