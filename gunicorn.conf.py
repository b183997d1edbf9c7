"""Production gunicorn settings for the validation webhook (used by the Procfile, the container and the tests).

Every value comes from the environment through validator/service/settings.py (the one place settings are
parsed); a bad value stops start-up with `validator: refusing to start: NAME ...` (a JSON line) and exit code 2.
docs/configuration.md lists the variables, docs/deployment.md explains the values. `validator config check`
checks the same settings without starting anything.
"""
import gc
import glob
import os
import shutil
import sys
import tempfile

from validator.service.lifecycle import install_drain
from validator.service.settings import ServerSettings, Settings, refuse

_app_settings, _problems = Settings.read()
_server, _server_problems = ServerSettings.read(argv=sys.argv)
_problems += [p for p in _server_problems if p not in _problems]
if _problems:
    refuse(_problems, json_lines=True)

# Where to listen: $PORT on every interface (a --bind on the command line, as in the Procfile, takes precedence).
bind = _server.bind

# Validation is CPU-bound (numpy/shapely/JSON): one worker per CPU the container may use (its CPU quota, else its
# affinity mask), WEB_CONCURRENCY overrides (Heroku sets it from the dyno size).
workers = _server.workers
# Reads each request completely without blocking, then handles it synchronously (validator/service/worker.py):
# slow clients cost a file descriptor, not a worker. Measured: gthread workers gave 2-3x worse p99 for this work.
worker_class = _server.worker_class
worker_connections = _server.worker_connections  # connections being read at once, per worker

# Keep-alive above a typical load balancer idle timeout (AWS ALB: 60 s), so the balancer, not us, closes idle
# connections. (Our workers answer with "Connection: close", so there is no such race with them; this matters
# with GUNICORN_WORKER_CLASS=gthread.)
keepalive = _server.keepalive

# Worker timeout: well above the request time budget (engine.time_budget_ms, default 0.8 s) plus the parse of a
# 16 MiB body, so only a truly stuck worker is killed. Never 0.
timeout = _server.timeout

# Graceful shutdown: on SIGTERM each worker drains (readyz 503) for VALIDATOR_DRAIN_SECONDS, then finishes
# in-flight requests; graceful_timeout covers both.
graceful_timeout = _server.graceful_timeout

# Load the app (config, rules) once in the master: a bad config stops start-up before any worker forks, and
# workers share the loaded code pages.
preload_app = True

# Bounded request line/header sizes (gunicorn defaults). Logs: one JSON object per line (access log on stdout,
# everything else on stderr), no request header, key or body in any of them.
limit_request_line = 8190
limit_request_fields = 100
logger_class = "validator.service.logs.GunicornLogger"
accesslog = _server.accesslog
errorlog = "-"
loglevel = _server.loglevel

# Trust X-Forwarded-* only from the local proxy by default.
forwarded_allow_ips = _server.forwarded_allow_ips

# The worker heartbeat (a timestamp update on a temporary file, between requests) goes to memory, not to a
# disk-backed /tmp: on container overlay filesystems it can block a worker (gunicorn's docs, "Blocking OS calls").
worker_tmp_dir = _server.worker_tmp_dir

# No control socket ($HOME/.gunicorn/gunicorn.ctl): instances must not write to local disk or share a path.
control_socket_disable = True


# -- metrics for the whole instance (prometheus_client multiprocess mode) ------------------------------------------
# Every worker writes its counters to files in one directory on memory; a scrape sums them. The directory must be
# known before prometheus_client is imported (with preload_app, the app is imported right after this file), and
# it must start empty: files left by a previous run would be summed in.
_OWNED = "_VALIDATOR_METRICS_DIR"  # set once this master has prepared the directory (a config reload keeps it)


def _prepare_metrics_dir() -> None:
    if os.environ.get(_OWNED) and os.environ.get(_OWNED) == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    path = _server.metrics_dir
    if path:  # given by the operator: one directory per instance, emptied now
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)
    else:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        path = tempfile.mkdtemp(prefix="validator-metrics-", dir=base)
        os.environ["_VALIDATOR_METRICS_DIR_MADE"] = path
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.environ[_OWNED] = path


_prepare_metrics_dir()


def when_ready(server):
    server.log.info("validator serving", extra={"workers": server.num_workers, "workers_from": _server.workers_source,
                                                "worker_class": _server.worker_class,
                                                "metrics_dir": os.environ.get("PROMETHEUS_MULTIPROC_DIR")})


def post_worker_init(worker):
    install_drain(worker, _server.drain_seconds)
    # Everything imported so far lives for the whole process: keep it out of the collector's generations, so
    # parsing a large body does not trigger scans of long-lived objects (measured in the performance issue).
    gc.freeze()


def child_exit(server, worker):
    # A worker's counters stay (its files are summed in by every later scrape); only its live gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    made = os.environ.get("_VALIDATOR_METRICS_DIR_MADE")
    if made:
        shutil.rmtree(made, ignore_errors=True)
