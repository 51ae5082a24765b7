"""ECN preprocessing: grid links, spatial leaky integrate-and-fire, causal neighbourhoods (numpy/numba only)."""
