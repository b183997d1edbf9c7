"""Registered through the entry point group ``scale_validator.rules`` (see ../pyproject.toml)."""
from validator import Issue, Options, fields, rule


class MaxAspect(Options):
    max_ratio = fields.Float(load_default=4.0, metadata={"description": "largest allowed width / height"})


@rule(
    id="acme_wide_box",
    summary="Box much wider than it is tall.",
    why="""
        ACME's cameras never see objects wider than four times their height; such a box is usually two objects
        drawn as one. Example: a 400x50 box around two parked cars.
    """,
    geometries=("box",),
    level="warn",
    options=MaxAspect,
)
def acme_wide_box(ann, ctx, opts):
    if ann.height > 0 and ann.width / ann.height > opts["max_ratio"]:
        yield Issue.on(ann, f"This box is {ann.width / ann.height:.1f} times wider than tall; the limit is "
                            f"{opts['max_ratio']:g}.", at=(ann.left, ann.top))
