"""Vertex counts: polygons and lines within the task's ``min_vertices`` / ``max_vertices``."""
from __future__ import annotations

import math

import numpy as np
from marshmallow import validate

from validator import Options, fields, params_analysis, rule
from validator.scale.annotations import TYPE_CODE

from ._support import anchored, num
from ._options import Integer

SCALE_DEFAULT_MIN = 1  # Scale's documented default min_vertices for polygons and lines
NOUN = {"polygon": "Polygon", "line": "Line"}


def _count(n: int) -> str:
    return "no vertices" if n == 0 else ("1 vertex" if n == 1 else f"{n} vertices")


class MinVertices(Options):
    min_vertices = Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1),
        metadata={"description": "Minimum number of vertices, added to the task's own `min_vertices` (the larger "
                                 "of the two applies). None: the task's value only."})
    use_task_limits = fields.Boolean(
        load_default=True,
        metadata={"description": "Use `min_vertices` from `params.geometries.polygon` / `.line` (Scale's "
                                 "default is 1 when the task gives none). False: only this rule's option applies."})


class MaxVertices(Options):
    max_vertices = Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1),
        metadata={"description": "Maximum number of vertices, added to the task's own `max_vertices` (the smaller "
                                 "of the two applies). None: the task's value only."})
    use_task_limits = fields.Boolean(
        load_default=True,
        metadata={"description": "Use `max_vertices` from `params.geometries.polygon` / `.line`. False: only this "
                                 "rule's option applies."})


@rule(
    id="too_few_vertices",
    summary="A polygon or line with fewer vertices than the task's min_vertices.",
    why="""
        The task sets `min_vertices` when a shape needs a minimum of detail: a lane line of 2 vertices cannot
        follow a curve, an outline of 3 vertices is only a triangle. Such shapes are usually unfinished. Scale's
        default minimum is 1 vertex; whether a polygon has enough *distinct* vertices to have an area is checked
        by the polygon rules.

        Example: with `min_vertices = 3` for lines, a line of 2 vertices gives "Line has 2 vertices; the minimum
        is 3."
    """,
    geometries=("polygon", "line"),
    options=MinVertices,
    per="task",
    cost="linear",
)
def too_few_vertices(anns, ctx, opts):
    yield from _check(anns, ctx, opts, "min_vertices", low=True)


@rule(
    id="too_many_vertices",
    summary="A polygon or line with more vertices than the task's max_vertices.",
    why="""
        The task sets `max_vertices` when shapes must stay simple (a parking spot as a 4-vertex polygon) or when
        a downstream tool cannot take more points. A shape over the limit is usually traced too finely, or two
        objects were drawn as one.

        Example: with `max_vertices = 4` for polygons, a polygon of 6 vertices gives "Polygon has 6 vertices;
        the maximum is 4."
    """,
    geometries=("polygon", "line"),
    options=MaxVertices,
    per="task",
    cost="linear",
)
def too_many_vertices(anns, ctx, opts):
    yield from _check(anns, ctx, opts, "max_vertices", low=False)


def _limit(task, geometry: str, use_task: bool, own: float | None, name: str, low: bool) -> float | None:
    values = []
    if use_task:
        spec = task.geometries.get(geometry)
        v = spec.option(name) if spec is not None else None
        if v is None and low:
            v = SCALE_DEFAULT_MIN
        if v is not None:
            values.append(v)
    if own is not None:
        values.append(own)
    if not values:
        return None
    return max(values) if low else min(values)


@params_analysis
def _limits(task, name: str, low: bool, use_task: bool, own: float | None) -> np.ndarray | None:
    """The limit in force by type code (none: -inf for a minimum, +inf for a maximum, never crossed); None when no
    type has one. From the task's geometry options and the instance's own, so worked out once per params."""
    limits = [-math.inf if low else math.inf] * len(TYPE_CODE)
    found = False
    for g in NOUN:
        limit = _limit(task, g, use_task, own, name, low)
        if limit is not None:
            limits[TYPE_CODE[g]] = limit
            found = found or not math.isinf(limit)
    if not found:
        return None
    limits = np.array(limits, dtype=np.float64)
    limits.flags.writeable = False  # shared by the requests with these params
    return limits


def _check(anns, ctx, opts, name: str, low: bool):
    a = ctx.annotations
    pos = anns.positions
    limits = _limits(ctx, name, low, bool(opts["use_task_limits"]), opts[name])
    if limits is None:
        return
    counts = a.counts[pos]
    limit_of = limits[a.type_codes[pos]]
    bad = (counts < limit_of if low else counts > limit_of).nonzero()[0]
    if not len(bad):
        return
    word = "minimum" if low else "maximum"
    type_names = a.type_names
    yield from anchored(ctx, pos[bad], (
        f"{NOUN[type_names[p]]} has {_count(n)}; the {word} is {num(limit)}."
        for p, n, limit in zip(pos[bad].tolist(), counts[bad].tolist(), limit_of[bad].tolist())))
