"""The engine: runs the configured rule instances on one ``{task, response}`` body, each one guarded.

* Everything rules need is built once per request (:class:`validator.context.Context`).
* Each instance runs isolated: an exception is caught, logged server-side with its traceback, counted in the
  result, and its partial issues are discarded. The configured ``failure_policy`` decides the verdict: ``open``
  (default) skips the instance, ``closed`` adds the global issue ``validation_incomplete`` (no internals) so the
  task fails -- for an instance at level ``error`` only: a warn or shadow instance can never block a task, so
  neither can its failure.
* A request-level time budget bounds all rules together. Where the engine runs in the main thread (gunicorn sync
  workers, the CLI), a running rule is interrupted with ``SIGALRM`` when the budget runs out; elsewhere the budget
  is checked between rules. Rules not run because the budget is spent are handled by the same policy.
* Output is deterministic: annotations in request order, issues sorted by error type, instance and location.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any, Iterable

import numpy as np

from validator.scale import envelope, jsonio
from validator.scale.annotations import LISTED_DEFAULT, TYPE_CODE, extract, from_typed
from validator.engine.config import Config, RuleInstance, load_config
from validator.engine.context import Context, Selection
from validator.engine.issues import Issue, ReportedIssue, Result, order_issues
from validator.scale.task import TaskSpec

log = logging.getLogger("validator.engine")

INCOMPLETE = "validation_incomplete"
INCOMPLETE_TEXT = "Automatic checks could not be completed for this task. Please submit again in a moment."
_FORMAT_RULES = ("malformed_annotation", "non_finite_coordinate")  # rules/annotation_format.py: they read malformed
SHADOW_LOG_LIMIT = 50  # shadow issues listed per request in the log (all are counted)


class BudgetExceeded(BaseException):
    """Raised inside a rule when the request's time budget runs out (BaseException: rules cannot swallow it)."""


class _Budget:
    """The request's time budget.

    In the main thread (gunicorn sync workers, the CLI) one ``SIGALRM`` is armed for the whole request: when it
    fires inside a rule, that rule is interrupted with :class:`BudgetExceeded`; when it fires between rules, it
    only marks the budget spent. Elsewhere the budget is checked between rules.
    """

    def __init__(self, ms: float):
        self.deadline = time.perf_counter() + ms / 1000.0
        self.use_signal = (threading.current_thread() is threading.main_thread()
                           and hasattr(signal, "setitimer"))
        self.in_rule = False
        self.expired = False
        self._previous = None

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def spent(self) -> bool:
        # with the alarm armed, its handler marks the budget spent; otherwise (threads) compare with the clock
        return self.expired or (not self.use_signal and self.remaining() <= 0)

    def __enter__(self):
        if self.use_signal:
            self._previous = signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, max(self.remaining(), 1e-6))
        return self

    def __exit__(self, *exc):
        if self.use_signal:
            self.in_rule = False
            try:  # the alarm may fire right here: restore the handler regardless
                signal.setitimer(signal.ITIMER_REAL, 0)
            finally:
                signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)
        return False

    def _alarm(self, signum, frame):
        self.expired = True
        if self.in_rule:
            self.in_rule = False
            raise BudgetExceeded()


class _Plan:
    """What the run loop needs of one configured rule instance, worked out once when the engine is built."""

    __slots__ = ("stage", "codes", "scope", "declares_geometries", "needs_image_size", "per_task", "func", "options")

    def __init__(self, inst: RuleInstance):
        rule = inst.rule
        self.stage = f"rule:{inst.name}"
        self.codes = None if inst.geometries is None else tuple(TYPE_CODE[g] for g in inst.geometries)
        self.scope = (self.codes, inst.labels)  # instances with the same scope share one Selection
        self.declares_geometries = rule.geometries is not None  # (then the instance's codes are not None either)
        self.needs_image_size = rule.needs_image_size
        self.per_task = rule.per == "task"
        self.func = rule.func
        self.options = inst.options


class _LazyBody:
    """The generic parse of a body, made only if a rule asks for the original dicts (fast path)."""

    def __init__(self, raw: bytes):
        self._raw = raw
        self._body: Any = None

    def _parsed(self) -> dict:
        if self._body is None:
            self._body = jsonio.loads(self._raw)
        return self._body

    def response(self) -> dict:
        return self._parsed()["response"]

    def annotations(self) -> list:
        return self._parsed()["response"].get("annotations") or []


class Engine:
    def __init__(self, config: Config):
        self.config = config
        self.registry = config.registry
        # What the run loop needs of each configured instance, worked out once (the config holds every instance
        # for the engine's lifetime): id(instance) -> (stage key, type codes or None, scope key).
        self._plans: dict[int, _Plan] = {}
        every = [*config.instances, *(i for group in config.project_instances.values() for i in group)]
        for inst in every:
            self._plans[id(inst)] = _Plan(inst)
        # How many malformed annotations extraction records one by one (per kind): as many as the format rules list
        # (their option max_listed); the others are only counted, so memory stays bounded whatever the body.
        self._listed = max((i.options["max_listed"] for i in every if i.id in _FORMAT_RULES),
                           default=LISTED_DEFAULT)

    @classmethod
    def from_config_file(cls, path=None) -> "Engine":
        """Build from a TOML file (None: built-in defaults). Raises ConfigError naming every problem."""
        return cls(load_config(path))

    # ------------------------------------------------------------------------------------------------------
    def validate(self, body: Any) -> Result:
        """Validate a parsed ``{task, response}`` body: encoded to bytes (NaN kept) and read exactly as a request
        (:meth:`validate_bytes`). Raises envelope.BodyError / jsonio.JSONBodyError for an invalid envelope only."""
        return self.validate_bytes(jsonio.encode_body(body))

    def validate_bytes(self, raw: bytes) -> Result:
        """Validate a request body as received (bytes). Raises jsonio.JSONBodyError / envelope.BodyError for a body
        that is not a valid ``{task, response}`` JSON object, and nothing else for any content.

        Both ways in read the specification in validator/scale/format.py: a well-formed body is decoded typed
        (msgspec); anything that decode refuses is parsed generically and its annotations read carefully
        (validator/scale/annotations.py ``extract``), with the same result for every well-formed annotation."""
        t0 = time.perf_counter()
        typed = envelope.decode(raw)
        if typed is not None:
            raw_task, response = typed
            task = envelope.load_task(raw_task)  # the same specification and messages as the generic path
            anns = response.annotations or []
            lazy = _LazyBody(raw)
            annotations = from_typed(anns, lazy.annotations)
            if annotations is not None:
                result = self._validate(t0, task, lambda: annotations, len(anns), lazy.response,
                                        response.global_attributes, fast=True)
                result.inputs = (typed, annotations, lazy)
                return result
        body = jsonio.loads(raw)
        task, response = envelope.load_envelope(body)
        anns = response.get("annotations")
        read: list = []  # the careful reading, kept for its work counters

        def careful():
            read.append(extract(anns, listed=self._listed))
            return read[0]

        result = self._validate(t0, task, careful, len(anns) if isinstance(anns, list) else 0, response,
                                response.get("global_attributes"))
        if read:  # what the careful path cost: one-by-one conversions, explanations, malformed not listed
            result.stats.update({f"extraction_{k}": v for k, v in read[0].work.items()})
            result.stats["extraction_unlisted"] = sum(read[0].unlisted.values())
        result.inputs = body
        return result

    def _validate(self, t0: float, task: dict, make_annotations, count: int, context_response: Any,
                  global_attributes: Any, fast: bool = False) -> Result:
        stages: dict[str, float] = {}
        task_type = task.get("type")
        task_id = task.get("task_id")
        if task_type != "imageannotation":
            result = Result(task_id=task_id, task_type=task_type,
                            skipped=[f"task type {task_type!r} is not validated"])
            result.duration_ms = (time.perf_counter() - t0) * 1000
            return result
        cfg = self.config
        spec = TaskSpec.from_task(task, width_key=cfg.image_width_key, height_key=cfg.image_height_key,
                                  project_image_size=cfg.project_image_size, conditions_mode=cfg.conditions_mode)
        t1 = time.perf_counter()
        stages["envelope"] = (t1 - t0) * 1000
        annotations = make_annotations()
        t2 = time.perf_counter()
        stages["extraction"] = (t2 - t1) * 1000
        ctx = Context(spec, annotations, context_response, log=logging.getLogger("validator.rules"),
                      global_attributes=global_attributes)
        result = Result(task_id=task_id, task_type=task_type, annotation_count=count)
        try:
            issues = self._run_rules(ctx, result, stages)
            result.stats = dict(ctx.geometry.stats)
        finally:
            ctx.release()
        result.issues = order_issues(issues, annotations.uuid_order)
        self._log_shadow(result, spec)
        result.duration_ms = (time.perf_counter() - t0) * 1000
        result.stages_ms = stages
        result.stats["fast_path"] = int(fast)
        return result

    # ------------------------------------------------------------------------------------------------------
    def _run_rules(self, ctx: Context, result: Result, stages: dict[str, float]) -> list[ReportedIssue]:
        cfg = self.config
        instances = cfg.instances_for(ctx.task.project)
        with _Budget(cfg.time_budget_ms) as budget:
            return self._run_instances(ctx, result, stages, instances, budget)

    def _run_instances(self, ctx: Context, result: Result, stages: dict[str, float],
                       instances: list[RuleInstance], budget: _Budget) -> list[ReportedIssue]:
        cfg = self.config
        issues: list[ReportedIssue] = []
        selections: dict[tuple, Selection] = {}
        present = ctx.annotations.positions_by_type.keys()  # the type codes present (a set-like view)
        missing_size_logged = False
        blocking_incomplete = False  # an error-level instance failed or did not finish
        image_size_known = ctx.task.image_size_known
        plans = self._plans
        perf_counter = time.perf_counter
        for n, inst in enumerate(instances):
            plan = plans[id(inst)]
            if plan.needs_image_size and not image_size_known:
                if not missing_size_logged:
                    log.info("image size unknown; rules that need it are skipped",
                             extra={"task_id": ctx.task.task_id, "project": ctx.task.project})
                    missing_size_logged = True
                result.skipped.append(f"{inst.name}: image size unknown")
                continue
            if budget.spent():
                blocking_incomplete |= self._budget_spent(ctx, result, instances[n:])
                break
            codes = plan.codes
            # A rule that declares geometry types is not called when the task has nothing of them in the
            # instance's scope (a rule with geometries=None always runs, even on an empty selection).
            if plan.declares_geometries and present.isdisjoint(codes):
                continue
            selection = selections.get(plan.scope)
            if selection is None:
                selection = selections[plan.scope] = self._selection(inst, codes, ctx)
            if plan.declares_geometries and not len(selection):
                continue
            started = perf_counter()
            try:
                budget.in_rule = True
                if plan.per_task:
                    found = plan.func(selection, ctx, plan.options)
                    found = [] if found is None else list(found)
                else:
                    found = self._run_per_annotation(plan, ctx, selection)
                budget.in_rule = False
                stamped = self._stamp(inst, found, ctx) if found else found
            except BudgetExceeded:
                stages[plan.stage] = (perf_counter() - started) * 1000
                blocking_incomplete |= self._budget_spent(ctx, result, instances[n:])
                break
            except Exception:  # a rule's bug must never become a 5xx or block labelers (policy decides)
                budget.in_rule = False
                stages[plan.stage] = (perf_counter() - started) * 1000
                log.exception("rule failed", extra={"rule": inst.id, "instance": inst.name,
                                                    "task_id": ctx.task.task_id})
                result.rule_failures.append(inst.name)
                blocking_incomplete |= inst.level == "error"
                continue
            stages[plan.stage] = (perf_counter() - started) * 1000
            issues.extend(stamped)
        # Only an error-level instance can block a task, so only its failure can hide a blocking issue: a
        # crashed warn or shadow rule (shadow mode is for trying a rule on live traffic) never fails a task.
        if blocking_incomplete:
            if cfg.failure_policy == "closed":
                issues.append(ReportedIssue(rule_id="engine", instance="engine", level="error", uuid=None,
                                            error_type=INCOMPLETE, extra=INCOMPLETE_TEXT, locations=()))
        return issues

    @staticmethod
    def _log_shadow(result: Result, spec: TaskSpec) -> None:
        """Shadow issues are never returned: log where they are, so a rule on trial can be judged on live traffic
        (rule instance, annotation uuid and errorType; not the labeler text, which may quote annotation content)."""
        shadow = [i for i in result.issues if i.level == "shadow"]
        if shadow:
            log.info("shadow issues", extra={
                "task_id": result.task_id, "project": spec.project, "count": len(shadow),
                "shadow": [{"rule": i.instance, "uuid": i.uuid, "errorType": i.error_type}
                           for i in shadow[:SHADOW_LOG_LIMIT]]})

    def _budget_spent(self, ctx: Context, result: Result, not_finished: list[RuleInstance]) -> bool:
        """Record the instances the budget left unfinished; whether one of them could have blocked the task."""
        result.budget_exhausted = True
        names = [i.name for i in not_finished]
        log.warning("time budget exhausted; rules not completed",
                    extra={"task_id": ctx.task.task_id, "budget_ms": self.config.time_budget_ms,
                           "rules_not_completed": names})
        result.skipped.extend(f"{n}: time budget exhausted" for n in names)
        return any(i.level == "error" for i in not_finished)

    @staticmethod
    def _selection(inst: RuleInstance, codes: tuple | None, ctx: Context) -> Selection:
        """The annotations an instance applies to (instances with the same scope share one Selection)."""
        anns = ctx.annotations
        positions = np.arange(len(anns)) if codes is None else anns.positions_of_types(codes)
        if inst.labels is not None and len(positions):
            positions = anns.positions_with_labels(positions, inst.labels)
        return Selection(anns, positions)

    @staticmethod
    def _run_per_annotation(plan: "_Plan", ctx: Context, selection: Selection) -> list[Issue]:
        func, opts, items = plan.func, plan.options, ctx.annotations.items
        found: list[Issue] = []
        for p in selection.positions.tolist():
            out = func(items[p], ctx, opts)
            if out is not None:
                found.extend(out)
        return found

    @staticmethod
    def _stamp(inst: RuleInstance, found: Iterable[Any], ctx: Context) -> list[ReportedIssue]:
        known = ctx.annotations.uuid_order
        out = []
        for issue in found:
            if not isinstance(issue, Issue):
                raise TypeError(f"rule {inst.id} yielded {type(issue).__name__}, not an Issue")
            uuid = issue.uuid
            locations = issue.locations
            if uuid is not None and uuid not in known:
                uuid = None  # Scale's issues keys must be uuids of the request: anything else is global
            extra = issue.extra if issue.extra is None or isinstance(issue.extra, str) else str(issue.extra)
            out.append(ReportedIssue(rule_id=inst.id, instance=inst.name, level=inst.level, uuid=uuid,
                                     error_type=issue.error_type or inst.id, extra=extra, locations=locations))
        return out
