"""validator.service.metrics: observe_validation records exactly what one public prometheus_client call per event
records (``.labels(...).inc()`` per issue, ``.observe()`` per rule instance that ran), in multiprocess mode (its
direct writes to the memory-mapped files, across a fork) and in one process.

Each side runs in a fresh interpreter (prometheus_client picks its value class at import, from
PROMETHEUS_MULTIPROC_DIR) over the same real validations: built-in rules on bench scenes, and a crashing rule and
an exhausted budget from tests/plugins/engine_rules.py.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent('''
    import os, sys
    mode, config = sys.argv[1], sys.argv[2]
    from bench import scenes
    from validator.engine.config import load_config
    from validator.engine.engine import Engine
    from validator.service import metrics
    from validator.service.app import _instances
    from validator.testing import box, make_body, make_task

    def reference(m, result, elapsed_ms):
        """One public prometheus_client call per event (the implementation before the batched writes)."""
        m.validations.labels(verdict="pass" if result.passed else "fail").inc()
        for issue in result.issues:
            m.issues.labels(level=issue.level, rule=issue.instance).inc()
        for name in result.rule_failures:
            m.rule_failures.labels(rule=name).inc()
        if result.budget_exhausted:
            m.budget_exhausted.inc()
        for stage, ms in result.stages_ms.items():
            if stage.startswith("rule:"):
                m.rule_duration.labels(rule=stage[5:]).observe(ms / 1000.0)
        m.duration.observe(elapsed_ms / 1000.0)

    builtin = Engine(load_config(None))
    plugin = Engine(load_config(config))
    bodies = [scenes.scene_bytes(s, n, seed) for s in ("mix", "street", "stars") for n in (10, 100) for seed in (0, 1)]
    results = [builtin.validate_bytes(raw) for raw in bodies]
    small = make_body([box(0, 0, 2, 2, label="car"), box(5, 5, 50, 50, label="car")])
    results.append(plugin.validate(small))
    assert any(r.rule_failures for r in results) and any(r.budget_exhausted for r in results)
    assert any(r.passed for r in results) and not all(r.passed for r in results)
    # the measured times differ between the two runs: the same times on both sides, over every bucket (bounds
    # included, + Inf too)
    spread = [0.05, 0.1, 0.2, 0.25, 0.4, 0.9, 1.0, 2, 4, 9, 20, 40, 90, 200, 400, 900, 2000]
    for k, r in enumerate(results):
        r.stages_ms = {stage: spread[(k + j) % len(spread)] for j, stage in enumerate(r.stages_ms)}
    elapsed = [0.4 + 50 * k for k in range(len(results))]
    elapsed[-1] = 10 ** 6
    m = metrics.configure(800, _instances(builtin) + _instances(plugin))
    observe = m.observe_validation if mode == "fast" else (lambda r, e: reference(m, r, e))
    half = len(results) // 2
    for r, e in zip(results[:half], elapsed[:half]):
        observe(r, e)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the rest in a forked child, as a gunicorn worker
        pid = os.fork()
        if pid == 0:
            for r, e in zip(results[half:], elapsed[half:]):
                observe(r, e)
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
    else:
        for r, e in zip(results[half:], elapsed[half:]):
            observe(r, e)
    sys.stdout.write(m.render())
''')

PLUGIN_CONFIG = '''
[engine]
builtin_rules = "configured"
plugins = ["tests.plugins.engine_rules"]
time_budget_ms = 50

[[rule]]
id = "t_min_size"
name = "small_error"
level = "error"
options = { min_size = 10 }

[[rule]]
id = "t_raises"
level = "error"

[[rule]]
id = "t_sleeps"
level = "error"
options = { seconds = 0.2 }
'''


def _render(mode: str, tmp_path: Path, multiprocess: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    if multiprocess:
        folder = tmp_path / f"prom-{mode}"
        folder.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    config = tmp_path / "plugins.toml"
    config.write_text(PLUGIN_CONFIG)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(config)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("multiprocess", [True, False], ids=["multiprocess", "one-process"])
def test_observe_validation_records_what_one_call_per_event_records(tmp_path, multiprocess):
    fast = _render("fast", tmp_path, multiprocess)
    reference = _render("reference", tmp_path, multiprocess)
    assert "validator_rule_failures_total{rule=\"t_raises\"} 1.0" in reference
    assert "validator_budget_exhausted_total 1.0" in reference
    assert 'validator_request_duration_seconds_bucket{le="+Inf"}' in reference
    # the in-process registry also shows each series' creation time, which differs between the two runs
    def series(text):
        return sorted(line for line in text.splitlines() if line and not line.startswith("#")
                      and "_created" not in line)

    assert series(fast) == series(reference)
    assert len(series(fast)) > 300
