"""Issues reported by rules, and the verdict returned to Scale.

An :class:`Issue` is what a rule yields. The engine stamps it with the rule instance that produced it
(:class:`ReportedIssue`) and a :class:`Result` turns the reported issues into Scale's answer format::

    {"pass": bool, "issues": {uuid: [Issue]}, "globalIssues": [Issue]}
    Issue = {"errorType": str, "locations"?: [{"x": float, "y": float}], "extra"?: str}
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from validator.scale.answer import answer_json, issue_json

LEVELS = ("error", "warn", "shadow", "off")
RETURNED_LEVELS = frozenset({"error", "warn"})
MAX_ANSWER_BYTES = 2 * 1024 * 1024
MAX_TEXT_CHARS = 1000  # of one issue's extra (longer texts are cut, with an ellipsis)
MAX_LOCATIONS = 100  # per issue
ANSWER_TRUNCATED = "issues_not_listed"


def _clean_locations(at: Any) -> tuple[tuple[float, float], ...]:
    """Normalise ``at`` (a point, a list of points, a numpy (k, 2) array) to finite (x, y) float pairs.

    Non-finite points are dropped: JSON has no NaN, and Scale's format check rejects them.
    """
    if at is None:
        return ()
    # the common shapes without numpy: a point (x, y), or a short list / tuple of points
    if isinstance(at, (tuple, list)):
        if len(at) == 2 and type(at[0]) in _NUM and type(at[1]) in _NUM:
            x, y = float(at[0]), float(at[1])
            return ((x, y),) if _isfinite(x) and _isfinite(y) else ()
        if all(isinstance(p, (tuple, list)) and len(p) == 2 and type(p[0]) in _NUM and type(p[1]) in _NUM
               for p in at):
            return tuple((float(x), float(y)) for x, y in at if _isfinite(x) and _isfinite(y))
    try:
        import numpy as np

        arr = np.asarray(at, dtype=float)
    except (TypeError, ValueError):
        return ()
    if arr.ndim == 1:
        if arr.shape[0] != 2:
            return ()
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        return ()
    out = []
    for x, y in arr.tolist():
        if math.isfinite(x) and math.isfinite(y):
            out.append((float(x), float(y)))
    return tuple(out)


_NUM = (int, float)
_isfinite = math.isfinite


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found by a rule.

    ``uuid`` is the annotation's uuid, or None for a global issue. ``extra`` is a short sentence for the labeler.
    ``locations`` are pixel positions. ``error_type`` defaults to the rule's id.
    """

    uuid: str | None
    extra: str | None = None
    locations: tuple[tuple[float, float], ...] = ()
    error_type: str | None = None

    @classmethod
    def on(cls, ann: Any, extra: str | None = None, *, at: Any = None, error_type: str | None = None) -> "Issue":
        """An issue on one annotation (``ann`` is an Annotation or a uuid string)."""
        uuid = ann if isinstance(ann, str) else ann.uuid
        return cls(uuid=uuid, extra=extra, locations=_clean_locations(at), error_type=error_type)

    @classmethod
    def globally(cls, extra: str | None = None, *, at: Any = None, error_type: str | None = None) -> "Issue":
        """An issue about the whole response rather than one annotation."""
        return cls(uuid=None, extra=extra, locations=_clean_locations(at), error_type=error_type)


@dataclass(frozen=True, slots=True)
class ReportedIssue:
    """An issue stamped with the rule instance that found it and the level it was reported at."""

    rule_id: str
    instance: str
    level: str
    uuid: str | None
    error_type: str
    extra: str | None
    locations: tuple[tuple[float, float], ...]

    def to_json(self) -> dict:
        return issue_json(self.error_type, self.locations, self.extra)

    def sort_key(self) -> tuple:
        return (self.error_type, self.instance, self.locations, self.extra or "")


@dataclass(slots=True)
class Result:
    """The outcome of validating one request."""

    task_id: str | None
    task_type: str | None
    issues: list[ReportedIssue] = field(default_factory=list)
    annotation_count: int = 0
    rule_failures: list[str] = field(default_factory=list)
    budget_exhausted: bool = False
    duration_ms: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)  # work counters of the request (ctx.geometry.stats)
    suppressed: dict[str, int] = field(default_factory=dict)  # instance -> issues not listed (over a cap)
    max_answer_bytes: int = MAX_ANSWER_BYTES
    # The request's decoded body and columns, kept alive until the caller drops the result: the service frees
    # them after the answer has been sent (see app.ValidateEndpoint), not while the labeler waits.
    inputs: Any = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return not any(i.level == "error" for i in self.issues)

    def returned(self) -> Iterable[ReportedIssue]:
        return (i for i in self.issues if i.level in RETURNED_LEVELS)

    @property
    def answer(self) -> dict:
        """The body returned to Scale. Deterministic: issues sorted per uuid, uuids in request order."""
        returned = list(self.returned())
        if _size_bound(returned) > self.max_answer_bytes - 1024:
            returned = self._within_bytes(returned)
        per_uuid: dict[str, list[ReportedIssue]] = {}
        global_issues: list[ReportedIssue] = []
        for issue in returned:
            if issue.uuid is None:
                global_issues.append(issue)
            else:
                per_uuid.setdefault(issue.uuid, []).append(issue)
        return answer_json(
            self.passed,
            {uuid: [i.to_json() for i in sorted(items, key=ReportedIssue.sort_key)]
             for uuid, items in per_uuid.items()},
            [i.to_json() for i in sorted(global_issues, key=ReportedIssue.sort_key)],
        )

    def _within_bytes(self, returned: list[ReportedIssue]) -> list[ReportedIssue]:
        """The returned issues (in answer order, errors first) whose JSON fits the answer size, and one summary issue
        for the rest (at level error if an error is among them: the verdict never changes)."""
        import orjson

        budget = self.max_answer_bytes - 1024  # the answer's frame and the summary issue
        ranked = sorted(returned, key=lambda i: i.level != "error")  # stable: answer order within a level
        kept: list[ReportedIssue] = []
        for n, issue in enumerate(ranked):
            size = len(orjson.dumps(issue.to_json())) + len(issue.uuid or "") + 8
            if size > budget:
                rest = ranked[n:]
                level = "error" if any(i.level == "error" for i in rest) else "warn"
                kept.append(ReportedIssue(
                    rule_id="engine", instance="engine", level=level, uuid=None, error_type=ANSWER_TRUNCATED,
                    extra=(f"{len(rest):,} more issue{'s' if len(rest) != 1 else ''} found in this task "
                           f"{'are' if len(rest) != 1 else 'is'} not listed. Fix the ones shown, then submit "
                           "again to see the rest."), locations=()))
                break
            budget -= size
            kept.append(issue)
        return kept

    def counts(self) -> dict[str, dict[str, int]]:
        """Issue counts per level and per rule instance, for logs and metrics."""
        by_level: dict[str, int] = {}
        by_rule: dict[str, int] = {}
        for i in self.issues:
            by_level[i.level] = by_level.get(i.level, 0) + 1
            key = f"{i.instance}:{i.level}"
            by_rule[key] = by_rule.get(key, 0) + 1
        return {"by_level": by_level, "by_rule": by_rule}


def _size_bound(issues: Sequence[ReportedIssue]) -> int:
    """An upper bound of the JSON size of these issues in an answer (escapes count six bytes a character)."""
    total = 0
    for i in issues:
        total += 48 + 6 * (len(i.error_type) + len(i.extra or "") + len(i.uuid or "")) + 64 * len(i.locations)
    return total


def order_issues(issues: Sequence[ReportedIssue], uuid_order: dict[str, int]) -> list[ReportedIssue]:
    """Deterministic order: global issues last, annotations in request order, then by error type/location."""
    big = len(uuid_order) + 1
    return sorted(
        issues,
        key=lambda i: (uuid_order.get(i.uuid, big) if i.uuid is not None else big + 1, i.sort_key()),
    )
