"""Boxes: corners of (rotated) boxes, overlaps of axis-aligned boxes by plain arithmetic.

Kernels on plain arrays; tested against shapely in tests/geometry/.
"""
from __future__ import annotations

import numpy as np

from .pairs import Overlaps


def box_corners(ltwhr: np.ndarray) -> np.ndarray:
    """Corners TL, TR, BR, BL of boxes ``(m, 5)`` = left, top, width, height, rotation (radians, clockwise about
    the centre, y axis down). Returns ``(m, 4, 2)``. Unrotated boxes get their corners exactly (no cos/sin
    rounding); non-finite input gives non-finite corners (the caller reports them)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return _box_corners(np.asarray(ltwhr, dtype=np.float64).reshape(-1, 5))


def _box_corners(ltwhr: np.ndarray) -> np.ndarray:
    left, top, w, h, rot = (ltwhr[:, i] for i in range(5))
    right, bottom = left + w, top + h
    out = np.empty((len(ltwhr), 4, 2))
    # axis-aligned first, exactly (no cos/sin rounding): TL, TR, BR, BL
    out[:, 0, 0] = left
    out[:, 0, 1] = top
    out[:, 1, 0] = right
    out[:, 1, 1] = top
    out[:, 2, 0] = right
    out[:, 2, 1] = bottom
    out[:, 3, 0] = left
    out[:, 3, 1] = bottom
    rotated = (rot != 0.0).nonzero()[0]
    if len(rotated):
        lft, t, ww, hh, r = left[rotated], top[rotated], w[rotated], h[rotated], rot[rotated]
        dx = np.stack([-ww / 2, ww / 2, ww / 2, -ww / 2], axis=1)
        dy = np.stack([-hh / 2, -hh / 2, hh / 2, hh / 2], axis=1)
        cx = (lft + ww / 2)[:, None]
        cy = (t + hh / 2)[:, None]
        c = np.cos(r)[:, None]
        sn = np.sin(r)[:, None]
        out[rotated, :, 0] = cx + dx * c - dy * sn
        out[rotated, :, 1] = cy + dx * sn + dy * c
    return out


def box_overlaps(bi: np.ndarray, bj: np.ndarray) -> tuple[Overlaps, np.ndarray]:
    """Overlaps of pairs of axis-aligned boxes given as bounds ``(k, 4)`` (``xmin, ymin, xmax, ymax``), exactly as
    shapely measures them, and the intersection rectangles ``(k, 4)`` (empty ones have ``xmin > xmax`` or
    ``ymin > ymax``, or zero extent)."""
    lo = np.maximum(bi[:, :2], bj[:, :2])
    hi = np.minimum(bi[:, 2:], bj[:, 2:])
    wh = np.maximum(hi - lo, 0.0)
    areas = Overlaps(wh[:, 0] * wh[:, 1], (bi[:, 2] - bi[:, 0]) * (bi[:, 3] - bi[:, 1]),
                     (bj[:, 2] - bj[:, 0]) * (bj[:, 3] - bj[:, 1]))
    return areas, np.hstack([lo, hi])


def box_iou(bi: np.ndarray, bj: np.ndarray) -> np.ndarray:
    """Intersection over union of pairs of axis-aligned boxes (bounds ``(k, 4)``)."""
    return box_overlaps(bi, bj)[0].iou()
