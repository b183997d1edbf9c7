"""``validator check PATH...``: run the configured rules in-process on saved ``{task, response}`` bodies.

Same code path and config as the service (``Engine.from_config_file``; ``--config``, else ``$VALIDATOR_CONFIG``,
else the built-in defaults). Prints each task's verdict and issues -- shadow and warn included, labeled -- then a
summary: tasks checked, failed, not valid, and per rule instance how many tasks and annotations it flagged.

Streams: inputs are read lazily (:mod:`validator.inputs`), work is sent to ``--jobs`` processes in chunks with a
bounded number in flight, and results come back in input order, so the output does not depend on ``--jobs``.

Exit status: 0 every task passed; 1 a task failed or an input was not a valid body (each reported by name and
line, the rest still run); 2 the run could not start (bad config, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, TextIO

from validator.cli.errors import say
from validator.cli.inputs import InputItem, iter_inputs
from validator.cli.render import issue_line

NAME = "check"
HELP = "run the configured rules on saved request bodies (files, directories, JSON Lines) without a server"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

CHUNK_ITEMS = 32
CHUNK_BYTES = 4 << 20
IN_FLIGHT_PER_JOB = 2


# -- engine --------------------------------------------------------------------------------------------------

def load_engine(config: str | None):
    """The service's engine for ``config`` (None: built-in defaults). Raises ConfigError."""
    from validator.engine.engine import Engine
    return Engine.from_config_file(config)


def quiet_engine_logs() -> None:
    """Rule failures and budget overruns are reported in the output; keep their tracebacks off the terminal."""
    logger = logging.getLogger("validator")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def check_item(engine, item: InputItem) -> dict:
    """Validate one input; a plain, picklable record (never raises)."""
    base = {"source": item.source, "line": item.line, "where": item.where}
    if item.error is not None:
        return {**base, "kind": "error", "error": item.error}
    from validator.scale.envelope import BodyError
    from validator.scale.jsonio import JSONBodyError

    data = item.data.encode("utf-8", "surrogatepass") if isinstance(item.data, str) else item.data
    try:
        result = engine.validate_bytes(data)  # the service's own code path (typed fast path, then general)
    except JSONBodyError as exc:
        return {**base, "kind": "error", "error": str(exc)}
    except BodyError as exc:
        return {**base, "kind": "error", "error": f"not a valid body: {exc}"}
    except Exception as exc:  # noqa: BLE001 - report, never a traceback; the rest still runs
        return {**base, "kind": "error", "error": f"the engine failed on this body ({type(exc).__name__}: {exc})"}
    issues = [
        {
            "rule": i.rule_id,
            "instance": i.instance,
            "level": i.level,
            "uuid": i.uuid,
            "errorType": i.error_type,
            "extra": i.extra,
            "locations": i.to_json().get("locations", []),
        }
        for i in result.issues
    ]
    return {
        **base,
        "kind": "task",
        "task_id": result.task_id,
        "pass": bool(result.passed),
        "answer": result.answer,
        "issues": issues,
        "rule_failures": list(getattr(result, "rule_failures", []) or []),
        "budget_exhausted": bool(getattr(result, "budget_exhausted", False)),
        "skipped": list(getattr(result, "skipped", []) or []),
    }


# -- work distribution ---------------------------------------------------------------------------------------

_WORKER_ENGINE = None


def _init_worker(factory: Callable[[str | None], Any], config: str | None) -> None:
    global _WORKER_ENGINE
    quiet_engine_logs()
    _WORKER_ENGINE = factory(config)


def _check_chunk(chunk: list[InputItem]) -> list[dict]:
    return [check_item(_WORKER_ENGINE, item) for item in chunk]


def chunked(items: Iterable[InputItem], max_items: int | None = None,
            max_bytes: int | None = None) -> Iterator[list[InputItem]]:
    max_items = max_items or CHUNK_ITEMS
    max_bytes = max_bytes or CHUNK_BYTES
    chunk: list[InputItem] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += len(item.data or b"")
        if len(chunk) >= max_items or size >= max_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def ordered_map(executor: Executor, fn: Callable[[Any], list], chunks: Iterable[Any],
                max_in_flight: int) -> Iterator[Any]:
    """``fn`` over ``chunks`` on ``executor``, results flattened in input order, at most ``max_in_flight``
    chunks submitted and not yet consumed (so memory stays bounded however long the input)."""
    pending: deque[Future] = deque()
    for chunk in chunks:
        pending.append(executor.submit(fn, chunk))
        while len(pending) >= max_in_flight:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


def check_records(paths: Iterable[str], *, config: str | None = None, jobs: int = 1,
                  engine_factory: Callable[[str | None], Any] = load_engine, engine=None,
                  stdin=None) -> Iterator[dict]:
    """Records for every input, in input order. Builds the engine first, so ConfigError surfaces here."""
    quiet_engine_logs()
    if engine is None:
        engine = engine_factory(config)
    chunks = chunked(iter_inputs(paths, stdin=stdin))
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None) if jobs > 1 else None
    if second is None:  # one process: everything fits in one chunk, or --jobs 1
        for item in first:
            yield check_item(engine, item)
        for chunk in chunks:
            for item in chunk:
                yield check_item(engine, item)
        return

    def all_chunks() -> Iterator[list[InputItem]]:
        yield first
        yield second
        yield from chunks

    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                             initargs=(engine_factory, config)) as pool:
        yield from ordered_map(pool, _check_chunk, all_chunks(), max_in_flight=jobs * IN_FLIGHT_PER_JOB)


# -- summary ---------------------------------------------------------------------------------------------

@dataclass
class RuleStats:
    rule: str
    instance: str
    level: str
    tasks: int = 0
    annotations: int = 0
    issues: int = 0


@dataclass
class Summary:
    tasks: int = 0
    failed: int = 0
    invalid: int = 0
    rules: dict[tuple[str, str], RuleStats] = field(default_factory=dict)

    def add(self, record: dict) -> None:
        if record["kind"] == "error":
            self.invalid += 1
            return
        self.tasks += 1
        if not record["pass"]:
            self.failed += 1
        per: dict[tuple[str, str], set] = {}
        for issue in record["issues"]:
            key = (issue["instance"], issue["level"])
            stats = self.rules.get(key)
            if stats is None:
                stats = self.rules[key] = RuleStats(issue["rule"], issue["instance"], issue["level"])
            stats.issues += 1
            per.setdefault(key, set())
            if issue["uuid"] is not None:
                per[key].add(issue["uuid"])
        for key, uuids in per.items():
            self.rules[key].tasks += 1
            self.rules[key].annotations += len(uuids)

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if (self.failed or self.invalid) else EXIT_OK

    def sorted_rules(self) -> list[RuleStats]:
        order = {"error": 0, "warn": 1, "shadow": 2}
        return sorted(self.rules.values(), key=lambda s: (order.get(s.level, 3), -s.tasks, s.instance))

    def to_json(self) -> dict:
        return {
            "kind": "summary",
            "tasks": self.tasks,
            "failed": self.failed,
            "passed": self.tasks - self.failed,
            "invalid": self.invalid,
            "rules": [
                {"rule": s.rule, "instance": s.instance, "level": s.level, "tasks": s.tasks,
                 "annotations": s.annotations, "issues": s.issues}
                for s in self.sorted_rules()
            ],
        }


# -- output --------------------------------------------------------------------------------------------------

def _rule_label(s: RuleStats) -> str:
    return s.instance if s.instance == s.rule else f"{s.instance} ({s.rule})"


def format_record(record: dict) -> list[str]:
    if record["kind"] == "error":
        return [f"INVALID  {record['where']}: {record['error']}"]
    task = record.get("task_id") or "?"
    lines = [f"{'PASS' if record['pass'] else 'FAIL'}  {record['where']}  task {task}"]
    for i in record["issues"]:
        where = f"annotation {i['uuid']}" if i["uuid"] is not None else "global"
        lines.append("    " + issue_line(where, i["errorType"], i["locations"], i["extra"], level=i["level"]))
    for name in record.get("rule_failures", []):
        lines.append(f"    note: rule {name} raised an error and was skipped (see the service's failure_policy)")
    if record.get("budget_exhausted"):
        lines.append("    note: the time budget ran out before every rule finished")
    for note in record.get("skipped", []):
        lines.append(f"    note: skipped {note}")
    return lines


def format_summary(summary: Summary) -> list[str]:
    lines = [
        "",
        f"Summary: {summary.tasks} task{'s' if summary.tasks != 1 else ''} checked, {summary.failed} failed, "
        f"{summary.tasks - summary.failed} passed" + (f", {summary.invalid} not valid" if summary.invalid else ""),
    ]
    rules = summary.sorted_rules()
    if not rules:
        lines.append("No rule flagged anything.")
        return lines
    headers = ("rule", "level", "tasks", "annotations", "issues")
    rows = [(_rule_label(s), s.level, str(s.tasks), str(s.annotations), str(s.issues)) for s in rules]
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(headers)]

    def fmt(row: Iterable[str]) -> str:
        cells = list(row)
        return "  ".join(c.ljust(widths[k]) if k < 2 else c.rjust(widths[k]) for k, c in enumerate(cells)).rstrip()

    lines.append(fmt(headers))
    lines.append(fmt("-" * w for w in widths))
    lines.extend(fmt(r) for r in rows)
    return lines


def run_check(paths: Iterable[str], *, config: str | None = None, jobs: int = 1, fmt: str = "text",
              out: TextIO | None = None, engine_factory: Callable[[str | None], Any] = load_engine,
              stdin=None) -> int:
    """Check ``paths`` and write the report to ``out``; the exit status. Raises ConfigError."""
    out = out if out is not None else sys.stdout
    summary = Summary()
    for record in check_records(paths, config=config, jobs=jobs, engine_factory=engine_factory, stdin=stdin):
        summary.add(record)
        if fmt == "json":
            out.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        else:
            out.write("\n".join(format_record(record)) + "\n")
    if fmt == "json":
        out.write(json.dumps(summary.to_json(), ensure_ascii=False) + "\n")
    else:
        out.write("\n".join(format_summary(summary)) + "\n")
    out.flush()
    return summary.exit_code


# -- command -------------------------------------------------------------------------------------------------

def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes") from None
    if n < 1:
        raise argparse.ArgumentTypeError("--jobs must be at least 1")
    return n


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the configured rules on saved {task, response} bodies, in-process (no server). A .jsonl/.ndjson "
        "file or '-' (stdin) holds one body per line; directories are searched for .json/.jsonl/.ndjson. "
        "Exit 0 if every task passes, 1 if any fails or is not a valid body, 2 if the run cannot start."
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, directory, JSON Lines file, or -")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="rules config (TOML; default: $VALIDATOR_CONFIG, else the built-in defaults)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people; json: one JSON object per line, a summary object last")
    parser.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                        help="worker processes (default: all cores); the output is the same for any N")


def run(args: argparse.Namespace) -> int:
    config = args.config or os.environ.get("VALIDATOR_CONFIG") or None
    jobs = args.jobs or os.cpu_count() or 1
    try:
        from validator.engine.config import ConfigError
    except ImportError:  # pragma: no cover - the engine ships with the package
        ConfigError = ValueError  # type: ignore[misc,assignment]
    try:
        return run_check(args.paths, config=config, jobs=jobs, fmt=args.format)
    except ConfigError as exc:
        say(str(exc))
        return EXIT_USAGE
    except BrokenPipeError:  # `validator check ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return EXIT_FAILED
    except KeyboardInterrupt:
        say("check interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback
        say(f"check failed ({type(exc).__name__}: {exc})")
        return EXIT_USAGE
