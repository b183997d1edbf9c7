"""Real-time validation webhook for Scale AI ``imageannotation`` tasks.

Rule authors need only this module::

    from validator import rule, Issue, Options, fields
    from validator import analysis, Selection   # shared analyses; the type of ``anns`` and of ``ctx.select(...)``
    from validator import params_analysis       # what is derived from the task's params alone, kept across requests

and, to declare the range of an option, ``validate`` (marshmallow's validators: ``validate.Range(min=0)``).
"""
from marshmallow import fields, validate

from validator.engine.context import Selection, WorkLimitExceeded, analysis, params_analysis
from validator.engine.issues import Issue
from validator.engine.registry import Options, rule

__all__ = ["rule", "Issue", "Options", "fields", "validate", "analysis", "params_analysis", "Selection",
           "WorkLimitExceeded"]
__version__ = "0.1.0"
