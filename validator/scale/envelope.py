"""The request envelope ``{task, response}`` and the Task, read with the Structs of validator/scale/format.py.

Two ways in, one specification:

* :func:`decode`: the typed decode of a well-formed body, straight from the bytes (msgspec); the task is parsed into
  a dict (its unknown fields are kept) and checked by :func:`load_task`;
* :func:`load_envelope`: a body parsed generically (a body the typed decode refused). ``response.annotations`` is
  checked to be a list and passed on untouched: the annotations are read by validator/scale/annotations.py, where a
  malformed annotation becomes an issue on that annotation rather than an HTTP error.

A Task that does not match the specification is a :class:`BodyError` (HTTP 400) whose message names every field that
is wrong (``task.params.geometries: Not a valid mapping type.``) and never quotes the body.
"""
from __future__ import annotations

import math
from typing import Any

import msgspec
import orjson

from validator.scale import format as fmt
from validator.scale.answer import json_type_name
from validator.scale.format import IMAGEANNOTATION, MISSING, PADDINGS, Problem
from validator.scale.task import cached, params_key

__all__ = ["BodyError", "IMAGEANNOTATION", "decode", "load_envelope", "load_task", "task_params_key"]


class BodyError(ValueError):
    """The body is not a valid ``{task, response}`` envelope. The message says what is wrong (no body content)."""


_DECODER = msgspec.json.Decoder(fmt.Body)


def decode(raw: bytes) -> tuple[Any, fmt.Response] | None:
    """``(task dict, typed response)``, or None when the body must be parsed generically (anything the typed decode
    refuses: a malformed annotation, a NaN literal, nesting deeper than msgspec reads, a body that is not an
    envelope). The task is parsed by orjson, whose nesting limit is :data:`validator.scale.jsonio.MAX_DEPTH`."""
    try:
        body = _DECODER.decode(raw)
        task = orjson.loads(memoryview(body.task))
    except (msgspec.ValidationError, msgspec.DecodeError, orjson.JSONDecodeError, ValueError, RecursionError):
        return None
    return task, body.response


_EXPECTED = {str: "Not a valid string.", float: "Not a valid number.", list: "Not a valid list.",
             dict: "Not a valid mapping type."}


def _message(where: str, problem: Problem) -> str:
    path = ".".join((where, *map(str, problem.path)))
    if problem.value is MISSING:
        return f"{path}: Missing data for required field."
    if problem.value is None:
        return f"{path}: Field may not be null."
    expected = problem.expected
    if isinstance(expected, type) and issubclass(expected, msgspec.Struct):
        expected = dict
    return f"{path}: {_EXPECTED.get(expected, 'Not a valid value.')}"


def _check(value: dict, struct: type, where: str, *, strict: bool = True) -> Any:
    """``value`` converted to ``struct``; BodyError naming every field that is wrong."""
    try:
        return msgspec.convert(value, struct, strict=strict)
    except msgspec.ValidationError:
        problems = [_message(where, p) for p in fmt.problems_in_fields(value, struct, strict=strict)]
        raise BodyError("; ".join(problems) or f"{where}: Not a valid value.") from None


_checked_params: dict[bytes, dict] = {}  # params_key of raw params -> their paddings (validator/scale/task.py)


def load_task(raw_task: Any, *, cache: bool = False, key: Any = ...) -> dict:
    """Validate the Task object (its params too, for imageannotation tasks); defaults filled in. Raises BodyError.

    The result is the task as received (every field Scale adds is kept) with ``params`` and ``metadata`` objects
    (``{}`` when absent or null) and, for an imageannotation task, ``params.geometries`` and
    ``params.annotation_attributes`` present (``{}`` when absent) and the paddings as floats.

    ``cache=True``: the task was parsed by orjson; its loaded params may be shared with earlier tasks that had the
    same params (read-only). ``key``: :func:`task_params_key` of ``raw_task`` when the caller has it already, None
    included (params too big to cache: not encoded again); the engine computes it once per request, for this and
    for ``TaskSpec.from_task``."""
    if not isinstance(raw_task, dict):
        raise BodyError(f"'task' must be an object, not {json_type_name(raw_task)}")
    _check(raw_task, fmt.Task, "task")
    task = dict(raw_task)
    task["params"] = raw_task.get("params") or {}
    task["metadata"] = raw_task.get("metadata") or {}
    if task.get("type") == IMAGEANNOTATION:
        task["params"] = _load_params(task["params"],
                                      (task_params_key(raw_task) if key is ... else key) if cache else None)
    return task


def task_params_key(raw_task: Any) -> bytes | None:
    """The params cache key (validator/scale/task.py ``params_key``) of a task object as received: what
    :func:`load_task` keys its checked params on, and ``TaskSpec.from_task`` what the params yield (the loaded params
    are a function of these raw ones). None when not cached."""
    return params_key(raw_task.get("params") or {}) if isinstance(raw_task, dict) else None


def _load_params(raw: dict, key: bytes | None) -> dict:
    params = dict(raw)
    params.setdefault("geometries", {})
    params.setdefault("annotation_attributes", {})
    params.update(cached(_checked_params, key, lambda: _check_params(raw)))
    return params


def _check_params(raw: dict) -> dict:
    """The paddings given (as floats) of params that match the specification; BodyError otherwise."""
    loaded = _check(raw, fmt.Params, "task.params", strict=False)  # lax: a numeric string padding is a number
    paddings = {}
    bad = []
    for key in PADDINGS:
        value = getattr(loaded, key)
        if value is not None:
            if not math.isfinite(value):
                bad.append(f"task.params.{key}: Special numeric values (nan or infinity) are not permitted.")
            paddings[key] = value
    if bad:
        raise BodyError("; ".join(bad))
    return paddings


def load_envelope(body: Any) -> tuple[dict, dict]:
    """Validate a generically parsed ``{task, response}``; return (task, response) with defaults filled in.
    Raises BodyError.

    ``task.params`` and ``response`` are only checked for ``imageannotation`` tasks (the only type validated).
    """
    if not isinstance(body, dict):
        raise BodyError(f"body must be a JSON object with 'task' and 'response', not {json_type_name(body)}")
    for f in fmt.fields(fmt.Envelope):
        if f.name not in body:
            raise BodyError(f"'{f.name}' is required")
        if not isinstance(body[f.name], dict):
            raise BodyError(f"'{f.name}' must be an object, not {json_type_name(body[f.name])}")
    task = load_task(body["task"])
    if task.get("type") != IMAGEANNOTATION:
        # Other task types are answered with a pass, not validated: their params and response have other shapes
        # (a videoannotation response carries `annotations: {"url": ...}`), so they are not checked here either.
        return task, body["response"]
    _check(body["response"], fmt.ImageResponse, "response")
    response = dict(body["response"])
    if response.get("annotations") is None:
        response["annotations"] = []
    if response.get("global_attributes") is None:
        response["global_attributes"] = {}
    return task, response
