"""`validator check`: the service's engine in-process on saved bodies (files, directories, JSON Lines)."""

from __future__ import annotations

import argparse
import io
import json
import math
from concurrent.futures import Future
from pathlib import Path

import pytest

from tests.support.servers import examples_dir
from validator.cli import check as check_cmd
from validator.cli.check import chunked, ordered_map, run_check
from validator.cli.inputs import InputItem, iter_inputs

EXAMPLES = examples_dir()  # ../shared/examples beside the repo, else the repo's copy
needs_examples = pytest.mark.skipif(not any(EXAMPLES.glob("*.json")),
                                    reason=f"example bodies not found at {EXAMPLES} (shared/ beside the repo)")

LEVELS_CONFIG = """
[[rule]]
id = "malformed_annotation"
name = "malformed_shadow"
level = "shadow"

[[rule]]
id = "non_finite_coordinate"
level = "warn"
"""


def example_paths() -> list[str]:
    """The well-formed example bodies (examples/failing/ and examples/batch.jsonl hold failing ones)."""
    return [str(p) for p in sorted(EXAMPLES.glob("*.json"))]


def example_bodies() -> list[dict]:
    return [json.loads(p.read_bytes()) for p in sorted(EXAMPLES.glob("*.json"))]


def failing_body(base: dict, task_id: str = "bad-task") -> dict:
    """An example with one malformed box (error) and one NaN coordinate (non_finite_coordinate)."""
    body = json.loads(json.dumps(base))
    body["task"]["task_id"] = task_id
    anns = body["response"]["annotations"]
    anns[0]["left"] = "abc"
    anns[1]["top"] = math.nan
    return body


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="validator check")
    check_cmd.configure(parser)
    return check_cmd.run(parser.parse_args(argv))


@pytest.fixture()
def levels_config(tmp_path):
    path = tmp_path / "levels.toml"
    path.write_text(LEVELS_CONFIG)
    return str(path)


# -- examples ------------------------------------------------------------------------------------------------

@needs_examples
def test_examples_all_pass(capsys):
    assert cli([*example_paths(), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS  ") == len(list(EXAMPLES.glob("*.json")))
    assert "01_boxes_attributes_nesting.json  task 5f1e2d3c4b5a69788796a5b1" in out
    assert f"Summary: {len(list(EXAMPLES.glob('*.json')))} tasks checked, 0 failed" in out


@needs_examples
def test_examples_json_format(capsys):
    assert cli([*map(str, sorted(EXAMPLES.glob("*.json"))), "--format", "json", "--jobs", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in lines] == ["task"] * (len(lines) - 1) + ["summary"]
    assert all(r["pass"] is True and r["answer"]["pass"] is True for r in lines[:-1])
    assert lines[-1]["tasks"] == len(lines) - 1 and lines[-1]["failed"] == 0


# -- verdicts, levels, summary -------------------------------------------------------------------------------

@needs_examples
def test_failing_task_prints_issues_and_exits_1(tmp_path, levels_config, capsys):
    base = example_bodies()[0]
    (tmp_path / "bad.json").write_text(json.dumps(failing_body(base)))
    (tmp_path / "good.json").write_text(json.dumps(base))
    assert cli([str(tmp_path / "bad.json"), str(tmp_path / "good.json"), "--config", levels_config]) == 1
    out = capsys.readouterr().out
    uuid0 = base["response"]["annotations"][0]["uuid"]
    assert f"FAIL  {tmp_path / 'bad.json'}  task bad-task" in out
    assert f"[error]  annotation {uuid0}  malformed_annotation: The box's left is not a number ('abc')." in out
    assert f"[shadow]  annotation {uuid0}  malformed_annotation" in out
    assert "[warn]  annotation" in out and "non_finite_coordinate" in out
    assert f"PASS  {tmp_path / 'good.json'}" in out
    assert "Summary: 2 tasks checked, 1 failed, 1 passed" in out
    table = out.split("Summary:")[1]
    rows = {line.split()[0]: line.split() for line in table.splitlines()[3:] if line.strip()}
    assert rows["malformed_annotation"][1:] == ["error", "1", "1", "1"]
    assert rows["malformed_shadow"][1:] == ["(malformed_annotation)", "shadow", "1", "1", "1"]
    assert rows["non_finite_coordinate"][1:] == ["warn", "1", "1", "1"]


@needs_examples
def test_summary_counts_tasks_and_annotations_per_rule(tmp_path, levels_config, capsys):
    base = example_bodies()[0]
    lines = [failing_body(base, f"t{i}") for i in range(3)] + [base]
    (tmp_path / "many.jsonl").write_text("\n".join(json.dumps(b) for b in lines) + "\n")
    assert cli([str(tmp_path / "many.jsonl"), "--config", levels_config, "--format", "json", "-j", "1"]) == 1
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (summary["tasks"], summary["failed"], summary["passed"], summary["invalid"]) == (4, 3, 1, 0)
    rules = {(r["instance"], r["level"]): r for r in summary["rules"]}
    assert set(rules) == {("malformed_annotation", "error"), ("malformed_shadow", "shadow"),
                          ("non_finite_coordinate", "warn")}
    assert all((r["tasks"], r["annotations"]) == (3, 3) for r in rules.values())
    assert rules[("malformed_shadow", "shadow")]["rule"] == "malformed_annotation"


# -- invalid inputs ------------------------------------------------------------------------------------------

@needs_examples
def test_jsonl_with_corrupt_lines_reports_name_and_line_and_runs_the_rest(tmp_path, capsys):
    base = example_bodies()[0]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join([
        json.dumps(base),
        '{"task": {"task_id": "x"}, "response": ',   # line 2: truncated JSON
        "",                                           # line 3: blank, skipped
        json.dumps({"task": {"task_id": "y"}}),       # line 4: valid JSON, not an envelope
        json.dumps(base),                             # line 5
    ]) + "\n")
    assert cli([str(path), "-j", "1"]) == 1
    out = capsys.readouterr().out
    assert f"INVALID  {path}:2: body is not valid JSON" in out
    assert f"INVALID  {path}:4: not a valid body:" in out
    assert f"{path}:3" not in out
    assert out.count("PASS  ") == 2 and f"PASS  {path}:5" in out
    assert "Summary: 2 tasks checked, 0 failed, 2 passed, 2 not valid" in out


def test_missing_path_is_reported_and_the_rest_run(tmp_path, capsys):
    assert cli([str(tmp_path / "nope.json"), "-j", "1"]) == 1
    out = capsys.readouterr().out
    assert f"INVALID  {tmp_path / 'nope.json'}: no such file or directory" in out


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "no_such_rule"\n')
    assert cli([str(tmp_path), "--config", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("validator: ") and "no_such_rule" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_config_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VALIDATOR_CONFIG", str(tmp_path / "missing.toml"))
    assert cli([str(tmp_path)]) == 2
    assert "config file not found" in capsys.readouterr().err


@needs_examples
def test_stdin_lines(capsys):
    data = b"\n".join(json.dumps(b).encode() for b in example_bodies()) + b"\n"
    out = io.StringIO()
    assert run_check(["-"], stdin=io.BytesIO(data), out=out) == 0
    assert out.getvalue().count("PASS  <stdin>:") == len(example_bodies())


def test_iter_inputs_walks_directories_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.json").write_text("{}")
    (tmp_path / "a.jsonl").write_text("{}\n\n{}\n")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.json").write_text("{}")
    assert [i.where for i in iter_inputs([tmp_path])] == [
        f"{tmp_path / 'a.jsonl'}:1", f"{tmp_path / 'a.jsonl'}:3", str(tmp_path / "b" / "2.json")]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert [i.error for i in iter_inputs([empty])] == ["directory holds no .json, .jsonl or .ndjson files"]


# -- jobs, ordering, bounded work ----------------------------------------------------------------------------

@needs_examples
def test_jobs_output_is_identical_to_one_process(tmp_path, levels_config, monkeypatch):
    monkeypatch.setattr(check_cmd, "CHUNK_ITEMS", 3)  # many chunks, so the pool really interleaves
    pools = []

    class SpyPool(check_cmd.ProcessPoolExecutor):
        def __init__(self, *a, **kw):
            pools.append(kw.get("max_workers"))
            super().__init__(*a, **kw)

    monkeypatch.setattr(check_cmd, "ProcessPoolExecutor", SpyPool)
    bodies = example_bodies()
    lines = []
    for i in range(40):
        b = bodies[i % len(bodies)]
        lines.append(json.dumps(failing_body(b, f"t{i}") if i % 3 == 0 else b))
        if i % 7 == 0:
            lines.append("{not json")
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    outputs = {}
    for fmt in ("text", "json"):
        for jobs in (1, 2):
            out = io.StringIO()
            code = run_check([str(path), *example_paths()], config=levels_config, jobs=jobs, fmt=fmt, out=out)
            outputs[fmt, jobs] = (code, out.getvalue())
    assert pools == [2, 2]  # jobs=2 really used worker processes, jobs=1 did not
    assert outputs["text", 1] == outputs["text", 2]
    assert outputs["json", 1] == outputs["json", 2]
    assert outputs["text", 1][0] == 1
    assert "INVALID" in outputs["text", 1][1] and "FAIL" in outputs["text", 1][1]


class _CountingExecutor:
    """Runs work synchronously, counting chunks submitted and not yet consumed."""

    def __init__(self):
        self.in_flight = 0
        self.max_in_flight = 0

    def submit(self, fn, chunk):
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        fut = Future()
        fut.set_result(fn(chunk))
        outer = self

        class _Tracked:
            def result(self_inner):
                outer.in_flight -= 1
                return fut.result()

        return _Tracked()


def test_ordered_map_keeps_order_and_bounds_in_flight_work():
    read = []

    def source():
        for i in range(1000):
            read.append(i)
            yield [i, i + 0.5]

    ex = _CountingExecutor()
    results = ordered_map(ex, lambda chunk: [x * 2 for x in chunk], source(), max_in_flight=4)
    first = next(results)
    assert first == 0 and len(read) <= 4  # lazily consumed: the input is not read ahead
    rest = list(results)
    assert [first, *rest] == [x * 2 for i in range(1000) for x in (i, i + 0.5)]
    assert ex.max_in_flight <= 4


def test_chunked_bounds_items_and_bytes():
    items = [InputItem("f", n, b"x" * 10) for n in range(10)]
    assert [len(c) for c in chunked(items, max_items=4)] == [4, 4, 2]
    assert [len(c) for c in chunked(items, max_items=100, max_bytes=25)] == [3, 3, 3, 1]


# -- through the real command line -----------------------------------------------------------------------------

def validator_cli(*argv: str, env: dict | None = None):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "validator", *argv], cwd=root, env=full_env,
                          capture_output=True, text=True, timeout=60)


@needs_examples
def test_command_line_exit_codes(tmp_path):
    ok = validator_cli("check", *example_paths(), "--jobs", "2")
    assert ok.returncode == 0, ok.stderr
    assert "Summary: " in ok.stdout and ok.stderr == ""
    (tmp_path / "bad.json").write_text(json.dumps(failing_body(example_bodies()[0])))
    failed = validator_cli("check", str(tmp_path / "bad.json"))
    assert failed.returncode == 1 and "FAIL  " in failed.stdout and failed.stderr == ""
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[engine\n")
    broken = validator_cli("check", *example_paths(), "--config", str(bad_config))
    assert broken.returncode == 2 and broken.stdout == ""
    assert broken.stderr.startswith("validator: ") and "not valid TOML" in broken.stderr
    assert "Traceback" not in broken.stderr
