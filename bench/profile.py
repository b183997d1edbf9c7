#!/usr/bin/env python
"""Where does the service spend its time? Sample the real gunicorn workers with py-spy under a steady load.

Starts the service exactly as ``bench/run.py`` does (Procfile command, same env, loopback), drives sequential
``POST /validate`` requests at each size from one client, records the workers with ``py-spy record --subprocesses``
(raw collapsed stacks) and prints, over the samples taken while a worker handles a request:

* by area: gunicorn (HTTP parsing, access log), Flask/werkzeug, JSON parse, envelope, extraction, geometry, each
  rule module, answer/serialisation, logging;
* the top functions by self time and by inclusive time (percent of request-handling samples).

    .venv/bin/python bench/profile.py --sizes 1000,10000 --seconds 10 --top 25

Needs py-spy (``pip install py-spy``) and the right to ptrace the workers (root, or ptrace_scope 0).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: servers, client, payloads)

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for part in stack.split(";"):
        m = _FRAME.match(part.strip())
        if m:
            out.append((m.group("func"), m.group("file")))
    return out


def _area(frames: list[tuple[str, str]]) -> str:
    """The part of the request a sample belongs to, from its deepest recognisable frame."""
    rule_files = [file for _, file in frames if file.startswith("rules/")]
    if rule_files:  # the rule's own module, not a shared wrapper (rules/_support.py, rules/_shape_support.py)
        own = [f for f in rule_files if not Path(f).name.startswith("_")]
        return f"rule module {Path((own or rule_files)[0]).name}"
    names = [(func, file) for func, file in frames]
    files = [file for _, file in names]
    funcs = [func for func, _ in names]
    has = lambda s: any(s in x for x in files)  # noqa: E731
    if any("validator/geometry/" in f for f in files):
        return "geometry (validator/geometry/, outside rules)"
    if any(f.endswith("decode.py") for f in files):
        return "decode + extraction (msgspec fast path, validator/scale/decode.py)"
    if any(f.endswith("annotations.py") for f in files):
        return "extraction (validator/scale/annotations.py)"
    if any(f.endswith("envelope.py") or f.endswith("taskspec.py") for f in files):
        return "envelope + TaskSpec (marshmallow)"
    if any(f.endswith("jsonio.py") for f in files):
        jl = [fn for fn, fl in names if fl.endswith("jsonio.py")]
        return "JSON dumps" if "dumps" in jl else "JSON parse (jsonio.loads)"
    if any(f.endswith("issues.py") for f in files):
        if "Result.counts" in funcs and funcs[-1] == "Result.counts":
            return "Result.counts (self: where a deferred GC collection lands, see README)"
        return "issues: ordering, answer, counts"
    if files and files[-1].endswith("validator/service/app.py"):
        return "app view's own frame (deallocating the request's objects on return, small reads)"
    if any("gunicorn/http/body.py" in f or "gunicorn/http/unreader.py" in f for f in files):
        return "reading the request body (gunicorn)"
    if any(f.endswith("engine.py") for f in files):
        return "engine (runner, other)"
    if has("logging/") or any(f.endswith("logs.py") for f in files):
        return "logging (app log line)"
    if any(f.endswith("metrics.py") for f in files):
        return "metrics"
    if any("glogging.py" in f for f in files) or "access" in funcs:
        return "gunicorn access log"
    if has("werkzeug/") or has("flask/"):
        return "Flask / werkzeug"
    if has("gunicorn/"):
        return "gunicorn (HTTP parse, socket I/O)"
    return "other"


def _short(func: str, file: str) -> str:
    file = re.sub(r"^.*?site-packages/", "", file)
    return f"{func} ({file})"


def analyse(raw_file: Path, top: int) -> dict:
    self_c: collections.Counter = collections.Counter()
    incl_c: collections.Counter = collections.Counter()
    area_c: collections.Counter = collections.Counter()
    total = 0
    for line in raw_file.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = _frames(stack)
        if not any(func.endswith("handle_request") for func, _ in frames):
            continue  # master, idle workers (accept/select)
        n = int(count)
        total += n
        leaf = frames[-1]
        self_c[_short(*leaf)] += n
        for key in {_short(*f) for f in frames}:
            incl_c[key] += n
        area_c[_area(frames)] += n
    return {"samples": total, "areas": area_c.most_common(), "self": self_c.most_common(top),
            "inclusive": incl_c.most_common(top * 2)}


def report(size: int, res: dict, top: int) -> None:
    total = res["samples"] or 1
    print(f"\n=== {size} annotations: {res['samples']} samples while handling requests ===")
    print(run.table(["area", "% samples"], [[a, f"{100 * c / total:.1f}"] for a, c in res["areas"]],
                    title="By area"))
    print()
    print(run.table(["function (file)", "% self"], [[f, f"{100 * c / total:.1f}"] for f, c in res["self"]],
                    title=f"Top {top} functions by self time"))
    print()
    skip = ("handle_request", "handle (", "run (", "_run_module_as_main", "_run_code", "<module>", "wsgi_app",
            "__call__", "full_dispatch_request", "dispatch_request", "run_for_one", "accept", "spawn_worker",
            "manage_workers", "init_process", "spawn_workers", "Arbiter.", "Application.run", "BaseApplication.run",
            "Worker.", "SyncWorker.")
    rows = [[f, f"{100 * c / total:.1f}"] for f, c in res["inclusive"]
            if not any(f.startswith(s) or s in f.split(" (")[0] for s in skip)][:top]
    print(run.table(["function (file)", "% inclusive"], rows, title=f"Top {top} functions by inclusive time"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000")
    p.add_argument("--seconds", type=float, default=10.0, help="sampling time per size")
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mix", default="realistic")
    p.add_argument("--defect-rate", type=float, default=0.03)
    p.add_argument("--scene", default=None, help="a scene of bench/scenes.py, or 'realdata' (every real body in "
                                                 "turn; --sizes is then ignored)")
    p.add_argument("--keep", default=None, help="directory for the raw py-spy files and server logs")
    a = p.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("bench/profile.py needs py-spy: .venv/bin/pip install py-spy")
    extra = ["--scene", a.scene] if a.scene and a.scene != "realdata" else []
    args = run.parse_args(["--mode", "latency", "--seed", str(a.seed), "--mix", a.mix,
                           "--defect-rate", str(a.defect_rate), *extra])
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    real = None
    if a.scene == "realdata":
        real = [raw for _, raw in (run.scenes.realdata_bodies() or [])]
        if not real:
            raise SystemExit("bench/profile.py: no real corpus found (../shared/realdata)")
        sizes = [0]
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        work = Path(a.keep) if a.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        try:
            with run.servers(args, work) as (svc, _bare, _info):
                for n in sizes:
                    bodies = real or [run.payload(n, args)]
                    stop = time.monotonic() + a.seconds + 3
                    done = [0]

                    def drive():
                        c = run.Client(svc.port)
                        while time.monotonic() < stop:
                            c.post(bodies[done[0] % len(bodies)])
                            done[0] += 1
                        c.close()

                    t = threading.Thread(target=drive, daemon=True)
                    t.start()
                    time.sleep(1.0)  # warm
                    out = work / f"pyspy_{n}.txt"
                    cmd = [spy, "record", "--pid", str(svc.proc.pid), "--subprocesses", "--nonblocking",
                           "-r", str(a.rate), "-d", str(int(a.seconds)), "--format", "raw", "-o", str(out)]
                    r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds + 60)
                    t.join(a.seconds + 60)
                    if r.returncode != 0 or not out.exists():
                        raise SystemExit(f"py-spy failed ({r.returncode}): {r.stderr[-2000:]}")
                    print(f"# {n}: {done[0]} requests driven; raw stacks: {out if a.keep else '(temp)'}",
                          file=sys.stderr)
                    report(n, analyse(out, a.top), a.top)
        finally:
            run.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
