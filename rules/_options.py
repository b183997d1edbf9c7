"""Numeric options of the built-in rules: strict types, a range for every one, and the range in its documentation.

``Float(...)`` and ``Integer(...)`` are marshmallow fields (used like ``fields.Float``) that

* refuse what is not a number of the right kind: a string (``"8"``, which marshmallow would quietly convert), a
  boolean (``true`` is an int to Python), NaN or an infinity, a fraction where a whole number is needed;
* must be given a range (``validate=validate.Range(...)``): a value outside it is refused, naming the range;
* append the range to the option's description, so ``validator rules`` and docs/rules.md show it.

Not a rule module (the leading underscore keeps it out of rule discovery).
"""
from __future__ import annotations

import math
import numbers

from marshmallow import ValidationError, validate

from validator import fields


class Float(fields.Float):
    """A float option given as a number (an int is fine), never as a string or a boolean; it must have a range."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _documented(self)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValidationError(f"must be a number, not {_what(value)}")
        if not math.isfinite(value):
            raise ValidationError("must be a finite number")
        return super()._deserialize(value, attr, data, **kwargs)


class Integer(fields.Integer):
    """A whole-number option given as a number, never as a string, a boolean or a fraction; it must have a range."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _documented(self)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValidationError(f"must be a whole number, not {_what(value)}")
        if not (isinstance(value, numbers.Integral) or (math.isfinite(value) and float(value).is_integer())):
            raise ValidationError("must be a whole number")
        return super()._deserialize(int(value), attr, data, **kwargs)


def _what(value) -> str:
    if isinstance(value, str):
        return "a string (write the number without quotes)"
    if isinstance(value, bool):
        return "a boolean"
    return type(value).__name__


def range_text(rng: validate.Range) -> str:
    """``>= 0``, ``> 0 and <= 1``: a Range as the docs show it."""
    lo = None if rng.min is None else f"{'>=' if rng.min_inclusive else '>'} {_num(rng.min)}"
    hi = None if rng.max is None else f"{'<=' if rng.max_inclusive else '<'} {_num(rng.max)}"
    return " and ".join(x for x in (lo, hi) if x)


def _num(v) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _documented(field) -> None:
    """Give the field's Range a message naming it, and append it to the option's description."""
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    if not ranges:
        raise TypeError(f"{type(field).__name__} option without a range: give it validate=validate.Range(...)")
    text = " and ".join(range_text(r) for r in ranges)
    for r in ranges:
        r.error = f"must be {range_text(r)}"
    desc = field.metadata.get("description", "").rstrip()
    field.metadata = {**field.metadata, "range": text,
                      "description": f"{desc} Range: {text}{'' if field.allow_none is False else ', or none'}."}
