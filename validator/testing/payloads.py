"""Seeded generator of realistic ``{task, response}`` bodies in Scale's imageannotation format.

Used by the benchmark (``bench/run.py``) and by tests that need large, known-good or known-bad tasks::

    from validator.testing.payloads import make_body, defects_of
    body = make_body(1000, seed=0)                          # realistic mix, no defects
    body = make_body(2000, mix="boxes")                     # 2,000 well-formed, non-overlapping boxes
    body = make_body(1000, seed=1, defect_rate=0.03)        # 30 deterministic defects of 6 kinds
    defects_of(body)                                        # {uuid: kind} of the planted defects

Guarantees (tested in ``tests/test_payloads.py``):

* Deterministic: the same arguments give the same body (``random.Random(seed)``, no global state, no clock).
* ``len(body["response"]["annotations"]) == n``; uuids are unique uuid4 strings drawn from the seeded RNG.
* Layout: the image is cut into a grid of at least ``n`` cells; annotation ``i`` lives in its own cell, inside a
  margin, so every shape is well inside the image and no two well-formed shapes touch or overlap.
  The image size is picked from ``n`` when not given (1920x1080 up to ~300 annotations, then a square of
  ~80 px cells: 2560x2560 for 1,000, 8000x8000 for 10,000).
* Realistic mix: half boxes, a third polygons (6-10 vertices, star-shaped around the cell centre with sorted
  angles, hence simple), the rest split between lines (2-6 vertices, x strictly increasing, hence simple) and
  points. ``mix="boxes"``: boxes only.
* Labels are leaves of the task's per-geometry taxonomy; attributes are present exactly when their
  ``label_condition`` applies, and valid (category value in its choices, number within min/max on its step).
* ``defect_rate > 0``: ``round(n * defect_rate)`` annotations are replaced by defects, cycling through
  ``DEFECT_KINDS``. They are listed in ``task.metadata.generator.defects`` (``defects_of(body)``), so tests know
  exactly which issues to expect. Defect shapes may overlap others (a duplicate box overlaps its source, by design);
  the well-formed ones never do.

This module has no dependency beyond the standard library and does not import the rest of ``validator``.
"""

from __future__ import annotations

import math
import random
import uuid as _uuid

__all__ = ["make_body", "defects_of", "default_image_size", "DEFECT_KINDS", "TAXONOMY"]

#: The kinds of planted defects, in the order they are cycled through.
DEFECT_KINDS = (
    "box_too_small",  # a box narrower than params.geometries.box.min_width
    "label_not_in_taxonomy",  # label is not a leaf of the geometry's objects_to_annotate
    "self_intersecting_polygon",  # a bow-tie polygon
    "vertex_outside_image",  # one vertex 3 px outside the left edge (no padding in the task)
    "duplicate_box",  # a copy of another box of the same label, shifted by 1 px
    "attribute_not_in_choices",  # a category attribute whose value is not one of its choices
)

_MIN_BOX = 8  # params.geometries.box.min_width / min_height
_CELL = 80  # target cell size (px) when the image size is chosen from n
_MIN_CELL = 24  # below this, shapes would be too small to be meaningful

# Per-geometry taxonomies (leaves are distinct across geometries, so a label names one geometry).
_BOX_LABELS = ["traffic_sign",
               {"choice": "vehicle", "subchoices": ["car", {"choice": "truck", "display": "truck or bus"}]},
               {"choice": "person", "subchoices": ["pedestrian", "cyclist"]}]
_POLYGON_LABELS = ["road_marking",
                   {"choice": "area",
                    "subchoices": ["vegetation", {"choice": "building", "display": "building / wall"}]}]
_LINE_LABELS = ["lane_line", {"choice": "boundary", "subchoices": ["curb", "fence"]}]
_POINT_LABELS = ["keypoint", {"choice": "landmark", "subchoices": ["pole_base", "sign_corner"]}]

#: Leaves per geometry, with the weights used to draw them.
TAXONOMY = {
    "box": (("car", 0.4), ("truck", 0.1), ("pedestrian", 0.25), ("cyclist", 0.1), ("traffic_sign", 0.15)),
    "polygon": (("road_marking", 0.3), ("vegetation", 0.4), ("building", 0.3)),
    "line": (("lane_line", 0.6), ("curb", 0.25), ("fence", 0.15)),
    "point": (("keypoint", 0.5), ("pole_base", 0.25), ("sign_corner", 0.25)),
}

_OCCLUSION_LABELS = ["car", "truck", "pedestrian", "cyclist"]
_OCCLUSION_CHOICES = ["0%", "25%", "50%", "75%"]
_OCCUPANT_LABELS = ["car", "truck"]
_VISIBILITY_LABELS = ["keypoint", "pole_base", "sign_corner"]
_VISIBILITY_CHOICES = ["visible", "occluded", "truncated"]


def default_image_size(n: int) -> tuple[int, int]:
    """The image size ``make_body`` uses for ``n`` annotations when none is given."""
    cols, rows = _grid(max(n, 1), 1920, 1080)
    if 1920 / cols >= _CELL and 1080 / rows >= _CELL:
        return (1920, 1080)
    side = math.ceil(math.sqrt(n)) * _CELL
    return (side, side)


def _grid(n: int, width: float, height: float) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(n * width / height)))
    rows = max(1, math.ceil(n / cols))
    return cols, rows


def _params() -> dict:
    return {
        "attachment_type": "image",
        "attachment": "https://images.example.com/bench/frame.jpg",
        "geometries": {
            "box": {"objects_to_annotate": _BOX_LABELS, "min_width": _MIN_BOX, "min_height": _MIN_BOX},
            "polygon": {"objects_to_annotate": _POLYGON_LABELS, "min_vertices": 3, "max_vertices": 20},
            "line": {"objects_to_annotate": _LINE_LABELS, "min_vertices": 2, "max_vertices": 15},
            "point": {"objects_to_annotate": _POINT_LABELS},
        },
        "annotation_attributes": {
            "occlusion": {
                "type": "category",
                "description": "How much of the object is hidden?",
                "choices": list(_OCCLUSION_CHOICES),
                "conditions": {"label_condition": {"label": list(_OCCLUSION_LABELS)}},
            },
            "num_occupants": {
                "type": "number",
                "description": "Visible occupants",
                "min": 0,
                "max": 9,
                "step": 1,
                "conditions": {"label_condition": {"label": list(_OCCUPANT_LABELS)}},
            },
            "visibility": {
                "type": "category",
                "description": "Is the point visible?",
                "choices": list(_VISIBILITY_CHOICES),
                "conditions": {"label_condition": {"label": list(_VISIBILITY_LABELS)}},
            },
            "time_of_day": {
                "type": "category",
                "description": "Scene lighting",
                "choices": ["day", "dusk", "night"],
                "conditions": {"is_global": True},
            },
        },
        "padding": 0,
    }


def _pick(rng: random.Random, weighted) -> str:
    x = rng.random()
    acc = 0.0
    for value, w in weighted:
        acc += w
        if x < acc:
            return value
    return weighted[-1][0]


def _attributes(rng: random.Random, label: str) -> dict:
    attrs: dict = {}
    if label in _OCCLUSION_LABELS:
        attrs["occlusion"] = rng.choice(_OCCLUSION_CHOICES)
    if label in _OCCUPANT_LABELS:
        attrs["num_occupants"] = rng.randint(0, 9)
    if label in _VISIBILITY_LABELS:
        attrs["visibility"] = rng.choice(_VISIBILITY_CHOICES)
    return attrs


def _r(v: float) -> float:
    return round(v, 2)


def _types(n: int, mix: str, rng: random.Random) -> list[str]:
    if mix == "boxes":
        return ["box"] * n
    if mix != "realistic":
        raise ValueError(f"mix must be 'realistic' or 'boxes', not {mix!r}")
    boxes = round(n / 2)
    polygons = min(round(n / 3), n - boxes)
    rest = n - boxes - polygons
    lines = (rest + 1) // 2
    types = ["box"] * boxes + ["polygon"] * polygons + ["line"] * lines + ["point"] * (rest - lines)
    rng.shuffle(types)
    return types


def _shape(rng: random.Random, kind: str, cell: tuple[float, float, float, float], uuid: str) -> dict:
    """A well-formed annotation of ``kind`` strictly inside ``cell`` (x0, y0, x1, y1) minus a margin."""
    x0, y0, x1, y1 = cell
    cw, ch = x1 - x0, y1 - y0
    mx, my = 0.12 * cw, 0.12 * ch
    ix0, iy0, iw, ih = x0 + mx, y0 + my, cw - 2 * mx, ch - 2 * my  # inner area
    label = _pick(rng, TAXONOMY[kind])
    ann: dict = {"uuid": uuid, "type": kind, "label": label}
    if kind == "box":
        w = max(_MIN_BOX + 2, rng.uniform(0.45, 1.0) * iw)
        h = max(_MIN_BOX + 2, rng.uniform(0.45, 1.0) * ih)
        w, h = min(w, iw), min(h, ih)
        left = ix0 + rng.uniform(0, iw - w)
        top = iy0 + rng.uniform(0, ih - h)
        ann.update(left=_r(left), top=_r(top), width=_r(w), height=_r(h))
    elif kind == "polygon":
        k = rng.randint(6, 10)
        cx, cy = ix0 + iw / 2, iy0 + ih / 2
        rx, ry = iw / 2, ih / 2
        offset = rng.uniform(0, 2 * math.pi)
        step = 2 * math.pi / k
        verts = []
        for j in range(k):
            a = offset + j * step + rng.uniform(-0.3, 0.3) * step  # sorted, gaps in [0.4, 1.6] * step < pi
            rad = rng.uniform(0.45, 1.0)
            verts.append({"x": _r(cx + rad * rx * math.cos(a)), "y": _r(cy + rad * ry * math.sin(a))})
        ann["vertices"] = verts
    elif kind == "line":
        k = rng.randint(2, 6)
        xs = sorted(rng.uniform(ix0, ix0 + iw) for _ in range(k))
        for j in range(1, k):  # strictly increasing x: a simple polyline
            if xs[j] <= xs[j - 1] + 0.5:
                xs[j] = xs[j - 1] + 0.5
        xs = [min(x, ix0 + iw) for x in xs]
        ann["vertices"] = [{"x": _r(x), "y": _r(rng.uniform(iy0, iy0 + ih))} for x in xs]
    else:  # point
        ann.update(x=_r(rng.uniform(ix0, ix0 + iw)), y=_r(rng.uniform(iy0, iy0 + ih)))
    ann["attributes"] = _attributes(rng, label)
    return ann


def make_body(
    n: int,
    *,
    seed: int = 0,
    mix: str = "realistic",
    defect_rate: float = 0.0,
    image_size: tuple[int, int] | None = None,
) -> dict:
    """A ``{"task", "response"}`` lint body with ``n`` annotations (see the module docstring)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= defect_rate <= 1.0:
        raise ValueError("defect_rate must be within [0, 1]")
    rng = random.Random(seed)
    width, height = image_size if image_size is not None else default_image_size(n)
    cols, rows = _grid(max(n, 1), width, height)
    cw, ch = width / cols, height / rows
    if n and (cw < _MIN_CELL or ch < _MIN_CELL):
        raise ValueError(f"{n} annotations do not fit without overlap in a {width}x{height} image")

    def new_uuid() -> str:
        return str(_uuid.UUID(int=rng.getrandbits(128), version=4))

    task_id = f"{rng.getrandbits(96):024x}"
    types = _types(n, mix, rng)
    cells = list(range(cols * rows))
    rng.shuffle(cells)
    cells = cells[:n]
    cell_box = []
    anns = []
    for i, kind in enumerate(types):
        c = cells[i]
        col, row = c % cols, c // cols
        box = (col * cw, row * ch, (col + 1) * cw, (row + 1) * ch)
        cell_box.append(box)
        anns.append(_shape(rng, kind, box, new_uuid()))

    defects: list[dict] = []
    count = round(n * defect_rate)
    if count:
        defects = _plant_defects(rng, anns, cell_box, count, new_uuid)

    task = {
        "task_id": task_id,
        "created_at": "2024-03-01T10:15:00.000Z",
        "updated_at": "2024-03-01T10:15:00.000Z",
        "type": "imageannotation",
        "status": "pending",
        "instruction": "Label every object listed in the taxonomy.",
        "callback_url": "https://hooks.example.com/scale/callback",
        "params": _params(),
        "metadata": {
            "image_width": width,
            "image_height": height,
            "generator": {
                "name": "validator.payloads",
                "seed": seed,
                "mix": mix,
                "defect_rate": defect_rate,
                "defects": defects,
            },
        },
        "project": "bench-project",
        "batch": "bench-batch",
        "is_test": True,
        "tags": [],
        "unique_id": f"bench-{seed}-{n}",
    }
    response = {"annotations": anns, "global_attributes": {"time_of_day": rng.choice(["day", "dusk", "night"])},
                "links": []}
    return {"task": task, "response": response}


def defects_of(body: dict) -> dict[str, str]:
    """``{uuid: defect kind}`` of the defects ``make_body`` planted in ``body``."""
    gen = body.get("task", {}).get("metadata", {}).get("generator", {})
    return {d["uuid"]: d["kind"] for d in gen.get("defects", [])}


def _plant_defects(rng, anns, cell_box, count, new_uuid) -> list[dict]:
    n = len(anns)
    defective: set[int] = set()
    protected: set[int] = set()  # sources of duplicates stay well-formed
    left_column = min(b[0] for b in cell_box)
    out: list[dict] = []

    by_type: dict[str, list[int]] = {}
    for i, a in enumerate(anns):
        by_type.setdefault(a["type"], []).append(i)
    everyone = list(range(n))
    on_left_edge = [i for i in range(n) if cell_box[i][0] == left_column]
    with_choices = [i for i in range(n)
                    if "occlusion" in anns[i]["attributes"] or "visibility" in anns[i]["attributes"]]

    def pick(candidates: list[int]) -> int | None:
        """A random candidate not yet used (rejection sampling, then a scan), or None."""
        if not candidates:
            return None
        for _ in range(8):
            i = rng.choice(candidates)
            if i not in defective and i not in protected:
                return i
        rest = [i for i in candidates if i not in defective and i not in protected]
        return rng.choice(rest) if rest else None

    k = 0
    attempts = 0
    while len(out) < count and attempts < count * len(DEFECT_KINDS) + len(DEFECT_KINDS):
        kind = DEFECT_KINDS[k % len(DEFECT_KINDS)]
        k += 1
        attempts += 1
        j = None
        if kind == "box_too_small":
            i = pick(by_type.get("box", []))
        elif kind == "label_not_in_taxonomy":
            i = pick(everyone)
        elif kind == "self_intersecting_polygon":
            i = pick(by_type.get("polygon", []))
            if i is None:
                i = pick(everyone)
        elif kind == "vertex_outside_image":
            i = pick(on_left_edge)
        elif kind == "duplicate_box":
            j = pick(by_type.get("box", []))
            if j is None:
                continue
            protected.add(j)  # reserve the source before choosing the slot to overwrite
            # overwrite a non-box slot when there is one, so the box count stays as the mix says
            i = pick(by_type.get("polygon", []) + by_type.get("line", []) + by_type.get("point", []))
            if i is None:
                i = pick(by_type.get("box", []))
            if i is None:
                protected.discard(j)
                continue
        else:  # attribute_not_in_choices
            i = pick(with_choices)
        if i is None:
            continue
        a = anns[i]
        if kind == "box_too_small":
            a["width"] = float(_MIN_BOX - 5)
        elif kind == "label_not_in_taxonomy":
            a["label"] = "unicorn"
            a["attributes"] = {}
        elif kind == "self_intersecting_polygon":
            x0, y0, x1, y1 = cell_box[i]
            w, h = x1 - x0, y1 - y0
            ax, bx, ay, by = x0 + 0.2 * w, x0 + 0.8 * w, y0 + 0.2 * h, y0 + 0.8 * h
            label = _pick(rng, TAXONOMY["polygon"])
            anns[i] = {"uuid": a["uuid"], "type": "polygon", "label": label,
                       "vertices": [{"x": _r(ax), "y": _r(ay)}, {"x": _r(bx), "y": _r(by)},
                                    {"x": _r(bx), "y": _r(ay)}, {"x": _r(ax), "y": _r(by)}],
                       "attributes": {}}
        elif kind == "vertex_outside_image":
            _push_outside(a, cell_box[i])
        elif kind == "duplicate_box":
            src = anns[j]
            anns[i] = {"uuid": a["uuid"], "type": "box", "label": src["label"],
                       "left": _r(src["left"] + 1), "top": _r(src["top"] + 1),
                       "width": src["width"], "height": src["height"],
                       "attributes": dict(src["attributes"])}
        else:
            key = "occlusion" if "occlusion" in a["attributes"] else "visibility"
            a["attributes"][key] = "90%" if key == "occlusion" else "invisible"
        defective.add(i)
        out.append({"uuid": anns[i]["uuid"], "kind": kind, "index": i})
    return out


def _push_outside(a: dict, cell) -> None:
    """Move one vertex of ``a`` to x = -3 (3 px left of the image), keeping the shape simple and in its row."""
    x0, y0, x1, y1 = cell
    if a["type"] == "box":
        right = a["left"] + a["width"]
        a["left"] = -3.0
        a["width"] = _r(right + 3.0)
    elif a["type"] == "point":
        a["x"] = -3.0
    elif a["type"] == "line":
        a["vertices"][0]["x"] = -3.0
    else:  # polygon, star-shaped around its centre: insert a vertex at angle pi (straight left of the centre)
        vs = a["vertices"]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2  # the centre the generator drew it around
        ang = [math.atan2(v["y"] - cy, v["x"] - cx) % (2 * math.pi) for v in vs]
        # find consecutive (cyclic) vertices whose angles straddle pi
        k = len(vs)
        for j in range(k):
            a0, a1 = ang[j], ang[(j + 1) % k]
            span = (a1 - a0) % (2 * math.pi)
            if (math.pi - a0) % (2 * math.pi) <= span:
                vs.insert(j + 1, {"x": -3.0, "y": _r(cy)})
                break
