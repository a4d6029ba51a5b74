"""urbangrid: geospatial simulation and dispatch optimisation for urban grid management.

The code lives in three top-level folders installed under this namespace:
``urbangrid.grid`` (the district), ``urbangrid.optimizer`` (dispatch) and
``urbangrid.simulation`` (the SimPy model and the command line).
"""

__version__ = "0.1.0"
