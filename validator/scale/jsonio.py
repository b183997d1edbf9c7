"""JSON in and out: orjson for speed, the stdlib only as a fallback for NaN / Infinity literals.

A labeler's NaN must become an issue on that annotation, not a 400, so a body orjson refuses only because of
``NaN``/``Infinity``/an out-of-range number is parsed again by the stdlib parser (which accepts them). Nesting
deeper than ``MAX_DEPTH`` is refused without recursion (orjson's own limit is 1024; the stdlib fallback is only
reached for bodies orjson rejected for another reason, and its depth is checked first).
"""
from __future__ import annotations

import json
import re
from typing import Any

import orjson

MAX_DEPTH = 512


class JSONBodyError(ValueError):
    """The body is not JSON we can read; the message is safe to return (no body content)."""


def _depth_exceeds(data: bytes, limit: int) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for ch in data:
        if in_string:
            if escaped:
                escaped = False
            elif ch == 0x5C:  # backslash
                escaped = True
            elif ch == 0x22:
                in_string = False
        elif ch == 0x22:
            in_string = True
        elif ch in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif ch in (0x5D, 0x7D):
            depth -= 1
    return False


_NONFINITE = re.compile(rb"NaN|-?Infinity|\d[eE][+-]?\d{3,}")


def _parse_int(text: str) -> int | float:
    """Integers as orjson reads them: beyond 64 bits, a float (so a 400-digit coordinate is infinite, an issue on
    its annotation, instead of a Python int that no float conversion downstream can take)."""
    if len(text) <= 18:
        return int(text)
    value = int(text) if len(text) <= 20 else None
    if value is not None and -(2 ** 63) <= value < 2 ** 64:
        return value
    return float(text)


def loads(data: bytes | str) -> Any:
    """Parse a JSON document. Raises JSONBodyError with a short, content-free reason."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        msg = str(exc)
        if "depth" in msg:
            raise JSONBodyError("JSON nesting is deeper than the limit") from None
        if "infinity" not in msg and not _NONFINITE.search(data):  # orjson: "number is infinity when parsed..."
            raise JSONBodyError(f"body is not valid JSON ({msg})") from None
    # only bodies that contain NaN / Infinity / huge exponents get here
    if _depth_exceeds(data, MAX_DEPTH):
        raise JSONBodyError("JSON nesting is deeper than the limit")
    try:
        obj = json.loads(data, parse_int=_parse_int)
    except (ValueError, RecursionError) as exc:
        raise JSONBodyError(f"body is not valid JSON ({type(exc).__name__})") from None
    # The stdlib accepts escaped lone surrogates ("\ud800") that orjson refuses; such a string would make our own
    # answer (a uuid key, a label quoted in an issue) impossible to serialise. Refuse them here too, as orjson does.
    # (The stdlib encoder, not orjson's: orjson also refuses nesting deeper than 255, which this body may have.)
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JSONBodyError("body is not valid JSON (str is not valid UTF-8: surrogates not allowed)") from None
    return obj


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)
