"""Subcommands of the ``validator`` command (one module each; discovered by validator.cli)."""
