"""duplicate_annotation: two shapes of the same label covering the same object (see rules/_overlaps.py)."""
from __future__ import annotations

import numpy as np
from marshmallow import validate, validates_schema

from validator import Issue, Options, fields, rule

from ._options import Float
from ._overlaps import (AREA_TYPES, candidates, measure, ordered, pair_thresholds, pct, same_type, shape, unique_pairs,
                        what)


class PairThreshold(Options):
    labels = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                         validate=validate.Length(equal=2),
                         metadata={"description": "Two labels, e.g. [\"car\", \"car\"] or [\"car\", \"truck\"]."})
    min_iou = Float(required=True, validate=validate.Range(min=0, max=1, min_inclusive=False),
                           metadata={"description": "Overlap (intersection over union) from which the pair is a "
                                                    "duplicate."})


class DuplicateOptions(Options):
    min_iou = Float(
        load_default=0.9, validate=validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "Two shapes of the same label whose overlap (intersection over union, 0-1) is at "
                                 "least this are duplicates."})
    thresholds = fields.List(
        fields.Nested(PairThreshold), load_default=list,
        metadata={"description": "Per label pair overrides, e.g. [{labels = [\"car\", \"car\"], min_iou = 0.8}] "
                                 "(each min_iou > 0 and <= 1). "
                                 "A pair of one label twice changes that label's threshold; a pair of two "
                                 "different labels also reports shapes of those two labels covering the same "
                                 "object."})
    across_types = fields.Boolean(
        load_default=False,
        metadata={"description": "Also compare shapes of different geometry types (a car box with a car polygon). "
                                 "Off: Scale's taxonomies are per geometry, so a task asking for both expects both."})

    @validates_schema
    def _pairs_once(self, data, **kwargs):
        unique_pairs([t["labels"] for t in data.get("thresholds", [])], "thresholds")


@rule(
    id="duplicate_annotation",
    summary="Two shapes of the same label that cover the same object (near-copies, by overlap area).",
    why="""
        A near-copy (a shape pasted twice, or a second shape drawn over an object that was already labeled)
        counts the object twice: a detector trained on it learns to predict two boxes per object, and object
        counts are wrong. Two shapes are compared by intersection over union (the shared area divided by the area
        both cover together); from `min_iou` (default 0.9) they are duplicates. Shapes that only touch are not
        overlapping. Each pair is reported once, on the later annotation of the two, at the centre of the overlap.
        By default shapes are compared with shapes of the same geometry type only (see `across_types`); per label
        pair thresholds (`thresholds`) can lower or raise the bar for a label, or add a pair of different labels
        that must not cover the same object.

        On real annotations (docs/calibration.md: 28,663 of them) no two distinct objects of one label come near
        0.9 (the closest: two sheep at 0.806), so the default blocks copies without blocking anyone there. In
        crowded scenes people one behind the other can overlap more than 0.9: raise that label's threshold and add
        a warning instance below it (docs/configuration.md, "Crowded scenes").

        Example: two car boxes at (100, 100, 50 x 40) and (101, 101, 50 x 40) overlap by 91%: the second one gets
        "This car box is a near-copy of another car box (91% overlap); delete one of them."
    """,
    geometries=AREA_TYPES,
    level="error",
    options=DuplicateOptions,
    per="task",
    cost="pairwise",
)
def duplicate_annotation(anns, ctx, opts):
    found, issues = candidates(ctx, anns, "check them for near-copies", lambda label: "delete the copies.")
    yield from issues
    i, j = found.i, found.j
    if not len(i):
        return
    need = pair_thresholds(ctx, i, j, opts["min_iou"], opts["thresholds"])
    keep = np.isfinite(need)
    if not opts["across_types"]:
        keep &= same_type(ctx, i, j)
    if not keep.any():  # the usual case on real tasks: no two shapes of one label meet
        return
    i, j, need = i[keep], j[keep], need[keep]
    may = ctx.geometry.may_reach_iou(i, j, need)  # pairs that cannot be duplicates need no exact geometry
    if not may.any():
        return
    i, j, need = i[may], j[may], need[may]
    ov, issues = measure(ctx, i, j)
    yield from issues
    iou = ov.iou()
    hit = (ov.inter > 0) & (iou >= need)
    for k in ordered(i, j, hit):
        first, later = shape(ctx, i[k]), shape(ctx, j[k])
        if first.label == later.label:
            text = (f"This {what(later)} is a near-copy of another {what(first)} ({pct(iou[k])} overlap); "
                    "delete one of them.")
        else:
            text = (f"This {what(later)} covers the same object as a {what(first)} ({pct(iou[k])} overlap); "
                    "keep only the one with the right label.")
        yield Issue.on(later.uuid, text, at=ov.location(k))
