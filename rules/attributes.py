"""Attributes: every value an annotation (or the image) carries is one the task's ``annotation_attributes`` allow.

One family, one pass: the analysis of a request (rules/_attributes.py: which attributes apply to which annotation
under their ``conditions``, and what is wrong with each value) is computed once and shared by the six rules below,
each reporting its own kind of finding at its own level. Conditions combine as ``[task] conditions_mode`` says
(validator/scale/task.py); a value ``null`` counts as unset; the global ``image_rotation`` is Scale's, never
reported.
"""
from __future__ import annotations

from validator import Options, fields, rule

from ._attributes import CHOICE, LINKED, MISSING, NOT_APPLICABLE, NUMBER, TYPE, UNDECLARED, UNSET, report


@rule(
    id="attribute_not_in_choices",
    summary="A category attribute whose answer is not one of its choices, or a list of answers where only one "
            "is allowed.",
    why="""
        A category attribute (`"type": "category"`) only takes the leaves of its `choices`; anything else (a
        typo, a choice from an older version of the task, a group name such as `vehicle` whose subchoices are
        the real answers) cannot be used. Without `allow_multiple` the answer is one string; with it, a list of
        strings, each of them a choice.

        Example: with choices 0%, 25%, 50%, 75%, an `occlusion` of `90%` gives "occlusion: '90%' is not one of
        the choices; choose one of 0%, 25%, 50%, 75%."
    """,
    per="task",
    cost="linear",
    needs_attributes=True,
)
def attribute_not_in_choices(anns, ctx, opts):
    yield from report(anns, ctx, (CHOICE,))


@rule(
    id="attribute_invalid_number",
    summary="A number attribute outside min / max or off its step, an angle outside 0-360, or an x / y offset "
            "outside the box.",
    why="""
        A number attribute only takes values between its `min` and `max` (inclusive), on its `step` (counted
        from `min` when there is one, else from 0; default step 1). An angle is between 0 and 360 degrees. An
        `x_line` / `y_line` offset marks a position inside the box, so it is between 0 and the box's width /
        height. A value outside these bounds is a slip of the keyboard or of the slider.

        Example: with `min` 0, `max` 9, step 1, a `num_occupants` of 12 gives "num_occupants is 12; the maximum
        is 9.", and 2.5 gives "num_occupants is 2.5; it goes in steps of 1 from 0."
    """,
    per="task",
    cost="linear",
    needs_attributes=True,
)
def attribute_invalid_number(anns, ctx, opts):
    yield from report(anns, ctx, (NUMBER,))


@rule(
    id="attribute_wrong_type",
    summary="An attribute value of the wrong kind for its type (text where a number is expected, a number "
            "where text is expected, an object...).",
    why="""
        Each attribute type has one kind of value: a category takes text (or a list of texts with
        `allow_multiple`), number / angle / x_line / y_line take a number, text takes text, and a linked
        attribute takes the uuid of another annotation. Any other value was not produced by the labeling tool
        and cannot be read.

        Example: a number attribute `num_occupants` given as `"3"` gives "num_occupants must be a number, not
        text ('3')."
    """,
    per="task",
    cost="linear",
    needs_attributes=True,
)
def attribute_wrong_type(anns, ctx, opts):
    yield from report(anns, ctx, (TYPE,))


class NotApplicableOptions(Options):
    report_undeclared = fields.Boolean(
        load_default=False,
        metadata={"description": "Also report attribute keys that the task's `annotation_attributes` do not "
                                 "declare. Off by default: such keys come from pre-labels or imports, and the "
                                 "labeling tool neither shows them nor lets the labeler remove them "
                                 "(`image_rotation` on the image is never reported)."})
    ignore_keys = fields.List(
        fields.String(), load_default=list,
        metadata={"description": "Attribute keys this rule never reports (for example keys added by your own "
                                 "tooling)."})


@rule(
    id="attribute_not_applicable",
    summary="An attribute set where its conditions do not hold, not declared by the task, a global attribute on "
            "an annotation, or a per-annotation attribute on the whole image.",
    why="""
        Attributes come with `conditions`: a `label_condition` (the labels they are asked for) and
        `attribute_conditions` (answers of other attributes). Where the conditions do not hold, the question was
        never asked and the value is stale, usually left over after the label or another answer changed. A
        global attribute (`is_global`) describes the whole image and belongs in the response's
        `global_attributes`; every other attribute belongs on an annotation. A key the task does not declare at
        all cannot be interpreted.

        Example: `heading` asked only for Car, truck_suv and cyclist, set on a traffic_sign, gives "heading does
        not apply to a traffic_sign (it is only for Car, truck_suv, cyclist); remove it."
    """,
    options=NotApplicableOptions,
    per="task",
    cost="linear",
    needs_attributes=True,
)
def attribute_not_applicable(anns, ctx, opts):
    kinds = (NOT_APPLICABLE, UNDECLARED) if opts["report_undeclared"] else (NOT_APPLICABLE,)
    ignore = frozenset(opts["ignore_keys"])
    yield from report(anns, ctx, kinds, skip_keys=ignore)


class MissingOptions(Options):
    require_all = fields.Boolean(
        load_default=False,
        metadata={"description": "Report every applicable attribute left unset, not only those marked `required`. "
                                 "Scale does not require category / number answers, so this is off by default."})


@rule(
    id="attribute_missing",
    summary="A required attribute (for example a required linked attribute) left unset on an annotation it "
            "applies to.",
    why="""
        A linked attribute with `"required": true` must point to another annotation wherever its conditions
        hold: a keypoint that must say which person it belongs to cannot be used without that link. Where the
        conditions do not hold, the attribute is not asked and its absence is fine. Scale's documentation does
        not make other attributes required, so a missing category or number answer is only reported with the
        option `require_all`.

        Example: a `head` keypoint without its required `owner` link gives "owner is required: link this head to
        a person."
    """,
    options=MissingOptions,
    per="task",
    cost="linear",
    needs_attributes=True,
)
def attribute_missing(anns, ctx, opts):
    yield from report(anns, ctx, (MISSING, UNSET) if opts["require_all"] else (MISSING,))


@rule(
    id="linked_attribute_invalid",
    summary="A linked attribute pointing to an annotation that is not in the response, to the annotation itself, "
            "or to a label outside its allowed_labels.",
    why="""
        A linked attribute holds the uuid of another annotation of the same response (a keypoint's owner, the
        car a wheel belongs to). A uuid that is not in the response points to a deleted or never-drawn shape,
        and a target whose label is not in `allowed_labels` links the wrong kind of object. Both locations are
        given: the annotation and the wrongly linked one.

        Example: a wheel whose `parent_car` points to a pedestrian gives "parent_car must point to a car, but
        it points to a pedestrian."
    """,
    per="task",
    cost="linear",
    needs_attributes=True,
)
def linked_attribute_invalid(anns, ctx, opts):
    yield from report(anns, ctx, (LINKED,))
