"""rotated_box_inconsistent: given vertices match the box's left/top/width/height/rotation, in any corner order."""
import json
import math
from pathlib import Path

from validator.testing import RuleTester, box, error, invalid, make_task, valid

tester = RuleTester("rotated_box_inconsistent")

ROTATED_EXAMPLE = json.loads((Path(__file__).parents[1] / "examples" / "02_rotated_boxes.json").read_text())
EXAMPLE_BOXES = ROTATED_EXAMPLE["response"]["annotations"]
SHIP = [(438.4, 256.7), (611.6, 356.7), (561.6, 443.3), (388.4, 343.3)]  # left 400, top 300, 200 x 100, 0.5236


def corners(left, top, width, height, rotation):
    cx, cy = left + width / 2, top + height / 2
    c, s = math.cos(rotation), math.sin(rotation)
    return [(cx + dx * c - dy * s, cy + dx * s + dy * c)
            for dx, dy in ((-width / 2, -height / 2), (width / 2, -height / 2), (width / 2, height / 2),
                           (-width / 2, height / 2))]


test_rotated_box_inconsistent = tester.pytest(
    valid=[
        valid("the rotated boxes of examples/02 (vertices rounded to 0.1 px, rotation to 4 decimals)", EXAMPLE_BOXES,
              task=ROTATED_EXAMPLE["task"]),
        valid("vertices computed exactly", [box(100, 100, 80, 40, rotation=1.0)]),
        valid("vertices starting at another corner", [box(400, 300, 200, 100, rotation=0.5236,
                                                          vertices=SHIP[2:] + SHIP[:2])]),
        valid("vertices in the other direction", [box(400, 300, 200, 100, rotation=0.5236, vertices=SHIP[::-1])]),
        valid("rotation 0 with the axis-aligned corners", [box(10, 20, 30, 40, rotation=0.0,
                                                               vertices=[(10, 20), (40, 20), (40, 60), (10, 60)])]),
        valid("a rotated box without vertices (they are optional)", [box(400, 300, 200, 100, rotation=0.5236,
                                                                         vertices=[])]),
        valid("a plain box", [box(10, 20, 30, 40)]),
        valid("a square turned by a right angle: its corners land on the same spots in another order",
              [box(0, 0, 100, 100, rotation=math.pi / 2, vertices=[(0, 0), (100, 0), (100, 100), (0, 100)])]),
        valid("within the tolerance", [box(400, 300, 200, 100, rotation=0.5236,
                                           vertices=[(439.5, 256.7), *SHIP[1:]])]),
        valid("a big box: the relative tolerance covers rotation rounding",
              [box(0, 0, 4000, 3000, rotation=0.5236, vertices=corners(0, 0, 4000, 3000, 0.5236 + 0.0004))],
              task=make_task(width=5000, height=5000)),
    ],
    invalid=[
        invalid("one vertex moved", [box(400, 300, 200, 100, rotation=0.5236,
                                         vertices=[SHIP[0], (640, 356.7), *SHIP[2:]])],
                errors=[error("a1", at=[(640, 356.7)],
                              message="do not match its position, size and rotation: vertex 2 is 28.4 px from the "
                                      "nearest corner")]),
        invalid("rotation 0 but rotated vertices", [box(400, 300, 200, 100, rotation=0.0, vertices=SHIP)],
                errors=[error("a1", at=SHIP, message="4 vertices are up to")]),
        invalid("rotation given in degrees", [box(400, 300, 200, 100, rotation=30.0, vertices=SHIP)],
                errors=[error("a1", at=SHIP, message="4 vertices are up to")]),
        invalid("counter-clockwise rotation", [box(400, 300, 200, 100, rotation=-0.5236, vertices=SHIP)],
                errors=[error("a1", at=SHIP, message="vertices are up to")]),
        invalid("two vertices on one corner, a corner left without one",
                [box(400, 300, 200, 100, rotation=0.5236, vertices=[SHIP[0], SHIP[1], SHIP[2], SHIP[2]])],
                errors=[error("a1", at=[corners(400, 300, 200, 100, 0.5236)[3]],
                              message="1 corner of the box has no vertex")]),
        invalid("three vertices", [box(400, 300, 200, 100, rotation=0.5236, vertices=SHIP[:3])],
                errors=[error("a1", at=SHIP[:3], message="The box has 3 vertices; a box has exactly 4 corners")]),
        invalid("a stricter tolerance", [box(400, 300, 200, 100, rotation=0.5236,
                                             vertices=[(439.5, 256.7), *SHIP[1:]])],
                options={"tolerance": 0.5, "relative_tolerance": 0},
                errors=[error("a1", at=[(439.5, 256.7)], message="vertex 1 is 1.1 px")]),
        invalid("only the inconsistent box", [box(10, 20, 30, 40), box(400, 300, 200, 100, rotation=0.5236,
                                                                       vertices=[SHIP[0], (640, 356.7), *SHIP[2:]])],
                errors=[error("a2", at=[(640, 356.7)])]),
    ],
)
