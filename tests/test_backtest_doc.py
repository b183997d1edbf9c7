"""docs/self-test.md section 3, followed as a new user would: the offline stand-in started by the documented
command, the documented configs, a backtest, a compare, the HTML report; the documented output lines appear."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.scale_standin import free_port

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "self-test.md").read_text()
SECTION = DOC[DOC.index("## 3. `check`"):]


def toml_block(name: str) -> str:
    m = re.search(r"```toml\n# " + re.escape(name) + r"[^\n]*\n(.*?)```", SECTION, flags=re.S)
    assert m, f"no ```toml block for {name} in docs/self-test.md"
    return m.group(1)


def test_the_documented_backtest_walkthrough(tmp_path):
    assert ".venv/bin/python -m tests.scale_standin examples/*.json --project acme-street-scenes --port 8941 &" \
        in SECTION
    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.json"))  # what the shell expands
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    standin = subprocess.Popen([sys.executable, "-m", "tests.scale_standin", *examples, "--project",
                                "acme-street-scenes", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = [standin.stdout.readline() for _ in range(3)]
        assert banner[0].startswith("Scale stand-in: ") and "acme-street-scenes" in banner[0]
        base = f"http://127.0.0.1:{port}/v1"
        assert banner[1].strip() == f"export SCALE_API_BASE_URL={base}"
        assert banner[2].strip() == "export SCALE_API_KEY=test_standin_key"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/tasks", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        env.update(SCALE_API_BASE_URL=base, SCALE_API_KEY="test_standin_key")
        (tmp_path / "shadow.toml").write_text(toml_block("shadow.toml"))
        (tmp_path / "promote.toml").write_text(toml_block("promote.toml"))

        def check(*argv: str):
            return subprocess.run([sys.executable, "-m", "validator", "check", *argv], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120)

        plain = check("--scale-project", "acme-street-scenes")
        assert "PASS  scale:acme-street-scenes:1  task 5f1e2d3c4b5a69788796a5b1" in plain.stdout
        assert "PASS  scale:acme-street-scenes:1  task 5f1e2d3c4b5a69788796a5b1" in SECTION

        compared = check("--scale-project", "acme-street-scenes", "--config", "shadow.toml", "--compare",
                         "promote.toml", "--html", "report.html")
        assert compared.returncode == 0, compared.stderr
        documented = SECTION[SECTION.index("$ validator check --scale-project acme-street-scenes --config shadow.toml "
                                           "--compare promote.toml\n"):]
        documented = documented[:documented.index("```")]
        for line in documented.splitlines()[1:]:
            if line.strip() and line.strip() != "...":
                assert line in compared.stdout.splitlines(), line
        page = (tmp_path / "report.html").read_text()
        assert page.count('<section class="task"') == 2 and "PASS -&gt; FAIL  task 5f1e2d3c4b5a69788796a5b1" in page

        env["SCALE_API_KEY"] = "wrong"
        refused = check("--scale-project", "acme-street-scenes")
        assert refused.returncode == 2
        assert refused.stderr.strip() in SECTION  # the documented message, word for word
    finally:
        standin.terminate()
        standin.wait(timeout=10)
