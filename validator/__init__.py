"""Real-time validation webhook for Scale AI ``imageannotation`` tasks.

Rule authors need only this module::

    from validator import rule, Issue, Options, fields

and, to declare the range of an option, ``validate`` (marshmallow's validators: ``validate.Range(min=0)``).
"""
from marshmallow import fields, validate

from validator.engine.issues import Issue
from validator.engine.registry import Options, rule

__all__ = ["rule", "Issue", "Options", "fields", "validate"]
__version__ = "0.1.0"
