"""AEGNN preprocessing: subsample, normalise time, radius graph; and the graph store (numpy/scipy only)."""
