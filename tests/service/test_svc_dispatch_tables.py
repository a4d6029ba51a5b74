"""``POST /dispatch`` on JSON tables: UTC offsets, 64-bit ids, crews, ``now``'s kind,
column names given twice and error texts (issue 19, defects 1, 2 and 6)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.service.svc_helpers import INSIDE, assert_error

TASK = {"id": 1, "lat": INSIDE[0], "lon": INSIDE[1], "skill": "sanitation",
        "deadline": "2026-12-06T20:00:00+08:00", "work_minutes": 10}
TEAM = {"id": 1, "lat": INSIDE[0], "lon": INSIDE[1], "skills": "sanitation", "capacity": 3,
        "shift_start": "2026-12-06T08:00:00+08:00", "shift_end": "2026-12-06T17:00:00+08:00"}


def dispatch(inproc, tasks=(TASK,), teams=(TEAM,), **body):
    return inproc.http.post("/dispatch", params={"api_key": inproc.keys["dispatcher"]},
                            json={"tasks": list(tasks), "teams": list(teams), **body})


def test_now_keeps_its_utc_offset_and_etas_carry_one(inproc):
    # 16:00+08:00 is 08:00Z: one hour of the shift (00:00Z-09:00Z) is left either way
    answers = {}
    for now in ("2026-12-06T16:00:00+08:00", "2026-12-06T08:00:00Z"):
        r = dispatch(inproc, now=now)
        assert r.status_code == 200, r.text
        (row,) = r.json()["assignments"]
        assert row["status"] == "assigned", (now, row)
        answers[now] = dt.datetime.fromisoformat(row["eta"])
    eta_local, eta_z = answers.values()
    assert eta_local.utcoffset() == dt.timedelta(hours=8)  # now's offset
    assert eta_z.utcoffset() == dt.timedelta(0)
    assert eta_local == eta_z  # the same instant


def test_etas_take_the_tables_offset_without_now(inproc):
    (row,) = dispatch(inproc).json()["assignments"]
    assert row["eta"] == "2026-12-06T08:00:00+08:00"  # the shift's start, in its offset


def test_tables_with_different_offsets_are_compared_as_instants(inproc):
    # the deadline 12:30Z is 20:30+08:00: after the shift's start
    r = dispatch(inproc, tasks=[dict(TASK, deadline="2026-12-06T12:30:00Z")])
    assert r.status_code == 200 and r.json()["assignments"][0]["status"] == "assigned", r.text


@pytest.mark.parametrize(("now", "tasks", "words"), [
    ("2026-12-06T09:00:00", [TASK], ("now", "offset")),
    (None, [TASK, dict(TASK, id=2, deadline="2026-12-06T20:00:00")], ("offset", "deadline")),
])
def test_times_with_and_without_offset_are_not_mixed(inproc, now, tasks, words):
    assert_error(dispatch(inproc, tasks=tasks, now=now), 400, *words)


def test_numeric_now_against_iso_tables_is_400(inproc):
    assert_error(dispatch(inproc, now=12345), 400, "now", "ISO 8601")
    assert_error(dispatch(inproc, now="yesterday"), 400, "now", "yesterday")


def test_ids_beyond_64_bits_are_refused_not_wrapped(inproc):
    assert_error(dispatch(inproc, tasks=[dict(TASK, id=2**70)]), 400, "id", "64-bit")
    assert_error(dispatch(inproc, teams=[dict(TEAM, id=str(2**70))]), 400, "teams", "id")
    assert_error(dispatch(inproc, teams=[dict(TEAM, capacity=2**40)]), 400, "capacity")
    r = dispatch(inproc, tasks=[dict(TASK, id=2**63 - 1)])
    assert r.status_code == 200 and r.json()["assignments"][0]["id"] == 2**63 - 1


def test_several_crews_need_the_method_that_staffs_them(inproc):
    teams = [dict(TEAM, id=k) for k in (1, 2, 3)]
    assert_error(dispatch(inproc, tasks=[dict(TASK, crews=3)], teams=teams), 400,
                 "crews", "cpsat")
    r = dispatch(inproc, tasks=[dict(TASK, crews=3)], teams=teams, method="cpsat")
    assert r.status_code == 200, r.text
    assert r.json()["assignments"][0]["crew_teams"] == "1;2;3"


def test_a_column_given_twice_in_other_case_is_400(inproc):
    assert_error(dispatch(inproc, tasks=[dict(TASK, LAT=INSIDE[0])]), 400, "'lat'", "'LAT'")
    assert_error(dispatch(inproc, tasks=[dict(TASK, id=[1])]), 400, "id", "list")


def test_error_texts_name_fields_not_flags_or_numpy(inproc):
    for r in (dispatch(inproc, teams=[dict(TEAM, capacity=1.5)]),
              dispatch(inproc, now="not a time")):
        assert r.status_code == 400
        text = r.json()[0]["description"]
        assert "--" not in text and "np." not in text, text
    assert "1.5" in dispatch(inproc, teams=[dict(TEAM, capacity=1.5)]).text
