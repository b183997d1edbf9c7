"""The @rule decorator refuses, at import time, rule definitions that could only fail later."""
from __future__ import annotations

import pytest

from validator import Issue, Options, fields, rule
from validator.engine.registry import RegistryError


def _ok(ann, ctx, opts):
    yield Issue.on(ann)


def test_a_valid_rule_carries_its_metadata():
    decorated = rule(id="reg_ok", summary="Fine.", why="Because. Example: none.", geometries="box")(_ok)
    r = decorated.__rule__
    assert (r.id, r.geometries, r.level, r.per, r.module) == ("reg_ok", ("box",), "error", "annotation", __name__)
    assert decorated is _ok  # the function itself is returned, still callable in tests


@pytest.mark.parametrize("kwargs, message", [
    ({"id": "Bad-Id"}, "rule id 'Bad-Id' must be snake_case, 3-64 characters, starting with a letter"),
    ({"level": "fatal"}, "rule 'reg_x': default level 'fatal' is not one of error, warn, shadow, off"),
    ({"per": "image"}, "rule 'reg_x': per='image' must be 'annotation' or 'task'"),
    ({"geometries": ("box", "circle")}, "rule 'reg_x': unknown geometry type 'circle' (known: box, polygon, line, "
                                        "point, cuboid, ellipse)"),
    ({"options": dict}, "rule 'reg_x': options must be a marshmallow Schema class (subclass validator.Options)"),
    ({"why": ""}, "rule 'reg_x': summary and why are required (they are the rule's documentation)"),
])
def test_bad_metadata(kwargs, message):
    args = {"id": "reg_x", "summary": "S.", "why": "W.", **kwargs}
    with pytest.raises(RegistryError) as info:
        rule(**args)(_ok)
    assert str(info.value) == message


def test_options_without_valid_defaults():
    class Required(Options):
        limit = fields.Float(required=True)

    with pytest.raises(RegistryError, match=r"rule 'reg_req': options have no valid defaults: "
                                            r"\{'limit': \['Missing data for required field.'\]\}"):
        rule(id="reg_req", summary="S.", why="W.", options=Required)(_ok)


@pytest.mark.parametrize("per, first", [("annotation", "ann"), ("task", "anns")])
def test_a_function_that_cannot_take_ann_ctx_opts_is_refused(per, first):
    def two(ann, ctx):
        return []

    with pytest.raises(RegistryError) as info:
        rule(id="reg_sig", summary="S.", why="W.", per=per)(two)
    assert str(info.value) == (f"rule 'reg_sig': test_a_function_that_cannot_take_ann_ctx_opts_is_refused.<locals>"
                               f".two(ann, ctx) must accept three arguments ({first}, ctx, opts)")


def test_flexible_signatures_are_accepted():
    rule(id="reg_varargs", summary="S.", why="W.")(lambda *args: [])
    rule(id="reg_defaults", summary="S.", why="W.")(lambda ann, ctx, opts=None, extra=1: [])
