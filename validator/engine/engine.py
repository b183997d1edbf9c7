"""The engine: runs the configured rule instances on one ``{task, response}`` body; it owns cost, scope, limits and
the verdict.

* Everything rules need is built once per request (:class:`validator.engine.context.Context`).
* ``[limits]`` first: more annotations than ``max_annotations`` or an annotation with more than ``max_vertices``
  vertices is an issue a labeler can act on (``annotation_limit``, ``vertex_limit``), and then no pairwise rule runs
  (the task already fails for a reason).
* Cheapest first: every ``linear`` instance before any ``pairwise`` one, error before warn before shadow within a
  class, so the cheap checks (format, taxonomy, geometry type, bounds, sizes, attributes) always run.
* An instance's scope (labels, geometry types, projects) chooses what it judges; every annotation stays visible as
  context (``ctx.annotations``). Numeric warnings are suppressed around every rule.
* A request-level time budget bounds all rules together. Where the engine runs in the main thread (gunicorn sync
  workers, the CLI), a running rule is interrupted with ``SIGALRM`` when the budget runs out; elsewhere the budget
  is checked between rules. Work cut short (the budget, a helper's ``WorkLimitExceeded``) is never a pass: every
  unfinished error-level instance is named in one neutral global issue ``validation_incomplete``.
* A rule that raises is isolated: logged server-side with its traceback, counted, its partial issues discarded.
  The configured ``failure_policy`` decides the verdict: ``open`` (default) skips the instance, ``closed`` adds
  ``validation_incomplete`` (no internals) so the task fails -- for an instance at level ``error`` only.
* Output is bounded and deterministic: issues capped per instance and per task (with a summary issue saying how
  many more), texts and locations bounded, the answer under ``max_answer_bytes``; annotations in request order,
  issues sorted by error type, instance and location.
"""
from __future__ import annotations

from itertools import islice
import logging
import math
import signal
import threading
import _signal  # signal's C functions: signal.signal's enum conversions of the handlers cost more than the call
import time
from typing import Any, Iterable

import numpy as np

from validator.geometry import compiled
from validator.scale import envelope, jsonio
from validator.scale.annotations import LISTED_DEFAULT, TYPE_CODE, extract, from_typed
from validator.engine.config import Config, RuleInstance, load_config
from validator.engine.context import Context, Selection, WorkLimitExceeded
from validator.engine.registry import COSTS
from validator.engine.issues import (ANSWER_TRUNCATED, MAX_LOCATIONS, MAX_TEXT_CHARS, RETURNED_LEVELS, Issue,
                                     ReportedIssue, Result, order_issues)
from validator.scale.task import TaskSpec

log = logging.getLogger("validator.engine")

INCOMPLETE = "validation_incomplete"
INCOMPLETE_TEXT = "Automatic checks could not be completed for this task. Please submit again in a moment."
ANNOTATION_LIMIT = "annotation_limit"
VERTEX_LIMIT = "vertex_limit"
COST_RANK = {c: n for n, c in enumerate(COSTS)}
LEVEL_RANK = {"error": 0, "warn": 1, "shadow": 2, "off": 3}
_FORMAT_RULES = ("malformed_annotation", "non_finite_coordinate")  # rules/annotation_format.py: they read malformed
SHADOW_LOG_LIMIT = 50  # shadow issues listed per request in the log (all are counted)
SHADOW_LOCATIONS_LIMIT = 20  # locations listed per shadow issue in the log
# Issues of one instance held in memory (then sorted; the first max_issues_per_rule are listed): the larger of
# HOLD_FACTOR times the cap and HOLD_MIN. Beyond it a rule's issues are only counted.
HOLD_FACTOR = 10
HOLD_MIN = 1_000


_SIGALRM = int(getattr(signal, "SIGALRM", 0))
_ITIMER_REAL = int(getattr(signal, "ITIMER_REAL", 0))
_HAS_TIMER = hasattr(signal, "setitimer")


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
        self.use_signal = _HAS_TIMER and threading.current_thread() is threading.main_thread()
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
            self._previous = _signal.signal(_SIGALRM, self._alarm)
            _signal.setitimer(_ITIMER_REAL, max(self.remaining(), 1e-6))
        return self

    def __exit__(self, *exc):
        if self.use_signal:
            self.in_rule = False
            try:  # the alarm may fire right here: restore the handler regardless
                _signal.setitimer(_ITIMER_REAL, 0)
            finally:
                _signal.signal(_SIGALRM, self._previous or _signal.SIG_DFL)
        return False

    def _alarm(self, signum, frame):
        self.expired = True
        if self.in_rule:
            self.in_rule = False
            raise BudgetExceeded()


class _Plan:
    """What the run loop needs of one configured rule instance, worked out once when the engine is built."""

    __slots__ = ("stage", "codes", "scope", "scope_id", "declares_geometries", "needs_image_size", "per_task", "func",
                 "options", "pairwise", "needs_attributes")

    def __init__(self, inst: RuleInstance):
        rule = inst.rule
        self.stage = f"rule:{inst.name}"
        self.codes = None if inst.geometries is None else tuple(TYPE_CODE[g] for g in inst.geometries)
        self.scope = (self.codes, inst.labels)  # instances with the same scope share one Selection ...
        self.scope_id = 0  # ... numbered by the engine (a small int is the cheapest key of the run loop)
        self.declares_geometries = rule.geometries is not None  # (then the instance's codes are not None either)
        self.needs_image_size = rule.needs_image_size
        self.needs_attributes = rule.needs_attributes
        self.per_task = rule.per == "task"
        self.func = rule.func
        self.options = inst.options
        self.pairwise = rule.cost == "pairwise"


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
        scopes: dict[tuple, int] = {}
        for inst in every:
            plan = self._plans[id(inst)] = _Plan(inst)
            plan.scope_id = scopes.setdefault(plan.scope, len(scopes))
        self._order: dict[str | None, list[RuleInstance]] = {}  # project -> its instances, cheapest first
        # How many malformed annotations extraction records one by one (per kind): as many as the format rules list
        # (their option max_listed); the others are only counted, so memory stays bounded whatever the body.
        self._listed = max((i.options["max_listed"] for i in every if i.id in _FORMAT_RULES),
                           default=LISTED_DEFAULT)
        # The geometry's compiled kernels are loaded now, never inside a rule: there the time budget would pay for
        # numba's import and cache (~0.5 s; ~4 s to compile) on the first polygon. Under gunicorn the engine is
        # built in the preloaded master, whose machine code the workers inherit (validator/geometry/compiled.py).
        compiled.load()

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
            key = envelope.task_params_key(raw_task)  # (encoded once: both params caches are keyed on it)
            # the same specification and messages as the generic path
            task = envelope.load_task(raw_task, cache=True, key=key)
            anns = response.annotations or []
            lazy = _LazyBody(raw)
            annotations = from_typed(anns, lazy.annotations)
            if annotations is not None:
                result = self._validate(t0, task, lambda: annotations, len(anns), lazy.response,
                                        response.global_attributes, fast=True, key=key)
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
                  global_attributes: Any, fast: bool = False, key: bytes | None = None) -> Result:
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
                                  project_image_size=cfg.project_image_size, conditions_mode=cfg.conditions_mode,
                                  cache=fast, key=key)
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
        result.issues = self._cap_task(order_issues(issues, annotations.uuid_order))
        result.max_answer_bytes = cfg.limits.max_answer_bytes
        self._log_shadow(result, spec)
        result.duration_ms = (time.perf_counter() - t0) * 1000
        result.stages_ms = stages
        result.stats["fast_path"] = int(fast)
        return result

    # ------------------------------------------------------------------------------------------------------
    def _ordered(self, project: str | None) -> list[RuleInstance]:
        """The instances that run for a project, cheapest first: every linear instance before any pairwise one
        and, within a cost class, error before warn before shadow (so neither a costly rule nor a rule on trial
        can spend the budget the blocking cheap checks need). Worked out once per project."""
        try:
            return self._order[project]
        except KeyError:
            chosen = self.config.instances_for(project)
            ordered = sorted(chosen, key=lambda i: (COST_RANK[i.rule.cost], LEVEL_RANK[i.level]))
            if len(self._order) < 10_000:  # projects named by requests: keep the cache bounded
                self._order[project] = ordered
            return ordered

    def _run_rules(self, ctx: Context, result: Result, stages: dict[str, float]) -> list[ReportedIssue]:
        cfg = self.config
        instances = self._ordered(ctx.task.project)
        issues = self._check_limits(ctx, result)
        with np.errstate(all="ignore"), _Budget(cfg.time_budget_ms) as budget:
            # numeric warnings are the engine's business: absurd but finite coordinates (1e300) overflow to inf in
            # products and areas, which rules treat as "not flagged", never as a reason to fail or to log noise
            return issues + self._run_instances(ctx, result, stages, instances, budget, pairwise=not issues)

    def _check_limits(self, ctx: Context, result: Result) -> list[ReportedIssue]:
        """The caps of ``[limits]`` on the request's size, checked before any rule: each one hit is an issue the
        labeler can act on (so the task fails for a reason), and then no pairwise rule runs."""
        limits = self.config.limits
        out: list[ReportedIssue] = []
        if result.annotation_count > limits.max_annotations:
            out.append(ReportedIssue(
                rule_id="engine", instance="limits", level="error", uuid=None, error_type=ANNOTATION_LIMIT,
                extra=(f"This task has {result.annotation_count:,} annotations; at most {limits.max_annotations:,} "
                       "are allowed in one task. Remove copies and annotations drawn by mistake, then submit again."),
                locations=()))
        anns = ctx.annotations
        counts = anns.counts
        # (no annotation can be over the limit when all of them together are not: one comparison, usually)
        if len(anns.coords) > limits.max_vertices and int(counts.max()) > limits.max_vertices:
            over = (counts > limits.max_vertices).nonzero()[0]
            for p in over[:limits.max_issues_per_rule].tolist():
                x, y = anns.coords[anns.offsets[p]].tolist()
                out.append(ReportedIssue(
                    rule_id="engine", instance="limits", level="error", uuid=anns.uuids[p],
                    error_type=VERTEX_LIMIT,
                    extra=(f"This {anns.type_names[p]} has {int(counts[p]):,} vertices; at most "
                           f"{limits.max_vertices:,} are allowed. Simplify its outline, then submit again."),
                    locations=((x, y),) if math.isfinite(x) and math.isfinite(y) else ()))
            if len(over) > limits.max_issues_per_rule:
                out.append(_summary(out[-1], len(over) - limits.max_issues_per_rule))
        return out

    def _run_instances(self, ctx: Context, result: Result, stages: dict[str, float],
                       instances: list[RuleInstance], budget: _Budget, pairwise: bool = True
                       ) -> list[ReportedIssue]:
        cfg = self.config
        issues: list[ReportedIssue] = []
        selections: dict[int, Selection] = {}
        present = ctx.annotations.positions_by_type.keys()  # the type codes present (a set-like view)
        missing_size_logged = False
        crashed_blocking = False  # an error-level instance raised
        unfinished: list[RuleInstance] = []  # instances the budget or a work limit left unfinished
        image_size_known = ctx.task.image_size_known
        plans = self._plans
        poll = not budget.use_signal  # without the alarm the clock is read between rules
        attributes = _attributes_in_play(ctx)
        per_rule = cfg.limits.max_issues_per_rule
        hold = max(HOLD_FACTOR * per_rule, HOLD_MIN)  # issues kept in memory per instance (the rest only counted)
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
            if budget.expired or (poll and budget.remaining() <= 0):  # (budget.spent(), inlined)
                unfinished.extend(self._budget_spent(ctx, result, instances[n:], pairwise))
                break
            codes = plan.codes
            # A rule that declares geometry types is not called when the task has nothing of them in the
            # instance's scope (a rule with geometries=None always runs, even on an empty selection); nor is a rule
            # of attributes when no attribute is declared or given.
            if (plan.declares_geometries and present.isdisjoint(codes)) or (plan.needs_attributes and not attributes):
                continue
            if plan.pairwise and not pairwise:
                result.skipped.append(f"{inst.name}: not run, the task is over a limit")
                continue
            selection = selections.get(plan.scope_id)
            if selection is None:
                selection = selections[plan.scope_id] = self._selection(inst, codes, ctx)
            if plan.declares_geometries and not len(selection.positions):
                continue
            started = perf_counter()
            try:
                budget.in_rule = True
                if plan.per_task:
                    found = plan.func(selection, ctx, plan.options)
                    if found is None:
                        found, unheld = [], 0
                    elif found.__class__ is list:
                        unheld = 0 if len(found) <= hold else _unheld(found, hold)
                    else:  # a generator (or any iterable): hold the first ones, count the rest
                        rest = iter(found)
                        found = list(islice(rest, hold))
                        unheld = 0 if len(found) < hold else _unheld(rest, 0)
                else:
                    found, unheld = self._run_per_annotation(plan, ctx, selection, hold)
                budget.in_rule = False
                stamped = self._stamp(inst, found, ctx) if found else found
            except BudgetExceeded:
                stages[plan.stage] = (perf_counter() - started) * 1000
                unfinished.extend(self._budget_spent(ctx, result, instances[n:], pairwise))
                break
            except WorkLimitExceeded:  # a helper's bounded work ran out: not checked, which is not a pass
                budget.in_rule = False
                stages[plan.stage] = (perf_counter() - started) * 1000
                log.warning("work limit reached; rule not completed",
                            extra={"rule": inst.id, "instance": inst.name, "task_id": ctx.task.task_id})
                result.skipped.append(f"{inst.name}: work limit reached")
                unfinished.append(inst)
                continue
            except Exception:  # a rule's bug must never become a 5xx or block labelers (policy decides)
                budget.in_rule = False
                stages[plan.stage] = (perf_counter() - started) * 1000
                log.exception("rule failed", extra={"rule": inst.id, "instance": inst.name,
                                                    "task_id": ctx.task.task_id})
                result.rule_failures.append(inst.name)
                crashed_blocking |= inst.level == "error"
                continue
            stages[plan.stage] = (perf_counter() - started) * 1000
            if len(stamped) > per_rule or unheld:
                stamped = self._cap(inst, stamped, per_rule, unheld, ctx, result)
            issues.extend(stamped)
        if budget.spent():  # the deadline passed while the last rule ran, and the rule still finished (the
            result.budget_exhausted = True  # alarm came after it, or in a gc callback that cannot interrupt)
        # Work cut short (the budget, a work limit) must never let an error-level check pass unrun: a neutral
        # global issue names what could not be checked, whatever the failure policy.
        not_checked = [i for i in unfinished if i.level == "error"]
        if not_checked:
            issues.append(ReportedIssue(rule_id="engine", instance="engine", level="error", uuid=None,
                                        error_type=INCOMPLETE, extra=_not_checked_text(not_checked), locations=()))
        # A rule's crash is our bug: the failure policy decides. Only an error-level instance can block a task, so
        # only its failure can hide a blocking issue: a crashed warn or shadow rule never fails a task.
        elif crashed_blocking and cfg.failure_policy == "closed":
            issues.append(ReportedIssue(rule_id="engine", instance="engine", level="error", uuid=None,
                                        error_type=INCOMPLETE, extra=INCOMPLETE_TEXT, locations=()))
        return issues

    def _cap_task(self, ordered: list[ReportedIssue]) -> list[ReportedIssue]:
        """At most ``max_issues_per_task`` returned issues (errors kept first, in answer order), then one summary
        issue for the rest, at level error if an error is among them (the verdict never changes)."""
        limit = self.config.limits.max_issues_per_task
        if len(ordered) <= limit:
            return ordered
        returned = [i for i in ordered if i.level in RETURNED_LEVELS]
        if len(returned) <= limit:
            return ordered
        keep = set(map(id, sorted(returned, key=lambda i: i.level != "error")[:limit]))
        dropped = [i for i in returned if id(i) not in keep]
        out = [i for i in ordered if i.level not in RETURNED_LEVELS or id(i) in keep]
        level = "error" if any(i.level == "error" for i in dropped) else "warn"
        n = len(dropped)
        out.append(ReportedIssue(rule_id="engine", instance="engine", level=level, uuid=None,
                                 error_type=ANSWER_TRUNCATED,
                                 extra=(f"{n:,} more issue{'s' if n != 1 else ''} found in this task "
                                        f"{'are' if n != 1 else 'is'} not listed. Fix the ones shown, then submit "
                                        "again to see the rest."), locations=()))
        return out

    @staticmethod
    def _cap(inst: RuleInstance, stamped: list[ReportedIssue], limit: int, unheld: int, ctx: Context,
             result: Result) -> list[ReportedIssue]:
        """At most ``limit`` issues of an instance on annotations (the first in answer order) and ``limit`` global
        ones, then one summary issue saying how many more (``unheld``: issues beyond those held, counted but never
        kept). Apart, so that a rule's own global summary ("and 1,234 more") is never the one cut."""
        ordered = order_issues(stamped, ctx.annotations.uuid_order)  # issues on annotations first, globals last
        on_annotations = [i for i in ordered if i.uuid is not None]
        global_ = ordered[len(on_annotations):]
        more = max(len(on_annotations) - limit, 0) + max(len(global_) - limit, 0) + unheld
        if not more:
            return stamped
        result.suppressed[inst.name] = result.suppressed.get(inst.name, 0) + more
        kept = on_annotations[:limit] + global_[:limit]
        kept.append(ReportedIssue(rule_id=inst.id, instance=inst.name, level=inst.level, uuid=None,
                                  error_type=inst.id, extra=_more_text(more), locations=()))
        return kept

    @staticmethod
    def _log_shadow(result: Result, spec: TaskSpec) -> None:
        """Shadow issues are never returned: log where they are, so a rule on trial can be judged on live traffic
        and each finding found again (task id, rule instance and rule, annotation uuid, errorType, locations; not
        the labeler text, which may quote annotation content, and never the body)."""
        shadow = [i for i in result.issues if i.level == "shadow"]
        if shadow:
            log.info("shadow issues", extra={
                "task_id": result.task_id, "project": spec.project, "count": len(shadow),
                "shadow": [{"instance": i.instance, "rule": i.rule_id, "uuid": i.uuid, "errorType": i.error_type,
                            "locations": [{"x": x, "y": y} for x, y in i.locations[:SHADOW_LOCATIONS_LIMIT]]}
                           for i in shadow[:SHADOW_LOG_LIMIT]]})

    def _budget_spent(self, ctx: Context, result: Result, rest: list[RuleInstance], pairwise: bool
                      ) -> list[RuleInstance]:
        """Record the instances the budget left unfinished (log and result): ``rest`` from the one interrupted on,
        without those that would not have run anyway (image size unknown, none of their geometry types present,
        pairwise ones when a limit is hit, attribute rules without attributes). Returns them."""
        result.budget_exhausted = True
        present = ctx.annotations.positions_by_type.keys()
        size_known = ctx.task.image_size_known
        attributes = _attributes_in_play(ctx)
        not_finished = []
        for inst in rest:
            plan = self._plans[id(inst)]
            if ((plan.needs_image_size and not size_known) or (plan.pairwise and not pairwise)
                    or (plan.declares_geometries and present.isdisjoint(plan.codes))
                    or (plan.needs_attributes and not attributes)):
                continue
            not_finished.append(inst)
        names = [i.name for i in not_finished]
        log.warning("time budget exhausted; rules not completed",
                    extra={"task_id": ctx.task.task_id, "budget_ms": self.config.time_budget_ms,
                           "rules_not_completed": names})
        result.skipped.extend(f"{n}: time budget exhausted" for n in names)
        return not_finished

    @staticmethod
    def _selection(inst: RuleInstance, codes: tuple | None, ctx: Context) -> Selection:
        """The annotations an instance applies to (instances with the same scope share one Selection)."""
        anns = ctx.annotations
        positions = anns.every_position if codes is None else anns.positions_of_types(codes)
        if inst.labels is not None and len(positions):
            positions = anns.positions_with_labels(positions, inst.labels)
        return Selection(anns, positions)

    @staticmethod
    def _run_per_annotation(plan: "_Plan", ctx: Context, selection: Selection, hold: int
                            ) -> tuple[list[Issue], int]:
        func, opts, items = plan.func, plan.options, ctx.annotations.items
        found: list[Issue] = []
        unheld = 0
        for p in selection.positions.tolist():
            out = func(items[p], ctx, opts)
            if out is not None:
                if len(found) < hold:
                    found.extend(out)
                else:
                    unheld += _unheld(out, 0)
        return found, unheld

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
            if extra is not None and len(extra) > MAX_TEXT_CHARS:
                extra = extra[:MAX_TEXT_CHARS - 1] + "\u2026"
            if len(locations) > MAX_LOCATIONS:
                locations = locations[:MAX_LOCATIONS]
            out.append(ReportedIssue(rule_id=inst.id, instance=inst.name, level=inst.level, uuid=uuid,
                                     error_type=issue.error_type or inst.id, extra=extra, locations=locations))
        return out


def _attributes_in_play(ctx: Context) -> bool:
    """Whether the request has attributes to check: the task declares some, or an annotation or the image carries
    some (rules with ``needs_attributes`` run only then)."""
    return bool(ctx.task.attributes) or bool(ctx.global_attributes) or any(ctx.annotations.attributes)


def _summary(last: ReportedIssue, more: int) -> ReportedIssue:
    """The issue standing for ``more`` issues of an instance not listed (after ``last``, the last one listed)."""
    return ReportedIssue(rule_id=last.rule_id, instance=last.instance, level=last.level, uuid=None,
                         error_type=last.error_type, extra=_more_text(more), locations=())


def _more_text(more: int) -> str:
    return (f"{more:,} more issue{'s' if more != 1 else ''} of this kind {'are' if more != 1 else 'is'} not listed. "
            "Fix the ones shown, then submit again to see the rest.")


def _unheld(found: Any, hold: int) -> int:
    """How many of a rule's issues are beyond the first ``hold`` (``found``: the rule's output, a list, or an
    iterator of which ``hold`` were taken already); counted and type-checked, never kept, so that a rule's output
    in memory is bounded whatever it yields. Trims a list to ``hold`` in place."""
    if found.__class__ is list:
        more = found[hold:]
        del found[hold:]
        rest: Iterable[Any] = more
    else:
        rest = found
    count = 0
    for issue in rest:
        if not isinstance(issue, Issue):
            raise TypeError(f"a rule yielded {type(issue).__name__}, not an Issue")
        count += 1
    return count


def _not_checked_text(instances: list[RuleInstance]) -> str:
    """What a labeler reads when checks could not finish: which ones (by the errorType they would report)."""
    ids = list(dict.fromkeys(i.rule.id for i in instances))
    shown = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
    return (f"Some automatic checks could not be completed for this task, so it cannot be accepted yet: {shown}. "
            "Please submit again; if this message comes back, look for annotations drawn many times over or "
            "outlines with very many points.")
