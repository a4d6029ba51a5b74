"""The names of :func:`urbangrid.optimizer.solve`'s methods, in a module that imports
nothing, so that the command line lists them without loading a solver."""

#: ``solve(problem, method=...)``: the exact flow, its dense reference, the greedy
#: heuristic, CP-SAT for multi-crew tasks.
METHODS = ("mcf", "mcf_dense", "greedy", "cpsat")
