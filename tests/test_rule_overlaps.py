"""Overlap rules: duplicates (IoU), forbidden overlaps between labels, containment. Real shapely geometry."""
import copy

import pytest
import shapely
from hypothesis import given, settings, strategies as st

from validator.engine.config import ConfigError, load_config
from validator.testing import (RuleTester, box, cuboid, ellipse, error, invalid, line, make_body, make_task, point,
                               polygon, valid)

duplicates = RuleTester("duplicate_annotation")
forbidden = RuleTester("forbidden_overlap", options={"pairs": [["road", "sidewalk"]]})
contained = RuleTester("contained_annotation")

# A concave "C" (open to the left) and the rectangle filling its notch: the notch lies inside the C's bounding box
# and touches it along three edges, but the two shapes share no area.
C_SHAPE = [(0, 0), (100, 0), (100, 100), (0, 100), (0, 60), (60, 60), (60, 40), (0, 40)]
NOTCH = [(0, 40), (60, 40), (60, 60), (0, 60)]
# An L whose centroid (22, 22) lies outside it: the location must then be a point inside the overlap.
L_SHAPE = [(0, 0), (60, 0), (60, 20), (20, 20), (20, 60), (0, 60)]
L_INSIDE = shapely.point_on_surface(shapely.Polygon(L_SHAPE)).coords[0]
CUBOID_CENTROID = shapely.centroid(shapely.MultiPoint(
    [(100, 100), (100, 160), (200, 100), (200, 160), (240, 80), (240, 150)]).convex_hull).coords[0]


test_duplicate_annotation = duplicates.pytest(
    valid=[
        valid("two separate car boxes", [box(0, 0, 50, 50), box(200, 0, 50, 50)]),
        valid("touching boxes share an edge", [box(0, 0, 100, 100), box(100, 0, 100, 100)]),
        valid("touching boxes share a corner", [box(0, 0, 100, 100), box(100, 100, 100, 100)]),
        valid("IoU just below the threshold (0.899)", [box(0, 0, 100, 100), box(0, 0, 100, 89.9)]),
        valid("same box, different labels", [box(10, 10, 80, 40, label="car"),
                                             box(10, 10, 80, 40, label="pedestrian")]),
        valid("car box and car polygon on the same car: separate geometry taxonomies",
              [box(0, 0, 100, 100, label="car"), polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="car")]),
        valid("neighbours overlapping by half are distinct objects",
              [box(0, 0, 100, 100), box(50, 0, 100, 100), box(100, 0, 100, 100)]),
        valid("concave polygon and the shape filling its notch", [polygon(C_SHAPE), polygon(NOTCH)]),
        valid("identical lines and points are not area shapes",
              [line([(0, 0), (50, 50)]), line([(0, 0), (50, 50)]), point(5, 5), point(5, 5)]),
        valid("zero-size boxes at the same place", [box(10, 10, 0, 0), box(10, 10, 0, 0)]),
        valid("a threshold for another label pair does not apply",
              [box(0, 0, 100, 100, label="car"), box(0, 0, 100, 60, label="pedestrian")],
              options={"thresholds": [{"labels": ["car", "truck"], "min_iou": 0.5}]}),
        valid("a lowered threshold for pedestrians leaves cars at 0.9",
              [box(0, 0, 100, 100), box(0, 0, 100, 60)],
              options={"thresholds": [{"labels": ["pedestrian", "pedestrian"], "min_iou": 0.5}]}),
        valid("a raised threshold for cars", [box(0, 0, 100, 100), box(0, 0, 100, 95)],
              options={"thresholds": [{"labels": ["car", "car"], "min_iou": 0.99}]}),
        valid("wheel ellipses side by side", [ellipse(100, 100, 30, 30), ellipse(160, 100, 30, 30)]),
        valid("flat polygons (no area) at the same place", [polygon([(0, 0), (10, 0), (20, 0)]),
                                                            polygon([(0, 0), (10, 0), (20, 0)])]),
        valid("a square in the empty wedge between a bow-tie polygon's two lobes",
              [polygon([(0, 0), (100, 100), (100, 0), (0, 100)]), polygon([(40, 5), (60, 5), (60, 25), (40, 25)])]),
    ],
    invalid=[
        invalid("identical boxes", [box(10, 20, 100, 50), box(10, 20, 100, 50)],
                errors=[error("a2", at=(60, 45), message="This car box is a near-copy of another car box (100% "
                                                         "overlap); delete one of them.")]),
        invalid("IoU exactly at the threshold (0.9)", [box(0, 0, 100, 100), box(0, 0, 100, 90)],
                errors=[error("a2", at=(50, 45), message="(90% overlap)")]),
        invalid("IoU just above the threshold (0.91)", [box(0, 0, 100, 91), box(0, 0, 100, 100)],
                errors=[error("a2", at=(50, 45.5), message="(91% overlap)")]),
        invalid("reported on the later one in request order, whatever the uuids",
                [box(0, 0, 40, 40, uuid="z"), box(1, 1, 40, 40, uuid="b")],
                errors=[error("b", at=(20.5, 20.5), message="(91% overlap)")]),
        invalid("three mutual copies: each pair once, on its later box",
                [box(0, 0, 50, 50), box(0, 0, 50, 50), box(0, 0, 50, 50)],
                errors=[error("a2", at=(25, 25)), error("a3", at=(25, 25)), error("a3", at=(25, 25))]),
        invalid("duplicates outside the image (padding)", [box(-80, -60, 50, 40), box(-80, -60, 50, 40)],
                task=make_task(padding=100), errors=[error("a2", at=(-55, -40))]),
        invalid("concave polygons: located inside the overlap, not at its centroid",
                [polygon(L_SHAPE), polygon(L_SHAPE)],
                errors=[error("a2", at=L_INSIDE, message="This road polygon is a near-copy of another road polygon")]),
        invalid("rotated boxes shifted by one pixel",
                [box(100, 100, 80, 40, rotation=0.5), box(101, 100, 80, 40, rotation=0.5)],
                errors=[error("a2", at=(140.5, 120), message="near-copy")]),
        invalid("rotated and unrotated box on the same car",
                [box(0, 0, 100, 50), box(0, 0, 100, 50, rotation=0.01)], errors=[error("a2", at=(50, 25))]),
        invalid("a copied bow-tie polygon is compared by its area (two triangles)",
                [polygon([(0, 0), (100, 100), (100, 0), (0, 100)]), polygon([(0, 0), (100, 100), (100, 0), (0, 100)])],
                errors=[error("a2", at=(50, 50), message="(100% overlap)")]),
        invalid("identical ellipses", [ellipse(100, 100, 30, 20), ellipse(100, 100, 30, 20)],
                errors=[error("a2", at=(100, 100), message="wheel ellipse")]),
        invalid("identical cuboids", [cuboid(100, 100, 100, 60), cuboid(100, 100, 100, 60)],
                errors=[error("a2", at=CUBOID_CENTROID, message="car cuboid")]),
        invalid("a label pair that must not cover the same object",
                [box(0, 0, 100, 100, label="car"), box(0, 0, 100, 90, label="truck")],
                options={"thresholds": [{"labels": ["truck", "car"], "min_iou": 0.8}]},
                errors=[error("a2", at=(50, 45), message="This truck box covers the same object as a car box "
                                                         "(90% overlap)")]),
        invalid("a lowered threshold for pedestrians", [box(0, 0, 100, 100, label="pedestrian"),
                                                        box(0, 0, 100, 60, label="pedestrian")],
                options={"thresholds": [{"labels": ["pedestrian", "pedestrian"], "min_iou": 0.5}]},
                errors=[error("a2", at=(50, 30), message="(60% overlap)")]),
        invalid("across geometry types when asked",
                [box(0, 0, 100, 100, label="car"), polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="car")],
                options={"across_types": True},
                errors=[error("a2", at=(50, 50), message="This car polygon is a near-copy of another car box")]),
        invalid("only the copies among many shapes",
                [box(0, 0, 50, 50), box(100, 0, 50, 50), polygon(C_SHAPE), box(100, 0, 50, 50),
                 polygon(NOTCH), box(300, 0, 50, 50, label="pedestrian")],
                errors=[error("a4", at=(125, 25))]),
    ],
)


scoped = RuleTester("duplicate_annotation", config="""
[engine]
builtin_rules = "configured"
failure_policy = "closed"

[[rule]]
id = "duplicate_annotation"
labels = ["pedestrian"]
""")

test_duplicate_annotation_scoped_by_labels = scoped.pytest(
    valid=[valid("car copies are outside the instance's labels", [box(0, 0, 50, 50), box(0, 0, 50, 50)])],
    invalid=[invalid("pedestrian copies are checked",
                     [box(0, 0, 50, 50), box(0, 0, 50, 50), box(0, 0, 20, 40, label="pedestrian"),
                      box(0, 0, 20, 40, label="pedestrian")],
                     errors=[error("a4", at=(10, 20), message="pedestrian box")])],
)


test_forbidden_overlap = forbidden.pytest(
    valid=[
        valid("road and sidewalk overlapping by 5% of the smaller",
              [polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="road"),
               polygon([(95, 0), (195, 0), (195, 100), (95, 100)], label="sidewalk")]),
        valid("road and sidewalk sharing an edge",
              [polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="road"),
               polygon([(100, 0), (200, 0), (200, 100), (100, 100)], label="sidewalk")]),
        valid("a label pair that is not listed", [box(0, 0, 100, 100, label="car"),
                                                  box(0, 0, 100, 100, label="pedestrian")]),
        valid("two roads may overlap unless [road, road] is listed",
              [polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="road"),
               polygon([(50, 0), (150, 0), (150, 100), (50, 100)], label="road")]),
        valid("no pairs configured: nothing to check",
              [polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="road"),
               polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="sidewalk")], options={"pairs": []}),
        valid("sidewalk in the notch of a concave road", [polygon(C_SHAPE, label="road"),
                                                           polygon(NOTCH, label="sidewalk")]),
    ],
    invalid=[
        invalid("a quarter of the sidewalk on the road",
                [polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="road"),
                 polygon([(75, 0), (175, 0), (175, 100), (75, 100)], label="sidewalk")],
                errors=[error("a2", at=(87.5, 50), message="This sidewalk polygon overlaps a road polygon by 25% "
                                                           "of the smaller shape; road and sidewalk shapes must "
                                                           "not overlap.")]),
        invalid("exactly the minimum fraction (10%)",
                [polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="sidewalk"),
                 polygon([(90, 0), (190, 0), (190, 100), (90, 100)], label="road")],
                errors=[error("a2", at=(95, 50), message="by 10% of the smaller shape")]),
        invalid("fraction of the smaller shape: a small sidewalk half on a big road",
                [polygon([(0, 0), (20, 0), (20, 20), (0, 20)], label="sidewalk"),
                 polygon([(10, 0), (1000, 0), (1000, 500), (10, 500)], label="road")],
                errors=[error("a2", at=(15, 10), message="by 50% of the smaller shape")]),
        invalid("one label with itself",
                [polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="road"),
                 polygon([(50, 0), (150, 0), (150, 100), (50, 100)], label="road")],
                options={"pairs": [["road", "road"]]},
                errors=[error("a2", at=(75, 50), message="overlaps another road polygon by 50% of the smaller "
                                                         "shape; road shapes must not overlap each other.")]),
        invalid("across geometry types: a pedestrian box on a car cuboid",
                [cuboid(100, 100, 100, 60, label="car"), box(150, 110, 20, 40, label="pedestrian")],
                options={"pairs": [["car", "pedestrian"]]},
                errors=[error("a2", at=(160, 130), message="This pedestrian box overlaps a car cuboid by 100%")]),
        invalid("a lower minimum fraction catches the 5% overlap",
                [polygon([(0, 0), (100, 0), (100, 100), (0, 100)], label="road"),
                 polygon([(95, 0), (195, 0), (195, 100), (95, 100)], label="sidewalk")],
                options={"min_fraction": 0.05}, errors=[error("a2", at=(97.5, 50), message="by 5%")]),
    ],
)


test_contained_annotation = contained.pytest(
    valid=[
        valid("a car box inside a pedestrian box: different labels",
              [box(0, 0, 100, 100, label="pedestrian"), box(10, 10, 20, 20, label="car")]),
        valid("90% inside is not inside", [box(0, 0, 100, 100), box(-2, 10, 20, 20)]),
        valid("inside the bounding box of a concave polygon, not inside the polygon",
              [polygon(C_SHAPE), polygon(NOTCH)]),
        valid("a car polygon inside a car box: separate geometry taxonomies",
              [box(0, 0, 100, 100, label="car"), polygon([(10, 10), (30, 10), (30, 30)], label="car")]),
        valid("side by side, touching", [box(0, 0, 100, 100), box(100, 40, 20, 20)]),
    ],
    invalid=[
        invalid("a small car box inside a big one, reported on the small one even when it comes first",
                [box(120, 80, 20, 10), box(100, 60, 200, 100)],
                errors=[error("a1", at=(130, 85), message="This car box lies inside a larger car box (100% of it "
                                                          "is covered); if both mark the same car, delete one.")]),
        invalid("inside and touching the outer edge", [box(0, 0, 100, 100), box(0, 40, 20, 20)],
                errors=[error("a2", at=(10, 50))]),
        invalid("identical boxes: the later one", [box(0, 0, 30, 30), box(0, 0, 30, 30)],
                errors=[error("a2", at=(15, 15), message="lies inside another car box")]),
        invalid("exactly the minimum fraction (99%)", [box(0, 0, 1000, 1000), box(-1, 0, 100, 100)],
                errors=[error("a2", at=(49.5, 50), message="(99% of it is covered)")]),
        invalid("a road polygon inside a road polygon", [polygon(C_SHAPE), polygon([(70, 10), (90, 10), (80, 30)])],
                errors=[error("a2", at=(80, 50 / 3), message="road polygon lies inside a larger road polygon")]),
        invalid("across geometry types when asked",
                [box(0, 0, 100, 100, label="car"), polygon([(10, 10), (40, 10), (40, 40), (10, 40)], label="car")],
                options={"across_types": True}, errors=[error("a2", at=(25, 25), message="car polygon")]),
        invalid("a lower minimum fraction", [box(0, 0, 100, 100), box(-2, 10, 20, 20)],
                options={"min_fraction": 0.9}, errors=[error("a2", at=(9, 20), message="(90% of it")]),
    ],
)


# -- option validation: a typo or a malformed pair stops start-up, naming the key -------------------------------------
def _config(tmp_path, rule_id, options):
    path = tmp_path / "c.toml"
    path.write_text(f'[engine]\nbuiltin_rules = "configured"\n\n[[rule]]\nid = "{rule_id}"\noptions = {options}\n')
    return load_config(path)


@pytest.mark.parametrize("rule_id, options, complaint", [
    ("duplicate_annotation", '{ min_iou = 0 }', "min_iou"),
    ("duplicate_annotation", '{ min_iou = 1.5 }', "min_iou"),
    ("duplicate_annotation", '{ treshold = 0.8 }', "did you mean 'thresholds'"),
    ("duplicate_annotation", '{ thresholds = [{ labels = ["car"], min_iou = 0.8 }] }', "thresholds.0.labels"),
    ("duplicate_annotation", '{ thresholds = [{ labels = ["car", "car"], iou = 0.8 }] }', "thresholds.0.iou"),
    ("duplicate_annotation", '{ thresholds = [{ labels = ["car", "car"] }] }', "thresholds.0.min_iou"),
    ("duplicate_annotation",
     '{ thresholds = [{ labels = ["car", "bus"], min_iou = 0.8 }, { labels = ["bus", "car"], min_iou = 0.7 }] }',
     "listed twice"),
    ("forbidden_overlap", '{ pairs = [["car", "pedestrian", "bus"]] }', "pairs.0"),
    ("forbidden_overlap", '{ pairs = ["car"] }', "pairs.0"),
    ("forbidden_overlap", '{ min_fraction = 0 }', "min_fraction"),
    ("contained_annotation", '{ min_fraction = 2 }', "min_fraction"),
    ("contained_annotation", '{ across_type = true }', "did you mean 'across_types'"),
])
def test_bad_options_are_rejected(tmp_path, rule_id, options, complaint):
    with pytest.raises(ConfigError) as exc:
        _config(tmp_path, rule_id, options)
    assert complaint in str(exc.value)


def test_good_options_load(tmp_path):
    cfg = _config(tmp_path, "duplicate_annotation",
                  '{ min_iou = 0.85, across_types = true, '
                  'thresholds = [{ labels = ["car", "truck"], min_iou = 0.7 }] }')
    (inst,) = [i for i in cfg.instances if i.id == "duplicate_annotation"]
    assert inst.options["thresholds"] == [{"labels": ["car", "truck"], "min_iou": 0.7}]


# pair_thresholds: without a thresholds table the pairs' thresholds come from one comparison of label ids; with a
# table (here one naming a label no shape has) from the table. Both must give the same answers.
@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6),
                          st.sampled_from(["car", "truck", "pedestrian"]), st.booleans()), min_size=2, max_size=30))
def test_duplicate_thresholds_without_a_table_match_the_table_path(shapes):
    anns = [box(10 * x, 10 * y, 10 * w, 10 * h, label=label) if as_box else
            polygon([(10 * x, 10 * y), (10 * (x + w), 10 * y), (10 * (x + w), 10 * (y + h)), (10 * x, 10 * (y + h))],
                    label=label)
            for x, y, w, h, label, as_box in shapes]
    body = make_body(anns)
    plain = duplicates.engine().validate(copy.deepcopy(body)).answer
    table = duplicates.engine({"thresholds": [{"labels": ["bus", "bus"], "min_iou": 0.5}]}).validate(
        copy.deepcopy(body)).answer
    assert plain == table
