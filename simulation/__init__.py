"""The SimPy model of a district's cases, teams and KPIs, its scenarios and command line.

Entry points: :class:`Scenario` (typed, validated configuration, from TOML with
:func:`load_scenario`), :func:`simulate` (one replication to a :class:`RunResult`),
:func:`compute_kpis` and :func:`run_replications` (parallel replications with 95 %
t-intervals), :func:`write_events` / :func:`write_cases` (Parquet, Open311 names).
Studies: :func:`compare_scenarios` (paired, common random numbers) with
:func:`comparison_document` and :func:`write_comparison_report`, :func:`run_sweep` over
:func:`parse_grid` / :func:`plan_sweep`, :func:`write_simulation_report`; from real logs,
:func:`calibrate` (a scenario fitted to a 311 / 12345 export) and :func:`validate`.

Note: ``calibrate`` and ``validate`` here are the functions; their modules stay importable
as ``urbangrid.simulation.calibrate`` / ``.validate`` with ``from … import …``.
"""

from .calendar import ShiftWindows, WorkCalendar, is_chinese_workday
from .calibrate import calibrate
from .catalogue import CHANNELS, Catalogue, load_catalogue
from .compare import Comparison, compare_scenarios, comparison_document, paired_differences
from .demand import DayArrivals, DemandModel
from .kpis import KPI_NAMES, backlog_series, compute_kpis
from .output import case_table, event_table, write_cases, write_events
from .replications import ReplicationSummary, kpis_document, run_replications, t_interval
from .report import write_comparison_report, write_simulation_report
from .run import STREAMS, RunResult, build_teams, simulate, streams_for
from .scenario import Scenario, load_scenario, parse_overrides
from .space import Space, build_space
from .sweep import SweepPlan, parse_grid, plan_sweep, run_sweep
from .validate import validate

__all__ = [
    "CHANNELS",
    "KPI_NAMES",
    "STREAMS",
    "Catalogue",
    "Comparison",
    "DayArrivals",
    "DemandModel",
    "ReplicationSummary",
    "RunResult",
    "Scenario",
    "ShiftWindows",
    "Space",
    "SweepPlan",
    "WorkCalendar",
    "backlog_series",
    "build_space",
    "build_teams",
    "calibrate",
    "case_table",
    "compare_scenarios",
    "comparison_document",
    "compute_kpis",
    "event_table",
    "is_chinese_workday",
    "kpis_document",
    "load_catalogue",
    "load_scenario",
    "paired_differences",
    "parse_grid",
    "parse_overrides",
    "plan_sweep",
    "run_replications",
    "run_sweep",
    "simulate",
    "streams_for",
    "t_interval",
    "validate",
    "write_cases",
    "write_comparison_report",
    "write_events",
    "write_simulation_report",
]
