"""What every rule receives: the request's task, annotations and geometry, built once and shared (read-only)."""
from __future__ import annotations

import logging
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from validator.scale.annotations import TYPE_CODE, Annotation, AnnotationSet
from validator.geometry.index import GeometryIndex
from validator.scale.task import TaskSpec


class Context:
    """Shared, read-only state of one validation request.

    ``task``: the normalised :class:`TaskSpec`. ``annotations``: every well-formed annotation
    (:class:`AnnotationSet`, ``by_uuid``). ``geometry``: the request's :class:`GeometryIndex` (shapely geometries,
    bounds, STRtree: built lazily, once). ``global_attributes``: ``response.global_attributes``.
    ``response``: the raw response object. ``log``: a logger for rule diagnostics (never log annotation content).
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

    def memo(self, key: Any, build):
        """A value computed once per request and shared, e.g. an analysis used by a whole family of rules:
        ``ctx.memo("attributes", lambda: analyse(ctx))``. Dropped with the request (nothing outlives it)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build()
            return value


class Selection(Sequence[Annotation]):
    """The annotations one rule instance applies to (its geometry types and labels), for task-level rules.

    Iterate it (Annotation views are made on first use), or use ``positions`` (numpy int array into
    ``ctx.annotations`` columns and ``ctx.geometry`` arrays) for vectorised work.
    """

    __slots__ = ("annotations", "positions", "_items")

    def __init__(self, annotations: AnnotationSet, positions: np.ndarray):
        self.annotations = annotations
        self.positions = positions
        self._items: list[Annotation] | None = None

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

    def of_type(self, *types: str) -> "Selection":
        codes = [TYPE_CODE[t] for t in types]
        keep = np.isin(self.annotations.type_codes[self.positions], codes)
        return Selection(self.annotations, self.positions[keep])
