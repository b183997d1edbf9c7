"""Annotations that cannot be read: reported on the annotation itself, never as an HTTP error.

The extraction pass (validator/scale/annotations.py) sets these annotations aside; the two rules below turn them into
issues, so their level can be configured like any other rule's.
"""
from validator import Issue, rule


@rule(
    id="malformed_annotation",
    summary="An annotation that is not in Scale's format: not an object, no or duplicate uuid, unknown type, "
            "no label, missing or non-numeric coordinates.",
    why="""
        Every other check needs a readable annotation. An annotation with a missing coordinate, a coordinate that is
        text or a boolean, an unknown type or a uuid shared with another annotation cannot be checked and cannot be
        used for training. It is reported on that annotation (or as a global issue when it has no uuid), and the
        other annotations are still checked.

        Example: `{"uuid": "a1", "type": "box", "label": "car", "left": 10, "top": null, "width": 5, "height": 5}`
        gives "The box's top is missing."
    """,
    per="task",
    cost="linear",
)
def malformed_annotation(anns, ctx, opts):
    for m in ctx.annotations.malformed:
        if m.kind == "malformed":
            yield Issue.on(m.uuid, m.message, at=m.at) if m.uuid else Issue.globally(m.message, at=m.at)


@rule(
    id="non_finite_coordinate",
    summary="A coordinate that is NaN or infinite.",
    why="""
        A NaN or infinite coordinate (sent by a buggy tool or a broken import) places the shape nowhere; every
        geometric check and every model trained on it would be wrong. The location is the nearest vertex before the
        bad one, when there is one.

        Example: a polygon whose third vertex is `{"x": NaN, "y": 40}` gives "Vertex 3 of the polygon has a
        coordinate that is not a finite number." at vertex 2.
    """,
    per="task",
    cost="linear",
)
def non_finite_coordinate(anns, ctx, opts):
    for m in ctx.annotations.malformed:
        if m.kind == "non_finite":
            yield Issue.on(m.uuid, m.message, at=m.at) if m.uuid else Issue.globally(m.message, at=m.at)
