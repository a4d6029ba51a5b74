"""The services hall (一网通办): the district's administrative services as a SimPy model.

Entry points: :func:`load_matters` (the 564-matter catalogue), :class:`HallScenario`
and :func:`load_hall_scenario` (typed TOML scenarios), :func:`build_plan` and
:func:`simulate_hall` (one replication to a :class:`HallRun`), :func:`hall_kpis` and
:func:`run_hall_replications` (KPIs with 95 % intervals), :func:`staff_hall` (counter
staffing by CP-SAT, checked by simulation) and the Erlang C helpers. The commands
``urbangrid hall simulate`` and ``urbangrid hall staff`` are in
:mod:`urbangrid.hall.commands`; ``HALL.md`` states the model and its figures.

The names load on first use, so the command line registers ``hall`` without loading
SimPy or OR-Tools.
"""

from urbangrid._lazy import attach

_WHERE = {
    "Matters": "catalogue", "generate_catalogue": "catalogue", "load_matters": "catalogue",
    "write_catalogue": "catalogue",
    "HallScenario": "scenario", "is_hall_scenario": "scenario",
    "load_hall_scenario": "scenario",
    "CHANNELS": "model", "STATES": "model", "CounterSpec": "model", "HallModel": "model",
    "HallPlan": "model", "HallRun": "model", "build_plan": "model",
    "conservation": "model", "simulate_hall": "model",
    "HALL_KPIS": "kpis", "hall_kpis": "kpis", "hall_kpis_document": "kpis",
    "hourly_profile": "kpis", "run_hall_replications": "kpis",
    "StaffingResult": "staffing", "erlang_c": "staffing", "erlang_c_mean_wait": "staffing",
    "erlang_c_wait_tail": "staffing", "servers_for": "staffing", "staff_hall": "staffing",
}

__getattr__, __dir__, __all__ = attach(__name__, _WHERE)
