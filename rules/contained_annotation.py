"""contained_annotation: a shape (almost) entirely inside another of the same label (see rules/_overlaps.py)."""
from __future__ import annotations

from marshmallow import validate

from validator import Issue, Options, fields, rule

from ._options import Float
from ._overlaps import AREA_TYPES, candidates, label_codes, measure, ordered, pct, same_type, shape, what


class ContainedOptions(Options):
    min_fraction = Float(
        load_default=0.99, validate=validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "A shape counts as inside another of the same label when at least this fraction "
                                 "(0-1) of its area is covered by the other."})
    across_types = fields.Boolean(
        load_default=False,
        metadata={"description": "Also compare shapes of different geometry types (a car polygon inside a car "
                                 "box)."})


@rule(
    id="contained_annotation",
    summary="A shape lying (almost) entirely inside another shape of the same label.",
    why="""
        In projects where each object gets one shape, a shape of a label inside a bigger shape of the same label
        usually marks part of an object as if it were a whole one (a car's door boxed as a second car), or an
        object labeled twice at different sizes. The smaller shape is reported when at least `min_fraction`
        (default 0.99) of its area lies inside the other one, at the centre of the overlap; when both have the same
        area, the later one is reported. Off by default: in many projects nested objects of one label are normal
        (a small car seen through a bus window). Identical shapes are also near-copies (`duplicate_annotation`).

        Example: a car box (120, 80, 20 x 10) inside a car box (100, 60, 200 x 100) gets "This car box lies inside
        a larger car box (100% of it is covered); if both mark the same car, delete one."
    """,
    geometries=AREA_TYPES,
    level="off",
    options=ContainedOptions,
    per="task",
    cost="pairwise",
)
def contained_annotation(anns, ctx, opts):
    found, issues = candidates(ctx, anns, "check which lie inside another",
                               lambda label: f"if they mark the same {label}, delete them.")
    yield from issues
    i, j = found.i, found.j
    if not len(i):
        return
    ci, cj, _ = label_codes(ctx, i, j)
    keep = ci == cj
    if not opts["across_types"]:
        keep &= same_type(ctx, i, j)
    if not keep.any():  # nothing of the labels compared meets: no arrays to build
        return
    i, j = i[keep], j[keep]
    ov, issues = measure(ctx, i, j)
    yield from issues
    frac = ov.of_smaller()
    hit = (ov.inter > 0) & (frac >= opts["min_fraction"])
    for k in ordered(i, j, hit):
        first, later = shape(ctx, i[k]), shape(ctx, j[k])
        inner, outer = (first, later) if ov.area_i[k] < ov.area_j[k] else (later, first)
        size = "a larger" if ov.area_i[k] != ov.area_j[k] else "another"
        yield Issue.on(inner.uuid, f"This {what(inner)} lies inside {size} {what(outer)} ({pct(frac[k])} of it is "
                              f"covered); if both mark the same {inner.label}, delete one.", at=ov.location(k))
