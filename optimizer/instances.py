"""Reference dispatch instances: named, versioned snapshots with their best-known objective.

An instance is a folder holding the two tables ``urbangrid dispatch`` reads
(``tasks.csv`` and ``teams.csv``, :mod:`urbangrid.optimizer.tables`; cells as H3 ids of
the built-in district, times in seconds) and ``instance.json``, its description
(:class:`InstanceInfo`): name, version of the set, where it was frozen from (scenario,
overrides, seed, simulated time), its sizes, the clock ``now`` and score weights of the
round, and the best-known objective with the method that found it and how it was proven.
``benchmarks/instances/README.md`` documents the format, ``python -m benchmarks.instances``
freezes the set and writes its results table.

The set is looked up in the folder named by the environment variable
``URBANGRID_INSTANCES`` if set, else in ``benchmarks/instances`` of the source checkout
the package is installed from (an editable install: ``benchmarks/`` is not package data),
so ``urbangrid dispatch --instance NAME`` works from any working folder.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from urbangrid.errors import InputError

from .problem import DispatchProblem, ScoreWeights

__all__ = ["ENV_VAR", "BestKnown", "Instance", "InstanceInfo", "available_instances",
           "gap", "instances_folder", "load_instance", "read_instance"]

#: environment variable naming the folder of the instance set
ENV_VAR = "URBANGRID_INSTANCES"
INFO_FILE = "instance.json"
TASKS_FILE = "tasks.csv"
TEAMS_FILE = "teams.csv"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BestKnown(_Record):
    """The best-known answer's objective (:func:`urbangrid.optimizer.evaluate`) and proof."""

    objective: float
    method: str = Field(description="the method that found it (a solve method or policy)")
    proof: str = Field(description="'optimal by the exact min-cost flow', 'CP-SAT optimal' "
                       "or 'CP-SAT bound B, gap g'")
    lower_bound: float | None = Field(None, description="a proven lower bound, if any")


class InstanceSource(_Record):
    """Where the snapshot was frozen from."""

    scenario: str = Field(description="scenario file, relative to the repository")
    overrides: dict[str, object] = Field(default_factory=dict,
                                         description="--set overrides of the run")
    crew_scale: float = Field(1.0, description="every crew's team count multiplied by this")
    seed: int
    replication: int = 0
    round: int = Field(description="the dispatch round's number in the run (from 0)")
    simulated_time_s: float = Field(description="the round's time, seconds of simulation")
    simulated_time: str = Field(description="the same as 'day D hh:mm' from the start")
    waiting: int = Field(description="cases in the dispatch pools when the round began "
                         "(the offered ones included)")
    pool_by_day: list[dict[str, int]] = Field(
        default_factory=list, description="the run's pools, day by day: largest size and "
        "size at the day's last round")
    selection: str = Field(description="the rule that chose the round (and any sub-problem)")
    team_cells: str = Field(description="where the teams' cells come from")
    urbangrid_commit: str = Field("", description="the code that froze it (git commit)")


class InstanceInfo(_Record):
    """The contents of ``instance.json``."""

    name: str
    version: str = Field(description="version of the instance set")
    description: str = ""
    district: str = Field("jingan", description="the built-in district the cells are in")
    resolution: int = Field(10, ge=7, le=11, description="H3 resolution of the cells")
    now: float = Field(description="the round's clock, seconds (the tables' time origin)")
    mode: str = Field("ebike", description="travel mode of the cell-to-cell matrix "
                      "(routing); each team travels by its own 'mode' column")
    weights: dict[str, float] = Field(description="ScoreWeights of the round")
    sizes: dict[str, int] = Field(description="tasks, teams, cells, skills, overdue, ...")
    source: InstanceSource
    best_known: BestKnown


@dataclass(frozen=True)
class Instance:
    """A loaded reference instance: its description, its problem, its folder, and the
    district cell of each of the problem's cells (``cells[problem.task_cell[i]]``)."""

    info: InstanceInfo
    problem: DispatchProblem
    folder: Path
    cells: np.ndarray

    @property
    def name(self) -> str:
        return self.info.name


def gap(objective: float, best_known: float) -> float:
    """Relative gap of ``objective`` to ``best_known``: ``(objective - best) / |best|``
    (0 when both are 0, inf when only the best is)."""
    if objective == best_known:
        return 0.0
    if best_known == 0.0:
        return math.inf
    return (objective - best_known) / abs(best_known)


def instances_folder() -> Path:
    """The folder of the instance set (module docstring)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env)
    import urbangrid

    return Path(urbangrid.__file__).resolve().parent.parent / "benchmarks" / "instances"


def available_instances(folder: str | Path | None = None) -> tuple[str, ...]:
    """Names of the instances in ``folder`` (default :func:`instances_folder`), sorted."""
    root = Path(folder) if folder is not None else instances_folder()
    if not root.is_dir():
        return ()
    return tuple(sorted(p.name for p in root.iterdir() if (p / INFO_FILE).is_file()))


def load_instance(name: str, folder: str | Path | None = None, *, district=None) -> Instance:
    """The reference instance ``name`` of the set in ``folder`` (default
    :func:`instances_folder`).

    Raises
    ------
    InputError
        An unknown name (listing the available ones), or a malformed instance (naming
        the file and field).
    """
    root = Path(folder) if folder is not None else instances_folder()
    names = available_instances(root)
    if name not in names:
        where = f"{root}" + (f" (set {ENV_VAR} to use another folder)"
                             if not os.environ.get(ENV_VAR) else f" (from {ENV_VAR})")
        known = ", ".join(names) if names else "none"
        raise InputError(f"no reference instance {name!r} in {where}; available: {known}")
    return read_instance(root / name, district=district)


def read_info(path: Path) -> InstanceInfo:
    """The :class:`InstanceInfo` of ``path`` (an ``instance.json``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read: {exc}", source=str(path)) from None
    try:
        return InstanceInfo.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise InputError(f"{where}: {err['msg']}", source=str(path)) from None


def read_instance(folder: str | Path, *, district=None) -> Instance:
    """The instance in ``folder``: its ``instance.json`` and the problem its tables give
    on the district (built-in Jing'an at the instance's resolution unless ``district``
    is given), with its weights and the cell-to-cell travel for routing."""
    import dataclasses

    from .tables import build_problem, read_table

    folder = Path(folder)
    info = read_info(folder / INFO_FILE)
    if district is None:
        if info.district != "jingan":
            raise InputError(f"district {info.district!r}: only the built-in 'jingan' is "
                             "known", source=str(folder / INFO_FILE))
        from urbangrid.grid import District

        district = District.jingan(info.resolution)
    tasks_path, teams_path = folder / TASKS_FILE, folder / TEAMS_FILE
    problem, cells, _ = build_problem(
        read_table(tasks_path), read_table(teams_path), district, now=info.now,
        mode=info.mode, tasks_source=str(tasks_path), teams_source=str(teams_path),
        with_cell_travel=True, allow_overdue=True)
    weights = ScoreWeights.from_mapping(info.weights, source=str(folder / INFO_FILE))
    problem = dataclasses.replace(problem, weights=weights)
    sizes = {"tasks": problem.n_tasks, "teams": problem.n_teams}
    for key, value in sizes.items():
        if info.sizes.get(key, value) != value:
            raise InputError(f"sizes.{key} = {info.sizes[key]} but the tables hold {value}",
                             source=str(folder / INFO_FILE))
    return Instance(info=info, problem=problem, folder=folder, cells=cells)
