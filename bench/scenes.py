"""Benchmark scenes like production (issue 14): seeded ``{task, response}`` bodies in Scale's imageannotation format.

    from bench.scenes import scene_body, SCENES
    body = scene_body("street", 1000, seed=0)           # a dict; orjson.dumps(body) is the request body

Scenes (each at any annotation count ``n``; the benchmark uses 10, 100, 1,000 and 10,000):

* ``mix``: the realistic mix the last performance round measured on (``validator.testing.payloads.make_body``,
  defect rate 0.03): boxes, small convex polygons, lines and points on a grid, no two shapes overlapping.
* ``street``: a dense street scene. Rows of cars, each car overlapping its neighbour by 30-70% of its width
  (as boxes, or as 10-16 vertex silhouettes), pedestrians in groups of 3-8 overlapping one another, cyclists,
  traffic signs and lights, lane lines; heavy occlusion (the ``occlusion`` attribute says so); 2% near-copies (a
  shape pasted again, moved by 0.5-2% of its size: real duplicates the service must flag) and 3%
  close-but-distinct pairs (a second car mostly hidden behind the first: IoU 0.6-0.85, which must not be
  flagged). The image grows with ``n`` so
  the density (objects per image area) stays that of a crowded 1920x1080 frame with ~100 objects.
* ``stars``: non-convex star-shaped polygons (6-60 vertices, each vertex at its own radius, 0.3-1.0 of the
  maximum) on a jittered grid, so about a fifth of them overlap a neighbour; a quarter are boxes. Almost every
  annotation carries attributes under ``label_condition`` and ``attribute_conditions`` (an ``occluder`` is asked
  for only when ``occlusion`` is not 0%), values exactly where the conditions apply.
* ``outlines``: long outlines: roads, sidewalks and parking lots as thin curved bands (500-2,000 vertices) and
  lane lines, curbs and road edges as polylines (500-2,000 vertices), parallel curves whose bounding boxes overlap
  their neighbours' (the shapes do not). About 34 KB per annotation: only sizes whose body fits the service's
  default 16 MiB limit are measured (``fits_limit``).

Every shape is well-formed (simple polygons, no repeated vertices, inside the image), labels are leaves of the
task's taxonomy, attributes follow the task's ``annotation_attributes``: the service answers no
``malformed_annotation`` / ``non_finite_coordinate`` issue on any of them (``tests/test_bench.py`` checks it);
the only issues expected are the planted defects (``mix``) and near-copies (``street``).

Also here: ``realdata_bodies()`` (the real human-annotated corpus, ``<repo>/../shared/realdata/*.jsonl.gz``, one
body per line) and ``adversarial_bodies()`` (the hostile bodies of issue 10, as bytes).

Deterministic: ``random.Random(seed)``, no global state, no clock. Standard library only (plus ``make_body``).
"""

from __future__ import annotations

import gzip
import math
import os
import random
import uuid as _uuid
from pathlib import Path

import orjson

from validator.testing.payloads import make_body

__all__ = ["SCENES", "SIZES", "DEFAULT_MAX_BODY", "scene_body", "scene_bytes", "fits_limit", "realdata_dir",
           "realdata_bodies", "adversarial_bodies", "FORMAT_ERROR_TYPES"]

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 100, 1000, 10000)
DEFAULT_MAX_BODY = 16 * 1024 * 1024  # the service's default VALIDATOR_MAX_BODY_BYTES (validator/service/settings.py)
#: the issues that say a body is not in Scale's format (rules/annotation_format.py)
FORMAT_ERROR_TYPES = frozenset({"malformed_annotation", "non_finite_coordinate"})

# -- the task shared by street, stars and outlines --------------------------------------------------------------------
_OBJECTS = ["car", "truck", "bus", "pedestrian", "cyclist"]
_VEHICLES = ["car", "truck", "bus"]
_SURFACES = ["road", "sidewalk", "parking_lot"]
_OCCLUSION = ["0%", "25%", "50%", "75%", "90%"]
_OCCLUDED = _OCCLUSION[1:]

_BOX_TAXONOMY = [{"choice": "vehicle", "subchoices": ["car", "truck", "bus"]},
                 {"choice": "person", "subchoices": ["pedestrian", "cyclist"]},
                 {"choice": "traffic_control", "subchoices": ["traffic_sign", "traffic_light"]}]
_POLYGON_TAXONOMY = [{"choice": "object", "subchoices": ["car", "truck", "bus", "pedestrian"]},
                     {"choice": "surface", "subchoices": ["road", "sidewalk", "parking_lot"]},
                     {"choice": "area",
                      "subchoices": ["vegetation", {"choice": "building", "display": "building / wall"}]}]
_LINE_TAXONOMY = ["lane_line", {"choice": "boundary", "subchoices": ["curb", "road_edge"]}]
_POINT_TAXONOMY = ["keypoint"]


def _task_params(max_vertices: int) -> dict:
    return {
        "attachment_type": "image",
        "attachment": "https://images.example.com/bench/street.jpg",
        "geometries": {
            "box": {"objects_to_annotate": _BOX_TAXONOMY, "min_width": 4, "min_height": 4},
            "polygon": {"objects_to_annotate": _POLYGON_TAXONOMY, "min_vertices": 3, "max_vertices": max_vertices},
            "line": {"objects_to_annotate": _LINE_TAXONOMY, "min_vertices": 2, "max_vertices": max_vertices},
            "point": {"objects_to_annotate": _POINT_TAXONOMY},
        },
        "annotation_attributes": {
            "occlusion": {"type": "category", "description": "How much of the object is hidden?",
                          "choices": list(_OCCLUSION), "conditions": {"label_condition": {"label": list(_OBJECTS)}}},
            "occluder": {"type": "category", "description": "What hides it?",
                         "choices": ["vehicle", "person", "static", "unknown"],
                         "conditions": {"label_condition": {"label": list(_OBJECTS)},
                                        "attribute_conditions": [{"occlusion": list(_OCCLUDED)}]}},
            "truncated": {"type": "category", "description": "Cut by the image border?", "choices": ["no", "yes"],
                          "conditions": {"label_condition": {"label": list(_OBJECTS)}}},
            "num_occupants": {"type": "number", "description": "Visible occupants", "min": 0, "max": 60, "step": 1,
                              "conditions": {"label_condition": {"label": list(_VEHICLES)}}},
            "pose": {"type": "category", "description": "Pose", "choices": ["standing", "walking", "sitting"],
                     "conditions": {"label_condition": {"label": ["pedestrian"]}}},
            "light_state": {"type": "category", "description": "Light", "choices": ["red", "yellow", "green", "off"],
                            "conditions": {"label_condition": {"label": ["traffic_light"]}}},
            "surface": {"type": "category", "description": "Surface", "choices": ["asphalt", "concrete", "gravel"],
                        "conditions": {"label_condition": {"label": list(_SURFACES)}}},
            "lane_type": {"type": "category", "description": "Marking", "choices": ["solid", "dashed", "double"],
                          "conditions": {"label_condition": {"label": ["lane_line"]}}},
            "vegetation_kind": {"type": "category", "description": "Kind", "choices": ["tree", "bush", "grass"],
                                "conditions": {"label_condition": {"label": ["vegetation"]}}},
            "floors": {"type": "number", "description": "Visible floors", "min": 1, "max": 80, "step": 1,
                       "conditions": {"label_condition": {"label": ["building"]}}},
            "weather": {"type": "category", "description": "Weather", "choices": ["clear", "rain", "fog", "snow"],
                        "conditions": {"is_global": True}},
        },
        "padding": 0,
    }


def _attributes(rng: random.Random, label: str, occlusion: str | None = None) -> dict:
    """Values for exactly the attributes whose conditions apply to ``label`` (see ``_task_params``)."""
    a: dict = {}
    if label in _OBJECTS:
        a["occlusion"] = occlusion or rng.choice(_OCCLUSION)
        if a["occlusion"] != "0%":
            a["occluder"] = rng.choice(["vehicle", "person", "static", "unknown"])
        a["truncated"] = "no" if rng.random() < 0.9 else "yes"
    if label in _VEHICLES:
        a["num_occupants"] = rng.randint(0, 4 if label == "car" else 40)
    if label == "pedestrian":
        a["pose"] = rng.choice(["standing", "walking", "sitting"])
    if label == "traffic_light":
        a["light_state"] = rng.choice(["red", "yellow", "green", "off"])
    if label in _SURFACES:
        a["surface"] = rng.choice(["asphalt", "concrete", "gravel"])
    if label == "lane_line":
        a["lane_type"] = rng.choice(["solid", "dashed", "double"])
    if label == "vegetation":
        a["vegetation_kind"] = rng.choice(["tree", "bush", "grass"])
    if label == "building":
        a["floors"] = rng.randint(1, 30)
    return a


def _r(v: float) -> float:
    return round(v, 2)


class _Builder:
    """Accumulates annotations with uuids drawn from the scene's RNG."""

    def __init__(self, rng: random.Random, width: float, height: float):
        self.rng, self.width, self.height = rng, width, height
        self.anns: list[dict] = []

    def uuid(self) -> str:
        return str(_uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        return min(max(x, 0.5), self.width - 0.5), min(max(y, 0.5), self.height - 0.5)

    def box(self, label: str, left: float, top: float, w: float, h: float, attrs: dict) -> dict:
        left, top = max(0.0, left), max(0.0, top)
        w, h = min(w, self.width - left), min(h, self.height - top)
        ann = {"uuid": self.uuid(), "type": "box", "label": label, "left": _r(left), "top": _r(top),
               "width": _r(w), "height": _r(h), "attributes": attrs}
        self.anns.append(ann)
        return ann

    def polygon(self, label: str, pts: list[tuple[float, float]], attrs: dict) -> dict:
        ann = {"uuid": self.uuid(), "type": "polygon", "label": label,
               "vertices": [{"x": _r(x), "y": _r(y)} for x, y in (self.clamp(*p) for p in pts)], "attributes": attrs}
        self.anns.append(ann)
        return ann

    def line(self, label: str, pts: list[tuple[float, float]], attrs: dict) -> dict:
        ann = {"uuid": self.uuid(), "type": "line", "label": label,
               "vertices": [{"x": _r(x), "y": _r(y)} for x, y in (self.clamp(*p) for p in pts)], "attributes": attrs}
        self.anns.append(ann)
        return ann


def _star(rng: random.Random, cx: float, cy: float, rx: float, ry: float, k: int, rmin: float,
          jitter: float = 0.3) -> list[tuple[float, float]]:
    """A star-shaped polygon around (cx, cy): ``k`` vertices at sorted angles, each at its own radius in
    [rmin, 1] of (rx, ry). Sorted angles with gaps below pi around an interior centre: simple (non-convex for a
    small ``rmin``)."""
    offset = rng.uniform(0, 2 * math.pi)
    step = 2 * math.pi / k
    pts = []
    for j in range(k):
        a = offset + j * step + rng.uniform(-jitter, jitter) * step
        rad = rng.uniform(rmin, 1.0)
        pts.append((cx + rad * rx * math.cos(a), cy + rad * ry * math.sin(a)))
    return pts


def _body(task_id: str, width: float, height: float, params: dict, anns: list[dict], rng: random.Random,
          scene: str, seed: int) -> dict:
    task = {
        "task_id": task_id,
        "created_at": "2024-03-01T10:15:00.000Z",
        "updated_at": "2024-03-01T10:15:00.000Z",
        "type": "imageannotation",
        "status": "pending",
        "instruction": "Label every object listed in the taxonomy.",
        "callback_url": "https://hooks.example.com/scale/callback",
        "params": params,
        "metadata": {"image_width": int(math.ceil(width)), "image_height": int(math.ceil(height)),
                     "generator": {"name": "bench.scenes", "scene": scene, "seed": seed, "n": len(anns)}},
        "project": "bench-project",
        "batch": "bench-batch",
        "is_test": True,
        "tags": [],
        "unique_id": f"bench-{scene}-{seed}-{len(anns)}",
    }
    response = {"annotations": anns, "global_attributes": {"weather": rng.choice(["clear", "rain", "fog", "snow"])},
                "links": []}
    return {"task": task, "response": response}


# -- (a) the realistic mix ---------------------------------------------------------------------------------------------
def mix_scene(n: int, seed: int = 0) -> dict:
    return make_body(n, seed=seed, mix="realistic", defect_rate=0.03)


# -- (b) dense street --------------------------------------------------------------------------------------------------
def street_scene(n: int, seed: int = 0) -> dict:
    rng = random.Random(seed * 1_000_003 + 2)
    task_id = f"{rng.getrandbits(96):024x}"
    scale = math.sqrt(max(n, 100) / 100)  # ~100 objects per 1920x1080 of image
    width, height = 1920 * scale, 1080 * scale
    b = _Builder(rng, width, height)
    copies = round(0.02 * n)  # near-copies, pasted at the end
    close = round(0.03 * n)  # close but distinct (a car mostly hidden behind another)
    body_n = n - copies - close
    while len(b.anns) < body_n:
        r = rng.random()
        y_rel = rng.uniform(0.35, 0.95)  # perspective: lower in the image = closer = bigger
        size = 0.4 + 1.2 * y_rel
        if r < 0.55:  # a row of cars, as boxes or as silhouettes, each overlapping the previous by 30-70%
            k = rng.randint(3, 8)
            w0, h0 = 110 * size, 60 * size
            as_polygon = rng.random() < 0.35
            x = rng.uniform(0, max(1.0, width - w0 * (1 + 0.7 * (k - 1))))
            y = y_rel * height - h0
            for _ in range(k):
                if len(b.anns) >= body_n:
                    break
                label = "car" if rng.random() < 0.8 else rng.choice(["truck", "bus"])
                w, h = w0 * rng.uniform(0.9, 1.1), h0 * rng.uniform(0.9, 1.1)
                top = y + rng.uniform(-0.05, 0.05) * h0
                attrs = _attributes(rng, label, occlusion=rng.choice(["25%", "50%", "75%", "90%"]))
                if as_polygon:
                    b.polygon(label, _star(rng, x + w / 2, top + h / 2, w / 2, h / 2, rng.randint(10, 16), 0.85, 0.2),
                              attrs)
                else:
                    b.box(label, x, top, w, h, attrs)
                x += w * (1 - rng.uniform(0.3, 0.7))
                if x + w0 > width:
                    break
        elif r < 0.80:  # a group of pedestrians, overlapping one another
            k = rng.randint(3, 8)
            w0, h0 = 30 * size, 90 * size
            x = rng.uniform(0, max(1.0, width - w0 * k))
            y = y_rel * height - h0
            for _ in range(k):
                if len(b.anns) >= body_n:
                    break
                w, h = w0 * rng.uniform(0.8, 1.2), h0 * rng.uniform(0.85, 1.15)
                top = y + rng.uniform(-0.1, 0.1) * h0
                attrs = _attributes(rng, "pedestrian", occlusion=rng.choice(_OCCLUSION))
                if rng.random() < 0.15:
                    b.polygon("pedestrian", _star(rng, x + w / 2, top + h / 2, w / 2, h / 2, rng.randint(8, 14), 0.6),
                              attrs)
                else:
                    b.box("pedestrian", x, top, w, h, attrs)
                x += w * rng.uniform(0.4, 0.8)
        elif r < 0.87:  # a cyclist
            w, h = 45 * size, 80 * size
            b.box("cyclist", rng.uniform(0, width - w), y_rel * height - h, w, h, _attributes(rng, "cyclist"))
        elif r < 0.94:  # a traffic sign or light, above the street
            label = rng.choice(["traffic_sign", "traffic_light"])
            w, h = 20 * size, (20 if label == "traffic_sign" else 45) * size
            b.box(label, rng.uniform(0, width - w), rng.uniform(0.05, 0.4) * height, w, h, _attributes(rng, label))
        else:  # a lane line, left to right, x strictly increasing: simple
            k = rng.randint(2, 8)
            x0 = rng.uniform(0, width * 0.5)
            x1 = rng.uniform(x0 + width * 0.2, width)
            xs = [x0 + (x1 - x0) * j / (k - 1) for j in range(k)]
            yb = rng.uniform(0.6, 0.98) * height
            b.line("lane_line", [(x, yb + rng.uniform(-5, 5) * scale) for x in xs], _attributes(rng, "lane_line"))
    shapes = [a for a in b.anns if a["type"] in ("box", "polygon") and a["label"] in _OBJECTS]
    for _ in range(close):  # a second object mostly hidden behind the first: IoU about 0.6-0.85, not a duplicate
        src = rng.choice(shapes)
        dx = rng.uniform(0.08, 0.2)
        _copy(b, src, dx, rng.uniform(-0.03, 0.03))
    for _ in range(copies):  # a near-copy: the same shape pasted again, slightly moved (a real duplicate)
        src = rng.choice(shapes)
        _copy(b, src, rng.uniform(0.005, 0.02), rng.uniform(0.005, 0.02))
    return _body(task_id, width, height, _task_params(60), b.anns, rng, "street", seed)


def _copy(b: _Builder, src: dict, fx: float | None, fy: float | None, px: tuple[float, float] | None = None) -> None:
    """A copy of ``src`` moved by (fx, fy) of its size or by ``px`` pixels."""
    attrs = dict(src["attributes"])
    if src["type"] == "box":
        dx, dy = px if px else (fx * src["width"], fy * src["height"])
        b.box(src["label"], src["left"] + dx, src["top"] + dy, src["width"], src["height"], attrs)
    else:
        xs = [v["x"] for v in src["vertices"]]
        ys = [v["y"] for v in src["vertices"]]
        dx, dy = px if px else (fx * (max(xs) - min(xs)), fy * (max(ys) - min(ys)))
        if max(xs) + dx > b.width - 0.5 or max(ys) + dy > b.height - 0.5:
            dx, dy = -dx, -dy  # stay inside the image (clamping would distort the shape)
        if min(xs) + dx < 0.5 or min(ys) + dy < 0.5:
            dx, dy = -dx, -dy
        b.polygon(src["label"], [(x + dx, y + dy) for x, y in zip(xs, ys)], attrs)


# -- (c) non-convex stars with attribute conditions -------------------------------------------------------------------
_STAR_LABELS = (("car", 0.25), ("pedestrian", 0.2), ("truck", 0.1), ("vegetation", 0.2), ("building", 0.15),
                ("parking_lot", 0.1))
_STAR_BOX_LABELS = (("car", 0.4), ("pedestrian", 0.3), ("cyclist", 0.15), ("traffic_light", 0.15))


def _pick(rng: random.Random, weighted) -> str:
    x = rng.random()
    acc = 0.0
    for value, w in weighted:
        acc += w
        if x < acc:
            return value
    return weighted[-1][0]


def stars_scene(n: int, seed: int = 0) -> dict:
    rng = random.Random(seed * 1_000_003 + 3)
    task_id = f"{rng.getrandbits(96):024x}"
    cell = 80.0
    cols = max(1, math.ceil(math.sqrt(n * 16 / 9)))
    rows = max(1, math.ceil(n / cols))
    width, height = max(1920.0, cols * cell), max(1080.0, rows * cell)
    cw, ch = width / cols, height / rows
    b = _Builder(rng, width, height)
    cells = list(range(cols * rows))
    rng.shuffle(cells)
    for c in cells[:n]:
        col, row = c % cols, c // cols
        cx = (col + 0.5 + rng.uniform(-0.25, 0.25)) * cw
        cy = (row + 0.5 + rng.uniform(-0.25, 0.25)) * ch
        if rng.random() < 0.75:
            label = _pick(rng, _STAR_LABELS)
            r = rng.uniform(0.3, 0.6)  # of the cell: up to 0.6 with +-0.25 jitter, ~1 in 5 meets a neighbour
            k = rng.randint(6, 60)
            cx = min(max(cx, r * cw + 1), width - r * cw - 1)  # whole inside the image (no clamped vertices)
            cy = min(max(cy, r * ch + 1), height - r * ch - 1)
            pts = _star(rng, cx, cy, r * cw, r * ch, k, 0.3)
            b.polygon(label, pts, _attributes(rng, label))
        else:
            label = _pick(rng, _STAR_BOX_LABELS)
            w, h = rng.uniform(0.3, 0.8) * cw, rng.uniform(0.3, 0.8) * ch
            b.box(label, cx - w / 2, cy - h / 2, w, h, _attributes(rng, label))
    return _body(task_id, width, height, _task_params(60), b.anns, rng, "stars", seed)


# -- (d) long outlines -------------------------------------------------------------------------------------------------
def outlines_scene(n: int, seed: int = 0) -> dict:
    rng = random.Random(seed * 1_000_003 + 4)
    task_id = f"{rng.getrandbits(96):024x}"
    strip = 24.0  # px of image height per outline
    width = 1920.0 * max(1.0, math.sqrt(n / 100))
    height = max(1080.0, n * strip + 200)
    amp = 60.0  # parallel curves: every outline's bounding box overlaps those of its ~5 neighbours on each side
    phase = rng.uniform(0, 2 * math.pi)
    waves = rng.uniform(1.5, 3.5)
    b = _Builder(rng, width, height)
    order = list(range(n))
    rng.shuffle(order)
    for slot in order:
        y0 = 100 + slot * strip
        k = rng.randint(500, 2000)
        x0 = rng.uniform(2, width * 0.1)
        x1 = rng.uniform(width * 0.9, width - 2)
        if rng.random() < 0.7:  # a band: top edge left to right, bottom edge right to left, same x samples
            label = _pick(rng, (("road", 0.5), ("sidewalk", 0.35), ("parking_lot", 0.15)))
            half = k // 2
            xs = [x0 + (x1 - x0) * j / (half - 1) for j in range(half)]
            top = [(x, y0 + amp * math.sin(phase + waves * 2 * math.pi * x / width) + rng.uniform(-0.4, 0.4))
                   for x in xs]
            thick = rng.uniform(6, 16)
            bottom = [(x, y + thick + rng.uniform(-0.4, 0.4)) for x, y in reversed(top)]
            b.polygon(label, top + bottom, _attributes(rng, label))
        else:  # a polyline, x strictly increasing: simple
            label = _pick(rng, (("lane_line", 0.5), ("curb", 0.3), ("road_edge", 0.2)))
            xs = [x0 + (x1 - x0) * j / (k - 1) for j in range(k)]
            pts = [(x, y0 + 8 + amp * math.sin(phase + waves * 2 * math.pi * x / width) + rng.uniform(-0.4, 0.4))
                   for x in xs]
            b.line(label, pts, _attributes(rng, label))
    return _body(task_id, width, height + amp, _task_params(2500), b.anns, rng, "outlines", seed)


SCENES = {"mix": mix_scene, "street": street_scene, "stars": stars_scene, "outlines": outlines_scene}
#: one line per scene, for the tables
SCENE_TITLES = {
    "mix": "(a) realistic mix (make_body, defect rate 0.03)",
    "street": "(b) dense street: cars overlapping 30-70%, pedestrian groups, 2% near-copies",
    "stars": "(c) non-convex stars (6-60 vertices) + attribute conditions",
    "outlines": "(d) long outlines (roads, sidewalks, lines: 500-2,000 vertices)",
    "realdata": "(e) real corpus replayed (../shared/realdata)",
    "adversarial": "(f) adversarial bodies of issue 10",
}


def scene_body(scene: str, n: int, seed: int = 0) -> dict:
    """The ``{task, response}`` body of ``scene`` with ``n`` annotations."""
    try:
        fn = SCENES[scene]
    except KeyError:
        raise ValueError(f"unknown scene {scene!r}; choose one of {', '.join(SCENES)}") from None
    return fn(n, seed)


def scene_bytes(scene: str, n: int, seed: int = 0) -> bytes:
    return orjson.dumps(scene_body(scene, n, seed))


def fits_limit(raw: bytes, limit: int = DEFAULT_MAX_BODY) -> bool:
    return len(raw) <= limit


# -- (e) the real corpus -----------------------------------------------------------------------------------------------
def realdata_dir() -> Path | None:
    """``<repo root>/../shared/realdata`` (or ``$VALIDATOR_REALDATA``) when it holds ``*.jsonl.gz`` files."""
    env = os.environ.get("VALIDATOR_REALDATA")
    d = Path(env) if env else ROOT.parent / "shared" / "realdata"
    if not d.is_dir():
        # a git worktree lives one level deeper than the main checkout (/work/wt/<name>): try the checkout's
        # sibling too
        alt = ROOT.parent.parent / "shared" / "realdata"
        d = alt if alt.is_dir() else d
    return d if d.is_dir() and any(d.glob("*.jsonl.gz")) else None


def realdata_bodies(limit: int | None = None) -> list[tuple[str, bytes]] | None:
    """``[(source:line, body bytes)]`` of every body of the real corpus, in file order; None when it is absent."""
    d = realdata_dir()
    if d is None:
        return None
    out: list[tuple[str, bytes]] = []
    for f in sorted(d.glob("*.jsonl.gz")):
        with gzip.open(f, "rb") as fh:
            for k, line in enumerate(fh, 1):
                line = line.strip()
                if line:
                    out.append((f"{f.name.split('.')[0]}:{k}", line))
                if limit is not None and len(out) >= limit:
                    return out
    return out


# -- (f) adversarial bodies (issue 10) ---------------------------------------------------------------------------------
def _adv_body(anns: list, width: int = 1920, height: int = 1080) -> dict:
    params = {
        "attachment_type": "image",
        "attachment": "https://images.example.com/bench/adversarial.jpg",
        "geometries": {"box": {"objects_to_annotate": ["car", "pedestrian"]},
                       "polygon": {"objects_to_annotate": ["building"]},
                       "point": {"objects_to_annotate": ["keypoint"]}},
    }
    task = {"task_id": "0123456789abcdef01234567", "type": "imageannotation", "status": "pending", "params": params,
            "metadata": {"image_width": width, "image_height": height}}
    return {"task": task, "response": {"annotations": anns}}


def _fill(item: bytes, budget: int) -> bytes:
    """A body whose annotations are ``item`` repeated until the body is just under ``budget`` bytes."""
    head = orjson.dumps(_adv_body([]))
    pre, post = head.split(b'"annotations":[]')
    pre += b'"annotations":['
    post = b"]" + post
    room = budget - len(pre) - len(post) - 64
    count = max(1, (room + 1) // (len(item) + 1))
    return pre + b",".join([item] * count) + post


def adversarial_bodies(quick: bool = False, heavy: bool = False,
                       limit: int = DEFAULT_MAX_BODY) -> list[tuple[str, bytes]]:
    """``[(name, body bytes)]``: the hostile bodies of issue 10, each under ``limit``.

    ``quick`` shrinks every flood (for the smoke test); ``heavy`` adds the floods that cost gigabytes on the code
    issue 10 describes (40,000 identical points: ~6 GB; 100,000 identical boxes: numpy asked for 37 GB), which a
    shared machine should not be asked for unless on purpose.
    """
    rng = random.Random(10)
    f = 50 if quick else 1

    def uuid() -> str:
        return str(_uuid.UUID(int=rng.getrandbits(128), version=4))

    def boxes(k: int) -> list[dict]:
        return [{"uuid": uuid(), "type": "box", "label": "car", "left": 100, "top": 100, "width": 50, "height": 40}
                for _ in range(k)]

    def points(k: int) -> list[dict]:
        return [{"uuid": uuid(), "type": "point", "label": "keypoint", "x": 300, "y": 200} for _ in range(k)]

    defects = [
        {"uuid": uuid(), "type": "box", "label": "unicorn", "left": 10, "top": 10, "width": 20, "height": 20},
        {"uuid": uuid(), "type": "box", "label": "car", "left": 5000, "top": 5000, "width": 20, "height": 20},
        {"uuid": uuid(), "type": "ellipse", "label": "car",
         "vertices": [{"x": 50, "y": 40}, {"x": 60, "y": 50}, {"x": 50, "y": 60}, {"x": 40, "y": 50}]},
    ]
    out = [
        (f"{1500 // f:,} identical boxes + 3 plain defects", _adv_body(boxes(1500 // f) + defects)),
        (f"{1000 // f:,} identical boxes", _adv_body(boxes(1000 // f))),
        (f"one random {1000 // f:,}-vertex polygon",
         _adv_body([{"uuid": uuid(), "type": "polygon", "label": "building",
                     "vertices": [{"x": _r(rng.uniform(0, 1920)), "y": _r(rng.uniform(0, 1080))}
                                  for _ in range(1000 // f)]}])),
        (f"{10000 // f:,} identical points", _adv_body(points(10000 // f))),
    ]
    if heavy:
        out += [("40,000 identical points", _adv_body(points(40000))),
                ("100,000 identical boxes", _adv_body(boxes(100000)))]
    res = [(name, orjson.dumps(body)) for name, body in out]
    budget = limit // (f * 8) if quick else limit
    size = f"{budget / 2**20:.0f} MiB" if budget >= 2**20 else f"{budget / 2**10:.0f} KiB"
    res += [(f"{size} of annotations `1`", _fill(b"1", budget)),
            (f"{size} of annotations `{{}}`", _fill(b"{}", budget)),
            (f"{size} of points with x null", _fill(b'{"type":"point","label":"keypoint","x":null,"y":1}', budget))]
    return [(name, raw) for name, raw in res if len(raw) <= limit]
