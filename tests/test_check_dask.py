"""`validator check --dask`: the backtest on a Dask cluster (a local one: 2 worker processes on 127.0.0.1) gives
exactly the output of `--jobs 1`, one engine per worker process, reading JSON Lines partitions."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_check_backtest import as_task, bodies, broken
from validator.cli.check import run_check

pytest.importorskip("distributed", reason="the dask extra is not installed (pip install -e '.[test]')")

from validator.cli import dask_backtest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[[rule]]
id = "malformed_annotation"
name = "malformed_shadow"
level = "shadow"
"""


def _inputs(tmp_path: Path) -> list[str]:
    b = bodies()
    lines = []
    for i in range(60):
        t = as_task(b[i % 5], task_id=f"d{i:03d}")
        lines.append(json.dumps(broken(t, f"d{i:03d}") if i % 4 == 0 else t))
        if i % 17 == 0:
            lines.append("{not json")
        if i % 23 == 0:
            lines.append("")
    first = tmp_path / "part-a.jsonl"
    first.write_text("\n".join(lines) + "\n")
    second = tmp_path / "part-b.jsonl"
    second.write_text("\n".join(json.dumps(as_task(x)) for x in b) + "\n" + json.dumps([as_task(b[0])]))  # no final \n
    return [str(first), str(second)]


def test_dask_output_equals_jobs_1(tmp_path):
    paths = _inputs(tmp_path)
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    expected = {}
    for fmt in ("text", "json"):
        out = io.StringIO()
        code = run_check(paths, config=str(config), jobs=1, fmt=fmt, out=out)
        expected[fmt] = (code, out.getvalue())
    assert expected["text"][0] == 1 and "INVALID" in expected["text"][1]
    # small partitions so that each file is cut into several, and both workers get some
    records = dask_backtest.prepare(paths, address="local:2", config=str(config), compare=None, scenes=False,
                                    blocksize=4096)
    try:
        out = io.StringIO()
        code = run_check(paths, config=str(config), fmt="json", out=out, records=records)
    finally:
        records.close()
    assert (code, out.getvalue()) == expected["json"]
    assert records.partitions > 4
    assert records.worker_pids and os.getpid() not in records.worker_pids  # checked in worker processes
    assert set(records.engine_builds.values()) == {1}  # one engine per worker process, however many partitions
    assert set(dask_backtest._ENGINES) == set()  # none in this (the client's) process


def test_dask_from_the_command_line(tmp_path):
    paths = _inputs(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    one = subprocess.run([sys.executable, "-m", "validator", "check", *paths, "-j", "1"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    dist = subprocess.run([sys.executable, "-m", "validator", "check", *paths, "--dask", "local:2",
                           "--dask-blocksize", "8KiB"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert dist.returncode == one.returncode == 1
    assert dist.stdout == one.stdout
    assert "Traceback" not in dist.stderr


def test_dask_refuses_what_it_cannot_read(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(bodies()[0]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}

    def check(*argv):
        return subprocess.run([sys.executable, "-m", "validator", "check", *argv], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    proc = check(str(tmp_path / "a.json"), "--dask", "local")
    assert proc.returncode == 2 and "--dask reads JSON Lines files only" in proc.stderr
    proc = check(str(tmp_path / "missing.jsonl"), "--dask", "local")
    assert proc.returncode == 2 and "no such file or directory" in proc.stderr
    proc = check(str(tmp_path / "a.json"), "--dask", "local:zero")
    assert proc.returncode == 2 and "expected local:N" in proc.stderr
    (tmp_path / "b.jsonl").write_text("{}\n")
    proc = check(str(tmp_path / "b.jsonl"), "--dask", "local", "--dask-blocksize", "lots")
    assert proc.returncode == 2 and "is not a size" in proc.stderr
    assert all("Traceback" not in p for p in (proc.stderr,))


def test_an_unreachable_scheduler_is_a_clear_message(tmp_path):
    from tests.scale_standin import free_port

    (tmp_path / "a.jsonl").write_text(json.dumps(bodies()[0]) + "\n")
    address = f"tcp://127.0.0.1:{free_port()}"
    records = dask_backtest.prepare([str(tmp_path / "a.jsonl")], address=address, config=None, compare=None,
                                    scenes=False, connect_timeout=2)
    try:
        with pytest.raises(dask_backtest.DaskSetupError, match=f"cannot reach the Dask scheduler at {address} "
                                                               "within 2 s"):
            run_check([str(tmp_path / "a.jsonl")], out=io.StringIO(), records=records)
    finally:
        records.close()
