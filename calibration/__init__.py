"""Calibration from real service-request logs (Open311 GeoReport Bulk, 12345 …).

Entry points: :func:`calibrate` (a log to a runnable scenario and its files,
:mod:`.pipeline`) and :func:`validate` (a scenario's simulation against a log,
:mod:`.validation`; its page by :mod:`.report`). The steps are public too:
:func:`read_log` and :func:`clean_log` (:mod:`.logs`), :func:`fit_log` and
:func:`fit_handling` (:mod:`.fit`), :func:`build_district_files` (:mod:`.district`),
:func:`write_scenario` (:mod:`.write`), :func:`simulate_period` (:mod:`.simulate`). The
commands ``calibrate`` and ``validate`` are in :mod:`urbangrid.calibration.commands`.

The names load on first use, so that the command line registers its sub-commands
without loading pandas, SciPy or the engine. (The modules are not named after the
functions ``calibrate`` and ``validate``: once imported, a submodule would replace the
package attribute of the same name.)
"""

from urbangrid._lazy import attach

_WHERE = {
    "Calibration": "pipeline", "calibrate": "pipeline",
    "OTHER_BUCKET": "codes", "bucket_names": "codes",
    "category_of": "codes", "slug": "codes",
    "build_district_files": "district", "read_boundary": "district",
    "FAMILIES": "fit", "INSTANT_S": "fit", "fit_handling": "fit", "fit_log": "fit",
    "CHANNEL_KEYWORDS": "logs", "FIELDS": "logs", "CleanLog": "logs",
    "ColumnMapping": "logs", "check_timezone": "logs", "clean_log": "logs",
    "full_days": "logs", "holiday_dates": "logs", "load_mapping": "logs",
    "parse_period": "logs", "read_log": "logs",
    "HEADLINE": "report", "write_report": "report",
    "read_calibration": "simulate", "simulate_period": "simulate",
    "censored_ks": "validation", "compare": "validation", "tvd": "validation",
    "validate": "validation",
    "catalogue_rows": "write", "prep_from_lognormal": "write", "write_scenario": "write",
}

__getattr__, __dir__, __all__ = attach(__name__, _WHERE)
