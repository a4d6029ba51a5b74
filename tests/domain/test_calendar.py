"""Working-day calendar and working-time arithmetic."""

import datetime as dt
import logging

import numpy as np

from urbangrid.calendar import WorkCalendar, is_chinese_workday

H = 3600.0


def test_chinese_holidays_and_make_up_days():
    d = [dt.date(2025, 10, 1), dt.date(2025, 10, 8), dt.date(2025, 9, 28),
         dt.date(2025, 10, 11), dt.date(2025, 10, 9)]
    # National Day holiday; make-up working Sundays/Saturdays (调休); an ordinary Thursday.
    assert is_chinese_workday(d).tolist() == [False, False, True, True, True]
    assert is_chinese_workday(d, rule="weekdays").tolist() == [True, True, False, False, True]


def test_fallback_to_weekdays_outside_package_years_warns(caplog):
    with caplog.at_level(logging.WARNING):
        flags = is_chinese_workday([dt.date(2035, 1, 1), dt.date(2035, 1, 6)])
    assert flags.tolist() == [True, False]  # Monday, Saturday
    assert "2035" in caplog.text


def test_working_time_arithmetic():
    # Friday 2025-09-26 00:00; Sat 27 off; Sun 28 make-up working day; Mon 29, Tue 30 work;
    # Oct 1-8 holiday.
    cal = WorkCalendar(dt.datetime(2025, 9, 26), 20)
    fri_10 = 10 * H
    assert cal.working_seconds(fri_10) == H
    # 2 working days from Friday 10:00 -> Sunday (make-up day) 17:00? No: Friday 10-17 is
    # 7 h, Sunday 8 h, so 16 working hours end on Monday 10:00.
    t = cal.add_working(fri_10, 16 * H)
    assert t == 3 * 86400 + 10 * H
    assert cal.working_days_between(fri_10, t) == 2.0
    # Tuesday 30 Sep 16:00 + 2 working hours -> Thursday 9 Oct 10:00 (holiday in between).
    tue_16 = 4 * 86400 + 16 * H
    assert cal.add_working(tue_16, 2 * H) == 13 * 86400 + 10 * H
    # next_working from Saturday noon is the Sunday make-up day 09:00.
    assert cal.next_working(86400 + 12 * H) == 2 * 86400 + 9 * H
    assert cal.next_working(fri_10) == fri_10
    # vectorised agrees with scalar
    ts = np.array([fri_10, tue_16])
    np.testing.assert_allclose(cal.add_working(ts, 2 * H),
                               [cal.add_working(fri_10, 2 * H), cal.add_working(tue_16, 2 * H)])


def test_shift_windows():
    cal = WorkCalendar(dt.datetime(2025, 9, 26), 10)
    office = cal.shift_windows("working", 9 * H, 8)
    s, e = office.window_at(12 * H)  # Friday noon: inside
    assert (s, e) == (9 * H, 17 * H)
    s, e = office.window_at(86400 + 12 * H)  # Saturday: next is Sunday (make-up day)
    assert s == 2 * 86400 + 9 * H
    always = cal.shift_windows("all", 0, 24)
    assert always.window_at(123.0) == (-np.inf, np.inf)
    night = cal.shift_windows("all", 21 * H, 10)
    assert night.on_duty_seconds(0, 86400) == 3 * H + 7 * H


def test_scalar_working_time_matches_vectorised():
    cal = WorkCalendar(dt.datetime(2025, 9, 20, 6, 30), 40)
    rng = np.random.default_rng(1)
    t = rng.uniform(-3600, 35 * 86400, 500)
    s = rng.exponential(20 * H, 500)
    s[:20] = 0.0
    vec = cal.add_working(t, s)
    sca = np.array([cal.add_working_scalar(a, b) for a, b in zip(t, s, strict=True)])
    np.testing.assert_allclose(sca, vec, rtol=0, atol=1e-6)
    # far beyond the calendar: extrapolated the same way
    assert cal.add_working_scalar(0.0, 100 * 8 * H) == float(cal.add_working(0.0, 100 * 8 * H))
