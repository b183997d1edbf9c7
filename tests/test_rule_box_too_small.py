"""Box size: the task's min_width / min_height (inclusive), never zero or negative; cuboids by their front face."""
import math

from validator.testing import RuleTester, box, cuboid, error, invalid, make_task, valid

MIN10 = make_task(box={"min_width": 10, "min_height": 20}, cuboid={"min_width": 10, "min_height": 10})

tester = RuleTester("box_too_small")

test_box_too_small = tester.pytest(
    valid=[
        valid("exactly the minimum", [box(0, 0, 10, 20)], task=MIN10),
        valid("float edges exactly at the minimum", [box(0.1, 0.2, 10.0, 20.0)], task=MIN10),
        valid("no minimum in the task: any positive size", [box(0, 0, 0.5, 0.5)]),
        valid("rotated box measured by its own size", [box(100, 100, 10, 20, rotation=math.pi / 4)], task=MIN10),
        valid("cuboid face exactly the minimum", [cuboid(100, 100, 10, 10, side_dx=3, side_dy=-2)], task=MIN10),
        valid("cuboid face on the left side", [cuboid(100, 100, 12, 12, side_dx=-40)], task=MIN10),
        valid("option below the task's minimum does not lower it", [box(0, 0, 10, 20)], task=MIN10,
              options={"min_width": 4}),
        valid("task minimums ignored on request", [box(0, 0, 5, 5)], task=MIN10,
              options={"use_task_minimums": False, "min_width": 5}),
        valid("box partly outside a padded image is measured by its own size", [box(-30, -10, 10, 20)],
              task=make_task(padding=50, box={"min_width": 10, "min_height": 20})),
        valid("box minimums do not apply to cuboids", [cuboid(100, 100, 12, 12)],
              task=make_task(box={"min_width": 50, "min_height": 50})),
    ],
    invalid=[
        invalid("too narrow", [box(5, 6, 3, 40)], task=MIN10,
                errors=[error("a1", at=(5, 6), message="Box is 3 px wide; the minimum is 10 px.")]),
        invalid("too low", [box(5, 6, 30, 19.5)], task=MIN10,
                errors=[error("a1", at=(5, 6), message="Box is 19.5 px high; the minimum is 20 px.")]),
        invalid("both too small", [box(5, 6, 3, 4)], task=MIN10,
                errors=[error("a1", at=(5, 6), message="Box is 3 px wide and 4 px high; the minimum is 10 px wide "
                                                       "and 20 px high.")]),
        invalid("just under the minimum is not rounded up", [box(5, 6, 9.999, 20)], task=MIN10,
                errors=[error("a1", at=(5, 6), message="Box is 9.999 px wide")]),
        invalid("zero width without a task minimum", [box(5, 6, 0, 10)],
                errors=[error("a1", at=(5, 6), message="Box has no width; draw it again.")]),
        invalid("negative width", [box(50, 6, -12, 10)], task=MIN10,
                errors=[error("a1", at=(50, 6), message="Box has a negative width (-12 px); draw it again.")]),
        invalid("negative height and no width", [box(50, 6, 0, -3)],
                errors=[error("a1", at=(50, 6), message="no width and a negative height (-3 px)")]),
        invalid("rotated box too narrow, located at its rotated corner",
                [box(100, 100, 4, 20, rotation=math.pi / 2)], task=MIN10,
                errors=[error("a1", at=(112, 108), message="Box is 4 px wide")]),
        invalid("cuboid front face too small", [cuboid(100, 200, 8, 30)], task=MIN10,
                errors=[error("a1", at=(100, 200), message="The cuboid's front face is 8 px wide; the minimum is "
                                                           "10 px.")]),
        invalid("cuboid face with no height", [cuboid(100, 200, 30, 0)],
                errors=[error("a1", at=(100, 200), message="The cuboid's front face has no height")]),
        invalid("option adds a minimum the task lacks", [box(1, 2, 7, 50)], options={"min_width": 8},
                errors=[error("a1", at=(1, 2), message="the minimum is 8 px")]),
        invalid("option stricter than the task", [box(1, 2, 11, 50)], task=MIN10, options={"min_width": 12},
                errors=[error("a1", at=(1, 2), message="the minimum is 12 px")]),
        invalid("only the small one of many", [box(0, 0, 10, 20), box(40, 0, 9, 20), box(80, 0, 30, 30)],
                task=MIN10, errors=[error("a2", at=(40, 0))]),
    ],
)


# types_of: a scoped instance reviews the types among its own annotations (a subset), the others every type present
_scoped_sizes = RuleTester("box_too_small", config="""
[engine]
builtin_rules = "configured"
failure_policy = "closed"

[[rule]]
id = "box_too_small"
labels = ["pedestrian"]
""")

test_box_too_small_scoped_by_labels = _scoped_sizes.pytest(
    valid=[valid("an empty car box and cuboid are outside the instance's labels",
                 [box(0, 0, 0, 5), cuboid(100, 100, 0, 5)])],
    invalid=[invalid("only the empty pedestrian box, next to an empty car cuboid",
                     [cuboid(100, 100, 0, 5), box(0, 0, 0, 5, label="pedestrian")],
                     errors=[error("a2", at=(0, 0), message="Box has no width")])],
)
