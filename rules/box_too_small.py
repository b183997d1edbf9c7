"""Box size: boxes (and cuboid front faces) at least the task's ``min_width`` / ``min_height``, never empty."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, fields, rule

from ._support import anchored, cuboid_faces, num, px, types_of
from ._options import Float


class BoxSizeOptions(Options):
    min_width = Float(
        load_default=None, allow_none=True, validate=validate.Range(min=0),
        metadata={"description": "Minimum width in pixels, added to the task's own `min_width` (the larger of the "
                                 "two applies). None: the task's value only."})
    min_height = Float(
        load_default=None, allow_none=True, validate=validate.Range(min=0),
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
    cost="linear",
)
def box_too_small(anns, ctx, opts):
    a = ctx.annotations
    pos = anns.positions
    types = types_of(ctx, anns)
    if "box" in types:
        min_w, min_h = _minimums(ctx, "box", opts)
        # Every box at once: the box column holds NaN (never too small) on the other annotations' rows.
        w, h = a.box[:, 2], a.box[:, 3]
        bad = ((w < _at_least_positive(min_w)) | (h < _at_least_positive(min_h))).nonzero()[0]
        if len(bad) and len(pos) != len(a):
            bad = bad[_selected(a, pos)[bad]]  # boxes out of the instance's scope
        if len(bad):
            yield from anchored(ctx, bad, (_text("Box", bw, bh, min_w, min_h)
                                           for bw, bh in zip(w[bad].tolist(), h[bad].tolist())))
    if "cuboid" in types:
        min_w, min_h = _minimums(ctx, "cuboid", opts)
        faces = cuboid_faces(ctx)  # NaN (never too small) where there is no front face to measure
        w, h = faces[:, 0], faces[:, 1]
        bad = ((w < _at_least_positive(min_w)) | (h < _at_least_positive(min_h))).nonzero()[0]
        if len(bad) and len(pos) != len(a):
            bad = bad[_selected(a, pos)[bad]]
        for p, fw, fh, x, y in zip(bad.tolist(), w[bad].tolist(), h[bad].tolist(), faces[bad, 2].tolist(),
                                   faces[bad, 3].tolist()):
            yield Issue.on(a.uuids[p], _text("The cuboid's front face", fw, fh, min_w, min_h), at=(x, y))


def _at_least_positive(minimum: float) -> float:
    """The bound under which a size is flagged: the minimum, or the smallest positive float when there is none
    (``size < 5e-324`` is ``size <= 0``: an empty or negative box is always flagged)."""
    return minimum if minimum > 0 else _SMALLEST


_SMALLEST = float(np.nextafter(0.0, 1.0))


def _selected(a, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(a), dtype=bool)
    mask[positions] = True
    return mask


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
