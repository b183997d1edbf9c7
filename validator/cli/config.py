"""``validator config check``: the environment, the gunicorn settings and the rule configuration, checked together
without starting anything (like ``nginx -t``). Every problem is listed at once; exit 0 when there is none, 1
otherwise. Run it in the deployment's environment (a container's env and mounted secrets, a dyno's config vars)
before rolling out.
"""
from __future__ import annotations

import os
import sys

NAME = "config"
HELP = "check a deployment's configuration: environment, gunicorn settings, rule config (exit 0/1)"
DESCRIPTION = ("Check a deployment's configuration without starting the service: the environment (keys, limits, "
               "ports), the gunicorn settings gunicorn.conf.py derives from it, and the rule configuration TOML, "
               "with every problem listed at once. Exit code 0 when all is well, 1 otherwise.")


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION")
    check = sub.add_parser("check", help="check everything; exit 0 when all is well, 1 otherwise",
                           description=DESCRIPTION)
    check.add_argument("--config", help="rule configuration TOML (default: $VALIDATOR_CONFIG, else built-in defaults)")
    check.add_argument("--quiet", "-q", action="store_true", help="print problems only")
    parser.set_defaults(_config_parser=parser)


def run(args) -> int:
    if getattr(args, "config_command", None) != "check":
        args._config_parser.print_help(sys.stderr)
        return 2
    problems, summary = check(dict(os.environ), args.config)
    out = sys.stdout
    if not args.quiet:
        for line in summary:
            print(line, file=out)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}:", file=out)
        for problem in problems:
            for n, line in enumerate(problem.splitlines()):
                print(("  - " if n == 0 else "    ") + line, file=out)
        return 1
    if not args.quiet:
        print("configuration OK", file=out)
    return 0


def check(env: dict[str, str], config_path: str | None = None) -> tuple[list[str], list[str]]:
    """(problems, summary lines) for this environment and rule config."""
    from validator.service.settings import ServerSettings, Settings

    if config_path:
        env = {**env, "VALIDATOR_CONFIG": config_path}
    settings, problems = Settings.read(env)
    server, server_problems = ServerSettings.read(env)
    problems += [p for p in server_problems if p not in problems]
    summary = [
        f"keys:     {len(settings.auth_keys)} callback key(s)"
        + (" (AUTHENTICATION OFF: VALIDATOR_INSECURE_NO_AUTH)" if settings.insecure_no_auth else ""),
        f"bind:     {server.bind}",
        f"workers:  {server.workers} (from {server.workers_source}), class {server.worker_class}",
        f"timeouts: worker {server.timeout} s, graceful {server.graceful_timeout} s, drain "
        f"{server.drain_seconds:g} s, request read {settings.read_timeout_seconds:g} s",
        f"body:     at most {settings.max_body_bytes} bytes",
    ]
    problems += _gunicorn_problems(server)
    engine_cfg = None
    try:
        from validator.engine.config import ConfigError
        from validator.engine.engine import Engine
        from validator.engine.registry import RegistryError

        try:
            engine_cfg = Engine.from_config_file(settings.config_path).config
        except (ConfigError, RegistryError) as exc:
            problems.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - a rule module that fails oddly: still a listed problem
        problems.append(f"rules: loading failed ({type(exc).__name__}: {exc})")
    if engine_cfg is not None:
        budget_s = engine_cfg.time_budget_ms / 1000.0
        summary.append(f"rules:    {settings.config_path or 'built-in defaults'}: {len(engine_cfg.instances)} "
                       f"instance(s), failure policy {engine_cfg.failure_policy}, time budget "
                       f"{engine_cfg.time_budget_ms:g} ms")
        if server.timeout < 2 * budget_s + 5:
            problems.append(f"GUNICORN_TIMEOUT={server.timeout} s is too close to the time budget "
                            f"({engine_cfg.time_budget_ms:g} ms): a worker could be killed in a legitimate "
                            f"request; keep it above {int(2 * budget_s + 5)} s")
        if settings.read_timeout_seconds <= budget_s:
            problems.append(f"VALIDATOR_READ_TIMEOUT_SECONDS={settings.read_timeout_seconds:g} is not above the "
                            f"time budget ({engine_cfg.time_budget_ms:g} ms)")
    if server.metrics_dir and os.path.exists(server.metrics_dir) and not os.access(server.metrics_dir, os.W_OK):
        problems.append(f"PROMETHEUS_MULTIPROC_DIR is not writable: {server.metrics_dir}")
    return problems, summary


def _gunicorn_problems(server) -> list[str]:
    """What gunicorn itself would refuse: its own validation of each setting, and the worker class import."""
    saved = os.environ.pop("WEB_CONCURRENCY", None)  # gunicorn.config reads it at import (checked above)
    try:
        from gunicorn.config import Config
    finally:
        if saved is not None:
            os.environ["WEB_CONCURRENCY"] = saved
    cfg = Config()
    problems = []
    values = {"bind": [server.bind], "workers": server.workers, "worker_class": server.worker_class,
              "worker_connections": server.worker_connections, "keepalive": server.keepalive,
              "timeout": server.timeout, "graceful_timeout": server.graceful_timeout,
              "loglevel": server.loglevel, "forwarded_allow_ips": server.forwarded_allow_ips}
    for name, value in values.items():
        try:
            cfg.set(name, value)
        except Exception as exc:  # noqa: BLE001 - gunicorn raises ValueError/TypeError with its own message
            problems.append(f"gunicorn setting {name}: {exc}")
    try:
        cfg.worker_class  # noqa: B018 - imports the class
    except Exception as exc:  # noqa: BLE001
        problems.append(f"GUNICORN_WORKER_CLASS={server.worker_class!r} cannot be loaded ({type(exc).__name__})")
    host, _, port = server.bind.rpartition(":")
    if server.bind.startswith(("unix:", "fd://")) is False and not port.isdigit():
        problems.append(f"GUNICORN_BIND={server.bind!r} has no port (expected HOST:PORT)")
    return problems
