"""One printing rule for estimates: the half-width to two significant digits, the mean to
the same place, shares in %, their differences in percentage points (issue 18, defect 8)."""

import math

import pytest

from tests.toys import write_toy
from urbangrid import cli
from urbangrid.study.numbers import estimate, estimate_parts


@pytest.mark.parametrize(("args", "kw", "text"), [
    ((0.76, 0.0603), {}, "0.760 ± 0.060"),            # was "0.76 ± 0.0603"
    ((6650.4, 266.0, "{:,.0f}"), {}, "6,650 ± 270"),  # was "6.65e+03 ± 266"
    ((6650.4, 266.0), {}, "6650 ± 270"),              # no exponent from a {:.3g} format
    ((14.957, 0.048, "{:.2f}"), {}, "14.957 ± 0.048"),
    ((0.9134, 0.0021, "{:.1%}"), {}, "91.34% ± 0.21%"),
    ((0.024, 0.011, "{:.1%}"), {"difference": True}, "+2.4 ± 1.1 pp"),
    ((-0.009, 0.012, "{:.2f}"), {"difference": True}, "-0.009 ± 0.012"),
    ((0.913, None, "{:.1%}"), {}, "91.3%"),
    ((3.0, 0.0, "{:.2f}"), {"difference": True}, "+3.00"),
    ((None, 0.1), {}, "–"),
    ((math.nan, 0.1), {}, "–"),
])
def test_estimates_print_at_the_precision_of_their_interval(args, kw, text):
    assert estimate(*args, **kw) == text


def test_parts_split_the_same_text_for_tables_with_an_interval_column():
    assert estimate_parts(0.76, 0.0603) == ("0.760", "± 0.060")
    assert " ".join(estimate_parts(6650.4, 266.0, "{:,.0f}")) == estimate(6650.4, 266.0,
                                                                          "{:,.0f}")


def test_compare_on_80_columns_keeps_every_kpi_name_whole(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    a, b = write_toy(tmp_path, "a"), write_toy(tmp_path, "b")
    assert cli.main(["compare", str(a), str(b), "--replications", "2",
                     "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 80
    for name in ("handling_days_calendar_mean", "handling_days_working_mean",
                 "hotline.handling_days_calendar_mean", "hotline.handling_days_working_mean"):
        assert f"│ {name} " in out
    assert "pp" in out and "e+0" not in out
