"""One extraction pass over ``response.annotations``, into columns.

Every annotation's coordinates end up in one flat ``(V, 2)`` float64 numpy array shared by all rules, with
per-annotation columns beside it (uuid, type, label, attributes, box fields, vertex ranges). Annotations that are not
usable (not an object, missing/duplicate uuid, unknown type, no label, missing or non-numeric coordinates, NaN or
infinite numbers) are *not* handed to rules: they are recorded as :class:`Malformed` entries, which the rules
``malformed_annotation`` and ``non_finite_coordinate`` report as issues on that annotation (or as global issues
when there is no usable uuid). A labeler's malformed annotation is never an HTTP error.

Three ways in, one result (``assemble_coordinates`` builds the shared array for the first two):

* the **typed path** (validator/scale/decode.py, every well-formed request to the service): msgspec has already
  checked the types while decoding; the columns are read from the decoded structs;
* the **dict path** (``extract``, for bodies parsed generically): comprehensions gather each column, then bulk
  checks (``set(map(type, values))`` must be ``{int, float}``; all finite);
* the **careful path**: when any check fails, the annotations are read one by one, to say exactly which one is
  wrong and why. Well-formed annotations come out identical on all paths (tests/test_extraction.py).

No per-annotation objects are created up front: :class:`Annotation` is a light view made on demand.
"""
from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from validator.geometry.boxes import box_corners

GEOMETRY_TYPES = ("box", "polygon", "line", "point", "cuboid", "ellipse")
TYPE_CODE = {t: i for i, t in enumerate(GEOMETRY_TYPES)}
CUBOID_VERTEX_DESCRIPTIONS = (
    "face-topleft", "face-bottomleft", "face-topright", "face-bottomright", "side-topcorner", "side-bottomcorner",
)
CUBOID_EDGE_DESCRIPTIONS = ("face-top", "face-right", "face-bottom", "face-left", "side-bottom", "side-top")

_NUM = (int, float)
_NUM_TYPES = frozenset(_NUM)


class _Bad(Exception):
    """Raised inside careful extraction; becomes a Malformed record."""

    def __init__(self, kind: str, message: str, at: tuple[float, float] | None = None):
        super().__init__(message)
        self.kind = kind  # "malformed" | "non_finite"
        self.message = message
        self.at = at


class _Careful(Exception):
    """The fast path met something it does not handle; the careful path takes over."""


class Malformed:
    """An annotation that could not be handed to rules, and why (in words a labeler understands)."""

    __slots__ = ("index", "uuid", "kind", "message", "at")

    def __init__(self, index: int, uuid: str | None, kind: str, message: str, at: tuple[float, float] | None = None):
        self.index = index
        self.uuid = uuid  # None when the annotation has no usable uuid (reported as a global issue)
        self.kind = kind  # "malformed" | "non_finite"
        self.message = message
        self.at = at

    def __repr__(self) -> str:
        return f"Malformed(index={self.index}, uuid={self.uuid!r}, kind={self.kind!r}, message={self.message!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Malformed) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)


class Annotation:
    """A well-formed annotation: a read-only view of one row of the :class:`AnnotationSet` columns.

    ``xy`` is a ``(k, 2)`` float64 view of its vertices: box corners TL, TR, BR, BL (rotated about the centre,
    clockwise, for rotated boxes), the point, polygon / line / ellipse vertices in drawing order, cuboid vertices
    in the order given (see ``vertex_descriptions``). Box fields (``left, top, width, height, rotation``) are NaN
    (rotation 0.0) for other types.
    """

    __slots__ = ("_set", "pos")

    def __init__(self, annotations: "AnnotationSet", pos: int):
        self._set = annotations
        self.pos = pos  # position among well-formed annotations (index into AnnotationSet / GeometryIndex arrays)

    index = property(lambda self: self._set.request_index[self.pos], doc="position in response.annotations")
    uuid = property(lambda self: self._set.uuids[self.pos])
    type = property(lambda self: self._set.type_names[self.pos])
    label = property(lambda self: self._set.labels[self.pos])
    attributes = property(lambda self: self._set.attributes[self.pos], doc="the annotation's attributes ({} if none)")
    raw = property(lambda self: self._set.raws[self.pos], doc="the annotation's dict as received")
    start = property(lambda self: int(self._set.edges[self.pos]))
    stop = property(lambda self: int(self._set.edges[self.pos + 1]))
    left = property(lambda self: float(self._set.box[self.pos, 0]))
    top = property(lambda self: float(self._set.box[self.pos, 1]))
    width = property(lambda self: float(self._set.box[self.pos, 2]))
    height = property(lambda self: float(self._set.box[self.pos, 3]))
    rotation = property(lambda self: float(self._set.box[self.pos, 4]))
    given_vertices = property(lambda self: self._set.given_vertices.get(self.pos),
                              doc="a box's own `vertices` as a (k, 2) array, None when it has none")
    edges = property(lambda self: self._set.cuboid_edges.get(self.pos),
                     doc="a cuboid's `edges` as received (None when absent)")
    vertex_descriptions = property(lambda self: self._set.vertex_descriptions.get(self.pos, ()),
                                   doc="a cuboid's vertex descriptions in order (None where missing)")

    @property
    def xy(self) -> np.ndarray:
        s = self._set
        return s.coords[s.edges[self.pos]:s.edges[self.pos + 1]]

    @property
    def geometry(self):
        """This annotation's shapely geometry (built once per request, shared)."""
        return self._set.geometry.geoms_of(np.array([self.pos]))[0]

    @property
    def is_rotated(self) -> bool:
        return self.type == "box" and self.rotation != 0.0

    def __eq__(self, other) -> bool:
        return isinstance(other, Annotation) and other._set is self._set and other.pos == self.pos

    def __hash__(self) -> int:
        return hash((id(self._set), self.pos))

    def __repr__(self) -> str:
        return f"<Annotation {self.type} {self.label!r} uuid={self.uuid!r}>"


class _ByUuid(Mapping[str, Annotation]):
    def __init__(self, annotations: "AnnotationSet"):
        self._a = annotations

    def __getitem__(self, uuid: str) -> Annotation:
        return self._a.items[self._a.pos_of_uuid[uuid]]

    def __iter__(self):
        return iter(self._a.pos_of_uuid)

    def __len__(self) -> int:
        return len(self._a.pos_of_uuid)

    def __contains__(self, uuid) -> bool:
        return uuid in self._a.pos_of_uuid


class AnnotationSet(Sequence[Annotation]):
    """All well-formed annotations of one response, as columns, with their shared coordinate array.

    Columns (aligned, one row per well-formed annotation, in request order): ``uuids``, ``type_names`` (list),
    ``type_codes`` (int8 array, see TYPE_CODE), ``types`` (object array, for ``types == "box"``), ``labels``,
    ``attributes``, ``raws``, ``request_index``, ``offsets`` / ``ends`` (each annotation's first / past-the-end
    row in ``coords``; ``edges`` is the same as one ``n + 1`` array), ``counts`` (vertices per annotation), ``box``
    (``(n, 5)``: left, top, width, height, rotation; NaN rows for non-boxes). ``malformed``: the annotations set
    aside. ``uuid_order``: every uuid in the request (malformed ones included) -> request index.
    """

    def __init__(self, *, uuids: list[str], type_names: list[str], labels: list[str], attributes: list[dict],
                 raws: Any, request_index: list[int], edges: np.ndarray, coords: np.ndarray,
                 box: np.ndarray, given_vertices: dict[int, np.ndarray], vertex_descriptions: dict[int, tuple],
                 malformed: list[Malformed], uuid_order: dict[str, int], type_codes: np.ndarray | None = None,
                 pos_of_uuid: dict[str, int] | None = None, cuboid_edges: dict[int, Any] | None = None):
        self.uuids = uuids
        self.type_names = type_names
        self.labels = labels
        self.attributes = attributes
        self._raws = raws  # a list, or (fast path) a function that rebuilds the original dicts on first use
        self.request_index = request_index
        self.edges = edges
        self.offsets = edges[:-1]
        self.ends = edges[1:]
        self.counts = edges[1:] - edges[:-1]
        self.coords = coords
        self.box = box
        self.given_vertices = given_vertices
        self.vertex_descriptions = vertex_descriptions
        self.cuboid_edges = cuboid_edges or {}  # cuboid position -> its `edges` value as received
        self.malformed = malformed
        self.uuid_order = uuid_order
        self.pos_of_uuid = pos_of_uuid if pos_of_uuid is not None else {u: i for i, u in enumerate(uuids)}
        self.type_codes = type_codes if type_codes is not None else np.fromiter(
            (TYPE_CODE[t] for t in type_names), dtype=np.int8, count=len(type_names))
        self.geometry: Any = None  # set by GeometryIndex

    @property
    def raws(self) -> list[dict]:
        """The annotations' dicts as received (on the fast path, rebuilt by one parse on first use)."""
        if callable(self._raws):
            self._raws = self._raws()
        return self._raws

    @cached_property
    def types(self) -> np.ndarray:
        return np.array(self.type_names, dtype=object).reshape(-1)

    @cached_property
    def label_array(self) -> np.ndarray:
        return np.array(self.labels, dtype=object).reshape(-1)

    @cached_property
    def positions_by_type(self) -> dict[int, np.ndarray]:
        """Type code -> positions of the annotations of that type (only types present)."""
        codes = self.type_codes
        present = np.bincount(codes, minlength=len(TYPE_CODE)).nonzero()[0].tolist()
        return {c: (codes == c).nonzero()[0] for c in present}

    @cached_property
    def label_ids(self) -> tuple[dict[str, int], np.ndarray]:
        """(label -> id, id of each annotation's label): labels as small integers, for vectorised scoping."""
        vocab: dict[str, int] = {}
        ids = np.fromiter((vocab.setdefault(lab, len(vocab)) for lab in self.labels), dtype=np.int64,
                          count=len(self.labels))
        return vocab, ids

    def positions_with_labels(self, positions: np.ndarray, labels) -> np.ndarray:
        """The subset of ``positions`` whose label is in ``labels``."""
        vocab, ids = self.label_ids
        allowed = np.zeros(len(vocab) + 1, dtype=bool)
        for lab in labels:
            i = vocab.get(lab)
            if i is not None:
                allowed[i] = True
        return positions[allowed[ids[positions]]]

    def positions_of_types(self, codes) -> np.ndarray:
        """Positions of the annotations whose type code is in ``codes``, in request order."""
        by_type = self.positions_by_type
        parts = [by_type[c] for c in codes if c in by_type]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        if len(parts) == 1:
            return parts[0]
        wanted = np.zeros(len(TYPE_CODE), dtype=bool)  # a lookup by type code: already in request order
        wanted[list(codes)] = True
        return wanted[self.type_codes].nonzero()[0]

    @cached_property
    def items(self) -> list[Annotation]:
        return [Annotation(self, i) for i in range(len(self.uuids))]

    @cached_property
    def by_uuid(self) -> Mapping[str, Annotation]:
        return _ByUuid(self)

    def __len__(self) -> int:
        return len(self.uuids)

    def __getitem__(self, i):  # type: ignore[override]
        return self.items[i]

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.items)

    def rows_of(self, positions: np.ndarray) -> np.ndarray:
        """The ``coords`` rows of the annotations at ``positions``, one annotation after the other, each in order."""
        counts = self.counts[positions]
        total = int(counts.sum())
        return (self.offsets[positions] - (counts.cumsum() - counts)).repeat(counts) + \
            np.arange(total, dtype=np.int64)

    def positions_of_type(self, *types: str) -> np.ndarray:
        return self.positions_of_types([TYPE_CODE[t] for t in types])

    def select(self, type=None, labels=None):
        """The annotations of these geometry types and labels, as a rule's Selection (validator.engine.context)."""
        from validator.engine.context import select  # the engine's helper (this layer does not import it)

        return select(self, type=type, labels=labels)


# -- the fast path ---------------------------------------------------------------------------------------------------
_GEOMETRY_SET = frozenset(GEOMETRY_TYPES)
_STR = frozenset((str,))
_ATTR_TYPES = frozenset((dict, type(None)))


def _numbers_ok(*columns: list) -> bool:
    return all(set(map(type, c)) <= _NUM_TYPES for c in columns)


def split_by_kind(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of boxes, of points, and of vertex-list annotations (polygon, line, ellipse, cuboid)."""
    is_box = codes == TYPE_CODE["box"]
    is_point = codes == TYPE_CODE["point"]
    return is_box.nonzero()[0], is_point.nonzero()[0], (~(is_box | is_point)).nonzero()[0]


def assemble_coordinates(n: int, box_pos: np.ndarray, box_values: list, point_pos: np.ndarray, point_x: list,
                         point_y: list, vert_pos: np.ndarray, vertex_counts: np.ndarray, vertex_x: list,
                         vertex_y: list) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The shared coordinate array (box corners, points, vertices, each annotation's rows contiguous, in request
    order), its edges and the box columns; None when a number is not finite (the careful path reports it)."""
    counts = np.empty(n, dtype=np.int64)
    counts[box_pos] = 4
    counts[point_pos] = 1
    counts[vert_pos] = vertex_counts
    edges = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=edges[1:])
    coords = np.empty((int(edges[-1]), 2), dtype=np.float64)
    box = np.full((n, 5), np.nan)
    box[:, 4] = 0.0
    if len(box_pos):
        bv = np.array(box_values, dtype=np.float64).reshape(-1, 5)
        box[box_pos] = bv
        coords[(edges[box_pos][:, None] + np.arange(4)).ravel()] = box_corners(bv).reshape(-1, 2)
    if len(point_pos):
        rows = edges[point_pos]
        coords[rows, 0] = point_x
        coords[rows, 1] = point_y
    if len(vert_pos):
        rows = (edges[vert_pos] - vertex_counts.cumsum() + vertex_counts).repeat(vertex_counts) + \
            np.arange(int(vertex_counts.sum()))
        coords[rows, 0] = vertex_x
        coords[rows, 1] = vertex_y
    if not np.isfinite(coords).all() or not np.isfinite(box[:, 4]).all():
        return None
    return edges, coords, box


def _fast(raw_annotations: list) -> AnnotationSet:
    """Column-wise extraction from dicts: each pass is a comprehension or a C-level map; any surprise raises."""
    anns = raw_annotations
    n = len(anns)
    if n and set(map(type, anns)) != {dict}:
        raise _Careful
    uuids = [d["uuid"] for d in anns]
    type_names = [d["type"] for d in anns]
    labels = [d["label"] for d in anns]
    attributes = [d.get("attributes") for d in anns]
    uuid_order = dict(zip(uuids, range(n)))
    if n and (set(map(type, uuids)) != _STR or len(uuid_order) != n or "" in uuid_order
              or set(map(type, labels)) != _STR or not set(type_names) <= _GEOMETRY_SET
              or not set(map(type, attributes)) <= _ATTR_TYPES):
        raise _Careful
    if None in attributes:
        attributes = [{} if a is None else a for a in attributes]
    codes = np.fromiter(map(TYPE_CODE.__getitem__, type_names), dtype=np.int8, count=n)
    box_pos, point_pos, vert_pos = split_by_kind(codes)
    bd = [anns[i] for i in box_pos.tolist()]
    box_values = [(d["left"], d["top"], d["width"], d["height"], _rotation(d.get("rotation"))) for d in bd]
    pd = [anns[i] for i in point_pos.tolist()]
    px = [d["x"] for d in pd]
    py = [d["y"] for d in pd]
    vertex_lists = [anns[i]["vertices"] for i in vert_pos.tolist()]
    if vertex_lists and set(map(type, vertex_lists)) != {list}:
        raise _Careful
    flat = [v for vs in vertex_lists for v in vs]
    vx = [v["x"] for v in flat]
    vy = [v["y"] for v in flat]
    if not (_numbers_ok(px, py, vx, vy) and set(map(type, (c for row in box_values for c in row))) <= _NUM_TYPES):
        raise _Careful
    vertex_counts = np.fromiter(map(len, vertex_lists), dtype=np.int64, count=len(vertex_lists))
    assembled = assemble_coordinates(n, box_pos, box_values, point_pos, px, py, vert_pos, vertex_counts, vx, vy)
    if assembled is None:
        raise _Careful
    edges, coords, box = assembled
    given: dict[int, np.ndarray] = {}
    for p, d in zip(box_pos.tolist(), bd):
        vs = d.get("vertices")
        if vs is not None:
            if type(vs) is not list:
                raise _Careful
            xs = [v["x"] for v in vs]
            ys = [v["y"] for v in vs]
            if not _numbers_ok(xs, ys):
                raise _Careful
            arr = given[p] = np.array([xs, ys], dtype=np.float64).T.reshape(-1, 2)
            if not np.isfinite(arr).all():
                raise _Careful
    cub = TYPE_CODE["cuboid"]
    cuboids = [p for p in vert_pos.tolist() if codes[p] == cub]
    descriptions = {p: cuboid_descriptions(anns[p]["vertices"], dict.get) for p in cuboids}
    return AnnotationSet(uuids=uuids, type_names=type_names, labels=labels, attributes=attributes,
                         raws=list(anns), request_index=list(range(n)), edges=edges, coords=coords, box=box,
                         given_vertices=given, vertex_descriptions=descriptions, malformed=[],
                         uuid_order=uuid_order, type_codes=codes, pos_of_uuid=uuid_order,
                         cuboid_edges={p: anns[p].get("edges") for p in cuboids})


def _rotation(value: Any) -> Any:
    return 0.0 if value is None else value  # not `value or 0.0`: a boolean must stay visible to the type check


def cuboid_descriptions(vertices: list, get) -> tuple[str | None, ...]:
    """Each cuboid vertex's description (None where it is missing or not text); ``get(vertex, "description")``."""
    out = []
    for v in vertices:
        d = get(v, "description")
        out.append(d if isinstance(d, str) else None)
    return tuple(out)


# -- the careful path ------------------------------------------------------------------------------------------------
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
            raise _Bad("malformed", f"Vertex {i + 1} of the {label} is not an {{x, y}} point.",
                       _nearest_finite(flat, i))
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


class _Row:
    __slots__ = ("index", "uuid", "type", "label", "attributes", "raw", "coords", "box", "given", "descriptions")


def _careful_one(index: int, raw: dict, uuid: str, type_: str, label: str, attributes: dict) -> _Row:
    row = _Row()
    row.index, row.uuid, row.type, row.label, row.attributes, row.raw = index, uuid, type_, label, attributes, raw
    row.box = None
    row.given = None
    row.descriptions = None
    if type_ == "box":
        left = _num(raw.get("left"), "The box's left")
        top = _num(raw.get("top"), "The box's top")
        width = _num(raw.get("width"), "The box's width")
        height = _num(raw.get("height"), "The box's height")
        rot = raw.get("rotation")
        rotation = 0.0 if rot is None else _num(rot, "The box's rotation")
        row.box = (left, top, width, height, rotation)
        if raw.get("vertices") is not None:
            row.given = np.asarray(_vertices(raw, "vertices", "box"), dtype=float).reshape(-1, 2)
        corners = box_corners(np.asarray([row.box], dtype=float))[0]
        row.coords = corners.ravel().tolist()
        anchor = (left, top) if math.isfinite(left) and math.isfinite(top) else None
        if not all(math.isfinite(v) for v in row.box) or not np.isfinite(corners).all():
            raise _Bad("non_finite", "The box has a coordinate that is not a finite number.", anchor)
        if row.given is not None and not np.isfinite(row.given).all():
            raise _Bad("non_finite", "One of the box's vertices has a coordinate that is not a finite number.",
                       anchor)
        return row
    if type_ == "point":
        row.coords = [_num(raw.get("x"), "The point's x"), _num(raw.get("y"), "The point's y")]
        if not all(math.isfinite(v) for v in row.coords):
            raise _Bad("non_finite", "The point has a coordinate that is not a finite number.")
        return row
    flat = _vertices(raw, "vertices", type_)
    for i in range(0, len(flat), 2):
        if not (math.isfinite(flat[i]) and math.isfinite(flat[i + 1])):
            raise _Bad("non_finite", f"Vertex {i // 2 + 1} of the {type_} has a coordinate that is not a "
                                     "finite number.", _nearest_finite(flat, i // 2))
    row.coords = flat
    if type_ == "cuboid":
        row.descriptions = tuple(v.get("description") if isinstance(v.get("description"), str) else None
                                 for v in raw["vertices"])
    return row


def _careful(raw_annotations: list) -> AnnotationSet:
    rows: list[_Row] = []
    malformed: list[Malformed] = []
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
            what = ("no type" if type_ is None else
                    f"an unknown type ({repr(type_[:30]) if isinstance(type_, str) else _short(type_)})")
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
        try:
            rows.append(_careful_one(index, raw, uuid, type_, label, attributes))
        except _Bad as exc:
            malformed.append(Malformed(index, uuid, exc.kind, exc.message, exc.at))
    n = len(rows)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(r.coords) // 2 for r in rows], out=offsets[1:])
    flat = [c for r in rows for c in r.coords]
    coords = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
    box = np.full((n, 5), np.nan)
    box[:, 4] = 0.0
    for p, r in enumerate(rows):
        if r.box is not None:
            box[p] = r.box
    return AnnotationSet(
        uuids=[r.uuid for r in rows], type_names=[r.type for r in rows], labels=[r.label for r in rows],
        attributes=[r.attributes for r in rows], raws=[r.raw for r in rows], request_index=[r.index for r in rows],
        edges=offsets, coords=coords, box=box,
        given_vertices={p: r.given for p, r in enumerate(rows) if r.given is not None},
        vertex_descriptions={p: r.descriptions for p, r in enumerate(rows) if r.descriptions is not None},
        cuboid_edges={p: r.raw.get("edges") for p, r in enumerate(rows) if r.type == "cuboid"},
        malformed=malformed, uuid_order=uuid_order)


def extract(raw_annotations: list, *, careful: bool = False) -> AnnotationSet:
    """Turn ``response.annotations`` into an AnnotationSet; never raises on annotation content.

    ``careful=True`` forces the careful path (tests compare both paths)."""
    if not careful:
        try:
            return _fast(raw_annotations)
        except (_Careful, KeyError, TypeError, ValueError, AttributeError):
            pass
    return _careful(raw_annotations)
