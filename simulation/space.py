"""The space a simulation runs on: cells, areas, responsibility grids and travel times.

:func:`build_space` turns a scenario's ``[district]`` table into a :class:`Space`: the
built-in Jing'an district or one from files (through :class:`urbangrid.grid.District`),
or a small synthetic lattice (``source = "toy"``) used by tests and verification runs.
The model only reads the flat arrays held here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from urbangrid.errors import InputError

from .scenario import DistrictConfig

__all__ = ["MODES", "Space", "build_space"]

MODES = ("walk", "ebike", "car")


@dataclass
class Space:
    """Flat description of the district for the model.

    Attributes
    ----------
    lat, lon
        Cell centres (WGS84), float64 per cell.
    subdistrict
        int32 sub-district index per cell; ``sub_codes[k]`` / ``sub_names[k]`` name it.
    grid
        int32 responsibility grid per cell (0 .. n_grids-1).
    weights
        Named cell weight arrays (``w_area`` …).
    h3
        H3 ids per cell (empty strings for toy cells).
    """

    lat: np.ndarray
    lon: np.ndarray
    subdistrict: np.ndarray
    sub_codes: list[str]
    sub_names: list[str]
    grid: np.ndarray
    weights: dict[str, np.ndarray]
    h3: list[str]
    speeds_kmh: dict[str, float]
    network_kind: str
    district: object | None = None
    sub_names_en: list[str] = field(default_factory=list)
    _toy_xy: np.ndarray | None = None
    _detour: float = 1.31
    _travel: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        return int(self.lat.shape[0])

    @property
    def n_subdistricts(self) -> int:
        return len(self.sub_codes)

    def subdistrict_index(self, ref: str, where: str) -> int:
        """Index of the sub-district ``ref`` names: its code, its name or the map's
        English label (case and a trailing 街道 / "Subdistrict" ignored), so that a
        planner can write what the map shows.

        Raises
        ------
        InputError
            Naming ``where`` (the scenario key) and listing every sub-district as
            ``code name (English)``.
        """
        def key(text: str) -> str:
            t = " ".join(str(text).split()).casefold()
            for suffix in ("街道", " subdistrict", " sub-district", " street"):
                t = t.removesuffix(suffix)
            return t

        wanted = key(ref)
        for k in range(self.n_subdistricts):
            labels = [self.sub_codes[k], self.sub_names[k]]
            if k < len(self.sub_names_en):
                labels.append(self.sub_names_en[k])
            if wanted in {key(x) for x in labels if x}:
                return k
        known = "; ".join(
            f"{c} {n}" + (f" ({self.sub_names_en[k]})" if k < len(self.sub_names_en) else "")
            for k, (c, n) in enumerate(zip(self.sub_codes, self.sub_names, strict=True)))
        raise InputError(f"{where} = {ref!r} is not a sub-district of the district; give a "
                         f"code, a name or an English label: {known}")

    @property
    def n_grids(self) -> int:
        return int(self.grid.max()) + 1 if self.grid.size else 0

    def travel_matrix(self, mode: str) -> np.ndarray:
        """All-pairs travel seconds for ``mode`` (float32, n × n), built once."""
        m = self._travel.get(mode)
        if m is None:
            if self.district is not None:
                m = np.asarray(self.district.travel_time_matrix(mode), dtype=np.float32)
            else:
                xy = self._toy_xy
                dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
                m = (dist * self._detour / (self.speeds_kmh[mode] / 3.6)).astype(np.float32)
            self._travel[mode] = m
        return m


    def travel_stack_t(self, modes: tuple[str, ...]) -> np.ndarray:
        """Destination-major travel matrices of ``modes`` stacked: ``[k, dest, orig]``.

        Built once per space (the dispatcher reads a batch's few destination rows, which
        stay in cache).
        """
        key = "T:" + ",".join(modes)
        m = self._travel.get(key)
        if m is None:
            m = np.stack([np.ascontiguousarray(self.travel_matrix(x).T) for x in modes])
            m.flags.writeable = False
            self._travel[key] = m
        return m


def _toy(cfg: DistrictConfig) -> Space:
    rows, cols, step = cfg.toy_rows, cfg.toy_cols, cfg.toy_cell_m
    r, c = np.divmod(np.arange(rows * cols), cols)
    xy = np.column_stack([c * step, r * step]).astype(float)
    # A lattice placed near Jing'an so exported coordinates look plausible.
    lat = 31.23 + xy[:, 1] / 111_320.0
    lon = 121.45 + xy[:, 0] / (111_320.0 * np.cos(np.radians(31.23)))
    n_sub = min(cfg.toy_subdistricts, cols)
    sub = (c * n_sub // cols).astype(np.int32)
    # Responsibility grids: 2 × 2 blocks of cells.
    gr = (r // 2) * ((cols + 1) // 2) + (c // 2)
    _, grid = np.unique(gr, return_inverse=True)
    speeds = {"walk": cfg.walk_kmh, "ebike": cfg.ebike_kmh, "car": cfg.car_kmh}
    return Space(
        lat=lat, lon=lon, subdistrict=sub,
        sub_codes=[f"T{k:02d}" for k in range(n_sub)],
        sub_names=[f"toy sub-district {k}" for k in range(n_sub)],
        grid=grid.astype(np.int32),
        weights={"w_area": np.full(rows * cols, (step / 1000.0) ** 2)},
        h3=[""] * (rows * cols), speeds_kmh=speeds, network_kind="toy",
        _toy_xy=xy, _detour=cfg.detour_factor,
    )


def build_space(cfg: DistrictConfig) -> Space:
    """Build the :class:`Space` a scenario's ``[district]`` table describes.

    Raises
    ------
    InputError
        A missing boundary file for ``source = "files"``, an unknown weight column, or
        whatever the district builder rejects.
    """
    if cfg.source == "toy":
        return _toy(cfg)
    from urbangrid.grid import District

    speeds = {"walk": cfg.walk_kmh, "ebike": cfg.ebike_kmh, "car": cfg.car_kmh}
    if cfg.source == "jingan":
        d = District.jingan(cfg.resolution, network=cfg.network, speeds=speeds,
                            n_grids=cfg.n_grids)
    else:
        if not cfg.boundary:
            raise InputError("district.source = 'files' needs district.boundary")
        d = District.from_files(cfg.boundary, code_column=cfg.code_column,
                                name_column=cfg.name_column, source_crs=cfg.source_crs,
                                resolution=cfg.resolution, weights=cfg.weights_file,
                                network=cfg.network, speeds=speeds,
                                detour_factor=cfg.detour_factor, n_grids=cfg.n_grids)
    cells = d.cells
    weights = {w: cells[w].to_numpy(dtype=float) for w in d.weight_columns}
    subs = d.subdistricts
    return Space(
        lat=cells["lat"].to_numpy(dtype=float), lon=cells["lon"].to_numpy(dtype=float),
        subdistrict=np.asarray(d.subdistrict_index, dtype=np.int32),
        sub_codes=[str(c) for c in subs["code"]], sub_names=[str(n) for n in subs["name"]],
        sub_names_en=([str(n) for n in subs["name_en"]] if "name_en" in subs else []),
        grid=cells["grid_id"].to_numpy().astype(np.int32), weights=weights,
        h3=[str(h) for h in cells["h3"]], speeds_kmh=dict(d.speeds_kmh),
        network_kind=d.network_kind, district=d,
    )
