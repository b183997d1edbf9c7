"""``validator check --html report.html``: one self-contained page to *see* what the rules flag.

The page has no script, stylesheet or font from anywhere (a Content-Security-Policy forbids them, and the only
thing it may load is the task images themselves): a summary table per rule instance, then one drawing per failing
task (with ``--compare``: per changed task). A drawing is an SVG in image coordinates (``viewBox`` = the image
size): the task's image (``params.attachment``) underneath, every annotation's outline over it, flagged
annotations highlighted, every issue location marked with a numbered ring, and beside the drawing the list of
issues (number, level, errorType, annotation, text). The drawing stands without the image: a plain backdrop is
drawn first, so an image that cannot load leaves every outline and mark readable.

Everything that comes from a task (labels, uuids, issue texts, URLs) is escaped: labelers write some of it.

The page is written in bounded memory: drawings go to a temporary file as the run goes, and the summary (known
only at the end) is written before them when the page is put together. At most ``limit`` drawings are kept; the
page says how many more were not drawn.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from typing import Any, Iterable

MAX_SCENE_ANNOTATIONS = 5000
INDEX_LIMIT = 500  # drawings listed (linked) before the drawings
MAX_POINTS_PER_SHAPE = 2000
ELLIPSE_STEPS = 48

# -- scene: what a drawing needs of a task, extracted in the worker (a plain, picklable dict) -----------------


def _xy(v: Any) -> tuple[float, float] | None:
    if not isinstance(v, dict):
        return None
    x, y = v.get("x"), v.get("y")
    if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
        return None
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return float(x), float(y)


def _points(vertices: Any) -> list[tuple[float, float]]:
    if not isinstance(vertices, list):
        return []
    out = []
    for v in vertices[:MAX_POINTS_PER_SHAPE]:
        p = _xy(v)
        if p is not None:
            out.append(p)
    return out


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _shape(ann: dict) -> dict | None:
    """``{"kind": polygon|polyline|point|segments, "points": [...]}`` for one annotation, or None (not drawable)."""
    kind = ann.get("type")
    if kind == "box":
        pts = _points(ann.get("vertices"))
        if len(pts) >= 3:  # a rotated box: its corners
            return {"kind": "polygon", "points": pts}
        left, top, w, h = (_num(ann.get(k)) for k in ("left", "top", "width", "height"))
        if None in (left, top, w, h):
            return None
        return {"kind": "polygon", "points": [(left, top), (left + w, top), (left + w, top + h), (left, top + h)]}
    if kind in ("polygon", "line"):
        pts = _points(ann.get("vertices"))
        if not pts:
            return None
        return {"kind": "polygon" if kind == "polygon" and len(pts) >= 3 else "polyline", "points": pts}
    if kind == "point":
        p = _xy(ann)
        return None if p is None else {"kind": "point", "points": [p]}
    if kind == "ellipse":
        pts = _points(ann.get("vertices"))
        if len(pts) != 4:
            return {"kind": "polygon", "points": pts} if len(pts) >= 3 else None
        (tx, ty), (rx, ry), (bx, by), (lx, ly) = pts  # extremal points: top, right, bottom, left
        cx, cy = (tx + bx + rx + lx) / 4, (ty + by + ry + ly) / 4
        ax, ay = rx - cx, ry - cy  # conjugate semi-diameters
        bxv, byv = tx - cx, ty - cy
        ring = [(cx + ax * math.cos(t) + bxv * math.sin(t), cy + ay * math.cos(t) + byv * math.sin(t))
                for t in (2 * math.pi * k / ELLIPSE_STEPS for k in range(ELLIPSE_STEPS))]
        return {"kind": "polygon", "points": ring}
    if kind == "cuboid":
        segments = []
        edges = ann.get("edges")
        if isinstance(edges, list):
            for e in edges[:64]:
                if isinstance(e, dict):
                    a = _xy({"x": e.get("x1"), "y": e.get("y1")})
                    b = _xy({"x": e.get("x2"), "y": e.get("y2")})
                    if a and b:
                        segments.extend([a, b])
        if segments:
            return {"kind": "segments", "points": segments}
        pts = _points(ann.get("vertices"))
        return {"kind": "polygon", "points": pts} if len(pts) >= 3 else None
    return None


def scene_of(task: dict, response: dict, *, width_key: str = "image_width", height_key: str = "image_height",
             project_sizes: dict | None = None) -> dict:
    """What a drawing needs of one task: image URL and size, each annotation's uuid, type, label and shape."""
    params = task.get("params") if isinstance(task.get("params"), dict) else {}
    metadata = task.get("metadata") if isinstance(task.get("metadata"), dict) else {}
    width, height = _num(metadata.get(width_key)), _num(metadata.get(height_key))
    project = task.get("project")
    if (width is None or height is None) and project_sizes and project in project_sizes:
        width, height = project_sizes[project]
    attachment = params.get("attachment")
    anns = []
    raw = response.get("annotations") if isinstance(response, dict) else None
    for ann in (raw if isinstance(raw, list) else [])[:MAX_SCENE_ANNOTATIONS]:
        if not isinstance(ann, dict):
            continue
        uuid = ann.get("uuid")
        anns.append({"uuid": uuid if isinstance(uuid, str) else None,
                     "type": ann.get("type") if isinstance(ann.get("type"), str) else None,
                     "label": ann.get("label") if isinstance(ann.get("label"), str) else None,
                     "shape": _shape(ann)})
    return {"attachment": attachment if isinstance(attachment, str) else None,
            "width": width, "height": height, "annotations": anns,
            "more_annotations": max(0, len(raw) - MAX_SCENE_ANNOTATIONS) if isinstance(raw, list) else 0}


# -- rendering ------------------------------------------------------------------------------------------------

def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _safe_image_url(url: str | None) -> str | None:
    """Only http(s) and data:image URLs are drawn (never javascript: or anything else)."""
    if not url:
        return None
    low = url.strip().lower()
    if low.startswith(("http://", "https://", "data:image/")):
        return url.strip()
    return None


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _pts(points: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)


LEVEL_CLASS = {"error": "lv-error", "warn": "lv-warn", "shadow": "lv-shadow"}


def _extent(scene: dict, issues: list[dict]) -> tuple[float, float, float, float]:
    """The viewBox: the image (when its size is known) and everything drawn, with a margin."""
    xs, ys = [], []
    for ann in scene["annotations"]:
        if ann["shape"]:
            for x, y in ann["shape"]["points"]:
                xs.append(x)
                ys.append(y)
    for issue in issues:
        for loc in issue.get("locations") or []:
            p = _xy(loc)
            if p:
                xs.append(p[0])
                ys.append(p[1])
    w, h = scene.get("width"), scene.get("height")
    x0, y0 = 0.0, 0.0
    x1 = w if w else (max(xs) if xs else 100.0)
    y1 = h if h else (max(ys) if ys else 100.0)
    if xs:
        x0, x1 = min(x0, min(xs)), max(x1, max(xs))
        y0, y1 = min(y0, min(ys)), max(y1, max(ys))
    span = max(x1 - x0, y1 - y0, 1.0)
    pad = span * 0.02
    return x0 - pad, y0 - pad, (x1 - x0) + 2 * pad, (y1 - y0) + 2 * pad


def render_task(record: dict, issues: list[dict], *, heading: str, marks: dict[int, str] | None = None,
                anchor: str = "") -> str:
    """One task's section: heading, SVG drawing, issue list. ``issues`` carry ``level``, ``uuid``, ``errorType``,
    ``extra``, ``locations``; ``marks`` maps an issue's index to a change mark (``added``/``removed``)."""
    scene = record["_scene"] if "_scene" in record else record["scene"]
    marks = marks or {}
    vx, vy, vw, vh = _extent(scene, issues)
    unit = max(vw, vh) / 400.0  # stroke widths and marks scale with the drawing, not the image size
    flagged: dict[str, str] = {}
    order = {"error": 0, "warn": 1, "shadow": 2}
    for issue in issues:
        if issue.get("uuid") is not None:
            lv = issue.get("level", "error")
            if issue["uuid"] not in flagged or order.get(lv, 3) < order.get(flagged[issue["uuid"]], 3):
                flagged[issue["uuid"]] = lv
    out = [f'<section class="task" id="{esc(anchor)}">' if anchor else '<section class="task">',
           f"<h2>{esc(heading)}</h2>",
           '<div class="pair"><div class="drawing">',
           f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{_fmt(vx)} {_fmt(vy)} {_fmt(vw)} {_fmt(vh)}" '
           f'role="img" aria-label="annotations of task {esc(record.get("task_id"))}">',
           f'<rect class="backdrop" x="{_fmt(vx)}" y="{_fmt(vy)}" width="{_fmt(vw)}" height="{_fmt(vh)}"/>']
    if scene.get("width") and scene.get("height"):
        out.append(f'<rect class="frame" x="0" y="0" width="{_fmt(scene["width"])}" '
                   f'height="{_fmt(scene["height"])}" stroke-width="{_fmt(unit)}"/>')
    image = _safe_image_url(scene.get("attachment"))
    if image and scene.get("width") and scene.get("height"):
        out.append(f'<image href="{esc(image)}" x="0" y="0" width="{_fmt(scene["width"])}" '
                   f'height="{_fmt(scene["height"])}" preserveAspectRatio="none"/>')
    undrawable = 0
    for ann in scene["annotations"]:
        shape = ann["shape"]
        if shape is None:
            undrawable += 1
            continue
        level = flagged.get(ann["uuid"]) if ann["uuid"] is not None else None
        cls = f"ann flagged {LEVEL_CLASS.get(level, '')}" if level else "ann"
        width = unit * (2.5 if level else 1.2)
        title = f"<title>{esc(ann['label'])} ({esc(ann['type'])}) {esc(ann['uuid'])}</title>"
        pts = shape["points"]
        if shape["kind"] == "polygon":
            out.append(f'<polygon class="{cls}" points="{_pts(pts)}" stroke-width="{_fmt(width)}">{title}</polygon>')
        elif shape["kind"] == "polyline":
            out.append(f'<polyline class="{cls} open" points="{_pts(pts)}" '
                       f'stroke-width="{_fmt(width)}">{title}</polyline>')
        elif shape["kind"] == "point":
            x, y = pts[0]
            out.append(f'<circle class="{cls} pt" cx="{_fmt(x)}" cy="{_fmt(y)}" r="{_fmt(unit * 3)}" '
                       f'stroke-width="{_fmt(width)}">{title}</circle>')
        else:  # segments (cuboid edges)
            d = " ".join(f"M{_fmt(a[0])} {_fmt(a[1])}L{_fmt(b[0])} {_fmt(b[1])}" for a, b in zip(pts[::2], pts[1::2]))
            out.append(f'<path class="{cls} open" d="{d}" stroke-width="{_fmt(width)}">{title}</path>')
    # one numbered ring per marked place: issues at the same spot share it ("2,3,4"), so numbers never overlap
    spots: dict[tuple[float, float], list[int]] = {}
    for n, issue in enumerate(issues, start=1):
        for loc in issue.get("locations") or []:
            p = _xy(loc)
            if p is not None:
                numbers = spots.setdefault((round(p[0], 2), round(p[1], 2)), [])
                if n not in numbers:
                    numbers.append(n)
    for (x, y), numbers in spots.items():
        level = min((issues[k - 1].get("level") for k in numbers), key=lambda lv: order.get(lv, 3))
        mark = marks.get(numbers[0] - 1, "") if all(marks.get(k - 1) == marks.get(numbers[0] - 1)
                                                      for k in numbers) else ""
        cls = f"loc {LEVEL_CLASS.get(level, '')} {mark}".strip()
        label = ",".join(str(k) for k in numbers[:6]) + ("…" if len(numbers) > 6 else "")
        names = "; ".join(f"{k}. {issues[k - 1].get('errorType')}" for k in numbers)
        out.append(f'<g class="{cls}"><circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="{_fmt(unit * 6)}" '
                   f'stroke-width="{_fmt(unit * 1.5)}"/>'
                   f'<text x="{_fmt(x + unit * 7)}" y="{_fmt(y - unit * 7)}" font-size="{_fmt(unit * 12)}">'
                   f'{esc(label)}</text><title>{esc(names)}</title></g>')
    out.append("</svg>")
    notes = []
    if not image:
        notes.append("no image URL in params.attachment" if not scene.get("attachment")
                     else "the image URL is not http(s); not loaded")
    elif not (scene.get("width") and scene.get("height")):
        notes.append("image size unknown (task metadata): image not placed")
    if undrawable:
        notes.append(f"{undrawable} annotation{'s' if undrawable != 1 else ''} not drawable (malformed geometry)")
    if scene.get("more_annotations"):
        notes.append(f"{scene['more_annotations']} more annotations not drawn")
    if notes:
        out.append(f'<p class="note">{esc("; ".join(notes))}</p>')
    out.append('</div><ol class="issues">')
    for n, issue in enumerate(issues, start=1):
        mark = marks.get(n - 1, "")
        where = f"annotation {issue['uuid']}" if issue.get("uuid") is not None else "global"
        label = ""
        if issue.get("uuid") is not None:
            ann = next((a for a in scene["annotations"] if a["uuid"] == issue["uuid"]), None)
            if ann and ann.get("label"):
                label = f' <span class="label">{esc(ann["label"])}</span>'
        sign = {"added": "+ ", "removed": "\u2212 "}.get(mark, "")
        out.append(f'<li value="{n}" class="{LEVEL_CLASS.get(issue.get("level"), "")} {mark}">'
                   f'{esc(sign)}<span class="lvl">{esc(issue.get("level"))}</span> '
                   f'<code>{esc(issue.get("errorType"))}</code> '
                   f'<span class="where">{esc(where)}</span>{label}'
                   + (f'<div class="text">{esc(issue.get("extra"))}</div>' if issue.get("extra") else "")
                   + (f'<div class="rule">{esc(issue.get("instance"))}</div>' if issue.get("instance") else "")
                   + "</li>")
    out.append("</ol></div></section>")
    return "\n".join(out)


CSS = ("""
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em}h2{font-size:1.1em;margin:1.2em 0 .4em}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
td.n{text-align:right}section.task{border-top:1px solid #ddd;padding-top:.4em}
.pair{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}
.drawing{flex:0 1 720px;min-width:320px}.drawing svg{width:100%;height:auto;display:block;border:1px solid #bbb}
.backdrop{fill:#eef0f3}.frame{fill:#fff;stroke:#999}
.ann{fill:rgba(40,110,220,.12);stroke:#2a6edc}.ann.open{fill:none}.ann.pt{fill:#2a6edc}
.ann.flagged{fill:rgba(230,20,20,.22);stroke:#e01010}.ann.flagged.open{fill:none}
.ann.flagged.lv-warn{fill:rgba(240,150,0,.22);stroke:#f08c00}.ann.flagged.lv-shadow{fill:rgba(140,60,200,.18);stroke:#8c3cc8}
.loc circle{fill:none;stroke:#e01010}.loc text{fill:#e01010;font-weight:bold}
.loc.lv-warn circle{stroke:#f08c00}.loc.lv-warn text{fill:#f08c00}
.loc.lv-shadow circle{stroke:#8c3cc8}.loc.lv-shadow text{fill:#8c3cc8}
.loc.removed circle{stroke-dasharray:2 2}
ol.issues{flex:1 1 320px;margin:0;padding-left:2em}ol.issues li{margin:.2em 0 .5em}
li.removed{opacity:.7;text-decoration:line-through}li.added{font-weight:500}
.lvl{font-size:.8em;text-transform:uppercase;padding:0 .3em;border-radius:3px;background:#eee}
li.lv-error .lvl{background:#fbd5d5}li.lv-warn .lvl{background:#fde7c2}li.lv-shadow .lvl{background:#e8d8f5}
nav.index ol{columns:2;font-size:.9em}.text{color:#444}.rule,.note{color:#777;font-size:.85em}"""
       """.label{background:#eef;padding:0 .3em;border-radius:3px}
""")

CSP = "default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'"


class HtmlReport:
    """Collects drawings during a run (in a temporary file beside ``path``) and writes the page at the end."""

    def __init__(self, path: str, *, limit: int = 500, title: str = "validator check"):
        self.path = os.fspath(path)
        self.limit = limit
        self.title = title
        self.drawn = 0
        self.not_drawn = 0
        self._index: list[tuple[str, str]] = []  # (anchor, heading) of each drawing, for the page's index
        folder = os.path.dirname(os.path.abspath(self.path))
        self._tmp = tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder)

    def add(self, record: dict, issues: list[dict], *, heading: str, marks: dict[int, str] | None = None) -> None:
        if self.drawn >= self.limit:
            self.not_drawn += 1
            return
        self.drawn += 1
        anchor = f"t{self.drawn}"
        self._tmp.write(render_task(record, issues, heading=heading, marks=marks, anchor=anchor) + "\n")
        if len(self._index) < INDEX_LIMIT:
            self._index.append((anchor, heading))

    def finish(self, summary_html: str) -> None:
        tmp_path = self.path + ".partial"
        with open(tmp_path, "w", encoding="utf-8") as out:
            out.write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
                      '<meta name="viewport" content="width=device-width, initial-scale=1">'
                      f"<title>{esc(self.title)}</title><style>{CSS}</style></head><body>\n")
            out.write(f"<h1>{esc(self.title)}</h1>\n{summary_html}\n")
            if self._index:
                out.write('<nav class="index"><ol>' + "".join(
                    f'<li><a href="#{a}">{esc(h)}</a></li>' for a, h in self._index) + "</ol></nav>\n")
            if self.drawn:
                self._tmp.seek(0)
                while True:
                    block = self._tmp.read(1 << 20)
                    if not block:
                        break
                    out.write(block)
            if self.not_drawn:
                out.write(f'<p class="note">{self.not_drawn} more task{"s" if self.not_drawn != 1 else ""} not '
                          f"drawn (at most {self.limit}; see --html-limit).</p>\n")
            out.write("</body></html>\n")
        os.replace(tmp_path, self.path)
        self._tmp.close()

    def close(self) -> None:
        if not self._tmp.closed:
            self._tmp.close()


def table(headers: list[str], rows: list[list[Any]], numeric_from: int = 99) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{esc(c)}</td>' if k >= numeric_from else f"<td>{esc(c)}</td>"
                         for k, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
