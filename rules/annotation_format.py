"""Annotations that cannot be read: reported on the annotation itself, never as an HTTP error.

The extraction pass (validator/scale/annotations.py) sets these annotations aside; the two rules below turn them into
issues, so their level can be configured like any other rule's. Bounded: the first ``max_listed`` of each kind get an
issue of their own, one global issue counts the others (extraction keeps a record of only as many as the largest
``max_listed`` configured, so a body of millions of malformed annotations costs no more memory than a hundred).
"""
from marshmallow import validate

from validator import Issue, Options, rule

from ._options import Integer

_LISTED = validate.Range(min=1, max=10_000)


class FormatOptions(Options):
    max_listed = Integer(load_default=100, validate=_LISTED, metadata={
        "description": "At most this many annotations get an issue of their own (the first ones, in request "
                       "order); one more, global issue says how many others there are."})


def _report(ctx, opts, kind: str, what: str):
    anns, limit = ctx.annotations, opts["max_listed"]
    listed = [m for m in anns.malformed if m.kind == kind]
    for m in listed[:limit]:
        yield Issue.on(m.uuid, m.message, at=m.at) if m.uuid else Issue.globally(m.message, at=m.at)
    more = max(len(listed) - limit, 0) + anns.unlisted.get(kind, 0)
    if more:
        yield Issue.globally(f"{more:,} more annotations {what} (only the first {limit:,} are listed one by one).")


@rule(
    id="malformed_annotation",
    summary="An annotation that is not in Scale's format: not an object, no or duplicate uuid, unknown type, "
            "no label, missing or non-numeric coordinates.",
    why="""
        Every other check needs a readable annotation. An annotation with a missing coordinate, a coordinate that is
        text or a boolean, an unknown type or a uuid shared with another annotation cannot be checked and cannot be
        used for training. It is reported on that annotation (or as a global issue when it has no uuid), and the
        other annotations are still checked. The first `max_listed` get an issue each; one global issue counts the
        rest.

        Example: `{"uuid": "a1", "type": "box", "label": "car", "left": 10, "top": null, "width": 5, "height": 5}`
        gives "The box's top is missing."
    """,
    options=FormatOptions,
    per="task",
    cost="linear",
)
def malformed_annotation(anns, ctx, opts):
    yield from _report(ctx, opts, "malformed", "are not in Scale's format")


@rule(
    id="non_finite_coordinate",
    summary="A coordinate that is NaN or infinite.",
    why="""
        A NaN or infinite coordinate (sent by a buggy tool or a broken import) places the shape nowhere; every
        geometric check and every model trained on it would be wrong. The location is the nearest vertex before the
        bad one, when there is one. The first `max_listed` get an issue each; one global issue counts the rest.

        Example: a polygon whose third vertex is `{"x": NaN, "y": 40}` gives "Vertex 3 of the polygon has a
        coordinate that is not a finite number." at vertex 2.
    """,
    options=FormatOptions,
    per="task",
    cost="linear",
)
def non_finite_coordinate(anns, ctx, opts):
    yield from _report(ctx, opts, "non_finite", "have a coordinate that is not a finite number")
