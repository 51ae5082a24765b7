"""AEGNN preprocessing: subsample, normalise time, radius graph; and the graph store (numpy and numba only)."""
