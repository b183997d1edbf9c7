"""Geometry kernels: shapely/numpy computations shared by rules, each tested against shapely on its own."""

# np.unique calls np.ma.is_masked, which imports numpy.ma on first use (~35 ms). Imported here, at start-up, it is
# loaded once in the preloaded master and shared by the workers, instead of delaying each worker's first request.
import numpy.ma  # noqa: E402, F401
