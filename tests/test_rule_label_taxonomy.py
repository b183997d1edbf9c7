"""Label taxonomy: geometry types the task asked for, leaf labels of that geometry's objects_to_annotate."""
from hypothesis import given, settings, strategies as st

from validator.testing import (RuleTester, box, cuboid, ellipse, error, invalid, line, make_body, make_task, point,
                               polygon, valid)

NESTED = {
    "box": {"objects_to_annotate": ["traffic_sign",
                                    {"choice": "vehicle", "subchoices": ["Car", {"choice": "truck_suv",
                                                                                 "display": "truck or SUV"}]},
                                    {"choice": "person", "subchoices": ["pedestrian", "cyclist"]}]},
    "polygon": {"objects_to_annotate": ["road", {"choice": "sidewalk", "display": "sidewalk / footpath"}]},
    "line": {"objects_to_annotate": [{"choice": "marking", "subchoices": [
        {"choice": "lane", "subchoices": ["solid", "dashed"]}, "stop_line"]}]},
}
BOXES_ONLY = make_task(geometries={"box": {"objects_to_annotate": ["car"]}})
BOX_AND_LINE = make_task(geometries={"box": {"objects_to_annotate": ["car"]},
                                     "line": {"objects_to_annotate": ["lane"]}})
UNRESTRICTED = make_task(geometries={"box": {"objects_to_annotate": []}, "point": {}})

geometry = RuleTester("geometry_not_requested")
taxonomy = RuleTester("label_not_in_taxonomy")

test_geometry_not_requested = geometry.pytest(
    valid=[
        valid("every default geometry requested", [box(0, 0, 20, 20), polygon([(0, 0), (9, 0), (0, 9)]),
                                                   line([(0, 0), (5, 5)]), point(3, 3), cuboid(100, 100, 50, 40),
                                                   ellipse(300, 300, 20, 10)]),
        valid("requested with empty options", [point(4, 4, label="anything")], task=UNRESTRICTED),
        valid("task lists no geometry at all: not judged", [polygon([(0, 0), (9, 0), (0, 9)])],
              task=make_task(geometries={})),
        valid("no annotations", [], task=BOXES_ONLY),
    ],
    invalid=[
        invalid("polygon in a box-only task", [box(0, 0, 20, 20), polygon([(5, 6), (9, 0), (0, 9)])],
                task=BOXES_ONLY, errors=[error("a2", at=(5, 6), message="Polygons are not part of this task; "
                                                                      "use a box.")]),
        invalid("point where box and line were asked", [point(7, 8, label="car")], task=BOX_AND_LINE,
                errors=[error("a1", at=(7, 8), message="use one of: box, line")]),
        invalid("cuboid located at its first vertex", [cuboid(100, 50, 40, 30)], task=BOXES_ONLY,
                errors=[error("a1", at=(100, 50), message="Cuboids")]),
    ],
)

test_label_not_in_taxonomy = taxonomy.pytest(
    valid=[
        valid("leaves at every depth", [box(0, 0, 20, 20, label="Car"), box(30, 0, 20, 20, label="truck_suv"),
                                        box(60, 0, 20, 20, label="traffic_sign"),
                                        line([(0, 50), (9, 60)], label="dashed"),
                                        line([(0, 70), (9, 80)], label="stop_line")],
              task=make_task(geometries=NESTED)),
        valid("a LabelDescription without subchoices is a leaf", [polygon([(0, 0), (9, 0), (0, 9)],
                                                                          label="sidewalk")],
              task=make_task(geometries=NESTED)),
        valid("same label in two taxonomies", [box(0, 0, 20, 20, label="car"),
                                               polygon([(0, 30), (9, 30), (0, 39)], label="car")]),
        valid("empty objects_to_annotate accepts any label", [box(0, 0, 20, 20, label="whatever")],
              task=UNRESTRICTED),
        valid("malformed objects_to_annotate: not judged", [box(0, 0, 20, 20, label="x")],
              task=make_task(geometries={"box": {"objects_to_annotate": True}})),
        valid("geometry not requested is another rule's business", [polygon([(0, 0), (9, 0), (0, 9)],
                                                                            label="zzz")], task=BOXES_ONLY),
    ],
    invalid=[
        invalid("parent label", [box(12, 34, 20, 20, label="vehicle")], task=make_task(geometries=NESTED),
                errors=[error("a1", at=(12, 34), message="'vehicle' is a group; choose one of Car, truck_suv.")]),
        invalid("nested parent label", [line([(1, 2), (9, 9)], label="lane")], task=make_task(geometries=NESTED),
                errors=[error("a1", at=(1, 2), message="'lane' is a group; choose one of solid, dashed.")]),
        invalid("label of another geometry", [box(5, 6, 20, 20, label="road")], task=make_task(geometries=NESTED),
                errors=[error("a1", at=(5, 6), message="'road' is a polygon label; box labels are traffic_sign, "
                                                       "Car, truck_suv, pedestrian, cyclist.")]),
        invalid("case slip", [box(5, 6, 20, 20, label="car")], task=make_task(geometries=NESTED),
                errors=[error("a1", at=(5, 6), message="did you mean 'Car'?")]),
        invalid("unknown label", [point(3, 4, label="elbow")],
                errors=[error("a1", at=(3, 4), message="'elbow' is not a point label of this task; choose one of "
                                                       "head, hand.")]),
        invalid("group with malformed subchoices elsewhere in the taxonomy",
                [box(1, 1, 20, 20, label="vehicle")],
                task=make_task(geometries={"box": {"objects_to_annotate": [
                    {"choice": "odd", "subchoices": True}, {"choice": "vehicle", "subchoices": ["car", "bus"]}]}}),
                errors=[error("a1", at=(1, 1), message="'vehicle' is a group; choose one of car, bus.")]),
        invalid("display text is not a label", [polygon([(0, 0), (9, 0), (0, 9)], label="sidewalk / footpath")],
                task=make_task(geometries=NESTED), errors=[error("a1", at=(0, 0))]),
        invalid("only the bad one of many", [box(0, 0, 20, 20), box(30, 0, 20, 20, label="bus"),
                                             box(60, 0, 20, 20, label="bike")],
                errors=[error("a3", at=(60, 0), message="'bike'")]),
        invalid("empty list checked when asked", [box(0, 0, 20, 20, label="whatever")], task=UNRESTRICTED,
                options={"check_unrestricted": True}, errors=[error("a1", at=(0, 0))]),
    ],
)


# The early return (every (type, label) pair present allowed) and the per-label table must agree with the taxonomy:
# an issue on exactly the annotations whose label is not a leaf of their geometry's list, scoped or not.
_LEAVES = {"box": {"car", "pedestrian", "truck", "bus"}, "polygon": {"road", "sidewalk", "car"}}
_pedestrians_only = RuleTester("label_not_in_taxonomy", config="""
[engine]
builtin_rules = "configured"
failure_policy = "closed"

[[rule]]
id = "label_not_in_taxonomy"
labels = ["pedestrian", "vehicle"]
""")


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["car", "pedestrian", "vehicle", "road", "bus", "Car"])),
                min_size=1, max_size=25))
def test_label_not_in_taxonomy_flags_exactly_the_labels_outside_their_geometry(anns):
    shapes = [box(10 * k, 0, 5, 5, label=label) if as_box else
              polygon([(10 * k, 0), (10 * k + 5, 0), (10 * k, 5)], label=label)
              for k, (as_box, label) in enumerate(anns)]
    wrong = {f"a{k + 1}" for k, (as_box, label) in enumerate(anns)
             if label not in _LEAVES["box" if as_box else "polygon"]}
    for tester, scope in ((RuleTester("label_not_in_taxonomy"), None), (_pedestrians_only, {"pedestrian", "vehicle"})):
        got = {i.uuid for i in tester.engine().validate(make_body(shapes)).issues if i.level != "off"}
        want = {u for u in wrong if scope is None or anns[int(u[1:]) - 1][1] in scope}
        assert got == want
