"""forbidden_overlap: shapes of two labels that must not overlap (see rules/_overlaps.py)."""
from __future__ import annotations

import numpy as np
from marshmallow import validate, validates_schema

from validator import Issue, Options, fields, rule

from ._options import Float
from ._overlaps import AREA_TYPES, LABEL_PAIR, candidates, label_codes, measure, ordered, pct, shape, unique_pairs, what


class ForbiddenOptions(Options):
    pairs = fields.List(
        LABEL_PAIR, load_default=list,
        metadata={"description": "Label pairs whose shapes must not overlap, e.g. [[\"car\", \"pedestrian\"], "
                                 "[\"road\", \"road\"]]. Empty: the rule checks nothing. For a different fraction "
                                 "per pair, configure one instance (with its own `name`) per fraction."})
    min_fraction = Float(
        load_default=0.1, validate=validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "Reported when the shared area is at least this fraction (0-1) of the smaller "
                                 "shape's area."})

    @validates_schema
    def _pairs_once(self, data, **kwargs):
        unique_pairs(data.get("pairs", []), "pairs")


@rule(
    id="forbidden_overlap",
    summary="Shapes of two labels the project says must not overlap, overlapping by more than a fraction.",
    why="""
        Some label pairs cannot share pixels in a correct labeling: in a segmentation project a `road` polygon and
        a `sidewalk` polygon that overlap give the overlapping pixels two classes, and two `road` polygons that
        overlap count that area twice. The project lists such pairs in `pairs`; a pair is reported when the shared
        area is at least `min_fraction` of the smaller shape (small slivers along a common border are tolerated).
        Shapes that only touch do not overlap. Each pair is reported once, on the later annotation of the two, at
        the centre of the overlap. Off by default: which labels may overlap depends on the project.

        Example: with `pairs = [["road", "sidewalk"]]`, a sidewalk polygon a quarter of which lies on a road
        polygon gets "This sidewalk polygon overlaps a road polygon by 25% of the smaller shape; road and sidewalk
        shapes must not overlap."
    """,
    geometries=AREA_TYPES,
    level="off",
    options=ForbiddenOptions,
    per="task",
    cost="pairwise",
)
def forbidden_overlap(anns, ctx, opts):
    if not opts["pairs"]:
        return
    alone = {a for a, b in opts["pairs"] if a == b}  # labels whose shapes must not overlap each other
    found, issues = candidates(ctx, anns, "check their overlaps",
                               lambda label: f"{label} shapes must not overlap each other." if label in alone else None)
    yield from issues
    i, j = found.i, found.j
    if not len(i):
        return
    ci, cj, index = label_codes(ctx, i, j)
    forbidden = np.zeros((len(index), len(index)), dtype=bool)
    for a, b in opts["pairs"]:
        if a in index and b in index:
            forbidden[index[a], index[b]] = forbidden[index[b], index[a]] = True
    keep = forbidden[ci, cj]
    if not keep.any():  # nothing of the labels compared meets: no arrays to build
        return
    i, j = i[keep], j[keep]
    ov, issues = measure(ctx, i, j)
    yield from issues
    frac = ov.of_smaller()
    hit = (ov.inter > 0) & (frac >= opts["min_fraction"])
    for k in ordered(i, j, hit):
        first, later = shape(ctx, i[k]), shape(ctx, j[k])
        labels = (f"{first.label} shapes must not overlap each other" if first.label == later.label
                  else f"{first.label} and {later.label} shapes must not overlap")
        other = "another" if first.label == later.label else "a"
        yield Issue.on(later.uuid, f"This {what(later)} overlaps {other} {what(first)} by {pct(frac[k])} of the "
                              f"smaller shape; {labels}.", at=ov.location(k))
