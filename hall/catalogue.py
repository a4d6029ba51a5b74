"""The services hall's matter catalogue (事项清单): 564 matters of 29 departments.

The seed gives totals only: 564 matters from 29 departments, of which 52 are
cross-provincial (Yangtze Delta), 24 no-application (免申即享) and 44 AI-assisted. No
Jing'an matter list with per-matter figures is published, so **every row is generated**
by :func:`generate_catalogue` from the distributions below and a fixed seed; the file
``data/catalogue/hall_matters.csv`` is that output, versioned, and a test checks that
regenerating it gives the same bytes. Regenerate with::

    python -m urbangrid.hall.catalogue data/catalogue/hall_matters.csv

Generation (seed :data:`CATALOGUE_SEED`; every figure an assumption unless noted):

- matters per department: 564 split over the departments with ``hall_weight`` > 0 in
  ``data/catalogue/departments.csv`` (29 of them; the seed's count) in proportion to the
  weight, largest remainder;
- category: licence 0.35 (行政许可), confirmation 0.20 (行政确认), public service 0.25
  (公共服务), payment 0.10 (行政给付), filing 0.10 (备案);
- audience: enterprise with probability 0.4, else citizen;
- promised processing time in working days (0 = decided at the counter, 即办):
  licence {5, 10, 15, 20}, confirmation {1, 3, 5}, public service {0, 1, 3},
  payment {5, 10}, filing {0, 1}, uniform;
- documents: 1 + Poisson(3), at most 12; probability that they are incomplete uniform
  on [0.10, 0.30] (DOMAIN.md §10 range);
- counter service time, mean minutes: citizen uniform [10, 18], enterprise [15, 25]
  (DOMAIN.md §10: lognormal, mean 10 – 25 min, longer for enterprise matters);
- back-office review, staff hours per file: lognormal around licence 1.0,
  confirmation 0.3, public service 0.2, payment 0.3, filing 0.15 (sigma 0.4);
- relative request volume ``weight``: lognormal(0, 1.3) (a few matters carry most
  requests);
- channels: every matter at the district hall; sub-district centre for citizen matters
  with probability 0.6 (enterprise 0.1); online with probability 0.7 (Shanghai 2019:
  1,400 of 2,035 matters fully online); cross-provincial: exactly 52 drawn among the
  matters that need an application; no-application: exactly 24 drawn among citizen
  payment, confirmation and public-service matters with a promised time > 0 (the
  department acts on shared data: subsidies, allowances, certificates); AI-assisted:
  exactly 44 drawn among the online matters.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from urbangrid.errors import InputError
from urbangrid.organisations import Departments, load_departments
from urbangrid.tables import table_text

__all__ = ["CATALOGUE_SEED", "CATEGORIES", "COLUMNS", "Matters", "generate_catalogue",
           "load_matters", "write_catalogue"]

#: Seed of the generated catalogue (the date the hall opened its comprehensive windows
#: is not published; any fixed number would do).
CATALOGUE_SEED = 20170610
#: Totals from the seed interview.
N_MATTERS, N_CROSS, N_NO_APPLICATION, N_AI = 564, 52, 24, 44

CATEGORIES = ("licence", "confirmation", "public_service", "payment", "filing")
_CATEGORY_P = (0.35, 0.20, 0.25, 0.10, 0.10)
_PROMISED = {"licence": (5, 10, 15, 20), "confirmation": (1, 3, 5),
             "public_service": (0, 1, 3), "payment": (5, 10), "filing": (0, 1)}
_REVIEW_H = {"licence": 1.0, "confirmation": 0.3, "public_service": 0.2, "payment": 0.3,
             "filing": 0.15}
AUDIENCES = ("citizen", "enterprise")

COLUMNS = ("code", "department", "category", "audience", "hall", "subdistrict", "online",
           "cross_provincial", "no_application", "ai_assisted", "promised_days",
           "documents", "incomplete_prob", "counter_min", "review_hours", "weight")
_FLAGS = ("hall", "subdistrict", "online", "cross_provincial", "no_application",
          "ai_assisted")

_HEADER = f"""\
# The services hall's matter catalogue: {N_MATTERS} matters of 29 departments.
# ALL ROWS ARE GENERATED (no per-matter Jing'an list is published): totals from the seed
# interview (564 matters, 29 departments, {N_CROSS} cross-provincial, {N_NO_APPLICATION}
# no-application, {N_AI} AI-assisted); every other figure drawn from the distributions
# stated in urbangrid/hall/catalogue.py (hall/catalogue.py) with seed {CATALOGUE_SEED}.
# Regenerate: python -m urbangrid.hall.catalogue data/catalogue/hall_matters.csv
# Lines starting with '#' are comments.
"""


@dataclass(frozen=True)
class Matters:
    """A validated matter catalogue as parallel arrays (row ``i`` = matter ``i``).

    ``dept`` indexes :attr:`departments` (the departments table's row, restricted to
    those with matters); flags are boolean arrays.
    """

    code: tuple[str, ...]
    dept: np.ndarray
    category: tuple[str, ...]
    audience: tuple[str, ...]
    hall: np.ndarray
    subdistrict: np.ndarray
    online: np.ndarray
    cross_provincial: np.ndarray
    no_application: np.ndarray
    ai_assisted: np.ndarray
    promised_days: np.ndarray
    documents: np.ndarray
    incomplete_prob: np.ndarray
    counter_min: np.ndarray
    review_hours: np.ndarray
    weight: np.ndarray
    departments: tuple[str, ...]
    source: str

    @property
    def n(self) -> int:
        return len(self.code)

    def index(self, code: str, *, where: str = "") -> int:
        """Row of matter ``code``.

        Raises
        ------
        InputError
            For an unknown matter (naming ``where`` it was asked for).
        """
        try:
            return self.code.index(code)
        except ValueError:
            raise InputError(f"{where + ': ' if where else ''}unknown matter {code!r} "
                             f"(the catalogue {self.source} has {self.n} matters, "
                             f"{self.code[0]} ... {self.code[-1]})") from None

    def replace(self, **arrays: np.ndarray) -> Matters:
        """A copy with some arrays replaced (what-if levers)."""
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}
        fields.update(arrays)
        return Matters(**fields)


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total`` in proportion to ``weights``."""
    raw = total * weights / weights.sum()
    n = np.floor(raw).astype(int)
    order = np.argsort(-(raw - n), kind="stable")
    n[order[: total - n.sum()]] += 1
    return n


def generate_catalogue(departments: Departments | None = None,
                       seed: int = CATALOGUE_SEED) -> list[dict[str, str]]:
    """The generated catalogue's rows (strings, in :data:`COLUMNS` order); see the module
    docstring for the distributions."""
    deps = departments or load_departments()
    rng = np.random.default_rng(seed)
    keep = np.flatnonzero(deps.hall_weight > 0)
    per = _apportion(N_MATTERS, deps.hall_weight[keep])
    dept = np.repeat(keep, per)
    n = len(dept)
    cat = rng.choice(len(CATEGORIES), size=n, p=_CATEGORY_P)
    enterprise = rng.random(n) < 0.4
    promised = np.array([rng.choice(_PROMISED[CATEGORIES[c]]) for c in cat])
    documents = np.minimum(1 + rng.poisson(3.0, n), 12)
    incomplete = rng.uniform(0.10, 0.30, n)
    counter = np.where(enterprise, rng.uniform(15, 25, n), rng.uniform(10, 18, n))
    review = np.array([_REVIEW_H[CATEGORIES[c]] for c in cat]) * rng.lognormal(0, 0.4, n)
    weight = rng.lognormal(0.0, 1.3, n)
    sub = rng.random(n) < np.where(enterprise, 0.1, 0.6)
    online = rng.random(n) < 0.7
    # no-application: citizen benefits and certificates the department can grant on data
    pool = np.flatnonzero(~enterprise & np.isin(cat, [1, 2, 3]) & (promised > 0))
    no_app = np.zeros(n, bool)
    no_app[rng.choice(pool, N_NO_APPLICATION, replace=False)] = True
    cross = np.zeros(n, bool)
    cross[rng.choice(np.flatnonzero(~no_app), N_CROSS, replace=False)] = True
    ai = np.zeros(n, bool)
    ai[rng.choice(np.flatnonzero(online & ~no_app), N_AI, replace=False)] = True
    rows = []
    count: dict[int, int] = {}
    for i in range(n):
        k = int(dept[i])
        count[k] = count.get(k, 0) + 1
        rows.append({
            "code": f"{deps.code[k]}-{count[k]:03d}", "department": deps.code[k],
            "category": CATEGORIES[cat[i]], "audience": AUDIENCES[int(enterprise[i])],
            "hall": "1", "subdistrict": str(int(sub[i])), "online": str(int(online[i])),
            "cross_provincial": str(int(cross[i])), "no_application": str(int(no_app[i])),
            "ai_assisted": str(int(ai[i])), "promised_days": str(int(promised[i])),
            "documents": str(int(documents[i])), "incomplete_prob": f"{incomplete[i]:.3f}",
            "counter_min": f"{counter[i]:.1f}", "review_hours": f"{review[i]:.3f}",
            "weight": f"{weight[i]:.4f}"})
    return rows


def catalogue_text(rows: list[dict[str, str]]) -> str:
    """The CSV text of ``rows`` with the provenance header."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return _HEADER + buf.getvalue()


def write_catalogue(path: str | Path) -> Path:
    """Generate the catalogue and write it to ``path``."""
    path = Path(path)
    path.write_text(catalogue_text(generate_catalogue()), encoding="utf-8")
    return path


def _number(raw: str, where: str, field: str, source: str, *, integer: bool = False,
            lo: float = 0.0, hi: float = 1e6) -> float:
    try:
        v = int(raw) if integer else float(raw)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {field} = {raw!r} is not "
                         f"{'an integer' if integer else 'a number'}", source=source) from None
    if not (lo <= v <= hi):
        raise InputError(f"{where}: {field} = {raw!r} is outside [{lo:g}, {hi:g}]",
                         source=source)
    return v


def load_matters(path: str | Path | None = None,
                 departments: Departments | None = None) -> Matters:
    """Read and validate a matter catalogue (default: the built-in one).

    Raises
    ------
    InputError
        On a missing file or column, a duplicate code, an unknown department or category,
        a flag that is not 0/1, a number out of range, or a matter with no channel; the
        message names the file, the row (line number), the field and the value.
    """
    deps = departments or load_departments()
    text, source = table_text(path, "catalogue/hall_matters.csv", "matter catalogue")
    lines = text.splitlines()
    body = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    if not body:
        raise InputError("matter catalogue has no header and no rows", source=source)
    reader = csv.DictReader([ln for _, ln in body])
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"matter catalogue lacks columns {missing}", source=source)
    rows = list(reader)
    if not rows:
        raise InputError("matter catalogue has no rows", source=source)
    line_of = [ln for ln, _ in body[1:]]
    dep_index = {c: k for k, c in enumerate(deps.code)}
    codes: list[str] = []
    seen: set[str] = set()
    cols: dict[str, list] = {c: [] for c in COLUMNS}
    for j, r in enumerate(rows):
        where = f"line {line_of[j]} (matter {r.get('code')!r})"
        code = (r["code"] or "").strip()
        if not code:
            raise InputError(f"{where}: code is empty", source=source)
        if code in seen:
            raise InputError(f"{where}: duplicate matter code {code!r}", source=source)
        seen.add(code)
        codes.append(code)
        if r["department"] not in dep_index:
            raise InputError(f"{where}: department = {r['department']!r} is not in the "
                             f"departments table ({deps.source})", source=source)
        if r["category"] not in CATEGORIES:
            raise InputError(f"{where}: category = {r['category']!r} is not one of "
                             f"{list(CATEGORIES)}", source=source)
        if r["audience"] not in AUDIENCES:
            raise InputError(f"{where}: audience = {r['audience']!r} is not one of "
                             f"{list(AUDIENCES)}", source=source)
        for f in _FLAGS:
            if r[f] not in ("0", "1"):
                raise InputError(f"{where}: {f} = {r[f]!r} must be 0 or 1", source=source)
            cols[f].append(r[f] == "1")
        if not (cols["hall"][-1] or cols["subdistrict"][-1] or cols["online"][-1]
                or cols["no_application"][-1]):
            raise InputError(f"{where}: no channel (hall, subdistrict, online and "
                             "no_application are all 0)", source=source)
        cols["department"].append(dep_index[r["department"]])
        cols["category"].append(r["category"])
        cols["audience"].append(r["audience"])
        cols["promised_days"].append(_number(r["promised_days"], where, "promised_days",
                                             source, integer=True, hi=365))
        cols["documents"].append(_number(r["documents"], where, "documents", source,
                                         integer=True, hi=100))
        cols["incomplete_prob"].append(_number(r["incomplete_prob"], where,
                                               "incomplete_prob", source, hi=1.0))
        cols["counter_min"].append(_number(r["counter_min"], where, "counter_min", source,
                                           lo=0.1, hi=600))
        cols["review_hours"].append(_number(r["review_hours"], where, "review_hours",
                                            source, hi=1000))
        w = _number(r["weight"], where, "weight", source, hi=1e9)
        cols["weight"].append(w)
    used = sorted(set(cols["department"]))
    remap = {k: i for i, k in enumerate(used)}
    return Matters(
        code=tuple(codes), dept=np.array([remap[k] for k in cols["department"]]),
        category=tuple(cols["category"]), audience=tuple(cols["audience"]),
        **{f: np.array(cols[f], dtype=bool) for f in _FLAGS},
        promised_days=np.array(cols["promised_days"], dtype=float),
        documents=np.array(cols["documents"], dtype=int),
        incomplete_prob=np.array(cols["incomplete_prob"]),
        counter_min=np.array(cols["counter_min"]),
        review_hours=np.array(cols["review_hours"]),
        weight=np.array(cols["weight"]),
        departments=tuple(deps.code[k] for k in used), source=source)


if __name__ == "__main__":  # python -m urbangrid.hall.catalogue PATH
    if len(sys.argv) != 2:
        sys.exit("usage: python -m urbangrid.hall.catalogue PATH")
    print(write_catalogue(sys.argv[1]))
