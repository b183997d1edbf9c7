"""The analysis shared by the attribute rules (rules/attributes.py): which attributes apply to which annotation
under their ``conditions``, and what is wrong with each value, computed once per request; ``report`` turns the
findings of some kinds into issues for one rule instance.

Not a rule module (the leading underscore keeps it out of rule discovery).
"""
from __future__ import annotations

import math
from itertools import chain, compress, repeat
from operator import le, not_
from typing import Any

from validator import Issue, analysis, params_analysis
from validator.scale.annotations import Annotation
from validator.scale.task import parents

from ._support import cuboid_face, group_leaves, label_index, names, num, px, same_ignoring_case

RESERVED_GLOBAL = frozenset({"image_rotation"})
NUMERIC_TYPES = ("number", "angle", "x_line", "y_line")
GROUP_FROM = 64  # annotations: from this many, tasks with attribute_conditions clear annotations by group
STEP_TOLERANCE = 1e-6  # fraction of a step: 0.30000000000000004 is on a 0.1 step
BOUND_TOLERANCE = 1e-9  # relative: a value at max after float arithmetic is not over it

# Finding kinds (the rule that reports each kind is in KIND_RULE).
CHOICE, NUMBER, TYPE, NOT_APPLICABLE, UNDECLARED, MISSING, UNSET, LINKED = (
    "choice", "number", "type", "not_applicable", "undeclared", "missing", "unset", "linked")


class Finding:
    """One problem found by the analysis. ``pos`` is the annotation's position, None for the image's attributes.
    ``target`` is the position of a wrongly linked annotation (to point at it too)."""

    __slots__ = ("kind", "pos", "key", "text", "target")

    def __init__(self, kind: str, pos: int | None, key: str, text: str, target: int | None = None):
        self.kind = kind
        self.pos = pos
        self.key = key
        self.text = text
        self.target = target


# -- reporting -------------------------------------------------------------------------------------------------------
def report(anns, ctx, kinds: tuple[str, ...], skip_keys: frozenset[str] = frozenset()):
    analysis = _analysis(ctx)
    by_kind = analysis.by_kind
    findings = [f for k in kinds if k in by_kind for f in by_kind[k] if f.key not in skip_keys]
    if UNSET in kinds:
        findings += analysis.unset()
    if not findings:
        return
    a = ctx.annotations
    scoped = None if len(anns) == len(a) else set(anns.positions.tolist())
    for f in findings:
        if f.pos is None:
            yield Issue.globally(f.text)
            continue
        if scoped is not None and f.pos not in scoped:
            continue
        at = tuple(xy for xy in (_anchor(a, f.pos), _anchor(a, f.target)) if xy is not None)
        yield Issue(uuid=a.uuids[f.pos], extra=f.text, locations=at)


def _anchor(a, pos: int | None) -> tuple[float, float] | None:
    """The annotation's first vertex, where the issue points."""
    if pos is None or a.counts[pos] == 0:
        return None
    x, y = a.coords[a.offsets[pos]].tolist()
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


# -- the shared analysis ---------------------------------------------------------------------------------------------
@analysis
def _analysis(ctx) -> "_Analysis":
    """The request's analysis, computed once and shared by the family (dropped with the request)."""
    return _Analysis(ctx).run()


def _freeze(value: Any) -> Any:
    """A hashable stand-in for an answer a condition may name: equal stand-ins make every condition hold alike.
    Text and None stand for themselves; anything else is tagged, so the number 25 never stands in for the text
    "25" (a condition may accept the one, never the other), nor a list for a lone value."""
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, list):
        return ("list", *(v if isinstance(v, str) else ("value", repr(v)) for v in value))
    return ("value", repr(value))


def _frozen_column(attributes: list[dict], key: str) -> list:
    """``_freeze(attrs.get(key))`` of every annotation, at C speed when the answers are all text or unset."""
    column = list(map(dict.get, attributes, repeat(key)))
    return column if set(map(type, column)) <= _PLAIN else list(map(_freeze, column))


_PLAIN = {str, type(None)}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return f"true/false ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({num(float(value))})" if math.isfinite(value) else "a number that is not finite"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"text ('{shown}')"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _either(items: list[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


_PER_ANNOTATION = ("x_line", "y_line", "linked")  # checked against the annotation's box / uuid: never learnt


def _learnable(value: Any) -> bool:
    """Whether ``(key, value)`` can stand for every value equal to it in a set of pairs found fine: text and
    numbers (1 and 1.0 are checked alike), not None (unset), lists (unhashable) nor booleans."""
    t = type(value)
    return t is str or t is int or t is float


@params_analysis
def _cond_keys(task) -> tuple[str, ...]:
    """The attributes that conditions name, sorted."""
    return tuple(sorted({k for s in task.attributes.values() for obj in s.conditions.attribute_conditions
                         for k, _ in obj}))


@params_analysis
def _applicable(task, cond_keys: tuple[str, ...], label: str, frozen: tuple) -> tuple[dict, tuple, tuple]:
    """(key -> spec of the attributes that apply to an annotation of ``label`` whose answers to ``cond_keys`` (the
    attributes that conditions name) stand as ``frozen`` (``_freeze``), those specs in task order, the required
    ones)."""
    mode = task.conditions_mode
    answers = dict(zip(cond_keys, map(_thaw, frozen)))
    specs = [s for s in task.attributes.values()
             if not s.is_global and (s.conditions.labels is None or label in s.conditions.labels)
             and (not s.conditions.attribute_conditions or s.conditions.applies(label, answers, mode))]
    return {s.key: s for s in specs}, tuple(specs), tuple(s for s in specs if s.required)


def _thaw(frozen: Any) -> Any:
    """An answer that meets the same conditions as every answer ``frozen`` stands for: text and None as they are,
    a list as its text items (a condition looks at nothing else of a list), anything else as a value that is not
    text (which meets no condition)."""
    if frozen is None or isinstance(frozen, str):
        return frozen
    if frozen[0] == "list":
        return [v for v in frozen[1:] if isinstance(v, str)]
    return _NOT_TEXT


_NOT_TEXT = object()


@params_analysis
def _label_group(task, label: str) -> tuple:
    """Without attribute conditions, what applies to an annotation of ``label``: ((key -> spec, specs in task
    order, required specs), the pairs known fine, those of them clearing annotations in bulk (_NEVER when some
    are required), the required keys). Labels to which the same attributes apply share one group."""
    keys = tuple(s.key for s in task.attributes.values()
                 if not s.is_global and (s.conditions.labels is None or label in s.conditions.labels))
    return _keys_group(task, keys)


@params_analysis
def _keys_group(task, keys: tuple[str, ...]) -> tuple:
    in_order = tuple(task.attributes[k] for k in keys)
    required = tuple(s for s in in_order if s.required)
    pairs, safe = _seeds(task, keys)
    return (({s.key: s for s in in_order}, in_order, required), pairs, _NEVER if required else safe,
            frozenset(s.key for s in required))


@params_analysis(weight=lambda seeds: len(seeds[0]) + 1)
def _seeds(task, keys: tuple[str, ...]) -> tuple[frozenset, frozenset]:
    """:func:`_seed` of the attributes with these keys, kept per params (read-only: a request copies the pairs it
    learns into)."""
    pairs, safe = _seed(task.attributes[k] for k in keys)
    return frozenset(pairs), frozenset(safe)


def _seed(specs) -> tuple[set, set]:
    """(key, value) pairs fine wherever these specs apply, and those of them that equal no boolean: the choices
    of category attributes, the values of number attributes with whole min, max and step and at most 1,000 steps
    (exact in floating point, so on their steps and within their bounds)."""
    safe: set = set()
    boolean_like: set = set()
    for spec in specs:
        if spec.type == "category":
            safe.update(zip(repeat(spec.key), spec.choices))
        elif spec.type == "number" and spec.min is not None and spec.max is not None and spec.step:
            lo, hi, step = spec.min, spec.max, spec.step
            if (lo.is_integer() and hi.is_integer() and step.is_integer() and step > 0
                    and 0 <= (hi - lo) / step <= 1000 and max(abs(lo), abs(hi)) < 2 ** 52):
                values = set(range(int(lo), int(hi) + 1, int(step)))
                safe.update(zip(repeat(spec.key), values - _ZERO_ONE))
                boolean_like.update(zip(repeat(spec.key), values & _ZERO_ONE))
    return (safe | boolean_like if boolean_like else set(safe)), safe


_ZERO_ONE = frozenset((0, 1))


class _Never:
    """Compares as "not a superset" of anything: annotations of a label with required keys are never cleared in
    bulk (``dict_items <= _NEVER`` is False)."""

    def __ge__(self, other) -> bool:
        return False


_NEVER = _Never()


def _not_within(attributes: list[dict], labels: list[str], known: dict[str, Any],
                skip_empty: bool = False) -> list[int]:
    """The positions of the annotations with a (key, value) pair outside ``known[label]`` (or an unhashable
    value), in one C-level pass. ``skip_empty``: annotations without attributes are fine (no label has required
    keys), so they are not even looked up."""
    if skip_empty:  # only the annotations with attributes (C-level filters): lines and polygons often have none
        positions = list(compress(range(len(labels)), attributes))
        if len(positions) < len(labels):
            attributes = [attributes[p] for p in positions]
            labels = [labels[p] for p in positions]
    else:
        positions = range(len(labels))
    tables = map(known.__getitem__, labels)
    try:
        return list(compress(positions, map(not_, map(le, map(dict.items, attributes), tables))))
    except TypeError:  # an unhashable value (a list): compare annotation by annotation
        return list(compress(positions, map(not_, map(_within, attributes, map(known.__getitem__, labels)))))


def _within(attrs: dict, known: set) -> bool:
    """Whether every (key, value) pair of ``attrs`` is in ``known`` (False when a value is unhashable)."""
    try:
        return attrs.items() <= known
    except TypeError:
        return False


class _Analysis:
    def __init__(self, ctx):
        self.ctx = ctx
        self.global_attributes = ctx.global_attributes
        self.task = ctx.task
        self.specs = ctx.task.attributes
        self.mode = ctx.task.conditions_mode
        self.findings: list[Finding] = []
        self.by_kind: dict[str, list[Finding]] = {}  # the findings by kind (set by run)
        self._unset: list[Finding] | None = None
        self.cond_keys = _cond_keys(ctx)
        self._applicable: dict[Any, tuple[dict, tuple, tuple]] = {}  # this request's, from the params' memo
        self._values: dict[tuple, tuple[str, str] | None] = {}
        self._parents: dict[str, frozenset[str]] = {}
        a = ctx.annotations
        self.labels = a.labels
        self.types = a.type_names
        self.attributes = a.attributes
        self.uuids = a.uuids

    def run(self) -> "_Analysis":
        if self.specs or any(self.attributes):
            self._annotations()
        self._globals()
        for f in self.findings:
            self.by_kind.setdefault(f.kind, []).append(f)
        self.ctx = self.task = None  # the cache must not keep the request alive (only these small lists)
        return self

    def unset(self) -> list[Finding]:
        """Applicable, not required attributes left unset (only ``require_all`` asks, so computed on demand)."""
        if self._unset is None:
            out = []
            for pos, (label, attrs) in enumerate(zip(self.labels, self.attributes)):
                for spec in self._applicable_for(label, attrs)[1]:
                    if not spec.required and attrs.get(spec.key) is None:
                        out.append(Finding(UNSET, pos, spec.key, self._unset_text(spec)))
            ga = self.global_attributes
            for spec in self.specs.values():
                if (spec.is_global and not spec.required and spec.key not in RESERVED_GLOBAL
                        and ga.get(spec.key) is None and spec.conditions.applies(None, ga, self.mode)):
                    out.append(Finding(UNSET, None, spec.key, self._unset_text(spec, "for the image ")))
            self._unset = out
        return self._unset

    # -- per annotation --------------------------------------------------------------------------------------------
    def _applicable_for(self, label: str, attrs: dict) -> tuple[dict, tuple, tuple]:
        """(key -> spec of the attributes that apply, those specs in task order, the required ones), per label and
        the values of the attributes that conditions refer to: worked out once per params (``_applicable``)."""
        if not self.cond_keys:
            return self._group_of(label)
        return self._group_of((label, *(_freeze(attrs.get(k)) for k in self.cond_keys)))

    def _group_of(self, key) -> tuple[dict, tuple, tuple]:
        """:meth:`_applicable_for` by its key: the label, or (label, *frozen answers to the conditions' keys)."""
        found = self._applicable.get(key)
        if found is None:
            label, frozen = (key, ()) if isinstance(key, str) else (key[0], key[1:])
            found = self._applicable[key] = _applicable(self.task, self.cond_keys, label, frozen)
        return found

    def _annotations(self) -> None:
        """Every annotation's attributes.

        Without attribute conditions, what applies depends on the label only, so most annotations are cleared in
        bulk: one whose every (key, value) pair is known to be fine for its label (a choice of a category, a
        number on its steps, or a pair already checked on an earlier annotation), and that has its label's
        required keys, has nothing to report. The others are checked one by one. When conditions refer to other
        attributes' answers, the same is done per group of (label, those answers), from ``GROUP_FROM``
        annotations.

        0 and 1 equal false and true in Python (``(k, True) in {(k, 1)}``), and a boolean is never a valid
        number: pairs with 0 or 1 are only trusted after checking that the annotation holds no boolean."""
        labels, attributes = self.labels, self.attributes
        if self.cond_keys and len(labels) < GROUP_FROM:
            for pos, (label, attrs) in enumerate(zip(labels, attributes)):
                self._one(pos, label, attrs, None)
            return
        if self.cond_keys:
            # What applies depends on the label and on the answers the conditions name: annotations that share
            # both share what is known to be fine, so one whose every (key, value) pair is known fine for its group
            # (and that has the group's required keys and no boolean, as below) is cleared without a check.
            # A group's known pairs start from the choices and whole-step numbers of the attributes that apply to
            # it (``_seed``, as without conditions), shared by the groups to which the same attributes apply. As
            # below, the pairs without 0 / 1 clear annotations in one C-level pass; the rest one by one.
            keys = list(zip(labels, *(_frozen_column(attributes, k) for k in self.cond_keys)))
            groups: dict[Any, tuple[set, Any, frozenset]] = {}
            seeded: dict[tuple, tuple[set, set]] = {}
            for key in dict.fromkeys(keys):  # each group once, in request order
                _, in_order, required = self._group_of(key)
                applicable = tuple(s.key for s in in_order)
                seed = seeded.get(applicable)
                if seed is None:
                    pairs, safe = _seeds(self.task, applicable)
                    seed = seeded[applicable] = (set(pairs), safe)  # (this request learns into its copy)
                groups[key] = (seed[0], _NEVER if required else seed[1], frozenset(s.key for s in required))
            rest = _not_within(attributes, keys, {k: g[1] for k, g in groups.items()})
            if len(rest) > 64:
                # Many left (0 and 1 are common answers): again in bulk with the pairs holding 0 / 1, for the groups
                # without required keys, when no value left is a boolean.
                others = [attributes[p] for p in rest]
                if bool not in set(map(type, chain.from_iterable(map(dict.values, others)))):
                    table = {k: _NEVER if g[2] else g[0] for k, g in groups.items()}
                    rest = [rest[i] for i in _not_within(others, [keys[p] for p in rest], table)]
            for pos in rest:
                label, attrs = labels[pos], attributes[pos]
                if not attrs:
                    self._one(pos, label, attrs, None)  # nothing to learn; only required keys can be missing
                    continue
                known, _, needed = groups[keys[pos]]
                if _within(attrs, known) and attrs.keys() >= needed and bool not in set(map(type, attrs.values())):
                    continue  # fine, by pairs holding 0 / 1 or learnt from an earlier annotation of the group
                self._one(pos, label, attrs, known)
            return
        fine: dict[str, set] = {}  # label -> (key, value) pairs found fine on that label
        safe: dict[str, Any] = {}  # label -> the pairs without 0 / 1 (_NEVER: the label has required keys)
        needed: dict[str, frozenset[str]] = {}  # label -> keys of its required attributes
        learnt: dict[int, set] = {}  # labels with the same applicable attributes share what is learnt
        for label in label_index(self.ctx)[0]:
            applicable, pairs, safe_pairs, required_keys = group = _label_group(self.task, label)
            known = learnt.get(id(group))
            if known is None:
                known = learnt[id(group)] = set(pairs)  # (this request learns into its copy)
            self._applicable[label], fine[label], safe[label], needed[label] = (applicable, known, safe_pairs,
                                                                                required_keys)
        rest = _not_within(attributes, labels, safe, skip_empty=not any(needed.values()))
        if len(rest) > 64 and not any(needed.values()):
            # Many left (0 and 1 are common answers): again in bulk with the pairs holding 0 / 1, when no value is a
            # boolean (and no label has required keys, checked below).
            others = [attributes[p] for p in rest]
            if bool not in set(map(type, chain.from_iterable(map(dict.values, others)))):
                rest = [rest[i] for i in _not_within(others, [labels[p] for p in rest], fine)]
        for pos in rest:
            label, attrs = labels[pos], attributes[pos]
            known = fine[label]
            if (_within(attrs, known) and attrs.keys() >= needed[label]
                    and bool not in set(map(type, attrs.values()))):
                continue  # fine, by pairs holding 0 / 1 or learnt from an earlier annotation
            self._one(pos, label, attrs, known)

    def _one(self, pos: int, label: str, attrs: dict, known: set | None) -> None:
        """The findings of one annotation. ``known``: where to record the (key, value) pairs found fine, when that
        depends on the label only (no attribute conditions) and not on the annotation itself (its box, its uuid)."""
        add = self.findings.append
        specs = self.specs
        applicable, _, required = self._applicable_for(label, attrs)
        for k, v in attrs.items():
            if v is None:
                continue
            spec = applicable.get(k)
            if spec is not None:
                problem = self._check(spec, v, pos)
                if problem is not None:
                    add(Finding(problem[0], pos, k, problem[1], problem[2] if len(problem) > 2 else None))
                elif known is not None and spec.type not in _PER_ANNOTATION and _learnable(v):
                    known.add((k, v))
                continue
            spec = specs.get(k)
            if spec is None:
                if k not in RESERVED_GLOBAL:
                    add(Finding(UNDECLARED, pos, k, f"'{k}' is not an attribute of this task; remove it."))
                elif known is not None and _learnable(v):
                    known.add((k, v))
            elif spec.is_global:
                add(Finding(NOT_APPLICABLE, pos, k, f"{k} describes the whole image; set it once for the "
                                                    f"image, not on this {self.types[pos]}."))
            else:
                add(Finding(NOT_APPLICABLE, pos, k, self._not_applicable_text(spec, label)))
        for spec in required:
            if attrs.get(spec.key) is None:
                add(Finding(MISSING, pos, spec.key, self._missing_text(spec, label)))

    # -- the image's attributes ------------------------------------------------------------------------------------
    def _globals(self) -> None:
        add = self.findings.append
        ga = self.global_attributes
        for k, v in ga.items():
            if k in RESERVED_GLOBAL or v is None:
                continue
            spec = self.specs.get(k)
            if spec is None:
                add(Finding(UNDECLARED, None, k, f"'{k}' is not an attribute of this task; remove it from the "
                                                 "image's attributes."))
            elif not spec.is_global:
                add(Finding(NOT_APPLICABLE, None, k, f"{k} belongs on individual annotations, not on the whole "
                                                     "image."))
            elif not spec.conditions.applies(None, ga, self.mode):
                add(Finding(NOT_APPLICABLE, None, k, f"{k} only applies when "
                                                     f"{self._conditions_text(spec)}; remove it."))
            else:
                problem = self._check(spec, v, None)
                if problem is not None:
                    add(Finding(problem[0], None, k, problem[1]))
        for spec in self.specs.values():
            if (spec.is_global and spec.key not in RESERVED_GLOBAL and ga.get(spec.key) is None
                    and spec.conditions.applies(None, ga, self.mode)):
                if spec.required:
                    add(Finding(MISSING, None, spec.key, f"{spec.key} is required for the image; set it."))

    # -- value checks ----------------------------------------------------------------------------------------------
    def _check(self, spec, value: Any, pos: int | None):
        """None, or (kind, text[, target position]) for one present value of an applicable attribute."""
        t = spec.type
        if t in ("x_line", "y_line", "linked"):  # depend on the annotation: not cached
            return self._check_offset(spec, value, pos) if t != "linked" else self._check_linked(spec, value, pos)
        if type(value) in (str, int, float):
            key = (spec.key, type(value), value)
            if key in self._values:
                return self._values[key]
            out = self._check_plain(spec, value)
            self._values[key] = out
            return out
        return self._check_plain(spec, value)

    def _check_plain(self, spec, value: Any):
        t = spec.type
        k = spec.key
        if t == "category":
            return self._check_category(spec, value)
        if t == "text":
            return None if isinstance(value, str) else (TYPE, f"{k} must be text, not {_kind_of(value)}.")
        if t == "number":
            if not _is_number(value):
                return TYPE, f"{k} must be a number, not {_kind_of(value)}."
            return self._check_range(spec, float(value))
        if t == "angle":
            if not _is_number(value):
                return TYPE, f"{k} must be an angle in degrees, not {_kind_of(value)}."
            if not 0.0 <= value <= 360.0:
                return NUMBER, f"{k} is {num(float(value))}; an angle must be between 0 and 360."
            return None
        return None  # a type this validator does not know: nothing to check

    def _check_category(self, spec, value: Any):
        k = spec.key
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                return TYPE, f"{k} must be a list of answers (text), but it holds something else."
            if not spec.allow_multiple:
                return CHOICE, f"{k} takes a single answer, but a list was given ({names(value) or 'empty'})."
            bad = [v for v in value if spec.choices and v not in spec.choices]
            if not bad:
                return None
            return CHOICE, (f"{k}: {names(repr(v) for v in bad)} "
                            f"{'is not one of the choices' if len(bad) == 1 else 'are not among the choices'}; "
                            f"choose from {names(spec.choices)}.")
        if not isinstance(value, str):
            return TYPE, f"{k} must be one of its answers (text), not {_kind_of(value)}."
        if not spec.choices or value in spec.choices:
            return None
        if value in self._parent_choices(spec):
            sub = group_leaves(spec.raw.get("choices"), value)
            return CHOICE, f"{k}: '{value}' is a group; choose one of {names(sub or spec.choices)}."
        slip = same_ignoring_case(value, spec.choices)
        if slip is not None:
            return CHOICE, f"{k}: '{value}' is not one of the choices; did you mean '{slip}'?"
        return CHOICE, f"{k}: '{value}' is not one of the choices; choose one of {names(spec.choices)}."

    def _parent_choices(self, spec) -> frozenset[str]:
        found = self._parents.get(spec.key)
        if found is None:
            found = self._parents[spec.key] = frozenset(parents(spec.raw.get("choices")))
        return found

    @staticmethod
    def _check_range(spec, value: float):
        k = spec.key
        lo, hi, step = spec.min, spec.max, spec.step
        if lo is not None and value < lo - BOUND_TOLERANCE * max(1.0, abs(lo)):
            return NUMBER, f"{k} is {num(value)}; the minimum is {num(lo)}."
        if hi is not None and value > hi + BOUND_TOLERANCE * max(1.0, abs(hi)):
            return NUMBER, f"{k} is {num(value)}; the maximum is {num(hi)}."
        if step is not None and step > 0:
            base = lo if lo is not None else 0.0
            n = (value - base) / step
            if abs(n - round(n)) > STEP_TOLERANCE:
                start = f" from {num(lo)}" if lo is not None else ""
                return NUMBER, f"{k} is {num(value)}; it goes in steps of {num(step)}{start}."
        return None

    def _check_offset(self, spec, value: Any, pos: int | None):
        k = spec.key
        if not _is_number(value):
            return TYPE, f"{k} must be a number of pixels, not {_kind_of(value)}."
        if pos is None:
            return None
        extent = self._extent(pos, spec.type == "x_line")
        dim = "width" if spec.type == "x_line" else "height"
        if extent is None or extent[0] <= 0:
            return None  # no box to measure against, or an empty box (reported by box_too_small)
        size, what = extent
        if not -BOUND_TOLERANCE <= value <= size * (1 + BOUND_TOLERANCE) + BOUND_TOLERANCE:
            return NUMBER, f"{k} is {num(float(value))}; it must be between 0 and the {what}'s {dim} ({px(size)} px)."
        return None

    def _extent(self, pos: int, horizontal: bool) -> tuple[float, str] | None:
        t = self.types[pos]
        ann = Annotation(self.ctx.annotations, pos)
        if t == "box":
            return (ann.width if horizontal else ann.height), "box"
        if t == "cuboid":
            face = cuboid_face(ann)
            if face is None:
                return None
            return (face[0] if horizontal else face[1]), "front face"
        return None

    def _check_linked(self, spec, value: Any, pos: int | None):
        k = spec.key
        if not isinstance(value, str):
            return TYPE, f"{k} must link to another annotation, not {_kind_of(value)}."
        a = self.ctx.annotations
        allowed = sorted(spec.allowed_labels) if spec.allowed_labels else []
        link_to = f"link it to a {_either(allowed)}" if allowed else "link it to another annotation"
        if pos is not None and value == self.uuids[pos]:
            return LINKED, f"{k} links this {self.types[pos]} to itself; {link_to}."
        if value not in a.uuid_order:
            return LINKED, f"{k} points to an annotation that is not in this task; {link_to}."
        target = _position_of(a, value)
        if target is None or not allowed:
            return None  # the target is malformed (reported on it) or any label may be linked
        target_label = self.labels[target]
        if target_label not in spec.allowed_labels:
            return LINKED, f"{k} must point to a {_either(allowed)}, but it points to a {target_label}.", target
        return None

    # -- texts -----------------------------------------------------------------------------------------------------
    def _conditions_text(self, spec) -> str:
        parts = []
        for obj in spec.conditions.attribute_conditions:
            terms = [f"{k} is {next(iter(v))}" if len(v) == 1 else f"{k} is one of {names(sorted(v))}"
                     for k, v in obj]
            parts.append(" and ".join(terms))
        joiner = " or " if self.mode == "or" else " and "
        return joiner.join(parts) or "its conditions hold"

    def _not_applicable_text(self, spec, label: str) -> str:
        labels = spec.conditions.labels
        if labels is not None and label not in labels:
            return (f"{spec.key} does not apply to a {label} (it is only for {names(self._label_order(spec))}); "
                    "remove it.")
        return f"{spec.key} only applies when {self._conditions_text(spec)}; remove it or change that answer."

    @staticmethod
    def _label_order(spec) -> list[str]:
        cond = spec.raw.get("conditions")
        lc = cond.get("label_condition") if isinstance(cond, dict) else None
        raw = lc.get("label") if isinstance(lc, dict) else None
        if isinstance(raw, list):
            return [x for x in raw if isinstance(x, str)]
        return sorted(spec.conditions.labels or ())

    @staticmethod
    def _missing_text(spec, label: str) -> str:
        if spec.type == "linked":
            allowed = sorted(spec.allowed_labels) if spec.allowed_labels else []
            target = f"a {_either(allowed)}" if allowed else "another annotation"
            return f"{spec.key} is required: link this {label} to {target}."
        return f"{spec.key} is required for a {label}; set it."

    @staticmethod
    def _unset_text(spec, where: str = "") -> str:
        question = f" ({spec.description})" if spec.description and len(spec.description) <= 80 else ""
        return f"{spec.key} is not set {where}yet; please answer it{question}.".replace("  ", " ")


def _position_of(a, uuid: str) -> int | None:
    pos_of = getattr(a, "pos_of_uuid", None)
    if pos_of is not None:
        return pos_of.get(uuid)
    ann = a.by_uuid.get(uuid)
    return None if ann is None else ann.pos
