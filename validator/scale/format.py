"""Scale's request body, specified once: the ``{task, response}`` envelope, the Task, the annotations.

These msgspec Structs are the only description of the body's shape. Every path reads through them:

* the **typed decode** of a well-formed body (``msgspec.json.decode(raw, type=Body)``, the common case): msgspec
  checks every type while it parses (known geometry tagged by ``type``, non-empty string uuids, string labels,
  numbers that are numbers, not booleans, strings or null, attributes that are objects);
* the **careful reading** of a body the typed decode refused (a malformed annotation, a NaN literal): the body is
  parsed generically, then each annotation is converted with the same Structs (``msgspec.convert``), and for one
  that does not convert, :func:`first_problem` walks the same Structs field by field, in their declared order, to
  name the first thing that is wrong (validator/scale/annotations.py turns it into the labeler's sentence);
* the **Task**: converted with :class:`Task` / :class:`Params` (unknown fields are kept in the task dict, as Scale
  adds fields); a problem becomes the HTTP 400 message (validator/scale/envelope.py).

Fields Scale adds are ignored by the Structs. Finiteness is not a type: NaN / Infinity (only possible on the careful
path, from the stdlib parser's literals) are found after conversion and reported as ``non_finite_coordinate``.
"""
from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, Iterator, Optional, Union

import msgspec
from msgspec import Meta

# -- annotations -------------------------------------------------------------------------------------------------------
GEOMETRY_TYPES = ("box", "polygon", "line", "point", "cuboid", "ellipse")
TYPE_CODE = {t: i for i, t in enumerate(GEOMETRY_TYPES)}


class Vertex(msgspec.Struct, gc=False):
    x: float
    y: float


class CuboidVertex(msgspec.Struct, gc=False):
    x: float
    y: float
    description: Any = None  # "face-topleft", ...; anything else is read as "missing" by the cuboid rules


class AnnotationBase(msgspec.Struct, tag_field="type", gc=False, kw_only=True):
    """Fields every annotation has (the geometry classes below add theirs). Declared order = the order problems are
    looked for in an annotation that does not convert (uuid, then the type tag, then these, then the geometry's)."""

    uuid: Annotated[str, Meta(min_length=1)]
    label: str
    attributes: Optional[dict[str, Any]] = None


class Box(AnnotationBase, tag="box", gc=False):
    left: float
    top: float
    width: float
    height: float
    rotation: Optional[float] = None  # radians, clockwise about the centre; absent or null: 0
    vertices: Optional[list[Vertex]] = None  # Scale sends the corners of a rotated box


class Polygon(AnnotationBase, tag="polygon", gc=False):
    vertices: list[Vertex]


class Line(AnnotationBase, tag="line", gc=False):
    vertices: list[Vertex]


class Ellipse(AnnotationBase, tag="ellipse", gc=False):
    vertices: list[Vertex]


class Cuboid(AnnotationBase, tag="cuboid", gc=False):
    vertices: list[CuboidVertex]
    edges: Any = None  # each {description, x1, y1, x2, y2, type}; read (and judged) by the cuboid rules


class Point(AnnotationBase, tag="point", gc=False):
    x: float
    y: float


GEOMETRIES = (Box, Polygon, Line, Point, Cuboid, Ellipse)  # in GEOMETRY_TYPES order
CLASS_OF_TAG = {cls.__struct_config__.tag: cls for cls in GEOMETRIES}
CODE_OF_CLASS = {cls: TYPE_CODE[cls.__struct_config__.tag] for cls in GEOMETRIES}
NAME_OF_CLASS = {cls: cls.__struct_config__.tag for cls in GEOMETRIES}

AnyAnnotation = Union[Box, Polygon, Line, Point, Cuboid, Ellipse]


class Response(msgspec.Struct):
    annotations: Optional[list[AnyAnnotation]] = None
    global_attributes: Optional[dict[str, Any]] = None


# -- the task ----------------------------------------------------------------------------------------------------------
IMAGEANNOTATION = "imageannotation"


class Task(msgspec.Struct):
    """The Task fields the validator reads, with their types (every other field is kept as received)."""

    task_id: Optional[str] = None
    type: Optional[str] = None
    status: Optional[str] = None
    project: Optional[str] = None
    batch: Optional[str] = None
    params: Optional[dict[str, Any]] = None
    metadata: Optional[dict[str, Any]] = None


class Params(msgspec.Struct):
    """``task.params`` of an imageannotation task (read with ``strict=False``: a numeric string padding is a number)."""

    geometries: dict[str, dict[str, Any]] = {}
    annotation_attributes: Optional[dict[str, dict[str, Any]]] = None
    padding: Optional[float] = None
    paddingX: Optional[float] = None
    paddingY: Optional[float] = None


PADDINGS = ("padding", "paddingX", "paddingY")


# -- the envelope ------------------------------------------------------------------------------------------------------
class Body(msgspec.Struct):
    """The typed decode: the task is kept as raw JSON (parsed into a dict: its unknown fields are kept)."""

    task: msgspec.Raw
    response: Response


class Envelope(msgspec.Struct):
    """The envelope as the careful path reads a generically parsed body."""

    task: dict[str, Any]
    response: dict[str, Any]


class ImageResponse(msgspec.Struct):
    """An imageannotation response as the careful path reads it: the annotations are converted one by one."""

    annotations: Optional[list[Any]] = None
    global_attributes: Optional[dict[str, Any]] = None


# -- what is wrong with a value that does not convert --------------------------------------------------------------
MISSING = object()  # a required field that is absent


class Problem(typing.NamedTuple):
    """The first thing wrong in a value: where (keys and indexes from the value converted), what was expected (a
    Python type, e.g. ``float``, ``str``, a Struct class, ``list``, ``dict``) and what was found (``MISSING``)."""

    path: tuple
    expected: Any
    value: Any


def first_problem(value: Any, typ: Any, *, strict: bool = True, path: tuple = ()) -> Problem | None:
    """The first problem in ``value`` read as ``typ`` (a Struct's fields in their declared order, list items in
    order, dict entries in order), or None when it converts. Walks only what :func:`msgspec.convert` refused."""
    try:
        msgspec.convert(value, typ, strict=strict)
        return None
    except msgspec.ValidationError:
        pass
    base, nullable = _unwrap(typ)
    if value is None:
        return None if nullable else Problem(path, base, None)
    if isinstance(base, type) and issubclass(base, msgspec.Struct):
        if not isinstance(value, dict):
            return Problem(path, base, value)
        for f in fields(base):
            got = value.get(f.encode_name, MISSING)
            if got is MISSING:
                if f.required:
                    return Problem((*path, f.encode_name), _unwrap(f.type)[0], MISSING)
                continue
            found = first_problem(got, f.type, strict=strict, path=(*path, f.encode_name))
            if found is not None:
                return found
        return Problem(path, base, value)  # not a field's fault (e.g. a constraint on the whole): the value
    origin = typing.get_origin(base)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(base)
        for i, v in enumerate(value):
            found = first_problem(v, item, strict=strict, path=(*path, i))
            if found is not None:
                return found
    if origin is dict and isinstance(value, dict):
        key_type, item = typing.get_args(base)
        for k, v in value.items():
            if not isinstance(k, str):
                return Problem((*path, k), str, k)
            found = first_problem(v, item, strict=strict, path=(*path, k))
            if found is not None:
                return found
    return Problem(path, origin or base, value)


@functools.cache
def fields(struct: type) -> tuple:
    """``msgspec.structs.fields`` in declared order, a base class's fields first (msgspec itself moves keyword-only
    fields last), worked out once per Struct (each call of msgspec's builds closures that form a cycle)."""
    declared: list[str] = []
    for cls in reversed(struct.__mro__):
        for name in cls.__dict__.get("__annotations__", {}):
            if name not in declared:
                declared.append(name)
    rank = {name: i for i, name in enumerate(declared)}
    return tuple(sorted(msgspec.structs.fields(struct), key=lambda f: rank.get(f.name, len(rank))))


def _unwrap(typ: Any) -> tuple[Any, bool]:
    """(the type without Optional / Annotated, whether None is allowed)."""
    if typing.get_origin(typ) is Annotated:
        typ = typing.get_args(typ)[0]
    if typing.get_origin(typ) in (Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(typ))
        return (args[0] if len(args) == 1 else Union[tuple(args)]), nullable
    return typ, typ is Any


def problems_in_fields(value: dict, struct: type, *, strict: bool = True, prefix: tuple = ()) -> Iterator[Problem]:
    """The first problem of each field of ``struct`` in ``value`` (in declared order): every problem at once."""
    for f in fields(struct):
        got = value.get(f.encode_name, MISSING)
        if got is MISSING:
            if f.required:
                yield Problem((*prefix, f.encode_name), _unwrap(f.type)[0], MISSING)
            continue
        found = first_problem(got, f.type, strict=strict, path=(*prefix, f.encode_name))
        if found is not None:
            yield found


def _python_types(typ: Any) -> frozenset | None:
    """The Python types a generically parsed value of this field type can have (bool is not a number); None when
    that is not a simple set (then the field is left to the conversion)."""
    base, nullable = _unwrap(typ)
    origin = typing.get_origin(base) or base
    found = {float: {int, float}, int: {int}, str: {str}, list: {list}, dict: {dict}}.get(origin)
    if found is None and isinstance(base, type) and issubclass(base, msgspec.Struct):
        found = {dict}
    return None if found is None else frozenset(found | ({type(None)} if nullable else set()))


# The fields every annotation requires, then the other fields each geometry requires, each with the Python types its
# value can have: a value of another type (absent: None) means the annotation does not convert. The careful reading
# tests these column by column before converting anything.
REQUIRED_BY_EVERY = tuple((f.encode_name, _python_types(f.type)) for f in fields(AnnotationBase)
                          if f.required and _python_types(f.type) is not None)
REQUIRED_BY = {cls: tuple((f.encode_name, _python_types(f.type)) for f in fields(cls)
                          if f.required and _python_types(f.type) is not None
                          and f.encode_name not in dict(REQUIRED_BY_EVERY)) for cls in GEOMETRIES}
