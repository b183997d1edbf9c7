"""One extraction pass over ``response.annotations``.

Every annotation dict is checked structurally and its coordinates are appended to one flat list, which becomes a
single ``(V, 2)`` float64 numpy array shared by all rules (``Annotation.xy`` is a view into it). Annotations that
are not usable (not an object, missing/duplicate uuid, unknown type, missing or non-numeric coordinates, NaN or
infinite numbers) are *not* handed to rules: they are recorded as :class:`Malformed` entries, which the rules
``malformed_annotation`` and ``non_finite_coordinate`` report as issues on that annotation (or as global issues
when there is no usable uuid). A labeler's malformed annotation is never an HTTP error.

This is the hot path for large tasks: no marshmallow here, one Python loop, type checks by ``type(x) in``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

GEOMETRY_TYPES = ("box", "polygon", "line", "point", "cuboid", "ellipse")
CUBOID_VERTEX_DESCRIPTIONS = (
    "face-topleft", "face-bottomleft", "face-topright", "face-bottomright", "side-topcorner", "side-bottomcorner",
)
CUBOID_EDGE_DESCRIPTIONS = ("face-top", "face-right", "face-bottom", "face-left", "side-bottom", "side-top")

_NUM = (int, float)


class _Bad(Exception):
    """Raised inside extraction; becomes a Malformed record."""

    def __init__(self, kind: str, message: str, at: tuple[float, float] | None = None):
        super().__init__(message)
        self.kind = kind  # "malformed" | "non_finite"
        self.message = message
        self.at = at


@dataclass(frozen=True, slots=True)
class Malformed:
    """An annotation that could not be handed to rules, and why (in words a labeler understands)."""

    index: int
    uuid: str | None  # None when the annotation has no usable uuid (reported as a global issue)
    kind: str  # "malformed" | "non_finite"
    message: str
    at: tuple[float, float] | None = None


class Annotation:
    """A well-formed annotation, read-only by convention.

    ``xy`` is a ``(k, 2)`` float64 view of its vertices: box corners TL, TR, BR, BL (rotated about the centre,
    clockwise, for rotated boxes), the point, polygon / line / ellipse vertices in drawing order, cuboid vertices
    in the order given (see ``vertex_descriptions``).
    """

    __slots__ = (
        "index", "pos", "uuid", "type", "label", "attributes", "raw", "start", "stop", "_set",
        "left", "top", "width", "height", "rotation", "given_vertices", "vertex_descriptions",
    )

    def __init__(self, index: int, uuid: str, type_: str, label: str, attributes: dict, raw: dict):
        self.index = index  # position in response.annotations
        self.pos = -1  # position among well-formed annotations (index into AnnotationSet / GeometryIndex arrays)
        self.uuid = uuid
        self.type = type_
        self.label = label
        self.attributes = attributes
        self.raw = raw
        self.start = self.stop = 0
        self._set: AnnotationSet | None = None
        self.left = self.top = self.width = self.height = math.nan
        self.rotation = 0.0
        self.given_vertices: np.ndarray | None = None
        self.vertex_descriptions: tuple[str | None, ...] = ()

    @property
    def xy(self) -> np.ndarray:
        return self._set.coords[self.start:self.stop]  # type: ignore[union-attr]

    @property
    def geometry(self):
        """This annotation's shapely geometry (built once per request, shared)."""
        return self._set.geometry.geoms[self.pos]  # type: ignore[union-attr]

    @property
    def is_rotated(self) -> bool:
        return self.type == "box" and self.rotation != 0.0

    def __repr__(self) -> str:
        return f"<Annotation {self.type} {self.label!r} uuid={self.uuid!r}>"


class AnnotationSet(Sequence[Annotation]):
    """All well-formed annotations of one response, with their shared coordinate array."""

    def __init__(self, items: list[Annotation], coords: np.ndarray, malformed: list[Malformed],
                 uuid_order: dict[str, int]):
        self.items = items
        self.coords = coords
        self.malformed = malformed
        self.uuid_order = uuid_order  # every uuid in the request (malformed ones included) -> request index
        self.by_uuid = {a.uuid: a for a in items}
        self.types = np.array([a.type for a in items], dtype=object)
        self.labels = [a.label for a in items]
        self.offsets = np.fromiter((a.start for a in items), dtype=np.int64, count=len(items))
        self.geometry: Any = None  # set by GeometryIndex
        for pos, a in enumerate(items):
            a.pos = pos
            a._set = self

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):  # type: ignore[override]
        return self.items[i]

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.items)

    def positions_of_type(self, *types: str) -> np.ndarray:
        mask = np.isin(self.types, types) if len(self.items) else np.zeros(0, dtype=bool)
        return np.flatnonzero(mask)


def _num(value: Any, what: str) -> float:
    if type(value) not in _NUM:  # bool is not a number here, nor None, nor "12"
        shown = "missing" if value is None else f"not a number ({_short(value)})"
        raise _Bad("malformed", f"{what} is {shown}.")
    return float(value)


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value[:20])
    return type(value).__name__


def _vertices(ann: dict, key: str, label: str) -> list[float]:
    verts = ann.get(key)
    if verts is None:
        raise _Bad("malformed", f"The {label} has no vertices.")
    if not isinstance(verts, list):
        raise _Bad("malformed", f"The {label}'s vertices are not a list.")
    flat: list[float] = []
    for i, v in enumerate(verts):
        if not isinstance(v, dict):
            raise _Bad("malformed", f"Vertex {i + 1} of the {label} is not an {{x, y}} point.")
        x = v.get("x")
        y = v.get("y")
        if type(x) not in _NUM or type(y) not in _NUM:
            bad = "x" if type(x) not in _NUM else "y"
            val = v.get(bad)
            shown = "missing" if val is None else f"not a number ({_short(val)})"
            raise _Bad("malformed", f"Vertex {i + 1} of the {label}: {bad} is {shown}.",
                       _nearest_finite(flat, i))
        flat.append(float(x))
        flat.append(float(y))
    return flat


def _nearest_finite(flat: list[float], i: int) -> tuple[float, float] | None:
    """The closest earlier vertex with finite coordinates: where to send the labeler for a bad vertex."""
    for j in range(min(i, len(flat) // 2) - 1, -1, -1):
        x, y = flat[2 * j], flat[2 * j + 1]
        if math.isfinite(x) and math.isfinite(y):
            return (x, y)
    return None


def _box_corners(left: float, top: float, width: float, height: float, rotation: float) -> list[float]:
    if rotation == 0.0:
        r, b = left + width, top + height
        return [left, top, r, top, r, b, left, b]
    cx, cy = left + width / 2.0, top + height / 2.0
    c, s = math.cos(rotation), math.sin(rotation)
    out = []
    for dx, dy in ((-width / 2, -height / 2), (width / 2, -height / 2), (width / 2, height / 2), (-width / 2, height / 2)):
        out.append(cx + dx * c - dy * s)
        out.append(cy + dx * s + dy * c)
    return out


def _extract_geometry(a: Annotation, raw: dict) -> list[float]:
    t = a.type
    if t == "box":
        a.left = _num(raw.get("left"), "The box's left")
        a.top = _num(raw.get("top"), "The box's top")
        a.width = _num(raw.get("width"), "The box's width")
        a.height = _num(raw.get("height"), "The box's height")
        rot = raw.get("rotation")
        a.rotation = 0.0 if rot is None else _num(rot, "The box's rotation")
        if "vertices" in raw and raw["vertices"] is not None:
            a.given_vertices = np.asarray(_vertices(raw, "vertices", "box"), dtype=float).reshape(-1, 2)
        return _box_corners(a.left, a.top, a.width, a.height, a.rotation)
    if t == "point":
        return [_num(raw.get("x"), "The point's x"), _num(raw.get("y"), "The point's y")]
    if t == "cuboid":
        flat = _vertices(raw, "vertices", "cuboid")
        verts = raw["vertices"]
        a.vertex_descriptions = tuple(v.get("description") if isinstance(v.get("description"), str) else None
                                      for v in verts)
        return flat
    return _vertices(raw, "vertices", t)


def _non_finite(flat: list[float], a: Annotation) -> _Bad | None:
    for i in range(0, len(flat), 2):
        x, y = flat[i], flat[i + 1]
        if not (math.isfinite(x) and math.isfinite(y)):
            if a.type == "box":
                at = (a.left, a.top) if math.isfinite(a.left) and math.isfinite(a.top) else None
                return _Bad("non_finite", "The box has a coordinate that is not a finite number.", at)
            if a.type == "point":
                return _Bad("non_finite", "The point has a coordinate that is not a finite number.")
            return _Bad("non_finite", f"Vertex {i // 2 + 1} of the {a.type} has a coordinate that is not a "
                                      "finite number.", _nearest_finite(flat, i // 2))
    if a.given_vertices is not None and not np.isfinite(a.given_vertices).all():
        return _Bad("non_finite", "One of the box's vertices has a coordinate that is not a finite number.",
                    (a.left, a.top) if math.isfinite(a.left) and math.isfinite(a.top) else None)
    return None


def extract(raw_annotations: list) -> AnnotationSet:
    """Turn ``response.annotations`` into an AnnotationSet; never raises on annotation content."""
    items: list[Annotation] = []
    malformed: list[Malformed] = []
    flat: list[float] = []
    uuid_order: dict[str, int] = {}
    for index, raw in enumerate(raw_annotations):
        if not isinstance(raw, dict):
            malformed.append(Malformed(index, None, "malformed",
                                       f"Annotation #{index + 1} is not an object ({_short(raw)})."))
            continue
        uuid = raw.get("uuid")
        if not isinstance(uuid, str) or not uuid:
            malformed.append(Malformed(index, None, "malformed", f"Annotation #{index + 1} has no uuid."))
            continue
        if uuid in uuid_order:
            malformed.append(Malformed(index, uuid, "malformed",
                                       f"Two annotations share the uuid {uuid!r}; each needs its own."))
            continue
        uuid_order[uuid] = index
        type_ = raw.get("type")
        if type_ not in GEOMETRY_TYPES:
            what = "no type" if type_ is None else f"an unknown type ({_short(type_) if not isinstance(type_, str) else repr(type_[:30])})"
            malformed.append(Malformed(index, uuid, "malformed", f"The annotation has {what}."))
            continue
        label = raw.get("label")
        if not isinstance(label, str):
            malformed.append(Malformed(index, uuid, "malformed", f"The {type_} has no label."))
            continue
        attributes = raw.get("attributes")
        if attributes is None:
            attributes = {}
        elif not isinstance(attributes, dict):
            malformed.append(Malformed(index, uuid, "malformed", f"The {type_}'s attributes are not an object."))
            continue
        a = Annotation(index, uuid, type_, label, attributes, raw)
        try:
            coords = _extract_geometry(a, raw)
            bad = _non_finite(coords, a)
            if bad is not None:
                raise bad
        except _Bad as exc:
            malformed.append(Malformed(index, uuid, exc.kind, exc.message, exc.at))
            continue
        a.start = len(flat) // 2
        flat.extend(coords)
        a.stop = len(flat) // 2
        items.append(a)
    coords_arr = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
    return AnnotationSet(items, coords_arr, malformed, uuid_order)
