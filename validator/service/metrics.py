"""Metrics for operators at ``GET /metrics`` (Prometheus text format), for the whole instance.

prometheus_client's multiprocess mode: every worker writes its counters to memory-mapped files in one directory
(``PROMETHEUS_MULTIPROC_DIR``; gunicorn.conf.py makes a fresh one on ``/dev/shm`` at start and marks exited
workers dead), and a scrape, whichever worker answers it, sums the files of all workers, past and present. So
successive scrapes of an instance never go down, and a worker restart loses nothing. Without that directory
(``validator serve``, tests in one process) the counters live in the process.

Names and units are Prometheus conventions (seconds, ``_total``). Every label value that can be known in
advance (verdicts, rejection reasons, the configured rule instances and their levels) is created at zero when the
app starts, so ``rate()`` and alerts see a series before its first event. No ``pid`` label.
"""
from __future__ import annotations

import os
import platform
import threading
from bisect import bisect_left
from typing import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Why a request was answered 4xx without a validation (label `reason` of validator_requests_rejected_total).
REJECT_REASONS = ("auth", "too_large", "bad_body", "bad_content_length", "incomplete_body", "malformed_http",
                  "read_timeout", "not_found", "method_not_allowed")
_BASE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)
_RULE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def request_buckets(time_budget_ms: float) -> tuple[float, ...]:
    """From 0.5 ms to past the time budget: the base buckets plus the budget itself and twice it (a request that
    ran out of budget lands above the budget bucket, not in +Inf with everything else)."""
    budget = time_budget_ms / 1000.0
    return tuple(sorted(set(_BASE_BUCKETS) | {round(budget, 6), round(2 * budget, 6)}))


class _BuildInfo:
    """``validator_build_info{version, python, gunicorn}`` = 1, added at scrape time (one series per instance)."""

    def collect(self):
        from validator import __version__

        try:
            import gunicorn

            gunicorn_version = gunicorn.__version__
        except ImportError:  # pragma: no cover - gunicorn is a dependency
            gunicorn_version = ""
        family = GaugeMetricFamily("validator_build_info", "Version of the running service (always 1).",
                                   labels=["version", "python", "gunicorn"])
        family.add_metric([__version__, platform.python_version(), gunicorn_version], 1)
        yield family


class Metrics:
    def __init__(self, time_budget_ms: float = 800.0):
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.validations = Counter("validator_validations", "Validated requests, by verdict.", ["verdict"],
                                   registry=reg)
        self.issues = Counter("validator_issues", "Issues found, by rule instance and level (shadow included).",
                              ["level", "rule"], registry=reg)
        self.rule_failures = Counter("validator_rule_failures", "Rule instances that raised (answered by the "
                                     "failure policy).", ["rule"], registry=reg)
        self.budget_exhausted = Counter("validator_budget_exhausted", "Requests whose time budget ran out before "
                                        "every rule had run.", registry=reg)
        self.rejected = Counter("validator_requests_rejected", "Requests answered 4xx without a validation, by "
                                "reason.", ["reason"], registry=reg)
        self.internal_errors = Counter("validator_internal_errors", "Bugs of ours outside any rule (answered by "
                                       "the failure policy).", registry=reg)
        self.duration = Histogram("validator_request_duration_seconds", "Time to answer a validation request "
                                  "(read, parse, rules, answer).", buckets=request_buckets(time_budget_ms),
                                  registry=reg)
        self.rule_duration = Histogram("validator_rule_duration_seconds", "Time spent in one rule instance for "
                                       "one request (only requests where it ran).", ["rule"],
                                       buckets=_RULE_BUCKETS, registry=reg)
        for verdict in ("pass", "fail"):
            self.validations.labels(verdict=verdict)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason=reason)
        # The values observe_validation adds to, found once (a label lookup costs more than the addition).
        self._verdict = {True: self.validations.labels(verdict="pass")._value,
                         False: self.validations.labels(verdict="fail")._value}
        self._budget_value = self.budget_exhausted._value
        self._duration = _histogram_values(self.duration)
        self._duration_bounds = self.duration._upper_bounds
        self._rule_bounds = self.rule_duration._upper_bounds
        self._issue_series: dict = {}
        self._failure_series: dict = {}
        self._rule_series: dict = {}
        self._stage_series: dict = {}  # Result.stages_ms key -> the rule instance's series, or False
        self._direct = _direct_writes(self._budget_value)
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def prime(self, instances: Iterable[tuple[str, str]]) -> None:
        """Create the series of the configured rule instances ``(name, level)`` at zero."""
        for name, level in instances:
            self._failure_series[name] = self.rule_failures.labels(rule=name)._value
            self._rule_series[name] = _histogram_values(self.rule_duration.labels(rule=name))
            if level != "off":
                self._issue_series[(level, name)] = self.issues.labels(level=level, rule=name)._value

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason=reason).inc()

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Compatibility with the previous counters' interface (``inc("requests_rejected", reason=...)``)."""
        if name == "requests_rejected":
            self.rejected.labels(**labels).inc(value)
        elif name == "internal_errors":
            self.internal_errors.inc(value)
        else:
            raise KeyError(f"unknown counter {name!r}")

    def observe_validation(self, result, elapsed_ms: float) -> None:
        """Count one validated request: its verdict, issues (by level and instance), rule failures, budget, the
        time of each rule instance that ran and the request's time.

        Exactly what ``.labels(...).inc()`` / ``.observe()`` per event would record, but the values to add are
        gathered first (one addition per series, issues summed by series) and then written in one pass
        (:meth:`_add`)."""
        adds: list = [(self._verdict[result.passed], 1.0)]
        issue_series = self._issue_series
        if result.issues:
            per_series: dict[tuple[str, str], int] = {}
            for issue in result.issues:
                key = (issue.level, issue.instance)
                per_series[key] = per_series.get(key, 0) + 1
            for key, n in per_series.items():
                value = issue_series.get(key)
                if value is None:
                    value = issue_series[key] = self.issues.labels(level=key[0], rule=key[1])._value
                adds.append((value, float(n)))
        for name in result.rule_failures:
            adds.append((self._child_value(self._failure_series, self.rule_failures, name), 1.0))
        if result.budget_exhausted:
            adds.append((self._budget_value, 1.0))
        by_stage = self._stage_series
        rule_bounds = self._rule_bounds
        last = len(rule_bounds) - 1
        for stage, ms in result.stages_ms.items():
            series = by_stage.get(stage)
            if series is None:  # a stage not seen yet: a rule instance's ("rule:<name>") or the engine's (False)
                series = by_stage[stage] = stage.startswith("rule:") and self._rule_values(stage[5:])
            if series:
                seconds = ms / 1000.0
                adds.append((series[0], seconds))
                adds.append((series[1][min(bisect_left(rule_bounds, seconds), last)], 1.0))
        seconds = elapsed_ms / 1000.0
        adds.append((self._duration[0], seconds))
        bounds = self._duration_bounds
        adds.append((self._duration[1][min(bisect_left(bounds, seconds), len(bounds) - 1)], 1.0))
        self._add(adds)

    def _rule_values(self, name: str) -> tuple:
        series = self._rule_series.get(name)
        if series is None:
            series = self._rule_series[name] = _histogram_values(self.rule_duration.labels(rule=name))
        return series

    def _child_value(self, cache: dict, metric, name: str):
        value = cache.get(name)
        if value is None:
            value = cache[name] = metric.labels(rule=name)._value
        return value

    def _add(self, adds: list) -> None:
        """Add each ``(value, amount)``: in multiprocess mode one lock and a direct write of each value to its
        memory-mapped file (prometheus_client's own ``inc`` takes its lock, checks for a fork and writes, per
        value); otherwise through the values' own ``inc``."""
        if not self._direct:
            for value, amount in adds:
                value.inc(amount)
            return
        pid = os.getpid()
        with self._lock:
            if pid != self._pid:
                # First write in this process (a forked worker): prometheus_client's own inc notices the new pid
                # and moves every value of this process to files of its own (a zero increment adds nothing).
                adds[0][0].inc(0.0)
                self._pid = pid
            for value, amount in adds:
                value._value += amount
                value._timestamp = 0.0
                value._file.write_value(value._key, value._value, 0.0)

    def render(self) -> str:
        return self.render_bytes().decode()

    def render_bytes(self) -> bytes:
        if os.environ.get(MULTIPROC_ENV) and is_multiprocess():
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        out = generate_latest(registry)
        return out + generate_latest(_BUILD_INFO_REGISTRY)


def _histogram_values(child) -> tuple:
    """A histogram series' (sum value, [bucket values]); a bucket is counted non-cumulatively (the first bound
    >= the observation, ``bisect_left`` of the bounds), as ``Histogram.observe`` does."""
    return child._sum, child._buckets


def _direct_writes(value) -> bool:
    """Whether values are prometheus_client's memory-mapped ones with the fields :meth:`Metrics._add` writes
    (checked, so that another version of prometheus_client falls back to its own ``inc``)."""
    return (getattr(value, "_multiprocess", False) and all(hasattr(value, a) for a in ("_value", "_timestamp",
            "_file", "_key")) and hasattr(getattr(value, "_file", None), "write_value"))


def is_multiprocess() -> bool:
    """Whether prometheus_client chose multiprocess values (decided when it was first imported)."""
    from prometheus_client import values

    return values.ValueClass is not values.MutexValue


_BUILD_INFO_REGISTRY = CollectorRegistry()
_BUILD_INFO_REGISTRY.register(_BuildInfo())
# Created by configure() when the app starts (not at import: in multiprocess mode every histogram created writes
# its buckets to the shared files, and two sets of buckets under one name would sum into nonsense).
METRICS: Metrics | None = None


def configure(time_budget_ms: float, instances: Iterable[tuple[str, str]]) -> Metrics:
    """(Re)create the service's metrics for this config (buckets up to past its budget, its instances at zero)."""
    global METRICS
    METRICS = Metrics(time_budget_ms)
    METRICS.prime(instances)
    return METRICS


def current() -> Metrics:
    """The service's metrics (default buckets if the app has not configured them, e.g. in a bare worker)."""
    global METRICS
    if METRICS is None:
        METRICS = Metrics()
    return METRICS
