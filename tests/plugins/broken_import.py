"""A rule module that cannot be imported (a typo in an import): start-up must stop, naming this module."""
from validator import no_such_name  # noqa: F401
