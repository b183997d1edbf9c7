"""Small helpers shared by the geometry-sanity rules (inside the image, polygon / line / ellipse / cuboid shape,
rotated boxes, duplicate points).

Not a rule module (the leading underscore keeps it out of rule discovery).
"""
from __future__ import annotations

import functools

import numpy as np

from validator.scale.annotations import Annotation

from ._support import px  # noqa: F401  (re-exported: the shape rules import it from here)


def quiet(func):
    """Run a rule with numpy's floating-point warnings off: absurd but finite coordinates (1e300) overflow to inf
    in products and areas, which the rules treat as "not flagged", never as a reason to fail or to log noise."""
    @functools.wraps(func)
    def run(*args, **kwargs):
        with np.errstate(all="ignore"):
            return list(func(*args, **kwargs))

    return run


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 vertex``, ``3 vertices``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def selected(ctx, positions: np.ndarray) -> np.ndarray:
    """A boolean mask over all annotations, true at ``positions``."""
    mask = np.zeros(len(ctx.annotations), dtype=bool)
    mask[positions] = True
    return mask


def view(ctx, pos) -> "Annotation":
    """The annotation at ``pos``, without materialising a view of every annotation (``ctx.annotations[pos]`` builds
    all of them on first use: 10,000 objects to report one issue)."""
    return Annotation(ctx.annotations, int(pos))


def gather_vertices(ctx, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The vertices of the annotations at ``positions``, copied into one array, for numpy work on a few types.

    Returns ``xy`` (``(R, 2)``: the vertices of each annotation in order, one annotation after the other),
    ``nxt`` (for every row of ``xy``: the row of the next vertex of the same annotation, wrapping from the last
    vertex to the first: the closing edge of a polygon), ``starts`` (the row of each annotation's first vertex)
    and ``counts`` (vertices per annotation)."""
    a = ctx.annotations
    counts = a.counts[positions]
    starts = counts.cumsum() - counts
    total = int(starts[-1] + counts[-1]) if len(counts) else 0
    xy = a.coords[a.rows_of(positions)]
    nxt = np.arange(1, total + 1, dtype=np.int64)
    has = counts > 0
    nxt[(starts + counts - 1)[has]] = starts[has]
    return xy, nxt, starts, counts


def row_owners(ctx, rows: np.ndarray) -> np.ndarray:
    """The position of the annotation each of these ``coords`` rows belongs to (a binary search per row: for a few
    rows, instead of :func:`owners` over all of them)."""
    return np.searchsorted(ctx.annotations.edges, rows, side="right") - 1


def memo_for(ctx, name: str, positions: np.ndarray, build):
    """``build(positions)``, computed once per request for this name and set of positions (``ctx.memo``) and shared
    by the rules that ask for the same one. Read-only: never modify what it returns."""
    positions = np.ascontiguousarray(positions, dtype=np.int64)
    return ctx.memo((name, positions.tobytes()), lambda: build(positions))


def shared_vertices(ctx, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`gather_vertices`, shared by the rules that ask for the same positions (e.g. both polygon rules, on
    every polygon): see :func:`memo_for`."""
    return memo_for(ctx, "gather_vertices", positions, lambda p: gather_vertices(ctx, p))
