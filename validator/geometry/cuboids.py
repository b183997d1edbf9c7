"""2D cuboids: the front face as a quadrilateral, the edges against the corners they join.

Kernels on plain arrays of cuboids in canonical order: vertices ``V`` ``(m, 6, 2)`` in
``CUBOID_VERTEX_DESCRIPTIONS`` order, edges ``E`` ``(m, 6, 4)`` (``x1, y1, x2, y2``) in ``CUBOID_EDGE_DESCRIPTIONS``
order. Reading a cuboid from the Scale body (which description is which) is the rules' business. Tested against
shapely in tests/geometry/.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely

from validator.scale.annotations import CUBOID_EDGE_DESCRIPTIONS, CUBOID_VERTEX_DESCRIPTIONS

VERTEX = {d: i for i, d in enumerate(CUBOID_VERTEX_DESCRIPTIONS)}
FACE = ("face-topleft", "face-topright", "face-bottomright", "face-bottomleft")  # around the front face
MIN_FACE_AREA = 1.0  # px²: a front face smaller than one pixel has no area
_NEXT = [1, 2, 3, 0]
_CERTAIN_FROM = 32  # faces at once from which the numpy proof pays for its fixed cost


def edge_ends(side_right: bool) -> dict[str, tuple[str, str]]:
    """The two vertices each edge connects; the side edges leave the front face on the side face's side."""
    s = "right" if side_right else "left"
    return {
        "face-top": ("face-topleft", "face-topright"),
        "face-right": ("face-topright", "face-bottomright"),
        "face-bottom": ("face-bottomleft", "face-bottomright"),
        "face-left": ("face-topleft", "face-bottomleft"),
        "side-top": (f"face-top{s}", "side-topcorner"),
        "side-bottom": (f"face-bottom{s}", "side-bottomcorner"),
    }


# Per side of the side face (right: True): the vertex index each edge starts / ends at, in edge order.
_FIRST_END = {r: np.array([VERTEX[edge_ends(r)[e][0]] for e in CUBOID_EDGE_DESCRIPTIONS]) for r in (True, False)}
_SECOND_END = {r: np.array([VERTEX[edge_ends(r)[e][1]] for e in CUBOID_EDGE_DESCRIPTIONS]) for r in (True, False)}


def front_faces(V: np.ndarray) -> np.ndarray:
    """The front faces ``(m, 4, 2)``: face-topleft, face-topright, face-bottomright, face-bottomleft."""
    return V[:, [VERTEX[d] for d in FACE]]


def side_on_right(V: np.ndarray) -> np.ndarray:
    """Whether each cuboid's side face is right of its front face (by the mean x of their corners)."""
    face_x = V[:, [VERTEX[d] for d in FACE], 0].mean(axis=1)
    side_x = V[:, [VERTEX["side-topcorner"], VERTEX["side-bottomcorner"]], 0].mean(axis=1)
    return side_x >= face_x


def flat_and_simple(quads: np.ndarray, min_area: float = MIN_FACE_AREA) -> tuple[np.ndarray, np.ndarray]:
    """For quadrilaterals ``(m, 4, 2)``: whether each encloses less than ``min_area``, and whether its outline is
    simple, as shapely answers (``shapely.area``, ``shapely.is_simple``). With numpy where the answer is certain: a
    strictly convex outline (every corner turns the same way, far from straight) is simple, and its area (half
    the cross product of its diagonals) decides when it is far from the threshold (rounding is ~1e-15 of the
    squared coordinates, the margin 1e-9). Shapely decides the others (crossed, nearly flat or nearly straight
    faces, huge coordinates), and all of them when there are few (numpy's fixed cost is then the larger)."""
    m = len(quads)
    flat = np.zeros(m, dtype=bool)
    simple = np.ones(m, dtype=bool)
    unsure = np.arange(m)
    if m >= _CERTAIN_FROM:
        with np.errstate(all="ignore"):
            edge = quads[:, _NEXT] - quads
            turn = edge[:, _NEXT]
            cross = edge[..., 0] * turn[..., 1] - edge[..., 1] * turn[..., 0]  # (m, 4): how each corner turns
            d1, d2 = quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1]
            area = np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / 2
            scale = float(np.abs(quads).max()) + 1.0
            margin = 1e-9 * scale * scale  # inf for absurd coordinates: shapely decides them all
            convex = (cross > margin).all(axis=1) | (cross < -margin).all(axis=1)
            flat = area < min_area
            unsure = np.flatnonzero(~(convex & (np.abs(area - min_area) > margin)))
    if len(unsure):
        polygons = shapely.polygons(quads[unsure])
        flat[unsure] = shapely.area(polygons) < min_area
        simple[unsure] = shapely.is_simple(polygons)
    return flat, simple


class EdgeOffsets(NamedTuple):
    """Per cuboid and edge ``(m, 6)``: whether the edge is given from its second corner to its first
    (``swapped``), and how far its first and second given ends are from the corners they should be on."""

    right: np.ndarray  # (m,): the side face is on the right
    swapped: np.ndarray
    off_first: np.ndarray
    off_second: np.ndarray


def edge_offsets(V: np.ndarray, E: np.ndarray) -> EdgeOffsets:
    """How far each edge's ends are from the two corners it is named after; either order of the ends is accepted
    (the one closer to the corners is taken)."""
    right = side_on_right(V)
    a_idx = np.where(right[:, None], _FIRST_END[True], _FIRST_END[False])  # (m, 6): the vertex each edge starts at
    b_idx = np.where(right[:, None], _SECOND_END[True], _SECOND_END[False])
    rows = np.arange(len(V))[:, None]
    A, B = V[rows, a_idx], V[rows, b_idx]  # (m, 6, 2): where each edge should start / end
    P, Q = E[:, :, 0:2], E[:, :, 2:4]
    with np.errstate(all="ignore"):
        da, db = np.hypot(*(P - A).transpose(2, 0, 1)), np.hypot(*(Q - B).transpose(2, 0, 1))
        sa, sb = np.hypot(*(P - B).transpose(2, 0, 1)), np.hypot(*(Q - A).transpose(2, 0, 1))
        swapped = np.maximum(sa, sb) < np.maximum(da, db)
    return EdgeOffsets(right, swapped, np.where(swapped, sa, da), np.where(swapped, sb, db))


def face_extents(faces: np.ndarray) -> np.ndarray:
    """Width and height ``(m, 2)`` of the extent of each front face ``(m, 4, 2)``."""
    return faces.max(axis=1) - faces.min(axis=1)
