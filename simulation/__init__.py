"""The SimPy model of a district's cases, teams and KPIs, its scenarios and command line.

Entry points: :class:`Scenario` (typed, validated configuration, from TOML with
:func:`load_scenario`), :func:`simulate` (one replication to a :class:`RunResult`),
:func:`compute_kpis` and :func:`run_replications` (parallel replications with 95 %
t-intervals), :func:`write_events` / :func:`write_cases` (Parquet, Open311 names).
"""

from .calendar import ShiftWindows, WorkCalendar, is_chinese_workday
from .catalogue import CHANNELS, Catalogue, load_catalogue
from .demand import DayArrivals, DemandModel
from .kpis import KPI_NAMES, backlog_series, compute_kpis
from .output import case_table, event_table, write_cases, write_events
from .replications import ReplicationSummary, kpis_document, run_replications, t_interval
from .run import STREAMS, RunResult, build_teams, simulate, streams_for
from .scenario import Scenario, load_scenario, parse_overrides
from .space import Space, build_space

__all__ = [
    "CHANNELS",
    "KPI_NAMES",
    "STREAMS",
    "Catalogue",
    "DayArrivals",
    "DemandModel",
    "ReplicationSummary",
    "RunResult",
    "Scenario",
    "ShiftWindows",
    "Space",
    "WorkCalendar",
    "backlog_series",
    "build_space",
    "build_teams",
    "case_table",
    "compute_kpis",
    "event_table",
    "is_chinese_workday",
    "kpis_document",
    "load_catalogue",
    "load_scenario",
    "parse_overrides",
    "run_replications",
    "simulate",
    "streams_for",
    "t_interval",
    "write_cases",
    "write_events",
]
