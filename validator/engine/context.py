"""What every rule receives: the request's task, annotations and geometry, built once and shared (read-only).

The public helpers rules are written with (see docs/writing-rules.md, "The rule API"):

* :class:`Selection`: a set of annotations of the request. ``anns`` (what an instance *judges*: its scope) is one;
  ``ctx.annotations.select(type=..., labels=...)`` (or ``ctx.select``) gives others, from *every* annotation of the
  request (the context a rule may look at, whatever its scope). A selection has per-annotation arrays
  (``positions``, ``labels``, ``uuids``, ``bounds``, ``anchors``, ``box``, ``vertices``), narrows (``select``,
  ``where``), meets others (``pairs``, ``inside``) and reports (``report``: one issue per annotation, vectorised).
* :func:`analysis`: a function of the request computed once and shared by every rule that calls it.
* :class:`WorkLimitExceeded`: raised by a helper whose bounded work ran out; the engine reports the instance as not
  completed (never as a pass).
"""
from __future__ import annotations

import functools
import logging
import math
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np
import shapely

from validator.engine.issues import Issue
from validator.geometry.index import GeometryIndex
from validator.scale.annotations import GEOMETRY_TYPES, TYPE_CODE, Annotation, AnnotationSet
from validator.scale.task import TaskSpec

_NO_POSITIONS = np.zeros(0, dtype=np.int64)
_AXIS_ALIGNED_BOX = TYPE_CODE["box"]
# Work bound of the point-in-shape helper: candidate (point, shape) pairs looked at per call (a pair whose envelopes
# meet). Identical points and identical boxes count once, so only many *different* shapes stacked over many
# *different* points come near it.
MAX_CANDIDATES = 2_000_000
_CHUNK_CANDIDATES = 1 << 18  # candidate pairs at most per STRtree query (memory; the time budget acts between them)


class WorkLimitExceeded(Exception):
    """A helper's bounded work ran out (e.g. millions of distinct shapes stacked on one another). The engine reports
    the rule instance as not completed: never a pass because work was cut."""


class Context:
    """Shared, read-only state of one validation request.

    ``task``: the normalised :class:`TaskSpec`. ``annotations``: every well-formed annotation of the request
    (:class:`AnnotationSet`, ``by_uuid``): the context every rule may look at, whatever its scope.
    ``geometry``: the request's :class:`GeometryIndex` (shapely geometries, bounds: built lazily, once).
    ``global_attributes``: ``response.global_attributes``. ``response``: the raw response object. ``log``: a logger
    for rule diagnostics (never log annotation content).
    """

    __slots__ = ("task", "annotations", "geometry", "global_attributes", "_response", "log", "_memo")

    def __init__(self, task: TaskSpec, annotations: AnnotationSet, response: Any,
                 log: logging.Logger | None = None, global_attributes: Mapping[str, Any] | None = None):
        self.task = task
        self.annotations = annotations
        self.geometry = GeometryIndex(annotations)
        if global_attributes is None and not callable(response):
            global_attributes = response.get("global_attributes")
        self.global_attributes = global_attributes if isinstance(global_attributes, dict) else {}
        self._response = response  # a mapping, or (fast path) a function rebuilding it on first use
        self.log = log or logging.getLogger("validator.rules")
        self._memo: dict[Any, Any] = {}

    @property
    def response(self) -> Mapping[str, Any]:
        """The response object as received (on the fast path, rebuilt by one parse on first use)."""
        if callable(self._response):
            self._response = self._response()
        return self._response

    def release(self) -> None:
        """Break the request's reference cycles (annotation views <-> their set, set <-> geometry index, memoised
        analyses -> context) once the answer is computed, so everything is freed by reference counting at once
        instead of waiting for a garbage-collector pass over a million objects."""
        self._memo.clear()
        self._response = None
        anns = self.annotations
        anns.__dict__.pop("items", None)
        anns.__dict__.pop("by_uuid", None)
        anns.geometry = None

    def select(self, type: str | Iterable[str] | None = None, labels: str | Iterable[str] | None = None
               ) -> "Selection":
        """Every annotation of the request of these geometry types and labels (None: any): see :func:`select`."""
        return select(self.annotations, type=type, labels=labels)

    def memo(self, key: Any, build):
        """A value computed once per request and shared under ``key``. Prefer :func:`analysis`, which needs no
        key. Dropped with the request (nothing outlives it)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build()
            return value


def select(annotations: AnnotationSet, type: str | Iterable[str] | None = None,
           labels: str | Iterable[str] | None = None) -> "Selection":
    """The annotations of ``annotations`` of these geometry types (``"box"``, or several) and labels, in request
    order: ``ctx.annotations.select(type="box", labels=["car", "truck"])``. Unknown types are an error (a typo must
    not select nothing); unknown labels select nothing (a task may simply have none)."""
    if type is None:
        positions = np.arange(len(annotations))
    else:
        types = (type,) if isinstance(type, str) else tuple(type)
        for t in types:
            if t not in TYPE_CODE:
                raise ValueError(f"unknown geometry type {t!r} (known: {', '.join(GEOMETRY_TYPES)})")
        positions = annotations.positions_of_types([TYPE_CODE[t] for t in types])
    if labels is not None and len(positions):
        positions = annotations.positions_with_labels(positions, (labels,) if isinstance(labels, str) else labels)
    return Selection(annotations, positions)


class Pairs(NamedTuple):
    """Pairs of annotations, as two aligned arrays of positions (``first[k]`` meets ``second[k]``)."""

    first: np.ndarray
    second: np.ndarray

    def __len__(self) -> int:  # type: ignore[override]
        return len(self.first)


class Vertices(NamedTuple):
    """The vertices of a selection's annotations, one after the other: ``xy`` ``(R, 2)``; annotation ``k``'s are
    rows ``starts[k]`` to ``starts[k] + counts[k]`` (in order: a polygon's outline, a box's corners TL, TR, BR, BL)."""

    xy: np.ndarray
    starts: np.ndarray
    counts: np.ndarray


class Selection(Sequence[Annotation]):
    """A set of annotations of one request, in request order: what an instance judges (``anns``), or any other set
    a rule looks at (``ctx.annotations.select(...)``).

    Iterate it (Annotation views are made on first use), or work on whole arrays: ``positions`` (numpy int array
    into ``ctx.annotations`` columns and ``ctx.geometry`` arrays), ``labels``, ``uuids``, ``bounds``, ``anchors``.
    """

    __slots__ = ("annotations", "positions", "_items", "_key", "_vertices")

    def __init__(self, annotations: AnnotationSet, positions: np.ndarray):
        self.annotations = annotations
        self.positions = positions
        self._items: list[Annotation] | None = None
        self._key: bytes | None = None
        self._vertices: Vertices | None = None

    # -- as a sequence of annotations --------------------------------------------------------------------------
    @property
    def items(self) -> list[Annotation]:
        if self._items is None:
            every = self.annotations.items
            self._items = [every[p] for p in self.positions.tolist()]
        return self._items

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i):  # type: ignore[override]
        return self.items[i]

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"<Selection of {len(self)} annotations>"

    @property
    def key(self) -> bytes:
        """A hashable identity of the set (its positions), for :func:`analysis`."""
        if self._key is None:
            self._key = np.ascontiguousarray(self.positions, dtype=np.int64).tobytes()
        return self._key

    # -- arrays, one row per annotation --------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        every = self.annotations.labels
        return [every[p] for p in self.positions.tolist()]

    @property
    def uuids(self) -> list[str]:
        every = self.annotations.uuids
        return [every[p] for p in self.positions.tolist()]

    @property
    def bounds(self) -> np.ndarray:
        """``(m, 4)``: ``xmin, ymin, xmax, ymax`` of each annotation's vertices."""
        return self.annotations.geometry.bounds[self.positions]

    @property
    def box(self) -> np.ndarray:
        """``(m, 5)``: ``left, top, width, height, rotation`` of boxes (NaN rows for other annotations)."""
        return self.annotations.box[self.positions]

    @property
    def vertices(self) -> Vertices:
        """Every vertex of the selection's annotations in one array (:class:`Vertices`), gathered once per selection
        (the engine shares one selection among the instances of the same scope). Read-only."""
        if self._vertices is None:
            a = self.annotations
            positions = self.positions
            counts = a.counts[positions]
            ends = counts.cumsum()
            starts = ends - counts
            if not len(positions):
                xy = a.coords[:0].copy()
            else:
                shift = a.offsets[positions] - starts  # where each annotation's rows begin, minus where they land
                first, total = int(shift[0]), int(ends[-1])
                if (shift == first).all():  # one run of rows (e.g. every annotation, or consecutive ones): a slice
                    xy = a.coords[first:first + total].copy()
                else:  # the general gather (AnnotationSet.rows_of)
                    xy = a.coords[shift.repeat(counts) + np.arange(total, dtype=np.int64)]
            self._vertices = Vertices(xy, starts, counts)
        return self._vertices

    @property
    def anchors(self) -> np.ndarray:
        """``(m, 2)``: where to point a labeler at each annotation (and, for points, the point itself): a box's
        top-left corner (rotated with the box), the first vertex of anything else."""
        a = self.annotations
        positions = self.positions
        if not len(positions):
            return np.zeros((0, 2))
        counts = a.counts[positions]
        if counts.all():
            return a.coords[a.offsets[positions]]
        out = np.full((len(positions), 2), np.nan)
        has = counts > 0
        out[has] = a.coords[a.offsets[positions[has]]]
        return out

    # -- narrowing -------------------------------------------------------------------------------------------------
    def select(self, type: str | Iterable[str] | None = None, labels: str | Iterable[str] | None = None
               ) -> "Selection":
        """The annotations of this selection of these geometry types and labels (see :func:`select`)."""
        if type is None and labels is None:
            return self
        every = select(self.annotations, type=type, labels=labels).positions
        return Selection(self.annotations, self.positions[np.isin(self.positions, every, assume_unique=True)])

    def of_type(self, *types: str) -> "Selection":
        return self.select(type=types)

    def where(self, mask: Any) -> "Selection":
        """The annotations where ``mask`` (a boolean array aligned with this selection) is true."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.positions.shape:
            raise ValueError(f"where(): the mask has shape {mask.shape}, the selection {self.positions.shape}")
        return Selection(self.annotations, self.positions[mask])

    # -- meeting other annotations ------------------------------------------------------------------------------
    def pairs(self, other: "Selection | None" = None, *, grow: float = 0.0) -> Pairs:
        """Pairs of annotations whose shapes' envelopes meet (touching included; each grown by ``grow`` px on every
        side): the candidates to compare exactly, found without building any geometry.

        ``sel.pairs()``: pairs within this selection, each once, ``first`` before ``second`` in request order.
        ``sel.pairs(other)``: ``first`` from this selection, ``second`` from ``other``, sorted by ``first`` then
        ``second`` (an annotation never pairs with itself; one in both selections can appear on either side). Only
        annotations that have a shape take part (a polygon with 2 vertices has none). The work grows with the
        annotations and the pairs found; beyond MAX_CANDIDATES pairs it raises WorkLimitExceeded."""
        geo = self.annotations.geometry
        mine = self.positions[geo.exists[self.positions]]
        if other is None:
            found = geo.meeting_pairs(mine, grow, limit=MAX_CANDIDATES)  # bounded sweep (validator/geometry/pairs.py)
            if not found.complete:
                raise WorkLimitExceeded("pair candidates")
            geo.stats["pair_candidates"] = geo.stats.get("pair_candidates", 0) + len(found.i)
            return Pairs(found.i, found.j)
        theirs = other.positions[geo.exists[other.positions]]
        if not len(mine) or not len(theirs):
            return Pairs(_NO_POSITIONS, _NO_POSITIONS)
        grown = np.array([-grow, -grow, grow, grow]) if grow else 0.0
        tree = shapely.STRtree(shapely.box(*(geo.envelopes[theirs] + grown).T))
        queries = shapely.box(*(geo.envelopes[mine] + grown).T)
        step = max(1, _CHUNK_CANDIDATES // len(theirs))  # each query's output is bounded (memory)
        firsts, seconds = [], []
        left = MAX_CANDIDATES
        for start in range(0, len(mine), step):
            qi, qj = tree.query(queries[start:start + step])
            left -= len(qi)
            if left < 0:
                raise WorkLimitExceeded("pair candidates")
            firsts.append(mine[start + qi])
            seconds.append(theirs[qj])
        first, second = np.concatenate(firsts), np.concatenate(seconds)
        distinct = first != second
        first, second = first[distinct], second[distinct]
        order = np.lexsort((second, first))
        geo.stats["pair_candidates"] = geo.stats.get("pair_candidates", 0) + len(first)
        return Pairs(first[order], second[order])

    def inside(self, shapes: "Selection") -> np.ndarray:
        """For each annotation of this selection, whether its anchor point (the point itself, for points) lies in
        or on at least one of ``shapes`` (boxes, rotated boxes, polygons, ellipses, cuboid footprints; lines and
        points hold nothing): a boolean array aligned with this selection.

        The work grows with the number of points and shapes and with the (point, shape) pairs whose envelopes meet,
        counted once for identical points and identical boxes; beyond MAX_CANDIDATES such pairs it raises
        WorkLimitExceeded (the engine reports the check as not completed)."""
        geo = self.annotations.geometry
        a = self.annotations
        out = np.zeros(len(self.positions), dtype=bool)
        holders = shapes.positions[geo.exists[shapes.positions]]
        codes = a.type_codes[holders]
        holders = holders[(codes != TYPE_CODE["line"]) & (codes != TYPE_CODE["point"])]
        if not len(self.positions) or not len(holders):
            return out
        pts = self.anchors
        ok = np.isfinite(pts).all(axis=1)
        unique, back = np.unique(pts[ok], axis=0, return_inverse=True)  # identical points are looked at once
        env = geo.envelopes[holders]
        aligned = (a.type_codes[holders] == _AXIS_ALIGNED_BOX) & (a.box[holders, 4] == 0.0)
        # identical axis-aligned boxes hold the same points: keep one of each
        box_env, first = np.unique(env[aligned], axis=0, return_index=True)
        boxes = holders[aligned][first]
        others = holders[~aligned]
        found = np.zeros(len(unique), dtype=bool)
        budget = [MAX_CANDIDATES]
        if len(boxes):
            found |= _points_in(unique, shapely.box(*box_env.T), False, geo, budget)
        if len(others):
            rest = (~found).nonzero()[0]
            found[rest] = _points_in(unique[rest], geo.geoms_of(others), True, geo, budget)
        out[ok] = found[back.reshape(-1)]
        return out

    # -- reporting -------------------------------------------------------------------------------------------------
    def report(self, texts: str | Iterable[str], *, at: Any = "anchor", error_type: str | None = None
               ) -> list[Issue]:
        """One issue on each annotation of this selection: ``sel.where(bad).report("This box is empty.")``.

        ``texts``: one sentence for all, or one per annotation (aligned with the selection). ``at``: ``"anchor"``
        (default: each annotation's anchor, see ``anchors``), ``"centre"`` (the middle of its bounds), ``None`` (no
        location), an ``(m, 2)`` array of one point each, or a list of per-annotation locations (each as
        ``Issue.on`` takes it). ``error_type``: replaces the rule id as the errorType."""
        positions = self.positions.tolist()
        m = len(positions)
        if isinstance(texts, str) or texts is None:
            texts = [texts] * m
        else:
            texts = list(texts)
            if len(texts) != m:
                raise ValueError(f"report(): {len(texts)} texts for {m} annotations")
        uuids = self.annotations.uuids
        if at is None:
            return [Issue(uuid=uuids[p], extra=t, error_type=error_type) for p, t in zip(positions, texts)]
        if isinstance(at, str):
            if at == "anchor":
                points = self.anchors
            elif at in ("centre", "center"):
                b = self.bounds
                points = np.column_stack([(b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0])
            else:
                raise ValueError(f"report(): at={at!r} must be 'anchor', 'centre', None, points or locations")
            at = points
        if isinstance(at, np.ndarray) and at.ndim == 2 and at.shape == (m, 2):
            isfinite = math.isfinite
            out = []
            for p, t, (x, y) in zip(positions, texts, at.astype(float, copy=False).tolist()):
                loc = ((x, y),) if isfinite(x) and isfinite(y) else ()
                out.append(Issue(uuid=uuids[p], extra=t, locations=loc, error_type=error_type))
            return out
        at = list(at)
        if len(at) != m:
            raise ValueError(f"report(): {len(at)} locations for {m} annotations")
        return [Issue.on(uuids[p], t, at=where, error_type=error_type) for p, t, where in zip(positions, texts, at)]


def _points_in(points: np.ndarray, shapes: np.ndarray, exact: bool, geo: GeometryIndex, budget: list[int]
               ) -> np.ndarray:
    """Whether each (distinct) point lies in or on one of ``shapes`` (shapely geometries). ``exact=False``: the
    shapes are axis-aligned boxes, whose envelope test is exact. One STRtree over the shapes, queried with the
    points in chunks whose candidate output is bounded (memory), the total bounded by ``budget``."""
    found = np.zeros(len(points), dtype=bool)
    if not len(points):
        return found
    tree = shapely.STRtree(shapes)
    step = max(1, _CHUNK_CANDIDATES // len(shapes))
    stats = geo.stats
    for start in range(0, len(points), step):
        part = points[start:start + step]
        which, rows = tree.query(shapely.points(part), predicate="intersects" if exact else None)
        budget[0] -= len(which)
        stats["point_candidates"] = stats.get("point_candidates", 0) + len(which)
        if budget[0] < 0:
            raise WorkLimitExceeded("point-in-shape candidates")
        found[start + which] = True
    return found


def analysis(func: Callable) -> Callable:
    """Declare a shared analysis: a function of the request (``func(ctx, *args)``) computed once per request and
    argument values, and shared by every rule that calls it::

        @analysis
        def label_counts(ctx):
            return collections.Counter(ctx.annotations.labels)

        @rule(...)
        def too_many_cars(anns, ctx, opts):
            if label_counts(ctx)["car"] > opts["max"]: ...

    Arguments must be hashable, or a :class:`Selection` (keyed by its annotations) or a numpy array (keyed by its
    values). The result is shared: never modify it. Dropped with the request."""
    @functools.wraps(func)
    def shared(ctx, *args):
        key = (shared, *(_key_of(a) for a in args))
        try:
            return ctx._memo[key]
        except KeyError:
            value = ctx._memo[key] = func(ctx, *args)
            return value

    shared.__analysis__ = func  # type: ignore[attr-defined]
    return shared


def params_analysis(func: Callable | None = None, *, weight: Callable[[Any], int] | None = None) -> Callable:
    """Declare an analysis of the task's params alone: ``func(task, *args)`` (``task``: the request's TaskSpec) is
    computed once per params and argument values, and shared by every later request whose params are the same
    (Scale sends a project's params with every task of it)::

        @params_analysis
        def box_labels(task):
            return sorted(task.geometries["box"].labels) if "box" in task.geometries else []

    ``func`` may read only what the params give (``task.geometries``, ``task.attributes``, ``task.padding_x`` /
    ``padding_y``) and its arguments, which must be hashable; ``task.conditions_mode`` (the engine's setting) is
    part of the key. Never the request's annotations, task id, metadata or image size: those differ between the
    requests that share the value. The value is shared: never modify it (copy what a request changes).

    What is kept per params is bounded (validator/scale/task.py ``ParamsMemo``): ``weight(value)`` says what a
    value costs (default 1 unit; give the number of items of a large set), and once the bound is reached values
    are computed per call, not kept."""
    def declare(func: Callable) -> Callable:
        @functools.wraps(func)
        def shared(ctx_or_task, *args):
            task = getattr(ctx_or_task, "task", ctx_or_task)  # a rule's ctx, or the TaskSpec itself
            return task.params_memo.get((shared, task.conditions_mode, *args), lambda: func(task, *args), weight)

        shared.__analysis__ = func  # type: ignore[attr-defined]
        return shared

    return declare if func is None else declare(func)


def _key_of(value: Any) -> Any:
    if isinstance(value, Selection):
        return ("selection", value.key)
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, np.ascontiguousarray(value).tobytes())
    return value
