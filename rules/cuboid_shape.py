"""2D cuboids: six described vertices and six described edges that fit together into a box in perspective."""
from __future__ import annotations

import math
import operator
from itertools import chain

import numpy as np
from marshmallow import validate

from validator import Issue, Options, fields, rule
from validator.scale.annotations import CUBOID_EDGE_DESCRIPTIONS, CUBOID_VERTEX_DESCRIPTIONS, TYPE_CODE

from validator.geometry.cuboids import FACE as _FACE, edge_ends, edge_offsets, flat_and_simple

from ._shape_support import px, selected as _selected, view
from ._support import cuboid_groups

_V = {d: i for i, d in enumerate(CUBOID_VERTEX_DESCRIPTIONS)}
_E = {d: i for i, d in enumerate(CUBOID_EDGE_DESCRIPTIONS)}
_NUMS = (int, float)
_NUM_TYPES = frozenset(_NUMS)
_CUBOID = TYPE_CODE["cuboid"]
_SHOWN = 3  # problems named per issue


_NON_NEGATIVE = validate.Range(min=0)


class StructureOptions(Options):
    check_edges = fields.Boolean(load_default=True, metadata={
        "description": "Also require the six described edges (false: only the vertices are required)."})


class FaceOptions(Options):
    check_side_face = fields.Boolean(load_default=True, metadata={
        "description": "Also require the side face's top corner to be above its bottom corner."})


class EdgeOptions(Options):
    tolerance = fields.Float(load_default=1.0, validate=_NON_NEGATIVE, metadata={
        "description": "How far (px) an edge's end may be from the corner it connects."})


@rule(
    id="cuboid_structure",
    summary="A cuboid without exactly the six described vertices and six described edges Scale defines.",
    why="""
        A 2D cuboid is a front face (face-topleft, face-topright, face-bottomright, face-bottomleft) and a side face
        (side-topcorner, side-bottomcorner), with six edges (face-top, face-right, face-bottom, face-left, side-top,
        side-bottom) between them. Every consumer finds the corners by their `description`: a missing, repeated or
        misspelled description, or an edge with a missing coordinate, leaves the cuboid unreadable. It comes from a
        converter or a custom tool, not from drawing. The other cuboid rules check only cuboids that pass this one.

        Example: a cuboid whose vertices include two "face-topleft" and no "face-bottomleft" gives "The cuboid has
        two face-topleft vertices. The cuboid has no face-bottomleft vertex." at the second face-topleft vertex.
    """,
    geometries=("cuboid",),
    options=StructureOptions,
    per="task",
    cost="linear",
)
def cuboid_structure(anns, ctx, opts):
    a = ctx.annotations
    unreadable = np.zeros(len(a), dtype=bool)  # cuboids whose six edges are not all there and readable
    if opts["check_edges"]:
        cuboids, readable, _ = _edges(ctx)
        unreadable[cuboids] = ~readable
    in_scope = None if len(anns) == len(_all_cuboids(ctx)) else _selected(ctx, anns.positions)
    for described, positions in cuboid_groups(ctx):
        problems, corners = _vertex_problems(described)  # the same for every cuboid described alike
        if not problems:
            positions = positions[unreadable[positions]]
        if in_scope is not None:
            positions = positions[in_scope[positions]]
        for p in positions.tolist():
            found, at = problems, [a.coords[a.offsets[p] + i] for i in corners]
            if unreadable[p]:  # say what is wrong with its edges
                edge_problems, edge_at = _edge_problems(a.cuboid_edges.get(p))
                found = [*problems, *edge_problems]
                at += edge_at
            if found:
                more = len(found) - _SHOWN
                text = " ".join(found[:_SHOWN]) + (f" ({more} more problem{'s' if more > 1 else ''}.)"
                                                   if more > 0 else "")
                yield Issue.on(a.uuids[p], text, at=at[:10])


@rule(
    id="cuboid_face_shape",
    summary="A cuboid whose front face is not a proper quadrilateral: corners swapped, crossing or flat.",
    why="""
        The front face of a cuboid is the quadrilateral face-topleft, face-topright, face-bottomright,
        face-bottomleft: its top corners must be above its bottom corners, its left corners left of its right
        corners, and its outline must enclose an area (at least one square pixel) without crossing itself.
        Swapped corners (a face drawn upside down or mirrored) turn the 3D box inside out for everything that
        reconstructs it. The side face's
        top corner must be above its bottom corner too (`check_side_face`). The side face may be on the right or
        on the left of the front face.

        Example: a cuboid whose face-topright corner is at x = 580 while its face-topleft corner is at x = 600
        gives "The cuboid's face-topright corner is not right of its face-topleft corner." at both corners.
    """,
    geometries=("cuboid",),
    options=FaceOptions,
    per="task",
    cost="linear",
)
def cuboid_face_shape(anns, ctx, opts):
    pos, V = _canonical(anns, ctx)
    if not len(pos):
        return
    tl, tr, br, bl = (V[:, _V[d]] for d in _FACE)
    st, sb = V[:, _V["side-topcorner"]], V[:, _V["side-bottomcorner"]]
    checks = [  # (bad mask, message, corners to point at)
        (tr[:, 0] <= tl[:, 0], "The cuboid's face-topright corner is not right of its face-topleft corner.",
         ("face-topleft", "face-topright")),
        (br[:, 0] <= bl[:, 0], "The cuboid's face-bottomright corner is not right of its face-bottomleft corner.",
         ("face-bottomleft", "face-bottomright")),
        (bl[:, 1] <= tl[:, 1], "The cuboid's face-bottomleft corner is not below its face-topleft corner.",
         ("face-topleft", "face-bottomleft")),
        (br[:, 1] <= tr[:, 1], "The cuboid's face-bottomright corner is not below its face-topright corner.",
         ("face-topright", "face-bottomright")),
    ]
    flat, simple = flat_and_simple(np.stack([tl, tr, br, bl], axis=1))
    swapped = np.zeros(len(pos), dtype=bool)
    for mask, _, _ in checks:
        swapped |= mask
    # One explanation per face: flat says it all; swapped corners explain a crossing; else a crossing alone.
    checks = [(m & ~flat, t, n) for m, t, n in checks]
    checks.append((~flat & ~swapped & ~simple, "The cuboid's front face crosses itself.", _FACE))
    checks.append((flat, "The cuboid's front face has no area.", _FACE))
    if opts["check_side_face"]:
        checks.append((sb[:, 1] <= st[:, 1], "The cuboid's side-bottomcorner is not below its side-topcorner.",
                       ("side-topcorner", "side-bottomcorner")))
    bad_any = np.zeros(len(pos), dtype=bool)
    for mask, _, _ in checks:
        bad_any |= mask
    for i in np.flatnonzero(bad_any).tolist():
        texts, corners = [], []
        for mask, text, names in checks:
            if mask[i]:
                texts.append(text)
                corners += [n for n in names if n not in corners]
        ann = view(ctx, pos[i])
        yield Issue.on(ann, " ".join(texts), at=V[i, [_V[n] for n in corners]])


@rule(
    id="cuboid_edge_mismatch",
    summary="A cuboid edge that does not connect the two vertices it is named after.",
    why="""
        Each described edge of a cuboid joins two of its vertices: face-top joins face-topleft and face-topright,
        face-right joins face-topright and face-bottomright, face-bottom joins face-bottomleft and
        face-bottomright, face-left joins face-topleft and face-bottomleft, and side-top / side-bottom join the
        front face's top / bottom corner on the side face's side (right or left) to side-topcorner /
        side-bottomcorner. An edge whose ends are elsewhere (more than `tolerance` px) contradicts the vertices,
        usually after an edit that moved one but not the other; consumers reading edges and consumers reading
        vertices then see different boxes. Edge ends may be given in either order.

        Example: a cuboid with face-topright at (820, 400) whose face-top edge ends at (800, 400) gives "The
        cuboid's face-top edge does not end at its face-topright corner (20 px away)." at (800, 400).
    """,
    geometries=("cuboid",),
    options=EdgeOptions,
    per="task",
    cost="linear",
)
def cuboid_edge_mismatch(anns, ctx, opts):
    pos, V, E = _canonical(anns, ctx, with_edges=True)
    if not len(pos):
        return
    tol = max(float(opts["tolerance"]), 0.0)
    right, swapped, off_p, off_q = edge_offsets(V, E)
    P, Q = E[:, :, 0:2], E[:, :, 2:4]
    ends_r, ends_l = edge_ends(True), edge_ends(False)
    bad = (off_p > tol) | (off_q > tol)
    for i in np.flatnonzero(bad.any(axis=1)).tolist():
        ann = view(ctx, pos[i])
        ends = ends_r if right[i] else ends_l
        texts, at = [], []
        for k in np.flatnonzero(bad[i]).tolist():
            edge = CUBOID_EDGE_DESCRIPTIONS[k]
            first, second = ends[edge] if not swapped[i, k] else ends[edge][::-1]
            missed = [(first, off_p[i, k], P[i, k]), (second, off_q[i, k], Q[i, k])]
            missed = [(name, d, xy) for name, d, xy in missed if d > tol]
            if len(missed) == 2:
                texts.append(f"The cuboid's {edge} edge does not connect its {ends[edge][0]} and {ends[edge][1]} "
                             f"corners (up to {px(max(d for _, d, _ in missed))} px away).")
            else:
                name, d, _ = missed[0]
                texts.append(f"The cuboid's {edge} edge does not end at its {name} corner ({px(d)} px away).")
            at += [xy for _, _, xy in missed]
        if len(texts) > _SHOWN:
            texts = texts[:_SHOWN] + [f"({len(texts) - _SHOWN} more edges do not match.)"]
        yield Issue.on(ann, " ".join(texts) + " Move a corner of the cuboid so that its edges are redrawn.",
                       at=at[:10])


# -- reading a cuboid ---------------------------------------------------------------------------------------------
def _vertex_problems(desc: tuple) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """What is wrong with a cuboid's vertex descriptions, and the vertices to point at (by index); depends on the
    descriptions only, so worked out once for all the cuboids described alike (one call per cuboid_groups entry;
    no cache across requests: descriptions are the labeler's text)."""
    problems: list[str] = []
    at: list[int] = []
    if not desc:
        return (f"The cuboid has no vertices; it needs 6 ({', '.join(CUBOID_VERTEX_DESCRIPTIONS)}).",), ()
    seen: set[str] = set()
    for i, d in enumerate(desc):
        if d is None:
            problems.append(f"Vertex {i + 1} of the cuboid has no description.")
            at.append(i)
        elif d not in _V:
            problems.append(f"Vertex {i + 1} of the cuboid is described as {d[:40]!r}, which is not a cuboid "
                            f"corner.")
            at.append(i)
        elif d in seen:
            problems.append(f"The cuboid has two {d} vertices.")
            at.append(i)
        else:
            seen.add(d)
    for d in CUBOID_VERTEX_DESCRIPTIONS:
        if d not in seen:
            problems.append(f"The cuboid has no {d} vertex.")
    return tuple(problems), tuple(at)


def _edge_problems(edges) -> tuple[list[str], list]:
    if edges is None:
        return [f"The cuboid has no edges; it needs 6 ({', '.join(CUBOID_EDGE_DESCRIPTIONS)})."], []
    if not isinstance(edges, list):
        return ["The cuboid's edges are not a list."], []
    problems: list[str] = []
    at: list = []
    if not edges:
        return [f"The cuboid has no edges; it needs 6 ({', '.join(CUBOID_EDGE_DESCRIPTIONS)})."], []
    seen: set[str] = set()
    for i, e in enumerate(edges):
        if not isinstance(e, dict):
            problems.append(f"Edge {i + 1} of the cuboid is not an edge (x1, y1, x2, y2).")
            continue
        d = e.get("description")
        name = f"The cuboid's {d} edge" if isinstance(d, str) and d in _E else f"Edge {i + 1} of the cuboid"
        values = [e.get(k) for k in ("x1", "y1", "x2", "y2")]
        if not all(type(v) in _NUMS and math.isfinite(v) for v in values):
            problems.append(f"{name} has a coordinate that is missing or not a number.")
        elif not isinstance(d, str):
            problems.append(f"{name} has no description.")
            at.append((values[0], values[1]))
        elif d not in _E:
            problems.append(f"{name} is described as {d[:40]!r}, which is not a cuboid edge.")
            at.append((values[0], values[1]))
        elif d in seen:
            problems.append(f"The cuboid has two {d} edges.")
            at.append((values[0], values[1]))
        if isinstance(d, str) and d in _E:
            seen.add(d)
    for d in CUBOID_EDGE_DESCRIPTIONS:
        if d not in seen:
            problems.append(f"The cuboid has no {d} edge.")
    return problems, at


def _canonical(anns, ctx, with_edges: bool = False):
    """Positions and vertices (m, 6, 2) in CUBOID_VERTEX_DESCRIPTIONS order (and edges (m, 6, 4) as x1, y1, x2, y2
    in CUBOID_EDGE_DESCRIPTIONS order) of the cuboids whose structure is complete (cuboid_structure reports the
    others)."""
    pos, V = _complete(ctx)
    if len(pos) and len(anns) != len(_all_cuboids(ctx)):
        keep = np.isin(pos, anns.positions)  # an instance scoped to some labels
        pos, V = pos[keep], V[keep]
    if not with_edges:
        return pos, V
    cuboids, readable, E = _edges(ctx)
    rows = np.searchsorted(cuboids, pos)
    keep = readable[rows]
    return pos[keep], V[keep], E[rows[keep]]


def _all_cuboids(ctx) -> np.ndarray:
    return ctx.memo("rules.cuboids", lambda: np.flatnonzero(ctx.annotations.type_codes == _CUBOID))


def _complete(ctx) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in order) and canonical vertices of every cuboid described with each of the six corners once."""
    def build():
        a = ctx.annotations
        parts = []
        for desc, positions in cuboid_groups(ctx):
            if len(desc) != 6 or set(desc) != _V.keys():
                continue
            order = [desc.index(d) for d in CUBOID_VERTEX_DESCRIPTIONS]
            parts.append((positions, a.coords[a.offsets[positions][:, None] + order]))
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 6, 2))
        pos = np.concatenate([p for p, _ in parts])
        V = np.concatenate([v for _, v in parts])
        order = np.argsort(pos, kind="stable")
        return pos[order], V[order]

    return ctx.memo("rules.cuboid_complete", build)


def _edges(ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every cuboid's six edges, read once per request from the `edges` column (as received): the cuboids' positions, whether each has its six edges all there and readable, and the
    edges (m, 6, 4) as x1, y1, x2, y2 in CUBOID_EDGE_DESCRIPTIONS order (NaN where not readable)."""
    def build():
        cuboids = _all_cuboids(ctx)
        edges = ctx.annotations.cuboid_edges
        given = [edges.get(p) for p in cuboids.tolist()]
        try:
            read = _read_all_edges(given)
        except (KeyError, TypeError, ValueError):  # a missing field, an unhashable description...
            read = None
        if read is None:  # something unusual somewhere: one cuboid at a time
            each = [_read_edges(e) for e in given]
            read = (np.array([e is not None for e in each], dtype=bool),
                    np.array([e if e is not None else _NO_EDGES for e in each], dtype=np.float64).reshape(-1, 6, 4))
        return (cuboids, *read)

    return ctx.memo("rules.cuboid_edges", build)


_NO_EDGES = [[math.nan] * 4] * 6
_EDGE_FIELDS = operator.itemgetter("description", "x1", "y1", "x2", "y2")


def _read_all_edges(given: list) -> tuple[np.ndarray, np.ndarray] | None:
    """``_read_edges`` of many cuboids with a few bulk passes; None when anything is unusual (not six edge objects
    each, a field missing, a description that is not text or a coordinate that is not a number)."""
    m = len(given)
    if not m:
        return np.zeros(0, dtype=bool), np.zeros((0, 6, 4))
    if set(map(type, given)) != {list} or set(map(len, given)) != {6}:
        return None
    flat = list(chain.from_iterable(given))
    if set(map(type, flat)) != {dict}:
        return None
    desc, *xy = zip(*map(_EDGE_FIELDS, flat))
    if set(map(type, desc)) != {str} or not set(map(type, chain.from_iterable(xy))) <= _NUM_TYPES:
        return None
    values = np.array(xy, dtype=np.float64).T.reshape(m, 6, 4)
    readable = np.isfinite(values).all(axis=(1, 2))
    E = np.full((m, 6, 4), np.nan)
    orders = _Numbering()  # each cuboid's six descriptions in the order given -> a number (few distinct orders)
    order_of = np.fromiter(map(orders.__getitem__, zip(*[iter(desc)] * 6)), dtype=np.intp, count=m)
    for d, k in orders.items():
        rows = np.flatnonzero(order_of == k)
        if set(d) != _E.keys() or len(set(d)) != 6:
            readable[rows] = False  # an edge missing, repeated or misnamed
            continue
        E[rows] = values[rows][:, [d.index(name) for name in CUBOID_EDGE_DESCRIPTIONS]]
    return readable, E


class _Numbering(dict):
    """key -> 0, 1, 2... in order of first lookup."""

    def __missing__(self, key):
        number = self[key] = len(self)
        return number


def _read_edges(edges) -> list[tuple] | None:
    if type(edges) is not list or len(edges) != 6:
        return None
    out: list[tuple | None] = [None] * 6
    for e in edges:
        if type(e) is not dict:
            return None
        d = e.get("description")
        k = _E.get(d) if type(d) is str else None
        if k is None or out[k] is not None:
            return None
        values = (e.get("x1"), e.get("y1"), e.get("x2"), e.get("y2"))
        for v in values:
            if type(v) not in _NUMS or not math.isfinite(v):
                return None
        out[k] = values
    return out  # type: ignore[return-value]
