"""The attribute family: choices, numbers, types, conditions, required links, linked targets, global attributes."""
import math

from validator.testing import RuleTester, box, cuboid, error, invalid, make_task, point, polygon, valid

GEOMETRIES = {
    "box": {"objects_to_annotate": ["traffic_sign", {"choice": "vehicle", "subchoices": ["car", "truck"]},
                                    "pedestrian"]},
    "point": {"objects_to_annotate": ["head", "hand"]},
    "cuboid": {"objects_to_annotate": ["car"]},
    "polygon": {"objects_to_annotate": ["road"]},
}
VEHICLES = {"label_condition": {"label": ["car", "truck"]}}
ATTRS = {
    "occlusion": {"type": "category", "choices": ["0%", "25%", "50%", "75%"],
                  "conditions": {"label_condition": {"label": ["car", "truck", "pedestrian"]}}},
    "is_parked": {"choices": ["Yes", "No"], "conditions": VEHICLES},  # no type: a category
    "light_state": {"type": "category", "choices": ["brake", "left_indicator", "hazard", "none"],
                    "allow_multiple": True,
                    "conditions": {**VEHICLES, "attribute_conditions": [{"is_parked": "No"}]}},
    "body": {"type": "category", "choices": [{"choice": "passenger", "subchoices": ["sedan", "coupe"]}, "van"],
             "conditions": {"label_condition": {"label": "car"}}},
    "num_occupants": {"type": "number", "min": 0, "max": 9, "step": 1, "conditions": VEHICLES},
    "speed": {"type": "number", "step": 0.1, "conditions": VEHICLES},
    "fill": {"type": "number", "min": 0.05, "max": 0.95, "step": 0.1, "conditions": VEHICLES},
    "heading": {"type": "angle", "conditions": {"label_condition": {"label": ["car", "truck", "pedestrian"]}}},
    "sign_text": {"type": "text", "conditions": {"label_condition": {"label": "traffic_sign"}}},
    "front": {"type": "x_line", "conditions": VEHICLES},
    "roofline": {"type": "y_line", "conditions": VEHICLES},
    "owner": {"type": "linked", "allowed_labels": ["pedestrian"], "required": True,
              "conditions": {"label_condition": {"label": ["head", "hand"]}}},
    "follows": {"type": "linked", "conditions": VEHICLES},
    "time_of_day": {"type": "category", "choices": ["day", "dusk", "night"], "conditions": {"is_global": True}},
    "wipers": {"type": "category", "choices": ["on", "off"],
               "conditions": {**VEHICLES, "attribute_conditions": [{"is_parked": "No"},
                                                                   {"occlusion": ["0%", "25%"]}]}},
}
TASK = make_task(geometries=GEOMETRIES, attributes=ATTRS)


def car(x=0, y=0, w=100, h=50, *, label="car", uuid=None, **attrs):
    return box(x, y, w, h, label=label, uuid=uuid, attributes=attrs)


def or_mode(rule_id: str) -> RuleTester:
    return RuleTester(rule_id, config=(
        '[engine]\nbuiltin_rules = "configured"\nfailure_policy = "closed"\n\n'
        '[task]\nconditions_mode = "or"\n\n'
        f'[[rule]]\nid = "{rule_id}"\nlevel = "error"\n'))


# -- attribute_not_in_choices ----------------------------------------------------------------------------------------
test_attribute_not_in_choices = RuleTester("attribute_not_in_choices").pytest(
    valid=[
        valid("a choice", [car(occlusion="25%", is_parked="Yes")], task=TASK),
        valid("allow_multiple with a list", [car(is_parked="No", light_state=["brake", "hazard"])], task=TASK),
        valid("allow_multiple with an empty list", [car(is_parked="No", light_state=[])], task=TASK),
        valid("allow_multiple with one string", [car(is_parked="No", light_state="brake")], task=TASK),
        valid("a nested leaf choice", [car(body="coupe")], task=TASK),
        valid("global attribute, valid choice", [car()], task=TASK, global_attributes={"time_of_day": "dusk"}),
        valid("value where the attribute does not apply is another rule's business",
              [car(label="traffic_sign", occlusion="90%")], task=TASK),
        valid("no attributes at all", [car(), point(5, 5, label="head", attributes={"owner": "a1"})],
              task=make_task(geometries=GEOMETRIES)),
        valid("null counts as unset", [car(occlusion=None)], task=TASK),
        valid("malformed choices in the task: nothing to compare with", [car(occlusion="anything")],
              task=make_task(geometries=GEOMETRIES, attributes={"occlusion": {"choices": True}})),
    ],
    invalid=[
        invalid("not a choice", [car(10, 20, occlusion="90%")], task=TASK,
                errors=[error("a1", at=(10, 20), message="occlusion: '90%' is not one of the choices; choose one of "
                                                         "0%, 25%, 50%, 75%.")]),
        invalid("a group is not a choice", [car(body="passenger")], task=TASK,
                errors=[error("a1", at=(0, 0), message="body: 'passenger' is a group; choose one of sedan, "
                                                       "coupe.")]),
        invalid("case slip", [car(is_parked="yes")], task=TASK,
                errors=[error("a1", at=(0, 0), message="did you mean 'Yes'?")]),
        invalid("a list where one answer is expected", [car(occlusion=["0%", "25%"])], task=TASK,
                errors=[error("a1", at=(0, 0), message="occlusion takes a single answer, but a list was given "
                                                       "(0%, 25%).")]),
        invalid("a list with an invalid member", [car(is_parked="No", light_state=["brake", "fog"])], task=TASK,
                errors=[error("a1", at=(0, 0), message="light_state: 'fog' is not one of the choices")]),
        invalid("global attribute, invalid choice", [car()], task=TASK, global_attributes={"time_of_day": "noon"},
                errors=[error(None, at=None, message="time_of_day: 'noon' is not one of the choices")]),
        invalid("each bad annotation", [car(occlusion="0%"), car(200, 0, occlusion="10%"),
                                        car(400, 0, label="pedestrian", occlusion="5%")], task=TASK,
                errors=[error("a2", at=(200, 0)), error("a3", at=(400, 0))]),
    ],
)

# -- attribute_invalid_number ----------------------------------------------------------------------------------------
test_attribute_invalid_number = RuleTester("attribute_invalid_number").pytest(
    valid=[
        valid("exactly min and max", [car(num_occupants=0), car(200, 0, num_occupants=9)], task=TASK),
        valid("integer given as a float", [car(num_occupants=3.0)], task=TASK),
        valid("0.1 steps from 0 in float arithmetic", [car(speed=0.3), car(200, 0, speed=0.1 + 0.2),
                                                       car(400, 0, speed=12.7)], task=TASK),
        valid("steps counted from min", [car(fill=0.05), car(200, 0, fill=0.15), car(400, 0, fill=0.95)],
              task=TASK),
        valid("angle 0 and 360", [car(heading=0), car(200, 0, heading=360), car(400, 0, heading=359.5)],
              task=TASK),
        valid("x_line and y_line at 0 and at the box's size", [car(w=121, h=40, front=0, roofline=40),
                                                               car(200, 0, 121, 40, front=121, roofline=0),
                                                               car(400, 0, 121, 40, front=60.5)], task=TASK),
        valid("x_line on a rotated box uses its own width",
              [box(100, 100, 200, 50, rotation=math.pi / 3, label="car", attributes={"front": 184.5})], task=TASK),
        valid("x_line on a cuboid uses its front face", [cuboid(100, 100, 80, 40, label="car",
                                                                attributes={"front": 80, "roofline": 40})],
              task=TASK),
        valid("number where the attribute does not apply is another rule's business",
              [car(label="pedestrian", num_occupants=50)], task=TASK),
    ],
    invalid=[
        invalid("over the maximum", [car(5, 6, num_occupants=12)], task=TASK,
                errors=[error("a1", at=(5, 6), message="num_occupants is 12; the maximum is 9.")]),
        invalid("under the minimum", [car(num_occupants=-1)], task=TASK,
                errors=[error("a1", at=(0, 0), message="num_occupants is -1; the minimum is 0.")]),
        invalid("off the step", [car(num_occupants=2.5)], task=TASK,
                errors=[error("a1", at=(0, 0), message="num_occupants is 2.5; it goes in steps of 1 from 0.")]),
        invalid("off a 0.1 step without a minimum", [car(speed=0.25)], task=TASK,
                errors=[error("a1", at=(0, 0), message="speed is 0.25; it goes in steps of 0.1.")]),
        invalid("off a step counted from min", [car(fill=0.2)], task=TASK,
                errors=[error("a1", at=(0, 0), message="fill is 0.2; it goes in steps of 0.1 from 0.05.")]),
        invalid("angle over 360", [car(heading=400)], task=TASK,
                errors=[error("a1", at=(0, 0), message="heading is 400; an angle must be between 0 and 360.")]),
        invalid("negative angle", [car(label="pedestrian", heading=-0.5)], task=TASK,
                errors=[error("a1", at=(0, 0), message="heading is -0.5")]),
        invalid("x_line beyond the box", [car(w=121, front=121.5)], task=TASK,
                errors=[error("a1", at=(0, 0), message="front is 121.5; it must be between 0 and the box's width "
                                                       "(121 px).")]),
        invalid("negative y_line", [car(roofline=-2)], task=TASK,
                errors=[error("a1", at=(0, 0), message="box's height (50 px)")]),
        invalid("x_line beyond a cuboid's front face", [cuboid(100, 100, 80, 40, label="car",
                                                               attributes={"front": 100})], task=TASK,
                errors=[error("a1", at=(100, 100), message="front face's width (80 px)")]),
    ],
)

# -- attribute_wrong_type --------------------------------------------------------------------------------------------
test_attribute_wrong_type = RuleTester("attribute_wrong_type").pytest(
    valid=[
        valid("every type with its kind of value", [
            car(occlusion="0%", is_parked="No", light_state=["brake"], num_occupants=2, heading=12.5, front=3,
                roofline=4, follows="a2"),
            car(200, 0, label="truck"), car(400, 0, label="traffic_sign", sign_text="STOP"),
            car(600, 0, label="traffic_sign", sign_text="")], task=TASK),
    ],
    invalid=[
        invalid("number given as text", [car(num_occupants="3")], task=TASK,
                errors=[error("a1", at=(0, 0), message="num_occupants must be a number, not text ('3').")]),
        invalid("boolean is not a number", [car(heading=True)], task=TASK,
                errors=[error("a1", at=(0, 0), message="heading must be an angle in degrees, not true/false")]),
        invalid("text given as a number", [car(label="traffic_sign", sign_text=5)], task=TASK,
                errors=[error("a1", at=(0, 0), message="sign_text must be text, not a number (5).")]),
        invalid("category given as a number", [car(occlusion=25)], task=TASK,
                errors=[error("a1", at=(0, 0), message="occlusion must be one of its answers (text)")]),
        invalid("list holding a number", [car(is_parked="No", light_state=["brake", 3])], task=TASK,
                errors=[error("a1", at=(0, 0), message="light_state must be a list of answers")]),
        invalid("linked given as an object", [point(7, 8, label="head", attributes={"owner": {"uuid": "a2"}}),
                                              car(label="pedestrian")], task=TASK,
                errors=[error("a1", at=(7, 8), message="owner must link to another annotation, not an object.")]),
        invalid("x_line given as text", [car(front="60")], task=TASK,
                errors=[error("a1", at=(0, 0), message="front must be a number of pixels")]),
        invalid("global attribute of the wrong type", [car()], task=TASK, global_attributes={"time_of_day": 3},
                errors=[error(None, at=None, message="time_of_day must be one of its answers (text)")]),
    ],
)

# -- attribute_not_applicable ----------------------------------------------------------------------------------------
not_applicable = RuleTester("attribute_not_applicable")
test_attribute_not_applicable = not_applicable.pytest(
    valid=[
        valid("attributes where their conditions hold", [car(occlusion="0%", is_parked="No", light_state=["brake"],
                                                             heading=90),
                                                         car(200, 0, label="traffic_sign", sign_text="STOP")],
              task=TASK),
        valid("attribute condition met with AND mode (both objects)",
              [car(is_parked="No", occlusion="25%", wipers="on")], task=TASK),
        valid("image_rotation is reserved, never reported", [car()], task=TASK,
              global_attributes={"time_of_day": "day", "image_rotation": 90}),
        valid("image_rotation is never reported, even on an annotation", [car(image_rotation=90)], task=TASK),
        valid("global attribute in global_attributes", [car()], task=TASK, global_attributes={"time_of_day": "day"}),
        valid("an attribute without conditions applies to every label",
              [polygon([(0, 0), (9, 0), (0, 9)], label="road", attributes={"surface": "wet"})],
              task=make_task(geometries=GEOMETRIES, attributes={"surface": {"choices": ["wet", "dry"]}})),
        valid("undeclared key accepted by default (labelers cannot see or remove it)", [car(colour="red")],
              task=TASK),
        valid("ignored key", [car(label="traffic_sign", heading=3)], task=TASK, options={"ignore_keys": ["heading"]}),
        valid("null value counts as unset", [car(label="traffic_sign", heading=None)], task=TASK),
    ],
    invalid=[
        invalid("label condition does not hold", [car(5, 6, label="traffic_sign", heading=90)], task=TASK,
                errors=[error("a1", at=(5, 6), message="heading does not apply to a traffic_sign (it is only for "
                                                       "car, truck, pedestrian); remove it.")]),
        invalid("attribute condition does not hold", [car(is_parked="Yes", light_state=["brake"])], task=TASK,
                errors=[error("a1", at=(0, 0), message="light_state only applies when is_parked is No; remove it or "
                                                       "change that answer.")]),
        invalid("AND mode: one of two attribute conditions is not enough",
                [car(is_parked="No", occlusion="50%", wipers="on")], task=TASK,
                errors=[error("a1", at=(0, 0), message="wipers only applies when is_parked is No and occlusion is "
                                                       "one of 0%, 25%")]),
        invalid("undeclared key, when asked to report them", [car(colour="red")], task=TASK,
                options={"report_undeclared": True},
                errors=[error("a1", at=(0, 0), message="'colour' is not an attribute of this task; remove it.")]),
        invalid("global attribute on an annotation", [car(time_of_day="day")], task=TASK,
                errors=[error("a1", at=(0, 0), message="time_of_day describes the whole image; set it once for the "
                                                       "image, not on this box.")]),
        invalid("per-annotation attribute on the image", [car()], task=TASK,
                global_attributes={"occlusion": "0%"},
                errors=[error(None, at=None, message="occlusion belongs on individual annotations, not on the "
                                                     "whole image.")]),
        invalid("undeclared global attribute, when asked to report them", [car()], task=TASK,
                global_attributes={"weather": "rain"}, options={"report_undeclared": True},
                errors=[error(None, at=None, message="'weather' is not an attribute of this task")]),
    ],
)

OR_CASES = or_mode("attribute_not_applicable").pytest(
    valid=[
        valid("OR mode: one attribute condition object is enough",
              [car(is_parked="No", occlusion="50%", wipers="on")], task=TASK),
    ],
    invalid=[
        invalid("OR mode: neither object holds", [car(is_parked="Yes", occlusion="50%", wipers="on")], task=TASK,
                errors=[error("a1", at=(0, 0), message="wipers only applies when is_parked is No or occlusion is "
                                                       "one of 0%, 25%")]),
        invalid("OR mode: the label condition still has to hold",
                [car(label="pedestrian", is_parked="No", wipers="on")], task=TASK,
                errors=[error("a1", at=(0, 0), message="wipers does not apply to a pedestrian"),
                        error("a1", at=(0, 0), message="is_parked does not apply to a pedestrian")]),
    ],
)
test_attribute_not_applicable_or_mode = OR_CASES

# -- attribute_missing -----------------------------------------------------------------------------------------------
missing = RuleTester("attribute_missing")
test_attribute_missing = missing.pytest(
    valid=[
        valid("required link present", [car(label="pedestrian"), point(5, 5, label="head",
                                                                        attributes={"owner": "a1"})], task=TASK),
        valid("required link absent where its condition does not hold", [car(label="pedestrian")], task=TASK),
        valid("category and number answers are not required by default", [car(), car(200, 0, label="truck")],
              task=TASK),
        valid("require_all: everything that applies is set",
              [car(label="traffic_sign", sign_text="")], task=TASK, global_attributes={"time_of_day": "day"},
              options={"require_all": True}),
        valid("require_all: an attribute whose condition does not hold is not needed",
              [car(label="pedestrian", occlusion="0%", heading=0)], task=TASK,
              global_attributes={"time_of_day": "day"}, options={"require_all": True}),
    ],
    invalid=[
        invalid("required link absent", [car(label="pedestrian"), point(5, 6, label="hand")], task=TASK,
                errors=[error("a2", at=(5, 6), message="owner is required: link this hand to a pedestrian.")]),
        invalid("required link null", [point(5, 6, label="head", attributes={"owner": None})], task=TASK,
                errors=[error("a1", at=(5, 6), message="owner is required")]),
        invalid("require_all: an unset answer", [car(label="pedestrian", heading=0)], task=TASK,
                global_attributes={"time_of_day": "day"}, options={"require_all": True},
                errors=[error("a1", at=(0, 0), message="occlusion is not set yet; please answer it.")]),
        invalid("require_all: unset global attribute", [car(label="traffic_sign", sign_text="A")], task=TASK,
                options={"require_all": True},
                errors=[error(None, at=None, message="time_of_day is not set for the image yet")]),
    ],
)

# -- linked_attribute_invalid ----------------------------------------------------------------------------------------
linked = RuleTester("linked_attribute_invalid")
test_linked_attribute_invalid = linked.pytest(
    valid=[
        valid("linked to an existing annotation of an allowed label",
              [car(label="pedestrian"), point(5, 5, label="head", attributes={"owner": "a1"})], task=TASK),
        valid("no allowed_labels: any annotation", [car(), car(200, 0, label="truck", follows="a1"),
                                                    car(400, 0, follows="a2")], task=TASK),
        valid("linked to a malformed annotation is reported on that annotation only",
              [{"uuid": "p", "type": "box", "label": "pedestrian", "left": 1}, point(5, 5, label="head",
                                                                                     attributes={"owner": "p"})],
              task=TASK),
    ],
    invalid=[
        invalid("not in the response", [point(5, 6, label="head", attributes={"owner": "gone"})], task=TASK,
                errors=[error("a1", at=(5, 6), message="owner points to an annotation that is not in this task; "
                                                       "link it to a pedestrian.")]),
        invalid("label outside allowed_labels, both located",
                [car(100, 200), point(5, 6, label="hand", attributes={"owner": "a1"})], task=TASK,
                errors=[error("a2", at=[(5, 6), (100, 200)], message="owner must point to a pedestrian, but it "
                                                                     "points to a car.")]),
        invalid("linked to itself", [car(3, 4, uuid="me", follows="me")], task=TASK,
                errors=[error("me", at=(3, 4), message="follows links this box to itself")]),
    ],
)

# -- the family together: one shared analysis, each rule reports only its own kind --------------------------------
FAMILY = ("attribute_not_in_choices", "attribute_invalid_number", "attribute_wrong_type", "attribute_not_applicable",
          "attribute_missing", "linked_attribute_invalid")
family = RuleTester("attribute_not_in_choices", config=(
    '[engine]\nbuiltin_rules = "configured"\nfailure_policy = "closed"\n\n'
    + "".join(f'[[rule]]\nid = "{r}"\nlevel = "error"\n' + ('labels = ["car"]\nname = "cars_only"\n'
                                                            if r == "attribute_wrong_type" else "") + "\n"
              for r in FAMILY)))
test_attribute_family_together = family.pytest(
    valid=[valid("the shared examples' kind of task", [car(label="pedestrian"),
                                                       point(5, 5, label="head", attributes={"owner": "a1"}),
                                                       car(200, 0, occlusion="0%", is_parked="No",
                                                           light_state=["brake"], num_occupants=2)],
                 task=TASK, global_attributes={"time_of_day": "day"})],
    invalid=[
        invalid("one of each kind, each reported once by its own rule", [
            car(10, 10, occlusion="90%"),
            car(200, 10, num_occupants=10),
            car(400, 10, label="traffic_sign", sign_text=7),
            car(600, 10, num_occupants="2"),
            car(800, 10, label="traffic_sign", heading=1),
            point(5, 6, label="head"),
            point(7, 8, label="hand", attributes={"owner": "a1"}),
        ], task=TASK, global_attributes={"time_of_day": "day"}, errors=[
            error("a1", at=(10, 10)),
            error("a2", at=(200, 10), error_type="attribute_invalid_number"),
            error("a4", at=(600, 10), error_type="attribute_wrong_type"),  # a3 is a traffic_sign: out of scope
            error("a5", at=(800, 10), error_type="attribute_not_applicable"),
            error("a6", at=(5, 6), error_type="attribute_missing"),
            error("a7", at=[(7, 8), (10, 10)], error_type="linked_attribute_invalid"),
        ]),
    ],
)
