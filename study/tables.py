"""The KPIs by place and by department, keyed by the names a planner reads.

:func:`urbangrid.simulation.compute_kpis` groups a run's KPIs under codes
(``sub:310106006``, ``subchannel:310106006/hotline``, ``department:housing``,
``office:subdistrict:310106006``); the reports and the JSON documents (``kpis.json``,
``comparison.json``) show them under names instead: the district's own sub-district
names (Jing'an's built-in table: 江宁路街道, with the English label "Jiangning Road
Subdistrict" and the code beside it) and the departments' names from the departments
table (:mod:`urbangrid.organisations`). The same rule turns a summary (mean, ci95, n per
KPI) and a table of paired differences into named tables, so a comparison's rows line
up with a run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from urbangrid.catalogue import CHANNELS
from urbangrid.organisations import Departments, load_departments

__all__ = ["CREW_KEYS", "department_name", "named_tables", "office_name",
           "subdistrict_names"]

#: Keys of a department group that describe its crews rather than its cases.
CREW_KEYS = ("teams", "crew_utilisation_mean")

_SUB = "sub:"
_SUBCHANNEL = "subchannel:"
_DEPARTMENT = "department:"
_OFFICE = "office:"
_SUB_OFFICE = "subdistrict:"

#: The names of the offices that are neither a sub-district nor a department.
_OFFICE_NAMES = {"municipal_12345": ("12345 市民服务热线", "12345 municipal hotline"),
                 "hotline_office": ("区热线办", "district hotline office")}


def subdistrict_names(space) -> list[tuple[str, str, str]]:
    """``(key, code, English name)`` of each sub-district of ``space``: the key is the
    district's own name, with the code added when two sub-districts share a name (so no
    row is lost); the English name is empty when the district has none."""
    names = [str(n) for n in space.sub_names]
    en = list(space.sub_names_en) + [""] * (len(names) - len(space.sub_names_en))
    out = []
    for code, name, name_en in zip(space.sub_codes, names, en, strict=True):
        key = name if name and names.count(name) == 1 else f"{name or code} ({code})"
        out.append((key, str(code), str(name_en)))
    return out


def department_name(code: str, departments: Departments) -> tuple[str, str]:
    """``(name, English name)`` of a department code (``dept:<skill>``, a skill the
    departments table does not list, is named after the skill)."""
    if code in departments.code:
        k = departments.code.index(code)
        return departments.name_zh[k], departments.name_en[k]
    skill = code.removeprefix("dept:")
    return f"{skill} (not in the departments table)", f"{skill} crews' department"


def office_name(office: str, space, departments: Departments) -> tuple[str, str]:
    """``(name, English name)`` of a work-order office (``by_office`` key)."""
    if office in _OFFICE_NAMES:
        return _OFFICE_NAMES[office]
    if office.startswith(_SUB_OFFICE):
        code = office.removeprefix(_SUB_OFFICE)
        for key, c, en in subdistrict_names(space):
            if c == code:
                return f"{key} office", (f"{en} office" if en else f"{key} office")
        return office, office
    return department_name(office, departments)


def named_tables(groups: Mapping[str, Mapping[str, Any]], space,
                 departments: Departments | None = None) -> dict[str, dict[str, Any]]:
    """The per-sub-district × channel and per-department tables of ``groups``.

    Parameters
    ----------
    groups
        ``{group: {kpi: record}}`` as :func:`urbangrid.simulation.summarise` or
        :func:`urbangrid.study.paired_differences` return them (any record shape).
    space
        The run's :class:`urbangrid.simulation.Space` (codes and names).
    departments
        The departments table (default: the built-in one, which the runs use).

    Returns
    -------
    dict
        ``{"subdistricts": {name: {"code", "name_en", "all", <channel>…,
        "work_orders"}}, "departments": {name: {"code", "name_en", "kind", "cases",
        "crews", "work_orders"}}}``: ``all`` and each channel map KPIs to records;
        ``work_orders`` is the office's row (absent when the run had none).
    """
    deps = departments if departments is not None else load_departments()
    subs: dict[str, Any] = {}
    for key, code, name_en in subdistrict_names(space):
        row: dict[str, Any] = {"code": code, "name_en": name_en,
                               "all": dict(groups.get(_SUB + code, {}))}
        for ch in CHANNELS:
            row[ch] = dict(groups.get(f"{_SUBCHANNEL}{code}/{ch}", {}))
        office = groups.get(_OFFICE + _SUB_OFFICE + code)
        if office:
            row["work_orders"] = dict(office)
        subs[key] = row
    depts: dict[str, Any] = {}
    for group, rec in groups.items():
        if not group.startswith(_DEPARTMENT):
            continue
        code = group.removeprefix(_DEPARTMENT)
        name, name_en = department_name(code, deps)
        kind = deps.kind[deps.code.index(code)] if code in deps.code else "department"
        row = {"code": code, "name_en": name_en, "kind": kind,
               "cases": {k: v for k, v in rec.items() if k not in CREW_KEYS},
               "crews": {k: v for k, v in rec.items() if k in CREW_KEYS}}
        office = groups.get(_OFFICE + code)
        if office:
            row["work_orders"] = dict(office)
        depts[name] = row
    return {"subdistricts": subs, "departments": depts}
