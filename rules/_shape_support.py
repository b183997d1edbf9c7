"""Small helpers shared by the geometry-sanity rules (inside the image, polygon / line / ellipse / cuboid shape,
rotated boxes, duplicate points).

Not a rule module (the leading underscore keeps it out of rule discovery).
"""
from __future__ import annotations

import numpy as np

from validator.scale.annotations import Annotation

from ._support import px  # noqa: F401  (re-exported: the shape rules import it from here)


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


def row_owners(ctx, rows: np.ndarray) -> np.ndarray:
    """The position of the annotation each of these ``coords`` rows belongs to (a binary search per row: for a few
    rows, instead of :func:`owners` over all of them)."""
    return np.searchsorted(ctx.annotations.edges, rows, side="right") - 1
