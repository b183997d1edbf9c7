"""cuboid_face_shape: the front face is a proper quadrilateral (geometry: validator/geometry/cuboids.py)."""
from __future__ import annotations

import numpy as np

from validator import Issue, Options, fields, rule
from validator.geometry.cuboids import FACE as _FACE, VERTEX as _V, flat_and_simple

from ._cuboids import canonical
from ._shape_support import view

class FaceOptions(Options):
    check_side_face = fields.Boolean(load_default=True, metadata={
        "description": "Also require the side face's top corner to be above its bottom corner."})


@rule(
    id="cuboid_face_shape",
    summary="A cuboid whose front face is not a proper quadrilateral: corners swapped, crossing or flat.",
    why="""
        The front face of a cuboid is the quadrilateral face-topleft, face-topright, face-bottomright,
        face-bottomleft: its top corners must be above its bottom corners, its left corners left of its right
        corners, and its outline must enclose an area (at least one square pixel) without crossing itself.
        Swapped corners (a face drawn upside down or mirrored) turn the 3D box inside out for everything that
        reconstructs it. The side face's
        top corner must be above its bottom corner too (`check_side_face`). The side face may be on the right or
        on the left of the front face.

        Example: a cuboid whose face-topright corner is at x = 580 while its face-topleft corner is at x = 600
        gives "The cuboid's face-topright corner is not right of its face-topleft corner." at both corners.
    """,
    geometries=("cuboid",),
    options=FaceOptions,
    per="task",
    cost="linear",
)
def cuboid_face_shape(anns, ctx, opts):
    pos, V = canonical(anns, ctx)
    if not len(pos):
        return
    tl, tr, br, bl = (V[:, _V[d]] for d in _FACE)
    st, sb = V[:, _V["side-topcorner"]], V[:, _V["side-bottomcorner"]]
    checks = [  # (bad mask, message, corners to point at)
        (tr[:, 0] <= tl[:, 0], "The cuboid's face-topright corner is not right of its face-topleft corner.",
         ("face-topleft", "face-topright")),
        (br[:, 0] <= bl[:, 0], "The cuboid's face-bottomright corner is not right of its face-bottomleft corner.",
         ("face-bottomleft", "face-bottomright")),
        (bl[:, 1] <= tl[:, 1], "The cuboid's face-bottomleft corner is not below its face-topleft corner.",
         ("face-topleft", "face-bottomleft")),
        (br[:, 1] <= tr[:, 1], "The cuboid's face-bottomright corner is not below its face-topright corner.",
         ("face-topright", "face-bottomright")),
    ]
    flat, simple = flat_and_simple(np.stack([tl, tr, br, bl], axis=1))
    swapped = np.zeros(len(pos), dtype=bool)
    for mask, _, _ in checks:
        swapped |= mask
    # One explanation per face: flat says it all; swapped corners explain a crossing; else a crossing alone.
    checks = [(m & ~flat, t, n) for m, t, n in checks]
    checks.append((~flat & ~swapped & ~simple, "The cuboid's front face crosses itself.", _FACE))
    checks.append((flat, "The cuboid's front face has no area.", _FACE))
    if opts["check_side_face"]:
        checks.append((sb[:, 1] <= st[:, 1], "The cuboid's side-bottomcorner is not below its side-topcorner.",
                       ("side-topcorner", "side-bottomcorner")))
    bad_any = np.zeros(len(pos), dtype=bool)
    for mask, _, _ in checks:
        bad_any |= mask
    for i in np.flatnonzero(bad_any).tolist():
        texts, corners = [], []
        for mask, text, names in checks:
            if mask[i]:
                texts.append(text)
                corners += [n for n in names if n not in corners]
        ann = view(ctx, pos[i])
        yield Issue.on(ann, " ".join(texts), at=V[i, [_V[n] for n in corners]])
