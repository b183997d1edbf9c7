"""Reading a cuboid from the request (shared by cuboid_structure, cuboid_face_shape, cuboid_edge_mismatch): which
vertex and edge is which, what is missing or unreadable; the geometry itself is validator/geometry/cuboids.py's.

Not a rule module (the leading underscore keeps it out of rule discovery).
"""
from __future__ import annotations

import math
import operator
from itertools import chain

import numpy as np

from validator import analysis
from validator.scale.annotations import CUBOID_EDGE_DESCRIPTIONS, CUBOID_VERTEX_DESCRIPTIONS, TYPE_CODE, Numbering

from ._support import cuboid_groups

_V = {d: i for i, d in enumerate(CUBOID_VERTEX_DESCRIPTIONS)}
_E = {d: i for i, d in enumerate(CUBOID_EDGE_DESCRIPTIONS)}
_NUMS = (int, float)
_NUM_TYPES = frozenset(_NUMS)
_CUBOID = TYPE_CODE["cuboid"]
SHOWN = 3  # problems named per issue


def vertex_problems(desc: tuple) -> tuple[tuple[str, ...], tuple[int, ...]]:
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


def edge_problems(edges) -> tuple[list[str], list]:
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


def canonical(anns, ctx, with_edges: bool = False):
    """Positions and vertices (m, 6, 2) in CUBOID_VERTEX_DESCRIPTIONS order (and edges (m, 6, 4) as x1, y1, x2, y2
    in CUBOID_EDGE_DESCRIPTIONS order) of the cuboids whose structure is complete (cuboid_structure reports the
    others)."""
    pos, V = _complete(ctx)
    if len(pos) and len(anns) != len(all_cuboids(ctx)):
        keep = np.isin(pos, anns.positions)  # an instance scoped to some labels
        pos, V = pos[keep], V[keep]
    if not with_edges:
        return pos, V
    cuboids, readable, E = edges(ctx)
    rows = np.searchsorted(cuboids, pos)
    keep = readable[rows]
    return pos[keep], V[keep], E[rows[keep]]


@analysis
def all_cuboids(ctx) -> np.ndarray:
    return np.flatnonzero(ctx.annotations.type_codes == _CUBOID)


@analysis
def _complete(ctx) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in order) and canonical vertices of every cuboid described with each of the six corners once."""
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


@analysis
def edges(ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every cuboid's six edges, read once per request from the `edges` column (as received): the cuboids'
    positions, whether each has its six edges all there and readable, and the edges (m, 6, 4) as x1, y1, x2, y2
    in CUBOID_EDGE_DESCRIPTIONS order (NaN where not readable)."""
    cuboids = all_cuboids(ctx)
    given_edges = ctx.annotations.cuboid_edges
    given = [given_edges.get(p) for p in cuboids.tolist()]
    try:
        read = _read_all_edges(given)
    except (KeyError, TypeError, ValueError):  # a missing field, an unhashable description...
        read = None
    if read is None:  # something unusual somewhere: one cuboid at a time
        each = [_read_edges(e) for e in given]
        read = (np.array([e is not None for e in each], dtype=bool),
                np.array([e if e is not None else _NO_EDGES for e in each], dtype=np.float64).reshape(-1, 6, 4))
    return (cuboids, *read)


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
    orders = Numbering()  # each cuboid's six descriptions in the order given -> a number (few distinct orders)
    order_of = np.fromiter(map(orders.__getitem__, zip(*[iter(desc)] * 6)), dtype=np.intp, count=m)
    for d, k in orders.items():
        rows = np.flatnonzero(order_of == k)
        if set(d) != _E.keys() or len(set(d)) != 6:
            readable[rows] = False  # an edge missing, repeated or misnamed
            continue
        E[rows] = values[rows][:, [d.index(name) for name in CUBOID_EDGE_DESCRIPTIONS]]
    return readable, E


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
