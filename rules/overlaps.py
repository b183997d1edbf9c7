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
import shapely
from marshmallow import ValidationError, validate, validates_schema

from validator import Issue, Options, fields, rule
from validator.geometry.boxes import box_overlaps
from validator.geometry.pairs import overlap_point, pair_limit, shape_overlaps

AREA_TYPES = ("box", "polygon", "ellipse", "cuboid")
_NONE = np.zeros(0, dtype=np.int64)


# -- shared machinery -------------------------------------------------------------------------------------------------
class _Candidates(NamedTuple):
    """Pairs ``(i, j)`` of shapes to measure; ``copies``: groups of exact copies, each ``(first, others)`` (found
    only when the pairs are too many: a pile of copies is then one group, not a quadratic number of pairs);
    ``pile``: when even the distinct shapes meet in more pairs than are compared, ``(a shape in the densest pile,
    how many others it meets)``, and no pairs."""

    i: np.ndarray
    j: np.ndarray
    copies: list[tuple[int, np.ndarray]]
    pile: tuple[int, int] | None
    limit: int


def _candidate_pairs(ctx, positions: np.ndarray) -> _Candidates:
    """The pairs ``(i, j)``, ``i < j``, of the given positions whose envelopes meet (numpy only, no geometry built),
    at most ``pair_limit`` of them."""
    geo = ctx.geometry
    positions = positions[geo.exists[positions]]  # shapes that cannot exist are not compared
    limit = pair_limit(len(positions))
    found = geo.meeting_pairs(positions, limit=limit)
    if found.complete:
        return _Candidates(found.i, found.j, [], None, limit)
    first = geo.first_copies(positions)
    copied = (first != positions).nonzero()[0]
    copies = []
    if len(copied):
        order = copied[np.argsort(first[copied], kind="stable")]
        reps, starts = np.unique(first[order], return_index=True)
        copies = list(zip(reps.tolist(), np.split(positions[order], starts[1:])))
        found = geo.meeting_pairs(positions[first == positions], limit=limit)
    if found.complete:
        return _Candidates(found.i, found.j, copies, None, limit)
    # still too many: one issue for the pile (_crowded), no pair measured (each would be an issue of its own)
    return _Candidates(_NONE, _NONE, copies, (found.busiest, found.crowd), limit)


def _crowded(ctx, found: _Candidates, checking: str):
    """The issue for a pile of shapes too crowded to compare every pair."""
    if found.pile is None:
        return
    pos, crowd = found.pile
    shape = _shape(ctx, pos)
    yield Issue.on(shape.uuid, f"This {_what(shape)} is one of {crowd + 1:,} shapes piled on top of each other "
                               f"here: too many overlapping shapes to {checking} (at most {found.limit:,} "
                               "overlapping pairs are compared); delete the shapes that do not belong.",
                   at=_where(ctx, pos))


def _copies(ctx, found: _Candidates, decide):
    """One issue per group of exact copies, on the first: ``decide(label)`` gives the text's ending, or None when
    copies of that label are not this rule's business. Copies of a shape without area overlap nothing."""
    for pos, others in found.copies:
        shape = _shape(ctx, pos)
        ending = decide(shape.label)
        if ending is None or not _has_area(ctx, pos):
            continue
        n = len(others)
        what = _what(shape) if n == 1 else f"{_what(shape)}{'es' if shape.type == 'box' else 's'}"
        are = "is an exact copy" if n == 1 else "are exact copies"
        yield Issue.on(shape.uuid, f"{n:,} other {what} {are} of this one (the same shape at exactly the same "
                                   f"place); {ending}", at=_where(ctx, pos))


def _tangled(ctx, ov: "_Overlaps"):
    """One issue per polygon whose outline is too tangled to measure (it was compared with nothing)."""
    for pos in ov.tangled:
        shape = _shape(ctx, pos)
        yield Issue.on(shape.uuid, f"This {_what(shape)} crosses itself at so many places that its area cannot be "
                                   "measured, so it cannot be compared with the shapes it overlaps; redraw its "
                                   "outline.", at=ctx.annotations.coords[ctx.annotations.offsets[pos]][None])


def _has_area(ctx, pos: int) -> bool:
    return bool(shapely.area(ctx.geometry.geoms_of(np.array([pos]))[0]) > 0)


def _where(ctx, pos: int) -> tuple[float, float] | None:
    return overlap_point(ctx.geometry.geoms_of(np.array([pos]))[0])


def _pair_codes(ctx, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Small integer label codes of both sides of the candidate pairs, and the label -> code mapping (only the
    labels the candidates have)."""
    vocab, ids = ctx.annotations.label_ids
    present, local = np.unique(np.concatenate([ids[i], ids[j]]), return_inverse=True)
    names = list(vocab)
    return local[:len(i)], local[len(i):], {names[k]: c for c, k in enumerate(present.tolist())}


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
        self.tangled: list[int] = []  # positions of polygons too tangled to measure
        if not k:
            return
        b = geo.bounds
        if self.boxes.any():
            ov, rect = box_overlaps(b[i[self.boxes]], b[j[self.boxes]])
            self.inter[self.boxes], self.area_i[self.boxes], self.area_j[self.boxes] = ov
            self.rect[self.boxes] = rect
        other = (~self.boxes).nonzero()[0]
        if len(other):
            gi, gj = geo.measurable_geoms_of(i[other]), geo.measurable_geoms_of(j[other])
            ok = (gi != None) & (gj != None)  # noqa: E711  (elementwise on object arrays)
            if not ok.all():  # too tangled to measure: compared with nothing, reported (_tangled)
                self.tangled = sorted({int(p) for p, g in zip(np.r_[i[other], j[other]], np.r_[gi, gj]) if g is None})
                other, gi, gj = other[ok], gi[ok], gj[ok]
            ov, shapes = shape_overlaps(gi, gj, repair=False)
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
    min_iou = fields.Float(required=True, validate=validate.Range(min=0, max=1, min_inclusive=False),
                           metadata={"description": "Overlap (intersection over union) from which the pair is a "
                                                    "duplicate."})


class DuplicateOptions(Options):
    min_iou = fields.Float(
        load_default=0.9, validate=validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "Two shapes of the same label whose overlap (intersection over union, 0-1) is at "
                                 "least this are duplicates."})
    thresholds = fields.List(
        fields.Nested(PairThreshold), load_default=list,
        metadata={"description": "Per label pair overrides, e.g. [{labels = [\"car\", \"car\"], min_iou = 0.8}]. "
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
    found = _candidate_pairs(ctx, anns.positions)
    yield from _crowded(ctx, found, "check them for near-copies")
    yield from _copies(ctx, found, lambda label: "delete the copies.")
    i, j = found.i, found.j
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
    yield from _tangled(ctx, ov)
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
    min_fraction = fields.Float(
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
    cost="pairwise",
)
def forbidden_overlap(anns, ctx, opts):
    if not opts["pairs"]:
        return
    found = _candidate_pairs(ctx, anns.positions)
    yield from _crowded(ctx, found, "check their overlaps")
    alone = {a for a, b in opts["pairs"] if a == b}
    yield from _copies(ctx, found, lambda label: f"{label} shapes must not overlap each other." if label in alone
                       else None)
    i, j = found.i, found.j
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
    yield from _tangled(ctx, ov)
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
    min_fraction = fields.Float(
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
    found = _candidate_pairs(ctx, anns.positions)
    yield from _crowded(ctx, found, "check which lie inside another")
    yield from _copies(ctx, found, lambda label: f"if they mark the same {label}, delete them.")
    i, j = found.i, found.j
    if not len(i):
        return
    ci, cj, _ = _pair_codes(ctx, i, j)
    keep = ci == cj
    if not opts["across_types"]:
        keep &= _same_type(ctx, i, j)
    i, j = i[keep], j[keep]
    ov = _Overlaps(ctx, i, j)
    yield from _tangled(ctx, ov)
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
