"""Cuboid rules: six described vertices and edges, a proper front face, edges joining the right vertices."""
import copy
import json
from pathlib import Path

from validator.testing import RuleTester, cuboid, error, invalid, valid

structure = RuleTester("cuboid_structure")
face = RuleTester("cuboid_face_shape")
edges = RuleTester("cuboid_edge_mismatch")

EXAMPLE = json.loads((Path(__file__).parents[1] / "examples" / "04_cuboids.json").read_text())
RIGHT = cuboid(600, 400, 220, 160)  # side face on the right (side_dx > 0)
LEFT = cuboid(600, 400, 220, 160, side_dx=-60, side_dy=10)  # side face on the left


_KEEP = object()


def with_vertex(c, description, x, y, new_description=_KEEP):
    """A copy of cuboid ``c`` with one vertex moved (and optionally re-described)."""
    c = copy.deepcopy(c)
    for v in c["vertices"]:
        if v["description"] == description:
            v["x"], v["y"] = x, y
            if new_description is not _KEEP:
                v["description"] = new_description
    return c


def with_edge(c, which, **changes):
    c = copy.deepcopy(c)
    for e in c["edges"]:
        if e["description"] == which:
            e.update(changes)
    return c


def without(c, key, description):
    c = copy.deepcopy(c)
    c[key] = [x for x in c[key] if x["description"] != description]
    return c


def shuffled(c):
    c = copy.deepcopy(c)
    c["vertices"] = c["vertices"][::-1]
    c["edges"] = c["edges"][3:] + c["edges"][:3]
    return c


test_cuboid_structure = structure.pytest(
    valid=[
        valid("the cuboids of examples/04 (side face right and left)", EXAMPLE["response"]["annotations"],
              task=EXAMPLE["task"]),
        valid("side face on the right", [RIGHT]),
        valid("side face on the left", [LEFT]),
        valid("vertices and edges in another order", [shuffled(RIGHT)]),
        valid("no edges, edges not required", [{k: v for k, v in RIGHT.items() if k != "edges"}],
              options={"check_edges": False}),
    ],
    invalid=[
        invalid("a vertex described twice, another missing",
                [with_vertex(RIGHT, "face-bottomleft", 600, 560, new_description="face-topleft")],
                errors=[error("a1", at=[(600, 560)],
                              message="The cuboid has two face-topleft vertices. The cuboid has no face-bottomleft "
                                      "vertex.")]),
        invalid("a misspelled description", [with_vertex(RIGHT, "side-topcorner", 860, 380,
                                                         new_description="side-top-corner")],
                errors=[error("a1", at=[(860, 380)], message="described as 'side-top-corner', which is not a cuboid "
                                                             "corner. The cuboid has no side-topcorner vertex.")]),
        invalid("a vertex without description", [with_vertex(RIGHT, "face-topright", 820, 400, new_description=None)],
                errors=[error("a1", at=[(820, 400)], message="Vertex 3 of the cuboid has no description")]),
        invalid("a missing vertex", [without(RIGHT, "vertices", "side-bottomcorner")],
                errors=[error("a1", at=None, message="The cuboid has no side-bottomcorner vertex.")]),
        invalid("no edges", [{k: v for k, v in RIGHT.items() if k != "edges"}],
                errors=[error("a1", at=None, message="The cuboid has no edges; it needs 6")]),
        invalid("a missing edge", [without(RIGHT, "edges", "side-top")],
                errors=[error("a1", at=None, message="The cuboid has no side-top edge.")]),
        invalid("a misspelled edge", [with_edge(RIGHT, "face-top", description="top")],
                errors=[error("a1", at=[(600, 400)], message="Edge 1 of the cuboid is described as 'top', which is "
                                                             "not a cuboid edge. The cuboid has no face-top edge.")]),
        invalid("an edge coordinate that is not a number", [with_edge(RIGHT, "face-left", x2=None)],
                errors=[error("a1", at=None, message="The cuboid's face-left edge has a coordinate that is missing "
                                                     "or not a number.")]),
        invalid("no vertices at all", [{**RIGHT, "vertices": []}],
                errors=[error("a1", at=None, message="The cuboid has no vertices; it needs 6")]),
        invalid("many problems: the first three named", [{**RIGHT, "vertices": RIGHT["vertices"][:1], "edges": []}],
                errors=[error("a1", at=None, message="(3 more problems.)")]),
    ],
)

test_cuboid_face_shape = face.pytest(
    valid=[
        valid("the cuboids of examples/04 (side face right and left)", EXAMPLE["response"]["annotations"],
              task=EXAMPLE["task"]),
        valid("side face on the right", [RIGHT]),
        valid("side face on the left", [LEFT]),
        valid("a front face in perspective (not a rectangle)",
              [with_vertex(with_vertex(RIGHT, "face-topright", 815, 410), "face-bottomright", 818, 550)]),
        valid("vertices in another order", [shuffled(LEFT)]),
        valid("incomplete cuboid: left to cuboid_structure", [without(RIGHT, "vertices", "face-topleft")]),
        valid("side face upside down, side check off",
              [with_vertex(with_vertex(RIGHT, "side-topcorner", 860, 600), "side-bottomcorner", 860, 380)],
              options={"check_side_face": False}),
    ],
    invalid=[
        invalid("face-topright left of face-topleft", [with_vertex(RIGHT, "face-topright", 580, 400)],
                errors=[error("a1", at=[(600, 400), (580, 400)],
                              message="The cuboid's face-topright corner is not right of its face-topleft corner.")]),
        invalid("face upside down: bottom corners above the top ones",
                [with_vertex(with_vertex(RIGHT, "face-bottomleft", 600, 380), "face-bottomright", 820, 380)],
                errors=[error("a1", at=[(600, 400), (600, 380), (820, 400), (820, 380)],
                              message="face-bottomleft corner is not below its face-topleft corner. The cuboid's "
                                      "face-bottomright corner is not below its face-topright corner.")]),
        invalid("flat front face", [with_vertex(with_vertex(RIGHT, "face-bottomleft", 600, 400.0001),
                                                "face-bottomright", 820, 400)],
                errors=[error("a1", at=[(600, 400), (820, 400), (820, 400), (600, 400.0001)],
                              message="The cuboid's front face has no area.")]),
        invalid("side face upside down", [with_vertex(with_vertex(RIGHT, "side-topcorner", 860, 600),
                                                      "side-bottomcorner", 860, 380)],
                errors=[error("a1", at=[(860, 600), (860, 380)],
                              message="side-bottomcorner is not below its side-topcorner")]),
        invalid("front face crossing itself, corners in their places",
                [with_vertex(with_vertex(with_vertex(RIGHT, "face-topright", 650, 300), "face-bottomright", 730, 600),
                             "face-bottomleft", 720, 560)],
                errors=[error("a1", at=[(600, 400), (650, 300), (730, 600), (720, 560)],
                              message="The cuboid's front face crosses itself.")]),
    ],
)

test_cuboid_edge_mismatch = edges.pytest(
    valid=[
        valid("the cuboids of examples/04 (side face right and left)", EXAMPLE["response"]["annotations"],
              task=EXAMPLE["task"]),
        valid("side face on the right", [RIGHT]),
        valid("side face on the left", [LEFT]),
        valid("edge ends given in the other order", [with_edge(RIGHT, "face-top", x1=820, y1=400, x2=600, y2=400)]),
        valid("edges within the tolerance", [with_edge(RIGHT, "face-right", x1=820.8, y2=560.5)]),
        valid("vertices and edges in another order", [shuffled(LEFT)]),
        valid("missing edge: left to cuboid_structure", [without(RIGHT, "edges", "side-top")]),
    ],
    invalid=[
        invalid("one edge end off its vertex", [with_edge(RIGHT, "face-top", x2=800)],
                errors=[error("a1", at=[(800, 400)],
                              message="The cuboid's face-top edge does not end at its face-topright corner (20 px "
                                      "away).")]),
        invalid("side edges on the wrong side of the face (side face on the right)",
                [with_edge(with_edge(RIGHT, "side-top", x1=600), "side-bottom", x1=600)],
                errors=[error("a1", at=[(600, 560), (600, 400)],
                              message="The cuboid's side-bottom edge does not end at its face-bottomright corner (220 "
                                      "px away). The cuboid's side-top edge does not end at its face-topright")]),
        invalid("an edge joining the wrong corners",
                [with_edge(RIGHT, "face-left", x1=820, y1=400, x2=820, y2=560)],
                errors=[error("a1", at=[(820, 400), (820, 560)],
                              message="The cuboid's face-left edge does not connect its face-topleft and "
                                      "face-bottomleft corners (up to 220 px away).")]),
        invalid("side face on the left, edge still leaving from the right",
                [with_edge(LEFT, "side-top", x1=820, y1=400)],
                errors=[error("a1", at=[(820, 400)], message="side-top edge does not end at its face-topleft corner")]),
        invalid("a stricter tolerance", [with_edge(RIGHT, "face-right", x1=820.8)], options={"tolerance": 0.5},
                errors=[error("a1", at=[(820.8, 400)], message="face-right edge does not end at its face-topright "
                                                               "corner (0.8 px away)")]),
    ],
)
