"""Deadlines on the working-day calendar: one rule for the simulation and the live service."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pytest

from urbangrid.calendar import CHINA_TZ, WorkCalendar
from urbangrid.catalogue import LIMIT_UNITS, due_at, due_times, load_catalogue
from urbangrid.errors import InputError


def cst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(("filed", "limit", "unit", "due"), [
    # an ordinary Friday afternoon: the rest of the day runs out at 17:00, Monday follows
    (cst(2026, 11, 27, 16, 30), 1, "working_days", cst(2026, 11, 30, 16, 30)),
    # Thursday before the Mid-Autumn holiday (Friday 2026-09-25 is off)
    (cst(2026, 9, 24, 16, 30), 1, "working_days", cst(2026, 9, 28, 16, 30)),
    # Friday before a make-up working Saturday (调休, 2026-10-10)
    (cst(2026, 10, 9, 16, 30), 1, "working_days", cst(2026, 10, 10, 16, 30)),
    # filed at night: the clock starts the next working morning
    (cst(2026, 11, 27, 21, 0), 2, "working_hours", cst(2026, 11, 30, 11, 0)),
    # calendar hours run through the night and the weekend
    (cst(2026, 11, 27, 23, 0), 2, "calendar_hours", cst(2026, 11, 28, 1, 0)),
    # the National Day week: 2026-10-01 .. 10-07 off, 10-08 and 10-09 working
    (cst(2026, 9, 30, 10, 0), 1, "working_days", cst(2026, 10, 8, 10, 0)),
])
def test_due_at_counts_the_chinese_working_calendar(filed, limit, unit, due):
    assert due_at(filed, limit, unit) == due


def test_due_at_reads_other_zones_as_the_same_instant():
    filed = cst(2026, 11, 27, 16, 30)
    assert due_at(filed.astimezone(dt.UTC), 1, "working_days") == cst(2026, 11, 30, 16, 30)


def test_due_at_refuses_unknown_units_and_bad_limits():
    with pytest.raises(InputError, match="working_weeks"):
        due_at(cst(2026, 11, 27, 9), 1, "working_weeks")
    with pytest.raises(InputError, match="finite"):
        due_at(cst(2026, 11, 27, 9), float("nan"), "working_days")


def test_the_service_and_the_simulation_share_the_rule():
    # the simulation's vectorised deadlines on a run calendar give the same instants
    start = dt.datetime(2026, 9, 21)
    cal = WorkCalendar(start, 60)
    cat = load_catalogue()
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 20 * 86400.0, 200)
    k = rng.integers(0, cat.n, 200)
    sim = cat.deadlines(cal, t, k)
    for ti, ki, di in zip(t, k, sim, strict=True):
        filed = start + dt.timedelta(seconds=float(ti))
        live = due_at(filed, float(cat.limit[ki]), cat.limit_unit[ki])
        assert abs((live.replace(tzinfo=None) - start).total_seconds() - di) < 1e-3


def test_service_deadline_of_a_friday_request():
    from urbangrid.service.catalogue import load_services

    svc = load_services()["street_laundry"]  # 1 working day
    assert (svc.limit, svc.limit_unit) == (1.0, "working_days")
    filed = cst(2026, 11, 27, 16, 30).timestamp()
    assert svc.deadline(filed) == cst(2026, 11, 30, 16, 30).timestamp()


def test_due_times_keeps_nan_and_units():
    cal = WorkCalendar(dt.datetime(2026, 11, 23), 20)
    t = np.array([np.nan, 0.0, 0.0, 0.0])
    out = due_times(cal, t, np.array([1.0, 1.0, 1.0, 1.0]),
                    np.array([0, 0, LIMIT_UNITS.index("working_hours"), 2]))
    assert np.isnan(out[0])
    assert out[1] == 3600.0
    assert out[2] == 10 * 3600.0  # Monday: 09:00 + 1 working hour
    assert out[3] == 17 * 3600.0  # one whole working day from Monday midnight


def test_importing_the_service_loads_neither_simpy_nor_the_engine():
    code = ("import sys, urbangrid.service, urbangrid.service.app, urbangrid.service.ledger; "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'simpy' "
            "or m.startswith('urbangrid.simulation') or m.startswith('urbangrid.study') "
            "or m.startswith('urbangrid.calibration')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_the_domain_layer_loads_neither_simpy_nor_numba():
    code = ("import sys, urbangrid, urbangrid.catalogue, urbangrid.calendar, urbangrid.cli; "
            "print([m for m in sys.modules if m.split('.')[0] in ('simpy', 'numba')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
