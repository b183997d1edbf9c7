"""The task's parameters, normalised once per request for every rule.

``TaskSpec.from_task(task, settings)`` reads an already envelope-validated Task object and produces:

* ``geometries``: per geometry type a :class:`GeometrySpec` with its *leaf* labels (``objects_to_annotate``
  flattened: a ``LabelDescription`` with ``subchoices`` contributes its leaves, not itself) and its options
  (``min_width``, ``min_height``, ``min_vertices``, ``max_vertices``, ``can_rotate``, ...).
* ``attributes``: per attribute key an :class:`AttributeSpec` (type, choices as leaves, min/max/step,
  allowed_labels, required, conditions).
* ``image_width`` / ``image_height``: from ``task.metadata`` (key names configurable) or the per-project setting;
  ``None`` when unknown (rules that need the image size then skip, and the engine logs it).
* ``padding_x`` / ``padding_y``: ``paddingX`` / ``paddingY``, each falling back to ``padding``, default 0.

Scale's docs disagree on how conditions combine; ``conditions_mode`` chooses: ``"and"`` (default): the label
condition and every attribute-condition object must hold; ``"or"``: the label condition must hold and at least one
attribute-condition object (the properties inside one object are always AND'd).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import orjson

log = logging.getLogger("validator.task")

# What a task's params yield (taxonomy leaves, geometry options, attribute specs, paddings), per worker, keyed on the
# JSON encoding of the params fields read (not the per-task ones, such as the attachment): Scale sends the same
# project params with every task. Only params parsed by orjson are cached (the engine's typed path): orjson's encoding
# of what it parsed is one-to-one (key order, absence, int vs float and every float digit kept), whereas a NaN from
# the stdlib parser would encode as null, like a null.
PARAMS_CACHE_SIZE = 64
# Params whose fields read encode to more than this are not cached: 64 entries stay a few MB at most, whatever a
# client sends (a project's params are a few KB; a 16 MiB body could otherwise hold 16 MiB of params per entry).
PARAMS_CACHE_MAX_KEY = 64 * 1024
PARAMS_READ = ("geometries", "annotation_attributes", "padding", "paddingX", "paddingY")  # format.Params's fields
_params_cache: dict[bytes, tuple] = {}


def params_key(params: Any) -> bytes | None:
    """The cache key of a params object parsed by orjson: the fields of PARAMS_READ it has, encoded (None, i.e. not
    cached, when they cannot be, e.g. nested too deep, when params is not an object, or when the encoding is over
    PARAMS_CACHE_MAX_KEY bytes)."""
    if not isinstance(params, dict):
        return None
    try:
        key = orjson.dumps({k: params[k] for k in PARAMS_READ if k in params})
    except (orjson.JSONEncodeError, TypeError):
        return None
    return key if len(key) <= PARAMS_CACHE_MAX_KEY else None


PARAMS_MEMO_WEIGHT = 20_000  # per params: what rules may keep of their params analyses (about 2 MB at most)


class ParamsMemo:
    """What rules derive from a task's params alone (``validator.params_analysis``), kept with the params: shared
    by every request whose params are the same when they are cached (the engine's typed path), one per request
    otherwise. Bounded whatever requests hold: an entry weighs what the analysis says (1 by default) and, once
    PARAMS_MEMO_WEIGHT units are kept, further values are computed and not kept."""

    __slots__ = ("_values", "_left")

    def __init__(self) -> None:
        self._values: dict = {}
        self._left = PARAMS_MEMO_WEIGHT

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: Any, build, weight=None) -> Any:
        """The value kept under ``key``, else ``build()`` (kept if its ``weight(value)`` still fits)."""
        try:
            return self._values[key]
        except KeyError:
            pass
        value = build()
        w = 1 if weight is None else max(int(weight(value)), 1)
        if w <= self._left:
            self._values[key] = value
            self._left -= w
        return value


def cached(cache: dict, key: bytes | None, build):
    """``build()``, remembered under ``key`` in a small LRU (at most PARAMS_CACHE_SIZE entries; None: not cached).
    A ``build`` that raises caches nothing."""
    if key is None:
        return build()
    try:
        value = cache.pop(key)
    except KeyError:
        value = build()
        if len(cache) >= PARAMS_CACHE_SIZE:
            del cache[next(iter(cache))]  # the least recently used (dicts keep insertion order)
    cache[key] = value
    return value



def leaves(choices: Iterable[Any]) -> list[str]:
    """Flatten ``objects_to_annotate`` / ``choices`` (strings or LabelDescriptions) into leaf labels, in order."""
    out: list[str] = []
    if not isinstance(choices, (list, tuple)):
        return out  # a malformed taxonomy has no leaves (tolerated: Scale validates its own params)
    for c in choices:
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, dict) and isinstance(c.get("choice"), str):
            subs = c.get("subchoices")
            if isinstance(subs, list) and subs:
                out.extend(leaves(subs))
            else:
                out.append(c["choice"])
    return out


def parents(choices: Iterable[Any]) -> list[str]:
    """Labels that have subchoices (not selectable themselves)."""
    out: list[str] = []
    if not isinstance(choices, (list, tuple)):
        return out
    for c in choices:
        if isinstance(c, dict) and isinstance(c.get("choice"), str):
            subs = c.get("subchoices")
            if isinstance(subs, list) and subs:
                out.append(c["choice"])
                out.extend(parents(subs))
    return out


def _as_set(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, list):
        return frozenset(v for v in value if isinstance(v, str))
    return None


def _number(value: Any) -> float | None:
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None


@dataclass(frozen=True)
class Conditions:
    labels: frozenset[str] | None = None  # label_condition
    attribute_conditions: tuple[tuple[tuple[str, frozenset[str]], ...], ...] = ()
    is_global: bool = False

    @classmethod
    def parse(cls, raw: Any) -> "Conditions":
        if not isinstance(raw, dict):
            return cls()
        lc = raw.get("label_condition")
        labels = _as_set(lc.get("label")) if isinstance(lc, dict) else None
        acs = []
        acl = raw.get("attribute_conditions")
        for obj in acl if isinstance(acl, list) else ():
            if isinstance(obj, dict):
                acs.append(tuple(sorted((k, v) for k, v in ((k, _as_set(v)) for k, v in obj.items()) if v is not None)))
        return cls(labels=labels, attribute_conditions=tuple(acs), is_global=raw.get("is_global") is True)

    def applies(self, label: str | None, attributes: Mapping[str, Any], mode: str = "and") -> bool:
        """Whether an attribute with these conditions applies to an annotation with this label and attributes."""
        if self.labels is not None and not self.is_global and label not in self.labels:
            return False
        if not self.attribute_conditions:
            return True
        results = (all(_value_in(attributes.get(k), allowed) for k, allowed in obj)
                   for obj in self.attribute_conditions)
        return any(results) if mode == "or" else all(results)


def _value_in(value: Any, allowed: frozenset[str]) -> bool:
    if isinstance(value, list):
        return any(v in allowed for v in value if isinstance(v, str))
    return isinstance(value, str) and value in allowed


@dataclass(frozen=True)
class AttributeSpec:
    key: str
    type: str
    description: str | None
    choices: tuple[str, ...] = ()  # category: leaf choices
    allow_multiple: bool = False
    min: float | None = None
    max: float | None = None
    step: float | None = None
    allowed_labels: frozenset[str] | None = None  # linked
    required: bool = False
    conditions: Conditions = field(default_factory=Conditions)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_global(self) -> bool:
        return self.conditions.is_global

    @classmethod
    def parse(cls, key: str, raw: Any) -> "AttributeSpec":
        if not isinstance(raw, dict):
            raw = {}
        type_ = raw.get("type") or "category"
        step = _number(raw.get("step"))
        return cls(
            key=key,
            type=type_ if isinstance(type_, str) else "category",
            description=raw.get("description") if isinstance(raw.get("description"), str) else None,
            choices=tuple(leaves(raw.get("choices"))),
            allow_multiple=raw.get("allow_multiple") is True,
            min=_number(raw.get("min")),
            max=_number(raw.get("max")),
            step=step if step is not None else (1.0 if type_ == "number" else None),
            allowed_labels=_as_set(raw.get("allowed_labels")),
            required=raw.get("required") is True,
            conditions=Conditions.parse(raw.get("conditions")),
            raw=raw,
        )


@dataclass(frozen=True)
class GeometrySpec:
    type: str
    labels: frozenset[str]  # leaves
    label_order: tuple[str, ...]
    parent_labels: frozenset[str]
    options: Mapping[str, Any]

    def option(self, name: str) -> float | None:
        """A numeric geometry option (``min_width``, ``max_vertices``...), None when absent or not a number."""
        return _number(self.options.get(name))


@dataclass(frozen=True)
class TaskSpec:
    task_id: str | None
    type: str | None
    status: str | None
    project: str | None
    batch: str | None
    geometries: Mapping[str, GeometrySpec]
    attributes: Mapping[str, AttributeSpec]
    image_width: float | None
    image_height: float | None
    padding_x: float
    padding_y: float
    conditions_mode: str
    links: Any
    metadata: Mapping[str, Any]
    params: Mapping[str, Any]
    raw: Mapping[str, Any]
    # what params analyses derived from geometries, attributes and paddings (shared with the requests that have the
    # same params; validator.params_analysis)
    params_memo: ParamsMemo = field(default_factory=ParamsMemo, compare=False, repr=False)

    @property
    def image_size_known(self) -> bool:
        return self.image_width is not None and self.image_height is not None

    def applicable_attributes(self, label: str | None, attributes: Mapping[str, Any]) -> list[AttributeSpec]:
        """Non-global attribute specs whose conditions hold for this label and attribute values."""
        return [s for s in self.attributes.values()
                if not s.is_global and s.conditions.applies(label, attributes, self.conditions_mode)]

    @classmethod
    def from_task(cls, task: Mapping[str, Any], *, width_key: str = "image_width", height_key: str = "image_height",
                  project_image_size: Mapping[str, tuple[float, float]] | None = None,
                  conditions_mode: str = "and", cache: bool = False, key: Any = ...) -> "TaskSpec":
        """``cache=True``: the task was parsed by orjson, and what its params yield may be shared with earlier
        tasks that had the same params (read-only: never modify a spec). ``key``: the cache key of the params as
        received, when the caller has it, None included (not cached; the engine: ``envelope.task_params_key`` of the
        raw task, computed once per request); else (not given) that of ``task["params"]``."""
        params = task.get("params") if isinstance(task.get("params"), dict) else {}
        metadata = task.get("metadata") if isinstance(task.get("metadata"), dict) else {}
        if cache and key is ...:
            key = params_key(params)
        geos, attrs, pad_x, pad_y, memo = cached(_params_cache, key if cache else None,
                                                 lambda: _from_params(params))
        project = task.get("project") if isinstance(task.get("project"), str) else None
        width = _positive(metadata.get(width_key))
        height = _positive(metadata.get(height_key))
        if (width is None or height is None) and project_image_size and project in project_image_size:
            width, height = project_image_size[project]
        return cls(
            task_id=task.get("task_id") if isinstance(task.get("task_id"), str) else None,
            type=task.get("type") if isinstance(task.get("type"), str) else None,
            status=task.get("status") if isinstance(task.get("status"), str) else None,
            project=project,
            batch=task.get("batch") if isinstance(task.get("batch"), str) else None,
            geometries=geos,
            attributes=attrs,
            image_width=width,
            image_height=height,
            padding_x=pad_x,
            padding_y=pad_y,
            conditions_mode=conditions_mode,
            links=params.get("links"),
            metadata=metadata,
            params=params,
            raw=task,
            params_memo=memo,
        )


def _from_params(params: Mapping[str, Any]) -> tuple[dict, dict, float, float, ParamsMemo]:
    """(geometry specs, attribute specs, padding x, padding y, a memo for params analyses) of a task's params."""
    geos = {}
    for gtype, gopts in (params.get("geometries") or {}).items():
        if not isinstance(gopts, dict):
            continue
        ota = gopts.get("objects_to_annotate")
        lv = leaves(ota)
        geos[gtype] = GeometrySpec(gtype, frozenset(lv), tuple(lv), frozenset(parents(ota)), gopts)
    attrs = {k: AttributeSpec.parse(k, v) for k, v in (params.get("annotation_attributes") or {}).items()
             if isinstance(k, str)}
    pad = _number(params.get("padding")) or 0.0
    pad_x = _number(params.get("paddingX"))
    pad_y = _number(params.get("paddingY"))
    return (geos, attrs, max(pad if pad_x is None else pad_x, 0.0), max(pad if pad_y is None else pad_y, 0.0),
            ParamsMemo())


def _positive(value: Any) -> float | None:
    v = _number(value)
    return v if v is not None and v > 0 else None
