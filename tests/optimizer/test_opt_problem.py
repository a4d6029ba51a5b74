"""DispatchProblem validation, ScoreWeights and Assignment records."""

import numpy as np
import pytest
from opt_helpers import tiny_kwargs

from urbangrid.errors import InputError
from urbangrid.optimizer import DeferReason, DispatchProblem, ScoreWeights


def test_fields_are_coerced_to_documented_dtypes(tiny):
    assert tiny.task_id.dtype == np.int64
    assert tiny.task_cell.dtype == np.int32
    assert tiny.task_skill.dtype == np.int64
    assert tiny.task_priority.dtype == np.float64
    assert tiny.team_capacity.dtype == np.int32
    assert tiny.travel.dtype == np.float32 and tiny.travel.flags.c_contiguous
    assert (tiny.task_pinned == -1).all() and tiny.task_pinned.shape == (3,)
    assert (tiny.team_load == 0).all() and tiny.team_load.dtype == np.int32
    assert (tiny.n_tasks, tiny.n_teams, tiny.n_cells) == (3, 3, 4)


def test_integral_floats_are_accepted_but_fractions_are_not():
    p = DispatchProblem(**tiny_kwargs(task_cell=np.array([0.0, 3.0, 2.0])))
    assert p.task_cell.tolist() == [0, 3, 2]
    with pytest.raises(InputError, match="task_cell"):
        DispatchProblem(**tiny_kwargs(task_cell=np.array([0.5, 3.0, 2.0])))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("task_cell", np.array([0, 4, 2]), r"task_cell\[1\] = 4"),
        ("task_cell", np.array([0, -1, 2]), r"task_cell\[1\]"),
        ("task_cell", np.array([0, 1]), "task_cell has length 2"),
        ("task_priority", np.array([1.0, 0.0, 1.0]), r"task_priority\[1\]"),
        ("task_priority", np.array([1.0, np.nan, 1.0]), "task_priority holds NaN"),
        ("task_work", np.array([1.0, -5.0, 1.0]), r"task_work\[1\]"),
        ("task_deadline", np.array([1.0, np.nan, 1.0]), "task_deadline holds NaN"),
        ("task_skill", np.array([1, -1, 1]), r"task_skill\[1\]"),
        ("task_pinned", np.array([0, 3, -1]), r"task_pinned\[1\] = 3"),
        ("task_current", np.array([-2, -1, -1]), r"task_current\[0\]"),
        ("task_id", np.array([11, 12, 11]), "duplicate id 11"),
        ("team_id", np.array([5, 5, 6]), "team_id has duplicate id 5"),
        ("team_capacity", np.array([1, -1, 1]), r"team_capacity\[1\]"),
        ("team_shift_end", np.array([20_000.0, 20_000.0, 1.0]), r"team_shift_end\[2\]"),
        ("team_free_at", np.array([0.0, np.nan, 0.0]), "team_free_at holds NaN"),
        ("team_cell", np.array([0, 9, 1]), r"team_cell\[1\]"),
        ("travel", np.zeros((2, 4)), "travel has shape"),
        ("travel", np.full((3, 4), np.nan), "travel must be >= 0"),
        ("travel", np.full((3, 4), -1.0), "travel must be >= 0"),
        ("cell_travel", np.zeros((3, 3)), "cell_travel has shape"),
        ("forecast", np.ones((4, 2)), "forecast_horizon = 0.0 must be > 0"),
        ("forecast_horizon", 3600.0, "forecast_horizon is given without a forecast"),
        ("task_id", np.array([[1, 2, 3]]), "1-D"),
        ("now", float("nan"), "now must be finite"),
        ("now", "soon", "now must be a number"),
        ("task_skill", np.array(["a", "b", "c"]), "task_skill must hold integers"),
        ("weights", {"travel": 1}, "weights must be a ScoreWeights"),
    ],
)
def test_bad_fields_raise_input_error_naming_the_field(field, value, match):
    with pytest.raises(InputError, match=match):
        DispatchProblem(**tiny_kwargs(**{field: value}))


def test_unreachable_cells_are_allowed_as_inf():
    travel = np.array(tiny_kwargs()["travel"])
    travel[0, 2] = np.inf
    p = DispatchProblem(**tiny_kwargs(travel=travel))
    assert np.isinf(p.travel[0, 2])


def test_empty_problem_is_valid():
    kw = tiny_kwargs()
    for k in list(kw):
        if k.startswith("task_"):
            kw[k] = np.zeros(0)
    p = DispatchProblem(**kw)
    assert p.n_tasks == 0 and p.task_cell.dtype == np.int32


@pytest.mark.parametrize("field", ["travel", "wait", "lateness", "balance", "reassignment",
                                   "defer"])
@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "x"])
def test_score_weights_are_validated(field, value):
    with pytest.raises(InputError, match=f"ScoreWeights.{field}"):
        ScoreWeights(**{field: value})


def test_replace_revalidates(tiny):
    later = tiny.replace(now=5000.0)
    assert later.now == 5000.0 and tiny.now == 1000.0
    with pytest.raises(InputError):
        tiny.replace(task_priority=np.array([1.0, -1.0, 1.0]))


def test_team_start_and_defer_cost(tiny):
    # team 2's shift starts at 30 000; the others can leave now
    assert tiny.team_start().tolist() == [1000.0, 1000.0, 30_000.0]
    w = tiny.weights
    assert tiny.defer_cost().tolist() == [w.defer, 2 * w.defer, w.defer]


def test_defer_reason_codes_are_stable():
    assert DeferReason.ASSIGNED == 0
    assert {r.name for r in DeferReason} >= {
        "NO_QUALIFIED_TEAM", "NO_CAPACITY", "OFF_SHIFT", "CHEAPER_TO_DEFER"}


def test_score_weights_from_mapping():
    assert ScoreWeights.from_mapping({}) == ScoreWeights()
    assert ScoreWeights.from_mapping(None) == ScoreWeights()
    assert ScoreWeights.from_mapping({"travel": 2}).travel == 2.0
    with pytest.raises(InputError, match="unknown score weight.*'speed'"):
        ScoreWeights.from_mapping({"speed": 1}, source="scenario.toml")


def test_forecast_is_kept_with_its_horizon():
    p = DispatchProblem(**tiny_kwargs(forecast=np.ones((4, 2), dtype=np.float32),
                                      forecast_horizon=7200))
    assert p.forecast.dtype == np.float64 and p.forecast.shape == (4, 2)
    assert p.forecast_horizon == 7200.0
    assert DispatchProblem(**tiny_kwargs()).forecast is None
    for bad, match in [(np.zeros((3, 2)), "forecast has shape"),
                       (np.full((4, 2), -1.0), "forecast must be finite and >= 0"),
                       (np.full((4, 2), np.inf), "forecast must be finite and >= 0")]:
        with pytest.raises(InputError, match=match):
            DispatchProblem(**tiny_kwargs(forecast=bad, forecast_horizon=60))
