"""Geometry kernels: shapely/numpy computations shared by rules, each tested against shapely on its own."""
