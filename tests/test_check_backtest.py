"""`validator check` for backtests: Scale task objects and exports, stdin, --compare, --quiet / --failures-only,
the progress line, and instances that never matched anything (issue 15)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import examples_dir
from validator.cli.check import run_check
from validator.cli.inputs import iter_inputs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_NAMES = ("01_boxes_attributes_nesting.json", "02_rotated_boxes.json", "03_polygon_line_point_padding.json",
                 "04_cuboids.json", "05_ellipse_links_hypothesis.json")


def bodies() -> list[dict]:
    return [json.loads((examples_dir() / name).read_bytes()) for name in EXAMPLE_NAMES]


def as_task(body: dict, **changes) -> dict:
    """A task object as Scale's task API returns it: the task with its response inside."""
    task = json.loads(json.dumps(body["task"]))
    task["response"] = json.loads(json.dumps(body["response"]))
    task["status"] = "completed"
    task["completed_at"] = "2026-11-20T10:00:00.000Z"
    task.update(changes)
    return task


def broken(task: dict, task_id: str) -> dict:
    """One malformed box (left is not a number): an error-level issue on that annotation."""
    task = json.loads(json.dumps(task))
    task["task_id"] = task_id
    annotations = task["response"]["annotations"] if "response" in task else task["annotations"]
    annotations[0]["left"] = "abc"
    return task


def run(argv: list[str], *, stdin: bytes | None = None, env: dict | None = None, timeout: float = 120):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "validator", "check", *argv], cwd=ROOT, env=full_env,
                          input=stdin, capture_output=True, timeout=timeout)


def text_of(proc) -> tuple[str, str]:
    return proc.stdout.decode(), proc.stderr.decode()


# -- task objects, exports, arrays --------------------------------------------------------------------------------

def test_task_objects_in_a_json_array_mixed_with_bodies_and_jsonl(tmp_path):
    b = bodies()
    export = [as_task(x) for x in b] + [broken(as_task(b[0]), "bad-1"),
                                        {"task_id": "cat-1", "type": "categorization", "status": "completed",
                                         "response": {"category": "dog"}},
                                        as_task(b[1], task_id="pending-1", status="pending", response=None)]
    (tmp_path / "export.json").write_text(json.dumps(export, indent=2))
    (tmp_path / "bodies.jsonl").write_text("\n".join(json.dumps(x) for x in b[:2]) + "\n"
                                           + json.dumps(as_task(b[2])) + "\n")
    (tmp_path / "one_task.json").write_text(json.dumps(as_task(b[3])))
    proc = run([str(tmp_path), "-j", "1"])
    out, err = text_of(proc)
    assert proc.returncode == 1, err
    export_path = tmp_path / "export.json"
    assert f"FAIL  {export_path}[5]  task bad-1" in out
    assert "malformed_annotation: The box's left is not a number ('abc')." in out
    assert f"SKIPPED  {export_path}[6]  task cat-1: task type 'categorization' is not checked" in out
    assert f"SKIPPED  {export_path}[7]  task pending-1: no response (task status 'pending')" in out
    assert f"PASS  {tmp_path / 'bodies.jsonl'}:3  task {b[2]['task']['task_id']}" in out  # a task object on a line
    assert f"PASS  {tmp_path / 'one_task.json'}  task {b[3]['task']['task_id']}" in out
    assert "Summary: 10 tasks checked, 1 failed, 9 passed, 2 skipped" in out
    assert "skipped 1: task type 'categorization' is not checked" in out
    assert err == "" and "Traceback" not in out


def test_task_object_gives_the_same_verdict_as_its_body(tmp_path):
    """A task exported from Scale and the {task, response} body Scale would POST for it are checked alike."""
    b = broken(as_task(bodies()[0]), "same-1")
    body = {"task": {k: v for k, v in b.items() if k != "response"}, "response": b["response"]}
    (tmp_path / "a.jsonl").write_text(json.dumps(b) + "\n" + json.dumps(body) + "\n")
    out = io.StringIO()
    assert run_check([str(tmp_path / "a.jsonl")], fmt="json", out=out) == 1
    first, second, _ = [json.loads(x) for x in out.getvalue().splitlines()]
    assert (first["input"], second["input"]) == ("task", "body")
    assert first["answer"] == second["answer"] and first["issues"] == second["issues"]


def test_export_with_a_broken_line_names_the_line_and_checks_the_rest(tmp_path):
    b = bodies()
    lines = [json.dumps(as_task(b[0])), json.dumps(as_task(b[1]))[:200],
             "[" + json.dumps(as_task(b[1]))[:300], json.dumps(as_task(b[2])),
             json.dumps({"hello": "world"}), "42"]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n")
    proc = run([str(path), "-j", "1"])
    out, err = text_of(proc)
    assert proc.returncode == 1 and err == ""
    assert f"INVALID  {path}:2: body is not valid JSON" in out
    assert f"INVALID  {path}:3[0]: not a valid JSON array: the array ends before its closing ']'" in out
    assert f"INVALID  {path}:5: not a {{task, response}} body ('task' is missing) nor a Scale task object" in out
    assert f"INVALID  {path}:6: not a JSON object but int" in out
    assert out.count("PASS  ") == 2
    assert "Summary: 2 tasks checked, 0 failed, 2 passed, 4 not valid" in out
    assert "Traceback" not in out


def test_truncated_json_array_export(tmp_path):
    b = bodies()
    text = json.dumps([as_task(b[0]), as_task(b[1])], indent=1)
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) * 3 // 4])  # the second element is cut off
    proc = run([str(path), "-j", "1"])
    out, _ = text_of(proc)
    assert proc.returncode == 1
    assert f"PASS  {path}[0]" in out
    assert f"INVALID  {path}[1]: not a valid JSON array: the array ends before its closing ']' (a truncated file?)" \
        in out


def test_array_reader_keeps_memory_to_one_element(tmp_path):
    """Elements are read one at a time: the reader never holds more than one element (plus a read chunk)."""
    from validator.cli import inputs

    one = json.dumps(as_task(bodies()[0]))
    path = tmp_path / "big.json"
    path.write_text("[" + ",\n".join([one] * 300) + "]")
    held = []
    for item in inputs.iter_inputs([path]):
        held.append(len(item.data))
    assert len(held) == 300 and max(held) == len(one.encode())


# -- stdin ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["jsonl", "pretty-object", "pretty-array", "one-line-array"])
def test_stdin_takes_json_lines_or_one_document(shape):
    b = bodies()
    tasks = [as_task(b[0]), broken(as_task(b[1]), "bad-stdin")]
    data = {
        "jsonl": "\n".join(json.dumps(t) for t in tasks) + "\n",
        "pretty-object": json.dumps(tasks[1], indent=2),
        "pretty-array": json.dumps(tasks, indent=2),
        "one-line-array": json.dumps(tasks),
    }[shape].encode()
    proc = run(["-", "-j", "1"], stdin=data)
    out, err = text_of(proc)
    assert proc.returncode == 1, err
    assert "task bad-stdin" in out and "FAIL  <stdin>" in out
    expected = 1 if shape == "pretty-object" else 2
    assert f"Summary: {expected} task{'s' if expected > 1 else ''} checked, 1 failed" in out


def test_stdin_json_lines_with_a_broken_first_line_loses_no_good_line():
    b = bodies()
    data = ("{\"task\": {\n" + json.dumps(as_task(b[0])) + "\n" + json.dumps(as_task(b[1])) + "\n").encode()
    proc = run(["-", "-j", "1"], stdin=data)
    out, _ = text_of(proc)
    assert "INVALID  <stdin>:1: body is not valid JSON" in out
    assert "PASS  <stdin>:2" in out and "PASS  <stdin>:3" in out


# -- long runs: --quiet, --failures-only, progress --------------------------------------------------------------

def _mixed_export(tmp_path) -> Path:
    b = bodies()
    tasks = [broken(as_task(b[0]), "bad-q")] + [as_task(b[i % 5], task_id=f"ok-{i}") for i in range(12)]
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(json.dumps(t) for t in tasks) + "\n{broken\n")
    return path


def test_quiet_prints_the_summary_only(tmp_path):
    path = _mixed_export(tmp_path)
    proc = run([str(path), "-j", "1", "--quiet"])
    out, _ = text_of(proc)
    assert proc.returncode == 1
    assert "PASS" not in out and "FAIL  " not in out and "INVALID" not in out
    assert out.lstrip().startswith("Summary: 13 tasks checked, 1 failed, 12 passed, 1 not valid")


def test_failures_only_drops_passing_tasks(tmp_path):
    path = _mixed_export(tmp_path)
    for fmt in ("text", "json"):
        proc = run([str(path), "-j", "1", "--failures-only", "--format", fmt])
        out, _ = text_of(proc)
        if fmt == "text":
            assert "PASS  " not in out and "FAIL  " in out and f"INVALID  {path}:14" in out
        else:
            records = [json.loads(x) for x in out.splitlines()]
            assert [r["kind"] for r in records] == ["task", "error", "summary"]
            assert records[0]["task_id"] == "bad-q" and records[-1]["tasks"] == 13


def test_progress_line_on_a_terminal_only(tmp_path):
    """Through a real pseudo-terminal: stderr shows tasks/s and failures; a pipe gets no progress at all."""
    import pty
    import select

    path = _mixed_export(tmp_path)
    piped = run([str(path), "-j", "1"])
    assert piped.stderr == b""
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    proc = subprocess.Popen([sys.executable, "-m", "validator", "check", str(path), "-j", "1", "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=child)
    os.close(child)
    seen = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
    proc.wait(timeout=60)
    os.close(main)
    assert b"tasks/s" in seen and b"1 failed" in seen  # drawn on the first task (the failing one), then every 0.2 s
    assert seen.endswith(b"\r\x1b[K")  # the line is cleared before the summary
    assert b"Summary:" in proc.stdout.read()


def test_progress_counts_against_the_known_total():
    from validator.cli.check import Progress, Summary

    stream = io.StringIO()
    bar = Progress(stream, total=lambda: 40)
    s = Summary(tasks=10, failed=3)
    bar.update(s, force=True)
    assert "10/40" in stream.getvalue() and "3 failed" in stream.getvalue() and "tasks/s" in stream.getvalue()


# -- compare ----------------------------------------------------------------------------------------------------------

PROMOTE = """
[[rule]]
id = "malformed_annotation"
level = "warn"

[[rule]]
id = "box_too_small"
level = "error"
options = { min_width = 30, min_height = 30 }
"""


def test_compare_reports_verdict_changes_and_issues_per_instance(tmp_path):
    b = bodies()
    tasks = [as_task(x) for x in b] + [broken(as_task(b[0]), "bad-c")]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(t) for t in tasks) + "\n")
    other = tmp_path / "candidate.toml"
    other.write_text(PROMOTE)
    proc = run([str(path), "-j", "1", "--compare", str(other)])
    out, err = text_of(proc)
    assert err == "" and proc.returncode == 1  # the exit status is the run's own config's
    assert f"FAIL -> PASS  {path}:6  task bad-c" in out
    assert "~ [error -> warn]  annotation" in out
    summary = out.split("Compare: ")[1]
    assert f"built-in defaults -> {other} on 6 tasks" in summary
    assert "fail -> pass: bad-c" in summary
    proc_json = run([str(path), "-j", "1", "--compare", str(other), "--format", "json"])
    records = [json.loads(x) for x in proc_json.stdout.decode().splitlines()]
    cmp = records[-1]["compare"]
    assert cmp["fail_to_pass"] == {"count": 1, "tasks": ["bad-c"]}
    by_instance = {r["instance"]: r for r in cmp["instances"]}
    assert by_instance["malformed_annotation"]["level_changed"] == 1
    # box_too_small (min 30 px) flags boxes of the examples: each task it turns to fail is listed by id
    added = by_instance.get("box_too_small", {}).get("issues_added", 0)
    changed_to_fail = [r["task_id"] for r in records[:-1] if r["pass"] and not r["compare"]["pass"]]
    assert cmp["pass_to_fail"]["tasks"] == changed_to_fail
    assert (added > 0) == bool(changed_to_fail)
    for r in records[:-1]:
        assert "added" in r["compare"] and "removed" in r["compare"]


def test_compare_issues_added_and_removed(tmp_path):
    """A rule turned off in the other config: its issues are 'removed'; a new instance's issues are 'added'."""
    from validator.cli.check import diff_issues

    a = [{"rule": "r", "instance": "x", "level": "error", "uuid": "u1", "errorType": "e", "extra": "t",
          "locations": [{"x": 1, "y": 2}]}]
    b = [{"rule": "s", "instance": "y", "level": "warn", "uuid": "u1", "errorType": "f", "extra": None,
          "locations": []}, dict(a[0], level="shadow")]
    added, removed, relevel = diff_issues(a, b)
    assert [i["instance"] for i in added] == ["y"] and removed == [] and [p[1]["level"] for p in relevel] == ["shadow"]
    added, removed, relevel = diff_issues(b, a)
    assert added == [] and [i["instance"] for i in removed] == ["y"]
    added, removed, _ = diff_issues(a, [dict(a[0], locations=[{"x": 1, "y": 3}])])
    assert len(added) == len(removed) == 1  # a moved location is a different issue


def test_compare_with_a_bad_other_config_is_exit_2(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(bodies()[0]))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "box_to_small"\n')
    proc = run([str(tmp_path / "a.json"), "--compare", str(bad)])
    out, err = text_of(proc)
    assert proc.returncode == 2 and out == ""
    assert err.startswith("validator: ") and "box_to_small" in err and "Traceback" not in err


# -- never matched (issue 15) ---------------------------------------------------------------------------------------

TYPO = """
[[rule]]
id = "box_too_small"
name = "car_min_size"
labels = ["cra"]

[[rule]]
id = "box_too_small"
name = "trial_only"
projects = ["acme-street-scense"]

[projects."nobody-uses-this"]
image_width = 100
image_height = 100
"""


def test_instances_whose_labels_or_project_never_matched_are_reported(tmp_path):
    b = bodies()
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(as_task(x)) for x in b) + "\n")
    config = tmp_path / "typo.toml"
    config.write_text(TYPO)
    proc = run([str(path), "-j", "1", "--config", str(config), "--quiet"])
    out, _ = text_of(proc)
    section = out.split("Never matched")[1]
    assert "instance car_min_size: labels ['cra'] on box/cuboid matched no annotation in the 5 tasks it applies to; " \
           "did you mean 'car'?" in section
    project = b[0]["task"]["project"]
    assert "instance trial_only: projects ['acme-street-scense'] matched none of the 5 tasks" in section
    assert f"did you mean '{project}'?" in section
    assert "[projects.\"nobody-uses-this\"] matched none of the 5 tasks" in section
    proc_json = run([str(path), "-j", "1", "--config", str(config), "--format", "json", "--quiet"])
    summary = json.loads(proc_json.stdout.decode().splitlines()[-1])
    assert {e["instance"] for e in summary["never_matched"]} == {"car_min_size", "trial_only", None}


def test_a_matching_scope_is_not_reported(tmp_path):
    b = bodies()
    labels = {a["label"] for a in b[0]["response"]["annotations"] if a["type"] == "box"}
    config = tmp_path / "ok.toml"
    config.write_text(f'[[rule]]\nid = "box_too_small"\nlabels = {json.dumps(sorted(labels))}\n'
                      f'projects = ["{b[0]["task"]["project"]}"]\n')
    (tmp_path / "a.json").write_text(json.dumps(b[0]))
    proc = run([str(tmp_path / "a.json"), "--config", str(config)])
    assert "Never matched" not in proc.stdout.decode()


def test_iter_inputs_reports_array_elements_by_index(tmp_path):
    (tmp_path / "a.json").write_text('[{"x": 1}, {"y": [1, "]", {"z": "\\\\"}]}]')
    items = list(iter_inputs([tmp_path / "a.json"]))
    assert [i.where for i in items] == [f"{tmp_path / 'a.json'}[0]", f"{tmp_path / 'a.json'}[1]"]
    assert json.loads(items[1].data) == {"y": [1, "]", {"z": "\\"}]}


def test_a_body_of_another_task_type_is_skipped_not_passed(tmp_path):
    body = {"task": {"task_id": "vid-1", "type": "videoannotation", "status": "pending", "params": {}},
            "response": {"annotations": {"url": "https://example.invalid/a.json"}}}
    (tmp_path / "v.json").write_text(json.dumps(body))
    proc = run([str(tmp_path / "v.json")])
    out, _ = text_of(proc)
    assert proc.returncode == 0
    assert f"SKIPPED  {tmp_path / 'v.json'}  task vid-1: task type 'videoannotation' is not checked" in out
    assert "Summary: 0 tasks checked, 0 failed, 0 passed, 1 skipped" in out


def test_exports_with_a_byte_order_mark(tmp_path):
    b = bodies()
    bom = b"\xef\xbb\xbf"
    (tmp_path / "a.json").write_bytes(bom + json.dumps([as_task(b[0]), as_task(b[1])]).encode())
    (tmp_path / "b.jsonl").write_bytes(bom + (json.dumps(as_task(b[2])) + "\n").encode())
    (tmp_path / "c.json").write_bytes(bom + json.dumps(b[3]).encode())
    proc = run([str(tmp_path), "-j", "1"])
    out, _ = text_of(proc)
    assert proc.returncode == 0, out
    assert "Summary: 4 tasks checked, 0 failed, 4 passed" in out
    proc = run(["-", "-j", "1"], stdin=bom + json.dumps(as_task(b[0]), indent=1).encode())
    assert "Summary: 1 task checked, 0 failed, 1 passed" in proc.stdout.decode()
