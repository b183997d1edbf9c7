"""Small helpers shared by the rules derived from the task's own parameters (taxonomy, sizes, vertices, attributes).

Not a rule module (the leading underscore keeps it out of rule discovery).
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from validator import Issue, analysis
from validator.geometry.cuboids import FACE as FACE_CORNERS, face_extents
from validator.scale.annotations import GEOMETRY_TYPES, TYPE_CODE
from validator.scale.task import leaves

_NAMES_SHOWN = 8


def anchor(ann) -> tuple[float, float] | None:
    """Where to point a labeler at an annotation: box top-left corner (rotated with the box), the point itself,
    the first vertex of a polygon / line / ellipse, the first described vertex of a cuboid."""
    xy = ann.xy
    if not len(xy):
        return None
    return float(xy[0, 0]), float(xy[0, 1])


def anchors(ctx, positions: np.ndarray) -> np.ndarray:
    """``anchor`` for many annotations at once: an ``(m, 2)`` array (NaN rows for annotations without vertices)."""
    a = ctx.annotations
    counts = a.counts[positions]
    if counts.all():  # the usual case: every annotation has a first vertex
        return a.coords[a.offsets[positions]]
    out = np.full((len(positions), 2), np.nan)
    has = counts > 0
    out[has] = a.coords[a.offsets[positions[has]]]
    return out


def anchored(ctx, positions: np.ndarray, texts: Iterable[str]):
    """``Issue.on(annotation, text, at=anchor)`` for each position and its text, without a numpy round trip per
    issue (the anchors of well-formed annotations are finite: extraction sets the others aside)."""
    uuids = ctx.annotations.uuids
    positions = np.asarray(positions, dtype=np.int64)
    for p, text, (x, y) in zip(positions.tolist(), texts, anchors(ctx, positions).tolist()):
        at = ((x, y),) if math.isfinite(x) and math.isfinite(y) else ()  # NaN: no vertex to point at
        yield Issue(uuid=uuids[p], extra=text, locations=at)


@analysis
def label_index(ctx) -> tuple[list[str], np.ndarray]:
    """The request's distinct labels (in order of first use) and, per annotation, the index of its label among
    them: rules decide once per distinct label (there are few) and broadcast. The numbering is the request's own
    (``AnnotationSet.label_ids``, shared with the geometry index), not a second one."""
    vocab, ids = ctx.annotations.label_ids
    return list(vocab), ids


def types_of(ctx, anns) -> frozenset[str]:
    """The geometry types among the selected annotations (``anns``): a rule skips the checks of the types it
    reviews that are not there, without a pass over the columns. For every annotation: the types the engine
    found present (``AnnotationSet.positions_by_type``, computed once per request)."""
    a = ctx.annotations
    if len(anns) == len(a):
        return frozenset(GEOMETRY_TYPES[code] for code in a.positions_by_type)
    names = a.type_names
    return frozenset(map(names.__getitem__, anns.positions.tolist()))


def type_label_pairs(ctx, anns) -> set[tuple[str, str]]:
    """The distinct (geometry type, label) pairs of the selected annotations (``anns``), in one pass."""
    a = ctx.annotations
    if len(anns) == len(a.labels):
        return set(zip(a.type_names, a.labels))
    names, labels = a.type_names, a.labels
    return {(names[p], labels[p]) for p in anns.positions.tolist()}


def cuboid_face(ann) -> tuple[float, float, tuple[float, float]] | None:
    """Width, height and top-left corner of a cuboid's front face, from its described vertices.

    The extent of the four ``face-*`` corners; None when any of them is missing (the cuboid rules report that).
    """
    desc = ann.vertex_descriptions
    xy = ann.xy
    idx = []
    for name in FACE_CORNERS:
        try:
            idx.append(desc.index(name))
        except ValueError:
            return None
    face = xy[idx]
    width = float(face[:, 0].max() - face[:, 0].min())
    height = float(face[:, 1].max() - face[:, 1].min())
    return width, height, (float(face[0, 0]), float(face[0, 1]))


@analysis
def cuboid_groups(ctx) -> list[tuple[tuple, np.ndarray]]:
    """The request's cuboids grouped by their vertex descriptions (in the order given): ``[(descriptions,
    positions)]``. Cuboids drawn by one tool all describe their vertices alike, so whatever depends on the
    descriptions alone (which vertex is which corner, what is missing) is worked out once per group."""
    a = ctx.annotations
    described = a.vertex_descriptions
    groups: dict[tuple, list[int]] = {}
    for p in np.flatnonzero(a.type_codes == TYPE_CODE["cuboid"]).tolist():
        groups.setdefault(described.get(p, ()), []).append(p)
    return [(d, np.array(ps, dtype=np.intp)) for d, ps in groups.items()]


@analysis
def cuboid_faces(ctx) -> np.ndarray:
    """``cuboid_face`` of every annotation at once: an ``(n, 4)`` array of width, height and top-left corner x, y
    of each cuboid's front face (NaN rows for other annotations and for cuboids missing a face corner)."""
    a = ctx.annotations
    out = np.full((len(a), 4), np.nan)
    for described, positions in cuboid_groups(ctx):
        try:
            corners = [described.index(name) for name in FACE_CORNERS]
        except ValueError:
            continue  # a face corner is missing: no face to measure
        face = a.coords[a.offsets[positions][:, None] + corners]  # (m, 4, 2)
        out[positions, :2] = face_extents(face)
        out[positions, 2:] = face[:, 0]
    return out


def px(value: float) -> str:
    """A length or coordinate as a labeler reads it: ``3``, ``9.5``, ``-2.25`` (at most two decimals, no float
    noise; absurd magnitudes as ``1e+300``)."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e6:
        return f"{value:.3g}"
    r = round(float(value), 2)
    if r == int(r):
        return str(int(r))
    return f"{r:g}"


def num(value: float) -> str:
    """A number from the task or an attribute, without float noise (``0.1``, not ``0.1000000000000000055``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.10g}"


def names(items: Iterable[str], limit: int = _NAMES_SHOWN) -> str:
    """``a, b, c`` (at most ``limit`` names, then "and N more")."""
    items = list(items)
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


def group_leaves(choices: Iterable[Any], group: str) -> list[str] | None:
    """The leaf labels under the group (a choice with subchoices) named ``group``; None when there is none."""
    if not isinstance(choices, (list, tuple)):
        return None  # a malformed taxonomy has no groups
    for c in choices:
        if isinstance(c, dict) and c.get("choice") is not None:
            subs = c.get("subchoices")
            if not (isinstance(subs, list) and subs):
                continue
            if c.get("choice") == group:
                return leaves(subs)
            found = group_leaves(subs, group)
            if found is not None:
                return found
    return None


def same_ignoring_case(value: str, candidates: Iterable[str]) -> str | None:
    """The candidate equal to ``value`` up to case and surrounding spaces (a likely slip), if exactly one."""
    key = value.strip().casefold()
    found = [c for c in candidates if c.strip().casefold() == key and c != value]
    return found[0] if len(found) == 1 else None
