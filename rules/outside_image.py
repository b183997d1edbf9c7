"""Every vertex inside the image (extended by the task's padding)."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, rule

from ._options import Float, Integer
from ._shape_support import plural, px, row_owners, selected, view

# px, always added to the tolerance: float noise is not "outside" (rotated corners: cos(pi/2) is 6e-17, not 0; exports
# through float32 leave -5.96e-06 for 0, and float32 rounds coordinates up to 8000 px by up to 5e-4)
_EPS = 1e-3
_BOX_CORNERS = ("top-left", "top-right", "bottom-right", "bottom-left")

_NON_NEGATIVE = validate.Range(min=0)


class InsideImageOptions(Options):
    tolerance = Float(load_default=2.0, validate=_NON_NEGATIVE, metadata={
        "description": "How far (px, measured from the image border plus padding) a vertex may lie beyond it "
                       "before it is reported: a click on the border lands up to a pixel or two out, and exports "
                       "leave float noise (-6e-06); 0 reports anything beyond float rounding."})
    max_locations = Integer(load_default=10, validate=_NON_NEGATIVE, metadata={
        "description": "At most this many out-of-image vertices are pointed at per annotation (all are counted)."})


@rule(
    id="outside_image",
    summary="A vertex, box corner, cuboid corner, ellipse point or point lies outside the image (plus padding).",
    why="""
        A shape that reaches outside the picture marks pixels that do not exist: the part outside is cropped or
        clamped by whoever uses the labels, so the stored shape no longer matches the object. It usually comes from a
        vertex dragged past the edge by accident. Touching the border is fine (x = 0 and x = image width are inside),
        and the task's `padding` (or `paddingX` / `paddingY`, each overriding `padding`) extends the allowed area on
        each side, as Scale's labeling tool does. Rotated boxes are checked at their rotated corners, cuboids at
        their six vertices, ellipses at their four points. The image size comes from the task's metadata (or the
        project's configured size); the rule is skipped when it is unknown.

        A vertex up to `tolerance` (2 px) past the edge is accepted: on real human annotations (docs/calibration.md)
        every vertex that close was a click on the border or float noise, never a damaged shape. Datasets whose
        boxes legitimately reach past the border (people cut by the image edge, boxed at their full extent) need
        the task's `padding` (docs/configuration.md).

        Example: on a 1920 by 1080 px image without padding, a polygon vertex at x = 1935 gives "Vertex 3 of the
        polygon is 15 px outside the image (the image is 1920 by 1080 px)." at that vertex.
    """,
    per="task",
    cost="linear",
    needs_image_size=True,
    options=InsideImageOptions,
)
def outside_image(anns, ctx, opts):
    if not len(anns):
        return
    task = ctx.task
    w, h = float(task.image_width), float(task.image_height)
    pad_x, pad_y = float(task.padding_x), float(task.padding_y)
    tol = max(float(opts["tolerance"]), 0.0)
    x0, x1, y0, y1 = -pad_x, w + pad_x, -pad_y, h + pad_y
    xy = ctx.annotations.coords
    x, y = xy[:, 0], xy[:, 1]
    # only vertices beyond an edge can be far outside: measure those (few), not every vertex
    rows = ((x < x0) | (x > x1) | (y < y0) | (y > y1)).nonzero()[0]
    if not len(rows):
        return
    owner = row_owners(ctx, rows)
    if len(anns) < len(ctx.annotations):
        mine = selected(ctx, anns.positions)[owner]
        rows, owner = rows[mine], owner[mine]
    x, y = x[rows], y[rows]
    dx = np.maximum(np.maximum(x0 - x, x - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - y, y - y1), 0.0)
    beyond = np.hypot(dx, dy)
    out = beyond > tol + _EPS
    rows, owner, beyond = rows[out], owner[out], beyond[out]
    if not len(rows):
        return
    area = _area_text(w, h, pad_x, pad_y)
    cap = max(int(opts["max_locations"]), 0)
    # rows ascend, so each annotation's rows are one run: cut at the changes of owner
    cuts = [0, *((owner[1:] != owner[:-1]).nonzero()[0] + 1).tolist(), len(rows)]
    owners, rows_list, beyond_list = owner.tolist(), rows.tolist(), beyond.tolist()
    edges = ctx.annotations.edges
    for a, b in zip(cuts, cuts[1:]):
        pos = owners[a]
        ann = view(ctx, pos)
        start = int(edges[pos])
        group = rows_list[a:b]
        numbers = [r - start for r in group]
        worst = max(beyond_list[a:b])
        # coordinates of well-formed annotations are finite: the locations need no cleaning
        yield Issue(uuid=ann.uuid, extra=_message(ann, numbers, worst, area),
                    locations=tuple(map(tuple, xy[group[:cap]].tolist())))


def _area_text(w: float, h: float, pad_x: float, pad_y: float) -> str:
    text = f"the image is {px(w)} by {px(h)} px"
    if pad_x and pad_x == pad_y:
        text += f", with {px(pad_x)} px of padding on every side"
    elif pad_x and pad_y:
        text += f", with {px(pad_x)} px of padding left and right and {px(pad_y)} px at the top and bottom"
    elif pad_x:
        text += f", with {px(pad_x)} px of padding left and right"
    elif pad_y:
        text += f", with {px(pad_y)} px of padding at the top and bottom"
    return text


def _message(ann, numbers: list[int], worst: float, area: str) -> str:
    n = len(numbers)
    by = f"{px(worst)} px" if worst >= 0.005 else "a fraction of a pixel"

    t = ann.type
    if t == "point":
        return f"The point is {by} outside the image ({area})."
    if n == 1:
        i = numbers[0]
        if t == "box":
            what = f"The box's {_BOX_CORNERS[i]} corner" if not ann.is_rotated else f"Corner {i + 1} of the box"
        elif t == "cuboid":
            desc = ann.vertex_descriptions[i] if i < len(ann.vertex_descriptions) else None
            what = f"The cuboid's {desc} vertex" if desc else f"Corner {i + 1} of the cuboid"
        elif t == "ellipse":
            what = f"Point {i + 1} of the ellipse"
        else:
            what = f"Vertex {i + 1} of the {t}"
        return f"{what} is {by} outside the image ({area})."
    if t in ("box", "cuboid"):
        what = f"{plural(n, 'corner')} of the {t}"
    elif t == "ellipse":
        what = f"{plural(n, 'point')} of the ellipse"
    else:
        what = f"{plural(n, 'vertex', 'vertices')} of the {t}"
    return f"{what[0].upper()}{what[1:]} are outside the image, by up to {by} ({area})."
