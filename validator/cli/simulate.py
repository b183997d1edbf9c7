"""``validator simulate FILE... --url URL``: play Scale's role against a running endpoint.

Each saved ``{task, response}`` body (a ``.json`` file, each line of a ``.jsonl``/``.ndjson`` file, or a
directory of them) is POSTed to ``--url`` the way Scale sends it, with the ``scale-callback-auth`` header (key
from ``--auth-key`` or ``$SCALE_CALLBACK_AUTH_KEY``, the service's own variable: its first key is used). The
answer is checked exactly as Scale's format check would (:func:`validator.contract.answer_violations`), and one
line per body gives the verdict, the issue count and the latency.

Exit status: 0 every answer had the right format (whatever its verdict); 1 any format violation, HTTP error or
transport error; 2 a usage problem (no key). This is the smoke test to run before Scale is pointed at a
deployment (then ``validator selftest`` proves the path through Scale itself).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, TextIO

import requests

from validator.cli.errors import fail, say
from validator.cli.inputs import InputItem, iter_inputs
from validator.cli.scale_api import url_problem
from validator.scale.answer import answer_violations
from validator.cli.render import answer_issue_lines, count_answer_issues

NAME = "simulate"
HELP = "send saved request bodies to a running endpoint as Scale would, and check every answer's format"

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2

AUTH_HEADER = "scale-callback-auth"
AUTH_ENV = "SCALE_CALLBACK_AUTH_KEY"
USER_AGENT = "scale-realtime-validator/simulate"


@dataclass
class Outcome:
    """What happened to one body."""

    where: str
    verdict: str  # PASS | FAIL | BAD-FORMAT | HTTP-ERROR | ERROR
    status: int | None = None
    latency_ms: float | None = None
    issues: int = 0
    answer: Any = None
    violations: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def sent(self) -> bool:
        """The endpoint got the body and answered (an HTTP status): not an unreadable input, not a failed
        connection."""
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.verdict in ("PASS", "FAIL")

    def to_json(self) -> dict:
        return {"where": self.where, "verdict": self.verdict, "ok": self.ok, "status": self.status,
                "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
                "issues": self.issues, "violations": self.violations, "error": self.error,
                "answer": self.answer}


def _loads(data: bytes) -> Any:
    from validator.scale.jsonio import loads
    return loads(data)


def _transport_reason(exc: requests.RequestException, url: str, timeout: float) -> str:
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer from {url} within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"could not connect to {url} within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error talking to {url}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "refused" in text.lower():
            return f"could not reach {url}: connection refused"
        if "RemoteDisconnected" in text or "reset" in text.lower() or "aborted" in text.lower():
            return f"{url} closed the connection without answering"
        if "resolve" in text.lower() or "Name or service not known" in text:
            return f"could not reach {url}: the host name could not be resolved"
        return f"could not reach {url} ({type(exc).__name__})"
    return f"request to {url} failed ({type(exc).__name__})"


def send_body(url: str, data: bytes, request_body: Any, *, auth_key: str | None, timeout: float = 10.0,
              session: requests.Session | None = None, where: str = "") -> Outcome:
    """POST one body as Scale would and judge the answer. Never raises for HTTP/transport problems."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if auth_key:
        headers[AUTH_HEADER] = auth_key
    post = session.post if session is not None else requests.post
    t0 = time.perf_counter()
    try:
        resp = post(url, data=data, headers=headers, timeout=timeout)
        content = resp.content
    except requests.RequestException as exc:
        return Outcome(where, "ERROR", error=_transport_reason(exc, url, timeout))
    latency = (time.perf_counter() - t0) * 1000
    if resp.status_code != 200:
        snippet = " ".join(resp.text.split())[:200]
        if auth_key and len(auth_key) >= 4:
            snippet = snippet.replace(auth_key, "***")
        hint = " (is the auth key one the service accepts?)" if resp.status_code in (401, 403) else ""
        return Outcome(where, "HTTP-ERROR", status=resp.status_code, latency_ms=latency,
                       error=f"HTTP {resp.status_code}{hint}: {snippet or '(empty body)'}")
    try:
        answer = _loads(content)
    except ValueError as exc:
        return Outcome(where, "BAD-FORMAT", status=200, latency_ms=latency,
                       violations=[f"the answer is not JSON ({exc})"])
    violations = answer_violations(answer, request_body)
    if violations:
        return Outcome(where, "BAD-FORMAT", status=200, latency_ms=latency, answer=answer,
                       issues=count_answer_issues(answer) if isinstance(answer, dict) else 0,
                       violations=violations)
    return Outcome(where, "PASS" if answer["pass"] else "FAIL", status=200, latency_ms=latency, answer=answer,
                   issues=count_answer_issues(answer))


def simulate(paths: Iterable[str], url: str, *, auth_key: str | None, timeout: float = 10.0,
             session: requests.Session | None = None, stdin=None) -> Iterator[Outcome]:
    """One :class:`Outcome` per saved body in ``paths``, in order (the Python API beneath the command)."""
    own = session is None
    sess = session if session is not None else requests.Session()
    try:
        for item in iter_inputs(paths, stdin=stdin):
            yield _simulate_item(item, url, auth_key=auth_key, timeout=timeout, session=sess)
    finally:
        if own:
            sess.close()


def _simulate_item(item: InputItem, url: str, **kwargs) -> Outcome:
    if item.error is not None:
        return Outcome(item.where, "ERROR", error=item.error)
    try:
        body = _loads(item.data)
    except ValueError as exc:
        return Outcome(item.where, "ERROR", error=f"not sent: {exc}")
    return send_body(url, item.data, body, where=item.where, **kwargs)


def format_outcome(o: Outcome, verbose: bool = False) -> list[str]:
    latency = f"{o.latency_ms:7.1f} ms" if o.latency_ms is not None else "      - ms"
    if o.verdict in ("PASS", "FAIL", "BAD-FORMAT"):
        head = f"{o.verdict:<10} {o.issues:>4} issue{'s' if o.issues != 1 else ' '}  {latency}  {o.where}"
    else:
        head = f"{o.verdict:<10} {'-':>4} {'':6}  {latency}  {o.where}"
    lines = [head]
    if o.error:
        lines.append(f"    {o.error}")
    for v in o.violations:
        lines.append(f"    format: {v}")
    if verbose and isinstance(o.answer, dict):
        lines.extend("    " + line for line in answer_issue_lines(o.answer))
    return lines


def run_simulate(paths: Iterable[str], url: str, *, auth_key: str | None, timeout: float = 10.0,
                 fmt: str = "text", verbose: bool = False, out: TextIO | None = None,
                 session: requests.Session | None = None, stdin=None) -> int:
    out = out if out is not None else sys.stdout
    counts = {"bodies": 0, "sent": 0, "pass": 0, "fail": 0, "problems": 0}
    latencies: list[float] = []
    for o in simulate(paths, url, auth_key=auth_key, timeout=timeout, session=session, stdin=stdin):
        counts["bodies"] += 1
        counts["sent"] += o.sent
        if o.verdict == "PASS":
            counts["pass"] += 1
        elif o.verdict == "FAIL":
            counts["fail"] += 1
        else:
            counts["problems"] += 1
        if o.latency_ms is not None:
            latencies.append(o.latency_ms)
        if fmt == "json":
            out.write(json.dumps(o.to_json(), ensure_ascii=False, default=str) + "\n")
        else:
            out.write("\n".join(format_outcome(o, verbose)) + "\n")
        out.flush()
    summary = {"kind": "summary", "url": url, **counts,
               "max_latency_ms": round(max(latencies), 1) if latencies else None}
    if fmt == "json":
        out.write(json.dumps(summary) + "\n")
    else:
        tail = f", slowest {summary['max_latency_ms']} ms" if latencies else ""
        n, sent = counts["bodies"], counts["sent"]
        if sent == 0:
            what = "nothing sent"  # no input could be read, or the endpoint could not be reached
        elif sent == n:
            what = f"{n} {'body' if n == 1 else 'bodies'} sent"
        else:
            what = f"{sent} of {n} bodies sent"
        out.write(f"\n{what} to {url}: {counts['pass']} pass, {counts['fail']} fail, "
                  f"{counts['problems']} with problems{tail}\n")
    out.flush()
    return EXIT_PROBLEM if counts["problems"] or not counts["bodies"] else EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "POST saved {task, response} bodies to a running validation endpoint as Scale would (with the "
        "scale-callback-auth header) and check each answer's format as Scale's self-test does. Prints per body: "
        "verdict, issue count, latency. Exit 0 if every answer is well-formed, 1 otherwise, 2 on a usage error."
    )
    parser.add_argument("paths", nargs="+", metavar="FILE",
                        help="a saved body (.json), JSON Lines (.jsonl/.ndjson, one body per line), a directory, or -")
    parser.add_argument("--url", required=True, help="the endpoint, e.g. http://127.0.0.1:8000/validate")
    parser.add_argument("--auth-key", default=None, metavar="KEY",
                        help=f"value of the {AUTH_HEADER} header (default: the first key in ${AUTH_ENV})")
    parser.add_argument("--no-auth", action="store_true",
                        help=f"send no {AUTH_HEADER} header (to check that the endpoint refuses such requests)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per request (default: 10)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="json: one object per body, a summary object last")
    parser.add_argument("--verbose", "-v", action="store_true", help="also print every returned issue")


def auth_key_from(args: argparse.Namespace) -> str | None:
    if args.auth_key:
        return args.auth_key
    keys = [k.strip() for k in os.environ.get(AUTH_ENV, "").split(",") if k.strip()]
    return keys[0] if keys else None


def run(args: argparse.Namespace) -> int:
    key = None if args.no_auth else auth_key_from(args)
    if key is None and not args.no_auth:
        return fail(f"no auth key: set {AUTH_ENV} (or pass --auth-key; --no-auth to send none)", EXIT_USAGE)
    problem = url_problem(args.url, "--url")
    if problem:
        return fail(problem, EXIT_USAGE)
    try:
        return run_simulate(args.paths, args.url, auth_key=key, timeout=args.timeout, fmt=args.format,
                            verbose=args.verbose)
    except KeyboardInterrupt:
        say("simulate interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback
        message = str(exc)
        if key and len(key) >= 4:
            message = message.replace(key, "***")
        return fail(f"simulate failed ({type(exc).__name__}: {message})", EXIT_PROBLEM)
