"""The fast path for well-formed requests: decode the body straight into typed annotations with msgspec.

Parsing a body into generic dicts (orjson) and then reading every coordinate out of those dicts costs about twice
the parse alone. msgspec decodes the JSON directly into small typed structs (one per annotation and vertex, not
tracked by the garbage collector), checking on the way what the careful path checks by hand: known geometry types
(tagged by ``type``), string uuids and labels, numbers that are numbers (not booleans, strings or null), finite
(``1e400`` and ``NaN`` are refused), attributes that are objects. Fields Scale adds are ignored here.

Anything the typed decoder refuses (a malformed annotation, a NaN literal, a body that is not an envelope) returns
``None`` and the request takes the general path: orjson (stdlib fallback), marshmallow for the envelope, and the
careful extraction that says exactly which annotation is wrong. Both paths give the same columns (tested), and
the same answers.

The original dicts (``Annotation.raw``, ``ctx.response``) are still available on the fast path: they are rebuilt
by one generic parse of the same body the first time a rule asks for them (documented cost; the built-in rules
read the columns instead).
"""
from __future__ import annotations

from itertools import chain
from typing import Any, Optional, Union

import msgspec
import numpy as np
import orjson

from validator.scale.annotations import TYPE_CODE, AnnotationSet, assemble_coordinates, cuboid_descriptions, split_by_kind


class Vertex(msgspec.Struct, gc=False):
    x: float
    y: float


class CuboidVertex(msgspec.Struct, gc=False):
    x: float
    y: float
    description: Any = None


# Attribute values as Scale defines them (text, number, boolean, a list of choices): bounded depth by type, so a
# pathologically nested value cannot slip through here (it takes the general path, which refuses deep nesting).
Scalar = Union[None, bool, int, float, str]
Attributes = dict[str, Union[Scalar, list[Scalar]]]


class _Annotation(msgspec.Struct, tag_field="type", gc=False, kw_only=True):
    uuid: str
    label: str
    attributes: Optional[Attributes] = None


class Box(_Annotation, tag="box", gc=False):
    left: float
    top: float
    width: float
    height: float
    rotation: Optional[float] = None
    vertices: Optional[list[Vertex]] = None


class Polygon(_Annotation, tag="polygon", gc=False):
    vertices: list[Vertex]


class Line(_Annotation, tag="line", gc=False):
    vertices: list[Vertex]


class Ellipse(_Annotation, tag="ellipse", gc=False):
    vertices: list[Vertex]


class Cuboid(_Annotation, tag="cuboid", gc=False):
    vertices: list[CuboidVertex]
    edges: Optional[list[dict[str, Scalar]]] = None  # each {description, x1, y1, x2, y2, type}


class Point(_Annotation, tag="point", gc=False):
    x: float
    y: float


class Response(msgspec.Struct):
    annotations: Optional[list[Union[Box, Polygon, Line, Ellipse, Cuboid, Point]]] = None
    global_attributes: Optional[Attributes] = None


class Body(msgspec.Struct):
    task: msgspec.Raw  # parsed by jsonio (orjson), which enforces the nesting limit
    response: Response


_DECODER = msgspec.json.Decoder(Body)
_CODE = {Box: TYPE_CODE["box"], Polygon: TYPE_CODE["polygon"], Line: TYPE_CODE["line"],
         Ellipse: TYPE_CODE["ellipse"], Cuboid: TYPE_CODE["cuboid"], Point: TYPE_CODE["point"]}
_NAME = {cls: name for name, code in TYPE_CODE.items() for cls, c in _CODE.items() if c == code}


def decode(raw: bytes) -> tuple[Any, Response] | None:
    """``(task, typed response)``, or None when the general path must handle this request."""
    try:
        body = _DECODER.decode(raw)
        task = orjson.loads(memoryview(body.task))
    except (msgspec.ValidationError, msgspec.DecodeError, orjson.JSONDecodeError, ValueError, RecursionError):
        return None
    return task, body.response


def columns(anns: list, reparse) -> AnnotationSet | None:
    """AnnotationSet columns from typed annotations; None when something needs the careful path (an empty or
    duplicate uuid). ``reparse()`` returns the body's original annotation dicts, when a rule asks for them."""
    n = len(anns)
    uuids = [a.uuid for a in anns]
    uuid_order = dict(zip(uuids, range(n)))
    if len(uuid_order) != n or "" in uuid_order:
        return None
    classes = list(map(type, anns))
    codes = np.fromiter(map(_CODE.__getitem__, classes), dtype=np.int8, count=n)
    type_names = list(map(_NAME.__getitem__, classes))
    labels = [a.label for a in anns]
    attributes = [a.attributes for a in anns]
    if None in attributes:
        attributes = [{} if a is None else a for a in attributes]
    box_pos, point_pos, vert_pos = split_by_kind(codes)
    bs = [anns[i] for i in box_pos.tolist()]
    ps = [anns[i] for i in point_pos.tolist()]
    vert_anns = [anns[i] for i in vert_pos.tolist()]
    vertex_lists = [a.vertices for a in vert_anns]
    flat = list(chain.from_iterable(vertex_lists))
    assembled = assemble_coordinates(
        n, box_pos, [(b.left, b.top, b.width, b.height, b.rotation or 0.0) for b in bs],
        point_pos, [p.x for p in ps], [p.y for p in ps],
        vert_pos, np.fromiter(map(len, vertex_lists), dtype=np.int64, count=len(vertex_lists)),
        [v.x for v in flat], [v.y for v in flat])
    if assembled is None:
        return None
    edges, coords, box = assembled
    given = {p: np.array([(v.x, v.y) for v in b.vertices], dtype=np.float64).reshape(-1, 2)
             for p, b in zip(box_pos.tolist(), bs) if b.vertices is not None}
    cuboids = [(p, a) for p, a in zip(vert_pos.tolist(), vert_anns) if type(a) is Cuboid]
    descriptions = {p: cuboid_descriptions(a.vertices, getattr) for p, a in cuboids}
    cuboid_edges = {p: a.edges for p, a in cuboids}
    return AnnotationSet(uuids=uuids, type_names=type_names, labels=labels, attributes=attributes,
                         raws=reparse, request_index=list(range(n)), edges=edges, coords=coords, box=box,
                         given_vertices=given, vertex_descriptions=descriptions, malformed=[],
                         uuid_order=uuid_order, type_codes=codes, pos_of_uuid=uuid_order,
                         cuboid_edges=cuboid_edges)
