#!/usr/bin/env python
"""Quick in-process view of what the service costs per request OUTSIDE the engine, robust to a shared machine.

Builds the real WSGI app (validator.service.app.create_app, settings from the environment, prometheus_client in
multiprocess mode on a fresh temporary directory, as gunicorn.conf.py sets it up) and calls it with a WSGI environ
per body, closing the iterable as gunicorn does (that runs the request's log line and counters). For each scene and
size, the minimum over rounds of:

* ``wsgi``: the whole WSGI call, iteration and close() included;
* ``engine``: ``engine.validate_bytes`` + ``jsonio.dumps`` alone;
* ``outside``: the difference, the service's own cost per request;
* a breakdown of the service's pieces timed alone (auth, observe_validation, the log line, the request id).

The log line is written to /dev/null through the service's JSON formatter (the real handler, another stream).

    .venv/bin/python bench/service_quick.py --scenes mix,realdata --sizes 10,100 [--rounds 30] [--profile]
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/profile.py would shadow the stdlib's profile module (cProfile imports it): bench/ off the path, root on it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KEY = "bench-key"
os.environ.setdefault("SCALE_CALLBACK_AUTH_KEY", KEY)
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # before prometheus_client is imported, as gunicorn.conf.py does
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="service-quick-", dir=base)

from bench import scenes  # noqa: E402
from validator.scale import jsonio  # noqa: E402
from validator.service import app as service_app  # noqa: E402
from validator.service import logs  # noqa: E402


def environ_for(raw: bytes) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/validate", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(raw)), "HTTP_SCALE_CALLBACK_AUTH": KEY, "wsgi.input": io.BytesIO(raw),
            "wsgi.input_terminated": False, "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0), "REMOTE_ADDR": "127.0.0.1"}


def call(wsgi, raw: bytes) -> tuple[str, bytes]:
    seen = []

    def start_response(status, headers, exc_info=None):
        seen.append(status)

    it = wsgi(environ_for(raw), start_response)
    try:
        body = b"".join(it)
    finally:
        close = getattr(it, "close", None)
        if close:
            close()
    return seen[0], body


def bodies_of(scene: str, sizes: list[int], limit: int) -> list[tuple[str, list[bytes]]]:
    if scene == "realdata":
        got = scenes.realdata_bodies(limit)
        if not got:
            print("realdata: corpus not found (VALIDATOR_REALDATA)", file=sys.stderr)
            return []
        return [(f"realdata[{len(got)}]", [b for _, b in got])]
    return [(f"{scene} {n}", [scenes.scene_bytes(scene, n)]) for n in sizes]


def minimum_per_body(fn, bodies: list[bytes], rounds: int) -> float:
    best = [1e9] * len(bodies)
    for _ in range(rounds):
        for k, raw in enumerate(bodies):
            t0 = time.perf_counter()
            fn(raw)
            best[k] = min(best[k], time.perf_counter() - t0)
    return sum(best)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", default="mix,realdata")
    ap.add_argument("--sizes", default="10,100")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--realdata-limit", type=int, default=300)
    ap.add_argument("--profile", action="store_true", help="cProfile the WSGI calls of the first scene")
    args = ap.parse_args(argv)

    app = service_app.create_app()
    root = logging.getLogger()
    for h in root.handlers:  # the service's JSON formatter, writing to /dev/null instead of the terminal
        if isinstance(h, logging.StreamHandler):
            h.setStream(open(os.devnull, "w"))
    wsgi = app.wsgi_app
    endpoint = wsgi.endpoint  # _FastLane -> ValidateEndpoint
    engine = endpoint.engine
    counters = endpoint.metrics
    log = logging.getLogger("validator.app")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    gc.freeze()

    print(f"{'scene':<16}{'wsgi':>9}{'engine':>9}{'outside':>9}  | {'auth':>7}{'observe':>9}{'logline':>9}"
          f"{'reqid':>7}   ms per body (min over {args.rounds} rounds)")
    for scene in [s for s in args.scenes.split(",") if s]:
        for name, bodies in bodies_of(scene, sizes, args.realdata_limit):
            for raw in bodies:  # same answer through the app as from the engine
                status, body = call(wsgi, raw)
                assert body == jsonio.dumps(engine.validate_bytes(raw).answer) or not status.startswith("200")
            n = len(bodies)
            t_wsgi = minimum_per_body(lambda raw: call(wsgi, raw), bodies, args.rounds) / n
            t_engine = minimum_per_body(lambda raw: jsonio.dumps(engine.validate_bytes(raw).answer), bodies,
                                        args.rounds) / n
            results = {raw: engine.validate_bytes(raw) for raw in bodies}
            t_auth = minimum_per_body(lambda raw: endpoint.keys.accepts(KEY), bodies, args.rounds) / n
            t_obs = minimum_per_body(lambda raw: counters.observe_validation(results[raw], 1.0), bodies,
                                     args.rounds) / n

            def logline(raw):
                result = results[raw]
                counts = result.counts()
                log.info("validation", extra={
                    "task_id": logs.clip(result.task_id), "task_type": result.task_type,
                    "pass": result.answer["pass"], "annotations": result.annotation_count,
                    "issues": counts["by_level"], "by_rule": counts["by_rule"],
                    "rule_failures": result.rule_failures, "budget_exhausted": result.budget_exhausted,
                    "skipped": result.skipped or None, "duration_ms": 1.0, "engine_ms": 1.0})

            t_log = minimum_per_body(logline, bodies, args.rounds) / n
            t_rid = minimum_per_body(lambda raw: service_app.request_id_of({}), bodies, args.rounds) / n
            print(f"{name:<16}{t_wsgi * 1e3:9.3f}{t_engine * 1e3:9.3f}{(t_wsgi - t_engine) * 1e3:9.3f}  | "
                  f"{t_auth * 1e3:7.3f}{t_obs * 1e3:9.3f}{t_log * 1e3:9.3f}{t_rid * 1e3:7.3f}")
            if args.profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.enable()
                for _ in range(max(1, args.rounds // 3)):
                    for raw in bodies:
                        call(wsgi, raw)
                prof.disable()
                pstats.Stats(prof).sort_stats("tottime").print_stats(30)
                args.profile = False
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
