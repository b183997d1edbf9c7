"""Every process setting, parsed in one place (the service, gunicorn.conf.py, ``validator serve`` and
``validator config check`` all read the environment through this module).

A bad value never gives a traceback: every problem found is collected, and the entry point prints each as
``validator: refusing to start: NAME ...`` and exits with :data:`EXIT_REFUSED`. Secret values are never quoted
in a message.

The service (`Settings`):

| variable | default | meaning |
|---|---|---|
| `SCALE_CALLBACK_AUTH_KEY` | (required) | accepted `scale-callback-auth` keys, comma-separated (live, test, rotation) |
| `SCALE_CALLBACK_AUTH_KEY_FILE` | unset | instead of the above: a file holding the key(s) (a mounted secret) |
| `VALIDATOR_INSECURE_NO_AUTH` | unset | `1` runs without authentication, for local development only (logged loudly) |
| `VALIDATOR_CONFIG` | unset | path of the rule configuration TOML file; unset: built-in defaults |
| `VALIDATOR_MAX_BODY_BYTES` | 16777216 | larger bodies are refused with 413 before they are read |
| `VALIDATOR_LOG_LEVEL` | `INFO` | log level of the JSON logs |
| `VALIDATOR_DRAIN_SECONDS` | 5 | on SIGTERM, seconds of 503 on /readyz before the worker stops accepting |
| `VALIDATOR_READ_TIMEOUT_SECONDS` | 15 | a request (headers and body) must have arrived completely within this |
| `VALIDATOR_JIT` | `1` | `0`: the geometry's numpy references instead of its compiled kernels (same answers, slower) |

The server (`ServerSettings`, used by gunicorn.conf.py): `PORT`, `GUNICORN_BIND`, `WEB_CONCURRENCY`,
`GUNICORN_WORKER_CLASS`, `GUNICORN_WORKER_CONNECTIONS`, `GUNICORN_KEEPALIVE`, `GUNICORN_TIMEOUT`,
`GUNICORN_GRACEFUL_TIMEOUT`, `GUNICORN_ACCESSLOG`, `GUNICORN_LOGLEVEL`, `GUNICORN_WORKER_TMP_DIR`,
`FORWARDED_ALLOW_IPS`, `PROMETHEUS_MULTIPROC_DIR` (docs/configuration.md describes each).
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, NoReturn

from validator.geometry.compiled import JIT_ENV, jit_setting

DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_DRAIN_SECONDS = 5.0
DEFAULT_READ_TIMEOUT = 15.0
DEFAULT_PORT = 8000
EXIT_REFUSED = 2  # every entry point (gunicorn, validator serve) exits with this code when it refuses to start
PREFIX = "validator: refusing to start: "
BUFFERING_WORKER = "validator.service.worker.BufferingWorker"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(Exception):
    """One or more settings are missing or invalid. Each message names the variable (never a secret's value)."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


def refuse(problems: list[str], *, json_lines: bool = False, stream=None) -> NoReturn:
    """Print every problem as ``validator: refusing to start: ...`` and exit with EXIT_REFUSED.

    ``json_lines``: under gunicorn every line on stderr is a JSON object (one per problem)."""
    stream = stream or sys.stderr
    for problem in problems:
        if json_lines:
            import orjson

            stream.write(orjson.dumps({"level": "error", "logger": "validator.settings",
                                       "msg": PREFIX + problem}).decode() + "\n")
        else:
            stream.write(PREFIX + problem + "\n")
    stream.flush()
    raise SystemExit(EXIT_REFUSED)


class _Reader:
    """Reads variables from one environment, collecting every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def integer(self, name: str, default: int | None, minimum: int, maximum: int | None = None,
                why: str = "") -> int | None:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            span = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.problems.append(f"{name} must be an integer {span}{why}, not {raw!r}")
            return default
        return value

    def number(self, name: str, default: float, minimum: float, maximum: float, unit: str = "seconds") -> float:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not minimum <= value <= maximum:  # NaN fails this too
            self.problems.append(f"{name} must be a number of {unit} between {minimum:g} and {maximum:g}, not {raw!r}")
            return default
        return value

    def choice(self, name: str, default: str, allowed: tuple[str, ...], upper: bool = True) -> str:
        raw = self.raw(name)
        if raw is None:
            return default
        value = raw.upper() if upper else raw.lower()
        if value not in allowed:
            self.problems.append(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
            return default
        return value

    def secret(self, name: str) -> str | None:
        """A secret from NAME, or from the file named by NAME_FILE (a secret mounted by the orchestrator)."""
        direct = self.env.get(name)
        path = self.raw(name + "_FILE")
        if path is None:
            return direct
        if direct is not None and direct.strip():
            self.problems.append(f"{name} and {name}_FILE are both set: set only one "
                                 "(the file is for a mounted secret)")
            return None
        try:
            return Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problems.append(f"{name}_FILE names a file that does not exist: {path}")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{name}_FILE: cannot read {path} "
                                 f"({type(exc).__name__}: {exc.args[-1] if exc.args else ''})")
        return None


def split_keys(text: str | None) -> tuple[str, ...]:
    """Keys separated by commas or newlines (a key file may hold one per line); blanks ignored."""
    if not text:
        return ()
    return tuple(k.strip() for k in text.replace("\n", ",").split(",") if k.strip())


def _key_problems(keys: tuple[str, ...]) -> list[str]:
    problems = []
    for n, key in enumerate(keys, 1):
        bad = next(((i, ch) for i, ch in enumerate(key) if not (" " <= ch <= "~")), None)
        if bad is not None:
            i, ch = bad
            kind = "a non-ASCII" if ord(ch) > 127 else "a control"
            problems.append(
                f"SCALE_CALLBACK_AUTH_KEY: key {n} of {len(keys)} has {kind} character (U+{ord(ch):04X}) at position "
                f"{i + 1}; a scale-callback-auth header carries printable ASCII only, so no call could ever match it "
                "(was a typographic quote or dash pasted with the key?)")
    return problems


@dataclass(frozen=True)
class Settings:
    """The service's own settings (the app reads these)."""

    auth_keys: tuple[str, ...]
    insecure_no_auth: bool = False
    config_path: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    log_level: str = "INFO"
    drain_seconds: float = DEFAULT_DRAIN_SECONDS
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT

    def __repr__(self) -> str:  # never show keys
        return (f"Settings(auth_keys=<{len(self.auth_keys)} key(s)>, insecure_no_auth={self.insecure_no_auth}, "
                f"config_path={self.config_path!r}, max_body_bytes={self.max_body_bytes})")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        settings, problems = cls.read(environ)
        if problems:
            raise SettingsError(problems)
        return settings

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> tuple["Settings", list[str]]:
        """The settings and every problem found (the settings hold defaults where a value was refused)."""
        env = os.environ if environ is None else environ
        r = _Reader(env)
        keys = split_keys(r.secret("SCALE_CALLBACK_AUTH_KEY"))
        insecure = (r.raw("VALIDATOR_INSECURE_NO_AUTH") or "").lower() in ("1", "true", "yes")
        if not keys and not insecure and not any("SCALE_CALLBACK_AUTH_KEY" in p for p in r.problems):
            r.problems.append(
                "SCALE_CALLBACK_AUTH_KEY is not set: set it to your Scale callback auth key(s), comma-separated "
                "(live and test keys, or old and new during a rotation), or SCALE_CALLBACK_AUTH_KEY_FILE to a file "
                "holding them. For local development only, VALIDATOR_INSECURE_NO_AUTH=1 disables authentication.")
        r.problems.extend(_key_problems(keys))
        max_body = r.integer("VALIDATOR_MAX_BODY_BYTES", DEFAULT_MAX_BODY, 1024)
        level = r.choice("VALIDATOR_LOG_LEVEL", "INFO", LOG_LEVELS)
        drain = r.number("VALIDATOR_DRAIN_SECONDS", DEFAULT_DRAIN_SECONDS, 0, 300)
        read_timeout = r.number("VALIDATOR_READ_TIMEOUT_SECONDS", DEFAULT_READ_TIMEOUT, 0.5, 600)
        jit = r.raw(JIT_ENV)  # read where the kernels are loaded (validator/geometry/compiled.py); checked here
        if jit is not None and jit_setting(jit) is None:
            r.problems.append(f"{JIT_ENV} must be 1 (compiled geometry kernels, the default) or 0 (numpy only), "
                              f"not {jit!r}")
        settings = cls(auth_keys=keys, insecure_no_auth=insecure and not keys,
                       config_path=r.raw("VALIDATOR_CONFIG"), max_body_bytes=max_body, log_level=level,
                       drain_seconds=drain, read_timeout_seconds=read_timeout)
        return settings, r.problems


# -- the server (gunicorn) -----------------------------------------------------------------------------------------

def cpu_limit(cgroup_root: str | os.PathLike = "/sys/fs/cgroup") -> tuple[int, str]:
    """How many CPUs this process may really use, and where that number comes from.

    In order: the container's CPU quota (cgroup v2 ``cpu.max``, then cgroup v1 ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us``), capped by the CPU affinity mask (``taskset``, cpusets), then the host's CPU count.
    A fractional quota rounds down (2.5 CPUs: 2 CPU-bound workers, not 3 that the quota would throttle), at least 1.
    """
    root = Path(cgroup_root)
    try:
        affinity = len(os.sched_getaffinity(0))
        fallback = (affinity, "CPU affinity mask")
    except (AttributeError, OSError):
        fallback = (os.cpu_count() or 1, "CPU count")
    quota = _cgroup_quota(root)
    if quota is not None:
        value, source = quota
        count = max(1, int(value + 1e-9))
        if count < fallback[0]:
            return count, f"{source} ({value:g} CPUs)"
    return fallback


def _cgroup_quota(root: Path) -> tuple[float, str] | None:
    try:
        quota, _, period = (root / "cpu.max").read_text().strip().partition(" ")
        if quota != "max":
            return int(quota) / int(period or 100000), "cgroup v2 cpu.max"
        return None
    except (OSError, ValueError):
        pass
    for folder in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        try:
            quota_us = int((root / folder / "cpu.cfs_quota_us").read_text())
            period_us = int((root / folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        if quota_us > 0 and period_us > 0:
            return quota_us / period_us, "cgroup v1 cpu.cfs_quota_us"
        return None
    return None


@dataclass(frozen=True)
class ServerSettings:
    """gunicorn's settings from the environment (gunicorn.conf.py turns these into gunicorn's own names)."""

    port: int
    bind: str
    workers: int
    workers_source: str
    worker_class: str
    worker_connections: int
    keepalive: int
    timeout: int
    graceful_timeout: int
    drain_seconds: float
    accesslog: str | None
    loglevel: str
    worker_tmp_dir: str | None
    forwarded_allow_ips: str
    metrics_dir: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, argv: list[str] | None = None) -> "ServerSettings":
        settings, problems = cls.read(environ, argv)
        if problems:
            raise SettingsError(problems)
        return settings

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None, argv: list[str] | None = None,
             cgroup_root: str = "/sys/fs/cgroup") -> tuple["ServerSettings", list[str]]:
        env = os.environ if environ is None else environ
        r = _Reader(env)
        port = r.integer("PORT", DEFAULT_PORT, 1, 65535, " (a TCP port)")
        if argv is not None and r.raw("PORT") is None and _binds_empty_port(argv):
            r.problems.append("PORT is not set, and the command binds '...:$PORT' "
                              "(the Procfile's --bind 0.0.0.0:$PORT): set PORT, as platforms that run Procfiles do")
        bind = r.raw("GUNICORN_BIND") or f"0.0.0.0:{port}"
        cpus, source = cpu_limit(cgroup_root)
        workers = r.integer("WEB_CONCURRENCY", None, 1, None, " (0 workers would serve nothing)")
        workers_source = "WEB_CONCURRENCY"
        if workers is None:
            workers, workers_source = cpus, source
        drain = r.number("VALIDATOR_DRAIN_SECONDS", DEFAULT_DRAIN_SECONDS, 0, 300)
        timeout = r.integer("GUNICORN_TIMEOUT", 30, 1, None, " (0 would mean no timeout)")
        graceful = r.integer("GUNICORN_GRACEFUL_TIMEOUT", int(drain) + 15, int(drain) + 1, None,
                             f" (longer than VALIDATOR_DRAIN_SECONDS={drain:g}, to finish requests after the drain)")
        tmp_dir = r.raw("GUNICORN_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
        if r.raw("GUNICORN_WORKER_TMP_DIR") and not os.path.isdir(tmp_dir):
            r.problems.append(f"GUNICORN_WORKER_TMP_DIR is not a directory: {tmp_dir}")
        accesslog = env.get("GUNICORN_ACCESSLOG", "-").strip() or None
        settings = cls(
            port=port, bind=bind, workers=workers, workers_source=workers_source,
            worker_class=r.raw("GUNICORN_WORKER_CLASS") or BUFFERING_WORKER,
            worker_connections=r.integer("GUNICORN_WORKER_CONNECTIONS", 500, 1, 100000),
            keepalive=r.integer("GUNICORN_KEEPALIVE", 75, 0), timeout=timeout, graceful_timeout=graceful,
            drain_seconds=drain, accesslog=accesslog,
            loglevel=r.choice("GUNICORN_LOGLEVEL", "info", ("debug", "info", "warning", "error", "critical"),
                              upper=False),
            worker_tmp_dir=tmp_dir, forwarded_allow_ips=r.raw("FORWARDED_ALLOW_IPS") or "127.0.0.1",
            metrics_dir=r.raw("PROMETHEUS_MULTIPROC_DIR"))
        return settings, r.problems


def _binds_empty_port(argv: list[str]) -> bool:
    """Whether a ``--bind``/``-b`` argument ends in ':' (``--bind 0.0.0.0:$PORT`` with PORT unset)."""
    for n, arg in enumerate(argv):
        value = None
        if arg in ("-b", "--bind") and n + 1 < len(argv):
            value = argv[n + 1]
        elif arg.startswith("--bind="):
            value = arg[len("--bind="):]
        elif arg.startswith("-b") and len(arg) > 2:
            value = arg[2:]
        if value is not None and value.endswith(":"):
            return True
    return False


def read_all(environ: Mapping[str, str] | None = None, argv: list[str] | None = None):
    """Both layers of settings and every problem of either (``validator config check``, ``validator serve``)."""
    settings, problems = Settings.read(environ)
    server, server_problems = ServerSettings.read(environ, argv)
    return settings, server, problems + [p for p in server_problems if p not in problems]
