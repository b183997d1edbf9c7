"""The README's quick start as a new user follows it: ``./dev serve``, then the two curl lines it prints, run by
bash as printed. The first answer passes; the second shows an issue being caught, and the README shows that answer.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.dev import require_dev_setup
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="module")
def dev_is_set_up():
    require_dev_setup()


def _banner_curl_lines(proc: subprocess.Popen, timeout: float = 60) -> tuple[list[str], str]:
    """The curl lines of the banner, read by a thread (a select on a buffered pipe could miss buffered lines)."""
    seen: list[str] = []

    def read() -> None:
        for line in proc.stderr:
            seen.append(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        curls = [ln.strip() for ln in list(seen) if ln.strip().startswith("curl ")]
        if len(curls) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(0.1)
    return [ln.strip() for ln in list(seen) if ln.strip().startswith("curl ")], "".join(seen)


def _wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VALIDATOR_CONFIG", "SCALE_CALLBACK_AUTH_KEY", "PORT")}
    proc = subprocess.Popen(["bash", str(REPO / "dev"), "serve", "--port", str(port)],
                            cwd=tmp_path_factory.mktemp("user"), env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        curls, banner = _banner_curl_lines(proc)
        assert len(curls) == 2, f"./dev serve printed:\n{banner}"
        _wait_listening(port)
        answers = []
        for line in curls:
            out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, (line, out.stderr)
            answers.append(json.loads(out.stdout))
        yield {"curls": curls, "answers": answers, "banner": banner}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_first_curl_line_posts_a_well_formed_answer(quick_start):
    assert "examples/01_boxes_attributes_nesting.json" in quick_start["curls"][0]
    assert quick_start["answers"][0] == {"pass": True, "issues": {}, "globalIssues": []}


def test_the_second_curl_line_shows_an_issue_being_caught(quick_start):
    assert "examples/failing/01_label_not_in_taxonomy.json" in quick_start["curls"][1]
    answer = quick_start["answers"][1]
    assert answer["pass"] is False
    assert [i["errorType"] for i in answer["issues"]["bus-1"]] == ["label_not_in_taxonomy"]
    assert "Traceback" not in quick_start["banner"]


def test_the_readme_shows_that_answer(quick_start):
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    shown = re.search(r"```json\n(.*?)```", quick, re.S)
    assert shown, "the README's quick start shows the failing example's answer"
    assert json.loads(shown.group(1)) == quick_start["answers"][1]
