#!/usr/bin/env python
"""Benchmark harness for issue 6: is validation within a small factor of merely receiving and parsing the body?

Starts the service and a bare WSGI app (``bench/bare_app.py``: read body, orjson-parse, answer a small JSON) under
the SAME gunicorn command and settings (the ``web:`` line of the Procfile, ``gunicorn.conf.py``), each on a free
127.0.0.1 port, and measures them side by side.

Modes (``--mode``, default ``latency``):

* ``latency``: per size, alternating requests (service, bare, service, bare, ...) over one client connection per
  server (kept alive when the server allows it); prints the medians, their ratio, the service p90 and the target.
* ``load``: a bounded concurrent load (``--connections`` for ``--duration`` seconds) against each server at
  ``--load-size`` annotations (wrk with a Lua script when ``wrk`` is on PATH, else a Python multi-process client);
  prints req/s, p50, p99, errors and the req/s ratio service/bare (target >= 1/3).
* ``stages``: in-process break-down of one validation by stage (parse, envelope, extraction, geometry, each rule,
  serialisation), no HTTP involved.
* ``all``: the three, in that order.

Everything is bounded (``--max-seconds-per-size``, ``--duration``) and the servers are always shut down (process
groups, SIGTERM then SIGKILL), also on Ctrl-C and errors. ``--json FILE`` also writes the results.

Example (the command used for the README table)::

    .venv/bin/python bench/run.py --mode all --sizes 10,100,1000,10000 --requests 200 --duration 10
"""

from __future__ import annotations

import argparse
import atexit
import collections
import contextlib
import gc
import http.client
import math
import multiprocessing
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from validator.testing.payloads import make_body  # noqa: E402

from bench import scenes  # noqa: E402

AUTH_KEY = "bench-key"
AUTH_HEADER = "scale-callback-auth"
BARE_APP = "bench.bare_app:app"
DEFAULT_COMMAND = ("python -m validator.service.gunicorn_main -c gunicorn.conf.py --bind 0.0.0.0:$PORT "
                   "validator.service.wsgi:app")  # when no Procfile
TARGETS = {100: 3.0, 1000: 2.0, 10000: 2.0}  # max service/bare latency ratio, from the issue
LOAD_TARGET = 1 / 3  # min service/bare req/s ratio under load


# --------------------------------------------------------------------------------------------- statistics


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (q in [0, 1]); NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))
    return s[k]


def ms(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "-"
    v = seconds * 1e3
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def table(headers: list[str], rows: list[list], title: str | None = None) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths))
    out = [title] if title else []
    out += [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------- servers

_SERVERS: list["Server"] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command() -> tuple[str, str]:
    """The ``web:`` command of the Procfile (and where it came from), or the documented default."""
    procfile = ROOT / "Procfile"
    if procfile.exists():
        for line in procfile.read_text().splitlines():
            m = re.match(r"\s*web\s*:\s*(.+)$", line)
            if m:
                return m.group(1).strip(), "Procfile"
    return DEFAULT_COMMAND, "default (no Procfile web: line)"


def build_argv(command: str, app: str, port: int) -> list[str]:
    """The Procfile command with its app replaced by ``app``, bound to 127.0.0.1:port, gunicorn from this venv."""
    command = command.replace("${PORT}", str(port)).replace("$PORT", str(port))
    argv = shlex.split(command)
    while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):  # leading VAR=value
        argv.pop(0)
    if argv and Path(argv[0]).name == "gunicorn":
        argv = [sys.executable, "-m", "gunicorn", *argv[1:]]
    elif argv[:2] == ["python", "-m"] and len(argv) > 2:  # python -m validator.service.gunicorn_main ...
        argv = [sys.executable, *argv[1:]]
    else:
        raise SystemExit(f"bench: expected a gunicorn command (or python -m ...) in the Procfile, got {command!r}")
    if argv[-1].startswith("-"):
        raise SystemExit(f"bench: cannot find the app argument (last token) in {command!r}")
    argv = argv[:-1]
    # Same settings, but loopback only: any --bind of the command is rewritten to 127.0.0.1:port.
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("-b", "--bind"):
            skip = True
            continue
        if a.startswith("--bind=") or (a.startswith("-b") and len(a) > 2):
            continue
        out.append(a)
    return out + ["--bind", f"127.0.0.1:{port}", app]


class Server:
    def __init__(self, name: str, argv: list[str], env: dict, port: int, ready_path: str, logdir: Path):
        self.name, self.argv, self.env, self.port, self.ready_path = name, argv, env, port, ready_path
        self.log_path = logdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.started = math.nan
        self.ready_seconds = math.nan

    def start(self) -> "Server":
        self._log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        _SERVERS.append(self)
        return self

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for the readiness path to answer 200; ``ready_seconds`` = time from ``start()`` to that answer."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: {self.name} exited with {self.proc.returncode}; log {self.log_path}:\n"
                                 f"{self.log_tail()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", self.ready_path, headers={AUTH_HEADER: AUTH_KEY})
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    self.ready_seconds = time.monotonic() - self.started
                    return
                last = f"HTTP {r.status}"
            except OSError as e:
                last = repr(e)
            time.sleep(0.1)
        raise SystemExit(f"bench: {self.name} not ready after {timeout:.0f}s ({last}); log {self.log_path}:\n"
                         f"{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master), Linux /proc; empty elsewhere."""
        pids: list[int] = []
        if self.proc is None:
            return pids
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                    pids += [int(x) for x in f.read().split()]
        return pids

    def memory(self) -> dict:
        """Memory of the master and each worker (MiB, /proc/PID/smaps_rollup): RSS, PSS (shared pages divided by
        the processes sharing them: what copy-on-write after ``preload_app`` saves shows here), USS (private)."""
        out = {"master": _smaps(self.proc.pid) if self.proc else {}, "workers": [_smaps(p) for p in self.worker_pids()]}
        out["workers"] = [w for w in out["workers"] if w]
        return out

    def reset_peaks(self) -> None:
        """Reset the workers' peak RSS (VmHWM) to their current RSS (Linux: ``echo 5 > /proc/PID/clear_refs``)."""
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")

    def peak_rss_mib(self) -> float:
        """The largest peak RSS (VmHWM, MiB) among the workers since the last ``reset_peaks``."""
        peak = math.nan
        for pid in self.worker_pids():
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        v = int(line.split()[1]) / 1024
                        peak = v if peak != peak else max(peak, v)
        return peak

    def cpu_seconds(self) -> float:
        """User+system CPU time of the gunicorn master and its workers so far (Linux /proc; NaN elsewhere)."""
        if self.proc is None:
            return math.nan
        pids = [self.proc.pid]
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                    pids += [int(x) for x in f.read().split()]
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
            except (OSError, IndexError, ValueError):
                continue
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)  # gunicorn master + its workers (own session)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):  # stray workers left in the group
            os.killpg(p.pid, signal.SIGKILL)


def _smaps(pid: int) -> dict:
    """RSS, PSS and USS (private clean + dirty) of one process in MiB, from /proc/PID/smaps_rollup
    ({} if unreadable)."""
    vals: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
            vals[parts[0][:-1]] = int(parts[1]) / 1024
    if "Rss" not in vals:
        return {}
    return {"rss": vals["Rss"], "pss": vals.get("Pss", math.nan),
            "uss": vals.get("Private_Clean", 0.0) + vals.get("Private_Dirty", 0.0)}


def stop_all() -> None:
    while _SERVERS:
        s = _SERVERS.pop()
        with contextlib.suppress(Exception):
            s.stop()


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def servers(args, logdir: Path):
    """Start the service and the bare app with the same gunicorn command and env; always stop them."""
    command, source = (args.command, "--command") if args.command else procfile_command()
    env = dict(os.environ)
    env.update({"SCALE_CALLBACK_AUTH_KEY": AUTH_KEY, "WEB_CONCURRENCY": str(args.workers),
                "PYTHONUNBUFFERED": "1",
                # shutdown only: no load balancer to drain for, so stop at once instead of after 5 s
                "VALIDATOR_DRAIN_SECONDS": os.environ.get("VALIDATOR_DRAIN_SECONDS", "0")})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    service_app = args.service_app or shlex.split(command)[-1]
    sp, bp = free_port(), free_port()
    while bp == sp:
        bp = free_port()
    svc = Server("service", build_argv(command, service_app, sp), dict(env, PORT=str(sp)), sp,
                 args.ready_path, logdir)
    bare = Server("bare", build_argv(command, BARE_APP, bp), dict(env, PORT=str(bp)), bp, "/", logdir)
    info = {"command_source": source, "command": command, "service_argv": svc.argv, "bare_argv": bare.argv,
            "env": {"SCALE_CALLBACK_AUTH_KEY": AUTH_KEY, "WEB_CONCURRENCY": str(args.workers)}}
    print(f"# gunicorn command from {source}: {command}")
    print(f"# service: {shlex.join(svc.argv)}")
    print(f"# bare:    {shlex.join(bare.argv)}")
    print(f"# env: SCALE_CALLBACK_AUTH_KEY={AUTH_KEY} WEB_CONCURRENCY={args.workers}; logs in {logdir}")
    try:
        svc.start()  # one after the other, so that each start-up time is its own
        svc.wait_ready(args.ready_timeout)
        bare.start()
        bare.wait_ready(args.ready_timeout)
        yield svc, bare, info
    finally:
        stop_all()


# --------------------------------------------------------------------------------------------- client


class _Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """One connection to one server: kept alive when the server allows it, reopened transparently otherwise."""

    def __init__(self, port: int, timeout: float = 60.0):
        self.port, self.timeout = port, timeout
        self.conn = _Conn("127.0.0.1", port, timeout=timeout)
        self.headers = {"Content-Type": "application/json", AUTH_HEADER: AUTH_KEY}

    def post(self, body: bytes, path: str = "/validate") -> tuple[int, bytes, float]:
        """(status, body, seconds from sending the request to having read the whole answer)."""
        for attempt in (0, 1):
            t0 = time.perf_counter()
            try:
                self.conn.request("POST", path, body=body, headers=self.headers)
                r = self.conn.getresponse()
                data = r.read()
                dt = time.perf_counter() - t0
                if r.will_close:
                    self.conn.close()
                return r.status, data, dt
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.conn.close()  # a kept-alive connection the server had closed: retry once, fresh timer
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        self.conn.close()


def answer_summary(status: int, data: bytes) -> str:
    if status != 200:
        return f"HTTP {status}"
    try:
        a = orjson.loads(data)
        n = sum(len(v) for v in (a.get("issues") or {}).values()) + len(a.get("globalIssues") or [])
        return f"{'pass' if a.get('pass') else 'fail'}/{n}"
    except Exception:  # noqa: BLE001
        return "bad JSON"


# --------------------------------------------------------------------------------------------- payloads


def payload(n: int, args) -> bytes:
    """The body of ``n`` annotations: ``--scene``'s when given (bench/scenes.py), else ``make_body``'s."""
    if getattr(args, "scene", None):
        return scenes.scene_bytes(args.scene, n, seed=args.seed)
    return orjson.dumps(make_body(n, seed=args.seed, mix=args.mix, defect_rate=args.defect_rate))


# --------------------------------------------------------------------------------------------- latency


def run_latency(args, svc: Server, bare: Server) -> list[dict]:
    rows, results = [], []
    sc, bc = Client(svc.port), Client(bare.port)
    try:
        for n in args.sizes:
            raw = payload(n, args)
            warm = max(2, min(20, args.requests // 5))
            for _ in range(warm):
                sc.post(raw)
                bc.post(raw)
            st, sdata, _ = sc.post(raw)
            answer = answer_summary(st, sdata)
            s_t, b_t, s_err, b_err = [], [], 0, 0
            s_cpu0, b_cpu0 = svc.cpu_seconds(), bare.cpu_seconds()
            deadline = time.monotonic() + args.max_seconds_per_size
            for i in range(args.requests):
                if i >= 5 and time.monotonic() > deadline:
                    break
                st, _, dt = sc.post(raw)
                s_t.append(dt)
                s_err += st != 200
                st, _, dt = bc.post(raw)
                b_t.append(dt)
                b_err += st != 200
            s_cpu = (svc.cpu_seconds() - s_cpu0) / len(s_t)
            b_cpu = (bare.cpu_seconds() - b_cpu0) / len(b_t)
            b_med, s_med = statistics.median(b_t), statistics.median(s_t)
            ratio = s_med / b_med
            target = TARGETS.get(n)
            met = "-" if target is None else ("yes" if ratio <= target else "NO")
            res = {"size": n, "body_bytes": len(raw), "requests": len(s_t), "bare_median_ms": b_med * 1e3,
                   "service_median_ms": s_med * 1e3, "ratio": ratio, "service_p90_ms": quantile(s_t, 0.9) * 1e3,
                   "bare_p90_ms": quantile(b_t, 0.9) * 1e3, "target_ratio": target, "met": met,
                   "bare_min_ms": min(b_t) * 1e3, "service_min_ms": min(s_t) * 1e3,
                   "min_ratio": min(s_t) / min(b_t),
                   "service_cpu_ms_per_req": s_cpu * 1e3, "bare_cpu_ms_per_req": b_cpu * 1e3,
                   "service_errors": s_err, "bare_errors": b_err, "service_answer": answer}
            results.append(res)
            rows.append([n, f"{len(raw) / 1024:.0f}", len(s_t), ms(b_med), ms(s_med), f"{ratio:.2f}",
                         ms(quantile(s_t, 0.9)), "-" if target is None else f"<={target:g}x", met,
                         f"{s_err}/{b_err}", answer, f"{min(s_t) / min(b_t):.2f}",
                         f"{ms(s_cpu)}/{ms(b_cpu)}"])
            print(f"  size {n}: done ({len(s_t)} alternating pairs)", file=sys.stderr, flush=True)
    finally:
        sc.close()
        bc.close()
    print()
    print(table(["size", "body KB", "reqs", "bare med ms", "service med ms", "ratio", "service p90 ms", "target",
                 "met?", "errors s/b", "answer", "min ratio", "CPU ms/req s/b"], rows,
                title=f"Latency: alternating POST /validate, medians (seed {args.seed}, mix {args.mix}, "
                      f"defect rate {args.defect_rate:g})"))
    return results


# --------------------------------------------------------------------------------------------- load

_WRK_LUA = r"""
wrk.method = "POST"
wrk.path = "/validate"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["scale-callback-auth"] = "%(key)s"
local f = assert(io.open("%(body)s", "rb"))
wrk.body = f:read("*a")
f:close()

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%%d,\"duration_us\":%%d,\"p50_us\":%%d,\"p99_us\":%%d,\"max_us\":%%d," ..
    "\"connect\":%%d,\"read\":%%d,\"write\":%%d,\"status\":%%d,\"timeout\":%%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _load_wrk(port: int, body_file: Path, args, workdir: Path) -> dict:
    lua = workdir / "post.lua"
    lua.write_text(_WRK_LUA % {"key": AUTH_KEY, "body": str(body_file)})
    threads = max(1, min(args.wrk_threads, args.connections))
    cmd = ["wrk", "-t", str(threads), "-c", str(args.connections), "-d", f"{args.duration:g}s",
           "--timeout", "10s", "-s", str(lua), f"http://127.0.0.1:{port}/validate"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60)
    m = re.search(r"BENCHJSON (\{.*\})", p.stdout)
    if not m:
        raise SystemExit(f"bench: wrk failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    r = orjson.loads(m.group(1))
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return {"client": f"wrk -t{threads} -c{args.connections}", "requests": r["requests"],
            "req_per_s": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1e3,
            "p99_ms": r["p99_us"] / 1e3, "errors": errors,
            "error_detail": {k: r[k] for k in ("connect", "read", "write", "status", "timeout")}}


def _py_load_worker(port: int, body: bytes, threads: int, duration: float, queue) -> None:
    deadline = time.monotonic() + duration
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def loop():
        c = Client(port, timeout=10)
        mine, err = [], 0
        while time.monotonic() < deadline:
            try:
                st, _, dt = c.post(body)
                if st == 200:
                    mine.append(dt)
                else:
                    err += 1
            except OSError:
                err += 1
                c.close()
        c.close()
        with lock:
            lat.extend(mine)
            errors[0] += err

    ts = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(duration + 30)
    queue.put((lat, errors[0]))


def _load_python(port: int, body: bytes, args) -> dict:
    procs_n = max(1, min(os.cpu_count() or 1, args.connections))
    per = [args.connections // procs_n + (i < args.connections % procs_n) for i in range(procs_n)]
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_py_load_worker, args=(port, body, k, args.duration, q), daemon=True) for k in per]
    for p in procs:
        p.start()
    lat, errors = [], 0
    try:
        for _ in procs:
            worker_lat, e = q.get(timeout=args.duration + 60)
            lat += worker_lat
            errors += e
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
    elapsed = time.perf_counter() - t0
    return {"client": f"python {procs_n} procs x threads, {args.connections} conns", "requests": len(lat) + errors,
            "req_per_s": len(lat) / min(elapsed, args.duration + 1e-9) if lat else 0.0,
            "p50_ms": quantile(lat, 0.5) * 1e3, "p99_ms": quantile(lat, 0.99) * 1e3, "errors": errors}


def run_load(args, svc: Server, bare: Server, workdir: Path, raw: bytes | None = None, what: str = "",
             target: float = LOAD_TARGET) -> dict:
    n = args.load_size
    raw = payload(n, args) if raw is None else raw
    body_file = workdir / f"body_{n}.json"
    body_file.write_bytes(raw)
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk
    out = {"size": n, "connections": args.connections, "duration_s": args.duration}
    for name, server in (("service", svc), ("bare", bare)):
        c = Client(server.port)  # warm-up
        for _ in range(20):
            c.post(raw)
        c.close()
        print(f"  load: {name} for {args.duration:g}s ...", file=sys.stderr, flush=True)
        cpu0 = server.cpu_seconds()
        out[name] = (_load_wrk(server.port, body_file, args, workdir) if use_wrk
                     else _load_python(server.port, raw, args))
        out[name]["cpu_ms_per_req"] = (server.cpu_seconds() - cpu0) / max(1, out[name]["requests"]) * 1e3
    ratio = out["service"]["req_per_s"] / out["bare"]["req_per_s"] if out["bare"]["req_per_s"] else math.nan
    out["ratio"], out["target_ratio"] = ratio, target
    out["met"] = "yes" if ratio >= target else "NO"
    rows = [[name, out[name]["client"], out[name]["requests"], f"{out[name]['req_per_s']:.0f}",
             f"{out[name]['p50_ms']:.2f}", f"{out[name]['p99_ms']:.2f}", out[name]["errors"],
             f"{out[name]['cpu_ms_per_req']:.2f}"]
            for name in ("service", "bare")]
    print()
    print(table(["server", "client", "requests", "req/s", "p50 ms", "p99 ms", "errors", "CPU ms/req"], rows,
                title=f"Load: {args.connections} connections, {args.duration:g}s each, {n} annotations "
                      f"({len(raw) / 1024:.0f} KB){what}"))
    print(f"req/s ratio service/bare: {ratio:.3f} (target >= {target:.3f}): {out['met']}")
    return out


# --------------------------------------------------------------------------------------------- stages


def _median_of(fn, repeat: int, budget: float):
    """(median seconds, last result) of fn() over up to ``repeat`` runs, fewer (at least 3) past ``budget`` s."""
    times, result = [], None
    deadline = time.monotonic() + budget
    for i in range(repeat):
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
        result = r = None if i < repeat - 1 and time.monotonic() <= deadline else r  # free outside the timer
        if i >= 2 and time.monotonic() > deadline:
            break
    return statistics.median(times), result


def _engine_stages(result) -> dict[str, float] | None:
    """Per-stage timings (seconds) the engine exposes on its Result (``stages_ms``), if any."""
    for attr, scale in (("stages_ms", 1e-3), ("stages", 1.0), ("timings", 1.0)):
        t = getattr(result, attr, None)
        if isinstance(t, dict) and t and all(isinstance(v, (int, float)) for v in t.values()):
            return {str(k): float(v) * scale for k, v in t.items()}
    return None


_GC_PAUSES = [0.0, 0.0]  # [accumulated seconds, start of the current collection]


def _gc_timer(phase: str, info: dict) -> None:
    if phase == "start":
        _GC_PAUSES[1] = time.perf_counter()
    else:
        _GC_PAUSES[0] += time.perf_counter() - _GC_PAUSES[1]


def _flask_client():
    """An in-process test client of the real app (its logs silenced), or None when the app cannot be built."""
    os.environ.setdefault("SCALE_CALLBACK_AUTH_KEY", AUTH_KEY)
    try:
        from validator.service.app import create_app  # noqa: PLC0415

        devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process's log handler
        with contextlib.redirect_stderr(devnull):
            app = create_app()
        import logging  # noqa: PLC0415

        for h in logging.getLogger().handlers:  # the app logs one JSON line per request: keep it, discard it
            if isinstance(h, logging.StreamHandler):
                h.setStream(devnull)
        return app.test_client()
    except Exception as e:  # noqa: BLE001
        print(f"  (Flask app not measurable in-process: {e!r})", file=sys.stderr)
        return None


def run_stages(args) -> list[dict]:
    """In-process break-down of one request: parse, engine stages (envelope, extraction, each rule), answer, dumps.

    The engine builds geometry lazily inside the first rule that touches ``ctx.geometry``, so that rule's time
    includes it; the row "geometry (separately)" builds the same GeometryIndex (geoms, bounds, STRtree) on its own
    to show how much of it that is.
    """
    from validator.scale import jsonio  # noqa: PLC0415

    try:
        from validator.engine.engine import Engine  # noqa: PLC0415
    except ImportError as e:
        print(f"\nStages: validator.engine not importable ({e}); skipped.")
        return []
    engine = Engine.from_config_file(None)
    client = _flask_client()
    # As the production workers do (gunicorn.conf.py post_worker_init): long-lived objects out of the collector's
    # generations, so a big parse does not trigger scans of them. Without this, 10,000-annotation parses here are
    # ~1.5x slower than in the workers.
    gc.collect()
    gc.freeze()
    gc.callbacks.append(_gc_timer)
    # Mirror the app's request path: bytes straight into the engine when it offers that (the typed fast path),
    # and the collector paused during validation when the app does so.
    by_bytes = callable(getattr(engine, "validate_bytes", None))
    app_pauses_gc = False
    with contextlib.suppress(Exception):
        import inspect  # noqa: PLC0415

        import validator.service.app as app_module  # noqa: PLC0415

        app_pauses_gc = "gc.disable()" in inspect.getsource(app_module)
    print(f"# stages: request = {'engine.validate_bytes(raw)' if by_bytes else 'engine.validate(jsonio.loads(raw))'}"
          f"{', collector paused during validation (as validator/service/app.py does)' if app_pauses_gc else ''}")
    results = []
    for n in args.sizes:
        raw = payload(n, args)
        repeat, budget = args.stage_repeat, args.max_seconds_per_size / 3
        t_orjson, _ = _median_of(lambda: orjson.loads(raw), repeat, budget)
        # One request's work, in order, as the app does it; the collector runs naturally (no forced collections),
        # its pauses are timed with gc.callbacks and reported as one amortised row (mean per request).
        seg: dict[str, list[float]] = {k: [] for k in ("parse", "validate", "answer", "dumps", "counts", "free")}
        per_run: list[dict[str, float]] = []
        gc_total: list[float] = []
        gc_validate: list[float] = []
        gc_counts: list[float] = []
        answer_bytes = b""
        result = None
        deadline = time.monotonic() + budget
        for i in range(repeat):
            result = None
            _GC_PAUSES[0] = 0.0
            if app_pauses_gc:
                gc.disable()
            t0 = time.perf_counter()
            body = None if by_bytes else jsonio.loads(raw)
            t1 = time.perf_counter()
            g_parse = _GC_PAUSES[0]
            result = engine.validate_bytes(raw) if by_bytes else engine.validate(body)
            t2 = time.perf_counter()
            g_val = _GC_PAUSES[0] - g_parse
            g2 = _GC_PAUSES[0]
            answer = result.answer
            t3 = time.perf_counter()
            g3 = _GC_PAUSES[0]
            answer_bytes = jsonio.dumps(answer)
            t4 = time.perf_counter()
            g4 = _GC_PAUSES[0]
            counts = result.counts() if callable(getattr(result, "counts", None)) else None
            t5 = time.perf_counter()
            g5 = _GC_PAUSES[0]
            per_run.append(_engine_stages(result) or {})
            g_before_free = _GC_PAUSES[0]
            t5 = time.perf_counter()
            del body, answer, counts
            if i < repeat - 1:
                result = None  # the request's objects die at the end of every request
            if app_pauses_gc:
                gc.enable()  # as the app does: once the answer is sent and the request's objects are freed
            t6 = time.perf_counter()
            g_free = _GC_PAUSES[0] - g_before_free
            seg["parse"].append(t1 - t0 - g_parse)
            seg["validate"].append(t2 - t1)
            seg["answer"].append(t3 - t2 - (g3 - g2))
            seg["dumps"].append(t4 - t3 - (g4 - g3))
            seg["counts"].append(t5 - t4 - (g5 - g4))
            gc_counts.append(g5 - g4)
            seg["free"].append(t6 - t5 - g_free)
            gc_total.append(_GC_PAUSES[0])
            gc_validate.append(g_val)
            if i >= 2 and time.monotonic() > deadline:
                break
        med = {k: statistics.median(v) for k, v in seg.items()}
        t_validate = med["validate"]
        gc_mean = statistics.fmean(gc_total)

        rows: list[tuple[str, float]] = [
            ("parse: inside engine.validate_bytes (envelope row)" if by_bytes
             else "parse (jsonio.loads, GC pauses excluded)", med["parse"])]
        engine_stages: dict[str, float] = {}
        if per_run and per_run[-1]:
            keys = list(dict.fromkeys(k for r in per_run for k in r))
            engine_stages = {k: statistics.median([r.get(k, 0.0) for r in per_run]) for k in keys}
            for k, v in engine_stages.items():
                rows.append((f"engine: {k}", v))
            rows.append(("engine: other (context, ordering)", max(0.0, t_validate - sum(engine_stages.values()))))
        else:
            rows.append(("engine.validate (no per-stage timings exposed)", t_validate))
        rows += [("answer (result.answer)", med["answer"]), ("serialise (jsonio.dumps)", med["dumps"]),
                 ("result.counts() (for the log line, GC pauses excluded)", med["counts"]),
                 ("free body + result (refcounting)", med["free"]),
                 ("GC pauses, mean per request (all phases)", gc_mean)]
        total = sum(v for _, v in rows)

        extra: list[tuple[str, float]] = [
            ("orjson.loads alone (reference)", t_orjson),
            ("  of the GC pauses: inside validate (also in the rule rows above)", statistics.fmean(gc_validate)),
            ("  of the GC pauses: in result.counts(), first allocation after gc.enable()",
             statistics.fmean(gc_counts))]
        bare_gc = []
        for _ in range(min(repeat, 10)):  # the bare app's request: parse, drop; its collector pauses
            _GC_PAUSES[0] = 0.0
            b = orjson.loads(raw)
            del b
            bare_gc.append(_GC_PAUSES[0])
        extra.append(("bare app's GC pauses, mean per request (parse + free)", statistics.fmean(bare_gc)))
        # What reference cycles keep alive after a request (the collector frees it later, inside another one):
        gc.collect()
        body = None if by_bytes else jsonio.loads(raw)
        r = engine.validate_bytes(raw) if by_bytes else engine.validate(body)
        del body, r
        gc.set_debug(gc.DEBUG_SAVEALL)
        t0 = time.perf_counter()
        kept = gc.collect()
        t_cycles = time.perf_counter() - t0
        gc.set_debug(0)
        kinds = collections.Counter(type(o).__name__ for o in gc.garbage)
        gc.garbage.clear()
        extra.append((f"forced full collection after one request ({kept} objects in cycles)", t_cycles))
        bare_free = []
        for _ in range(min(repeat, 10)):
            b = orjson.loads(raw)
            t0 = time.perf_counter()
            del b
            bare_free.append(time.perf_counter() - t0)
        extra.append(("free a parsed body alone (the bare app pays this)", statistics.median(bare_free)))
        try:
            from validator.scale.annotations import extract  # noqa: PLC0415
            from validator.geometry.index import GeometryIndex  # noqa: PLC0415

            anns_raw = orjson.loads(raw)["response"]["annotations"]

            def geometry():
                g = GeometryIndex(extract(anns_raw))
                return g.geoms, g.bounds, g.tree

            t_ext, _ = _median_of(lambda: extract(anns_raw), repeat, budget)
            t_geo, _ = _median_of(geometry, repeat, budget)
            extra.append(("geometry (separately: geoms+bounds+STRtree)", max(0.0, t_geo - t_ext)))
        except Exception as e:  # noqa: BLE001
            print(f"  (geometry not measurable separately: {e!r})", file=sys.stderr)
        if client is not None:
            headers = {AUTH_HEADER: AUTH_KEY, "Content-Type": "application/json"}
            t_app, r = _median_of(lambda: client.post("/validate", data=raw, headers=headers), repeat, budget)
            extra.append((f"whole Flask app in-process (test client, HTTP {r.status_code})", t_app))

        res = {"size": n, "body_bytes": len(raw), "runs": len(seg["validate"]),
               "stages_ms": {k: v * 1e3 for k, v in rows}, "reference_ms": {k: v * 1e3 for k, v in extra},
               "engine_validate_ms": t_validate * 1e3, "sum_ms": total * 1e3,
               "objects_left_in_cycles": kept, "cycle_garbage_types": dict(kinds.most_common(8)),
               "answer": answer_summary(200, answer_bytes),
               "budget_exhausted": getattr(result, "budget_exhausted", None),
               "rule_failures": getattr(result, "rule_failures", None)}
        results.append(res)
        out = [[k, ms(v), f"{100 * v / total:.1f}%", f"{v / t_orjson:.2f}"] for k, v in rows]
        out.append(["sum", ms(total), "100%", f"{total / t_orjson:.2f}"])
        out += [[k, ms(v), "", f"{v / t_orjson:.2f}"] for k, v in extra]
        print()
        print(table(["stage", "median ms", "% of sum", "x orjson"], out,
                    title=f"Stages in-process, {n} annotations ({len(raw) / 1024:.0f} KB), {len(seg['validate'])} "
                          f"runs, answer {res['answer']}"
                          + (", BUDGET EXHAUSTED" if res["budget_exhausted"] else "")
                          + (f", rule failures {res['rule_failures']}" if res["rule_failures"] else "")))
        if kept:
            print(f"  objects a request leaves in reference cycles: {kept} "
                  f"({', '.join(f'{k} {v}' for k, v in kinds.most_common(5))})")
    return results


# --------------------------------------------------------------------------------------------- scenes (issue 14)

SCENE_TARGET = 2.0  # issue 14: at most 2x the bare app in every scene (a)-(e) at every size
SCENE_GOAL = 1.5
SCENE_LOAD_TARGET = 0.5  # issue 14: at least half the bare app's req/s at 100 annotations, 16 connections


def _issue_types(status: int, data: bytes) -> collections.Counter:
    c: collections.Counter = collections.Counter()
    if status != 200:
        return c
    with contextlib.suppress(Exception):
        a = orjson.loads(data)
        for v in (a.get("issues") or {}).values():
            c.update(i.get("errorType") for i in v)
        c.update(i.get("errorType") for i in a.get("globalIssues") or [])
    return c


def alternate(sc: Client, bc: Client, svc: Server, bare: Server, raw: bytes, requests: int, max_seconds: float,
              warm: int) -> dict:
    """Alternating requests service, bare, service, bare ... of one body; medians, ratio, CPU per request."""
    for _ in range(warm):
        sc.post(raw)
        bc.post(raw)
    s_t, b_t, s_err, b_err = [], [], 0, 0
    s_cpu0, b_cpu0 = svc.cpu_seconds(), bare.cpu_seconds()
    deadline = time.monotonic() + max_seconds
    answer, types = "-", collections.Counter()
    for i in range(requests):
        if i >= min(requests, 5) and time.monotonic() > deadline:
            break
        st, data, dt = sc.post(raw)
        if i == 0:
            answer, types = answer_summary(st, data), _issue_types(st, data)
        s_t.append(dt)
        s_err += st != 200
        st, _, dt = bc.post(raw)
        b_t.append(dt)
        b_err += st != 200
    b_med, s_med = statistics.median(b_t), statistics.median(s_t)
    return {"body_bytes": len(raw), "requests": len(s_t), "bare_median_ms": b_med * 1e3,
            "service_median_ms": s_med * 1e3, "ratio": s_med / b_med, "min_ratio": min(s_t) / min(b_t),
            "service_p90_ms": quantile(s_t, 0.9) * 1e3,
            "service_cpu_ms_per_req": (svc.cpu_seconds() - s_cpu0) / len(s_t) * 1e3,
            "bare_cpu_ms_per_req": (bare.cpu_seconds() - b_cpu0) / len(b_t) * 1e3,
            "service_errors": s_err, "bare_errors": b_err, "service_answer": answer,
            "issue_types": dict(types.most_common())}


def _met(ratio: float) -> str:
    return "yes" if ratio <= SCENE_TARGET else "NO"


def _scene_rows(scene: str, res: list[dict]) -> None:
    rows = []
    for r in res:
        if r.get("skipped"):
            rows.append([r["size"], f"{r['body_bytes'] / 1024:.0f}", "-", "-", "-", "-", "-", "-", "-", "-",
                         r["skipped"], "-", "-"])
            continue
        fmt = sum(r["issue_types"].get(t, 0) for t in scenes.FORMAT_ERROR_TYPES)
        rows.append([r["size"], f"{r['body_bytes'] / 1024:.0f}", r["requests"], ms(r["bare_median_ms"] / 1e3),
                     ms(r["service_median_ms"] / 1e3), f"{r['ratio']:.2f}", f"{r['min_ratio']:.2f}",
                     ms(r["service_p90_ms"] / 1e3), _met(r["ratio"]), f"{r['service_errors']}/{r['bare_errors']}",
                     r["service_answer"] + (f" FORMAT ISSUES {fmt}" if fmt else ""),
                     f"{r['service_cpu_ms_per_req']:.2f}/{r['bare_cpu_ms_per_req']:.2f}",
                     ", ".join(f"{k} {v}" for k, v in list(r["issue_types"].items())[:3]) or "-"])
    print()
    print(table(["size", "body KB", "reqs", "bare med ms", "service med ms", "ratio", "min ratio", "service p90 ms",
                 f"<={SCENE_TARGET:g}x?", "errors s/b", "answer", "CPU ms/req s/b", "issues (top 3)"], rows,
                title=f"Scene {scenes.SCENE_TITLES[scene]}: alternating POST /validate, medians"))


def run_realdata(args, sc: Client, bc: Client, svc: Server, bare: Server) -> dict | None:
    """Every body of the real corpus, alternating service and bare, ``--realdata-rounds`` times; per body the median
    of its rounds; the sums over all bodies and their ratio."""
    bodies = scenes.realdata_bodies(limit=args.realdata_limit)
    if bodies is None:
        print(f"\nScene {scenes.SCENE_TITLES['realdata']}: SKIPPED: no *.jsonl.gz in "
              f"{scenes.ROOT.parent / 'shared' / 'realdata'} (set VALIDATOR_REALDATA to its directory)")
        return None
    for _, raw in bodies[: min(len(bodies), 50)]:  # warm-up
        sc.post(raw)
        bc.post(raw)
    per_s: list[list[float]] = [[] for _ in bodies]
    per_b: list[list[float]] = [[] for _ in bodies]
    s_err = b_err = 0
    types: collections.Counter = collections.Counter()
    s_cpu0, b_cpu0 = svc.cpu_seconds(), bare.cpu_seconds()
    deadline = time.monotonic() + args.realdata_seconds
    rounds = 0
    for rnd in range(args.realdata_rounds):
        if rnd and time.monotonic() > deadline:
            break
        rounds += 1
        for k, (_, raw) in enumerate(bodies):
            st, data, dt = sc.post(raw)
            per_s[k].append(dt)
            s_err += st != 200
            if rnd == 0:
                types += _issue_types(st, data)
            st, _, dt = bc.post(raw)
            per_b[k].append(dt)
            b_err += st != 200
    s_cpu = (svc.cpu_seconds() - s_cpu0) / (rounds * len(bodies)) * 1e3
    b_cpu = (bare.cpu_seconds() - b_cpu0) / (rounds * len(bodies)) * 1e3
    s_sum = sum(statistics.median(v) for v in per_s)
    b_sum = sum(statistics.median(v) for v in per_b)
    n_anns = sum(raw.count(b'"uuid"') for _, raw in bodies)
    res = {"bodies": len(bodies), "rounds": rounds, "annotations_approx": n_anns,
           "body_bytes": sum(len(r) for _, r in bodies), "service_sum_ms": s_sum * 1e3, "bare_sum_ms": b_sum * 1e3,
           "ratio": s_sum / b_sum, "service_mean_ms": s_sum / len(bodies) * 1e3,
           "bare_mean_ms": b_sum / len(bodies) * 1e3, "service_cpu_ms_per_req": s_cpu, "bare_cpu_ms_per_req": b_cpu,
           "service_errors": s_err, "bare_errors": b_err, "issue_types": dict(types.most_common())}
    print()
    print(table(["bodies", "rounds", "MB", "bare sum ms", "service sum ms", "ratio", f"<={SCENE_TARGET:g}x?",
                 "bare mean ms", "service mean ms", "errors s/b", "CPU ms/req s/b", "issues (top 3)"],
                [[len(bodies), rounds, f"{res['body_bytes'] / 1e6:.1f}", f"{b_sum * 1e3:.0f}", f"{s_sum * 1e3:.0f}",
                  f"{res['ratio']:.2f}", _met(res["ratio"]), ms(b_sum / len(bodies)), ms(s_sum / len(bodies)),
                  f"{s_err}/{b_err}", f"{s_cpu:.2f}/{b_cpu:.2f}",
                  ", ".join(f"{k} {v}" for k, v in types.most_common(3)) or "-"]],
                title=f"Scene {scenes.SCENE_TITLES['realdata']}: each body once per round, alternating; per body "
                      f"the median of its rounds, summed over all bodies"))
    return res


def run_adversarial(args, svc: Server, bare: Server) -> list[dict]:
    """Each hostile body of issue 10 once to each side (after resetting the workers' peak RSS): time, answer, peak
    memory. No ratio target."""
    out, rows = [], []
    sc, bc = Client(svc.port, timeout=120), Client(bare.port, timeout=120)
    try:
        for name, raw in scenes.adversarial_bodies(quick=args.quick, heavy=args.adversarial_heavy):
            svc.reset_peaks()
            base = max((w["rss"] for w in svc.memory()["workers"]), default=math.nan)
            cpu0 = svc.cpu_seconds()
            try:
                st, data, dt = sc.post(raw)
            except OSError as e:  # a worker killed by its timeout or the kernel: say so, go on
                st, data, dt = -1, repr(e).encode(), math.nan
                sc.close()
            cpu = svc.cpu_seconds() - cpu0
            peak = svc.peak_rss_mib()
            bare.reset_peaks()
            bst, _, bdt = bc.post(raw)
            bpeak = bare.peak_rss_mib()
            res = {"body": name, "body_bytes": len(raw), "service_status": st, "service_ms": dt * 1e3,
                   "service_cpu_ms": cpu * 1e3, "service_answer": answer_summary(st, data) if st > 0 else data.decode(),
                   "answer_bytes": len(data), "service_worker_rss_before_mib": base,
                   "service_worker_peak_rss_mib": peak, "bare_status": bst, "bare_ms": bdt * 1e3,
                   "bare_worker_peak_rss_mib": bpeak,
                   "issue_types": dict(_issue_types(st, data).most_common()) if st > 0 else {}}
            out.append(res)
            rows.append([name, f"{len(raw) / 1024:.0f}", st, ms(dt), f"{cpu * 1e3:.0f}", res["service_answer"],
                         f"{len(data) / 1024:.1f}", f"{base:.0f}", f"{peak:.0f}", ms(bdt), f"{bpeak:.0f}",
                         ", ".join(f"{k} {v}" for k, v in list(res["issue_types"].items())[:3]) or "-"])
            print(f"  adversarial: {name}: {ms(dt)} ms, peak {peak:.0f} MiB", file=sys.stderr, flush=True)
    finally:
        sc.close()
        bc.close()
    print()
    print(table(["body", "KB", "status", "service ms", "CPU ms", "answer", "answer KB", "worker RSS before MiB",
                 "worker peak MiB", "bare ms", "bare peak MiB", "issues (top 3)"], rows,
                title=f"Scene {scenes.SCENE_TITLES['adversarial']}: one request each, time and worker peak RSS "
                      f"(VmHWM, reset before each body); no ratio target"))
    return out


def _memory_line(name: str, mem: dict) -> str:
    w = mem["workers"]
    if not w:
        return f"{name}: no worker memory readable"
    return (f"{name}: master RSS {mem['master'].get('rss', math.nan):.0f} MiB; {len(w)} workers, each RSS "
            f"{statistics.fmean(x['rss'] for x in w):.0f} / PSS {statistics.fmean(x['pss'] for x in w):.0f} / "
            f"USS {statistics.fmean(x['uss'] for x in w):.0f} MiB (mean)")


def run_scenes(args, svc: Server, bare: Server, workdir: Path) -> dict:
    deadline = time.monotonic() + 10  # every worker forked (the readiness answer needs only one)
    while time.monotonic() < deadline and min(len(svc.worker_pids()), len(bare.worker_pids())) < args.workers:
        time.sleep(0.1)
    time.sleep(0.5)
    out: dict = {"startup_s": {"service": svc.ready_seconds, "bare": bare.ready_seconds},
                 "memory_at_start": {"service": svc.memory(), "bare": bare.memory()}, "scenes": {}}
    print(f"\nStart-up (process start to first 200 on the readiness path): service {svc.ready_seconds:.2f} s, "
          f"bare {bare.ready_seconds:.2f} s")
    print("Memory after start-up: " + _memory_line("service", out["memory_at_start"]["service"]) + "; "
          + _memory_line("bare", out["memory_at_start"]["bare"]))
    sc, bc = Client(svc.port), Client(bare.port)
    # The first requests after start-up, before any warm-up: each worker's first request pays whatever is done
    # lazily after the fork (imports on first use, caches), again after every worker restart.
    cold_raw = scenes.scene_bytes("street", 100, seed=args.seed)  # boxes, polygons, the exact overlap path
    cold = {"service": [], "bare": []}
    for _ in range(2 * args.workers):
        cold["service"].append(sc.post(cold_raw)[2] * 1e3)
        cold["bare"].append(bc.post(cold_raw)[2] * 1e3)
    out["first_requests_ms"] = cold
    print(f"First {2 * args.workers} requests after start-up (street, 100 annotations; cold workers), ms: service "
          f"{', '.join(f'{x:.1f}' for x in cold['service'])}; bare {', '.join(f'{x:.1f}' for x in cold['bare'])}")
    matrix: dict[str, dict[int, float]] = {}
    cpu_matrix: dict[str, dict[int, float]] = {}  # service/bare CPU seconds per request (/proc): load-independent
    try:
        for scene in args.scenes:
            if scene in ("realdata", "adversarial"):
                continue
            res = []
            for n in args.sizes:
                raw = scenes.scene_bytes(scene, n, seed=args.seed)
                if not scenes.fits_limit(raw):
                    res.append({"size": n, "body_bytes": len(raw),
                                "skipped": f"SKIPPED: {len(raw) / 2**20:.1f} MiB > the 16 MiB body limit"})
                    continue
                warm = max(2, min(10, args.requests // 10))
                r = alternate(sc, bc, svc, bare, raw, args.requests, args.max_seconds_per_size, warm)
                r["size"] = n
                res.append(r)
                matrix.setdefault(scene, {})[n] = r["ratio"]
                if r["bare_cpu_ms_per_req"] * r["requests"] >= 200:  # enough clock ticks (10 ms) to mean something
                    cpu_matrix.setdefault(scene, {})[n] = r["service_cpu_ms_per_req"] / r["bare_cpu_ms_per_req"]
                print(f"  scene {scene} {n}: ratio {r['ratio']:.2f} ({r['requests']} pairs)", file=sys.stderr,
                      flush=True)
            out["scenes"][scene] = res
            _scene_rows(scene, res)
        if "realdata" in args.scenes:
            rd = run_realdata(args, sc, bc, svc, bare)
            out["realdata"] = rd
            if rd:
                matrix["realdata"] = {0: rd["ratio"]}
                if rd["bare_cpu_ms_per_req"] * rd["bodies"] * rd["rounds"] >= 200:
                    cpu_matrix["realdata"] = {0: rd["service_cpu_ms_per_req"] / rd["bare_cpu_ms_per_req"]}
    finally:
        sc.close()
        bc.close()
    if args.load_scene:
        args.load_size = 100
        raw = scenes.scene_bytes(args.load_scene, 100, seed=args.seed)
        load = run_load(args, svc, bare, workdir, raw=raw, what=f", scene {args.load_scene}",
                        target=SCENE_LOAD_TARGET)  # issue 14's target (prints it), not the generator round's 1/3
        out["load"] = load
    if "adversarial" in args.scenes:
        out["adversarial"] = run_adversarial(args, svc, bare)
    out["memory_at_end"] = {"service": svc.memory(), "bare": bare.memory()}
    print("\nMemory at the end: " + _memory_line("service", out["memory_at_end"]["service"]) + "; "
          + _memory_line("bare", out["memory_at_end"]["bare"]))
    # the summary: one line per scene, one column per size (the issue's table)
    sizes = list(args.sizes)
    out["summary"] = {kind: {scene: {("all" if n == 0 else str(n)): v for n, v in by.items()}
                             for scene, by in m.items()}
                      for kind, m in (("latency_ratio", matrix), ("cpu_ratio", cpu_matrix))}
    rows = []
    for scene, by in matrix.items():
        cpu = cpu_matrix.get(scene, {})
        if scene == "realdata":
            rows.append([scenes.SCENE_TITLES[scene][:3] + " realdata (sum)",
                         f"{by[0]:.2f}x" + (f" ({cpu[0]:.1f})" if 0 in cpu else "")] + [""] * (len(sizes) - 1))
        else:
            rows.append([f"{scenes.SCENE_TITLES[scene][:3]} {scene}"]
                        + [(f"{by[n]:.2f}x" + (f" ({cpu[n]:.1f})" if n in cpu else "")) if n in by else "-"
                           for n in sizes])
    if "load" in out:
        rows.append([f"load 100, {args.connections} conns (req/s ratio)", f"{out['load']['ratio']:.2f}"]
                    + [""] * (len(sizes) - 1))
    if not rows:
        return out
    print()
    print(table(["scene", *[f"{n:,}" for n in sizes]], rows,
                title=f"Summary: service/bare median latency ratio (target <= {SCENE_TARGET:g}x, goal "
                      f"{SCENE_GOAL:g}x; load: >= {SCENE_LOAD_TARGET:g}); in brackets the CPU-per-request ratio "
                      f"(/proc, less sensitive to other processes on the machine)"))
    return out


# --------------------------------------------------------------------------------------------- main


def _uptime() -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_info() -> dict:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import importlib.metadata as md  # noqa: PLC0415

    versions = {}
    for dist in ("gunicorn", "flask", "marshmallow", "orjson", "numpy", "shapely"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[dist] = md.version(dist)
    git = {}
    with contextlib.suppress(Exception):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "validator", "rules", "gunicorn.conf.py",
                                "Procfile"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
        git = {"head": head, "dirty_files": len(dirty.splitlines())}
    return {"git": git, "loadavg": os.getloadavg(), "cpu": cpu, "cores": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(), "versions": versions,
            "wrk": shutil.which("wrk")}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mode", choices=("latency", "load", "stages", "all", "scenes"), default="latency")
    p.add_argument("--sizes", default=None, help="annotation counts, comma-separated (default 10,100,1000,10000; "
                                                 "--quick: 10,100)")
    p.add_argument("--requests", type=int, default=None,
                   help="alternating pairs per size (latency, scenes; default 200, --quick: 3)")
    p.add_argument("--max-seconds-per-size", type=float, default=None,
                   help="stop a size earlier when this budget is spent (at least 5 pairs; default 60 s, scenes 15 s)")
    p.add_argument("--scenes", default=",".join([*scenes.SCENES, "realdata", "adversarial"]),
                   help="scenes mode: which scenes, comma-separated")
    p.add_argument("--quick", action="store_true",
                   help="scenes mode smoke run (CI): sizes 10,100, 3 pairs, 10 real bodies, small adversarial "
                        "bodies, 1 s of load")
    p.add_argument("--realdata-rounds", type=int, default=None, help="scenes mode: rounds over the corpus (3)")
    p.add_argument("--realdata-limit", type=int, default=None, help="scenes mode: only the first N real bodies")
    p.add_argument("--realdata-seconds", type=float, default=120.0,
                   help="scenes mode: no new round over the corpus after this many seconds")
    p.add_argument("--adversarial-heavy", action="store_true",
                   help="scenes mode: add 40,000 identical points and 100,000 identical boxes (gigabytes on "
                        "unbounded code)")
    p.add_argument("--load-scene", default="mix", help="scenes mode: the load test's body (100 annotations of this "
                                                       "scene); empty for no load test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mix", choices=("realistic", "boxes"), default="realistic")
    p.add_argument("--defect-rate", type=float, default=0.03)
    p.add_argument("--scene", choices=tuple(scenes.SCENES), default=None,
                   help="latency, load, stages: the bodies of this scene (bench/scenes.py) instead of --mix")
    p.add_argument("--connections", type=int, default=16, help="load mode")
    p.add_argument("--duration", type=float, default=10.0, help="load mode: seconds per server")
    p.add_argument("--load-size", type=int, default=100, help="load mode: annotations per request")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--no-wrk", action="store_true", help="load mode: use the Python client even if wrk exists")
    p.add_argument("--stage-repeat", type=int, default=30, help="stages mode: runs per stage (median)")
    p.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY for both servers")
    p.add_argument("--service-app", default=None,
                   help="override the service's WSGI app (e.g. bench.bare_app:app to test the harness)")
    p.add_argument("--command", default=None,
                   help="override the gunicorn command (default: the Procfile's web: line); the last token is "
                        "the app, replaced by bench.bare_app:app for the bare side")
    p.add_argument("--ready-path", default="/readyz")
    p.add_argument("--ready-timeout", type=float, default=60.0)
    p.add_argument("--wait-quiet", type=float, default=0.0,
                   help="wait up to this many seconds for the 1-min load average to drop below --max-load")
    p.add_argument("--max-load", type=float, default=0.7)
    p.add_argument("--logs", default=None, help="keep the servers' logs (and wrk's files) in this directory")
    p.add_argument("--json", dest="json_file", default=None, help="also write the results to this file")
    args = p.parse_args(argv)
    q = args.quick
    args.sizes = [int(s) for s in (args.sizes or ("10,100" if q else "10,100,1000,10000")).split(",") if s.strip()]
    args.requests = args.requests if args.requests is not None else (3 if q else 200)
    if args.max_seconds_per_size is None:
        args.max_seconds_per_size = 5.0 if q else 15.0 if args.mode == "scenes" else 60.0
    args.realdata_rounds = args.realdata_rounds or (1 if q else 3)
    if q and args.realdata_limit is None:
        args.realdata_limit = 10
    if q and "--duration" not in " ".join(argv if argv is not None else sys.argv):
        args.duration = 1.0
    args.scenes = [s.strip() for s in args.scenes.split(",") if s.strip()]
    unknown = [s for s in args.scenes if s not in scenes.SCENE_TITLES]
    if unknown:
        p.error(f"unknown scene(s) {', '.join(unknown)}; choose from {', '.join(scenes.SCENE_TITLES)}")
    if args.requests < 1 or args.duration <= 0 or args.connections < 1:
        p.error("--requests, --duration and --connections must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C works even when started with SIGINT ignored
    atexit.register(stop_all)
    if args.wait_quiet > 0:  # a shared machine: start when other processes have calmed down (bounded wait)
        deadline = time.monotonic() + args.wait_quiet
        while os.getloadavg()[0] > args.max_load and time.monotonic() < deadline:
            time.sleep(5)
    info = machine_info()
    print(f"# machine: {info['cpu']}, {info['cores']} cores, {info['platform']}, Python {info['python']}")
    print(f"# versions: {' '.join(f'{k} {v}' for k, v in info['versions'].items())}; wrk: {info['wrk'] or 'absent'}")
    print(f"# command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    if info.get("git"):
        g = info["git"]
        print(f"# code: git {g['head']}" + (f" + {g['dirty_files']} uncommitted file(s) in validator/, rules/"
                                           if g["dirty_files"] else " (clean)"))
    results: dict = {"machine": info, "argv": sys.argv, "args": {k: v for k, v in vars(args).items()}}
    modes = ("latency", "load", "stages") if args.mode == "all" else (args.mode,)
    if "scenes" in modes:
        print(f"# uptime: {_uptime()}")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        if args.logs:
            workdir = Path(args.logs)
            workdir.mkdir(parents=True, exist_ok=True)
        try:
            if "latency" in modes or "load" in modes or "scenes" in modes:
                with servers(args, workdir) as (svc, bare, sinfo):
                    results["servers"] = sinfo
                    if "scenes" in modes:
                        results["scenes"] = run_scenes(args, svc, bare, workdir)
                    if "latency" in modes:
                        results["latency"] = run_latency(args, svc, bare)
                    if "load" in modes:
                        results["load"] = run_load(args, svc, bare, workdir)
            if "stages" in modes:
                results["stages"] = run_stages(args)
        except KeyboardInterrupt:
            print("\nbench: interrupted; servers stopped", file=sys.stderr)
            return 130
        finally:
            stop_all()
    results["loadavg_end"] = os.getloadavg()
    if "scenes" in modes:
        print(f"# uptime at the end: {_uptime()}")
    print(f"\n# load average at start {info['loadavg'][0]:.2f}, at end {results['loadavg_end'][0]:.2f} "
          f"(1 min; {info['cores']} cores: anything above ~0.5 means other processes competed for the CPU)")
    if args.json_file:
        Path(args.json_file).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_file).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
                                                      default=str))
        print(f"\n# results written to {args.json_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
