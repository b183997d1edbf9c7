"""validator.geometry.boxes against shapely: corners of rotated boxes, overlaps and IoU of axis-aligned boxes."""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import example, given, strategies as st

from validator.geometry.boxes import box_corners, box_iou, box_overlaps

from .strategies import KERNEL

size = st.floats(0, 500, allow_nan=False)
position = st.floats(-1000, 3000, allow_nan=False)
angle = st.one_of(st.just(0.0), st.floats(-2 * math.pi, 2 * math.pi, allow_nan=False))
boxes = st.tuples(position, position, size, size, angle)


def _shapely_box(left, top, w, h, rotation):
    return shapely.affinity.rotate(shapely.box(left, top, left + w, top + h), rotation, origin="center",
                                   use_radians=True)


def test_corners_on_a_table():
    corners = box_corners(np.array([[10, 20, 30, 40, 0.0], [400, 300, 200, 100, 0.5236]]))
    np.testing.assert_array_equal(corners[0], [[10, 20], [40, 20], [40, 60], [10, 60]])  # TL, TR, BR, BL, exactly
    np.testing.assert_allclose(corners[1], [[438.4, 256.7], [611.6, 356.7], [561.6, 443.3], [388.4, 343.3]],
                               atol=0.05)  # clockwise on screen (y down) about the centre


@KERNEL
@given(boxes)
def test_corners_are_shapelys_rotated_box(b):
    corners = box_corners(np.array([b]))[0]
    want = shapely.get_coordinates(_shapely_box(*b))[:4]  # shapely.box starts at the bottom-right (x max, y max)
    scale = 1.0 + max(abs(v) for v in b[:4])
    for corner in corners:  # the same four points (shapely's ring starts elsewhere)
        assert np.hypot(*(want - corner).T).min() <= 1e-9 * scale
    assert shapely.Polygon(corners).area == pytest.approx(b[2] * b[3], rel=1e-9, abs=1e-6 * scale)


def test_non_finite_boxes_give_non_finite_corners_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corners = box_corners(np.array([[0, 0, math.inf, 1, 0.0], [0, 0, 1, 1, math.nan]]))
    assert not np.isfinite(corners[0]).all() and not np.isfinite(corners[1]).all()


TABLE = [  # box a, box b (xmin, ymin, xmax, ymax), IoU
    ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
    ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
    ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching
    ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),  # apart
    ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),  # inside
    ((0, 0, 0, 10), (0, 0, 0, 10), 0.0),  # no area at all
]


@pytest.mark.parametrize("a, b, iou", TABLE)
def test_iou_on_a_table(a, b, iou):
    assert box_iou(np.array([a], float), np.array([b], float))[0] == pytest.approx(iou)


@KERNEL
@given(st.lists(st.tuples(boxes, boxes), min_size=1, max_size=20))
@example([((0.0, 0.0, 1.0, 2.9048754311748113e-102, 0.0),  # found by hypothesis: shapely's overlay says IoU 0
           (2.7998360079272148e-275, 0.0, 1.0, 2.9048754311748113e-102, 0.0))])
def test_overlaps_are_shapelys(pairs):
    a = np.array([[left, t, left + w, t + h] for (left, t, w, h, _), _ in pairs])
    b = np.array([[left, t, left + w, t + h] for _, (left, t, w, h, _) in pairs])
    ov, rect = box_overlaps(a, b)
    ga, gb = shapely.box(*a.T), shapely.box(*b.T)
    with np.errstate(all="ignore"):  # the oracle warns on boxes without area
        inter = shapely.area(shapely.intersection(ga, gb))
    np.testing.assert_allclose(ov.inter, inter, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ov.area_i, shapely.area(ga), rtol=1e-12)
    np.testing.assert_allclose(ov.area_j, shapely.area(gb), rtol=1e-12)
    # IoU against shapely on each pair mapped onto the unit square (IoU does not change when both boxes are shifted
    # and scaled along x and y): GEOS's overlay loses boxes of 1e-100 px² (their intersection and union come out 0),
    # ours must not, and the oracle should not either
    lo = np.minimum(a[:, :2], b[:, :2])
    span = np.maximum(a[:, 2:], b[:, 2:]) - lo
    span = np.where(span > 0, span, 1.0)
    na = np.hstack([(a[:, :2] - lo) / span, (a[:, 2:] - lo) / span])
    nb = np.hstack([(b[:, :2] - lo) / span, (b[:, 2:] - lo) / span])
    with np.errstate(all="ignore"):
        n_inter = shapely.area(shapely.intersection(shapely.box(*na.T), shapely.box(*nb.T)))
        n_union = shapely.area(shapely.union(shapely.box(*na.T), shapely.box(*nb.T)))
    want = np.where(n_union > 0, n_inter / np.where(n_union > 0, n_union, 1), 0.0)
    np.testing.assert_allclose(ov.iou(), want, rtol=1e-9, atol=1e-9)
    has = ov.inter > 0
    np.testing.assert_allclose(shapely.area(shapely.box(*rect[has].T)), ov.inter[has], rtol=1e-9)
