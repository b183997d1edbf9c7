"""``validator check PATH...``: run the configured rules in-process on saved tasks -- a backtest.

Same code path and config as the service (``Engine.from_config_file``; ``--config``, else ``$VALIDATOR_CONFIG``,
else the built-in defaults). Inputs (:mod:`validator.cli.inputs`) are ``{task, response}`` bodies or Scale task
objects (with their ``response``; see :func:`classify`), in files, arrays, JSON Lines or stdin, or a project's
tasks paged from Scale (``--scale-project``, :mod:`validator.cli.scale_tasks`). Prints each task's verdict and
issues -- shadow and warn included, labeled -- then a summary: tasks checked, failed, not valid, skipped, per rule
instance how many tasks and annotations it flagged, and the scoped instances that never matched anything.

``--compare OTHER.toml`` runs a second config on every task and reports verdict changes and issues added/removed
per instance (the accounting: :mod:`validator.cli.summary`); ``--html`` draws failing (or changed) tasks
(:mod:`validator.cli.report`); ``--dask`` runs on a Dask cluster (:mod:`validator.cli.dask_backtest`).

Streams: inputs are read lazily, work is sent to ``--jobs`` processes in chunks with a bounded number in flight,
and results come back in input order, so the output does not depend on ``--jobs`` (or ``--dask``).

Exit status: 0 every task passed; 1 a task failed or an input was not valid (each reported by name, line and array
index, the rest still run); 2 the run could not start (bad config, bad arguments, Scale refused the key).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TextIO

from validator.cli.inputs import InputItem, iter_inputs
from validator.cli.render import issue_line
from validator.cli.summary import (  # noqa: F401 - re-exported: the check command's public names
    EXIT_FAILED,
    EXIT_OK,
    CompareSummary,
    RuleStats,
    Summary,
    diff_issues,
    never_matched,
)

NAME = "check"
HELP = "run the configured rules on saved request bodies (files, directories, JSON Lines) without a server"

EXIT_USAGE = 2
PREFIX = "validator:"  # every command's error lines start the same way (issue 15)

CHUNK_ITEMS = 32
CHUNK_BYTES = 4 << 20
IN_FLIGHT_PER_JOB = 2
MAX_LABELS_PER_TASK = 200


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


def _issue_dicts(result) -> list[dict]:
    return [
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


def classify(doc: Any) -> tuple[str, Any]:
    """What one input document is: ``("body", doc)`` (a ``{task, response}`` body), ``("task", body)`` (a Scale
    task object with its response, turned into a body), ``("skip", reason)`` or ``("error", message)``."""
    if not isinstance(doc, dict):
        return "error", (f"not a JSON object but {type(doc).__name__ if doc is not None else 'null'}: expected a "
                         "{task, response} body or a Scale task object")
    if "task" in doc:
        return "body", doc
    if "task_id" not in doc and "params" not in doc:
        return "error", ("not a {task, response} body ('task' is missing) nor a Scale task object "
                         "('task_id' is missing)")
    task_type = doc.get("type")
    if task_type != "imageannotation":
        return "skip", f"task type {task_type!r} is not checked"
    response = doc.get("response")
    status = doc.get("status")
    if response is None:
        return "skip", f"no response (task status {status!r})"
    if not isinstance(response, dict):
        return "skip", f"the response is not an object (task status {status!r})"
    if "annotations" not in response and "error" in response:
        return "skip", f"the task has an error response (task status {status!r})"
    task = {k: v for k, v in doc.items() if k != "response"}
    return "task", {"task": task, "response": response}


def _validate(engine, raw: bytes | None, body: dict):
    """The engine's verdict, or ("error", message). Bodies as received take the service's own code path."""
    from validator.scale.envelope import BodyError
    from validator.scale.jsonio import JSONBodyError

    try:
        return engine.validate_bytes(raw) if raw is not None else engine.validate(body)
    except JSONBodyError as exc:
        return str(exc)
    except BodyError as exc:
        return f"not a valid body: {exc}"
    except Exception as exc:  # noqa: BLE001 - report, never a traceback; the rest still runs
        return f"the engine failed on this body ({type(exc).__name__}: {exc})"


def _label_pairs(response: Any) -> set[tuple[Any, Any]]:
    anns = response.get("annotations") if isinstance(response, dict) else None
    pairs = set()
    for ann in anns if isinstance(anns, list) else ():
        if isinstance(ann, dict):
            label, kind = ann.get("label"), ann.get("type")
            pairs.add((kind if isinstance(kind, str) else None, label if isinstance(label, str) else None))
    return pairs


def _matched(config, project: Any, pairs: set) -> list[str]:
    """Names of the scoped instances (labels or projects) that applied to something in this task."""
    names = []
    for inst in config.instances_for(project if isinstance(project, str) else None):
        if inst.labels is None and inst.projects is None:
            continue
        if inst.labels is not None:
            geoms = inst.geometries
            if not any(label in inst.labels and (geoms is None or kind in geoms) for kind, label in pairs):
                continue
        names.append(inst.name)
    return names


def check_item(engine, item: InputItem, other=None, scenes: bool = False) -> dict:
    """Check one input (with ``other``: under a second config too); a plain, picklable record (never raises)."""
    base = {"source": item.source, "line": item.line, "where": item.where}
    if item.index is not None:
        base["index"] = item.index
    if item.error is not None:
        return {**base, "kind": "error", "error": item.error}
    from validator.scale import jsonio
    from validator.scale.jsonio import JSONBodyError

    data = item.data.encode("utf-8", "surrogatepass") if isinstance(item.data, str) else item.data
    try:
        doc = jsonio.loads(data)
    except JSONBodyError as exc:
        return {**base, "kind": "error", "error": str(exc)}
    what, value = classify(doc)
    if what == "error":
        return {**base, "kind": "error", "error": value}
    if what == "skip":
        task_id = doc.get("task_id")
        return {**base, "kind": "skipped", "task_id": task_id if isinstance(task_id, str) else None,
                "reason": value}
    body = value
    raw = data if what == "body" else None
    result = _validate(engine, raw, body)
    if isinstance(result, str):
        return {**base, "kind": "error", "error": result}
    if result.task_type != "imageannotation":
        return {**base, "kind": "skipped", "task_id": result.task_id,
                "reason": f"task type {result.task_type!r} is not checked"}
    task = body.get("task") if isinstance(body.get("task"), dict) else {}
    response = body.get("response")
    pairs = _label_pairs(response)
    project = task.get("project") if isinstance(task.get("project"), str) else None
    record = {
        **base,
        "kind": "task",
        "input": what,
        "task_id": result.task_id,
        "project": project,
        "pass": bool(result.passed),
        "answer": result.answer,
        "issues": _issue_dicts(result),
        "rule_failures": list(getattr(result, "rule_failures", []) or []),
        "budget_exhausted": bool(getattr(result, "budget_exhausted", False)),
        "skipped": list(getattr(result, "skipped", []) or []),
        "_matched": _matched(engine.config, project, pairs),
        "_labels": sorted({label for _, label in pairs if label is not None})[:MAX_LABELS_PER_TASK],
    }
    changed = False
    if other is not None:
        second = _validate(other, raw, body)
        if isinstance(second, str):
            record["compare"] = {"error": second}
        else:
            record["compare"] = {"pass": bool(second.passed), "issues": _issue_dicts(second),
                                 "rule_failures": list(getattr(second, "rule_failures", []) or [])}
            record["_matched_other"] = _matched(other.config, project, pairs)
            added, removed, _ = diff_issues(record["issues"], record["compare"]["issues"])
            changed = bool(added or removed) or record["pass"] != record["compare"]["pass"]
    if scenes and (changed if other is not None else not record["pass"]):
        from validator.cli.report import scene_of

        cfg = engine.config
        record["_scene"] = scene_of(task, response, width_key=cfg.image_width_key,
                                    height_key=cfg.image_height_key, project_sizes=cfg.project_image_size)
    return record


# -- work distribution ---------------------------------------------------------------------------------------

_WORKER: tuple = (None, None, False)


def _init_worker(factory: Callable[[str | None], Any], config: str | None, other: str | None = None,
                 scenes: bool = False) -> None:
    global _WORKER
    quiet_engine_logs()
    _WORKER = (factory(config), factory(other) if other else None, scenes)


def _check_chunk(chunk: list[InputItem]) -> list[dict]:
    engine, other, scenes = _WORKER
    return [check_item(engine, item, other, scenes) for item in chunk]


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
                  stdin=None, compare: str | None = None, other=None, scenes: bool = False,
                  items: Iterable[InputItem] | None = None) -> Iterator[dict]:
    """Records for every input (``paths``, then ``items``), in input order. Builds the engines first, so a
    ConfigError surfaces here."""
    quiet_engine_logs()
    if engine is None:
        engine = engine_factory(config)
    if compare and other is None:
        other = engine_factory(compare)

    def inputs() -> Iterator[InputItem]:
        yield from iter_inputs(paths, stdin=stdin)
        if items is not None:
            yield from items

    chunks = chunked(inputs())
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None) if jobs > 1 else None
    if second is None:  # one process: everything fits in one chunk, or --jobs 1
        for item in first:
            yield check_item(engine, item, other, scenes)
        for chunk in chunks:
            for item in chunk:
                yield check_item(engine, item, other, scenes)
        return

    def all_chunks() -> Iterator[list[InputItem]]:
        yield first
        yield second
        yield from chunks

    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                             initargs=(engine_factory, config, compare, scenes)) as pool:
        yield from ordered_map(pool, _check_chunk, all_chunks(), max_in_flight=jobs * IN_FLIGHT_PER_JOB)


# -- output --------------------------------------------------------------------------------------------------

def _rule_label(s: RuleStats) -> str:
    return s.instance if s.instance == s.rule else f"{s.instance} ({s.rule})"


def _issue_text(i: dict, prefix: str = "") -> str:
    where = f"annotation {i['uuid']}" if i["uuid"] is not None else "global"
    return "    " + prefix + issue_line(where, i["errorType"], i["locations"], i["extra"], level=i["level"])


def format_record(record: dict) -> list[str]:
    if record["kind"] == "error":
        return [f"INVALID  {record['where']}: {record['error']}"]
    if record["kind"] == "skipped":
        task = f"  task {record['task_id']}" if record.get("task_id") else ""
        return [f"SKIPPED  {record['where']}{task}: {record['reason']}"]
    task = record.get("task_id") or "?"
    lines = [f"{'PASS' if record['pass'] else 'FAIL'}  {record['where']}  task {task}"]
    lines.extend(_issue_text(i) for i in record["issues"])
    lines.extend(_notes(record))
    return lines


def _notes(record: dict, prefix: str = "") -> list[str]:
    lines = []
    for name in record.get("rule_failures", []):
        lines.append(f"    note: {prefix}rule {name} raised an error and was skipped "
                     "(see the service's failure_policy)")
    if record.get("budget_exhausted"):
        lines.append(f"    note: {prefix}the time budget ran out before every rule finished")
    for note in record.get("skipped", []):
        lines.append(f"    note: {prefix}skipped {note}")
    return lines


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def format_compare_record(record: dict, added: list, removed: list, relevel: list) -> list[str]:
    """A task under both configs: only when something changed (else nothing)."""
    cmp = record["compare"]
    if "error" in cmp:
        return [f"INVALID  {record['where']}: under the --compare config: {cmp['error']}"]
    if not (added or removed or relevel) and record["pass"] == cmp["pass"]:
        return []
    task = record.get("task_id") or "?"
    lines = [f"{_verdict(record['pass'])} -> {_verdict(cmp['pass'])}  {record['where']}  task {task}"]
    lines.extend(_issue_text(i, "+ ") for i in added)
    lines.extend(_issue_text(i, "- ") for i in removed)
    for before, after in relevel:
        where = f"annotation {after['uuid']}" if after["uuid"] is not None else "global"
        lines.append(f"    ~ [{before['level']} -> {after['level']}]  "
                     + issue_line(where, after["errorType"], after["locations"], after["extra"]))
    return lines


def _table(headers: tuple, rows: list[tuple], left: int = 2) -> list[str]:
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(headers)]

    def fmt(row: Iterable[str]) -> str:
        cells = list(row)
        return "  ".join(c.ljust(widths[k]) if k < left else c.rjust(widths[k])
                         for k, c in enumerate(cells)).rstrip()

    return [fmt(headers), fmt("-" * w for w in widths), *(fmt(r) for r in rows)]


def format_summary(summary: Summary) -> list[str]:
    head = (f"Summary: {summary.tasks} task{'s' if summary.tasks != 1 else ''} checked, {summary.failed} failed, "
            f"{summary.tasks - summary.failed} passed" + (f", {summary.invalid} not valid" if summary.invalid else "")
            + (f", {summary.skipped} skipped" if summary.skipped else ""))
    lines = ["", head]
    for reason, count in sorted(summary.skip_reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  skipped {count}: {reason}")
    rules = summary.sorted_rules()
    if not rules:
        lines.append("No rule flagged anything.")
    else:
        headers = ("rule", "level", "tasks", "annotations", "issues")
        lines.extend(_table(headers, [(_rule_label(s), s.level, str(s.tasks), str(s.annotations), str(s.issues))
                                      for s in rules]))
    if summary.unmatched:
        lines.append("")
        lines.append("Never matched (check the spelling; these instances checked nothing in this run):")
        for entry in summary.unmatched:
            who = f"instance {entry['instance']}" if entry.get("instance") else "config"
            if entry.get("config"):
                who += f" of {entry['config']}"
            lines.append(f"  {who}: {entry['message']}")
    if summary.compare is not None:
        lines.extend(format_compare_summary(summary.compare))
    return lines


def _ids(ids: list, count: int, limit: int = 50) -> str:
    text = ", ".join(str(i) for i in ids[:limit])
    return text + (f", ... +{count - min(limit, len(ids))} more" if count > min(limit, len(ids)) else "")


def format_compare_summary(c: CompareSummary) -> list[str]:
    lines = ["", f"Compare: {c.config} -> {c.other} on {c.tasks} task{'s' if c.tasks != 1 else ''}: "
             f"{c.changed_tasks} changed, {c.pass_to_fail_count} pass -> fail, {c.fail_to_pass_count} fail -> pass"
             + (f", {c.errors} not compared" if c.errors else "")]
    if c.pass_to_fail_count:
        lines.append(f"  pass -> fail: {_ids(c.pass_to_fail, c.pass_to_fail_count)}")
    if c.fail_to_pass_count:
        lines.append(f"  fail -> pass: {_ids(c.fail_to_pass, c.fail_to_pass_count)}")
    rows = [r for r in c.rows() if r.added or r.removed or r.level_changed]
    if rows:
        headers = ("instance", "tasks before", "tasks after", "issues added", "issues removed", "level changed")
        lines.extend(_table(headers, [(r.instance, str(r.tasks_before), str(r.tasks_after), str(r.added),
                                       str(r.removed), str(r.level_changed)) for r in rows], left=1))
    else:
        lines.append("No rule instance's issues changed.")
    return lines


def _public(record: dict, diff: tuple | None) -> dict:
    out = {k: v for k, v in record.items() if not k.startswith("_")}
    if diff is not None and "error" not in record["compare"]:
        added, removed, relevel = diff
        out["compare"] = {**record["compare"], "added": added, "removed": removed,
                          "level_changed": [{"before": a["level"], "after": b["level"], **{
                              k: b[k] for k in ("instance", "uuid", "errorType")}} for a, b in relevel]}
    return out


class Progress:
    """One self-rewriting line on a terminal: tasks done (of how many, when known), rate, failures so far."""

    def __init__(self, stream: TextIO | None, total: Callable[[], int | None] | None = None,
                 interval: float = 0.2):
        self.stream = stream
        self.total = total
        self.interval = interval
        self.started = time.monotonic()
        self._last = 0.0
        self._shown = False

    def update(self, summary: Summary, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        done = summary.tasks + summary.invalid + summary.skipped
        rate = done / max(now - self.started, 1e-9)
        total = self.total() if self.total else None
        bar = ""
        if total:
            frac = min(1.0, done / total)
            filled = int(frac * 24)
            bar = f"[{'#' * filled}{'.' * (24 - filled)}] {done}/{total}  "
        else:
            bar = f"{done} checked  "
        text = (f"{bar}{rate:.1f} tasks/s  {summary.failed} failed"
                + (f"  {summary.invalid} not valid" if summary.invalid else "")
                + (f"  {summary.skipped} skipped" if summary.skipped else ""))
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self.stream is not None and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


def summary_html(summary: Summary, config_name: str) -> str:
    from validator.cli.report import esc, table

    parts = [f"<p>Config: <code>{esc(config_name)}</code>. {summary.tasks} task{'s' if summary.tasks != 1 else ''} "
             f"checked, {summary.failed} failed, "
             f"{summary.tasks - summary.failed} passed"
             + (f", {summary.invalid} not valid" if summary.invalid else "")
             + (f", {summary.skipped} skipped" if summary.skipped else "") + ".</p>"]
    rules = summary.sorted_rules()
    if rules:
        parts.append("<h2>Per rule</h2>")
        parts.append(table(["rule instance", "rule", "level", "tasks", "annotations", "issues"],
                           [[s.instance, s.rule, s.level, s.tasks, s.annotations, s.issues] for s in rules], 3))
    else:
        parts.append("<p>No rule flagged anything.</p>")
    if summary.unmatched:
        parts.append("<h2>Never matched</h2><ul>" + "".join(
            f"<li>{esc(e.get('instance') or 'config')}: {esc(e['message'])}</li>" for e in summary.unmatched)
            + "</ul>")
    c = summary.compare
    if c is not None:
        parts.append(f"<h2>Compare: <code>{esc(c.config)}</code> &rarr; <code>{esc(c.other)}</code></h2>")
        parts.append(f"<p>{c.changed_tasks} task{'s' if c.changed_tasks != 1 else ''} changed; "
                     f"{c.pass_to_fail_count} pass &rarr; fail, "
                     f"{c.fail_to_pass_count} fail &rarr; pass.</p>")
        if c.pass_to_fail_count:
            parts.append(f"<p>pass &rarr; fail: {esc(_ids(c.pass_to_fail, c.pass_to_fail_count, 200))}</p>")
        if c.fail_to_pass_count:
            parts.append(f"<p>fail &rarr; pass: {esc(_ids(c.fail_to_pass, c.fail_to_pass_count, 200))}</p>")
        rows = [r for r in c.rows() if r.added or r.removed or r.level_changed]
        if rows:
            parts.append(table(["rule instance", "tasks before", "tasks after", "issues added", "issues removed",
                                "level changed"],
                               [[r.instance, r.tasks_before, r.tasks_after, r.added, r.removed, r.level_changed]
                                for r in rows], 1))
    parts.append("<h2>Tasks</h2>" if summary.failed or (c and c.changed_tasks) else "")
    return "\n".join(parts)


def _draw(report, record: dict, diff: tuple | None) -> None:
    if "_scene" not in record:
        return
    task = record.get("task_id") or "?"
    if diff is None:
        report.add(record, record["issues"], heading=f"FAIL  task {task}  ({record['where']})")
        return
    added, removed, relevel = diff
    cmp = record["compare"]
    after = cmp["issues"]
    added_ids = {id(i) for i in added}
    issues = list(after) + list(removed)
    marks = {k: "added" for k, i in enumerate(after) if id(i) in added_ids}
    marks.update({len(after) + k: "removed" for k in range(len(removed))})
    report.add(record, issues, heading=f"{_verdict(record['pass'])} -> {_verdict(cmp['pass'])}  task {task}  "
                                       f"({record['where']})", marks=marks)


def run_check(paths: Iterable[str], *, config: str | None = None, jobs: int = 1, fmt: str = "text",
              out: TextIO | None = None, engine_factory: Callable[[str | None], Any] = load_engine,
              stdin=None, compare: str | None = None, html: str | None = None, html_limit: int = 500,
              quiet: bool = False, failures_only: bool = False, progress: TextIO | None = None,
              items: Iterable[InputItem] | None = None, total: Callable[[], int | None] | None = None,
              records: Iterable[dict] | None = None) -> int:
    """Check ``paths`` (then ``items``) and write the report to ``out``; the exit status. Raises ConfigError.

    ``compare``: a second config run on every task (verdict changes and issues added/removed are reported).
    ``html``: also write the HTML report there. ``quiet``: the summary only. ``failures_only``: no PASS lines.
    ``progress``: a stream (a terminal) for the progress line. ``records``: precomputed records (the Dask path).
    """
    out = out if out is not None else sys.stdout
    quiet_engine_logs()
    engine = engine_factory(config)
    other = engine_factory(compare) if compare else None
    summary = Summary()
    if compare:
        summary.compare = CompareSummary(config or "built-in defaults", compare)
    report = None
    if html:
        from validator.cli.report import HtmlReport
        report = HtmlReport(html, limit=html_limit, title=f"validator check: {config or 'built-in defaults'}"
                            + (f" vs {compare}" if compare else ""))
    bar = Progress(progress, total)
    try:
        if records is None:
            records = check_records(paths, config=config, jobs=jobs, engine_factory=engine_factory, engine=engine,
                                    stdin=stdin, compare=compare, other=other, scenes=report is not None,
                                    items=items)
        for record in records:
            summary.add(record)
            diff = None
            if compare and record["kind"] == "task":
                if "error" in record["compare"]:
                    summary.compare.add(record, [], [], [])
                else:
                    diff = diff_issues(record["issues"], record["compare"]["issues"])
                    summary.compare.add(record, *diff)
            if report is not None and record["kind"] == "task":
                _draw(report, record, diff)
            if not quiet and _shown(record, diff, failures_only, compare is not None):
                if fmt == "json":
                    text = json.dumps(_public(record, diff), ensure_ascii=False, allow_nan=False)
                else:
                    lines = _text_lines(record, diff, compare is not None)
                    text = "\n".join(lines) if lines else None
                if text is not None:
                    bar.clear()
                    out.write(text + "\n")
            bar.update(summary)
        bar.clear()
        summary.unmatched = never_matched(engine.config, summary, summary.matched,
                                          which=(config or "built-in defaults") if compare else None)
        if other is not None:
            summary.unmatched += never_matched(other.config, summary, summary.matched_other, which=compare)
        if fmt == "json":
            out.write(json.dumps(summary.to_json(), ensure_ascii=False) + "\n")
        else:
            out.write("\n".join(format_summary(summary)) + "\n")
        if report is not None:
            report.finish(summary_html(summary, config or "built-in defaults"))
        out.flush()
    finally:
        bar.clear()
        if report is not None:
            report.close()
    return summary.exit_code


def _shown(record: dict, diff: tuple | None, failures_only: bool, comparing: bool) -> bool:
    """Whether a record is printed: everything, except (with --failures-only) passing and skipped tasks; with
    --compare a task is printed when its verdict or its issues change (text), or always (JSON)."""
    if not failures_only:
        return True
    if record["kind"] == "error":
        return True
    if record["kind"] == "skipped":
        return False
    if comparing and "error" not in record["compare"]:
        return not record["pass"] or not record["compare"]["pass"] or any(diff or ())
    return not record["pass"]


def _text_lines(record: dict, diff: tuple | None, comparing: bool) -> list[str]:
    if record["kind"] == "task" and comparing:
        if "error" in record["compare"]:
            return format_compare_record(record, [], [], [])
        return format_compare_record(record, *diff)
    return format_record(record)


# -- command -------------------------------------------------------------------------------------------------

def _positive(name: str):
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1")
        return n
    return parse


_jobs = _positive("--jobs")
SCALE_STATUSES = ("completed", "pending", "canceled", "error", "any")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError("--scale-timeout must be a positive number of seconds")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the configured rules in-process (no server) on saved tasks: {task, response} bodies as Scale POSTs "
        "them, or task objects as Scale's task API returns them (with their response), in .json files (one "
        "object, or an array), .jsonl/.ndjson files (one per line), directories, or '-' (stdin: JSON Lines or "
        "one JSON document). --scale-project fetches a project's tasks from Scale instead. "
        "Exit 0 if every task passes, 1 if any fails or is not valid, 2 if the run cannot start."
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="file, directory, JSON Lines file, or -")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="rules config (TOML; default: $VALIDATOR_CONFIG, else the built-in defaults)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people; json: one JSON object per line, a summary object last")
    parser.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                        help="worker processes (default: all cores); the output is the same for any N")
    parser.add_argument("--compare", default=None, metavar="OTHER.toml",
                        help="also run this config on every task; report verdict changes and issues added/removed")
    parser.add_argument("--html", default=None, metavar="FILE",
                        help="write a self-contained HTML report: per-rule summary, a drawing per failing "
                             "(with --compare: changed) task")
    parser.add_argument("--html-limit", type=_positive("--html-limit"), default=500, metavar="N",
                        help="at most N drawings in the HTML report (default 500)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print the summary only")
    parser.add_argument("--failures-only", action="store_true",
                        help="print failing and not valid tasks only (and the summary)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress line on stderr (shown only when stderr is a terminal)")
    scale = parser.add_argument_group("straight from Scale (needs SCALE_API_KEY; SCALE_API_BASE_URL optional)")
    scale.add_argument("--scale-project", default=None, metavar="NAME",
                       help="check the tasks of this Scale project (GET /v1/tasks, paged)")
    scale.add_argument("--scale-status", default="completed", choices=SCALE_STATUSES,
                       help="task status to fetch (default: completed; 'any' for every status)")
    scale.add_argument("--since", default=None, metavar="TIME",
                       help="only tasks completed at or after TIME (ISO 8601 date or time, UTC if no zone)")
    scale.add_argument("--until", default=None, metavar="TIME", help="only tasks completed at or before TIME")
    scale.add_argument("--max-tasks", type=_positive("--max-tasks"), default=None, metavar="N",
                       help="stop after N tasks from Scale")
    scale.add_argument("--scale-timeout", type=_seconds, default=60.0, metavar="SECONDS",
                       help="time bound for each page request, retries and backoff included (default 60)")
    dist = parser.add_argument_group("more than one machine (optional extra: pip install "
                                     "'scale-realtime-validator[dask]')")
    dist.add_argument("--dask", default=None, metavar="ADDRESS",
                      help="run on a Dask cluster: a scheduler address (tcp://host:8786), or 'local' / 'local:N' "
                           "for a local cluster of N worker processes; inputs must be JSON Lines files")
    dist.add_argument("--dask-blocksize", default="64MiB", metavar="SIZE",
                      help="bytes of JSON Lines per partition (default 64MiB)")


def _fail(message: str) -> int:
    print(f"{PREFIX} {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    config = args.config or os.environ.get("VALIDATOR_CONFIG") or None
    jobs = args.jobs or os.cpu_count() or 1
    try:
        from validator.engine.config import ConfigError
    except ImportError:  # pragma: no cover - the engine ships with the package
        ConfigError = ValueError  # type: ignore[misc,assignment]
    from validator.cli.scale_api import ScaleAPIError

    if not args.paths and not args.scale_project:
        return _fail("nothing to check: give files, directories or '-', or --scale-project NAME")
    if args.paths.count("-") > 1:
        return _fail("'-' (standard input) can be given once")
    if not args.scale_project and (args.since or args.until or args.max_tasks):
        return _fail("--since, --until and --max-tasks apply to --scale-project")
    if args.html:
        folder = os.path.dirname(os.path.abspath(args.html))
        if not os.path.isdir(folder):
            return _fail(f"cannot write the HTML report {args.html}: the folder {folder} does not exist")
        if os.path.isdir(args.html):
            return _fail(f"cannot write the HTML report {args.html}: it is a folder")
        if not os.access(folder, os.W_OK):
            return _fail(f"cannot write the HTML report {args.html}: the folder {folder} is not writable")
    items = None
    total = None
    source = None
    if args.scale_project:
        from validator.cli.scale_tasks import ProjectTasks, parse_time
        try:
            since = parse_time(args.since, name="--since") if args.since else None
            until = parse_time(args.until, name="--until") if args.until else None
        except ValueError as exc:
            return _fail(str(exc))
        if since and until and since > until:
            return _fail(f"--since {args.since} is after --until {args.until}")
        status = None if args.scale_status == "any" else args.scale_status
        try:
            source = ProjectTasks(args.scale_project, status=status, since=since, until=until,
                                  max_tasks=args.max_tasks, total_timeout=args.scale_timeout)
        except ScaleAPIError as exc:
            return _fail(str(exc))
    records = None
    dask_error: tuple | type = ()
    if args.dask:
        if args.scale_project or "-" in args.paths:
            return _fail("--dask reads JSON Lines files (not --scale-project or '-'): save the tasks first")
        from validator.cli import dask_backtest
        dask_error = dask_backtest.DaskSetupError
        try:
            records = dask_backtest.prepare(args.paths, address=args.dask, config=config, compare=args.compare,
                                            scenes=bool(args.html), blocksize=args.dask_blocksize)
        except dask_backtest.DaskSetupError as exc:
            return _fail(str(exc))
    progress = None
    if not args.no_progress and sys.stderr.isatty():
        progress = sys.stderr
    try:
        if source is not None:
            try:
                source.first_page()  # a bad key, project or URL is known before anything runs (exit 2)
            except ScaleAPIError as exc:
                source.close()
                return _fail(f"cannot fetch the tasks of project {args.scale_project!r}: {exc}")
            items = scale_items(source)
            total = lambda: source.total  # noqa: E731
        if args.max_tasks and source is not None:
            total = lambda: min(source.total or args.max_tasks, args.max_tasks)  # noqa: E731
        return run_check(args.paths, config=config, jobs=jobs, fmt=args.format, compare=args.compare,
                         html=args.html, html_limit=args.html_limit, quiet=args.quiet,
                         failures_only=args.failures_only, progress=progress, items=items, total=total,
                         records=records)
    except ConfigError as exc:
        return _fail(str(exc))
    except dask_error as exc:  # the scheduler cannot be reached (found when the run starts)
        return _fail(str(exc))
    except BrokenPipeError:  # `validator check ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"\n{PREFIX} check interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        return _fail(f"cannot write {exc.filename or 'the output'}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - never a traceback
        return _fail(f"check failed ({type(exc).__name__}: {exc})")
    finally:
        if records is not None and hasattr(records, "close"):
            records.close()


def scale_items(source) -> Iterator[InputItem]:
    """The project's tasks as inputs; a failure while paging becomes one error item (the tasks before it count)."""
    import orjson

    from validator.cli.scale_api import ScaleAPIError

    label = f"scale:{source.project}"
    n = 0
    try:
        for doc in source:
            n += 1
            yield InputItem(label, n, orjson.dumps(doc))
    except ScaleAPIError as exc:
        yield InputItem(label, None, None, f"fetching the project's tasks stopped after {n} tasks: {exc}")
    finally:
        source.close()
