"""urbangrid: geospatial simulation and dispatch optimisation for urban grid management.

This package is the root of the namespace and its light domain layer: the command line
(:mod:`urbangrid.cli`), the one error type for user mistakes (:class:`InputError`), the
case catalogue (:mod:`urbangrid.catalogue`) and the working-day calendar
(:mod:`urbangrid.calendar`). None of it imports SimPy or Numba, so the live service uses
the same catalogue and calendar as the simulation.

The code of each concept lives in a top-level folder installed under this namespace:
``urbangrid.grid`` (the district), ``urbangrid.optimizer`` (dispatch),
``urbangrid.simulation`` (the grid model), ``urbangrid.study`` (comparisons, sweeps,
reports), ``urbangrid.calibration`` (real logs) and ``urbangrid.service`` (the live
Open311 service).
"""

from .errors import InputError

__version__ = "0.1.0"
__all__ = ["InputError", "__version__"]
