"""polygon_degenerate, polygon_self_intersection and polygon_self_touch: real outlines pass, flat ones and crossing
ones do not; keyholes are accepted, harmless meetings warn (cases taken from real annotations: docs/calibration.md)."""
import pytest

from validator.testing import RuleTester, box, error, invalid, line, polygon, valid

degenerate = RuleTester("polygon_degenerate")
crossing = RuleTester("polygon_self_intersection")
touching = RuleTester("polygon_self_touch")
# both rules at error, keyholes refused: every outline that meets itself is reported by exactly one of the two
# (what the detection tests below compare with shapely)
meeting = RuleTester("polygon_self_intersection", config="""
[engine]
builtin_rules = "configured"
failure_policy = "closed"

[[rule]]
id = "polygon_self_intersection"
level = "error"
options = { allow_keyholes = false, max_locations = 1000 }

[[rule]]
id = "polygon_self_touch"
level = "error"
options = { allow_keyholes = false, max_locations = 1000 }
""")

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
CONCAVE = [(0, 0), (20, 0), (20, 20), (10, 5), (0, 20)]  # an arrow head: concave but simple
BOW_TIE = [(0, 0), (10, 10), (10, 0), (0, 10)]
SMALL_BOW_TIE = [(0, 0), (4, 4), (4, 0), (0, 4)]  # lobes of 4 px²: the wrong one is below min_loop_area
PINCHED = [(0, 0), (10, 0), (5, 5), (10, 10), (0, 10), (5, 5)]
VERTEX_ON_EDGE = [(0, 0), (10, 0), (10, 10), (5, 0), (0, 10)]
SPIKE = [(0, 0), (10, 0), (10, 10), (10, 5)]
# an outer square, a corridor along x = 50 (in and out on the same line), an inner square the other way round
KEYHOLE = [(0, 0), (50, 0), (50, 30), (30, 30), (30, 70), (70, 70), (70, 30), (50, 30), (50, 0), (100, 0),
           (100, 100), (0, 100)]
# the keyhole with a detour of the way out across the way in: a loop of 6 px² covered twice, 2.14 px wide
WIDE_CORRIDOR = [(0, 0), (50, 0), (50, 30), (30, 30), (30, 70), (70, 70), (70, 30), (50, 30), (50, 20), (47, 18),
                 (50, 16), (50, 0), (100, 0), (100, 100), (0, 100)]

# Real shapes (coordinates of a few annotations, docs/calibration.md):
# TACO batch_5/000015.JPG "Other plastic": a keyhole around a hole of 387 px², corridor sides on each other
# (FP-protocol)
TACO_KEYHOLE = [(1042.0, 1618.0), (1036.0, 1601.0), (1030.0, 1575.0), (1028.0, 1563.0), (1027.0, 1541.0),
                (1028.0, 1529.0), (1037.0, 1529.0), (1047.0, 1523.0), (1063.0, 1526.0), (1069.0, 1549.0),
                (1083.0, 1589.0), (1090.0, 1611.0), (1093.0, 1637.0), (1061.0, 1635.0), (1063.0, 1613.0),
                (1065.0, 1596.0), (1064.0, 1573.0), (1059.0, 1554.0), (1057.0, 1550.0), (1055.0, 1556.0),
                (1054.0, 1574.0), (1057.0, 1594.0), (1063.0, 1607.0), (1063.0, 1613.0), (1061.0, 1635.0),
                (1042.0, 1633.0), (1042.0, 1618.0)]
# TACO batch_1/000038.jpg "Pop tab": a keyhole whose corridor sides cross (a 2 px² sliver 0.42 px wide) (FP-protocol)
TACO_POP_TAB = [(1154.0, 593.0), (1165.0, 586.0), (1172.0, 581.0), (1179.0, 577.0), (1186.0, 571.0), (1192.0, 570.0),
                (1196.0, 571.0), (1198.0, 578.0), (1198.0, 586.0), (1193.0, 599.0), (1186.0, 609.0), (1176.0, 624.0),
                (1165.0, 639.0), (1158.0, 648.0), (1150.0, 652.0), (1140.0, 653.0), (1135.0, 646.0), (1134.0, 634.0),
                (1137.0, 627.0), (1141.0, 614.0), (1144.0, 605.0), (1150.0, 597.0), (1155.0, 605.0), (1151.0, 611.0),
                (1147.0, 618.0), (1145.0, 626.0), (1143.0, 634.0), (1143.0, 640.0), (1145.0, 643.0), (1151.0, 642.0),
                (1156.0, 636.0), (1160.0, 631.0), (1164.0, 626.0), (1168.0, 619.0), (1170.0, 610.0), (1170.0, 604.0),
                (1169.0, 598.0), (1167.0, 596.0), (1163.0, 597.0), (1160.0, 600.0), (1156.0, 604.0), (1155.0, 605.0),
                (1152.0, 601.0), (1151.0, 599.0), (1150.0, 597.0), (1154.0, 593.0)]
# TACO batch_6/000029.JPG "Unlabeled litter": crosses itself, 1,512 px² inside out (TP)
TACO_FIGURE_8 = [(1403.0, 1302.0), (1430.0, 1249.0), (1439.0, 1224.0), (1451.0, 1201.0), (1434.0, 1191.0),
                 (1423.0, 1199.0), (1409.0, 1223.0), (1613.0, 1067.0), (1378.0, 1287.0), (1391.0, 1298.0),
                 (1403.0, 1302.0)]
# COCO 000000349860.jpg person: crosses itself in a loop of a fraction of a px² (vertex jitter, TP-minor)
COCO_JITTER = [(48.82, 373.35), (57.44, 375.26), (61.27, 370.48), (61.27, 363.78), (64.14, 356.12), (62.22, 351.33),
               (53.61, 344.63), (48.82, 341.76), (46.91, 363.78), (49.78, 378.13)]
# COCO 000000126107.jpg boat: touches itself at a vertex on the image border (pinch between two lobes, TP-minor)
COCO_PINCH = [(622.98, 469.19), (640.0, 479.67), (640.0, 427.28), (634.77, 424.01), (617.09, 418.11),
              (609.89, 418.77), (597.45, 422.04), (596.79, 433.17), (600.06, 446.93), (605.96, 456.09),
              (613.82, 464.61), (626.26, 470.5), (638.7, 477.7), (640.0, 479.01)]
# COCO 000000060932.jpg tie: a zero-width spike, the outline runs back along itself (TP-minor)
COCO_SPIKE = [(87.35, 205.75), (93.17, 228.07), (93.17, 232.93), (93.17, 215.46)]

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
        valid("pinched at a vertex: the area is right (polygon_self_touch warns)", [polygon(PINCHED)]),
        valid("a vertex on another edge (polygon_self_touch warns)", [polygon(VERTEX_ON_EDGE)]),
        valid("a spike back along its own edge (polygon_self_touch warns)", [polygon(SPIKE)]),
        valid("a bow-tie whose wrong lobe is 4 px², below min_loop_area", [polygon(SMALL_BOW_TIE)]),
        valid("a keyhole: corridor in and out on one line, around a hole", [polygon(KEYHOLE)]),
        valid("the same keyhole drawn the other way round", [polygon(KEYHOLE[::-1])]),
        valid("TACO keyhole (Other plastic), corridor sides on each other", [polygon(TACO_KEYHOLE)]),
        valid("TACO keyhole (Pop tab), corridor sides crossing in a 0.42 px sliver", [polygon(TACO_POP_TAB)]),
        valid("COCO person: a jitter loop of a fraction of a px²", [polygon(COCO_JITTER)]),
        valid("COCO boat: a pinch on the image border", [polygon(COCO_PINCH)]),
        valid("COCO tie: a zero-width spike", [polygon(COCO_SPIKE)]),
        valid("a wider keyhole_max_width accepts a sloppier corridor", [polygon(WIDE_CORRIDOR)],
              options={"keyhole_max_width": 5}),
    ],
    invalid=[
        invalid("bow-tie, at the crossing point", [polygon(BOW_TIE)],
                errors=[error("a1", at=[(5, 5)], message="The polygon's outline crosses itself at 1 place, turning "
                                                         "25 px² of it inside out or covering it twice")]),
        invalid("figure of eight with two crossings",
                [polygon([(0, 0), (10, 10), (20, 0), (30, 10), (30, 0), (20, 10), (10, 0), (0, 10)])],
                errors=[error("a1", at=[(5, 5), (15, 5), (25, 5)], message="crosses itself at 3 places")]),
        invalid("crossings capped", [polygon([(0, 0), (10, 10), (20, 0), (30, 10), (30, 0), (20, 10), (10, 0),
                                              (0, 10), (0, 1)])],
                options={"max_locations": 1}, errors=[error("a1", at=[(5, 5)], message="at 3 places")]),
        invalid("only the crossing one", [polygon(SQUARE), polygon(BOW_TIE)], errors=[error("a2", at=[(5, 5)])]),
        invalid("TACO figure-8 (Unlabeled litter): 1,512 px² inside out", [polygon(TACO_FIGURE_8)],
                errors=[error("a1", at=[(1435.7997432605905, 1232.8896020539153),
                                        (1443.5217391304348, 1196.601023017903)],
                              message="crosses itself at 2 places, turning 1512.04 px² of it inside out")]),
        invalid("a lower min_loop_area blocks a small bow-tie", [polygon(SMALL_BOW_TIE)],
                options={"min_loop_area": 3}, errors=[error("a1", at=[(2, 2)], message="turning 4 px²")]),
        invalid("keyholes refused", [polygon(KEYHOLE)], options={"allow_keyholes": False},
                errors=[error("a1", at=[(50, 0), (50, 30), (50, 15)],
                              message="a corridor cutting a hole out of it, which this project does not accept")]),
        invalid("a curl: a quarter covered twice", [polygon([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0.0001),
                                                             (5, 0.0001), (5, 5), (0.0001, 5)])],
                errors=[error("a1", at=[(2e-09, 0.0001)], message="turning 25 px² of it")]),
    ],
)

test_polygon_self_touch = touching.pytest(
    valid=[
        valid("square", [polygon(SQUARE)]),
        valid("a bow-tie is polygon_self_intersection's", [polygon(BOW_TIE)]),
        valid("TACO figure-8 is polygon_self_intersection's", [polygon(TACO_FIGURE_8)]),
        valid("keyholes are accepted", [polygon(KEYHOLE), polygon(TACO_KEYHOLE), polygon(TACO_POP_TAB)]),
        valid("keyholes refused are polygon_self_intersection's", [polygon(KEYHOLE)],
              options={"allow_keyholes": False}),
        valid("flat polygon: polygon_degenerate's", [polygon([(0, 0), (10, 0), (5, 0)])]),
    ],
    invalid=[
        invalid("pinched: two corners at the same spot", [polygon(PINCHED)],
                errors=[error("a1", at=[(5, 5)], message="The polygon's outline touches itself at 1 place without "
                                                         "enclosing anything the wrong way; harmless to its area")]),
        invalid("a vertex lying on another edge", [polygon(VERTEX_ON_EDGE)],
                errors=[error("a1", at=[(5, 0)], message="touches itself")]),
        invalid("a spike running back along its own edge", [polygon(SPIKE)],
                errors=[error("a1", at=[(10, 7.5), (10, 5)], message="touches itself at 2 places")]),
        invalid("a bow-tie with a 4 px² lobe", [polygon(SMALL_BOW_TIE)],
                errors=[error("a1", at=[(2, 2)], message="crosses itself at 1 place, in loops of less than 10 px² "
                                                         "(4 px² in all)")]),
        invalid("COCO person: jitter loop", [polygon(COCO_JITTER)],
                errors=[error("a1", at=[(48.82418548191309, 373.35092740956543)],
                              message="crosses itself at 1 place, in loops of less than 10 px² (0.01 px² in all)")]),
        invalid("COCO boat: pinch", [polygon(COCO_PINCH)],
                errors=[error("a1", at=[(640.0, 479.01)], message="touches itself at 1 place")]),
        invalid("COCO tie: spike", [polygon(COCO_SPIKE)],
                errors=[error("a1", at=[(93.17, 228.07), (93.17, 230.5)], message="touches itself at 2 places")]),
        invalid("a keyhole whose corridor is wider than keyhole_max_width", [polygon(WIDE_CORRIDOR)],
                errors=[error("a1", at=[(50, 0), (50, 30), (50, 25), (50, 20), (50, 16), (50, 8)],
                              message="in loops of less than 10 px² (6 px² in all)")]),
        invalid("keyhole_max_width 0: a crossing corridor is no keyhole", [polygon(TACO_POP_TAB)],
                options={"keyhole_max_width": 0},
                errors=[error("a1", at=[(1150.0, 597.0), (1155.0, 605.0)], message="(2 px² in all)")]),
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
        got = {i.uuid for i in meeting.engine().validate(body).issues}
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
    engine = meeting.engine()
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
    issues = meeting.engine().validate(make_body([polygon(outline)])).issues
    assert abs(exact[0] - 0.848) < 1e-12 and abs(exact[1] - 3.744) < 1e-12  # where GEOS puts it, too
    assert any(abs(x - exact[0]) < 1e-12 and abs(y - exact[1]) < 1e-12 for x, y in issues[0].locations)


def test_an_outline_crossing_itself_hundreds_of_times_is_blocked_without_measuring_its_loops():
    """Beyond MAX_FACES meetings the loops are not measured (a bounded cost): such an outline is broken anyway."""
    import random

    from validator.geometry.loops import MAX_FACES
    from validator.testing import make_body

    rng = random.Random(3)
    scribble = [(rng.uniform(0, 1000), rng.uniform(0, 1000)) for _ in range(100)]
    (issue,) = crossing.engine().validate(make_body([polygon(scribble)])).issues
    count = int(issue.extra.split(" at ")[1].split(" ")[0])
    assert count > MAX_FACES
    assert issue.extra.endswith(f"itself at {count} places; move its vertices so that no two edges cross or touch.")
    assert not touching.engine().validate(make_body([polygon(scribble)])).issues
