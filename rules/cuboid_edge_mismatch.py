"""cuboid_edge_mismatch: each described edge joins the two corners it is named after (validator/geometry/cuboids.py)."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, rule
from validator.geometry.cuboids import edge_ends, edge_offsets
from validator.scale.annotations import CUBOID_EDGE_DESCRIPTIONS

from ._cuboids import SHOWN, canonical
from ._options import Float
from ._shape_support import px, view

_NON_NEGATIVE = validate.Range(min=0)


class EdgeOptions(Options):
    tolerance = Float(load_default=1.0, validate=_NON_NEGATIVE, metadata={
        "description": "How far (px) an edge's end may be from the corner it connects."})


@rule(
    id="cuboid_edge_mismatch",
    summary="A cuboid edge that does not connect the two vertices it is named after.",
    why="""
        Each described edge of a cuboid joins two of its vertices: face-top joins face-topleft and face-topright,
        face-right joins face-topright and face-bottomright, face-bottom joins face-bottomleft and
        face-bottomright, face-left joins face-topleft and face-bottomleft, and side-top / side-bottom join the
        front face's top / bottom corner on the side face's side (right or left) to side-topcorner /
        side-bottomcorner. An edge whose ends are elsewhere (more than `tolerance` px) contradicts the vertices,
        usually after an edit that moved one but not the other; consumers reading edges and consumers reading
        vertices then see different boxes. Edge ends may be given in either order.

        Example: a cuboid with face-topright at (820, 400) whose face-top edge ends at (800, 400) gives "The
        cuboid's face-top edge does not end at its face-topright corner (20 px away)." at (800, 400).
    """,
    geometries=("cuboid",),
    options=EdgeOptions,
    per="task",
    cost="linear",
)
def cuboid_edge_mismatch(anns, ctx, opts):
    pos, V, E = canonical(anns, ctx, with_edges=True)
    if not len(pos):
        return
    tol = max(float(opts["tolerance"]), 0.0)
    right, swapped, off_p, off_q = edge_offsets(V, E)
    P, Q = E[:, :, 0:2], E[:, :, 2:4]
    ends_r, ends_l = edge_ends(True), edge_ends(False)
    bad = (off_p > tol) | (off_q > tol)
    for i in np.flatnonzero(bad.any(axis=1)).tolist():
        ann = view(ctx, pos[i])
        ends = ends_r if right[i] else ends_l
        texts, at = [], []
        for k in np.flatnonzero(bad[i]).tolist():
            edge = CUBOID_EDGE_DESCRIPTIONS[k]
            first, second = ends[edge] if not swapped[i, k] else ends[edge][::-1]
            missed = [(first, off_p[i, k], P[i, k]), (second, off_q[i, k], Q[i, k])]
            missed = [(name, d, xy) for name, d, xy in missed if d > tol]
            if len(missed) == 2:
                texts.append(f"The cuboid's {edge} edge does not connect its {ends[edge][0]} and {ends[edge][1]} "
                             f"corners (up to {px(max(d for _, d, _ in missed))} px away).")
            else:
                name, d, _ = missed[0]
                texts.append(f"The cuboid's {edge} edge does not end at its {name} corner ({px(d)} px away).")
            at += [xy for _, _, xy in missed]
        if len(texts) > SHOWN:
            texts = texts[:SHOWN] + [f"({len(texts) - SHOWN} more edges do not match.)"]
        yield Issue.on(ann, " ".join(texts) + " Move a corner of the cuboid so that its edges are redrawn.",
                       at=at[:10])
