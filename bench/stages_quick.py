#!/usr/bin/env python
"""Quick in-process view of where one request's engine time goes, robust to a shared machine.

For each scene and size: the minimum over repeated runs of ``orjson.loads`` (what the bare app pays), of
``engine.validate_bytes`` + ``jsonio.dumps`` (the service's engine work), and of every stage the engine reports in
``Result.stages_ms`` (envelope, extraction, each rule instance), largest first. Minimums, not medians: on a
machine shared with other processes the fastest run is the least disturbed one.

    .venv/bin/python bench/stages_quick.py --scene street --sizes 100,1000 [--top 8]
    .venv/bin/python bench/stages_quick.py --scene realdata      # every real body once per round, summed
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from bench import scenes  # noqa: E402
from validator.engine.engine import Engine  # noqa: E402
from validator.scale import jsonio  # noqa: E402


def _validate(engine, raw: bytes):
    if hasattr(engine, "validate_bytes"):
        return engine.validate_bytes(raw)
    return engine.validate(jsonio.loads(raw))


def measure(engine, bodies: list[bytes], rounds: int) -> tuple[float, float, dict[str, float], dict]:
    """(parse s, engine s, {stage: s}, stats of the last result), each the sum over bodies of the per-body minimum."""
    best_parse = [1e9] * len(bodies)
    best_engine = [1e9] * len(bodies)
    best_stage: list[dict[str, float]] = [{} for _ in bodies]
    stats: dict = {}
    for _ in range(rounds):
        for k, raw in enumerate(bodies):
            t0 = time.perf_counter()
            orjson.loads(raw)
            t1 = time.perf_counter()
            r = _validate(engine, raw)
            jsonio.dumps(r.answer)
            t2 = time.perf_counter()
            best_parse[k] = min(best_parse[k], t1 - t0)
            best_engine[k] = min(best_engine[k], t2 - t1)
            for s, v in (getattr(r, "stages_ms", None) or {}).items():
                best_stage[k][s] = min(best_stage[k].get(s, 1e9), v / 1e3)
            stats = dict(getattr(getattr(r, "ctx", None), "stats", {}) or {})
    stages: dict[str, float] = {}
    for d in best_stage:
        for s, v in d.items():
            stages[s] = stages.get(s, 0.0) + v
    return sum(best_parse), sum(best_engine), stages, stats


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scene", default="mix", choices=[*scenes.SCENES, "realdata"])
    p.add_argument("--sizes", default="10,100,1000,10000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=None, help="runs per body (default: ~3,000 annotations' worth)")
    p.add_argument("--top", type=int, default=10)
    a = p.parse_args(argv)
    engine = Engine.from_config_file(None)
    gc.collect()
    gc.freeze()  # as the workers do after start-up
    if a.scene == "realdata":
        corpus = scenes.realdata_bodies()
        if corpus is None:
            raise SystemExit("stages_quick: no real corpus (../shared/realdata)")
        cases = [("all real bodies", [raw for _, raw in corpus], a.rounds or 3)]
    else:
        cases = []
        for n in (int(s) for s in a.sizes.split(",") if s.strip()):
            raw = scenes.scene_bytes(a.scene, n, seed=a.seed)
            if scenes.fits_limit(raw):
                cases.append((f"n={n}", [raw], a.rounds or max(5, 3000 // n)))
            else:
                print(f"{a.scene} n={n}: {len(raw) / 2**20:.1f} MiB does not fit the 16 MiB limit; skipped")
    for name, bodies, rounds in cases:
        for raw in bodies[:50]:
            _validate(engine, raw)  # warm
        parse, eng, stages, _ = measure(engine, bodies, rounds)
        top = sorted(stages.items(), key=lambda kv: -kv[1])
        print(f"{a.scene} {name}: orjson.loads {parse * 1e3:.3f} ms, engine+dumps {eng * 1e3:.3f} ms "
              f"({eng / parse:.1f}x parse), stages sum {sum(stages.values()) * 1e3:.3f} ms")
        print("   " + ", ".join(f"{k}={v * 1e3:.3f}" for k, v in top[: a.top]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
