"""Counters for operators, exposed at ``GET /metrics`` in the Prometheus text format.

Counters live in the worker process (labelled with its ``pid``): a scrape through the load balancer sees one
worker. For fleet-wide numbers, aggregate the per-validation JSON log lines (they carry the same counts).
"""
from __future__ import annotations

import os
import threading
from collections import defaultdict

_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._hist = [0] * (len(_BUCKETS_MS) + 1)
        self._hist_sum = 0.0
        self._hist_count = 0

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] += value

    def observe_validation(self, result, elapsed_ms: float) -> None:
        self.inc("validations", verdict="pass" if result.passed else "fail")
        for issue in result.issues:
            self.inc("issues", rule=issue.instance, level=issue.level)
        for name in result.rule_failures:
            self.inc("rule_failures", rule=name)
        if result.budget_exhausted:
            self.inc("budget_exhausted")
        with self._lock:
            for i, bound in enumerate(_BUCKETS_MS):
                if elapsed_ms <= bound:
                    self._hist[i] += 1
                    break
            else:
                self._hist[-1] += 1
            self._hist_sum += elapsed_ms
            self._hist_count += 1

    def render(self) -> str:
        pid = str(os.getpid())
        lines = []
        with self._lock:
            names = sorted({n for n, _ in self._counters})
            for name in names:
                lines.append(f"# TYPE validator_{name}_total counter")
                for (n, labels), v in sorted(self._counters.items()):
                    if n != name:
                        continue
                    lab = ",".join(f'{k}="{_esc(val)}"' for k, val in (*labels, ("pid", pid)))
                    lines.append(f"validator_{name}_total{{{lab}}} {v:g}")
            lines.append("# TYPE validator_request_duration_ms histogram")
            cum = 0
            for bound, count in zip((*_BUCKETS_MS, "+Inf"), self._hist):
                cum += count
                lines.append(f'validator_request_duration_ms_bucket{{le="{bound}",pid="{pid}"}} {cum}')
            lines.append(f'validator_request_duration_ms_sum{{pid="{pid}"}} {self._hist_sum:g}')
            lines.append(f'validator_request_duration_ms_count{{pid="{pid}"}} {self._hist_count}')
        return "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


METRICS = Metrics()
