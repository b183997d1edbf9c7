"""The format rules: unreadable annotations become issues on that annotation, the rest is still checked."""
from validator.testing import RuleTester, box, error, invalid, line, point, polygon, valid

malformed = RuleTester("malformed_annotation")
non_finite = RuleTester("non_finite_coordinate")

test_malformed_annotation = malformed.pytest(
    valid=[
        valid("every geometry well formed", [box(1, 2, 30, 40), polygon([(0, 0), (10, 0), (5, 8)]),
                                             line([(0, 0), (4, 4)]), point(3, 3)]),
        valid("attributes key absent", [{"uuid": "x", "type": "point", "label": "head", "x": 1, "y": 2}]),
        valid("integer and float coordinates", [box(1, 2.5, 3, 4.25)]),
        valid("NaN is not this rule's business", [point(float("nan"), 3)]),
    ],
    invalid=[
        invalid("not an object", [5, box(0, 0, 20, 20)], errors=[error(None, at=None, message="not an object")]),
        invalid("no uuid", [{"type": "point", "label": "head", "x": 1, "y": 1, "uuid": ""}],
                errors=[error(None, at=None, message="has no uuid")]),
        invalid("duplicate uuid", [point(1, 1, uuid="p"), point(2, 2, uuid="p")],
                errors=[error("p", at=None, message="share the uuid")]),
        invalid("unknown type", [{"type": "circle", "label": "x", "x": 1}], errors=[error("a1", at=None,
                                                                                        message="unknown type")]),
        invalid("null coordinate", [box(1, None, 5, 5)], errors=[error("a1", at=None, message="top is missing")]),
        invalid("boolean coordinate", [point(True, 5)], errors=[error("a1", at=None, message="not a number (true)")]),
        invalid("string coordinate", [point("12", 5)], errors=[error("a1", at=None, message="not a number")]),
        invalid("vertices not a list", [{"type": "polygon", "label": "road", "vertices": {"x": 1}}],
                errors=[error("a1", at=None, message="not a list")]),
        invalid("bad vertex located at the previous one", [polygon([(1, 2), (3, 4), (None, 5)])],
                errors=[error("a1", at=[(3, 4)], message="Vertex 3")]),
        invalid("no label", [{"type": "point", "x": 1, "y": 1}], errors=[error("a1", at=None, message="no label")]),
    ],
)

test_non_finite_coordinate = non_finite.pytest(
    valid=[valid("finite", [point(1e300, -1e300)])],
    invalid=[
        invalid("NaN vertex", [polygon([(0, 0), (10, 0), (float("nan"), 5)])],
                errors=[error("a1", at=[(10, 0)], message="Vertex 3")]),
        invalid("infinite box width", [box(3, 4, float("inf"), 5)], errors=[error("a1", at=[(3, 4)])]),
        invalid("NaN point", [point(float("nan"), 1)], errors=[error("a1", at=None)]),
    ],
)
