"""Plain-text rendering of validation answers and issues, for the command-line tools."""

from __future__ import annotations

import json
import math
from typing import Any, Iterable

MAX_LOCATIONS_SHOWN = 4


def _num(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def format_locations(locations: Any) -> str:
    """``(100, 200), (3.5, 4)`` -- at most a few, then how many more."""
    if not locations:
        return ""
    pts: list[str] = []
    items = list(locations)
    for loc in items[:MAX_LOCATIONS_SHOWN]:
        if isinstance(loc, dict):
            pts.append(f"({_num(loc.get('x'))}, {_num(loc.get('y'))})")
        elif isinstance(loc, (list, tuple)) and len(loc) == 2:
            pts.append(f"({_num(loc[0])}, {_num(loc[1])})")
        else:
            pts.append(repr(loc))
    more = len(items) - MAX_LOCATIONS_SHOWN
    if more > 0:
        pts.append(f"... +{more} more")
    return ", ".join(pts)


def format_extra(extra: Any) -> str:
    if extra is None:
        return ""
    if isinstance(extra, str):
        return extra
    try:
        return json.dumps(extra, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        return repr(extra)


def issue_line(where: str, error_type: Any, locations: Any = None, extra: Any = None,
               level: str | None = None) -> str:
    parts = []
    if level:
        parts.append(f"[{level}]")
    parts.append(where)
    parts.append(str(error_type))
    loc = format_locations(locations)
    if loc:
        parts.append(f"at {loc}")
    text = format_extra(extra)
    line = "  ".join(parts)
    return f"{line}: {text}" if text else line


def answer_issue_lines(answer: dict) -> Iterable[str]:
    """One line per issue of a Scale-format answer: ``<uuid|global>  <errorType>  at (x, y): <extra>``."""
    issues = answer.get("issues")
    if isinstance(issues, dict):
        for uuid, items in issues.items():
            for issue in items if isinstance(items, list) else [items]:
                if isinstance(issue, dict):
                    yield issue_line(f"annotation {uuid}", issue.get("errorType"), issue.get("locations"),
                                     issue.get("extra"))
                else:
                    yield f"annotation {uuid}  {issue!r}"
    global_issues = answer.get("globalIssues")
    if isinstance(global_issues, list):
        for issue in global_issues:
            if isinstance(issue, dict):
                yield issue_line("global", issue.get("errorType"), issue.get("locations"), issue.get("extra"))
            else:
                yield f"global  {issue!r}"


def count_answer_issues(answer: dict) -> int:
    n = 0
    issues = answer.get("issues")
    if isinstance(issues, dict):
        n += sum(len(v) if isinstance(v, list) else 1 for v in issues.values())
    if isinstance(answer.get("globalIssues"), list):
        n += len(answer["globalIssues"])
    return n


def verdict_word(answer: Any) -> str:
    if not isinstance(answer, dict) or not isinstance(answer.get("pass"), bool):
        return "UNKNOWN"
    return "PASS" if answer["pass"] else "FAIL"


def format_answer(answer: dict, indent: str = "  ") -> str:
    """The verdict, then one indented line per issue."""
    n = count_answer_issues(answer)
    head = f"{verdict_word(answer)} ({n} issue{'s' if n != 1 else ''})"
    lines = [head] + [indent + line for line in answer_issue_lines(answer)]
    return "\n".join(lines)
