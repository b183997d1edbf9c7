"""The request envelope and the Task, read with marshmallow (tolerant of fields Scale adds).

Only the envelope and the task are loaded with marshmallow. ``response.annotations`` is checked to be a list and
passed through untouched: annotations are read by the fast extraction pass in :mod:`validator.annotations`, where a
malformed annotation becomes an issue on that annotation rather than an HTTP error.
"""
from __future__ import annotations

import math
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields

from validator.scale.answer import json_type_name


IMAGEANNOTATION = "imageannotation"


class BodyError(ValueError):
    """The body is not a valid ``{task, response}`` envelope. The message says what is wrong (no body content)."""


class _PassThroughList(fields.Field):
    """A list, kept as is (no per-item deserialisation: annotations are read by the extraction pass)."""

    default_error_messages = {"invalid": "Not a valid list."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        return value


class _Tolerant(Schema):
    class Meta:
        unknown = INCLUDE


class ParamsSchema(_Tolerant):
    geometries = fields.Dict(keys=fields.Str(), values=fields.Dict(), load_default=dict)
    annotation_attributes = fields.Dict(keys=fields.Str(), values=fields.Dict(), load_default=dict, allow_none=True)
    padding = fields.Float(allow_none=True, allow_nan=False)
    paddingX = fields.Float(allow_none=True, allow_nan=False)
    paddingY = fields.Float(allow_none=True, allow_nan=False)


class TaskSchema(_Tolerant):
    task_id = fields.Str(allow_none=True)
    type = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    project = fields.Str(allow_none=True)
    batch = fields.Str(allow_none=True)
    params = fields.Dict(load_default=dict, allow_none=True)
    metadata = fields.Dict(load_default=dict, allow_none=True)


class ResponseSchema(_Tolerant):
    annotations = _PassThroughList(load_default=list, allow_none=True)
    global_attributes = fields.Dict(load_default=dict, allow_none=True)


_TASK = TaskSchema()
_PARAMS = ParamsSchema()
_RESPONSE = ResponseSchema()


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(messages, dict):
        for k, v in messages.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(messages, list):
        for m in messages:
            out.extend(_flatten(m, prefix))
    else:
        out.append(f"{prefix}: {messages}" if prefix else str(messages))
    return out


def _load(schema: Schema, data: Any, where: str) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        detail = "; ".join(_flatten(exc.messages, where))
        raise BodyError(detail) from None


def load_task(raw_task: Any) -> dict:
    """Validate the Task object (its params too, for imageannotation tasks); defaults filled in. Raises BodyError."""
    if not isinstance(raw_task, dict):
        raise BodyError(f"'task' must be an object, not {json_type_name(raw_task)}")
    task = _plain_task(raw_task)
    return task if task is not None else _schema_task(raw_task)


def _schema_task(raw_task: dict) -> dict:
    """The Task loaded by the marshmallow schemas (what :func:`_plain_task` must equal when it answers)."""
    task = _load(_TASK, raw_task, "task")
    task["params"] = task.get("params") or {}
    task["metadata"] = task.get("metadata") or {}
    if task.get("type") == IMAGEANNOTATION:
        task["params"] = _load(_PARAMS, task["params"], "task.params")
    return task


_TASK_STRINGS = ("task_id", "type", "status", "project", "batch")
_PADDINGS = ("padding", "paddingX", "paddingY")


def _plain_task(raw: dict) -> dict | None:
    """What the schemas would load from a task whose every checked field already has its loaded type (nearly
    every real task), or None when marshmallow must load it (and say what is wrong). Skips ~40 us of schema
    machinery a request; the two give equal results (tests/test_envelope.py compares them on every case)."""
    get = raw.get
    for key in _TASK_STRINGS:
        value = get(key)
        if value is not None and type(value) is not str:
            return None
    params, metadata = get("params"), get("metadata")
    if (params is not None and type(params) is not dict) or (metadata is not None and type(metadata) is not dict):
        return None
    task = dict(raw)
    task["params"] = params or {}
    task["metadata"] = metadata or {}
    if task.get("type") == IMAGEANNOTATION:
        params = _plain_params(task["params"])
        if params is None:
            return None
        task["params"] = params
    return task


def _plain_params(raw: dict) -> dict | None:
    """:func:`_plain_task` for ``task.params`` (ParamsSchema)."""
    params = dict(raw)
    for key, nullable in (("geometries", False), ("annotation_attributes", True)):
        value = params.get(key, _ABSENT)
        if value is _ABSENT:
            params[key] = {}
        elif value is None:
            if not nullable:
                return None
        elif type(value) is not dict or any(type(v) is not dict for v in value.values()):
            return None
    for key in _PADDINGS:
        value = params.get(key)
        if value is None:
            continue
        if type(value) is int:
            value = float(value)
        if type(value) is not float or not math.isfinite(value):
            return None
        params[key] = value
    return params


_ABSENT = object()


def load_envelope(body: Any) -> tuple[dict, dict]:
    """Validate ``{task, response}``; return (task, response) with defaults filled in. Raises BodyError.

    ``task.params`` and ``response`` are only checked for ``imageannotation`` tasks (the only type validated).
    """
    if not isinstance(body, dict):
        raise BodyError(f"body must be a JSON object with 'task' and 'response', not {json_type_name(body)}")
    for key in ("task", "response"):
        if key not in body:
            raise BodyError(f"'{key}' is required")
        if not isinstance(body[key], dict):
            raise BodyError(f"'{key}' must be an object, not {json_type_name(body[key])}")
    task = load_task(body["task"])
    if task.get("type") != IMAGEANNOTATION:
        # Other task types are answered with a pass, not validated: their params and response have other shapes
        # (a videoannotation response carries `annotations: {"url": ...}`), so they are not checked here either.
        return task, body["response"]
    response = _load(_RESPONSE, body["response"], "response")
    if response.get("annotations") is None:
        response["annotations"] = []
    if response.get("global_attributes") is None:
        response["global_attributes"] = {}
    return task, response


# -- the answer format (what we send back), checked in tests (tools use validator.contract) -----------------------------------------------
class LocationSchema(Schema):
    x = fields.Float(required=True, allow_nan=False)
    y = fields.Float(required=True, allow_nan=False)


class IssueSchema(Schema):
    errorType = fields.Str(required=True)
    locations = fields.List(fields.Nested(LocationSchema))
    extra = fields.Raw(allow_none=True)  # as validator.contract: any JSON value, null included


class AnswerSchema(Schema):
    """Scale's answer format (``pass`` required; unknown keys rejected: we answer exactly this format)."""

    pass_ = fields.Bool(required=True, data_key="pass", truthy={True}, falsy={False})
    issues = fields.Dict(keys=fields.Str(), values=fields.List(fields.Nested(IssueSchema)))
    globalIssues = fields.List(fields.Nested(IssueSchema))
