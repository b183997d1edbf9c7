"""The ``validator`` command. Each subcommand is a module of ``validator.cli`` exposing ``NAME``, ``HELP``,
``configure(parser)`` and ``run(args) -> int``, listed in ``COMMANDS``."""
from __future__ import annotations

import argparse
import importlib
import sys

from validator import __version__

COMMANDS = ("check", "config", "rules", "selftest", "serve", "simulate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="validator",
                                     description="Real-time validation webhook for Scale AI imageannotation tasks.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"validator.cli.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP))
        module.configure(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `validator rules | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
