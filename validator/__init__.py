"""Real-time validation webhook for Scale AI ``imageannotation`` tasks.

Rule authors need only this module::

    from validator import rule, Issue, Options, fields
    from validator import analysis, Selection   # shared analyses; the type of ``anns`` and of ``ctx.select(...)``
"""
from marshmallow import fields

from validator.engine.context import Selection, WorkLimitExceeded, analysis
from validator.engine.issues import Issue
from validator.engine.registry import Options, rule

__all__ = ["rule", "Issue", "Options", "fields", "analysis", "Selection", "WorkLimitExceeded"]
__version__ = "0.1.0"
