"""A live request's deadline counts working hours and working days on the Chinese
calendar (weekends, public holidays, make-up working days), end to end: filed over HTTP
at a chosen instant, read back as ``deadline_datetime`` (issue 19, defect 8)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.service.conftest import InProcess
from tests.service.svc_helpers import INSIDE

CST = dt.timezone(dt.timedelta(hours=8))


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)


# The expected deadlines are read off the 2026 calendar by hand (working day 09:00-17:00):
# piled_debris: 1 working day; exposed_garbage: 2 working hours; illegal_car_parking:
# 2 calendar hours (data/catalogue/categories.csv).
CASES = [
    # Friday afternoon: the weekend does not count
    (at(2026, 12, 4, 16, 30), "piled_debris", at(2026, 12, 7, 16, 30)),
    (at(2026, 12, 4, 16, 30), "exposed_garbage", at(2026, 12, 7, 10, 30)),
    (at(2026, 12, 4, 16, 30), "illegal_car_parking", at(2026, 12, 4, 18, 30)),
    # the day before the National Day holiday (1-7 October): due after it
    (at(2026, 9, 30, 16, 30), "piled_debris", at(2026, 10, 8, 16, 30)),
    (at(2026, 9, 30, 16, 30), "exposed_garbage", at(2026, 10, 8, 10, 30)),
    # Friday before the make-up working Saturday 10 October: due on that Saturday
    (at(2026, 10, 9, 16, 30), "piled_debris", at(2026, 10, 10, 16, 30)),
]


@pytest.mark.parametrize(("filed", "code", "due"), CASES,
                         ids=[f"{c[1]}@{c[0]:%Y-%m-%d}" for c in CASES])
def test_deadline_counts_working_time_on_the_chinese_calendar(tmp_path, filed, code, due):
    app = InProcess(f"sqlite:///{tmp_path / 'svc.db'}", clock=filed.timestamp)
    try:
        r = app.http.post("/requests.json", data={
            "api_key": app.keys["intake"], "service_code": code, "lat": INSIDE[0],
            "long": INSIDE[1], "attribute[plate]": "沪A12345"} if code == "illegal_car_parking"
            else {"api_key": app.keys["intake"], "service_code": code, "lat": INSIDE[0],
                  "long": INSIDE[1]})
        assert r.status_code == 201, r.text
        rid = r.json()[0]["service_request_id"]
        (got,) = app.http.get(f"/requests/{rid}.json").json()
    finally:
        app.close()
    assert dt.datetime.fromisoformat(got["requested_datetime"]) == filed
    assert dt.datetime.fromisoformat(got["deadline_datetime"]) == due
