"""``validator selftest TASK_ID --callback-url URL``: ask Scale to call our deployment for a real task.

Scale's ``send-lint-callback`` sends a validation request for the task to ``--callback-url``, checks the
format of the answer and returns it. Exit 0 when Scale returns the answer (whatever its verdict), 1 when Scale
or the network says no (the reason on one line: Scale's own message, "API key refused", "no such task", "wrong
base URL", which URL could not be reached), 2 on a usage problem (no API key, a malformed URL: nothing is sent).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from validator.cli.errors import fail, message
from validator.cli.render import format_answer
from validator.cli.scale_api import (
    DEFAULT_BASE_URL,
    ScaleAPIError,
    ScaleBadRequestError,
    ScaleURLError,
    send_lint_callback,
    url_problem,
)

NAME = "selftest"
HELP = "ask Scale to send a validation request for a task to your endpoint (send-lint-callback)"

EXIT_OK = 0
EXIT_SCALE_ERROR = 1
EXIT_USAGE = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Call Scale's POST /linting/task/TASK_ID/send-lint-callback so that Scale sends a real validation "
        "request for TASK_ID to --callback-url, checks the answer's format and returns it. "
        "Exit 0 when Scale returns the answer, 1 when it does not, 2 on a usage error."
    )
    parser.add_argument("task_id", metavar="TASK_ID", help="a task of your Scale account (test or live)")
    parser.add_argument("--callback-url", required=True, metavar="URL",
                        help="the public URL of your validation endpoint, as Scale should call it")
    parser.add_argument("--api-key", default=None, metavar="KEY",
                        help="Scale API key (default: $SCALE_API_KEY; prefer the variable, flags show in `ps`)")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help=f"Scale API base URL (default: $SCALE_API_BASE_URL or {DEFAULT_BASE_URL})")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="bound on the whole call, retries included (default: 60)")
    parser.add_argument("--retries", type=int, default=3, metavar="N",
                        help="retries of 408/429/5xx and connection errors (default: 3)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text (default) or json: Scale's answer as raw JSON")
    parser.add_argument("--json", dest="format", action="store_const", const="json",
                        help="the same as --format json")


def selftest(task_id: str, callback_url: str, *, api_key: str, base_url: str | None = None,
             total_timeout: float = 60.0, retries: int = 3, **kwargs) -> dict:
    """The Python API: the validation answer Scale returned, or a :class:`ScaleAPIError` subclass."""
    return send_lint_callback(task_id, callback_url, api_key=api_key, base_url=base_url,
                              total_timeout=total_timeout, retries=retries, **kwargs)


def describe_error(err: ScaleAPIError) -> str:
    """One line for stderr (already safe: ScaleAPIError messages never contain the key)."""
    line = message(f"selftest failed ({err.kind}): {err}")
    if isinstance(err, ScaleBadRequestError) and err.invalid_validation_response:
        line += " -- run `validator simulate` against the endpoint to see exactly what it answers"
    return line


def run(args: argparse.Namespace, **client_kwargs) -> int:
    api_key = args.api_key or os.environ.get("SCALE_API_KEY", "")
    if not api_key:
        return fail("no Scale API key: set SCALE_API_KEY (or pass --api-key)", EXIT_USAGE)
    base_url = args.base_url or os.environ.get("SCALE_API_BASE_URL") or DEFAULT_BASE_URL
    base_what = "--base-url" if args.base_url else ("SCALE_API_BASE_URL" if os.environ.get("SCALE_API_BASE_URL")
                                                   else "the base URL")
    problems = [p for p in (url_problem(args.callback_url, "--callback-url"), url_problem(base_url, base_what)) if p]
    if problems:  # a usage error, at once: nothing is sent, nothing is retried
        for problem in problems:
            fail(problem.replace(api_key, "***") if len(api_key) >= 4 else problem)
        return EXIT_USAGE
    try:
        answer = selftest(args.task_id, args.callback_url, api_key=api_key, base_url=base_url,
                          total_timeout=args.timeout, retries=max(0, args.retries), **client_kwargs)
    except ScaleURLError as err:
        return fail(str(err), EXIT_USAGE)
    except ScaleAPIError as err:
        print(describe_error(err), file=sys.stderr)
        return EXIT_SCALE_ERROR
    except Exception as err:  # noqa: BLE001 - never a traceback; never the key
        text = str(err).replace(api_key, "***") if len(api_key) >= 4 else str(err)
        return fail(f"selftest failed (unexpected {type(err).__name__}): {text}", EXIT_SCALE_ERROR)

    if args.format == "json":
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        print(f"Scale called {args.callback_url} for task {args.task_id} and accepted the answer:")
        print(format_answer(answer))
    return EXIT_OK
