"""Multi-crew tasks (catalogue ``crews`` > 1): the policy staffs a task with all its crews
at once (``Assignment.crew_teams``); the extra crews are committed to it, come when the
first crew sets out (after their current task), and the work begins when the last is
there and holds every crew until it ends."""

import numpy as np
import pytest

from tests.toys import toy_scenario
from urbangrid.catalogue import load_catalogue
from urbangrid.errors import InputError
from urbangrid.optimizer import get_policy
from urbangrid.simulation import simulate
from urbangrid.simulation.codes import CHANNEL_CODES, Event, Status

#: a sanitation category (round-the-clock crews), a city-management one (a day-shift
#: crew: its queue is handed back at the shift's end) and a greenery one (the two
#: district-wide works crews: both are needed)
MULTI = {"piled_debris": 2, "illegal_construction": 3, "fallen_tree": 2}


def _scenario(**overrides):
    return toy_scenario(**{
        "dispatch.policy": "cpsat",
        "catalogue.overrides": {code: {"crews": k} for code, k in MULTI.items()},
        "run.drain_days": 2, **overrides})


@pytest.fixture(scope="module")
def run():
    return simulate(_scenario())


def _rows(res, kind):
    ev = res.events
    sel = ev["kind"] == kind
    return ev["time"][sel], ev["case"][sel], ev["team"][sel]


def _needs(res) -> np.ndarray:
    """Crews each case needs, from its category."""
    crews = res.catalogue.crews
    return crews[res.cases["category"]]


def test_the_catalogue_column_is_optional_and_checked():
    assert (load_catalogue().crews == 1).all()
    cat = load_catalogue(overrides={"fallen_tree": {"crews": 2}})
    assert cat.crews[cat.code.index("fallen_tree")] == 2
    for bad, word in ((0, "outside the allowed range"), (9, "outside the allowed range"),
                      (1.5, "not a whole number")):
        with pytest.raises(InputError, match=f"fallen_tree.*crews.*{word}"):
            load_catalogue(overrides={"fallen_tree": {"crews": bad}})


def test_each_start_calls_every_extra_crew_and_the_crews_end_together(run):
    need = _needs(run)
    t_travel, c_travel, j_travel = _rows(run, Event.TRAVEL)
    t_call, c_call, j_call = _rows(run, Event.CREW_CALLED)
    t_done, c_done, j_done = _rows(run, Event.CREW_DONE)
    t_work, c_work, j_work = _rows(run, Event.WORK_DONE)
    multi_starts = need[c_travel] > 1
    assert multi_starts.sum() > 30, "too few multi-crew tasks started to test"
    # every start of a multi-crew task by its first crew calls the others, at that time
    starts = {(int(c), float(t)) for c, t in zip(c_travel[multi_starts],
                                                  t_travel[multi_starts], strict=True)}
    calls: dict = {}
    for c, t, j in zip(c_call, t_call, j_call, strict=True):
        calls.setdefault((int(c), float(t)), []).append(int(j))
    assert set(calls) == starts
    for (c, _), teams in calls.items():
        assert len(teams) == need[c] - 1 and len(set(teams)) == len(teams)
    # no single-crew task calls anyone
    assert (need[c_call] > 1).all() and (need[c_done] > 1).all()
    # the extra crews end with the first one: same case, same time
    ends = {(int(c), float(t)): int(j) for c, t, j in zip(c_work, t_work, j_work, strict=True)}
    for c, t, j in zip(c_done, t_done, j_done, strict=True):
        assert ends[int(c), float(t)] != int(j)


def test_the_work_begins_when_the_last_crew_is_there(run):
    """Cases worked once: the joint work lasts the case's drawn work time after the last
    arrival, so the first crew is on site at least that long and longer when it waits
    for the others (some do)."""
    c = run.cases
    need = _needs(run)
    once = c["n_attempt"] == 0  # one attempt: its work time is the drawn d_work
    t_arr, c_arr, _ = _rows(run, Event.ARRIVED)
    arrived = dict(zip(c_arr.tolist(), t_arr.tolist(), strict=True))
    t_work, c_work, _ = _rows(run, Event.WORK_DONE)
    on_site, drawn = [], []
    for t, k in zip(t_work, c_work, strict=True):
        k = int(k)
        if need[k] > 1 and once[k] and k in arrived:
            on_site.append(t - arrived[k])
            drawn.append(float(c["d_work"][k]))
    on_site, drawn = np.array(on_site), np.array(drawn)
    assert on_site.size > 30
    assert (on_site >= drawn - 1e-3 * np.maximum(drawn, 1.0)).all()
    assert (on_site > drawn + 60.0).any(), "no first crew ever waited for another"


def test_a_called_crew_does_nothing_else_until_the_joint_work_ends(run):
    t_travel, _, j_travel = _rows(run, Event.TRAVEL)
    t_call, c_call, j_call = _rows(run, Event.CREW_CALLED)
    t_done, c_done, j_done = _rows(run, Event.CREW_DONE)
    checked = 0
    for c, j, t in zip(c_call, j_call, t_call, strict=True):
        later = t_done[(c_done == c) & (j_done == j) & (t_done >= t)]
        if later.size == 0:
            continue  # still at it when the run ended
        end = later[0]  # this attempt's end (a re-worked case is called again)
        # its own queue waits: no start of its own between the call and the end
        assert not ((j_travel == j) & (t_travel > t) & (t_travel < end)).any()
        checked += 1
    assert checked > 30


def test_no_case_and_no_crew_is_lost(run):
    """Every commitment ends (joint work done, or the crew released when the task left
    its first crew's queue) or is still pending when the run ends; slots come back."""
    c, ev = run.cases, run.events
    # a case has a closing time exactly when it ended (closed, parked or invalid)
    ended_status = np.isin(c["status"], (Status.CLOSED, Status.PARKED, Status.INVALID))
    assert np.array_equal(np.isfinite(c["t_close"]), ended_status)
    joined = ev["kind"] == Event.CREW_JOINED
    ended = np.isin(ev["kind"], (Event.CREW_DONE, Event.CREW_RELEASED))
    assert joined.sum() > 0
    still_open = np.isnan(c["t_close"])
    for k in np.unique(ev["case"][joined]):
        mine = ev["case"] == k
        n_join, n_end = (joined & mine).sum(), (ended & mine).sum()
        assert n_end == n_join or (still_open[k] and n_end <= n_join)
    # no waiting in a circle: every joint job its first crew set out for ends (its end
    # is fixed then), unless after the run's end
    need = _needs(run)
    t_travel, c_travel, _ = _rows(run, Event.TRAVEL)
    t_work, c_work, _ = _rows(run, Event.WORK_DONE)
    started = need[c_travel] > 1
    assert started.sum() > 30
    # (a few starts of the drain's last hours end after the run: no work_done logged)
    assert (need[c_work] > 1).sum() >= started.sum() - 3
    # and they close: the crews' own cases (the hotline's work orders take days in the
    # offices); those left wait in the pool for enough crews with a free slot at once
    window = (c["t_report"] < run.t_end) & (c["channel"] != CHANNEL_CODES["hotline"])
    assert (window & (need > 1)).sum() > 30
    assert np.isfinite(c["t_close"][window & (need > 1)]).mean() > 0.9


def test_the_extra_crews_time_counts_in_their_statistics(run):
    ev = run.events
    in_window = ev["time"] <= run.t_end
    done = in_window & np.isin(ev["kind"], (Event.WORK_DONE, Event.CREW_DONE))
    assert int(run.teams["tasks"].sum()) == int(done.sum())


def test_handed_back_and_declined_tasks_release_their_crews(run):
    """The day-shift crew's queue goes back to the pool at the shift's end, and units
    decline orders (misroutes): the extra crews of such tasks are released."""
    t_rel, c_rel, _ = _rows(run, Event.CREW_RELEASED)
    assert c_rel.size > 0
    ev = run.events
    left = np.isin(ev["kind"], (Event.HANDED_BACK, Event.SIGNED))
    for c, t in zip(c_rel, t_rel, strict=True):
        assert (left & (ev["case"] == c) & (ev["time"] == t)).any()


def test_every_staffed_answer_is_applied():
    """The snapshot says which crews may still join a multi-crew task (``team_joins``), so
    the policy's staffing is never refused by the commitment rule."""
    base = get_policy("cpsat")
    given, rounds_with_committed = [], []

    def spy(p):
        a = base(p)
        committed = p.team_joins == 0
        rounds_with_committed.append(bool(committed.any()))
        for i in np.flatnonzero((p.task_crews > 1) & (a.team >= 0)):
            assert not committed[a.crew_teams[i][a.crew_teams[i] >= 0]].any()
            given.append((int(p.task_id[i]), p.now))
        return a

    spy.multi_crew = True
    res = simulate(_scenario(), policy=spy)
    t, c, _ = _rows(res, Event.DISPATCHED)
    dispatched = set(zip(c.tolist(), t.tolist(), strict=True))
    assert len(given) > 30 and sum(rounds_with_committed) > 10
    assert all(g in dispatched for g in given)


def test_same_seed_same_run():
    a, b = simulate(_scenario()), simulate(_scenario())
    for key in ("time", "case", "kind", "team"):
        assert np.array_equal(a.events[key], b.events[key])


def test_reoffered_multi_crew_tasks_release_and_restaff():
    res = simulate(_scenario(**{"dispatch.reoffer": True}))
    ev = res.events
    released = ev["kind"] == Event.CREW_RELEASED
    assert released.sum() > 10
    # a released task is staffed again (joined later) or still open
    c = res.cases
    for k in np.unique(ev["case"][released])[:50]:
        mine = ev["case"] == k
        last_rel = ev["time"][mine & released].max()
        again = mine & (ev["kind"] == Event.CREW_JOINED) & (ev["time"] >= last_rel)
        assert again.any() or np.isnan(c["t_close"][k])


def test_a_single_crew_policy_is_refused_with_the_categories_named():
    with pytest.raises(InputError, match=r"dispatch.policy = 'mcf'.*fallen_tree \(2\).*cpsat"):
        simulate(_scenario(**{"dispatch.policy": "mcf"}))


def test_a_policy_that_does_not_staff_a_multi_crew_task_stops_the_run():
    mcf = get_policy("mcf")

    def claims(p):
        return mcf(p)

    claims.multi_crew = True
    with pytest.raises(ValueError, match="fewer crews than they need"):
        simulate(_scenario(), policy=claims)
