"""duplicate_vertex: consecutive vertices at the same spot in polygons and lines; the closing duplicate decision."""
from validator.testing import RuleTester, error, invalid, line, point, polygon, valid

tester = RuleTester("duplicate_vertex")

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
COCO_TV = [(344.41, 200.91), (344.41, 200.91), (416.99, 214.1), (406.43, 306.47), (331.22, 293.28)]

test_duplicate_vertex = tester.pytest(
    valid=[
        valid("distinct vertices", [polygon(SQUARE), line([(0, 0), (5, 5), (10, 0)])]),
        valid("closing duplicate accepted by default", [polygon([*SQUARE, (0, 0)])]),
        valid("the same spot visited twice, not consecutively", [line([(0, 0), (10, 0), (0, 0), (0, 10)])]),
        valid("self-crossing line: no duplicate", [line([(0, 0), (10, 10), (10, 0), (0, 10)])]),
        valid("line ending where it started is not a polygon closing", [line([(0, 0), (10, 0), (10, 10), (0, 0)])]),
        valid("close but not on top, tolerance 0", [polygon([(0, 0), (10, 0), (10.01, 0), (10, 10)])]),
        valid("two annotations: last vertex of one equals first of the next",
              [line([(0, 0), (10, 0)]), line([(10, 0), (20, 0)])]),
        valid("line with no extent: left to line_zero_length", [line([(4, 4), (4, 4)])]),
        valid("polygon with fewer than 3 spots: left to polygon_degenerate", [polygon([(1, 1), (1, 1), (5, 5)])]),
        valid("points are not checked", [point(1, 1), point(1, 1)]),
    ],
    invalid=[
        invalid("double click in a line", [line([(0, 0), (10, 0), (10, 0), (20, 5)])],
                errors=[error("a1", at=[(10, 0)], message="Vertex 3 of the line is on top of vertex 2")]),
        invalid("double click in a polygon", [polygon([(0, 0), (0, 0), (10, 0), (10, 10)])],
                errors=[error("a1", at=[(0, 0)], message="Vertex 2 of the polygon is on top of vertex 1")]),
        invalid("several duplicates: one issue, each later vertex pointed at",
                [polygon([(0, 0), (10, 0), (10, 0), (10, 10), (10, 10), (10, 10), (0, 10)])],
                errors=[error("a1", at=[(10, 0), (10, 10), (10, 10)],
                              message="3 vertices of the polygon are on top of the vertex before them")]),
        invalid("closing duplicate reported when not allowed", [polygon([*SQUARE, (0, 0)])],
                options={"allow_closing_duplicate": False},
                errors=[error("a1", at=[(0, 0)], message="last vertex repeats its first one")]),
        invalid("within the tolerance", [polygon([(0, 0), (10, 0), (10.3, 0), (10, 10)])],
                options={"tolerance": 0.5},
                errors=[error("a1", at=[(10.3, 0)], message="Vertex 3 of the polygon is only 0.3 px from vertex 2")]),
        invalid("closing duplicate within the tolerance, not allowed", [polygon([*SQUARE, (0.2, 0.1)])],
                options={"tolerance": 0.5, "allow_closing_duplicate": False},
                errors=[error("a1", at=[(0.2, 0.1)], message="last vertex repeats its first one")]),
        invalid("locations capped", [line([(0, 0), (0, 0), (5, 5), (5, 5), (9, 9), (9, 9)])],
                options={"max_locations": 2},
                errors=[error("a1", at=[(0, 0), (5, 5)], message="3 vertices of the line")]),
        invalid("only the annotation with a duplicate", [polygon(SQUARE), line([(1, 1), (2, 2), (2, 2)])],
                errors=[error("a2", at=[(2, 2)])]),
        # a real shape (COCO 000000196611.jpg, tv): the double click every flag on real data was (docs/calibration.md)
        invalid("COCO tv polygon with a double-clicked first vertex", [polygon(COCO_TV)],
                errors=[error("a1", at=[(344.41, 200.91)], message="Vertex 2 of the polygon is on top of vertex 1")]),
    ],
)


def test_a_double_click_warns_by_default_and_does_not_block_the_task():
    from validator.engine.engine import Engine
    from validator.testing import make_body

    result = Engine.from_config_file(None).validate(make_body([polygon(COCO_TV)]))  # the built-in defaults
    assert [(i.error_type, i.level) for i in result.issues] == [("duplicate_vertex", "warn")]
    assert result.passed
