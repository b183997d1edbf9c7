"""The ``validator`` command and its subcommands (``validator.cli.main`` lists them)."""
