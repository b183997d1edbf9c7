"""Box size: boxes (and cuboid front faces) at least the task's ``min_width`` / ``min_height``, never empty."""
from __future__ import annotations

from operator import attrgetter

import numpy as np

from validator import Issue, Options, fields, rule

from ._support import anchors, cuboid_face, num, px

_BOX_FIELDS = attrgetter("width", "height")


class BoxSizeOptions(Options):
    min_width = fields.Float(
        load_default=None, allow_none=True,
        metadata={"description": "Minimum width in pixels, added to the task's own `min_width` (the larger of the "
                                 "two applies). None: the task's value only."})
    min_height = fields.Float(
        load_default=None, allow_none=True,
        metadata={"description": "Minimum height in pixels, added to the task's own `min_height` (the larger of "
                                 "the two applies). None: the task's value only."})
    use_task_minimums = fields.Boolean(
        load_default=True,
        metadata={"description": "Use `min_width` / `min_height` from `params.geometries.box` (or `.cuboid`). "
                                 "False: only this rule's options apply, so they override the task's values."})


@rule(
    id="box_too_small",
    summary="A box (or a cuboid's front face) narrower or lower than the task's min_width / min_height, or with "
            "a zero or negative width or height.",
    why="""
        The task sets `min_width` / `min_height` for boxes and cuboids because smaller objects are not wanted or
        cannot be labelled reliably; a box below the minimum is usually a stray click or a drag that was cut
        short. A box with zero or negative width or height has no area at all and is always wrong, whatever the
        task says. The bounds are inclusive: a box exactly `min_width` wide is fine. Rotated boxes are measured
        by their own width and height; a cuboid by the width and height of its front face.

        Example: with `min_width = 10`, a box 3 px wide gives "Box is 3 px wide; the minimum is 10 px."
    """,
    geometries=("box", "cuboid"),
    options=BoxSizeOptions,
    per="task",
)
def box_too_small(anns, ctx, opts):
    if not len(anns):
        return
    boxes = anns.of_type("box")
    if len(boxes):
        wh = _box_sizes(ctx, boxes)
        yield from _report(boxes, wh, anchors(ctx, boxes.positions), _minimums(ctx, "box", opts), "Box")
    cuboids = anns.of_type("cuboid")
    if len(cuboids):
        faces = [cuboid_face(a) for a in cuboids]
        keep = [i for i, f in enumerate(faces) if f is not None]
        wh = np.array([faces[i][:2] for i in keep], dtype=float).reshape(-1, 2)
        at = np.array([faces[i][2] for i in keep], dtype=float).reshape(-1, 2)
        yield from _report([cuboids[i] for i in keep], wh, at, _minimums(ctx, "cuboid", opts),
                           "The cuboid's front face")


def _box_sizes(ctx, boxes) -> np.ndarray:
    """(m, 2) widths and heights: from the annotation columns when the set has them, else per annotation."""
    column = getattr(ctx.annotations, "box", None)
    if isinstance(column, np.ndarray):
        return column[boxes.positions, 2:4].astype(float)
    return np.array(list(map(_BOX_FIELDS, boxes)), dtype=float).reshape(-1, 2)


def _minimums(ctx, geometry: str, opts) -> tuple[float, float]:
    """(min_width, min_height) in force; 0 when there is none."""
    spec = ctx.task.geometries.get(geometry)
    mins = []
    for name in ("min_width", "min_height"):
        values = [0.0]
        if opts["use_task_minimums"] and spec is not None:
            v = spec.option(name)
            if v is not None:
                values.append(v)
        if opts[name] is not None:
            values.append(opts[name])
        mins.append(max(values))
    return mins[0], mins[1]


def _report(items, wh: np.ndarray, at: np.ndarray, mins: tuple[float, float], what: str):
    if not len(items):
        return
    min_w, min_h = mins
    w, h = wh[:, 0], wh[:, 1]
    bad = np.flatnonzero((w <= 0) | (h <= 0) | (w < min_w) | (h < min_h))
    for i in bad.tolist():
        yield Issue.on(items[i], _text(what, float(w[i]), float(h[i]), min_w, min_h), at=at[i])


def _text(what: str, w: float, h: float, min_w: float, min_h: float) -> str:
    if w <= 0 or h <= 0:
        problems = []
        for value, name in ((w, "width"), (h, "height")):
            if value < 0:
                problems.append(f"a negative {name} ({px(value)} px)")
            elif value == 0:
                problems.append(f"no {name}")
        return f"{what} has {' and '.join(problems)}; draw it again."
    parts = []
    if w < min_w:
        parts.append((f"{_size(w, min_w)} px wide", f"{px(min_w)} px"))
    if h < min_h:
        parts.append((f"{_size(h, min_h)} px high", f"{px(min_h)} px"))
    if len(parts) == 1:
        (size, minimum), = parts
        return f"{what} is {size}; the minimum is {minimum}."
    return (f"{what} is {parts[0][0]} and {parts[1][0]}; the minimum is {parts[0][1]} wide and "
            f"{parts[1][1]} high.")


def _size(value: float, minimum: float) -> str:
    """The size, with enough digits to differ from the minimum (9.999 is not shown as 10)."""
    shown = px(value)
    return shown if shown != px(minimum) else num(value)
