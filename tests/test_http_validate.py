"""POST /validate, /healthz, /readyz, /metrics, logs and graceful draining, over real HTTP against gunicorn started
from the Procfile's command (tests/support/servers.py).

Instances: the session ``service`` (default rules) for most tests; one per failure policy (a config that loads the
test plugin ``tests.plugins.engine_rules`` with a rule that raises and one that sleeps, scoped to projects); one
draining instance; one that must refuse to start.

Regenerate the golden answer with ``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_http_validate.py``.
"""
from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.servers import examples_dir, refused_start, start_service
from validator.scale.answer import answer_violations

EXAMPLES = sorted(examples_dir().glob("*.json"))
needs_examples = pytest.mark.skipif(not EXAMPLES, reason=f"example bodies not found in {examples_dir()}")
GOLDEN = Path(__file__).parent / "golden" / "answer_format.json"


def task(task_id: str, **extra) -> dict:
    out = {
        "task_id": task_id, "type": "imageannotation", "status": "pending", "project": "http-tests",
        "params": {"attachment": "https://example.com/image.jpg", "attachment_type": "image",
                   "geometries": {"box": {"objects_to_annotate": ["car", "person"], "min_width": 10,
                                          "min_height": 10},
                                  "point": {"objects_to_annotate": ["wheel"]}}},
        "metadata": {"image_width": 200, "image_height": 100},
    }
    out.update(extra)
    return out


def box(uuid, left=10, top=10, width=40, height=30, label="car", **kw) -> dict:
    return {"uuid": uuid, "type": "box", "label": label, "left": left, "top": top, "width": width,
            "height": height, "attributes": {}, **kw}


def body(task_id: str, annotations: list, **task_extra) -> dict:
    return {"task": task(task_id, **task_extra), "response": {"annotations": annotations}}


def post_ok(svc, payload) -> dict:
    r = svc.post(payload if isinstance(payload, (bytes, str)) else json.dumps(payload))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    answer = r.json()
    request_body = json.loads(payload) if isinstance(payload, (bytes, str)) else payload
    assert answer_violations(answer, request_body) == [], r.text
    return answer


def error_types(answer: dict, uuid: str | None = None) -> list[str]:
    items = answer["globalIssues"] if uuid is None else answer["issues"].get(uuid, [])
    return [i["errorType"] for i in items]


# -- the examples -----------------------------------------------------------------------------------------------

@needs_examples
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_pass_with_the_default_rules(service, path):
    answer = post_ok(service, path.read_bytes())
    assert answer == {"pass": True, "issues": {}, "globalIssues": []}


@needs_examples
def test_examples_are_answered_by_the_exact_format(service):
    r = service.post(EXAMPLES[0].read_bytes())
    assert r.content == b'{"pass":true,"issues":{},"globalIssues":[]}'
    assert r.headers["content-type"] == "application/json"


# -- malformed annotations: an issue on that annotation, the others still validated ----------------------------

MALFORMED = {
    # uuid -> annotation (or, for global issues, a key naming the case)
    "missing-coordinate": {"uuid": "missing-coordinate", "type": "box", "label": "car", "left": 1, "top": 1,
                           "width": 20},
    "text-coordinate": box("text-coordinate", left="12"),
    "null-coordinate": box("null-coordinate", top=None),
    "bool-coordinate": box("bool-coordinate", width=True),
    "text-point-coordinate": {"uuid": "text-point-coordinate", "type": "point", "label": "wheel", "x": 1, "y": "2"},
    "point-no-y": {"uuid": "point-no-y", "type": "point", "label": "wheel", "x": 1},
    "unknown-type": {"uuid": "unknown-type", "type": "circle", "label": "car", "x": 1, "y": 2, "r": 3},
    "no-type": {"uuid": "no-type", "label": "car", "left": 1, "top": 1, "width": 20, "height": 20},
    "no-label": {"uuid": "no-label", "type": "box", "left": 1, "top": 1, "width": 20, "height": 20},
    "attributes-not-object": box("attributes-not-object", attributes=["a"]),
}


def malformed_body(task_id: str) -> tuple[dict, bytes]:
    anns = [box("good-1"), *MALFORMED.values(),
            box("too-small", width=3),                           # still checked by box_too_small
            {"uuid": "nan-point", "type": "point", "label": "wheel", "x": "__NAN__", "y": 5},
            {"type": "box", "label": "car", "left": 1, "top": 1, "width": 20, "height": 20},   # no uuid
            {"uuid": 17, "type": "box", "label": "car", "left": 1, "top": 1, "width": 20, "height": 20},
            "not an object", None, 42, [1, 2],
            box("good-1", left=100),                             # duplicate uuid
            box("good-2", left=60)]
    b = body(task_id, anns)
    b["task"]["params"]["geometries"]["polygon"] = {"objects_to_annotate": ["car"]}
    anns.append({"uuid": "poly-vertices-not-list", "type": "polygon", "label": "car", "vertices": {"x": 1}})
    anns.append({"uuid": "poly-vertex-bool", "type": "polygon", "label": "car",
                 "vertices": [{"x": 1, "y": 1}, {"x": True, "y": 5}, {"x": 9, "y": 9}]})
    anns.append({"uuid": "poly-vertex-not-point", "type": "polygon", "label": "car",
                 "vertices": [{"x": 1, "y": 1}, [5, 5], {"x": 9, "y": 9}]})
    anns.append({"uuid": "poly-no-vertices", "type": "polygon", "label": "car"})
    raw = json.dumps(b).replace('"__NAN__"', "NaN").encode()
    return json.loads(raw), raw


def test_malformed_annotations_become_issues_and_others_are_still_validated(service):
    request_body, raw = malformed_body("t-malformed")
    answer = post_ok(service, raw)
    assert answer["pass"] is False
    for uuid in MALFORMED:
        assert error_types(answer, uuid) == ["malformed_annotation"], (uuid, answer["issues"].get(uuid))
    for uuid in ("poly-vertices-not-list", "poly-vertex-bool", "poly-vertex-not-point", "poly-no-vertices"):
        assert error_types(answer, uuid) == ["malformed_annotation"], uuid
    assert error_types(answer, "nan-point") == ["non_finite_coordinate"]
    # the duplicate uuid is reported on that uuid; the first annotation with it is still validated (and fine)
    assert error_types(answer, "good-1") == ["malformed_annotation"]
    assert "share the uuid" in answer["issues"]["good-1"][0]["extra"]
    # the valid annotations next to the malformed ones are still checked
    assert error_types(answer, "too-small") == ["box_too_small"]
    assert "good-2" not in answer["issues"]
    # no usable uuid (missing, a number, not an object): global issues, one each
    assert error_types(answer).count("malformed_annotation") == 6
    assert set(answer["issues"]) <= {a["uuid"] for a in request_body["response"]["annotations"]
                                      if isinstance(a, dict) and isinstance(a.get("uuid"), str)}
    # every issue says what is wrong in words
    for items in [*answer["issues"].values(), answer["globalIssues"]]:
        for issue in items:
            assert isinstance(issue.get("extra"), str) and issue["extra"].strip()


def test_a_too_small_box_is_flagged_with_its_location(service):
    answer = post_ok(service, body("t-small", [box("small", left=12, top=14, width=4, height=30), box("fine")]))
    assert answer["pass"] is False
    assert list(answer["issues"]) == ["small"]
    (issue,) = answer["issues"]["small"]
    assert issue["errorType"] == "box_too_small"
    assert issue["locations"] and all(set(loc) == {"x", "y"} for loc in issue["locations"])


# -- other task types --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task_type, response", [
    ("videoannotation", {"annotations": {"url": "https://example.com/annotations.json"}}),
    ("textcollection", {"fields": {"a": "b"}}),
    ("categorization", {"category": "x", "annotations": "not a list"}),
])
def test_other_task_types_pass_and_are_logged(service, task_type, response):
    task_id = f"t-other-{task_type}"
    payload = {"task": {"task_id": task_id, "type": task_type, "params": {"geometries": "whatever"}},
               "response": response}
    start = len(service.logs())
    r = service.post(json.dumps(payload))
    assert r.status_code == 200, r.text
    assert r.json() == {"pass": True, "issues": {}, "globalIssues": []}
    lines = validation_lines(service.logs_once(start, f'"msg":"validation","task_id":"{task_id}"'), task_id)
    assert len(lines) == 1
    assert lines[0]["task_type"] == task_type and lines[0]["pass"] is True
    assert any(task_type in s for s in lines[0]["skipped"])


# -- concurrency --------------------------------------------------------------------------------------------------

def concurrency_bodies() -> list[bytes]:
    out: list[bytes] = [p.read_bytes() for p in EXAMPLES]
    out.append(malformed_body("t-conc-malformed")[1])
    for i in range(6):
        out.append(json.dumps(body(f"t-conc-{i}", [box(f"b{j}", left=5 * j, width=3 + 2 * i) for j in range(8)]))
                   .encode())
    out += [b"not json", b"[]", b'{"task": {}}',
            b'{"task": {"type": "imageannotation"}, "response": {"annotations": 1}}']
    return out


def test_concurrent_requests_get_the_same_answers_as_sequential_ones(service):
    bodies = concurrency_bodies()
    requests_ = [bodies[i % len(bodies)] for i in range(32)]

    def call(raw: bytes) -> tuple[int, dict]:
        r = service.post(raw)
        return r.status_code, r.json()

    sequential = [call(raw) for raw in requests_]
    assert {s for s, _ in sequential} == {200, 400}
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(call, requests_))
    assert concurrent == sequential


# -- golden: the exact output format -------------------------------------------------------------------------------

def golden_body() -> bytes:
    anns = [
        box("b-ok", left=20, top=20, width=40, height=30),
        box("b-small", left=70, top=20, width=4, height=6),                    # box_too_small
        box("b-outside", left=180, top=80, width=50, height=40),               # outside_image (200x100)
        box("b-label", label="truck"),                                          # label_not_in_taxonomy
        {"uuid": "poly-1", "type": "polygon", "label": "car",                  # geometry_not_requested
         "vertices": [{"x": 1, "y": 1}, {"x": 30, "y": 1}, {"x": 30, "y": 30}]},
        {"uuid": "pt-nan", "type": "point", "label": "wheel", "x": "__NAN__", "y": 4},   # non_finite_coordinate
        {"uuid": "pt-ok", "type": "point", "label": "wheel", "x": 5, "y": 4},
        box("b-text", top="12"),                                                # malformed on the annotation
        {"type": "box", "label": "car", "left": 1, "top": 1, "width": 20, "height": 20},    # global: no uuid
        "oops",                                                                 # global: not an object
    ]
    return json.dumps(body("t-golden", anns)).replace('"__NAN__"', "NaN").encode()


def test_golden_answer_format(service):
    raw = golden_body()
    r = service.post(raw)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    answer = r.json()  # key order preserved: the golden file pins it too
    assert answer_violations(answer, json.loads(raw)) == []
    text = json.dumps(answer, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run with UPDATE_GOLDEN=1 to create it, then review it"
    assert text == GOLDEN.read_text(), ("the answer differs from the golden file; if the change is intended, "
                                        "rerun with UPDATE_GOLDEN=1 and review the diff")
    # the shape the golden file must keep showing
    assert list(answer) == ["pass", "issues", "globalIssues"]
    assert answer["pass"] is False
    assert list(answer["issues"])[0] == "b-small"  # uuids in request order
    kinds = {i["errorType"] for items in answer["issues"].values() for i in items}
    assert {"box_too_small", "label_not_in_taxonomy", "non_finite_coordinate", "malformed_annotation"} <= kinds
    assert any("locations" in i for items in answer["issues"].values() for i in items)
    assert len(answer["globalIssues"]) == 2


# -- health, readiness, metrics -------------------------------------------------------------------------------------

def test_healthz(service):
    r = requests.get(service.url + "/healthz", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"status": "ok"}


def test_readyz_when_ready(service):
    r = requests.get(service.url + "/readyz", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["status"] == "ready" and r.json()["rules"] > 0


def test_health_endpoints_need_no_key_and_reveal_none(service):
    for path in ("/healthz", "/readyz", "/metrics"):
        r = requests.get(service.url + path, timeout=10)
        assert r.status_code == 200
        for key in service.keys:
            assert key not in r.text


def test_metrics_count_validations(service):
    # The instance's counters (every worker's), whichever worker answers the scrape: tests/test_http_metrics.py
    post_ok(service, body("t-metrics", [box("m1", width=2)]))
    r = requests.get(service.url + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "# TYPE validator_request_duration_seconds histogram" in r.text
    assert 'validator_validations_total{verdict="fail"}' in r.text
    assert 'validator_issues_total{level="error",rule="box_too_small"}' in r.text
    assert "pid=" not in r.text


# -- logs ------------------------------------------------------------------------------------------------------------

def validation_lines(log_text: str, task_id: str) -> list[dict]:
    out = []
    for line in log_text.splitlines():
        if task_id not in line or not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("msg") == "validation" and record.get("task_id") == task_id:
            out.append(record)
    return out


def test_one_json_log_line_per_validation_without_secrets_headers_or_body(service):
    marker_body = "zq-body-content-7731"
    marker_header = "zq-header-value-5512"
    start = len(service.logs())
    payload = body("t-logs", [box("log-1", label="car", attributes={"note": marker_body}),
                              box("log-2", label=marker_body, width=2)],
                   metadata={"image_width": 200, "image_height": 100, "comment": marker_body})
    r = service.post(json.dumps(payload), headers={"x-request-note": marker_header, "user-agent": marker_header})
    assert r.status_code == 200
    assert marker_body in r.text  # the labeler sees the unknown label in the feedback...
    r2 = service.post(json.dumps(payload), key="wrong-" + marker_header)
    assert r2.status_code == 401
    r3 = service.post(b'{"' + marker_body.encode() + b'": ', headers={"x-request-note": marker_header})
    assert r3.status_code == 400
    # the access log line is written just after each answer: wait for all three, so they are checked too
    deadline = time.monotonic() + 10
    while service.logs()[start:].count('"logger":"access"') < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    logs = service.logs_once(start, '"msg":"validation","task_id":"t-logs"')
    assert logs.count('"logger":"access"') >= 3
    (line,) = validation_lines(logs, "t-logs")
    assert line["level"] == "info" and line["pass"] is False
    assert line["annotations"] == 2
    assert line["issues"]["error"] >= 2
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert set(line["by_rule"]) >= {"box_too_small:error", "label_not_in_taxonomy:error"}
    # ...but nothing of the body, the headers or the keys reaches the logs
    assert marker_body not in logs
    assert marker_header not in logs
    for key in service.keys:
        assert key not in logs
    # exactly one validation line per validated request: the 401 and the 400 are not validations
    assert sum(1 for ln in logs.splitlines() if '"msg":"validation"' in ln) == 1


def test_every_log_line_is_json_even_when_numpy_warns(service):
    # Absurd but finite coordinates make numpy/shapely overflow (RuntimeWarning). The warning must reach the
    # logs as a JSON record, not as raw text on stderr. Only gunicorn's own lifecycle lines are plain text.
    from validator.testing import box as box_, ellipse, line, make_body, point, polygon

    h = 1e300
    payload = make_body([polygon([(0, 0), (h, 0), (0, h)]), polygon([(-h, -h), (h, h), (h, -h), (-h, h)]),
                         line([(-h, 0), (h, 0)]), point(h, h), ellipse(0, 0, h, h),
                         box_(-h, -h, h, h, rotation=0.3)])
    start = len(service.logs())
    for _ in range(2):  # both workers
        post_ok(service, payload)
    deadline = time.monotonic() + 10
    while service.logs()[start:].count('"logger":"access"') < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    for ln in service.logs()[start:].splitlines():
        if ln.startswith("[") and "] [" in ln:  # gunicorn: "[date] [pid] [LEVEL] message"
            continue
        assert isinstance(json.loads(ln), dict), ln


def test_unknown_image_size_skips_rules_that_need_it_and_says_so(service):
    payload = body("t-nosize", [box("far", left=5000, top=5000)], metadata={})
    start = len(service.logs())
    answer = post_ok(service, payload)
    assert answer == {"pass": True, "issues": {}, "globalIssues": []}  # outside_image could not run
    logs = service.logs_once(start, '"msg":"validation","task_id":"t-nosize"')
    assert "image size unknown" in logs
    (line,) = validation_lines(logs, "t-nosize")
    assert any("outside_image" in s and "image size unknown" in s for s in line["skipped"])
    # with the size in the metadata the same box is flagged
    answer = post_ok(service, body("t-withsize", [box("far", left=5000, top=5000)]))
    assert error_types(answer, "far") == ["outside_image"]


# -- failure policy: a rule that raises or runs out of time never becomes a 5xx ----------------------------------

POLICY_CONFIG = """
[engine]
failure_policy = "{policy}"
time_budget_ms = 300
builtin_rules = "configured"
plugins = ["tests.plugins.engine_rules"]

[[rule]]
id = "malformed_annotation"

[[rule]]
id = "box_too_small"

[[rule]]
id = "outside_image"

[[rule]]
id = "t_raises"
projects = ["buggy"]

[[rule]]
id = "t_sleeps"
projects = ["slow"]
options = {{ seconds = 20 }}

[projects."fixed-size"]
image_width = 100
image_height = 50
"""


@pytest.fixture(scope="module", params=["open", "closed"])
def policy_service(request, tmp_path_factory):
    policy = request.param
    svc = start_service(tmp_path_factory.mktemp(f"policy-{policy}"), config_text=POLICY_CONFIG.format(policy=policy))
    svc.policy = policy
    yield svc
    svc.stop()


def test_a_raising_rule_is_answered_by_the_failure_policy(policy_service):
    svc = policy_service
    start = len(svc.logs())
    answer = post_ok(svc, body("t-buggy", [box("small", width=2), box("fine")], project="buggy"))
    assert error_types(answer, "small") == ["box_too_small"]  # the other rules still ran
    assert "fine" not in answer["issues"]
    if svc.policy == "open":
        assert answer["pass"] is False and answer["globalIssues"] == []
        assert "partial issue" not in json.dumps(answer)
    else:
        assert answer["pass"] is False
        assert error_types(answer) == ["validation_incomplete"]
    assert "secret internal detail" not in json.dumps(answer) and "Traceback" not in json.dumps(answer)
    logs = svc.logs_once(start, '"msg":"validation","task_id":"t-buggy"')
    assert '"msg":"rule failed"' in logs and "t_raises" in logs  # the bug is logged server-side
    (line,) = validation_lines(logs, "t-buggy")
    assert line["rule_failures"] == ["t_raises"]


def test_a_raising_rule_with_nothing_else_wrong(policy_service):
    answer = post_ok(policy_service, body("t-buggy-2", [box("fine")], project="buggy"))
    if policy_service.policy == "open":
        assert answer == {"pass": True, "issues": {}, "globalIssues": []}
    else:
        assert answer["pass"] is False and error_types(answer) == ["validation_incomplete"]


def test_the_time_budget_answers_before_a_slow_rule_ends(policy_service):
    started = time.monotonic()
    answer = post_ok(policy_service, body("t-slow", [box("fine")], project="slow"))
    assert time.monotonic() - started < 15  # the rule sleeps 20 s: we answered well before it would have ended
    # work cut by the budget is never a pass, whatever the failure policy (that is for rules that crash)
    assert answer["pass"] is False and error_types(answer) == ["validation_incomplete"]
    # the worker is still healthy afterwards
    assert post_ok(policy_service, body("t-after-slow", [box("fine")]))["pass"] is True


def test_per_project_image_size(policy_service):
    payload = body("t-project-size", [box("wide", left=10, top=10, width=150, height=20)], project="fixed-size",
                   metadata={})
    assert error_types(post_ok(policy_service, payload), "wide") == ["outside_image"]


# -- start-up errors through gunicorn ---------------------------------------------------------------------------------

def test_unknown_rule_id_stops_gunicorn_with_a_did_you_mean(tmp_path):
    out = refused_start(tmp_path, "an unknown rule id in its config",
                        config_text='[[rule]]\nid = "box_to_small"\nlevel = "warn"\n')
    assert "refusing to start" in out
    assert "rule[1].id" in out and "box_to_small" in out
    assert "did you mean 'box_too_small'" in out
    assert "Booting worker" not in out  # stopped in the master, before any worker forked


@pytest.mark.parametrize("config_text, expected", [
    ('[engine]\nplugins = ["tests.plugins.broken_import"]\n', ["tests.plugins.broken_import", "failed to import"]),
    ('[engine\nfailure_policy = "open"\n', ["not valid TOML"]),
    ('[engine]\nfailure_policy = "sometimes"\n[[rule]]\nid = "box_too_small"\noptions = { min_widht = 3 }\n',
     ["engine.failure_policy", "'sometimes'", "min_widht", "2 problems"]),
], ids=["plugin-does-not-import", "invalid-toml", "every-problem-at-once"])
def test_bad_config_stops_gunicorn_with_the_message(tmp_path, config_text, expected):
    out = refused_start(tmp_path, "an invalid config", config_text=config_text)
    assert "refusing to start" in out
    for text in expected:
        assert text in out, (text, out)
    assert "Booting worker" not in out


def test_missing_config_file_stops_gunicorn(tmp_path):
    out = refused_start(tmp_path, "a missing config file", env={"VALIDATOR_CONFIG": str(tmp_path / "nope.toml")})
    assert "config file not found" in out


@pytest.mark.parametrize("name, value", [
    ("WEB_CONCURRENCY", "0"),             # gunicorn would run a master with no worker: up, answering nothing
    ("GUNICORN_TIMEOUT", "0"),            # gunicorn reads 0 as "no timeout": a stuck worker would never be killed
    ("GUNICORN_TIMEOUT", "soon"),
    ("GUNICORN_GRACEFUL_TIMEOUT", "0"),   # not longer than the drain: workers killed while draining
    ("VALIDATOR_DRAIN_SECONDS", "forever"),
    ("VALIDATOR_MAX_BODY_BYTES", "16MB"),
    ("VALIDATOR_LOG_LEVEL", "LOUD"),
])
def test_invalid_settings_stop_gunicorn_with_one_line(tmp_path, name, value):
    out = refused_start(tmp_path, f"{name}={value}", env={name: value})
    assert name in out and value in out
    assert "Booting worker" not in out


# -- draining on SIGTERM -----------------------------------------------------------------------------------------------

def test_readyz_turns_503_while_draining_and_the_process_exits_0(tmp_path):
    svc = start_service(tmp_path, env={"VALIDATOR_DRAIN_SECONDS": "3"}, workers=1)
    try:
        assert requests.get(svc.url + "/readyz", timeout=5).status_code == 200
        svc.proc.send_signal(signal.SIGTERM)  # the gunicorn master, as a platform does on shutdown
        signalled = time.monotonic()
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            status = requests.get(svc.url + "/readyz", timeout=5).status_code
            if status == 503:
                break
            time.sleep(0.05)
        assert status == 503, "readyz never turned 503 after SIGTERM"
        r = requests.get(svc.url + "/readyz", timeout=5)
        assert r.headers["content-type"] == "application/json" and r.json() == {"status": "draining"}
        # still serving validations while the load balancer takes us out of rotation
        answer = post_ok(svc, body("t-drain", [box("small", width=2)]))
        assert error_types(answer, "small") == ["box_too_small"]
        assert requests.get(svc.url + "/healthz", timeout=5).status_code == 200
        assert svc.proc.wait(timeout=30) == 0
        # Generous bound: a worker that is not woken after the drain lingers in select() for GUNICORN_TIMEOUT / 2
        # (15 s) more, i.e. exits after 18 s; with the wake-up it exits shortly after the 3 s drain.
        assert time.monotonic() - signalled < 12
    finally:
        svc.stop(signal.SIGKILL)
    assert "draining" in svc.logs()
