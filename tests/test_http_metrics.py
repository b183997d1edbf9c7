"""/metrics shows the whole instance: prometheus_client's multiprocess mode under real gunicorn with several workers.

Successive scrapes after N validations must each sum to N, whichever worker answers, also after a worker was
killed and replaced; the series that can be known in advance exist at zero; no pid label; the directory is on
/dev/shm, emptied at start and removed at exit.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import start_service
from validator.service.metrics import REJECT_REASONS
from validator.testing import box, make_body, make_task

WORKERS = 3


def scrape(svc) -> dict[str, list]:
    r = requests.get(svc.url + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = {f.name: f.samples for f in text_string_to_metric_families(r.text)}
    return families


def value(families, name: str, **labels) -> float:
    family = name.removesuffix("_total").removesuffix("_count").removesuffix("_sum").removesuffix("_bucket")
    return sum(s.value for s in families[family] if s.name == name
               and all(s.labels.get(k) == v for k, v in labels.items()))


def worker_pids(svc) -> list[int]:
    path = Path(f"/proc/{svc.proc.pid}/task/{svc.proc.pid}/children")
    return [int(p) for p in path.read_text().split()]


def wait_workers(svc, count: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(svc)
        if len(pids) == count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"expected {count} workers, have {worker_pids(svc)}")


def settle(svc, total: float, timeout: float = 10) -> None:
    """Wait until the scraped validation count reaches ``total``. A request's counters are written just after its
    answer is sent (the accounting is off the latency path), so the last request's may still be landing when its
    client already has the answer; once they are in, every scrape must agree exactly."""
    deadline = time.monotonic() + timeout
    while value(scrape(svc), "validator_validations_total") < total and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    svc = start_service(tmp_path_factory.mktemp("metrics"), workers=WORKERS)
    wait_workers(svc, WORKERS)
    yield svc
    svc.stop()


def test_every_scrape_sums_all_workers(instance):
    svc = instance
    before = scrape(svc)
    assert value(before, "validator_validations_total") == 0
    passing = make_body([box(0, 0, 50, 50, label="car")])
    failing = make_body([box(0, 0, 2, 2, label="car")], task=make_task(box={"min_width": 10, "min_height": 10}))
    n_pass, n_fail = 13, 17
    for n in range(n_pass + n_fail):
        r = svc.post(passing if n < n_pass else failing)
        assert r.status_code == 200, r.text
    settle(svc, n_pass + n_fail)
    for _ in range(4 * WORKERS):  # several scrapes: they land on different workers
        families = scrape(svc)
        assert value(families, "validator_validations_total", verdict="pass") == n_pass
        assert value(families, "validator_validations_total", verdict="fail") == n_fail
        assert value(families, "validator_request_duration_seconds_count") == n_pass + n_fail
        assert value(families, "validator_issues_total", rule="box_too_small", level="error") == n_fail
        assert value(families, "validator_rule_duration_seconds_count", rule="box_too_small") == n_pass + n_fail


def test_counters_survive_a_killed_worker(instance):
    svc = instance
    total = value(scrape(svc), "validator_validations_total")
    for _ in range(6):
        assert svc.post(make_body([box(0, 0, 50, 50)])).status_code == 200
    settle(svc, total + 6)  # the six are counted before a worker dies, or the test would kill an uncounted one
    victim = worker_pids(svc)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (victim in worker_pids(svc) or len(worker_pids(svc)) < WORKERS) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert victim not in worker_pids(svc)
    for _ in range(2 * WORKERS):
        assert value(scrape(svc), "validator_validations_total") == total + 6


def test_series_exist_at_zero_with_conventional_names_and_no_pid(instance):
    families = scrape(instance)
    for reason in REJECT_REASONS:
        assert any(s.labels == {"reason": reason} for s in families["validator_requests_rejected"]), reason
    assert any(s.name == "validator_budget_exhausted_total" for s in families["validator_budget_exhausted"])
    assert any(s.name == "validator_internal_errors_total" for s in families["validator_internal_errors"])
    # every configured instance has its failure counter and its time histogram before it ever ran or failed
    failures = {s.labels["rule"] for s in families["validator_rule_failures"]}
    assert {"box_too_small", "outside_image", "label_not_in_taxonomy"} <= failures
    timed = {s.labels["rule"] for s in families["validator_rule_duration_seconds"]}
    assert failures <= timed
    (info,) = [s for s in families["validator_build_info"] if s.name == "validator_build_info"]
    assert info.value == 1 and set(info.labels) == {"version", "python", "gunicorn"}
    buckets = sorted(float(s.labels["le"]) for s in families["validator_request_duration_seconds"]
                     if s.name.endswith("_bucket"))
    assert buckets[0] == 0.0005 and 0.8 in buckets and any(0.8 < b < float("inf") for b in buckets)
    for samples in families.values():
        for s in samples:
            assert "pid" not in s.labels, s
    assert not any(name.endswith("_ms") for name in families)


def test_rejections_are_counted_by_reason(instance):
    svc = instance
    before = scrape(svc)
    assert svc.post(make_body([box(0, 0, 50, 50)]), key="wrong").status_code == 401
    assert svc.post(b'{"task": ').status_code == 400
    assert requests.get(svc.url + "/nowhere", timeout=10).status_code == 404
    assert requests.get(svc.url + "/validate", timeout=10).status_code == 405
    after = scrape(svc)
    for reason in ("auth", "bad_body", "not_found", "method_not_allowed"):
        assert (value(after, "validator_requests_rejected_total", reason=reason)
                == value(before, "validator_requests_rejected_total", reason=reason) + 1), reason


def test_the_directory_is_on_memory_emptied_at_start_and_removed_at_exit(tmp_path):
    svc = start_service(tmp_path, workers=2)
    try:
        svc.post(make_body([box(0, 0, 50, 50)]))
        line = next(json.loads(ln) for ln in svc.logs().splitlines() if '"validator serving"' in ln)
        made = Path(line["metrics_dir"])
        if Path("/dev/shm").is_dir():
            assert made.parent == Path("/dev/shm")
        assert list(made.glob("*.db"))
    finally:
        assert svc.stop() == 0
    assert not made.exists()
    # an operator's directory: emptied at start, so a previous run's counters are not summed in
    given = tmp_path / "metrics"
    first = start_service(tmp_path, workers=1, env={"PROMETHEUS_MULTIPROC_DIR": str(given)})
    try:
        for _ in range(3):
            first.post(make_body([box(0, 0, 50, 50)]))
        assert value(scrape(first), "validator_validations_total") == 3
    finally:
        first.stop()
    assert list(given.glob("*.db"))  # left behind by the first run
    second = start_service(tmp_path, workers=1, env={"PROMETHEUS_MULTIPROC_DIR": str(given)})
    try:
        assert value(scrape(second), "validator_validations_total") == 0
    finally:
        second.stop()
