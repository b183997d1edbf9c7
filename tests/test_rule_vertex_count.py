"""Vertex counts of polygons and lines against the task's min_vertices / max_vertices (inclusive)."""
from validator.testing import RuleTester, error, invalid, line, make_task, point, polygon, valid

LIMITS = make_task(polygon={"min_vertices": 4, "max_vertices": 6}, line={"min_vertices": 3, "max_vertices": 4})
SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
HEXAGON = [(10, 0), (20, 5), (20, 15), (10, 20), (0, 15), (0, 5)]
CONCAVE7 = [(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (0, 30)]

too_few = RuleTester("too_few_vertices")
too_many = RuleTester("too_many_vertices")

test_too_few_vertices = too_few.pytest(
    valid=[
        valid("exactly the minimum", [polygon(SQUARE), line([(0, 0), (5, 5), (9, 0)])], task=LIMITS),
        valid("no task minimum: Scale's default is 1", [line([(3, 3)]), polygon([(0, 0), (5, 5)])]),
        valid("points are not counted", [point(1, 1)], task=LIMITS),
        valid("task minimum ignored on request", [polygon([(0, 0), (9, 0), (0, 9)])], task=LIMITS,
              options={"use_task_limits": False}),
    ],
    invalid=[
        invalid("polygon one short", [polygon([(4, 5), (9, 0), (0, 9)])], task=LIMITS,
                errors=[error("a1", at=(4, 5), message="Polygon has 3 vertices; the minimum is 4.")]),
        invalid("line one short", [line([(1, 2), (9, 9)])], task=LIMITS,
                errors=[error("a1", at=(1, 2), message="Line has 2 vertices; the minimum is 3.")]),
        invalid("empty line under Scale's default", [line([])],
                errors=[error("a1", at=None, message="Line has no vertices; the minimum is 1.")]),
        invalid("option stricter than the task", [polygon(SQUARE)], task=LIMITS, options={"min_vertices": 5},
                errors=[error("a1", at=(0, 0), message="the minimum is 5")]),
    ],
)

test_too_many_vertices = too_many.pytest(
    valid=[
        valid("exactly the maximum", [polygon(HEXAGON), line([(0, 0), (1, 1), (2, 0), (3, 1)])], task=LIMITS),
        valid("no task maximum", [polygon(CONCAVE7), line([(i, i % 2) for i in range(50)])]),
        valid("option looser than the task does not raise it", [polygon(HEXAGON)], task=LIMITS,
              options={"max_vertices": 100}),
    ],
    invalid=[
        invalid("concave polygon one over", [polygon(CONCAVE7)], task=LIMITS,
                errors=[error("a1", at=(0, 0), message="Polygon has 7 vertices; the maximum is 6.")]),
        invalid("line one over", [line([(5, 0), (1, 1), (2, 0), (3, 1), (4, 0)])], task=LIMITS,
                errors=[error("a1", at=(5, 0), message="Line has 5 vertices; the maximum is 4.")]),
        invalid("option adds a maximum", [polygon(HEXAGON)], options={"max_vertices": 5},
                errors=[error("a1", at=(10, 0), message="the maximum is 5")]),
    ],
)
