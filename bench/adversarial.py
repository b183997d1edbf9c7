"""Adversarial bodies: time, peak memory and verdict of each, in-process, one fresh process per body.

    .venv/bin/python bench/adversarial.py [--only NAME ...] [--repeat N]

The bodies a hostile (or unlucky) labeler can send under the 16 MiB limit: piles of identical or nearly identical
shapes, floods of identical points, long and self-crossing outlines. Each row: the body's size, the wall time of
``Engine.validate_bytes`` (decode, extraction, rules; best of ``--repeat``), the process's peak memory (RSS, fresh
process per body), the verdict and why (the errorTypes of the error-level issues), and whether the time budget
ran out or a rule failed. Default configuration (the engine's ``[limits]`` included: bodies over its caps fail on
``annotation_limit`` / ``vertex_limit`` before any pairwise rule runs). The table is for a person;
tests/geometry/test_bounds.py guards the same bodies with work counters (no timing). The builders are importable:
``load(name)`` / ``BODIES``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from validator.testing import box, make_body, make_task, point, polygon  # noqa: E402


def identical_boxes(n: int) -> dict:
    return make_body([box(100, 100, 50, 40) for _ in range(n)], task=make_task(width=1920, height=1080))


def near_identical_boxes(n: int, seed: int = 1) -> dict:
    """A pile of boxes on one spot, each moved by a fraction of a pixel: no two are exact copies."""
    rng = random.Random(seed)
    return make_body([box(100 + rng.random(), 100 + rng.random(), 50, 40) for _ in range(n)],
                     task=make_task(width=1920, height=1080))


def identical_boxes_with_defects(n: int = 1500) -> dict:
    """The issue's 150 KB body: three plain defects (a label outside the taxonomy, a box 5,000 px outside the image,
    a geometry type the task did not ask for) and a pile of identical boxes."""
    anns = [box(100, 100, 50, 40) for _ in range(n)]
    anns += [box(10, 10, 20, 20, label="spaceship"), box(5000, 10, 20, 20), point(5, 5)]
    boxes_only = {"box": {"objects_to_annotate": ["car", "pedestrian"]}}
    return make_body(anns, task=make_task(width=1920, height=1080, geometries=boxes_only))


def identical_points(n: int) -> dict:
    task = make_task(width=1920, height=1080, geometries={"point": {"objects_to_annotate": ["car", "head"]}})
    return make_body([point(500, 500, label="head") for _ in range(n)], task=task)


def random_polygon(n: int, seed: int = 3) -> dict:
    """Vertices anywhere in the image, in random order: about n²/10 crossings."""
    rng = random.Random(seed)
    pts = [(rng.uniform(0, 1900), rng.uniform(0, 1000)) for _ in range(n)]
    return make_body([polygon(pts)], task=make_task(width=1920, height=1080))


def random_polygons(k: int, n: int, seed: int = 5) -> dict:
    rng = random.Random(seed)
    return make_body([polygon([(rng.uniform(0, 1900), rng.uniform(0, 1000)) for _ in range(n)]) for _ in range(k)],
                     task=make_task(width=1920, height=1080))


def long_outline(n: int, crossings: int = 0) -> dict:
    """A wiggly ring of n vertices (a road outline), simple unless ``crossings`` pairs of vertices are swapped."""
    pts = []
    for k in range(n):
        t = 2 * math.pi * k / n
        r = 400 + 30 * math.sin(40 * t)
        pts.append((960 + r * math.cos(t) * 1.9, 540 + r * math.sin(t)))
    for c in range(crossings):
        k = (c + 1) * n // (crossings + 1)
        pts[k], pts[k + 1] = pts[k + 1], pts[k]
    return make_body([polygon(pts)], task=make_task(width=1920, height=1080))


BODIES = {
    "1,000 identical boxes": lambda: identical_boxes(1000),
    "1,500 identical boxes + 3 defects": identical_boxes_with_defects,
    "100,000 identical boxes": lambda: identical_boxes(100_000),
    "1,500 boxes on one spot (not copies)": lambda: near_identical_boxes(1500),
    "20,000 boxes on one spot (not copies)": lambda: near_identical_boxes(20_000),
    "10,000 identical points": lambda: identical_points(10_000),
    "40,000 identical points": lambda: identical_points(40_000),
    "random 1,000-vertex polygon": lambda: random_polygon(1000),
    "random 10,000-vertex polygon": lambda: random_polygon(10_000),
    "10,000-vertex outline, 5 crossings": lambda: long_outline(10_000, crossings=5),
    "200,000-vertex outline, simple": lambda: long_outline(200_000),
    "200,000-vertex outline, 5 crossings": lambda: long_outline(200_000, crossings=5),
    "100 random 1,000-vertex polygons": lambda: random_polygons(100, 1000),
}


def load(name: str) -> dict:
    return BODIES[name]()


def _measure(name: str, repeat: int, limit_mb: int) -> dict:
    """Run in a fresh process: build the body, validate it ``repeat`` times, report. The address space is limited
    to ``limit_mb`` (the machine is shared): a body that needs more fails with MemoryError, reported as such."""
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    from validator.engine.engine import Engine
    from validator.scale import jsonio

    raw = jsonio.dumps(load(name))
    engine = Engine.from_config_file(None)
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        result = engine.validate_bytes(raw)
        best = min(best, time.perf_counter() - t)
    errors = sorted({i.error_type for i in result.issues if i.level == "error"})
    return {"name": name, "kb": len(raw) / 1024, "ms": best * 1000,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "verdict": "pass" if result.passed else "fail", "why": errors,
            "issues": len(result.issues), "budget_exhausted": bool(result.budget_exhausted),
            "rule_failures": sorted(map(str, result.rule_failures))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="names (or parts of names) of the bodies to run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit-mb", type=int, default=4096, help="address-space limit of each measuring process")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.child, args.repeat, args.limit_mb)))
        return 0
    names = [n for n in BODIES if not args.only or any(o.lower() in n.lower() for o in args.only)]
    print(f"{'body':40} {'KB':>8} {'ms':>9} {'peak MB':>8}  verdict (errorTypes of the errors) / notes")
    for name in names:
        proc = subprocess.run([sys.executable, __file__, "--child", name, "--repeat", str(args.repeat),
                               "--limit-mb", str(args.limit_mb)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode:
            print(f"{name:40} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        notes = []
        if r["budget_exhausted"]:
            notes.append("BUDGET RAN OUT")
        if r["rule_failures"]:
            notes.append(f"rule failures: {', '.join(r['rule_failures'])}")
        print(f"{name:40} {r['kb']:8.0f} {r['ms']:9.1f} {r['peak_mb']:8.0f}  {r['verdict']} "
              f"({', '.join(r['why']) or '-'}; {r['issues']} issues){'; ' + '; '.join(notes) if notes else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
