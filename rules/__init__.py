"""The built-in rule pack. Every module here is discovered; each defines one rule or one family of rules.

See docs/rules.md (generated) for the catalogue and docs/writing-rules.md for how to add a rule.
"""
