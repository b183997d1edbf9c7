"""Shared by the overlap rules (duplicate_annotation, forbidden_overlap, contained_annotation): the issues every
one of them reports when the candidate search reached a bound, and the small helpers of their messages.

The candidate search and the measurement are the geometry package's (validator/geometry/overlaps.py):

1. the pairs of the instance's shapes whose bounding boxes meet, from ``ctx.geometry.overlap_candidates`` (numpy
   alone, on the envelopes the shapes' geometries would have: no shapely geometry is built to find them); past
   ``pair_limit`` pairs, exact copies are grouped (one issue per group) and a pile too dense to compare is one
   issue, never a silent cut;
2. each rule keeps the pairs ``i < j`` (request order) whose labels (and geometry types) it compares;
3. ``ctx.geometry.overlaps(i, j)`` measures only those candidates exactly.

Overlap is measured by area: shapes that only touch (a shared edge, a shared corner) do not overlap.
Only area-bearing shapes are compared: boxes (rotated ones too), polygons, ellipses and cuboids (their footprint in
the image, the convex hull of the 6 vertices).

Geometry types: Scale's taxonomies are per geometry, so a task that asks for ``car`` boxes *and* ``car``
polygons expects both on the same car. By default a shape is therefore compared only with shapes of its own type
(a rotated and an unrotated box are both boxes); ``across_types = true`` compares every area-bearing type.

Not a rule module (the leading underscore keeps it out of rule discovery).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from marshmallow import ValidationError, validate

from validator import Issue, fields
from validator.geometry.overlaps import Candidates, PairOverlaps, centre_of, has_area

from ._support import label_index

AREA_TYPES = ("box", "polygon", "ellipse", "cuboid")
LABEL_PAIR = fields.List(fields.String(validate=validate.Length(min=1)), validate=validate.Length(equal=2))


def candidates(ctx, anns, checking: str, copies: Callable[[str], str | None]) -> tuple[Candidates, list[Issue]]:
    """The candidate pairs of the instance's shapes, and the issues for what the search could not compare pair by
    pair: a pile too dense (``checking``: what the rule would check, "check them for near-copies"), and one issue
    per group of exact copies (``copies(label)``: the text's ending, None when copies of that label are not this
    rule's business; copies of a shape without area overlap nothing)."""
    found = ctx.geometry.overlap_candidates(anns.positions)
    issues = []
    if found.pile is not None:
        pos, crowd = found.pile
        s = shape(ctx, pos)
        issues.append(Issue.on(s.uuid, f"This {what(s)} is one of {crowd + 1:,} shapes piled on top of each other "
                                       f"here: too many overlapping shapes to {checking} (at most {found.limit:,} "
                                       "overlapping pairs are compared); delete the shapes that do not belong.",
                               at=centre_of(ctx.geometry, pos)))
    for pos, others in found.copies:
        s = shape(ctx, pos)
        ending = copies(s.label)
        if ending is None or not has_area(ctx.geometry, pos):
            continue
        n = len(others)
        many = what(s) if n == 1 else f"{what(s)}{'es' if s.type == 'box' else 's'}"
        are = "is an exact copy" if n == 1 else "are exact copies"
        issues.append(Issue.on(s.uuid, f"{n:,} other {many} {are} of this one (the same shape at exactly the same "
                                       f"place); {ending}", at=centre_of(ctx.geometry, pos)))
    return found, issues


def measure(ctx, i: np.ndarray, j: np.ndarray) -> tuple[PairOverlaps, list[Issue]]:
    """The pairs' exact overlaps, and one issue per polygon too tangled to measure (compared with nothing)."""
    ov = ctx.geometry.overlaps(i, j)
    a = ctx.annotations
    issues = []
    for pos in ov.tangled:
        s = shape(ctx, pos)
        issues.append(Issue.on(s.uuid, f"This {what(s)} crosses itself at so many places that its area cannot be "
                                       "measured, so it cannot be compared with the shapes it overlaps; redraw its "
                                       "outline.", at=a.coords[a.offsets[pos]][None]))
    return ov, issues


def label_codes(ctx, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Small integer label codes of both sides of the candidate pairs, and the label -> code mapping (only the
    labels the candidates have)."""
    vocab, ids = ctx.annotations.label_ids
    present, local = np.unique(np.concatenate([ids[i], ids[j]]), return_inverse=True)
    names = list(vocab)
    return local[:len(i)], local[len(i):], {names[k]: c for c, k in enumerate(present.tolist())}


def pair_thresholds(ctx, i: np.ndarray, j: np.ndarray, same_label: float, pairs: list[dict]) -> np.ndarray:
    """Per candidate pair, the threshold it is held to: ``same_label`` for two shapes of one label, the
    ``min_iou`` of the entry of ``pairs`` (``{"labels": [a, b], "min_iou": x}``) naming its two labels (which
    overrides ``same_label`` for a label listed twice), inf (never) for the other pairs."""
    if not pairs:  # the usual case: no table, one comparison of label numbers
        ids = label_index(ctx)[1]
        return np.where(ids[i] == ids[j], same_label, np.inf)
    ci, cj, index = label_codes(ctx, i, j)
    n_labels = len(index)
    thr = np.full((n_labels, n_labels), np.inf)
    np.fill_diagonal(thr, same_label)
    for t in pairs:
        a, b = t["labels"]
        if a in index and b in index:
            thr[index[a], index[b]] = thr[index[b], index[a]] = t["min_iou"]
    return thr[ci, cj]


def same_type(ctx, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    codes = ctx.annotations.type_codes
    return codes[i] == codes[j]


def ordered(i: np.ndarray, j: np.ndarray, keep: np.ndarray) -> list[int]:
    """Indices of the kept pairs in a deterministic order (later annotation, then earlier)."""
    ks = np.flatnonzero(keep)
    return ks[np.lexsort((i[ks], j[ks]))].tolist()


def pct(x: float) -> str:
    return f"{min(100, max(0, round(100 * x)))}%"


class Shape(NamedTuple):
    uuid: str
    label: str
    type: str


def shape(ctx, pos) -> Shape:
    """uuid, label and type of one annotation, read from the columns (no Annotation view needed)."""
    a = ctx.annotations
    return Shape(a.uuids[pos], a.labels[pos], a.type_names[pos])


def what(s: Shape) -> str:
    return f"{s.label} {s.type}"


def unique_pairs(pairs: list[list[str]], what: str) -> None:
    seen = set()
    for p in pairs:
        key = frozenset(p)
        if key in seen:
            raise ValidationError(f"the label pair {p!r} is listed twice in {what}")
        seen.add(key)
