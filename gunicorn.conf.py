"""Production gunicorn settings for the validation webhook (used by the Procfile and the tests).

Every value can be changed through the environment variable named beside it; see docs/configuration.md (the
variables) and docs/deployment.md (why these values).
"""
import gc
import multiprocessing
import os

from validator.service.lifecycle import drain_seconds, install_drain


def _env_int(name: str, default: int, minimum: int) -> int:
    """An integer setting from the environment; a bad value stops start-up with one line naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise SystemExit(f"validator: refusing to start: {name} must be an integer >= {minimum}, not {raw!r}")
    return value


# Where to listen. The Procfile passes --bind 0.0.0.0:$PORT, which takes precedence.
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")

# Validation is CPU-bound (numpy/shapely/JSON): one sync worker per core. Measured: gthread workers gave 2-3x
# worse p99 for this work. WEB_CONCURRENCY overrides (Heroku-style platforms set it).
workers = _env_int("WEB_CONCURRENCY", multiprocessing.cpu_count(), 1)  # 0 workers would serve nothing, forever
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")

# Keep-alive above a typical load balancer idle timeout (AWS ALB: 60 s), so the balancer, not us, closes idle
# connections and never sends a request on a connection we are closing. (Sync workers answer with
# "Connection: close", so there is no such race with them; this matters when GUNICORN_WORKER_CLASS=gthread.)
keepalive = _env_int("GUNICORN_KEEPALIVE", 75, 0)

# Worker timeout: well above the request time budget (engine.time_budget_ms, default 0.8 s) plus the parse of a
# 16 MiB body, so only a truly stuck worker is killed. Never 0.
timeout = _env_int("GUNICORN_TIMEOUT", 30, 1)  # 0 would mean "no timeout" to gunicorn

# Graceful shutdown: on SIGTERM each worker drains (readyz 503) for VALIDATOR_DRAIN_SECONDS, then finishes
# in-flight requests; graceful_timeout covers both.
_drain = drain_seconds()
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", int(_drain) + 15, int(_drain) + 1)  # drain, then finish

# Load the app (config, rules) once in the master: a bad config stops start-up before any worker forks, and
# workers share the loaded code pages.
preload_app = True

# Bounded request line/header sizes (gunicorn defaults), no request headers in any log.
limit_request_line = 8190
limit_request_fields = 100
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
access_log_format = ('{"logger":"access","remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
                     '"bytes":%(B)s,"duration_us":%(D)s}')
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")

# Trust X-Forwarded-* only from the local proxy by default.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    install_drain(worker, _drain)
    # Everything imported so far lives for the whole process: keep it out of the collector's generations, so
    # parsing a large body does not trigger scans of long-lived objects (measured in the performance issue).
    gc.freeze()

# The worker heartbeat (a timestamp update on a temporary file, between requests) goes to memory, not to a
# disk-backed /tmp: on container overlay filesystems it can block a worker (gunicorn's docs, "Blocking OS calls").
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)

# No control socket ($HOME/.gunicorn/gunicorn.ctl): instances must not write to local disk or share a path.
control_socket_disable = True
