"""One way for every ``validator`` subcommand to say that something went wrong: a line on stderr that starts with
``validator:`` (whichever subcommand printed it), and the exit status that goes with it.

Exit statuses shared by the commands: 0 success, 1 the command ran and found a problem (a failing task, an
unreachable endpoint, Scale refusing the call), 2 a usage or configuration problem (nothing was done).
"""
from __future__ import annotations

import sys
from typing import TextIO

PREFIX = "validator:"
EXIT_PROBLEM = 1
EXIT_USAGE = 2


def message(text: str) -> str:
    """``text`` with the common prefix (a multi-line text keeps its further lines as they are)."""
    return f"{PREFIX} {text}"


def say(text: str, *, file: TextIO | None = None) -> None:
    """Print ``text`` with the common prefix on stderr."""
    print(message(text), file=file if file is not None else sys.stderr)


def fail(text: str, code: int = EXIT_USAGE, *, file: TextIO | None = None) -> int:
    """Print ``text`` with the common prefix on stderr and return ``code`` (for ``return fail(...)``)."""
    say(text, file=file)
    return code
