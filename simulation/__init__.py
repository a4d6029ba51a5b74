"""The grid model: a district's cases, crews and dispatcher over simulated time.

Entry points: :class:`Scenario` (typed, validated configuration, from TOML with
:func:`load_scenario`), :func:`simulate` (one replication to a :class:`RunResult`),
:func:`compute_kpis` and :func:`run_replications` (parallel replications with 95 %
t-intervals), :func:`write_events` / :func:`write_cases` (Parquet, Open311 names), and
:func:`run_tasks` (the process pool every parallel run of the project goes through).

A library only: comparisons, sweeps, reports and the ``simulate`` command are in
:mod:`urbangrid.study`, the calibration from real logs in :mod:`urbangrid.calibration`;
this package imports neither.

The names load on first use: ``import urbangrid.simulation`` alone costs nothing, and
the engine (NumPy blocks, the compiled core, SimPy) loads with :func:`simulate`.
"""

from urbangrid._lazy import attach

_WHERE = {
    "Channel": "codes", "EVENT_NAMES": "codes", "Event": "codes", "STATUS_NAMES": "codes",
    "Status": "codes",
    "DayArrivals": "demand", "DemandModel": "demand",
    "GROUP_KPIS": "kpis", "KPI_NAMES": "kpis", "OFFICE_PREFIX": "kpis",
    "SUBDISTRICT_PREFIX": "kpis", "WarmupCheck": "warmup", "check_warmup": "warmup",
    "mser5": "warmup", "run_warnings": "guards",
    "SUMMARY_KPIS": "kpis", "backlog_series": "kpis", "case_table_metrics": "kpis",
    "compute_kpis": "kpis", "kpi_definitions": "kpis",
    "case_table": "output", "event_table": "output", "write_cases": "output",
    "write_events": "output",
    "ReplicationSummary": "replications", "TaskPool": "replications",
    "json_safe": "replications", "kpis_document": "replications",
    "pool_context": "replications", "process_count": "replications",
    "run_replications": "replications",
    "run_tasks": "replications", "summarise": "replications", "t_interval": "replications",
    "SIM_DEFER_S": "_model",
    "STREAMS": "run", "RunResult": "run", "build_teams": "run", "simulate": "run",
    "streams_for": "run",
    "Scenario": "scenario", "load_scenario": "scenario", "parse_overrides": "scenario",
    "Space": "space", "build_space": "space",
}

__getattr__, __dir__, __all__ = attach(__name__, _WHERE)
