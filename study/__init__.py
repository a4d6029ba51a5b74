"""Studies on the grid model: paired comparisons, parameter sweeps and their reports.

Entry points: :func:`compare_scenarios` (scenarios under common random numbers, paired
differences with 95 % t-intervals), :func:`run_sweep` (a grid of scenario values ×
replications on a process pool or Dask), :func:`write_simulation_report` and
:func:`write_comparison_report` (figures and one self-contained ``report.html``, written
by :func:`write_page`), :func:`scenario_diff` and :func:`decompose` (a KPI's change
between two scenarios attributed to the levers, Shapley-style). The commands
``simulate``, ``compare``, ``sweep``, ``scenario diff`` and ``decompose`` are in
:mod:`urbangrid.study.commands`.

The names load on first use, so that the command line registers its sub-commands
without loading the engine or Matplotlib.
"""

from urbangrid._lazy import attach

_WHERE = {
    "Comparison": "compare", "compare_scenarios": "compare",
    "comparison_document": "compare", "paired_differences": "compare",
    "Decomposition": "decompose", "LEVER_GROUPS": "decompose", "decompose": "decompose",
    "levers_between": "decompose", "plot_waterfall": "decompose",
    "scenario_diff": "decompose",  # defined in urbangrid.simulation.scenario
    "DIFF_KPIS": "figures", "backlog_figure": "figures", "cell_metrics": "figures",
    "hourly_timeline": "figures", "map_figure": "figures", "map_label": "figures",
    "map_scales": "figures", "plot_backlog": "figures",
    "plot_differences": "figures", "plot_handling_cdf": "figures", "plot_map": "figures",
    "plot_timeline": "figures", "plot_waiting": "figures",
    "subdistrict_label_points": "figures", "subdistrict_outlines": "figures",
    "timeline_figure": "figures", "waiting_figure": "figures",
    "waiting_metrics": "figures",
    "named_tables": "tables",
    "figure": "html", "table": "html", "write_page": "html",
    "REPORT_KPIS": "report", "write_comparison_report": "report",
    "write_simulation_report": "report",
    "SWEEP_KPIS": "sweep", "SweepPlan": "sweep", "parse_grid": "sweep", "plan_sweep": "sweep",
    "plot_sweep": "sweep", "run_sweep": "sweep", "summarise_sweep": "sweep",
}

__getattr__, __dir__, __all__ = attach(__name__, _WHERE)
