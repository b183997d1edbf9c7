"""Overlap rules: near-duplicate annotations, forbidden overlaps between labels, annotations inside another.

All three share one candidate search, per request and vectorised:

1. the pairs of the instance's shapes whose bounding boxes meet, from ``ctx.geometry.envelope_pairs`` (numpy
   alone, on the envelopes the shapes' geometries would have: no shapely geometry is built to find them);
2. keep pairs ``i < j`` (request order) whose labels (and geometry types) the rule compares, with numpy;
3. measure only those candidates exactly: pairs of two unrotated boxes by numpy arithmetic on
   ``ctx.geometry.bounds`` (exact for boxes), every other pair with vectorised ``shapely.intersection`` /
   ``shapely.area`` on the candidate arrays (geometry built for those shapes only). Each exact comparison is
   counted in ``ctx.geometry.stats["exact_comparisons"]`` (the complexity guard reads it).

Overlap is measured by area: shapes that only touch (a shared edge, a shared corner) do not overlap.
Only area-bearing shapes are compared: boxes (rotated ones too), polygons, ellipses and cuboids (their footprint in
the image, the convex hull of the 6 vertices).

Geometry types: Scale's taxonomies are per geometry, so a task that asks for ``car`` boxes *and* ``car``
polygons expects both on the same car. By default a shape is therefore compared only with shapes of its own type
(a rotated and an unrotated box are both boxes); ``across_types = true`` compares every area-bearing type.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from marshmallow import ValidationError, validate, validates_schema

from validator import Issue, Options, fields, rule
from validator.geometry.boxes import box_overlaps
from validator.geometry.pairs import overlap_point, shape_overlaps

from ._options import Float

AREA_TYPES = ("box", "polygon", "ellipse", "cuboid")
_EMPTY = np.zeros(0, dtype=np.int64)


# -- shared machinery -------------------------------------------------------------------------------------------------
def _candidate_pairs(ctx, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of the given positions whose envelopes meet (numpy only, no geometry built)."""
    geo = ctx.geometry
    if len(positions) < 2:
        return _EMPTY, _EMPTY
    positions = positions[geo.exists[positions]]  # shapes that cannot exist are not compared
    return geo.envelope_pairs(positions)


def _pair_codes(ctx, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Integer label codes of both sides of the candidate pairs, and the label -> code mapping.

    Only the candidates' labels are looked at (a handful per shape at most), never the whole task's.
    """
    labels = ctx.annotations.labels
    index: dict[str, int] = {}
    ci = np.fromiter((index.setdefault(labels[k], len(index)) for k in i.tolist()), dtype=np.int64, count=len(i))
    cj = np.fromiter((index.setdefault(labels[k], len(index)) for k in j.tolist()), dtype=np.int64, count=len(j))
    return ci, cj, index


def _same_type(ctx, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    codes = ctx.annotations.type_codes
    return codes[i] == codes[j]


class _Overlaps:
    """Exact overlap areas of candidate pairs ``(i, j)``: ``inter``, ``area_i``, ``area_j`` (arrays)."""

    def __init__(self, ctx, i: np.ndarray, j: np.ndarray):
        geo = ctx.geometry
        k = len(i)
        geo.stats["exact_comparisons"] = geo.stats.get("exact_comparisons", 0) + k
        self.inter = np.zeros(k)
        self.area_i = np.zeros(k)
        self.area_j = np.zeros(k)
        self.rect = np.zeros((k, 4))  # intersection rectangles of box pairs
        aligned = np.zeros(len(ctx.annotations), dtype=bool)
        aligned[geo.axis_aligned_boxes] = True
        self.boxes = aligned[i] & aligned[j]
        self.shapes: dict[int, object] = {}  # pair index -> intersection geometry (non-box pairs)
        if not k:
            return
        b = geo.bounds
        if self.boxes.any():
            ov, rect = box_overlaps(b[i[self.boxes]], b[j[self.boxes]])
            self.inter[self.boxes], self.area_i[self.boxes], self.area_j[self.boxes] = ov
            self.rect[self.boxes] = rect
        other = (~self.boxes).nonzero()[0]
        if len(other):
            ov, shapes = shape_overlaps(geo.geoms_of(i[other]), geo.geoms_of(j[other]))
            self.inter[other], self.area_i[other], self.area_j[other] = ov
            self.shapes = dict(zip(other.tolist(), shapes))

    def location(self, k: int) -> tuple[float, float] | None:
        """The centroid of pair ``k``'s overlap (a point inside it when the centroid falls outside)."""
        if self.boxes[k]:
            x0, y0, x1, y1 = self.rect[k].tolist()  # Python floats: Issue locations take them as they are
            return ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
        return overlap_point(self.shapes.get(k))


def _order(i: np.ndarray, j: np.ndarray, keep: np.ndarray) -> list[int]:
    """Indices of the kept pairs in a deterministic order (later annotation, then earlier)."""
    ks = np.flatnonzero(keep)
    return ks[np.lexsort((i[ks], j[ks]))].tolist()


def _pct(x: float) -> str:
    return f"{min(100, max(0, round(100 * x)))}%"


class _Shape(NamedTuple):
    uuid: str
    label: str
    type: str


def _shape(ctx, pos) -> _Shape:
    """uuid, label and type of one annotation, read from the columns (no Annotation view needed)."""
    a = ctx.annotations
    return _Shape(a.uuids[pos], a.labels[pos], a.type_names[pos])


def _what(shape: _Shape) -> str:
    return f"{shape.label} {shape.type}"


def _unique_pairs(pairs: list[list[str]], what: str) -> None:
    seen = set()
    for p in pairs:
        key = frozenset(p)
        if key in seen:
            raise ValidationError(f"the label pair {p!r} is listed twice in {what}")
        seen.add(key)


_LABEL_PAIR = fields.List(fields.String(validate=validate.Length(min=1)), validate=validate.Length(equal=2))


# -- duplicate_annotation ---------------------------------------------------------------------------------------------
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
        _unique_pairs([t["labels"] for t in data.get("thresholds", [])], "thresholds")


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
)
def duplicate_annotation(anns, ctx, opts):
    i, j = _candidate_pairs(ctx, anns.positions)
    if not len(i):
        return
    ci, cj, index = _pair_codes(ctx, i, j)
    n_labels = len(index)
    thr = np.full((n_labels, n_labels), np.inf)
    np.fill_diagonal(thr, opts["min_iou"])
    for t in opts["thresholds"]:
        a, b = t["labels"]
        if a in index and b in index:
            thr[index[a], index[b]] = thr[index[b], index[a]] = t["min_iou"]
    need = thr[ci, cj]
    keep = np.isfinite(need)
    if not opts["across_types"]:
        keep &= _same_type(ctx, i, j)
    i, j, need = i[keep], j[keep], need[keep]
    ov = _Overlaps(ctx, i, j)
    union = ov.area_i + ov.area_j - ov.inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, ov.inter / union, 0.0)
    hit = (ov.inter > 0) & (iou >= need)
    for k in _order(i, j, hit):
        first, later = _shape(ctx, i[k]), _shape(ctx, j[k])
        if first.label == later.label:
            text = (f"This {_what(later)} is a near-copy of another {_what(first)} ({_pct(iou[k])} overlap); "
                    "delete one of them.")
        else:
            text = (f"This {_what(later)} covers the same object as a {_what(first)} ({_pct(iou[k])} overlap); "
                    "keep only the one with the right label.")
        yield Issue.on(later.uuid, text, at=ov.location(k))


# -- forbidden_overlap ------------------------------------------------------------------------------------------------
class ForbiddenOptions(Options):
    pairs = fields.List(
        _LABEL_PAIR, load_default=list,
        metadata={"description": "Label pairs whose shapes must not overlap, e.g. [[\"car\", \"pedestrian\"], "
                                 "[\"road\", \"road\"]]. Empty: the rule checks nothing. For a different fraction "
                                 "per pair, configure one instance (with its own `name`) per fraction."})
    min_fraction = Float(
        load_default=0.1, validate=validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "Reported when the shared area is at least this fraction (0-1) of the smaller "
                                 "shape's area."})

    @validates_schema
    def _pairs_once(self, data, **kwargs):
        _unique_pairs(data.get("pairs", []), "pairs")


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
)
def forbidden_overlap(anns, ctx, opts):
    if not opts["pairs"]:
        return
    i, j = _candidate_pairs(ctx, anns.positions)
    if not len(i):
        return
    ci, cj, index = _pair_codes(ctx, i, j)
    forbidden = np.zeros((len(index), len(index)), dtype=bool)
    for a, b in opts["pairs"]:
        if a in index and b in index:
            forbidden[index[a], index[b]] = forbidden[index[b], index[a]] = True
    keep = forbidden[ci, cj]
    i, j = i[keep], j[keep]
    ov = _Overlaps(ctx, i, j)
    smaller = np.minimum(ov.area_i, ov.area_j)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(smaller > 0, ov.inter / smaller, 0.0)
    hit = (ov.inter > 0) & (frac >= opts["min_fraction"])
    for k in _order(i, j, hit):
        first, later = _shape(ctx, i[k]), _shape(ctx, j[k])
        labels = (f"{first.label} shapes must not overlap each other" if first.label == later.label
                  else f"{first.label} and {later.label} shapes must not overlap")
        other = "another" if first.label == later.label else "a"
        yield Issue.on(later.uuid, f"This {_what(later)} overlaps {other} {_what(first)} by {_pct(frac[k])} of the "
                              f"smaller shape; {labels}.", at=ov.location(k))


# -- contained_annotation ---------------------------------------------------------------------------------------------
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
)
def contained_annotation(anns, ctx, opts):
    i, j = _candidate_pairs(ctx, anns.positions)
    if not len(i):
        return
    ci, cj, _ = _pair_codes(ctx, i, j)
    keep = ci == cj
    if not opts["across_types"]:
        keep &= _same_type(ctx, i, j)
    i, j = i[keep], j[keep]
    ov = _Overlaps(ctx, i, j)
    smaller = np.minimum(ov.area_i, ov.area_j)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(smaller > 0, ov.inter / smaller, 0.0)
    hit = (ov.inter > 0) & (frac >= opts["min_fraction"])
    for k in _order(i, j, hit):
        first, later = _shape(ctx, i[k]), _shape(ctx, j[k])
        inner, outer = (first, later) if ov.area_i[k] < ov.area_j[k] else (later, first)
        size = "a larger" if ov.area_i[k] != ov.area_j[k] else "another"
        yield Issue.on(inner.uuid, f"This {_what(inner)} lies inside {size} {_what(outer)} ({_pct(frac[k])} of it is "
                              f"covered); if both mark the same {inner.label}, delete one.", at=ov.location(k))
