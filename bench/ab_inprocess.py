#!/usr/bin/env python
"""In-process A/B of two checkouts: the engine's minimum time per body, alternating between them.

For each round, one fresh process per checkout (in alternating order) runs ``engine.validate_bytes`` +
``jsonio.dumps`` on each scene body (and ``orjson.loads``, for reference) for ``--seconds`` and reports the
minimum per body (summed over the real corpus). The minimum over all rounds is printed side by side, with the
ratio B/A, also normalised by the ratio of the two sides' ``orjson.loads`` minimums (a slower process or moment
shows in both). Minimums: on a machine shared with other processes, the fastest run is the least disturbed one.

Each checkout must have its own virtualenv (``./dev rules`` in it creates ``.venv``): an editable install maps
the ``rules`` package to the checkout it was installed from, so one venv cannot serve both.

    .venv/bin/python bench/ab_inprocess.py ../before . --rounds 4 --seconds 2 --specs street:10,mix:100,realdata:0
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

_CHILD = r"""
import gc, os, sys, time
sys.path.insert(0, os.getcwd())
from bench import scenes
from validator.engine.engine import Engine
from validator.scale import jsonio
import orjson
engine = Engine.from_config_file(None)
seconds = float(sys.argv[1])
for spec in sys.argv[2:]:
    scene, n = spec.split(":")
    if scene == "realdata":
        bodies = [b for _, b in scenes.realdata_bodies() or []]
    else:
        bodies = [scenes.scene_bytes(scene, int(n), seed=0)]
    for b in bodies:
        jsonio.dumps(engine.validate_bytes(b).answer)
    gc.collect()
    gc.freeze()
    best, parse = [9.0] * len(bodies), [9.0] * len(bodies)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for k, b in enumerate(bodies):
            t0 = time.perf_counter()
            orjson.loads(b)
            t1 = time.perf_counter()
            jsonio.dumps(engine.validate_bytes(b).answer)
            t2 = time.perf_counter()
            parse[k] = min(parse[k], t1 - t0)
            best[k] = min(best[k], t2 - t1)
    print(spec, sum(best) * 1e3, sum(parse) * 1e3, flush=True)
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", help="checkout A (the reference)")
    p.add_argument("b", help="checkout B")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seconds", type=float, default=2.0, help="per spec, per round and side")
    p.add_argument("--specs", default="mix:10,mix:100,street:10,street:100,realdata:0",
                   help="scene:size, comma-separated (realdata:0 = every real body, summed)")
    args = p.parse_args()
    trees = [Path(args.a).resolve(), Path(args.b).resolve()]
    for t in trees:
        if not (t / ".venv" / "bin" / "python").exists():
            raise SystemExit(f"ab_inprocess: {t} has no .venv (run ./dev rules in it first)")
    specs = args.specs.split(",")
    env = {**os.environ, "VALIDATOR_REALDATA": os.environ.get("VALIDATOR_REALDATA", str(trees[1].parent / "shared"
                                                                                           / "realdata"))}
    found: dict = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in range(args.rounds):
        for t in (trees if r % 2 == 0 else trees[::-1]):
            out = subprocess.run([str(t / ".venv" / "bin" / "python"), "-c", _CHILD, str(args.seconds), *specs],
                                 cwd=t, env=env, capture_output=True, text=True)
            if out.returncode:
                raise SystemExit(f"ab_inprocess: {t} failed:\n{out.stderr[-2000:]}")
            for line in out.stdout.splitlines():
                spec, engine_ms, parse_ms = line.split()
                found[spec][t].append((float(engine_ms), float(parse_ms)))
        print(f"  round {r + 1}/{args.rounds} done ({time.strftime('%H:%M:%S')})", file=sys.stderr, flush=True)
    print(f"{'spec':<16}{'A ms':>11}{'B ms':>11}{'B/A':>8}{'normalised':>12}   (orjson.loads A / B, ms)")
    for spec in specs:
        (a, pa), (b, pb) = ((min(e for e, _ in found[spec][t]), min(q for _, q in found[spec][t])) for t in trees)
        print(f"{spec:<16}{a:11.3f}{b:11.3f}{b / a:8.3f}{(b / a) / (pb / pa):12.3f}   ({pa:.3f} / {pb:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
