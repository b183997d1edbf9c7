"""Testing helpers for rule authors, in the spirit of ESLint's RuleTester.

```python
from validator.testing import RuleTester, valid, invalid, error, box, polygon, make_task

tester = RuleTester("box_too_small")                       # the rule, alone, at level "error"
test_box_too_small = tester.pytest(                         # a parametrised pytest test, one case per param
    valid=[
        valid("exactly the minimum", [box(0, 0, 10, 10)], task=make_task(box={"min_width": 10})),
    ],
    invalid=[
        invalid("too narrow", [box(0, 0, 3, 20)], task=make_task(box={"min_width": 10}),
                errors=[error(uuid="a1", at=[(0, 0)], message="3 px wide")]),
    ],
)
```

* Annotations built without ``uuid=`` get ``a1``, ``a2``, ... by position in the case.
* Every invalid case lists exactly the issues expected (errorType defaults to the rule id; ``uuid=None`` means a
  global issue). Locations are compared in order, to 1e-6 px. An expected error must say where: ``at=[...]``, or
  ``at=None`` when the issue has no location. ``message=`` (optional) must be a substring of ``extra``.
* Duplicate cases (same name, or same task, annotations and options) and invalid cases without errors fail the
  table before any case runs. A case also fails when the rule raises, runs out of time, or produces an answer
  that is not in Scale's format (``validator.scale.answer``).
* ``options=`` configures the instance; ``config=`` gives a full TOML text instead (for scope tests).
* Each case is sent the way Scale sends it: the body is encoded to JSON bytes (``float("nan")`` becomes the literal
  ``NaN``) and validated by ``Engine.validate_bytes``, the path every request takes in production.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from validator.engine.config import load_config
from validator.scale.answer import answer_violations
from validator.scale.jsonio import encode_body
from validator.engine.engine import Engine

_REQUIRED = object()

DEFAULT_LABELS = {
    "box": ["car", "pedestrian", {"choice": "vehicle", "subchoices": ["truck", "bus"]}],
    "polygon": ["road", "sidewalk", "car"],
    "line": ["lane", "curb"],
    "point": ["head", "hand"],
    "cuboid": ["car", "pedestrian", "truck"],
    "ellipse": ["wheel", "sign"],
}
DEFAULT_LABEL = {"box": "car", "polygon": "road", "line": "lane", "point": "head", "cuboid": "car", "ellipse": "wheel"}


# -- builders ------------------------------------------------------------------------------------------------------
def _ann(type_: str, label: str | None, uuid: str | None, attributes: dict | None, extra: dict) -> dict:
    out: dict[str, Any] = {"type": type_, "label": label if label is not None else DEFAULT_LABEL[type_]}
    if uuid is not None:
        out["uuid"] = uuid
    out["attributes"] = {} if attributes is None else attributes
    out.update(extra)
    return out


def box(left: float, top: float, width: float, height: float, *, label: str | None = None, uuid: str | None = None,
        rotation: float | None = None, vertices: Sequence[tuple[float, float]] | None = None,
        attributes: dict | None = None, **extra) -> dict:
    """A box; with ``rotation`` (radians, clockwise) its ``vertices`` are computed unless given."""
    out = _ann("box", label, uuid, attributes, {"left": left, "top": top, "width": width, "height": height})
    if rotation is not None:
        out["rotation"] = rotation
        if vertices is None:
            cx, cy = left + width / 2, top + height / 2
            c, s = math.cos(rotation), math.sin(rotation)
            vertices = [(cx + dx * c - dy * s, cy + dx * s + dy * c)
                        for dx, dy in ((-width / 2, -height / 2), (width / 2, -height / 2),
                                       (width / 2, height / 2), (-width / 2, height / 2))]
    if vertices is not None:
        out["vertices"] = [{"x": x, "y": y} for x, y in vertices]
    out.update(extra)
    return out


def polygon(points: Sequence[tuple[float, float]], *, label: str | None = None, uuid: str | None = None,
            attributes: dict | None = None, **extra) -> dict:
    return _ann("polygon", label, uuid, attributes, {"vertices": [{"x": x, "y": y} for x, y in points], **extra})


def line(points: Sequence[tuple[float, float]], *, label: str | None = None, uuid: str | None = None,
         attributes: dict | None = None, **extra) -> dict:
    return _ann("line", label, uuid, attributes, {"vertices": [{"x": x, "y": y} for x, y in points], **extra})


def point(x: float, y: float, *, label: str | None = None, uuid: str | None = None, attributes: dict | None = None,
          **extra) -> dict:
    return _ann("point", label, uuid, attributes, {"x": x, "y": y, **extra})


def ellipse(cx: float, cy: float, rx: float, ry: float, *, label: str | None = None, uuid: str | None = None,
            attributes: dict | None = None, vertices: Sequence[tuple[float, float]] | None = None, **extra) -> dict:
    """An axis-aligned ellipse as Scale returns it: 4 extremal vertices, top, right, bottom, left."""
    if vertices is None:
        vertices = [(cx, cy - ry), (cx + rx, cy), (cx, cy + ry), (cx - rx, cy)]
    return _ann("ellipse", label, uuid, attributes, {"vertices": [{"x": x, "y": y} for x, y in vertices], **extra})


def cuboid(left: float, top: float, width: float, height: float, *, side_dx: float = 40, side_dy: float = -20,
           label: str | None = None, uuid: str | None = None, attributes: dict | None = None,
           vertices: list[dict] | None = None, edges: list[dict] | None = None, **extra) -> dict:
    """A 2D cuboid: front face ``left, top, width, height``; side face towards ``side_dx`` (right when > 0)."""
    r, b = left + width, top + height
    sx = r + side_dx if side_dx > 0 else left + side_dx
    fx = r if side_dx > 0 else left  # the face edge the side face hangs on
    if vertices is None:
        vertices = [
            {"description": "face-topleft", "x": left, "y": top, "type": "vertex"},
            {"description": "face-bottomleft", "x": left, "y": b, "type": "vertex"},
            {"description": "face-topright", "x": r, "y": top, "type": "vertex"},
            {"description": "face-bottomright", "x": r, "y": b, "type": "vertex"},
            {"description": "side-topcorner", "x": sx, "y": top + side_dy, "type": "vertex"},
            {"description": "side-bottomcorner", "x": sx, "y": b + side_dy / 2, "type": "vertex"},
        ]
    if edges is None:
        def e(desc, x1, y1, x2, y2):
            return {"description": desc, "x1": x1, "y1": y1, "x2": x2, "y2": y2, "type": "edge"}

        edges = [
            e("face-top", left, top, r, top), e("face-right", r, top, r, b), e("face-bottom", left, b, r, b),
            e("face-left", left, top, left, b), e("side-top", fx, top, sx, top + side_dy),
            e("side-bottom", fx, b, sx, b + side_dy / 2),
        ]
    return _ann("cuboid", label, uuid, attributes, {"vertices": vertices, "edges": edges, **extra})


def make_task(*, width: float | None = 1000, height: float | None = 1000, geometries: dict | None = None,
              attributes: dict | None = None, padding: float | None = None, paddingX: float | None = None,
              paddingY: float | None = None, project: str = "test-project", links: Any = None,
              **geometry_options: dict) -> dict:
    """A pending imageannotation task. ``geometries`` replaces the default taxonomy (every type, see
    DEFAULT_LABELS); keyword arguments named after a geometry (``box={"min_width": 10}``) add options to it."""
    geos = copy.deepcopy(geometries) if geometries is not None else {
        g: {"objects_to_annotate": copy.deepcopy(labels)} for g, labels in DEFAULT_LABELS.items()}
    for g, opts in geometry_options.items():
        if g not in DEFAULT_LABELS:
            raise TypeError(f"make_task: unknown keyword {g!r} (geometry options are box=, polygon=, ...)")
        geos.setdefault(g, {"objects_to_annotate": copy.deepcopy(DEFAULT_LABELS[g])}).update(opts)
    params: dict[str, Any] = {"attachment": "https://example.invalid/image.jpg", "attachment_type": "image",
                              "geometries": geos}
    if attributes is not None:
        params["annotation_attributes"] = attributes
    for k, v in (("padding", padding), ("paddingX", paddingX), ("paddingY", paddingY), ("links", links)):
        if v is not None:
            params[k] = v
    metadata = {}
    if width is not None:
        metadata["image_width"] = width
    if height is not None:
        metadata["image_height"] = height
    return {"task_id": "0123456789abcdef01234567", "type": "imageannotation", "status": "pending",
            "project": project, "params": params, "metadata": metadata}


def make_body(annotations: Iterable[dict], task: dict | None = None, global_attributes: dict | None = None) -> dict:
    """A ``{task, response}`` body; annotations without a uuid get ``a1``, ``a2``, ... by position."""
    anns = []
    for i, a in enumerate(annotations, start=1):
        if isinstance(a, dict) and "uuid" not in a:
            a = {"uuid": f"a{i}", **a}
        anns.append(a)
    response: dict[str, Any] = {"annotations": anns, "links": []}
    if global_attributes is not None:
        response["global_attributes"] = global_attributes
    return {"task": task if task is not None else make_task(), "response": response}


# -- cases -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectedError:
    uuid: str | None
    at: Any = _REQUIRED
    error_type: str | None = None
    message: str | None = None


def error(uuid: str | None = None, *, at: Any = _REQUIRED, error_type: str | None = None,
          message: str | None = None) -> ExpectedError:
    """An expected issue: on ``uuid`` (None: global), located ``at`` ((x, y) or a list of them; None: no location)."""
    return ExpectedError(uuid, at, error_type, message)


@dataclass
class Case:
    name: str
    annotations: list
    task: dict | None = None
    errors: list[ExpectedError] = field(default_factory=list)
    global_attributes: dict | None = None
    options: dict | None = None
    expect_valid: bool = True

    def body(self) -> dict:
        return make_body(copy.deepcopy(self.annotations), copy.deepcopy(self.task),
                         copy.deepcopy(self.global_attributes))


def valid(name: str, annotations: list, *, task: dict | None = None, global_attributes: dict | None = None,
          options: dict | None = None) -> Case:
    return Case(name, annotations, task, [], global_attributes, options, True)


def invalid(name: str, annotations: list, *, errors: list[ExpectedError], task: dict | None = None,
            global_attributes: dict | None = None, options: dict | None = None) -> Case:
    return Case(name, annotations, task, list(errors), global_attributes, options, False)


def _toml_value(v: Any) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):  # recurse: a list may hold tables ([{labels = [...], min_iou = 0.8}])
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)


class RuleTester:
    """Runs one rule, through the real engine, on tables of valid and invalid cases."""

    _registry = None

    def __init__(self, rule_id: str, *, options: dict | None = None, config: str | None = None,
                 plugins: Sequence[str] = ()):
        self.rule_id = rule_id
        self.options = options or {}
        self.config_text = config
        self.plugins = tuple(plugins)
        self._engines: dict[str, Engine] = {}

    def engine(self, options: dict | None = None) -> Engine:
        """The engine for a case with these ``options`` (built once per distinct options, then reused)."""
        key = json.dumps(options or {}, sort_keys=True, default=str)
        eng = self._engines.get(key)
        if eng is None:
            eng = self._engines[key] = self._build_engine(options)
        return eng

    def _build_engine(self, options: dict | None) -> Engine:
        import tempfile
        from pathlib import Path

        if self.config_text is not None:
            text = self.config_text
        else:
            opts = {**self.options, **(options or {})}
            plugins = ", ".join(json.dumps(p) for p in self.plugins)
            text = (f'[engine]\nbuiltin_rules = "configured"\nfailure_policy = "closed"\nplugins = [{plugins}]\n\n'
                    f'[[rule]]\nid = "{self.rule_id}"\nlevel = "error"\n')
            if opts:
                text += f"options = {_toml_value(opts)}\n"
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "rule-tester.toml"
            path.write_text(text)
            return Engine(load_config(path))

    def check(self, case: Case) -> None:
        """Run one case; raise AssertionError describing any difference."""
        body = case.body()
        # the production path: the body as the bytes Scale sends (NaN kept as a literal), read by validate_bytes
        result = self.engine(case.options).validate_bytes(encode_body(body))
        assert not result.rule_failures, f"[{case.name}] the rule raised (see the log for its traceback)"
        assert not result.budget_exhausted, (f"[{case.name}] the rule did not finish within the time budget "
                                             f"({self.engine(case.options).config.time_budget_ms:g} ms)")
        violations = answer_violations(result.answer, body)
        assert not violations, f"[{case.name}] the answer is not in Scale's format:\n  " + "\n  ".join(violations)
        got = [i for i in result.issues if i.level != "off"]
        if case.expect_valid:
            assert not got, f"[{case.name}] expected no issue, got:\n" + "\n".join(_fmt(i) for i in got)
            return
        assert case.errors, f"[{case.name}] an invalid case must list the errors it expects"
        unmatched = list(got)
        problems = []
        for exp in case.errors:
            for cand in unmatched:
                if _matches(exp, cand, self.rule_id):
                    unmatched.remove(cand)
                    break
            else:
                problems.append(f"  missing: {_fmt_expected(exp, self.rule_id)}")
        for cand in unmatched:
            problems.append(f"  unexpected: {_fmt(cand)}")
        for exp in case.errors:
            if exp.at is _REQUIRED:
                problems.append(f"  expected error on {exp.uuid!r} must say where (at=[...], or at=None "
                                f"when no location is expected)")
        assert not problems, f"[{case.name}]\n" + "\n".join(problems)

    def pytest(self, *, valid: Sequence[Case] = (), invalid: Sequence[Case] = ()):
        """A parametrised pytest test function over all cases (assign it to a ``test_...`` name)."""
        import pytest

        cases = [*valid, *invalid]
        _check_duplicates(cases)
        for c in valid:
            assert c.expect_valid, f"case {c.name!r} is in valid= but was built with invalid()"
        for c in invalid:
            assert not c.expect_valid, f"case {c.name!r} is in invalid= but was built with valid()"

        @pytest.mark.parametrize("case", cases, ids=[("valid: " if c.expect_valid else "invalid: ") + c.name
                                                     for c in cases])
        def test(case):
            self.check(case)

        return test


def _check_duplicates(cases: Sequence[Case]) -> None:
    """Table problems, found before any case runs: duplicates, and invalid cases that expect nothing."""
    names = set()
    bodies = set()
    for c in cases:
        if not c.expect_valid and not c.errors:
            raise AssertionError(f"invalid case {c.name!r} must list the errors it expects (errors=[error(...)])")
        if c.name in names:
            raise AssertionError(f"duplicate case name {c.name!r}")
        names.add(c.name)
        key = json.dumps([c.annotations, c.task, c.global_attributes, c.options], sort_keys=True, default=str)
        if key in bodies:
            raise AssertionError(f"case {c.name!r} duplicates an earlier case (same task, annotations and options)")
        bodies.add(key)


def _points(at: Any) -> list[tuple[float, float]] | None:
    if at is None or at is _REQUIRED:
        return None
    if isinstance(at, tuple) and len(at) == 2 and all(isinstance(v, (int, float)) for v in at):
        return [at]
    return [tuple(p) for p in at]


def _matches(exp: ExpectedError, got, rule_id: str) -> bool:
    if exp.uuid != got.uuid or (exp.error_type or rule_id) != got.error_type:
        return False
    if exp.message is not None and (got.extra is None or exp.message not in got.extra):
        return False
    if exp.at is _REQUIRED:
        return True  # reported separately as a table problem
    want = _points(exp.at)
    if want is None:
        return not got.locations
    if len(want) != len(got.locations):
        return False
    return all(math.isclose(a, c, abs_tol=1e-6) and math.isclose(b, d, abs_tol=1e-6)
               for (a, b), (c, d) in zip(want, got.locations))


def _fmt(i) -> str:
    return f"{i.error_type} on {i.uuid!r} at {list(i.locations)}: {i.extra!r}"


def _fmt_expected(e: ExpectedError, rule_id: str) -> str:
    at = "(unspecified)" if e.at is _REQUIRED else e.at
    return f"{e.error_type or rule_id} on {e.uuid!r} at {at}" + (f" with message ~{e.message!r}" if e.message else "")
