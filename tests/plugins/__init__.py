"""Small rule modules used by the engine and config tests through ``[engine] plugins = ["tests.plugins.<name>"]``.

They are never part of the built-in pack: a module here runs only when a test's config names it.
"""
