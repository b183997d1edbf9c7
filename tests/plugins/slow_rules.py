"""A deliberately slow pairwise rule, alone in its module so that a service can load it beside the built-in rules
(every rule of a plugin module runs at its default level under builtin_rules = "defaults")."""
from validator import Issue, Options, fields, rule


class Pairs(Options):
    min_overlap = fields.Float(load_default=0.5, metadata={"description": "overlap ratio (of the smaller box) flagged"})


@rule(id="t_slow_pairs", summary="Boxes overlapping one another, compared pair by pair in plain Python.",
      why="Test rule: a deliberately slow pairwise rule (quadratic, interpreted) that spends the time budget honestly "
          "on a task with many boxes.", geometries=("box",), per="task", options=Pairs)
def t_slow_pairs(anns, ctx, opts):
    boxes = [(a.uuid, a.left, a.top, a.left + a.width, a.top + a.height) for a in anns]
    for n, (u, x0, y0, x1, y1) in enumerate(boxes):
        for v, a0, b0, a1, b1 in boxes[n + 1:]:
            w, h = min(x1, a1) - max(x0, a0), min(y1, b1) - max(y0, b0)
            smaller = min((x1 - x0) * (y1 - y0), (a1 - a0) * (b1 - b0))
            if w > 0 and h > 0 and smaller > 0 and w * h / smaller >= opts["min_overlap"]:
                yield Issue.on(v, f"overlaps {u}", at=(a0, b0))

