"""The label taxonomy: an annotation's geometry is one the task asked for, and its label is a leaf of that
geometry's ``objects_to_annotate``.

Scale keeps one taxonomy per geometry (``params.geometries.<type>.objects_to_annotate``), nested with
``LabelDescription`` choices / subchoices; only leaves can be chosen, so a group name (a choice with subchoices) is
never a valid label, and a label of the polygon taxonomy is not a valid box label.
"""
from __future__ import annotations

import numpy as np

from validator import Options, fields, rule
from validator.scale.annotations import GEOMETRY_TYPES, TYPE_CODE

from ._support import (anchored, group_leaves, label_index, names, same_ignoring_case, type_label_pairs,
                       types_of)

PLURAL = {"box": "boxes", "polygon": "polygons", "line": "lines", "point": "points", "cuboid": "cuboids",
          "ellipse": "ellipses"}


@rule(
    id="geometry_not_requested",
    summary="An annotation of a geometry type the task did not ask for (not a key of params.geometries).",
    why="""
        The task lists the shapes it wants in `params.geometries`; anything else is not part of the job and
        will not be used, and usually means the wrong tool was picked (a polygon drawn where only boxes were
        requested). Tasks that list no geometry at all are not checked.

        Example: a task with `geometries = {"box": {...}}` and a response containing a polygon gives
        "Polygons are not part of this task; use a box."
    """,
    per="task",
    cost="linear",
)
def geometry_not_requested(anns, ctx, opts):
    requested = ctx.task.geometries
    if not requested or not len(anns) or types_of(ctx, anns) <= requested.keys():
        return
    unrequested = np.array([g not in requested for g in GEOMETRY_TYPES])  # by type code
    if not unrequested.any():
        return
    pos = anns.positions
    bad = pos[unrequested[ctx.annotations.type_codes[pos]]]
    if not len(bad):
        return
    wanted = [g for g in PLURAL if g in requested]
    use = f"use a {wanted[0]}" if len(wanted) == 1 else f"use one of: {names(wanted)}"
    type_names = ctx.annotations.type_names
    yield from anchored(ctx, bad, (f"{PLURAL[type_names[p]].capitalize()} are not part of this task; {use}."
                                   for p in bad.tolist()))


class TaxonomyOptions(Options):
    check_unrestricted = fields.Boolean(
        load_default=False,
        metadata={"description": "Also report labels of a geometry whose `objects_to_annotate` is empty. Scale does "
                                 "not restrict the label then, so by default any label is accepted."})


@rule(
    id="label_not_in_taxonomy",
    summary="A label that is not a leaf of its geometry's objects_to_annotate (a group name, a label of another "
            "geometry, or an unknown label).",
    why="""
        Each geometry has its own list of labels in `params.geometries.<type>.objects_to_annotate`, and only
        its leaves can be chosen: a group such as `vehicle` with subchoices `Car` and `truck_suv` is a heading,
        not a label. A label from another geometry's list (a polygon label on a box) or an unknown label
        (a typo, a label from an older version of the taxonomy) cannot be mapped to a class when training.
        A geometry whose `objects_to_annotate` is empty accepts any label, as Scale does.

        Example: a box labelled `vehicle` gives "'vehicle' is a group; choose one of Car, truck_suv."; a box
        labelled `road` when `road` is a polygon label gives "'road' is a polygon label; box labels are ...".
    """,
    options=TaxonomyOptions,
    per="task",
    cost="linear",
)
def label_not_in_taxonomy(anns, ctx, opts):
    geos = ctx.task.geometries
    if not len(anns):
        return
    check_all = opts["check_unrestricted"]
    allowed = {g: spec.labels for g, spec in geos.items() if spec.labels or check_all}
    if not allowed or all(g not in allowed or label in allowed[g] for g, label in type_label_pairs(ctx, anns)):
        return
    # Decided once per distinct (geometry, label): there are few of them.
    labels, label_of = label_index(ctx)
    wrong = np.zeros((len(GEOMETRY_TYPES), len(labels)), dtype=bool)
    for g, leaves in allowed.items():
        if g in TYPE_CODE:
            wrong[TYPE_CODE[g]] = [label not in leaves for label in labels]
    a = ctx.annotations
    pos = anns.positions
    everything = len(pos) == len(a)  # the selection is every annotation, in order
    bad = (wrong[a.type_codes, label_of] if everything else wrong[a.type_codes[pos], label_of[pos]]).nonzero()[0]
    if not len(bad):
        return
    bad = bad if everything else pos[bad]
    texts: dict[tuple[str, str], str] = {}
    for p in bad.tolist():
        key = (a.labels[p], a.type_names[p])
        if key not in texts:
            texts[key] = _explain(*key, ctx)
    yield from anchored(ctx, bad, (texts[a.labels[p], a.type_names[p]] for p in bad.tolist()))


def _explain(label: str, type_: str, ctx) -> str:
    spec = ctx.task.geometries[type_]
    choose = f"choose one of {names(spec.label_order)}" if spec.label_order else "this task lists no labels for it"
    if label in spec.parent_labels:
        sub = group_leaves(spec.options.get("objects_to_annotate") or (), label)
        return f"'{label}' is a group; choose one of {names(sub or spec.label_order)}."
    slip = same_ignoring_case(label, spec.label_order)
    if slip is not None:
        return f"'{label}' is not a {type_} label of this task; did you mean '{slip}'?"
    other = [g for g in PLURAL if g != type_ and g in ctx.task.geometries and label in ctx.task.geometries[g].labels]
    if other:
        return f"'{label}' is a {other[0]} label; {type_} labels are {names(spec.label_order)}." if spec.label_order \
            else f"'{label}' is a {other[0]} label, not a {type_} label."
    return f"'{label}' is not a {type_} label of this task; {choose}."
