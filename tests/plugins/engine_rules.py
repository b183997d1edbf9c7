"""Tiny rules that exercise the engine: scope, levels, granularity, failures, the time budget, bad output."""
import time

import numpy as np

from validator import Issue, Options, fields, rule


class MinSize(Options):
    min_size = fields.Float(load_default=0.0, metadata={"description": "smallest allowed width and height, px"})


@rule(id="t_min_size", summary="Box smaller than min_size.", why="Test rule: flags small boxes.",
      geometries=("box",), options=MinSize)
def t_min_size(ann, ctx, opts):
    if ann.width < opts["min_size"] or ann.height < opts["min_size"]:
        yield Issue.on(ann, f"{ann.width:g}x{ann.height:g} < {opts['min_size']:g}", at=(ann.left, ann.top))


@rule(id="t_every", summary="Flags every annotation it sees.", why="Test rule: shows which annotations a scope "
      "selects.")
def t_every(ann, ctx, opts):
    yield Issue.on(ann, ann.type, at=ann.xy[0])


@rule(id="t_box_or_cuboid", summary="Flags every box and cuboid.", why="Test rule: geometry narrowing.",
      geometries=("box", "cuboid"))
def t_box_or_cuboid(ann, ctx, opts):
    yield Issue.on(ann, ann.type, at=ann.xy[0])


@rule(id="t_task_summary", summary="One global issue listing the selection.", why="Test rule: task granularity.",
      per="task")
def t_task_summary(anns, ctx, opts):
    yield Issue.globally(f"{len(anns)}: " + ",".join(a.uuid for a in anns) + f" positions={anns.positions.tolist()}")


@rule(id="t_reverse", summary="Flags every annotation, in reverse order.", why="Test rule: output order.",
      per="task")
def t_reverse(anns, ctx, opts):
    for a in reversed(list(anns)):
        yield Issue.on(a, "second", at=[(2, 2), (1, 1)], error_type="t_reverse_b")
        yield Issue.on(a, "first", at=[(1, 1)], error_type="t_reverse_a")


class Message(Options):
    message = fields.String(load_default="secret internal detail /srv/app/rules.py")


@rule(id="t_raises", summary="Always raises.", why="Test rule: a buggy rule.", options=Message)
def t_raises(ann, ctx, opts):
    yield Issue.on(ann, "partial issue that must be discarded")
    raise RuntimeError(opts["message"])


class Seconds(Options):
    seconds = fields.Float(load_default=5.0)


@rule(id="t_sleeps", summary="Sleeps, then flags globally.", why="Test rule: a slow rule.", per="task",
      options=Seconds)
def t_sleeps(anns, ctx, opts):
    time.sleep(opts["seconds"])
    yield Issue.globally("slept")


@rule(id="t_foreign_uuid", summary="Reports an issue on a uuid not in the request.", why="Test rule.", per="task")
def t_foreign_uuid(anns, ctx, opts):
    yield Issue.on("no-such-annotation", "foreign", at=(3, 4))


@rule(id="t_not_issue", summary="Yields something that is not an Issue.", why="Test rule.", per="task")
def t_not_issue(anns, ctx, opts):
    yield {"errorType": "dict_instead_of_issue"}


@rule(id="t_image_size", summary="Reports the image size.", why="Test rule: needs_image_size.", per="task",
      needs_image_size=True)
def t_image_size(anns, ctx, opts):
    yield Issue.globally(f"{ctx.task.image_width:g}x{ctx.task.image_height:g}")


@rule(id="t_attributes", summary="Counts the annotations with attributes.", why="Test rule: needs_attributes.",
      per="task", cost="linear", needs_attributes=True)
def t_attributes(anns, ctx, opts):
    yield Issue.globally(f"{sum(1 for a in ctx.annotations.attributes if a)} with attributes")


@rule(id="t_linear_task", summary="One global issue (a per-task rule that declares itself linear).",
      why="Test rule: cost ordering.", per="task", cost="linear")
def t_linear_task(anns, ctx, opts):
    yield Issue.globally(f"linear saw {len(anns)}")


@rule(id="t_overflow", summary="Squares absurd coordinates (overflows to inf).", why="Test rule: numeric warnings.",
      geometries=("box",), per="task", cost="linear")
def t_overflow(anns, ctx, opts):
    huge = anns.bounds * 1e300
    area = huge[:, 2] * huge[:, 3]  # inf, with an overflow warning numpy would print (or raise, under -W error)
    return anns.where(~np.isfinite(area)).report("overflowed")


class Copies(Options):
    copies = fields.Integer(load_default=1, metadata={"description": "issues per annotation"})
    text = fields.String(load_default="flagged")


@rule(id="t_copies", summary="Several issues on every annotation.", why="Test rule: issue caps.", per="task",
      cost="linear", options=Copies)
def t_copies(anns, ctx, opts):
    for k in range(opts["copies"]):
        yield from anns.report(f"{opts['text']} {k}", error_type=f"t_copies_{k}")
