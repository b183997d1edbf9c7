"""polygon_degenerate and polygon_self_intersection: real outlines pass, flat ones and crossing ones do not."""
import pytest

from validator.testing import RuleTester, box, error, invalid, line, polygon, valid

degenerate = RuleTester("polygon_degenerate")
crossing = RuleTester("polygon_self_intersection")

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
CONCAVE = [(0, 0), (20, 0), (20, 20), (10, 5), (0, 20)]  # an arrow head: concave but simple
BOW_TIE = [(0, 0), (10, 10), (10, 0), (0, 10)]

test_polygon_degenerate = degenerate.pytest(
    valid=[
        valid("triangle", [polygon([(0, 0), (10, 0), (5, 8)])]),
        valid("concave but simple", [polygon(CONCAVE)]),
        valid("closing duplicate vertex: still 3 distinct corners", [polygon([(0, 0), (10, 0), (5, 8), (0, 0)])]),
        valid("thin but real: 1 px wide and 500 px long", [polygon([(0, 0), (500, 0), (500, 1), (0, 1)])]),
        valid("thin diagonal sliver wider than the tolerance", [polygon([(0, 0), (300, 300), (300, 300.5)])]),
        valid("bow-tie is not flat (its shoelace area is 0, its extent is not)", [polygon(BOW_TIE)]),
        valid("some collinear vertices along an edge", [polygon([(0, 0), (5, 0), (10, 0), (10, 10), (0, 10)])]),
        valid("lines with 2 vertices are not polygons", [line([(0, 0), (10, 0)])]),
        valid("a narrower tolerance accepts a sliver", [polygon([(0, 0), (100, 0), (50, 0.05)])],
              options={"tolerance": 0.01}),
    ],
    invalid=[
        invalid("collinear vertices", [polygon([(0, 0), (10, 10), (20, 20)])],
                errors=[error("a1", at=[(0, 0)], message="All vertices of the polygon lie on one straight line")]),
        invalid("collinear with float coordinates", [polygon([(0.1, 0.2), (0.4, 0.8), (1.3, 2.6), (0.7, 1.4)])],
                errors=[error("a1", at=[(0.1, 0.2)], message="one straight line")]),
        invalid("sub-pixel sliver", [polygon([(0, 0), (100, 0), (50, 0.05)])],
                errors=[error("a1", at=[(0, 0)], message="only 0.05 px wide")]),
        invalid("two vertices", [polygon([(3, 4), (10, 4)])],
                errors=[error("a1", at=[(3, 4)], message="only 2 vertices")]),
        invalid("one vertex", [polygon([(3, 4)])], errors=[error("a1", at=[(3, 4)], message="only 1 vertex;")]),
        invalid("no vertices", [polygon([])], errors=[error("a1", at=None, message="has no vertices")]),
        invalid("four clicks on two spots", [polygon([(1, 1), (5, 5), (1, 1), (5, 5)])],
                errors=[error("a1", at=[(1, 1)], message="4 vertices are on only 2 spots")]),
        invalid("all vertices on one spot", [polygon([(7, 7), (7, 7), (7, 7)])],
                errors=[error("a1", at=[(7, 7)], message="on only 1 spot")]),
        invalid("only the flat one among good ones", [polygon(SQUARE), polygon([(0, 5), (10, 5), (20, 5)])],
                errors=[error("a2", at=[(0, 5)])]),
    ],
)

test_polygon_self_intersection = crossing.pytest(
    valid=[
        valid("square", [polygon(SQUARE)]),
        valid("concave but simple", [polygon(CONCAVE)]),
        valid("clockwise and counter-clockwise", [polygon(SQUARE), polygon(SQUARE[::-1])]),
        valid("closing duplicate vertex", [polygon([*SQUARE, (0, 0)])]),
        valid("consecutive duplicate vertex is not a crossing", [polygon([(0, 0), (10, 0), (10, 0), (10, 10)])]),
        valid("two polygons touching each other", [polygon(SQUARE), polygon([(10, 0), (20, 0), (20, 10), (10, 10)])]),
        valid("two polygons crossing each other", [polygon(SQUARE), polygon([(5, -5), (15, -5), (15, 5), (5, 5)])]),
        valid("flat polygon: reported by polygon_degenerate, not here", [polygon([(0, 0), (10, 0), (5, 0)])]),
        valid("a crossing line is not a polygon", [line(BOW_TIE)]),
        valid("boxes are not checked", [box(0, 0, 10, 10)]),
    ],
    invalid=[
        invalid("bow-tie, at the crossing point", [polygon(BOW_TIE)],
                errors=[error("a1", at=[(5, 5)], message="The polygon's outline crosses itself at 1 place")]),
        invalid("figure of eight with two crossings",
                [polygon([(0, 0), (10, 10), (20, 0), (30, 10), (30, 0), (20, 10), (10, 0), (0, 10)])],
                errors=[error("a1", at=[(5, 5), (15, 5), (25, 5)], message="crosses itself at 3 places")]),
        invalid("pinched: two corners at the same spot",
                [polygon([(0, 0), (10, 0), (5, 5), (10, 10), (0, 10), (5, 5)])],
                errors=[error("a1", at=[(5, 5)], message="crosses or touches itself at 1 place")]),
        invalid("a vertex lying on another edge", [polygon([(0, 0), (10, 0), (10, 10), (5, 0), (0, 10)])],
                errors=[error("a1", at=[(5, 0)], message="crosses or touches itself")]),
        invalid("a spike running back along its own edge", [polygon([(0, 0), (10, 0), (10, 10), (10, 5)])],
                errors=[error("a1", at=[(10, 7.5), (10, 5)], message="crosses or touches itself at 2 places")]),
        invalid("crossings capped", [polygon([(0, 0), (10, 10), (20, 0), (30, 10), (30, 0), (20, 10), (10, 0),
                                              (0, 10), (0, 1)])],
                options={"max_locations": 1}, errors=[error("a1", at=[(5, 5)], message="at 3 places")]),
        invalid("only the crossing one", [polygon(SQUARE), polygon(BOW_TIE)], errors=[error("a2", at=[(5, 5)])]),
    ],
)


@pytest.mark.parametrize("n,rate", [(1000, 0.03), (3000, 0.1)],
                         ids=["few flagged outlines (per-polygon path)", "many flagged outlines (vectorised path)"])
def test_planted_bow_ties_in_a_large_task_are_each_reported_once_and_nothing_else(n, rate):
    """Generated annotations (star-shaped simple polygons among them) with planted bow-ties: each reported once,
    at points on its own outline where it crosses itself."""
    import shapely

    from validator.testing.payloads import defects_of, make_body

    body = make_body(n, seed=1, defect_rate=rate)
    planted = sorted(u for u, kind in defects_of(body).items() if kind == "self_intersecting_polygon")
    assert planted
    outline = {a["uuid"]: shapely.LinearRing([(v["x"], v["y"]) for v in a["vertices"]])
               for a in body["response"]["annotations"] if a["uuid"] in planted}
    for tester in (crossing, degenerate):
        result = tester.engine().validate(body)
        assert not result.rule_failures
        got = sorted(i.uuid for i in result.issues)
        assert got == (planted if tester is crossing else [])
    for issue in crossing.engine().validate(body).issues:
        assert issue.locations
        for x, y in issue.locations:
            assert outline[issue.uuid].distance(shapely.Point(x, y)) < 1e-6


GEOMETRY_SANITY_RULES = ("outside_image", "polygon_degenerate", "polygon_self_intersection", "duplicate_vertex",
                         "line_zero_length", "duplicate_point", "ellipse_vertex_count", "ellipse_inconsistent",
                         "ellipse_degenerate", "rotated_box_inconsistent", "cuboid_structure", "cuboid_face_shape",
                         "cuboid_edge_mismatch")


def test_absurd_but_finite_coordinates_neither_break_nor_warn():
    """1e300 is a finite number (the format rules let it through); products overflow to inf. Every geometry rule
    must still answer, without a failure and without numpy/shapely warnings in the logs."""
    import warnings

    from validator.testing import cuboid, ellipse, make_body, point

    h = 1e300
    body = make_body([polygon([(0, 0), (h, 0), (0, h)]), polygon([(-h, -h), (h, h), (h, -h), (-h, h)]),
                      line([(-h, 0), (h, 0)]), point(h, h), point(h, h), ellipse(0, 0, h, h),
                      box(-h, -h, h, h, rotation=0.3), cuboid(-h, 0, h, h, side_dx=h)])
    for rule_id in GEOMETRY_SANITY_RULES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = RuleTester(rule_id).engine().validate(body)
        assert not result.rule_failures, rule_id
        if rule_id == "outside_image":
            assert "1e+300 px" in result.issues[0].extra


@pytest.mark.parametrize("per_body", [1, 12], ids=["plain-Python path (a handful of vertices)",
                                                   "shapely path (many vertices to check)"])
def test_crossing_verdicts_agree_with_shapely_is_simple(per_body):
    """Random outlines on a coarse grid (repeated vertices, collinear edges, vertices on edges, crossings): an
    outline is reported exactly when shapely.is_simple says it is not simple, flat ones excepted (those are
    polygon_degenerate's; flat to float rounding = tolerance 0)."""
    import random

    import shapely

    from validator.testing import make_body

    rng = random.Random(11)
    flat_engine = RuleTester("polygon_degenerate").engine({"tolerance": 0})
    checked = reported = 0
    for _ in range(1500 // per_body):
        outlines = []
        for _ in range(per_body):
            grid = rng.choice([3, 4, 6, 20])
            outlines.append([(rng.randint(0, grid), rng.randint(0, grid)) for _ in range(rng.randint(3, 9))])
        body = make_body([polygon(pts) for pts in outlines])
        got = {i.uuid for i in crossing.engine().validate(body).issues}
        flat = {i.uuid for i in flat_engine.validate(body).issues}
        for k, pts in enumerate(outlines):
            uuid = f"a{k + 1}"
            if uuid in flat:
                assert uuid not in got, pts
                continue
            checked += 1
            expected = not shapely.is_simple(shapely.Polygon(pts))
            assert (uuid in got) == expected, pts
            reported += expected
    assert checked > 500 and 100 < reported < checked - 100  # both verdicts well exercised


def _shapely_meetings(outline: list) -> list[tuple[float, float]]:
    """Reference: where an outline meets itself, edge pair by edge pair with shapely (GEOS), in outline order:
    a crossing or touching point, or the middle of a shared stretch; neighbours only when they share a stretch."""
    import shapely

    pts = outline[:1] + [q for p, q in zip(outline, outline[1:]) if q != p]
    if len(pts) > 1 and pts[-1] == pts[0]:
        pts.pop()
    n = len(pts)
    found: list[tuple[float, float]] = []
    for e in range(n):
        for f in range(e + 1, n):
            a = shapely.LineString([pts[e], pts[(e + 1) % n]])
            b = shapely.LineString([pts[f], pts[(f + 1) % n]])
            inter = shapely.intersection(a, b)
            if inter.is_empty:
                continue
            adjacent = f == e + 1 or (e == 0 and f == n - 1)
            if adjacent and inter.length == 0:
                continue
            xy = shapely.get_coordinates(inter)
            x, y = xy.mean(axis=0) if inter.length > 0 else xy[0]
            if (round(x, 6), round(y, 6)) not in {(round(u, 6), round(v, 6)) for u, v in found}:
                found.append((float(x), float(y)))
    return found


def test_crossing_points_agree_with_shapely():
    """The meeting points of a few edges are found in plain Python with exact orientation tests; they are GEOS's
    intersection points to 1e-9 on random outlines (grid: touching and collinear edges; floats; nearly parallel
    edges; large offsets)."""
    import random

    from validator.testing import make_body

    rng = random.Random(5)
    engine = crossing.engine({"max_locations": 1000})
    compared = 0
    for _ in range(400):
        kind = rng.random()
        n = rng.randint(4, 9)
        if kind < 0.4:
            grid = rng.choice([2, 3, 4, 6])
            outline = [(float(rng.randint(0, grid)), float(rng.randint(0, grid))) for _ in range(n)]
        elif kind < 0.7:
            outline = [(rng.randint(0, 20) * 0.1, rng.randint(0, 20) * 0.3) for _ in range(n)]  # 0.1 is inexact
        else:
            offset = rng.choice([0.0, 1e3, 1e6])
            outline = [(offset + rng.uniform(0, 50), offset + rng.uniform(0, 50)) for _ in range(n)]
        issues = engine.validate(make_body([polygon(outline)])).issues
        if not issues:
            continue
        (issue,) = issues
        want = _shapely_meetings([list(p) for p in outline])
        assert len(issue.locations) == len(want), outline
        scale = max(1.0, *(abs(c) for p in outline for c in p))
        for (x, y), (u, v) in zip(issue.locations, want):
            assert abs(x - u) <= 1e-9 * scale and abs(y - v) <= 1e-9 * scale, (outline, issue.locations, want)
        compared += 1
    assert compared > 150


def test_nearly_parallel_edges_cross_where_exact_arithmetic_says():
    """Edges 5 and 8 lie on y = 3x + 1.2 in decimal but not in binary floats: their lines cross, at a point the
    plain float formula misplaces by 0.015 px; it is computed exactly instead."""
    from fractions import Fraction as F

    from validator.testing import make_body

    outline = [(1.5, 3.5999999999999996), (1.8, 1.5), (0.30000000000000004, 5.3999999999999995),
               (0.6000000000000001, 2.6999999999999997), (0.1, 1.5), (1.2000000000000002, 4.8),
               (1.3, 3.5999999999999996), (0.8, 3.5999999999999996), (1.3, 5.1), (0.4, 2.1)]
    (a, b), (c, d) = (outline[4], outline[5]), (outline[7], outline[8])
    ex, ey = F(d[0]) - F(c[0]), F(d[1]) - F(c[1])
    d1 = ex * (F(a[1]) - F(c[1])) - ey * (F(a[0]) - F(c[0]))
    d2 = ex * (F(b[1]) - F(c[1])) - ey * (F(b[0]) - F(c[0]))
    t = d1 / (d1 - d2)
    exact = (float(F(a[0]) + t * (F(b[0]) - F(a[0]))), float(F(a[1]) + t * (F(b[1]) - F(a[1]))))
    issues = crossing.engine({"max_locations": 1000}).validate(make_body([polygon(outline)])).issues
    assert abs(exact[0] - 0.848) < 1e-12 and abs(exact[1] - 3.744) < 1e-12  # where GEOS puts it, too
    assert any(abs(x - exact[0]) < 1e-12 and abs(y - exact[1]) < 1e-12 for x, y in issues[0].locations)
