"""Every KPI a table prints has a definition the reports can show (simulation/kpis.py's
docstring is where they are written; kpi_definitions reads them)."""

import fnmatch

from urbangrid.simulation import SUMMARY_KPIS, kpi_definitions


def test_every_summary_kpi_is_defined():
    terms = [t.strip() for names, _ in kpi_definitions()
             for part in names.split(" / ") for t in part.split(",")]
    missing = [n for n, _ in SUMMARY_KPIS if not any(fnmatch.fnmatch(n, t) for t in terms)]
    assert missing == []
    assert all(text for _, text in kpi_definitions())
