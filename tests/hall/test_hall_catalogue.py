"""The matter catalogue: the seed's totals, its regeneration, and validation errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.shared import ROOT
from urbangrid.errors import InputError
from urbangrid.hall.catalogue import (
    COLUMNS,
    catalogue_text,
    generate_catalogue,
    load_matters,
)
from urbangrid.organisations import load_departments

CSV = ROOT / "data" / "catalogue" / "hall_matters.csv"


def test_built_in_catalogue_has_the_seed_totals():
    m = load_matters()
    assert m.n == 564
    assert len(m.departments) == 29
    assert int(m.cross_provincial.sum()) == 52
    assert int(m.no_application.sum()) == 24
    assert int(m.ai_assisted.sum()) == 44
    assert len(set(m.code)) == 564
    # every department has matters, split by hall_weight
    counts = np.bincount(m.dept, minlength=29)
    assert (counts > 0).all()
    deps = load_departments()
    w = {c: deps.hall_weight[k] for k, c in enumerate(deps.code)}
    weights = np.array([w[c] for c in m.departments])
    assert np.abs(counts - 564 * weights / weights.sum()).max() < 1.0


def test_catalogue_file_is_what_the_generator_writes():
    assert CSV.read_text(encoding="utf-8") == catalogue_text(generate_catalogue())


def test_catalogue_says_its_rows_are_generated():
    head = CSV.read_text(encoding="utf-8").splitlines()[:5]
    assert any("GENERATED" in line for line in head)


def _write(tmp_path, rows):
    p = tmp_path / "m.csv"
    p.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


GOOD = "x-001,civil_affairs,licence,citizen,1,0,1,0,0,0,5,3,0.2,12.0,0.5,1.0"


@pytest.mark.parametrize("row, message", [
    (GOOD.replace("civil_affairs", "ministry_of_magic"), "department = 'ministry_of_magic'"),
    (GOOD.replace("licence", "permit"), "category = 'permit'"),
    (GOOD.replace(",citizen,1,", ",citizen,yes,"), "hall = 'yes' must be 0 or 1"),
    (GOOD.replace(",12.0,", ",-3,"), "counter_min = '-3' is outside"),
    (GOOD.replace(",0.2,", ",1.5,"), "incomplete_prob = '1.5' is outside"),
    (GOOD.replace(",5,3,", ",five,3,"), "promised_days = 'five' is not an integer"),
    ("x-001,civil_affairs,licence,citizen,0,0,0,0,0,0,5,3,0.2,12.0,0.5,1.0", "no channel"),
], ids=["department", "category", "flag", "counter_min", "probability", "promised", "channel"])
def test_bad_rows_name_file_line_field_and_value(tmp_path, row, message):
    p = _write(tmp_path, [row])
    with pytest.raises(InputError, match="line 2") as err:
        load_matters(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)


def test_duplicate_code_and_missing_column(tmp_path):
    with pytest.raises(InputError, match="duplicate matter code 'x-001'"):
        load_matters(_write(tmp_path, [GOOD, GOOD]))
    p = tmp_path / "short.csv"
    p.write_text("code,department\nx,civil_affairs\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks columns"):
        load_matters(p)
    with pytest.raises(InputError, match="not found"):
        load_matters(tmp_path / "absent.csv")
