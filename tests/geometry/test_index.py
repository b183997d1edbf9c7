"""GeometryIndex's numpy-only columns against the shapely geometries it builds: ``exists`` says exactly where a
geometry exists, ``bounds`` are each annotation's vertex extremes, ``envelopes`` the geometry's own bounds (what an
STRtree indexes), for every type and vertex count the extraction accepts (empty, one vertex, too few, too many);
``bounding_areas_of`` within its bound of the measured areas."""
from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import given, strategies as st

from validator.geometry.index import SIMPLE_AREAS_FROM, GeometryIndex
from validator.geometry.polygons import Outlines, self_crossings
from validator.scale.annotations import extract
from validator.testing import box, cuboid, ellipse, line, point, polygon

from .strategies import KERNEL, coord
from .test_iou_bound import _stars

_vertices = st.lists(st.tuples(coord, coord), min_size=0, max_size=7)
_annotation = st.one_of(
    st.builds(lambda x, y, w, h: box(x, y, w, h), coord, coord, coord.map(abs), coord.map(abs)),
    st.builds(lambda x, y, w, h, r: box(x, y, w, h, rotation=r), coord, coord, coord.map(abs), coord.map(abs),
              st.floats(-3, 3)),
    st.builds(point, coord, coord),
    _vertices.map(polygon),
    _vertices.map(line),
    st.builds(lambda x, y, rx, ry: ellipse(x, y, rx, ry), coord, coord, coord.map(abs), coord.map(abs)),
    _vertices.map(lambda pts: ellipse(0, 0, 0, 0, vertices=pts)),  # any number of points, not only 4
    st.builds(lambda x, y: cuboid(x, y, 10, 8), coord, coord),
)


@KERNEL
@given(st.lists(_annotation, min_size=0, max_size=12))
def test_exists_bounds_and_envelopes_agree_with_the_geometries(anns):
    a = extract([dict(ann, uuid=f"u{k}", label="x") for k, ann in enumerate(anns)])
    geo = GeometryIndex(a)
    geoms = geo.geoms
    # where a shape can be drawn: a box and a point always, a polygon from 3 vertices, a line from 2, a cuboid from
    # 1 (its hull), an ellipse from exactly its 4 extremal points
    can = {"box": 0, "point": 0, "polygon": 3, "line": 2, "cuboid": 1, "ellipse": 4}
    want = [n >= can[t] and (t != "ellipse" or n == 4) for t, n in zip(a.type_names, a.counts.tolist())]
    assert geo.exists.tolist() == want
    assert [g is not None for g in geoms] == want
    for k in range(len(a)):
        xy = a.coords[a.offsets[k]:a.offsets[k] + a.counts[k]].tolist()
        want = ([min(x for x, _ in xy), min(y for _, y in xy), max(x for x, _ in xy), max(y for _, y in xy)] if xy
                else [math.nan] * 4)
        assert np.array_equal(geo.bounds[k], want, equal_nan=True)
        env = shapely.bounds(geoms[k]).tolist() if geoms[k] is not None else [math.nan] * 4
        assert np.allclose(geo.envelopes[k], env, rtol=1e-12, atol=1e-9, equal_nan=True)


@KERNEL
@given(st.lists(st.one_of(_stars(), _vertices), min_size=SIMPLE_AREAS_FROM, max_size=SIMPLE_AREAS_FROM + 8),
       st.lists(_annotation, max_size=4))
def test_bounding_areas_are_the_measured_areas_within_their_bound(polys, others):
    """Enough polygons for the shoelace path (stars it proves simple, and any outlines it leaves to shapely, even
    with too few vertices), among other shapes: each area within its bound of the area the exact measure uses."""
    anns = [polygon(p) for p in polys] + others
    a = extract([dict(ann, uuid=f"u{k}", label="x") for k, ann in enumerate(anns)])
    geo = GeometryIndex(a)
    at = geo.exists.nonzero()[0]
    area, err = geo.bounding_areas_of(at)
    measured = GeometryIndex(a).measured_areas_of(at)
    assert np.isnan(area).tolist() == np.isnan(measured).tolist()
    ok = ~np.isnan(measured)
    assert (np.abs(area - measured)[ok] <= err[ok]).all()
    proven = err > 0
    assert (err[proven] < 0.5 * area[proven]).all()
    # the shoelace path was taken (enough polygons with a geometry): a polygon it proves simple on its own is proven
    # among the others
    if sum(len(p) >= 3 for p in polys) >= SIMPLE_AREAS_FROM:
        alone = [_searched_area(np.array(p, dtype=float)) for p in polys if len(p) >= 3]
        assert proven.any() == any(not np.isnan(x) for x in alone)


def _searched_area(xy: np.ndarray) -> float:
    """The shoelace area of one outline proven simple (numpy alone or the crossing search), NaN if it is not."""
    o = Outlines(xy, np.array([len(xy)]))
    self_crossings(o)
    return float(o.simple_areas(searched=True)[0][0])


@KERNEL
@given(st.lists(st.one_of(_stars(), _vertices), min_size=1, max_size=6), st.lists(_annotation, max_size=4))
def test_bounding_areas_take_the_shared_outlines_of_a_few_polygons(polys, others):
    """Fewer polygons than SIMPLE_AREAS_FROM, once ``polygon_outlines`` is built (the polygon rules build it before
    any overlap rule runs): their shoelace areas are taken from it, each within its bound of the measured area."""
    anns = [polygon(p) for p in polys] + others
    a = extract([dict(ann, uuid=f"u{k}", label="x") for k, ann in enumerate(anns)])
    geo = GeometryIndex(a)
    at, outlines = geo.polygon_outlines
    assert at.tolist() == [k for k, (t, n) in enumerate(zip(a.type_names, a.counts.tolist()))
                           if t == "polygon" and n >= 3]
    everything = geo.exists.nonzero()[0]
    area, err = geo.bounding_areas_of(everything)
    measured = GeometryIndex(a).measured_areas_of(everything)
    assert np.isnan(area).tolist() == np.isnan(measured).tolist()
    ok = ~np.isnan(measured)
    err = np.broadcast_to(err, area.shape)  # (the scalar 0 when no polygon's area is taken)
    assert (np.abs(area - measured)[ok] <= err[ok]).all()
    # exactly the polygons proven simple get a shoelace area (with a bound above 0): by numpy alone, or by the
    # crossing search (run when a polygon is not proven by numpy alone)
    alone = {int(p): not np.isnan(_searched_area(a.coords[a.offsets[p]:a.offsets[p] + a.counts[p]])) for p in at}
    proven = (err > 0).tolist()
    assert proven == [alone.get(int(p), False) for p in everything]


_huge = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)


@KERNEL
@given(st.lists(st.one_of(_stars(), _vertices), max_size=5), st.lists(_annotation, min_size=1, max_size=6),
       st.lists(st.floats(0.01, 1.0), min_size=32, max_size=32), st.booleans(),
       st.lists(st.builds(lambda x, y, w, h: box(x, y, w, h), _huge, _huge, _huge.map(abs), _huge.map(abs)),
                max_size=2))
def test_few_pairs_are_bounded_in_python_exactly_as_by_numpy(polys, others, needs, outlines_first, huge):
    """``may_reach_iou`` of up to FEW_PAIRS pairs (plain Python) keeps exactly the pairs the numpy bound keeps
    (``iou_upper_bound`` on ``bounding_areas_of``), with exact areas or with shoelace areas and their errors, and
    with absurd coordinates (areas and envelopes that overflow: the numpy path decides those)."""
    from validator.geometry.overlaps import FEW_PAIRS, _may_reach_few, may_reach_iou
    from validator.geometry.pairs import iou_upper_bound

    anns = [polygon(p) for p in polys] + others + huge
    a = extract([dict(ann, uuid=f"u{k}", label="x") for k, ann in enumerate(anns)])
    geo = GeometryIndex(a)
    if outlines_first:
        geo.polygon_outlines  # noqa: B018  (as after the polygon rules: shoelace areas with their errors)
    at = geo.exists.nonzero()[0].tolist()
    pairs = [(p, q) for n, p in enumerate(at) for q in at[n + 1:]][:FEW_PAIRS]
    if not pairs:
        return
    i, j = (np.array(side, dtype=np.int64) for side in zip(*pairs))
    need = np.array(needs[:len(i)])
    with np.errstate(all="ignore"):  # (as in the engine: absurd coordinates overflow)
        kept = may_reach_iou(geo, i, j, need)
        area, err = (geo if outlines_first else GeometryIndex(a)).bounding_areas_of(np.arange(len(a)))
        env = geo.envelopes
        if np.ndim(err):
            bound = iou_upper_bound(area[i], area[j], env[i], env[j], err[i], err[j])
        else:
            bound = iou_upper_bound(area[i], area[j], env[i], env[j])
        want = ~(bound < need * (1 - 1e-9)) | np.isnan(area[i]) | np.isnan(area[j])
    assert kept.tolist() == want.tolist()
    assert geo.stats["pairs_bounded"] == int((~kept).sum())
    if not huge:  # ordinary coordinates: the plain-Python path decided (it gives up only on numbers not finite)
        with np.errstate(all="ignore"):
            assert _may_reach_few(GeometryIndex(a), i, j, need) is not None


@KERNEL
@given(st.lists(st.one_of(_stars(), _vertices), max_size=5), st.lists(_annotation, max_size=6), st.booleans(),
       st.lists(st.builds(lambda x, y, w, h: box(x, y, w, h), _huge, _huge, _huge.map(abs), _huge.map(abs)),
                max_size=2), st.data())
def test_bounding_areas_few_are_bounding_areas_of_bit_for_bit(polys, others, outlines_first, huge, data):
    """The plain-Python ``bounding_areas_few`` gives exactly what ``bounding_areas_of`` gives, for any subset of the
    shapes, before and after the polygon rules built ``polygon_outlines``: the same areas bit for bit (NaN where
    too tangled), the same errors, and None where ``bounding_areas_of`` gives the scalar 0."""
    anns = [polygon(p) for p in polys] + others + huge
    a = extract([dict(ann, uuid=f"u{k}", label="x") for k, ann in enumerate(anns)])
    at = GeometryIndex(a).exists.nonzero()[0].tolist()
    shapes = sorted(data.draw(st.sets(st.sampled_from(at))) if at else [])
    if not shapes:
        return
    few, numpy_ = GeometryIndex(a), GeometryIndex(a)
    if outlines_first:
        few.polygon_outlines, numpy_.polygon_outlines  # noqa: B018  (as after the polygon rules)
    with np.errstate(all="ignore"):
        area, err = few.bounding_areas_few(shapes)
        want_area, want_err = numpy_.bounding_areas_of(np.array(shapes))
    assert np.array(area).tobytes() == want_area.tobytes()  # bit for bit (NaN included)
    if np.ndim(want_err):
        assert err is not None and np.array(err).tobytes() == want_err.tobytes()
    else:
        assert err is None and want_err == 0.0


def test_the_bound_leaves_a_big_crossing_search_to_the_polygon_rules():
    """The IoU bound runs the crossing search itself only on a few vertices of outlines numpy cannot prove simple:
    past SEARCH_FOR_BOUNDS_MAX_VERTICES it takes the star-shaped areas alone (the rest measured), so an overlap
    rule never spends the time budget on a search the polygon rules make later; below, it searches once."""
    from validator.geometry.index import SEARCH_FOR_BOUNDS_MAX_VERTICES

    def u_shape(x: float, n: int) -> list:  # a simple, concave outline of n vertices (its mean lies in the notch)
        bottom = [(x + 3 * k / (n - 6), 0.0) for k in range(n - 5)]
        return bottom + [(x + 3, 3), (x + 2, 3), (x + 2, 1), (x + 1, 1), (x + 1, 3), (x, 3)][1:]

    for n, searched in ((40, True), (SEARCH_FOR_BOUNDS_MAX_VERTICES // 2 + 10, False)):
        anns = [polygon(u_shape(0, n)), polygon(u_shape(0.5, n))]
        a = extract([dict(ann, uuid=f"u{k}", label="x") for k, ann in enumerate(anns)])
        geo = GeometryIndex(a)
        _, outlines = geo.polygon_outlines
        assert not outlines.star_shaped().any()
        area, err = geo.bounding_areas_of(np.arange(2))
        assert (outlines.simple() is not None) == searched
        assert np.isfinite(area).all()  # shoelace (searched) or measured: never lost
        measured = GeometryIndex(a).measured_areas_of(np.arange(2))
        assert (np.abs(area - measured) <= np.broadcast_to(err, area.shape)).all()
