"""duplicate_point: same label at the same spot (within the tolerance) is reported once, on the later point."""
from validator.testing import RuleTester, box, error, invalid, point, polygon, valid

tester = RuleTester("duplicate_point")

test_duplicate_point = tester.pytest(
    valid=[
        valid("different spots", [point(10, 10), point(20, 10)]),
        valid("different labels at the same spot", [point(10, 10, label="head"), point(10, 10, label="hand")]),
        valid("same label just beyond the tolerance", [point(10, 10), point(11.01, 10)]),
        valid("a point inside a box at the same spot is not a duplicate", [box(0, 0, 20, 20), point(0, 0)]),
        valid("a single point", [point(5, 5)]),
        valid("no points", [polygon([(0, 0), (10, 0), (5, 5)])]),
        valid("tolerance 0: only exactly the same spot", [point(10, 10), point(10.2, 10)],
              options={"tolerance": 0}),
    ],
    invalid=[
        invalid("same label on exactly the same spot", [point(100, 200), point(100, 200)],
                errors=[error("a2", at=[(100, 200)], message="Another head point is already at this spot")]),
        invalid("same label within the tolerance", [point(100, 200), point(100.5, 200)],
                errors=[error("a2", at=[(100.5, 200)], message="only 0.5 px away")]),
        invalid("exactly at the tolerance", [point(10, 10), point(11, 10)],
                errors=[error("a2", at=[(11, 10)], message="only 1 px away")]),
        invalid("reported on the later point in request order, whatever the uuids",
                [point(5, 5, uuid="zz"), point(5, 5, uuid="aa")], errors=[error("aa", at=[(5, 5)])]),
        invalid("three on one spot: each later one once", [point(1, 1), point(1, 1), point(1.5, 1)],
                errors=[error("a2", at=[(1, 1)], message="already at this spot"),
                        error("a3", at=[(1.5, 1)], message="only 0.5 px away")]),
        invalid("only the same-label pair among others",
                [point(10, 10, label="hand"), point(10, 10, label="head"), point(10.5, 10, label="hand"),
                 point(50, 50, label="head")],
                errors=[error("a3", at=[(10.5, 10)], message="Another hand point")]),
        invalid("a wider tolerance", [point(0, 0), point(3, 4)], options={"tolerance": 5},
                errors=[error("a2", at=[(3, 4)], message="only 5 px away")]),
    ],
)


def test_no_quadratic_comparisons():
    """1,000 points spread over the image: the exact comparisons stay linear (neighbours only), not n^2."""
    import numpy as np

    from validator.scale.annotations import extract
    from validator.engine.context import Context, Selection
    from validator.engine.registry import build_registry
    from validator.scale.task import TaskSpec
    from validator.testing import make_task

    anns = extract([{**point(7 * (i % 100), 7 * (i // 100)), "uuid": f"p{i}"} for i in range(1000)])
    ctx = Context(TaskSpec.from_task(make_task()), anns, {})
    rule = build_registry(entry_points=False).get("duplicate_point")
    issues = list(rule.func(Selection(anns, np.arange(len(anns))), ctx, rule.load_options({})))
    assert issues == []
    assert ctx.geometry.stats["exact_comparisons"] <= 5 * 1000
