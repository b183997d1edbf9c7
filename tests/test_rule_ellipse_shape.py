"""Ellipse rules: 4 points, opposite pairs sharing a centre, perpendicular axes, no flat axis."""
import math

from validator.testing import RuleTester, ellipse, error, invalid, valid

count = RuleTester("ellipse_vertex_count")
consistent = RuleTester("ellipse_inconsistent")
degenerate = RuleTester("ellipse_degenerate")


def rotated(cx, cy, rx, ry, angle):
    """The 4 axis ends of an ellipse rotated clockwise by ``angle`` radians (image coordinates, y down)."""
    c, s = math.cos(angle), math.sin(angle)

    def at(dx, dy):
        return (cx + dx * c - dy * s, cy + dx * s + dy * c)

    return [at(0, -ry), at(rx, 0), at(0, ry), at(-rx, 0)]


test_ellipse_vertex_count = count.pytest(
    valid=[
        valid("four points", [ellipse(100, 100, 30, 20)]),
        valid("a circle", [ellipse(100, 100, 25, 25)]),
    ],
    invalid=[
        invalid("three points", [ellipse(0, 0, 0, 0, vertices=[(0, -5), (10, 0), (0, 5)])],
                errors=[error("a1", at=[(0, -5), (10, 0), (0, 5)], message="The ellipse has 3 points; it needs "
                                                                            "exactly 4.")]),
        invalid("five points", [ellipse(0, 0, 0, 0, vertices=[(0, -5), (10, 0), (0, 5), (-10, 0), (0, -5)])],
                errors=[error("a1", at=[(0, -5), (10, 0), (0, 5), (-10, 0), (0, -5)], message="has 5 points")]),
        invalid("no points", [ellipse(0, 0, 0, 0, vertices=[])], errors=[error("a1", at=None, message="no points")]),
        invalid("locations capped", [ellipse(0, 0, 0, 0, vertices=[(i, i) for i in range(6)])],
                options={"max_locations": 2}, errors=[error("a1", at=[(0, 0), (1, 1)], message="has 6 points")]),
    ],
)

test_ellipse_inconsistent = consistent.pytest(
    valid=[
        valid("upright ellipse: top, right, bottom, left", [ellipse(100, 100, 30, 20)]),
        valid("starting elsewhere: right, bottom, left, top", [ellipse(0, 0, 0, 0, vertices=[(130, 100), (100, 120),
                                                                                             (70, 100), (100, 80)])]),
        valid("rotated ellipse: rotated perpendicular axes", [ellipse(0, 0, 0, 0, vertices=rotated(300, 200, 60, 25,
                                                                                                   0.6))]),
        valid("rounded to whole pixels", [ellipse(0, 0, 0, 0, vertices=[(round(x), round(y)) for x, y in
                                                                         rotated(300, 200, 60, 25, 1.1)])]),
        valid("centres within the tolerance", [ellipse(0, 0, 0, 0, vertices=[(100, 80), (131.5, 100), (100, 120),
                                                                              (70, 100)])]),
        valid("axes 8 degrees off: within the default tolerance",
              [ellipse(0, 0, 0, 0, vertices=[*rotated(100, 100, 40, 20, 0)[:1], *rotated(100, 100, 40, 20,
                                                                                         math.radians(8))[1:2],
                                              *rotated(100, 100, 40, 20, 0)[2:3],
                                              *rotated(100, 100, 40, 20, math.radians(8))[3:]])]),
        valid("flat ellipse: left to ellipse_degenerate", [ellipse(0, 0, 0, 0, vertices=[(10, 10), (20, 10), (10, 10),
                                                                                         (0, 10)])]),
        valid("wrong number of points: left to ellipse_vertex_count",
              [ellipse(0, 0, 0, 0, vertices=[(0, -5), (10, 0), (0, 5)])]),
    ],
    invalid=[
        invalid("off-centre: one point moved on its own",
                [ellipse(0, 0, 0, 0, vertices=[(50, 40), (70, 50), (50, 60), (20, 50)])],
                errors=[error("a1", at=[(50, 40), (70, 50), (50, 60), (20, 50)],
                              message="do not share a centre: the middle of points 2 and 4 is 5 px from the middle "
                                      "of points 1 and 3")]),
        invalid("points in the wrong order: top, bottom, right, left",
                [ellipse(0, 0, 0, 0, vertices=[(100, 80), (100, 120), (130, 100), (70, 100)])],
                errors=[error("a1", at=[(100, 80), (100, 120), (130, 100), (70, 100)],
                              message="do not share a centre")]),
        invalid("axes not perpendicular, same centre",
                [ellipse(0, 0, 0, 0, vertices=[(100, 60), (140, 140), (100, 140), (60, 60)])],
                errors=[error("a1", at=[(100, 60), (140, 140), (100, 140), (60, 60)],
                              message="meet at 45 degrees instead of 90")]),
        invalid("a stricter angle tolerance",
                [ellipse(0, 0, 0, 0, vertices=[*rotated(100, 100, 40, 20, 0)[:1], *rotated(100, 100, 40, 20,
                                                                                           math.radians(8))[1:2],
                                                *rotated(100, 100, 40, 20, 0)[2:3],
                                                *rotated(100, 100, 40, 20, math.radians(8))[3:]])],
                options={"angle_tolerance": 5},
                errors=[error("a1", at=[(100, 80), (100 + 40 * math.cos(math.radians(8)),
                                                   100 + 40 * math.sin(math.radians(8))),
                                        (100, 120), (100 - 40 * math.cos(math.radians(8)),
                                                     100 - 40 * math.sin(math.radians(8)))],
                              message="meet at 82 degrees")]),
    ],
)

test_ellipse_degenerate = degenerate.pytest(
    valid=[
        valid("a thin but real ellipse", [ellipse(100, 100, 30, 1)]),
        valid("a circle", [ellipse(100, 100, 5, 5)]),
        valid("wrong number of points: left to ellipse_vertex_count", [ellipse(0, 0, 0, 0, vertices=[(1, 1)] * 3)]),
    ],
    invalid=[
        invalid("no height", [ellipse(0, 0, 0, 0, vertices=[(10, 10), (20, 10), (10, 10), (0, 10)])],
                errors=[error("a1", at=[(10, 10), (20, 10), (10, 10), (0, 10)],
                              message="points 1 and 3 are at the same spot")]),
        invalid("almost no width", [ellipse(50, 50, 0.2, 10)],
                errors=[error("a1", at=[(50, 40), (50.2, 50), (50, 60), (49.8, 50)],
                              message="points 2 and 4 are only 0.4 px apart")]),
        invalid("all four points on one spot", [ellipse(5, 5, 0, 0)],
                errors=[error("a1", at=[(5, 5)] * 4, message="no size")]),
    ],
)
