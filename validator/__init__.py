"""Real-time validation webhook for Scale AI ``imageannotation`` tasks.

Rule authors need only this module::

    from validator import rule, Issue, Options, fields
"""
from marshmallow import fields

from validator.engine.issues import Issue
from validator.engine.registry import Options, rule

__all__ = ["rule", "Issue", "Options", "fields"]
__version__ = "0.1.0"
