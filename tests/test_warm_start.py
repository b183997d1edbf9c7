"""A worker's first request must not pay for imports done lazily on first use: everything the request path
imports is imported when the app is (in the preloaded master, shared by the forked workers)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = r"""
import sys, orjson
from validator.engine.engine import Engine
from validator.testing.payloads import make_body
engine = Engine.from_config_file(None)
bodies = [make_body(n, seed=1, defect_rate=0.05) for n in (10, 300)]
overlapping = make_body(2, seed=1)  # two polygons of one label overlapping (the exact overlap path)
square = [{"x": 10, "y": 10}, {"x": 60, "y": 10}, {"x": 60, "y": 60}, {"x": 10, "y": 60}]
overlapping["response"]["annotations"] = [
    {"uuid": u, "type": "polygon", "label": "building", "attributes": {},
     "vertices": [{"x": v["x"] + d, "y": v["y"] + d} for v in square]} for u, d in (("p1", 0), ("p2", 1))]
bodies.append(overlapping)
before = set(sys.modules)
for body in bodies:
    engine.validate_bytes(orjson.dumps(body))
print(" ".join(sorted(set(sys.modules) - before)))
"""


def test_validating_imports_nothing_new():
    p = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [], f"imported on first use, after start-up: {p.stdout.strip()}"
