"""line_zero_length: a line has a length; crossing itself is fine."""
from validator.testing import RuleTester, error, invalid, line, polygon, valid

tester = RuleTester("line_zero_length")

test_line_zero_length = tester.pytest(
    valid=[
        valid("two distinct vertices", [line([(0, 0), (3, 4)])]),
        valid("a line crossing itself", [line([(0, 0), (10, 10), (10, 0), (0, 10)])]),
        valid("a line going back over itself", [line([(0, 0), (10, 0), (0, 0)])]),
        valid("short but longer than the tolerance", [line([(0, 0), (0.6, 0)])]),
        valid("duplicate vertices but a length", [line([(0, 0), (0, 0), (5, 0)])]),
        valid("tolerance 0 accepts a tiny line", [line([(0, 0), (0.1, 0)])], options={"tolerance": 0}),
        valid("polygons are not checked", [polygon([(0, 0), (0, 0), (0, 0)])]),
    ],
    invalid=[
        invalid("both vertices on the same spot", [line([(40, 50), (40, 50)])],
                errors=[error("a1", at=[(40, 50)], message="All 2 vertices of the line are at the same spot")]),
        invalid("single vertex", [line([(7, 8)])],
                errors=[error("a1", at=[(7, 8)], message="single vertex")]),
        invalid("no vertices", [line([])], errors=[error("a1", at=None, message="no vertices")]),
        invalid("sub-pixel line", [line([(10, 10), (10.2, 10), (10.3, 10)])],
                errors=[error("a1", at=[(10, 10)], message="only 0.3 px long")]),
        invalid("at the tolerance", [line([(0, 0), (1, 0)])], options={"tolerance": 1},
                errors=[error("a1", at=[(0, 0)], message="only 1 px long")]),
        invalid("only the zero-length line, in request order", [line([(0, 0), (5, 5)]), line([(9, 9), (9, 9)])],
                errors=[error("a2", at=[(9, 9)])]),
    ],
)
