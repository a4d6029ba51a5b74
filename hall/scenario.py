"""The hall scenario: one typed, validated record describing a services-hall run.

Loaded from TOML like the grid model's scenarios (:mod:`urbangrid.simulation.scenario`,
whose ``run`` and ``calendar`` records and ``extends`` reader it reuses): a file may
start from another with ``extends = "base.toml"``; tables merge key by key, arrays (the
``[[hall.counters]]``) replace. A hall scenario is recognised by its ``[hall]`` table
(:func:`is_hall_scenario`). Every field has a default, so a file with only ``[hall]``
is valid: the built-in catalogue with 40 comprehensive windows. Unknown keys, wrong
types and bad values fail at load time with an :class:`~urbangrid.errors.InputError`
naming the TOML path.

Defaults marked "assumption" are not published figures (DOMAIN.md §10 lists the
ranges found); the seed's figures are the catalogue totals and the ~600 requests a day.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from urbangrid.errors import InputError
from urbangrid.simulation.scenario import CalendarConfig, RunConfig, read_scenario_toml

__all__ = ["BackofficeConfig", "CounterConfig", "DemandConfig", "HallConfig", "HallRunConfig",
           "HallScenario", "HoursConfig", "LeversConfig", "ServiceConfig",
           "StaffingConfig", "SubdistrictConfig", "is_hall_scenario", "load_hall_scenario",
           "parse_hours"]

_HOURS = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*$")

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def parse_hours(value: str) -> tuple[float, float]:
    """``"HH:MM-HH:MM"`` as seconds after midnight ``(start, end)``; end may be 24:00.

    Raises
    ------
    ValueError
        When the text does not parse or the end is not after the start.
    """
    m = _HOURS.match(value or "")
    if not m:
        raise ValueError(f"{value!r} is not opening hours like '09:00-17:00'")
    a = int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0
    b = int(m.group(3)) * 3600.0 + int(m.group(4)) * 60.0
    if b > 86400.0 or b <= a:
        raise ValueError(f"{value!r}: the end must be after the start and at most 24:00")
    return a, b


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class HallRunConfig(RunConfig):
    """Horizon, seeds and replications (the grid model's record, hall defaults)."""

    days: float = Field(7.0, gt=0.0, le=3660.0, description="simulated days after warm-up")
    warmup_days: float = Field(
        21.0, ge=0.0, le=365.0,
        description="days simulated before statistics start (the back offices' queues "
        "reach steady state: files wait up to 2 x start_fraction of their limit); "
        "requests arriving in the warm-up are simulated but excluded from the KPIs")
    drain_days: float = Field(
        30.0, ge=0.0, le=3660.0,
        description="days simulated after the window (arrivals continue) so that the "
        "window's files reach approval: time-to-approval follows the window's cohort")


class HoursConfig(_Model):
    """Opening hours of the district hall and its ticket machine, by day type.

    A working day (Chinese calendar, 调休 make-up days included) uses ``weekday``; an
    ordinary Saturday or Sunday its own hours (none = closed); public holidays are
    closed. Assumption: 09:00 – 17:00 Monday – Friday plus a Saturday morning.
    """

    weekday: str = "09:00-17:00"
    saturday: str | None = "09:00-12:00"
    sunday: str | None = None

    @field_validator("weekday", "saturday", "sunday")
    @classmethod
    def _parse(cls, v: str | None) -> str | None:
        if v is not None:
            parse_hours(v)
        return v


def _hall_hours() -> list[float]:
    # Arrivals per hour of day (relative), peaks 09:30 - 11:00 and 13:30 - 15:00
    # (DOMAIN.md §10, assumption); only the open hours count.
    h = [0.0] * 24
    h[8:18] = [0.3, 1.2, 1.5, 1.0, 0.5, 0.9, 1.3, 1.0, 0.6, 0.2]
    return h


def _online_hours() -> list[float]:
    # Online submissions around the clock, most in office hours and the evening.
    return [0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 1.0, 1.3, 1.4, 1.3, 1.0, 1.1, 1.3,
            1.3, 1.2, 1.0, 0.9, 1.0, 1.1, 1.0, 0.7, 0.4]


def _len24(v: list[float]) -> list[float]:
    if len(v) != 24 or sum(v) <= 0:
        raise ValueError("give 24 non-negative values (hours 0 - 23), not all zero")
    return v


def _len7(v: list[float]) -> list[float]:
    if len(v) != 7:
        raise ValueError("give 7 values, Monday to Sunday")
    return v


class DemandConfig(_Model):
    """Requests: how many, when, through which channel."""

    hall_requests_per_day: float = Field(
        600.0, gt=0.0, le=1e6,
        description="requests per weekday at the district hall under the catalogue's own "
        "channel eligibility (seed: about 600); it fixes the district's total applications, "
        "which the levers then move between channels")
    weekday_factors: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default_factory=lambda: [1.1, 1.0, 1.0, 1.0, 0.9, 0.35, 0.0],
        description="volume of each day Monday - Sunday relative to a weekday's (hall and "
        "sub-district centres; Saturday = its morning session), assumption")
    online_weekday_factors: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default_factory=lambda: [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5],
        description="the same for online submissions (holidays count as Sunday)")
    hour_profile: list[Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default_factory=_hall_hours, description="arrivals by hour of day at counters")
    online_hour_profile: list[Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default_factory=_online_hours, description="online submissions by hour of day")
    appointment_share: Fraction = Field(0.3, description="requests with an appointment "
                                        "(served before walk-ins), assumption 20 - 40 %")
    online_uptake: Fraction = Field(
        0.75, description="share of the requests for an online matter submitted online "
        "(Shanghai 2021: > 70 % of actual cases online), assumption")
    subdistrict_share: Fraction = Field(
        0.5, description="share of the counter requests for a matter the sub-district "
        "centres also take that go there instead of the district hall, assumption")

    @field_validator("hour_profile", "online_hour_profile")
    @classmethod
    def _hours24(cls, v: list[float]) -> list[float]:
        return _len24(v)

    @field_validator("weekday_factors", "online_weekday_factors")
    @classmethod
    def _days7(cls, v: list[float]) -> list[float]:
        return _len7(v)


class CounterConfig(_Model):
    """A group of identical counters (windows) at the district hall."""

    name: str = Field(..., min_length=1)
    count: int = Field(..., ge=1, le=1000)
    skills: list[str] = Field(
        ..., description="department codes this window takes, or ['*'] for a comprehensive "
        "window (一窗受理) that takes any matter")
    hours: str | None = Field(None, description="'HH:MM-HH:MM' (default: the hall's hours)")

    @field_validator("skills")
    @classmethod
    def _skills(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("a counter with no skill: list department codes or '*'")
        return v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v is not None:
            parse_hours(v)
        return v

    @property
    def comprehensive(self) -> bool:
        return "*" in self.skills


def _default_counters() -> list[CounterConfig]:
    return [CounterConfig(name="comprehensive", count=40, skills=["*"])]


class SubdistrictConfig(_Model):
    """The sub-district service centres (comprehensive windows, the hall's hours)."""

    centres: int = Field(14, ge=0, le=1000, description="Jing'an: 14 sub-districts")
    counters: int = Field(4, ge=1, le=1000, description="windows per centre, assumption")


class ServiceConfig(_Model):
    """At the counter."""

    distribution: Literal["lognormal", "exponential"] = "lognormal"
    cv: float = Field(0.6, gt=0.0, le=5.0, description="coefficient of variation of "
                      "counter time (lognormal), assumption")
    comprehensive_factor: float = Field(
        1.15, gt=0.0, le=10.0, description="a generalist window's counter time relative "
        "to a department window's (slower per request), assumption")
    ai_time_factor: float = Field(0.85, gt=0.0, le=10.0, description="counter time of an "
                                  "AI-assisted matter (pre-filled forms), assumption")
    ai_incomplete_factor: float = Field(0.5, ge=0.0, le=10.0, description="incomplete "
                                        "probability of an AI-assisted matter (pre-check), "
                                        "assumption")
    repeat_incomplete_factor: float = Field(0.3, ge=0.0, le=10.0, description="incomplete "
                                            "probability at a return visit, relative")
    max_visits: int = Field(3, ge=1, le=3, description="the last visit always completes "
                            "the file (the 'could not get it done' window takes over)")
    return_working_days: tuple[int, int] = Field(
        (1, 3), description="a citizen sent home returns after this many working days "
        "(uniform, inclusive), assumption")
    wait_target_min: float = Field(15.0, gt=0.0, le=1440.0,
                                   description="wait target for 'share over target'")
    patience_min: float | None = Field(
        None, gt=0.0, le=1440.0, description="a walk-in still waiting after this many "
        "minutes leaves and gives up (abandonment); none: everyone waits (default)")

    @field_validator("return_working_days")
    @classmethod
    def _ret(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1] <= 60:
            raise ValueError("give [min, max] working days with 1 <= min <= max <= 60")
        return v


class BackofficeConfig(_Model):
    """Each department's back office: an :class:`urbangrid.simulation.offices.Office`
    (the grid model's department resource) working in office hours, earliest deadline
    first."""

    staff: dict[str, Annotated[int, Field(ge=1, le=100000)]] = Field(
        default_factory=dict, description="people reviewing hall files, by department "
        "code (others: sized by utilisation)")
    utilisation: float = Field(0.7, gt=0.0, le=1.0, description="departments not in "
                               "staff get the fewest people that keep their expected "
                               "review load at or below this utilisation, assumption")
    review_cv: float = Field(0.8, ge=0.0, le=10.0, description="variation of review work")
    start_fraction: float = Field(
        0.4, ge=0.0, le=0.5,
        description="offices 'work to the deadline': a file waits before review a uniform "
        "share of its promised time on [0, 2 x start_fraction] (the grid model's "
        "orders.start_margin idea), assumption")
    cross_provincial_days: float = Field(
        2.0, ge=0.0, le=365.0, description="working days of the exchange with the other "
        "province after review (inside the matter's promised time), assumption")
    online_fix_days: float = Field(1.0, ge=0.0, le=365.0, description="working days an "
                                   "online applicant takes to complete a file, assumption")


class LeversConfig(_Model):
    """What-if levers on the catalogue and the counters."""

    remote_check_share: Fraction = Field(
        0.0, description="share of incomplete files whose missing documents are checked "
        "remotely (data sharing), so that no return trip is needed")
    online_more_share: float = Field(
        0.0, ge=0.0, le=10.0, description="makes this share more matters online (of the "
        "catalogue's online count), chosen among the counter-only matters by pick")
    make_online: list[str] = Field(default_factory=list, description="matter codes")
    no_application_total: int | None = Field(
        None, ge=0, le=100000, description="no-application matters in all (catalogue: "
        "24); the extra ones are chosen by pick among citizen payment, confirmation and "
        "public-service matters with a promised time")
    pick: Literal["random", "volume"] = Field(
        "random", description="which matters the count levers convert: 'random' (a fixed "
        "seeded draw: typical matters, the lever's effect not a choice of the busiest) or "
        "'volume' (the highest-volume first)")
    make_no_application: list[str] = Field(default_factory=list, description="codes")


class StaffingConfig(_Model):
    """Legal shifts for ``urbangrid hall staff`` (assumption: no Jing'an rule published;
    whole hours, a one-hour unpaid break in long shifts)."""

    shift_hours: list[Annotated[int, Field(ge=1, le=24)]] = Field(
        default_factory=lambda: [4, 6, 8], min_length=1, description="shift lengths, hours")
    break_from_hours: int = Field(6, ge=1, le=25, description="shifts at least this long "
                                  "include a one-hour break")
    break_after_hours: list[Annotated[int, Field(ge=1, le=23)]] = Field(
        default_factory=lambda: [3, 4], min_length=1,
        description="the break starts after this many hours (each a pattern)")


class HallConfig(_Model):
    catalogue: str | None = Field(None, description="matter catalogue CSV (default: built in)")
    departments: str | None = Field(None, description="departments CSV (default: built in)")
    demand: DemandConfig = Field(default_factory=DemandConfig)
    hours: HoursConfig = Field(default_factory=HoursConfig)
    counters: list[CounterConfig] = Field(default_factory=_default_counters, min_length=1)
    subdistrict: SubdistrictConfig = Field(default_factory=SubdistrictConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    backoffice: BackofficeConfig = Field(default_factory=BackofficeConfig)
    levers: LeversConfig = Field(default_factory=LeversConfig)
    staffing: StaffingConfig = Field(default_factory=StaffingConfig)

    @model_validator(mode="after")
    def _names(self) -> HallConfig:
        names = [c.name for c in self.counters]
        if len(set(names)) != len(names):
            raise ValueError("hall.counters: names must be unique")
        return self


class HallScenario(_Model):
    """A complete services-hall scenario; see the module docstring."""

    name: str = "hall"
    description: str = ""
    run: HallRunConfig = Field(default_factory=HallRunConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    hall: HallConfig = Field(default_factory=HallConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> HallScenario:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InputError(_format_error(exc, data), source=source) from None

    def replace(self, overrides: dict[str, Any] | None = None, **fields: Any) -> HallScenario:
        """A validated copy with dotted-path ``overrides`` and top-level ``fields``."""
        data = self.model_dump(mode="python")
        for key, value in {**(overrides or {}), **fields}.items():
            _set_path(data, key, value, source="replace()")
        return HallScenario.from_dict(data, source="replace()")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


_HALL_FILES = ("catalogue", "departments")


def _hall_files(path: Path) -> dict[str, str]:
    """``hall.catalogue`` / ``hall.departments`` along the ``extends`` chain, each
    resolved against the folder of the file that sets it (the chain is already checked
    by the grid reader)."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    base = raw.get("extends")
    if isinstance(base, str) and base:
        b = Path(base).expanduser()
        out = _hall_files(b if b.is_absolute() else path.parent / b)
    hall = raw.get("hall")
    for key in _HALL_FILES:
        v = hall.get(key) if isinstance(hall, dict) else None
        if isinstance(v, str) and v:
            p = Path(v).expanduser()
            out[key] = str(p if p.is_absolute() else (path.parent / p).resolve())
    return out


def _read(path: Path) -> dict[str, Any]:
    data = read_scenario_toml(path, ())  # extends, merged (the grid model's reader)
    hall = data.get("hall")
    if isinstance(hall, dict):  # relative data files against their scenario's folder
        hall.update(_hall_files(path))
    return data


def is_hall_scenario(path: str | Path) -> bool:
    """Whether the TOML file (after ``extends``) has a ``[hall]`` table; False for a file
    that does not parse (the grid loader then reports it)."""
    try:
        return isinstance(_read(Path(path)).get("hall"), dict)
    except InputError:
        return False


def load_hall_scenario(path: str | Path,
                       overrides: dict[str, Any] | None = None) -> HallScenario:
    """Load a hall scenario TOML file, apply dotted ``overrides`` and validate.

    Raises
    ------
    InputError
        A missing file, bad TOML, a file without ``[hall]``, or a bad value.
    """
    path = Path(path)
    data = _read(path)
    if not isinstance(data.get("hall"), dict):
        raise InputError("not a hall scenario: it has no [hall] table", source=str(path))
    for key, value in (overrides or {}).items():
        _set_path(data, key, value, source=str(path))
    return HallScenario.from_dict(data, source=str(path))


def _set_path(data: dict[str, Any], key: str, value: Any, *, source: str) -> None:
    parts = key.split(".")
    node: Any = data
    for part in parts[:-1]:
        if isinstance(node, list):
            try:
                node = node[int(part)]
                continue
            except (ValueError, IndexError):
                raise InputError(f"{key}: no list item {part!r}", source=source) from None
        if not isinstance(node, dict):
            raise InputError(f"{key}: parent is not a table", source=source)
        if not isinstance(node.get(part), (dict, list)):
            node[part] = {}
        node = node[part]
    if isinstance(node, list):
        try:
            node[int(parts[-1])] = copy.deepcopy(value)
        except (ValueError, IndexError):
            raise InputError(f"{key}: no list item {parts[-1]!r}", source=source) from None
    elif isinstance(node, dict):
        node[parts[-1]] = copy.deepcopy(value)
    else:
        raise InputError(f"{key}: parent is not a table", source=source)


def _format_error(exc: ValidationError, data: dict[str, Any]) -> str:
    msgs = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc)
        path = path.replace(".[", "[") or "<top>"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msgs.append(f"{path}: unknown key")
            continue
        cur: Any = data
        for p in loc:
            try:
                cur = cur[p]
            except (KeyError, IndexError, TypeError):
                cur = "<missing>"
                break
        msgs.append(f"{path} = {cur!r}: {msg}" if cur != "<missing>" else f"{path}: {msg}")
    return "; ".join(msgs)
