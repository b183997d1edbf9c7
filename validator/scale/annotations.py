"""One extraction pass over ``response.annotations``, into columns.

Every annotation's coordinates end up in one flat ``(V, 2)`` float64 numpy array shared by all rules, with
per-annotation columns beside it (uuid, type, label, attributes, box fields, vertex ranges). Annotations that are not
usable (not an object, missing/duplicate uuid, unknown type, no label, missing or non-numeric coordinates, NaN or
infinite numbers) are *not* handed to rules: they are recorded as :class:`Malformed` entries, which the rules
``malformed_annotation`` and ``non_finite_coordinate`` report as issues on that annotation (or as global issues
when there is no usable uuid). A labeler's malformed annotation is never an HTTP error.

The annotations' format is specified once, by the Structs of validator/scale/format.py. Two ways in, one column
builder (:func:`columns`):

* the **typed path** (:func:`from_typed`, every well-formed request to the service): msgspec decoded the body
  straight into those Structs, checking every type on the way;
* the **careful path** (:func:`extract`, a body the typed decode refused, parsed generically): the annotation dicts
  are converted with the same Structs (all at once, else in chunks, after C-level passes that set aside what is
  not an object, not a geometry type, or lacks a field its type requires), and for each one that does not convert
  :func:`validator.scale.format.first_problem` names the first thing wrong, which becomes the labeler's sentence
  here. Well-formed annotations come out identical on both paths (tests/test_extraction.py).

Bounded: at most ``listed`` malformed annotations per kind (the first ones, in request order) are recorded with
their message; the others are only counted (``AnnotationSet.unlisted``), and the format rules say how many more
there are in one summary issue. Every step is a C-level pass over the list or costs in proportion to the
annotations that are actually malformed (``AnnotationSet.work`` counts failed conversions, annotations converted
again and explanations; tests/test_bounded_extraction.py).

No per-annotation objects are created up front: :class:`Annotation` is a light view made on demand.
"""
from __future__ import annotations

import heapq
import math
import operator
import re
from collections import Counter
from itertools import chain, compress, repeat
from typing import Any, Callable, Iterator, Mapping, Sequence

import msgspec
import numpy as np

from validator.geometry.boxes import box_corners  # the kernel (re-exported: __all__)
from validator.scale import format as fmt
from validator.scale.format import CODE_OF_CLASS, GEOMETRY_TYPES, MISSING, NAME_OF_CLASS, TYPE_CODE
from validator.scale.lazy import cached_property

__all__ = ["GEOMETRY_TYPES", "TYPE_CODE", "Annotation", "AnnotationSet", "Malformed", "Numbering", "extract",
           "from_typed", "LISTED_DEFAULT", "box_corners"]


class Numbering(dict):
    """key -> 0, 1, 2... in order of first lookup (``numbering[key]`` numbers a new key): distinct values numbered in
    one pass, e.g. ``np.fromiter(map(numbering.__getitem__, values), ...)``."""

    def __missing__(self, key):
        number = self[key] = len(self)
        return number

CUBOID_VERTEX_DESCRIPTIONS = (
    "face-topleft", "face-bottomleft", "face-topright", "face-bottomright", "side-topcorner", "side-bottomcorner",
)
CUBOID_EDGE_DESCRIPTIONS = ("face-top", "face-right", "face-bottom", "face-left", "side-bottom", "side-top")

LISTED_DEFAULT = 100  # malformed annotations listed one by one; [engine] max_malformed_listed


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
    aside (at most ``listed`` of them, the first in request order); ``unlisted``: how many more there are, per
    kind (``"malformed"``, ``"non_finite"``). ``uuid_order``: every uuid in the request (malformed ones included)
    -> request index. ``work``: counters of the careful path (``one_by_one`` conversions, ``explained``
    annotations), empty on the typed path.
    """

    def __init__(self, *, uuids: list[str], type_names: list[str], labels: list[str], attributes: list[dict],
                 raws: Any, request_index: list[int], edges: np.ndarray, coords: np.ndarray,
                 box: np.ndarray, given_vertices: dict[int, np.ndarray], vertex_descriptions: dict[int, tuple],
                 malformed: list[Malformed], uuid_order: dict[str, int], type_codes: np.ndarray | None = None,
                 pos_of_uuid: dict[str, int] | None = None, cuboid_edges: dict[int, Any] | None = None,
                 unlisted: Mapping[str, int] | None = None, work: Mapping[str, int] | None = None):
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
        self.unlisted = dict(unlisted or {})
        self.work = dict(work or {})
        self.uuid_order = uuid_order
        self.pos_of_uuid = pos_of_uuid if pos_of_uuid is not None else {u: i for i, u in enumerate(uuids)}
        self.type_codes = type_codes if type_codes is not None else np.fromiter(
            (TYPE_CODE[t] for t in type_names), dtype=np.int8, count=len(type_names))
        self.geometry: Any = None  # set by GeometryIndex

    def non_finite_positions(self) -> np.ndarray:
        """Positions of annotations with a number that is not finite (coordinates, rotation, a box's vertices)."""
        rows = (~np.isfinite(self.coords)).any(axis=1).nonzero()[0]
        bad = [np.searchsorted(self.edges, rows, side="right") - 1, (~np.isfinite(self.box[:, 4])).nonzero()[0],
               np.array([p for p, g in self.given_vertices.items() if not np.isfinite(g).all()], dtype=np.int64)]
        return np.unique(np.concatenate(bad)).astype(np.int64)

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
        if len(codes) <= SMALL:  # one pass in Python (numpy's per-call overhead dominates); the same arrays
            found: dict[int, list[int]] = {}
            for p, c in enumerate(codes.tolist()):
                found.setdefault(c, []).append(p)
            return {c: np.array(found[c], dtype=np.intp) for c in sorted(found)}
        present = np.bincount(codes, minlength=len(TYPE_CODE)).nonzero()[0].tolist()
        return {c: (codes == c).nonzero()[0] for c in present}

    @cached_property
    def label_ids(self) -> tuple[dict[str, int], np.ndarray]:
        """(label -> id, id of each annotation's label): labels as small integers, for vectorised scoping."""
        vocab = Numbering()  # one pass over the labels, numbering each on first lookup
        ids = np.fromiter(map(vocab.__getitem__, self.labels), dtype=np.int64, count=len(self.labels))
        return dict(vocab), ids

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
        if all(c in codes for c in by_type):  # every type present is wanted: every annotation, in order
            return self.every_position
        parts = [by_type[c] for c in codes if c in by_type]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        if len(parts) == 1:
            return parts[0]
        wanted = np.zeros(len(TYPE_CODE), dtype=bool)  # a lookup by type code: already in request order
        wanted[list(codes)] = True
        return wanted[self.type_codes].nonzero()[0]

    @cached_property
    def every_position(self) -> np.ndarray:
        """``0 .. n-1``: the positions of every annotation (shared: never modify it)."""
        return np.arange(len(self.uuids))

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



# -- the column builder (both paths) ----------------------------------------------------------------------------
def columns(anns: list, raws: Any, *, request_index: list[int] | None = None, malformed: list[Malformed] | None = None,
            uuid_order: dict[str, int] | None = None, unlisted: Mapping[str, int] | None = None,
            work: Mapping[str, int] | None = None, finite_only: bool = True,
            small: bool | None = None) -> AnnotationSet | None:
    """The AnnotationSet columns of converted annotations (validator/scale/format.py Structs, unique uuids), or None
    when a number is not finite (and ``finite_only``) or two annotations share a uuid. ``raws``: the annotations'
    dicts, or a function that rebuilds them. ``small``: assemble the coordinates in one Python pass (default: for
    at most SMALL annotations, where numpy's per-call overhead dominates) or with whole-array passes; both give
    the same columns (tests/test_annotations_small.py)."""
    n = len(anns)
    uuids = [a.uuid for a in anns]
    pos_of_uuid = dict(zip(uuids, range(n)))
    if len(pos_of_uuid) != n:
        return None
    classes = list(map(type, anns))
    codes = np.fromiter(map(CODE_OF_CLASS.__getitem__, classes), dtype=np.int8, count=n)
    type_names = list(map(NAME_OF_CLASS.__getitem__, classes))
    labels = [a.label for a in anns]
    attributes = [a.attributes for a in anns]
    if None in attributes:
        attributes = [{} if a is None else a for a in attributes]
    if (n <= SMALL) if small is None else small:
        assembled = _assemble_small(anns, classes, finite_only)
        if assembled is None:
            return None
        edges, coords, box, box_list, vert_list = assembled
        bs = [anns[i] for i in box_list]
        vert_anns = [anns[i] for i in vert_list]
    else:
        box_pos, point_pos, vert_pos = split_by_kind(codes)
        box_list, vert_list = box_pos.tolist(), vert_pos.tolist()
        bs = [anns[i] for i in box_list]
        ps = [anns[i] for i in point_pos.tolist()]
        vert_anns = [anns[i] for i in vert_list]
        vertex_lists = [a.vertices for a in vert_anns]
        flat = list(chain.from_iterable(vertex_lists))
        assembled = assemble_coordinates(
            n, box_pos, [(b.left, b.top, b.width, b.height, b.rotation or 0.0) for b in bs],
            point_pos, [p.x for p in ps], [p.y for p in ps],
            vert_pos, np.fromiter(map(len, vertex_lists), dtype=np.int64, count=len(vertex_lists)),
            [v.x for v in flat], [v.y for v in flat], finite_only=finite_only)
        if assembled is None:
            return None
        edges, coords, box = assembled
    given = {p: _xy(b.vertices) for p, b in zip(box_list, bs) if b.vertices is not None}
    if finite_only and given and not all(np.isfinite(g).all() for g in given.values()):
        return None
    cuboids = [(p, a) for p, a in zip(vert_list, vert_anns) if type(a) is fmt.Cuboid]
    descriptions = {p: cuboid_descriptions(a.vertices) for p, a in cuboids}
    cuboid_edges = {p: a.edges for p, a in cuboids}
    return AnnotationSet(uuids=uuids, type_names=type_names, labels=labels, attributes=attributes, raws=raws,
                         request_index=list(range(n)) if request_index is None else request_index, edges=edges,
                         coords=coords, box=box, given_vertices=given, vertex_descriptions=descriptions,
                         malformed=malformed or [], uuid_order=pos_of_uuid if uuid_order is None else uuid_order,
                         type_codes=codes, pos_of_uuid=pos_of_uuid, cuboid_edges=cuboid_edges, unlisted=unlisted,
                         work=work)


SMALL = 64  # annotations at most for the one-pass assembly of the coordinates
_BOX, _POINT = fmt.Box, fmt.Point
_NOT_A_BOX = (math.nan, math.nan, math.nan, math.nan, 0.0)


def _assemble_small(anns: list, classes: list, finite_only: bool) -> tuple | None:
    """What :func:`assemble_coordinates` gives (edges, coords, box), in one pass over the annotations, with the
    positions of boxes and of vertex-list annotations (lists). Unrotated box corners by the same exact arithmetic as
    the kernel; rotated ones (rotation not 0, NaN included) by the kernel itself."""
    xs: list[float] = []
    ys: list[float] = []
    edges = [0]
    box_rows = []
    box_list: list[int] = []
    vert_list: list[int] = []
    rotated: list[int] = []
    end = 0
    for p, (a, cls) in enumerate(zip(anns, classes)):
        if cls is _BOX:
            left, top, rot = a.left, a.top, a.rotation or 0.0
            right, bottom = left + a.width, top + a.height
            box_rows.append((left, top, a.width, a.height, rot))
            box_list.append(p)
            if rot != 0.0:
                rotated.append(p)
            xs += (left, right, right, left)
            ys += (top, top, bottom, bottom)
            end += 4
        else:
            box_rows.append(_NOT_A_BOX)
            if cls is _POINT:
                xs.append(a.x)
                ys.append(a.y)
                end += 1
            else:
                vert_list.append(p)
                vs = a.vertices
                xs += [v.x for v in vs]
                ys += [v.y for v in vs]
                end += len(vs)
        edges.append(end)
    coords = np.empty((end, 2), dtype=np.float64)
    coords[:, 0] = xs
    coords[:, 1] = ys
    box = np.array(box_rows, dtype=np.float64).reshape(-1, 5)
    edge_array = np.array(edges, dtype=np.int64)
    if rotated:
        rows = (edge_array[rotated][:, None] + np.arange(4)).ravel()
        coords[rows] = box_corners(box[rotated]).reshape(-1, 2)
    if finite_only and not (np.isfinite(coords).all() and np.isfinite(box[:, 4]).all()):
        return None
    return edge_array, coords, box, box_list, vert_list


def _xy(vertices: list) -> np.ndarray:
    return np.array([(v.x, v.y) for v in vertices], dtype=np.float64).reshape(-1, 2)


def cuboid_descriptions(vertices: list) -> tuple[str | None, ...]:
    """Each cuboid vertex's description (None where it is missing or not text)."""
    return tuple(d if isinstance(d, str) else None for d in (v.description for v in vertices))


def split_by_kind(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of boxes, of points, and of vertex-list annotations (polygon, line, ellipse, cuboid)."""
    is_box = codes == TYPE_CODE["box"]
    is_point = codes == TYPE_CODE["point"]
    return is_box.nonzero()[0], is_point.nonzero()[0], (~(is_box | is_point)).nonzero()[0]


def assemble_coordinates(n: int, box_pos: np.ndarray, box_values: list, point_pos: np.ndarray, point_x: list,
                         point_y: list, vert_pos: np.ndarray, vertex_counts: np.ndarray, vertex_x: list,
                         vertex_y: list, *, finite_only: bool = True
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The shared coordinate array (box corners, points, vertices, each annotation's rows contiguous, in request
    order), its edges and the box columns; None when a number is not finite (and ``finite_only``)."""
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
    if finite_only and not (np.isfinite(coords).all() and np.isfinite(box[:, 4]).all()):
        return None
    return edges, coords, box


# -- the typed path ----------------------------------------------------------------------------------------------------
def from_typed(anns: list, reparse: Callable[[], list]) -> AnnotationSet | None:
    """The columns of a typed decode's annotations; None when the careful path must read them (two annotations
    share a uuid). ``reparse()`` returns the body's original annotation dicts, when a rule asks for them."""
    return columns(anns, reparse)


# -- the careful path --------------------------------------------------------------------------------------------------
CHUNK = 64  # annotations converted together; a chunk that does not convert is converted one by one


class _Many(msgspec.Struct):  # (msgspec keeps the type information of a Struct, not of a bare list[...] or Union)
    a: list[fmt.AnyAnnotation]


_AT = re.compile(r"at `\$\.a\[(\d+)\]")


def _failed_at(exc: msgspec.ValidationError, batch: list) -> int:
    """The position in the chunk of the first annotation that does not convert (from msgspec's error path)."""
    found = _AT.search(str(exc))
    if found is not None and int(found.group(1)) < len(batch):
        return int(found.group(1))
    for j, d in enumerate(batch):  # (not expected: msgspec always names the item) one by one
        try:
            msgspec.convert({"a": [d]}, _Many)
        except msgspec.ValidationError:
            return j
    raise AssertionError("a chunk that does not convert has no annotation that does not convert")


class _Listed:
    """Per kind, the first ``limit`` malformed annotations (in request order), with their message; the others only
    counted. A message is worked out only for an annotation that is kept (``make`` is called at the end)."""

    def __init__(self, limit: int):
        self.limit = max(limit, 0)
        self._heaps: dict[str, list[tuple[int, Callable]]] = {"malformed": [], "non_finite": []}
        self.unlisted: Counter = Counter()

    def full_before(self, index: int, kind: str = "malformed") -> bool:
        """Whether an annotation of this kind at ``index`` would not be listed (``limit`` earlier ones are)."""
        heap = self._heaps[kind]
        return len(heap) >= self.limit and (not heap or -heap[0][0] < index)

    def add(self, index: int, kind: str, make: Callable[[], Malformed]) -> None:
        heap = self._heaps[kind]  # (-index, make): the largest kept index on top
        if len(heap) < self.limit:
            heapq.heappush(heap, (-index, make))
        elif heap and -heap[0][0] > index:
            heapq.heapreplace(heap, (-index, make))
            self.unlisted[kind] += 1
        else:
            self.unlisted[kind] += 1

    def count(self, kind: str, n: int) -> None:
        self.unlisted[kind] += n

    def records(self) -> list[Malformed]:
        kept = sorted((-i, make) for heap in self._heaps.values() for i, make in heap)
        return [make() for _, make in kept]


def extract(raw_annotations: list, *, listed: int = LISTED_DEFAULT, careful: bool = False) -> AnnotationSet:
    """Turn ``response.annotations`` (parsed dicts) into an AnnotationSet; never raises on annotation content.

    ``listed``: how many malformed annotations get a record of their own (the rest are counted in ``unlisted``).
    ``careful=True`` converts every annotation on its own (tests compare it with the chunked conversion).

    Cost: one conversion of all the annotation objects at once (enough when none is malformed); else, after the
    ones before the first malformed one, C-level passes over the columns (object test, type tags, the fields each
    type requires), the conversion of the rest in chunks with one failed conversion per malformed annotation found
    that way (``work["failed"]``, and at most CHUNK - 1 converted again for each: ``work["converted_again"]``), and
    an explanation per *listed* malformed annotation only (``work["explained"]``)."""
    items = raw_annotations
    n = len(items)
    work = Counter(failed=0, converted_again=0, explained=0)
    out = _Listed(listed)
    # 1. what is not an object is malformed at once (C-level passes: map, count, index, compress)
    types = list(map(type, items))
    n_objects = types.count(dict)
    if n_objects == n:
        idx, objs = np.arange(n), items
    elif n_objects * 8 < n:  # mostly not objects: find the few objects by C-level scans
        positions, at = [], -1
        for _ in range(n_objects):
            at = types.index(dict, at + 1)
            positions.append(at)
        idx, objs = np.array(positions, dtype=np.int64), [items[i] for i in positions]
        first_bad = [i for i in range(min(n, out.limit + n_objects)) if types[i] is not dict][:out.limit]
    else:
        is_object = list(map(operator.is_, types, repeat(dict)))
        idx, objs = np.array(is_object, dtype=bool).nonzero()[0], list(compress(items, is_object))
        first_bad, at = [], -1
        for _ in range(min(out.limit, n - n_objects)):
            at = is_object.index(False, at + 1)
            first_bad.append(at)
    if n_objects != n:  # the first ones get a record, the others are counted
        for i in first_bad:
            out.add(i, "malformed", lambda i=i: Malformed(
                i, None, "malformed", f"Annotation #{i + 1} is not an object ({_short(items[i])})."))
        out.count("malformed", n - n_objects - len(first_bad))
    del types
    good: list[Any] = []
    good_index: list[int] = []
    convert = msgspec.convert
    if not careful and objs:  # most bodies read here have no malformed annotation, or few: all at once first
        try:
            good = convert({"a": objs}, _Many).a
            good_index = idx.tolist()
            objs, idx = [], idx[:0]
        except msgspec.ValidationError as exc:
            j = _failed_at(exc, objs)  # the ones before the first malformed one convert: again, in one call
            if j:
                work["converted_again"] += j
                good = convert({"a": objs[:j]}, _Many).a
                good_index = idx[:j].tolist()
                objs, idx = objs[j:], idx[j:]
    # 2. objects whose type is not a geometry type, or without a field their type requires (absent or null), are
    # malformed without a conversion (C-level passes over the fields the Structs of format.py require)
    try:
        classes = list(map(fmt.CLASS_OF_TAG.get, map(dict.get, objs, repeat("type"))))
    except TypeError:  # a tag that is a list or an object
        classes = [fmt.CLASS_OF_TAG.get(t) if isinstance(t, str) else None for t in map(dict.get, objs, repeat("type"))]
    n_viable = len(classes) - classes.count(None)
    viable = list(map(operator.is_not, classes, repeat(None))) if n_viable else []
    for name, accepted in fmt.REQUIRED_BY_EVERY:
        if n_viable:
            kinds = set(types := list(map(type, map(dict.get, objs, repeat(name)))))
            if not kinds <= accepted:
                viable = list(map(operator.and_, viable, map(accepted.__contains__, types)))
                n_viable = viable.count(True)
            del types
    # ... nor those with a field their geometry requires absent or of another type (a point without x, x: true)
    if n_viable:
        viable_array = np.array(viable, dtype=bool)
        for cls in set(classes) - {None}:
            of_cls = list(map(operator.is_, classes, repeat(cls)))
            members = None
            for name, accepted in fmt.REQUIRED_BY[cls]:
                types = list(map(type, map(dict.get, compress(objs, of_cls), repeat(name))))
                if not set(types) <= accepted:
                    if members is None:
                        members = np.array(of_cls, dtype=bool).nonzero()[0]
                    viable_array[members[~np.array(list(map(accepted.__contains__, types)), dtype=bool)]] = False
        viable = viable_array.tolist()
        n_viable = viable.count(True)
    del classes
    if n_viable == 0:
        unknown_idx, unknown, idx, objs = idx, objs, idx[:0], []
    elif n_viable < len(objs):
        viable_array = np.array(viable, dtype=bool)
        unknown_idx, unknown = idx[~viable_array], list(compress(objs, map(operator.not_, viable)))
        idx, objs = idx[viable_array], list(compress(objs, viable))
    else:
        unknown_idx, unknown = idx[:0], []
    del viable
    # 3. the others, converted with the Structs of format.py, in chunks. When a chunk does not convert, msgspec's
    # error path names the first annotation that does not: the ones before it are converted again (one call), that
    # one is set aside, and the next chunk starts after it. So each malformed annotation costs one failed
    # conversion, and at most CHUNK - 1 well-formed ones are converted twice for it.
    failed: list[int] = []  # positions in objs
    step = 1 if careful else CHUNK
    k, m = 0, len(objs)
    while k < m:
        batch = objs[k:k + step]
        try:
            good.extend(convert({"a": batch}, _Many).a)
            good_index.extend(idx[k:k + step].tolist())
            k += step
            step = min(step * 2, 1 if careful else CHUNK)
            continue
        except msgspec.ValidationError as exc:
            j = 0 if step == 1 else _failed_at(exc, batch)
        step = 1 if j == 0 else step  # (malformed annotations in a row: read one at a time)
        work["failed"] += 1
        if j:
            work["converted_again"] += j
            good.extend(convert({"a": batch[:j]}, _Many).a)
            good_index.extend(idx[k:k + j].tolist())
        failed.append(k + j)
        k += j + 1
    # the objects that do not convert, in request order, with their uuid when it is usable
    if failed and len(unknown_idx):
        bad_idx = np.concatenate([unknown_idx, idx[failed]])
        order = np.argsort(bad_idx, kind="stable")
        bad_idx = bad_idx[order]
        merged = unknown + [objs[j] for j in failed]
        bad_objs = [merged[k] for k in order.tolist()]
    elif failed:
        bad_idx, bad_objs = idx[failed], [objs[j] for j in failed]
    else:
        bad_idx, bad_objs = unknown_idx, unknown
    # 4. uuids, in request order: the first annotation with a uuid keeps it, a later one is malformed
    good_uuids = [a.uuid for a in good]
    first = dict(zip(reversed(good_uuids), reversed(good_index)))  # uuid -> its first index (C-level)
    n_good_uuids = len(first)
    # (with no well-formed annotation, only the uuids of the malformed ones that can be listed matter)
    named = bad_objs if good else bad_objs[:max(listed, 0)]
    bad_uuids = list(map(dict.get, named, repeat("uuid")))
    if bad_uuids.count(None) != len(bad_uuids):
        try:
            bad_first = dict(zip(reversed(bad_uuids), reversed(bad_idx[:len(named)].tolist())))
        except TypeError:  # a uuid that is a list or an object
            bad_first = dict(zip(reversed([u if isinstance(u, str) else None for u in bad_uuids]),
                                 reversed(bad_idx[:len(named)].tolist())))
        clash = False
        for u, i in bad_first.items():  # (distinct values only)
            if isinstance(u, str) and u:
                j = first.get(u)
                if j is None:
                    first[u] = i
                else:
                    clash = True
                    first[u] = min(i, j)
    else:
        clash = False
    uuid_order = first
    duplicates: set[int] = set()
    if n_good_uuids != len(good) or clash:
        duplicates = {i for u, i in zip(good_uuids, good_index) if first[u] != i}
    taken = 0  # at most `listed` of them can be listed: the others are counted
    for k, i in enumerate(bad_idx[:max(listed, 0)].tolist()):
        if out.full_before(i):
            break
        raw = bad_objs[k]
        u = raw.get("uuid")
        u = u if isinstance(u, str) and u else None
        if u is not None and first[u] != i:
            out.add(i, "malformed", lambda i=i, u=u: _duplicate(i, u))
        else:
            out.add(i, "malformed", lambda i=i, raw=raw, u=u: _explained(i, raw, u, work))
        taken = k + 1
    out.count("malformed", len(bad_idx) - taken)
    if duplicates:
        for a, i in zip(good, good_index):
            if i in duplicates:
                out.add(i, "malformed", lambda i=i, u=a.uuid: _duplicate(i, u))
        kept = [(a, i) for a, i in zip(good, good_index) if i not in duplicates]
        good, good_index = [a for a, _ in kept], [i for _, i in kept]
    # 5. NaN / Infinity (only from the stdlib parser's literals): reported by non_finite_coordinate
    result = columns(good, items if len(good) == n else [items[i] for i in good_index], request_index=good_index,
                     uuid_order=uuid_order, finite_only=False)
    bad = result.non_finite_positions()
    if len(bad):
        for n_done, k in enumerate(bad.tolist()):
            i, a = good_index[k], good[k]
            if out.full_before(i, "non_finite"):
                out.count("non_finite", len(bad) - n_done)
                break
            out.add(i, "non_finite", lambda i=i, a=a: _non_finite(i, a))
        ok = np.ones(len(good), dtype=bool)
        ok[bad] = False
        good = list(compress(good, ok))
        good_index = list(compress(good_index, ok))
        result = columns(good, [items[i] for i in good_index], request_index=good_index, uuid_order=uuid_order)
    result.malformed = out.records()
    result.unlisted = dict(+out.unlisted)
    result.work = dict(work)
    return result


def _duplicate(index: int, uuid: str) -> Malformed:
    return Malformed(index, uuid, "malformed", f"Two annotations share the uuid {uuid!r}; each needs its own.")


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value[:20])
    return type(value).__name__


def _explained(index: int, raw: dict, uuid: str | None, work: Counter) -> Malformed:
    """The first thing wrong with an annotation object that does not convert, in the labeler's words."""
    work["explained"] += 1
    if uuid is None:
        return Malformed(index, None, "malformed", f"Annotation #{index + 1} has no uuid.")
    tag = raw.get("type")
    cls = fmt.CLASS_OF_TAG.get(tag) if isinstance(tag, str) else None
    if cls is None:
        what = ("no type" if tag is None else
                f"an unknown type ({repr(tag[:30]) if isinstance(tag, str) else _short(tag)})")
        return Malformed(index, uuid, "malformed", f"The annotation has {what}.")
    problem = fmt.first_problem(raw, cls)
    message, at = _sentence(tag, problem, raw)
    return Malformed(index, uuid, "malformed", message, at)


def _sentence(kind: str, problem: fmt.Problem | None, raw: dict) -> tuple[str, tuple[float, float] | None]:
    """A format problem in an annotation of type ``kind`` as the labeler reads it (and where to look)."""
    path = problem.path if problem is not None else ()
    value = problem.value if problem is not None else None
    shown = "missing" if value is MISSING or value is None else f"not a number ({_short(value)})"
    if path == ("label",):
        return f"The {kind} has no label.", None
    if path == ("attributes",):
        return f"The {kind}'s attributes are not an object.", None
    if path[:1] == ("vertices",):
        if len(path) == 1:
            if value is MISSING or value is None:
                return f"The {kind} has no vertices.", None
            return f"The {kind}'s vertices are not a list.", None
        i = path[1]
        at = _nearest_finite(raw["vertices"], i)
        if len(path) == 2:
            return f"Vertex {i + 1} of the {kind} is not an {{x, y}} point.", at
        return f"Vertex {i + 1} of the {kind}: {path[2]} is {shown}.", at
    if len(path) == 1:
        return f"The {kind}'s {path[0]} is {shown}.", None
    return f"The {kind} is not in Scale's format ({'.'.join(map(str, path)) or 'the object'}).", None


def _nearest_finite(vertices: list, i: int) -> tuple[float, float] | None:
    """The closest earlier vertex with finite coordinates: where to send the labeler for a bad vertex (the vertices
    before the first bad one are well formed)."""
    for v in reversed(vertices[:i]):
        x, y = v["x"], v["y"]
        if math.isfinite(x) and math.isfinite(y):
            return (float(x), float(y))
    return None


def _non_finite(index: int, a: Any) -> Malformed:
    t = type(a)
    if t is fmt.Point:
        return Malformed(index, a.uuid, "non_finite", "The point has a coordinate that is not a finite number.")
    if t is fmt.Box:
        anchor = (a.left, a.top) if math.isfinite(a.left) and math.isfinite(a.top) else None
        values = (a.left, a.top, a.width, a.height, a.rotation or 0.0)
        corners = box_corners(np.array([values]))
        if not all(map(math.isfinite, values)) or not np.isfinite(corners).all():
            return Malformed(index, a.uuid, "non_finite", "The box has a coordinate that is not a finite number.",
                             anchor)
        return Malformed(index, a.uuid, "non_finite",
                         "One of the box's vertices has a coordinate that is not a finite number.", anchor)
    kind = t.__struct_config__.tag
    for k, v in enumerate(a.vertices):
        if not (math.isfinite(v.x) and math.isfinite(v.y)):
            prev = a.vertices[k - 1] if k else None
            return Malformed(index, a.uuid, "non_finite",
                             f"Vertex {k + 1} of the {kind} has a coordinate that is not a finite number.",
                             None if prev is None else (prev.x, prev.y))
    raise AssertionError("a finite annotation reported as non-finite")
