"""The answer-format check: does a validation answer have exactly the format Scale expects?

This is what Scale's ``send-lint-callback`` self-test does with our answer (see
``realtime-validation-contract.md`` section 2), made explicit so that ``validator simulate``, the Scale
stand-in in the test suite and the service's own golden tests all apply the same rules.

Pure and dependency-free on purpose: it must be importable anywhere (tests, tools, the service) without
pulling in numpy, shapely or Flask.

The format::

    {"pass": bool,                                   # required
     "issues": {<annotation uuid>: [Issue, ...]},    # optional; keys are uuids of annotations in the request
     "globalIssues": [Issue, ...]}                   # optional

    Issue = {"errorType": str,                       # required, non-empty
             "locations": [{"x": number, "y": number}, ...],   # optional, every number finite
             "extra": <any JSON value>}              # optional (the contract says object; its example uses a string)

Nothing else is allowed, at any level: the service must answer exactly this format. One consistency rule the
contract asks us to keep true is checked as well: ``pass`` is false only when at least one issue is returned.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

__all__ = ["answer_json", "answer_violations", "issue_json", "request_uuids", "ANSWER_KEYS", "ISSUE_KEYS",
           "LOCATION_KEYS"]

ANSWER_KEYS = ("pass", "issues", "globalIssues")
ISSUE_KEYS = ("errorType", "locations", "extra")
LOCATION_KEYS = ("x", "y")


def issue_json(error_type: str, locations: Iterable[tuple[float, float]] = (), extra: str | None = None) -> dict:
    """One Issue of the answer (``locations`` and ``extra`` only when there are some)."""
    out: dict[str, Any] = {"errorType": error_type}
    if locations:
        out["locations"] = [{"x": x, "y": y} for x, y in locations]
    if extra:
        out["extra"] = extra
    return out


def answer_json(passed: bool, issues: dict[str, list[dict]], global_issues: list[dict]) -> dict:
    """The answer: ``issues`` maps annotation uuids to their Issues (from :func:`issue_json`)."""
    return {"pass": passed, "issues": issues, "globalIssues": global_issues}


def request_uuids(request_body: Any) -> set[str]:
    """The uuids of the annotations in a request body ``{task, response: {annotations: [...]}}``.

    Tolerant of malformed bodies: whatever cannot be read contributes nothing (so issue keys that refer to it
    are reported as unknown, which is what Scale would see).
    """
    uuids: set[str] = set()
    if not isinstance(request_body, dict):
        return uuids
    response = request_body.get("response")
    if not isinstance(response, dict):
        return uuids
    annotations = response.get("annotations")
    if not isinstance(annotations, list):
        return uuids
    for ann in annotations:
        if isinstance(ann, dict) and isinstance(ann.get("uuid"), str):
            uuids.add(ann["uuid"])
    return uuids


def json_type_name(value: Any) -> str:
    """How a value reads in a JSON error message: 'null', 'a boolean', 'a number', 'an array', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def _unknown_keys(obj: dict, allowed: Iterable[str]) -> list[str]:
    allowed = set(allowed)
    return sorted((repr(k) for k in obj if k not in allowed))


def _non_finite_paths(value: Any, path: str) -> Iterable[str]:
    """Paths of NaN/Infinity anywhere inside ``value`` (they are not JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _non_finite_paths(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _non_finite_paths(v, f"{path}[{i}]")


def _issue_violations(issue: Any, path: str) -> list[str]:
    out: list[str] = []
    if not isinstance(issue, dict):
        return [f"{path} must be an Issue object, not {json_type_name(issue)}"]
    extra_keys = _unknown_keys(issue, ISSUE_KEYS)
    if extra_keys:
        out.append(f"{path} has keys that are not part of an Issue: {', '.join(extra_keys)}")
    if "errorType" not in issue:
        out.append(f"{path}.errorType is required")
    elif not isinstance(issue["errorType"], str):
        out.append(f"{path}.errorType must be a string, not {json_type_name(issue['errorType'])}")
    elif not issue["errorType"].strip():
        out.append(f"{path}.errorType must not be empty")
    if "locations" in issue:
        locations = issue["locations"]
        if not isinstance(locations, list):
            out.append(f"{path}.locations must be an array, not {json_type_name(locations)}")
        else:
            for j, loc in enumerate(locations):
                lpath = f"{path}.locations[{j}]"
                if not isinstance(loc, dict):
                    out.append(f"{lpath} must be an object {{x, y}}, not {json_type_name(loc)}")
                    continue
                extra_keys = _unknown_keys(loc, LOCATION_KEYS)
                if extra_keys:
                    out.append(f"{lpath} has keys other than x and y: {', '.join(extra_keys)}")
                for axis in LOCATION_KEYS:
                    if axis not in loc:
                        out.append(f"{lpath}.{axis} is required")
                    elif not _is_finite_number(loc[axis]):
                        out.append(f"{lpath}.{axis} is not a finite number")
    if "extra" in issue:
        for bad in _non_finite_paths(issue["extra"], f"{path}.extra"):
            out.append(f"{bad} is not a finite number (NaN and Infinity are not JSON)")
    return out


def answer_violations(answer: Any, request_body: Any = None) -> list[str]:
    """Every way ``answer`` departs from the validation-answer format, as readable sentences.

    ``answer`` is the parsed JSON the endpoint returned; ``request_body`` the ``{task, response}`` body it was
    asked about (needed to check that the keys of ``issues`` are annotation uuids; with ``None`` every key is
    unknown). An empty list means the answer is valid.
    """
    if not isinstance(answer, dict):
        return [f"the answer must be a JSON object, not {json_type_name(answer)}"]

    out: list[str] = []
    extra_keys = _unknown_keys(answer, ANSWER_KEYS)
    if extra_keys:
        out.append(
            f"the answer has keys that are not part of the format: {', '.join(extra_keys)} "
            f"(allowed: {', '.join(ANSWER_KEYS)})"
        )

    if "pass" not in answer:
        out.append("'pass' is required")
    elif not isinstance(answer["pass"], bool):
        out.append(f"'pass' must be a boolean, not {json_type_name(answer['pass'])}")

    n_issues = 0
    if "issues" in answer:
        issues = answer["issues"]
        if not isinstance(issues, dict):
            out.append(f"'issues' must be an object mapping annotation uuids to lists of issues, "
                       f"not {json_type_name(issues)}")
        else:
            known = request_uuids(request_body)
            for key, items in issues.items():
                path = f"issues[{key!r}]"
                if key not in known:
                    out.append(f"issues key {key!r} is not the uuid of an annotation in the request")
                if not isinstance(items, list):
                    out.append(f"{path} must be an array of issues, not {json_type_name(items)}")
                    continue
                n_issues += len(items)
                for i, issue in enumerate(items):
                    out.extend(_issue_violations(issue, f"{path}[{i}]"))

    if "globalIssues" in answer:
        global_issues = answer["globalIssues"]
        if not isinstance(global_issues, list):
            out.append(f"'globalIssues' must be an array of issues, not {json_type_name(global_issues)}")
        else:
            n_issues += len(global_issues)
            for i, issue in enumerate(global_issues):
                out.extend(_issue_violations(issue, f"globalIssues[{i}]"))

    if answer.get("pass") is False and n_issues == 0 and not out:
        out.append("'pass' is false but no issue is returned (a failing answer must say why)")
    return out
