"""cuboid_structure: the six described vertices and six described edges Scale defines (reading: rules/_cuboids.py)."""
from __future__ import annotations

import numpy as np

from validator import Issue, Options, fields, rule

from ._cuboids import SHOWN, all_cuboids, edge_problems, edges, vertex_problems
from ._shape_support import selected as _selected
from ._support import cuboid_groups

class StructureOptions(Options):
    check_edges = fields.Boolean(load_default=True, metadata={
        "description": "Also require the six described edges (false: only the vertices are required)."})


@rule(
    id="cuboid_structure",
    summary="A cuboid without exactly the six described vertices and six described edges Scale defines.",
    why="""
        A 2D cuboid is a front face (face-topleft, face-topright, face-bottomright, face-bottomleft) and a side face
        (side-topcorner, side-bottomcorner), with six edges (face-top, face-right, face-bottom, face-left, side-top,
        side-bottom) between them. Every consumer finds the corners by their `description`: a missing, repeated or
        misspelled description, or an edge with a missing coordinate, leaves the cuboid unreadable. It comes from a
        converter or a custom tool, not from drawing. The other cuboid rules check only cuboids that pass this one.

        Example: a cuboid whose vertices include two "face-topleft" and no "face-bottomleft" gives "The cuboid has
        two face-topleft vertices. The cuboid has no face-bottomleft vertex." at the second face-topleft vertex.
    """,
    geometries=("cuboid",),
    options=StructureOptions,
    per="task",
    cost="linear",
)
def cuboid_structure(anns, ctx, opts):
    a = ctx.annotations
    unreadable = np.zeros(len(a), dtype=bool)  # cuboids whose six edges are not all there and readable
    if opts["check_edges"]:
        cuboids, readable, _ = edges(ctx)
        unreadable[cuboids] = ~readable
    in_scope = None if len(anns) == len(all_cuboids(ctx)) else _selected(ctx, anns.positions)
    for described, positions in cuboid_groups(ctx):
        problems, corners = vertex_problems(described)  # the same for every cuboid described alike
        if not problems:
            positions = positions[unreadable[positions]]
        if in_scope is not None:
            positions = positions[in_scope[positions]]
        for p in positions.tolist():
            found, at = problems, [a.coords[a.offsets[p] + i] for i in corners]
            if unreadable[p]:  # say what is wrong with its edges
                of_edges, edge_at = edge_problems(a.cuboid_edges.get(p))
                found = [*problems, *of_edges]
                at += edge_at
            if found:
                more = len(found) - SHOWN
                text = " ".join(found[:SHOWN]) + (f" ({more} more problem{'s' if more > 1 else ''}.)"
                                                   if more > 0 else "")
                yield Issue.on(a.uuids[p], text, at=at[:10])
