"""The benchmark harness itself (bench/run.py): command handling, and a tiny end-to-end run with both sides bare."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


def test_build_argv_rewrites_bind_to_loopback_and_swaps_the_app():
    argv = run.build_argv("gunicorn -c gunicorn.conf.py --bind 0.0.0.0:$PORT validator.service.wsgi:app", "bench.bare_app:app",
                          4321)
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    assert argv[3:] == ["-c", "gunicorn.conf.py", "--bind", "127.0.0.1:4321", "bench.bare_app:app"]
    argv = run.build_argv("gunicorn -c gunicorn.conf.py -b=:80 app:x", "a:b", 1)
    assert argv[-3:] == ["--bind", "127.0.0.1:1", "a:b"]


def test_quantile():
    assert run.quantile([5, 1, 3, 2, 4], 0.5) == 3
    assert run.quantile(list(range(1, 101)), 0.9) == 90


def test_harness_end_to_end_both_sides_bare(tmp_path):
    out = tmp_path / "r.json"
    p = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--mode", "latency", "--sizes", "10,100", "--requests", "5",
         "--command", "gunicorn -w 1 bench.bare_app:app", "--service-app", "bench.bare_app:app", "--ready-path", "/",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "ratio" in p.stdout
    res = json.loads(out.read_text())
    assert [r["size"] for r in res["latency"]] == [10, 100]
    assert all(r["service_errors"] == 0 and r["bare_errors"] == 0 for r in res["latency"])
    assert all(0.2 < r["ratio"] < 5 for r in res["latency"])
