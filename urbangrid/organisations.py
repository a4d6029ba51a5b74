"""The district's departments: who owns which crew skill and which work orders.

Domain data shared by the grid model (departments handle hotline work orders and own the
crews of their skills) and the services hall (the same departments' matters and back
offices). It imports neither SimPy nor Numba. The built-in table,
``data/catalogue/departments.csv``, lists 29 departments, the count the Jing'an Data
Bureau gives for its services hall; their names are the standard bureaus of a Shanghai
district government (the seed gives the count, not the list: an assumption), plus the
public utility companies that own the water, gas and power networks. Columns:

===============  ====================================================================
``code``         identifier (ASCII, unique)
``name_zh``      Chinese name; ``name_en`` English name
``kind``         ``department`` (委办局) or ``company`` (public-service company)
``skills``       crew skills the department owns, ``;``-separated (may be empty); a
                 skill has exactly one owner
``hall_weight``  relative share of the services hall's matters (0: none)
===============  ====================================================================
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .tables import table_text

__all__ = ["Departments", "load_departments"]

_COLUMNS = ("code", "name_zh", "name_en", "kind", "skills", "hall_weight")
_KINDS = ("department", "company")


@dataclass(frozen=True)
class Departments:
    """Validated departments as parallel tuples (row ``k`` = department ``k``)."""

    code: tuple[str, ...]
    name_zh: tuple[str, ...]
    name_en: tuple[str, ...]
    kind: tuple[str, ...]
    skills: tuple[tuple[str, ...], ...]
    hall_weight: np.ndarray
    source: str

    @property
    def n(self) -> int:
        return len(self.code)

    def owner(self, skill: str) -> int:
        """Index of the department that owns crew skill ``skill``.

        Raises
        ------
        InputError
            When no department owns it.
        """
        for k, owned in enumerate(self.skills):
            if skill in owned:
                return k
        raise InputError(f"no department owns crew skill {skill!r} (the departments table "
                         f"lists skills {sorted({s for o in self.skills for s in o})})",
                         source=self.source)


    def category_owners(self, skills) -> list[str]:
        """The department code handling each category, given the categories' crew
        ``skills`` in catalogue order: the owner of the skill, or ``dept:<skill>`` for a
        skill this table does not list (a scenario's own catalogue: the skill is then a
        department of its own). The work orders route by it and the KPIs group by it."""
        owned = {s for o in self.skills for s in o}
        return [self.code[self.owner(s)] if s in owned else f"dept:{s}" for s in skills]


def load_departments(path: str | Path | None = None) -> Departments:
    """Read and validate a departments table (default: the built-in one).

    Raises
    ------
    InputError
        On a missing file or column, a duplicate code, an unknown kind, a skill owned
        twice or a bad weight (the message names the row).
    """
    text, source = table_text(path, "catalogue/departments.csv", "departments file")
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"departments table lacks columns {missing}", source=source)
    rows = list(reader)
    if not rows:
        raise InputError("departments table has no rows", source=source)
    codes = [r["code"].strip() for r in rows]
    if len(set(codes)) != len(codes):
        raise InputError(f"duplicate department codes "
                         f"{sorted({c for c in codes if codes.count(c) > 1})}", source=source)
    owner: dict[str, str] = {}
    weights = []
    for i, r in enumerate(rows):
        where = f"department {codes[i]!r} (row {i + 2})"
        if r["kind"] not in _KINDS:
            raise InputError(f"{where}: kind = {r['kind']!r} is not one of {list(_KINDS)}",
                             source=source)
        for s in filter(None, (x.strip() for x in r["skills"].split(";"))):
            if s in owner:
                raise InputError(f"{where}: skill {s!r} is already owned by {owner[s]!r}",
                                 source=source)
            owner[s] = codes[i]
        try:
            w = float(r["hall_weight"])
        except ValueError:
            raise InputError(f"{where}: hall_weight = {r['hall_weight']!r} is not a number",
                             source=source) from None
        if not (0.0 <= w < 1e6):
            raise InputError(f"{where}: hall_weight = {w} is outside [0, 1e6)", source=source)
        weights.append(w)
    return Departments(
        code=tuple(codes), name_zh=tuple(r["name_zh"] for r in rows),
        name_en=tuple(r["name_en"] for r in rows), kind=tuple(r["kind"] for r in rows),
        skills=tuple(tuple(filter(None, (x.strip() for x in r["skills"].split(";"))))
                     for r in rows),
        hall_weight=np.array(weights), source=source)
