"""Hand-made problems shared by the optimizer tests."""

import numpy as np


def tiny_kwargs(**over):
    """Three tasks, three teams on a line of four cells 600 s apart.

    Skills: bit 0 = roads, bit 1 = greenery. Team 2 is off shift (starts in 8 h).
    """
    pos = np.array([0, 1, 2, 3])
    cell_travel = (np.abs(pos[:, None] - pos[None, :]) * 600.0).astype(np.float32)
    team_cell = np.array([0, 3, 1], np.int32)
    kw = dict(
        now=1000.0,
        task_id=np.array([11, 12, 13]),
        task_cell=np.array([0, 3, 2]),
        task_priority=np.array([1.0, 2.0, 1.0]),
        task_skill=np.array([1, 1, 2]),
        task_deadline=np.array([90_000.0, 90_000.0, 90_000.0]),
        task_work=np.array([600.0, 600.0, 600.0]),
        task_area=np.array([0, 1, 1]),
        team_id=np.array([1, 2, 3]),
        team_cell=team_cell,
        team_skills=np.array([1, 3, 2]),
        team_free_at=np.array([0.0, 0.0, 0.0]),
        team_capacity=np.array([1, 1, 1]),
        team_shift_start=np.array([0.0, 0.0, 30_000.0]),
        team_shift_end=np.array([20_000.0, 20_000.0, 60_000.0]),
        team_area=np.array([0, 1, 1]),
        travel=cell_travel[team_cell],
        cell_travel=cell_travel,
    )
    kw.update(over)
    return kw
