"""JSON in and out: orjson for speed, the stdlib only as a fallback for NaN / Infinity literals.

A labeler's NaN must become an issue on that annotation, not a 400, so a body orjson refuses only because of
``NaN``/``Infinity``/an out-of-range number is parsed again by the stdlib parser (which accepts them).

One nesting limit on every path: ``MAX_DEPTH`` (1024, orjson's own). orjson refuses deeper bodies itself; the
stdlib fallback measures the depth first (vectorised, strings and escapes skipped) and parses with enough recursion
headroom for exactly that limit; the typed decode (msgspec, validator/scale/envelope.py) declines anything deeper than
it reads and leaves the body to these two. A body is therefore refused for nesting exactly when it is nested deeper
than ``MAX_DEPTH``, whichever path reads it.
"""
from __future__ import annotations

import json
import re
import sys
from typing import Any, Callable

import numpy as np
import orjson

MAX_DEPTH = 1024  # orjson's fixed limit: the same on every parse path


class JSONBodyError(ValueError):
    """The body is not JSON we can read; the message is safe to return (no body content)."""


_ESCAPE = re.compile(rb"\\.", re.S)
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


def depth(data: bytes) -> int:
    """How deeply a JSON text nests arrays and objects (brackets inside strings do not count). Vectorised: about
    a millisecond per MiB, for the bodies that take the stdlib fallback."""
    text = np.frombuffer(_ESCAPE.sub(b"", data), dtype=np.uint8)  # escapes out first: every quote left delimits
    outside = (np.cumsum(text == 0x22, dtype=np.int32) & 1) == 0  # (an opening quote counts as inside)
    steps = _OPEN[text] * outside
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0))


def _with_headroom(fn: Callable, *args, **kwargs):
    """``fn`` with a recursion limit that allows MAX_DEPTH nested levels above the current stack (the stdlib json
    module recurses once per level)."""
    old = sys.getrecursionlimit()
    frames = 0
    f = sys._getframe()
    while f is not None:
        frames += 1
        f = f.f_back
    needed = frames + MAX_DEPTH + 100
    if needed > old:
        sys.setrecursionlimit(needed)
    try:
        return fn(*args, **kwargs)
    finally:
        if needed > old:
            sys.setrecursionlimit(old)


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
    if depth(data) > MAX_DEPTH:
        raise JSONBodyError("JSON nesting is deeper than the limit")
    try:
        obj = _with_headroom(json.loads, data, parse_int=_parse_int)
    except (ValueError, RecursionError) as exc:
        raise JSONBodyError(f"body is not valid JSON ({type(exc).__name__})") from None
    # The stdlib accepts escaped lone surrogates ("\ud800") that orjson refuses; such a string would make our own
    # answer (a uuid key, a label quoted in an issue) impossible to serialise. Refuse them here too, as orjson does.
    # (The stdlib encoder, not orjson's: orjson also refuses nesting deeper than 255, which this body may have.)
    try:
        _with_headroom(json.dumps, obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JSONBodyError("body is not valid JSON (str is not valid UTF-8: surrogates not allowed)") from None
    return obj


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def encode_body(body: Any) -> bytes:
    """A parsed request body as the bytes a client would send, NaN and Infinity kept as literals (orjson would
    write them as null, and refuses nesting deeper than 255): what ``Engine.validate(dict)`` feeds to the same path
    as a request. Raises JSONBodyError for nesting deeper than MAX_DEPTH, TypeError for what JSON cannot hold."""
    try:
        text = _with_headroom(json.dumps, body, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        raise JSONBodyError("JSON nesting is deeper than the limit") from None
    except ValueError as exc:  # a circular reference
        raise JSONBodyError(f"body is not valid JSON ({exc})") from None
    return text.encode("utf-8", "surrogatepass")
