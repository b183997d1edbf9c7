"""``validator serve``: run the same app as production, on Flask's development server.

Settings are read like gunicorn's (validator/service/settings.py): a bad one is refused with
``validator: refusing to start: NAME ...`` and exit code 2, and the port is bound *before* the banner is printed,
so a port in use is refused without advertising a URL that does not work.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
from pathlib import Path

from validator.engine.config import ConfigError
from validator.engine.registry import RegistryError
from validator.service.settings import EXIT_REFUSED, PREFIX, DEFAULT_PORT, Settings, SettingsError

NAME = "serve"
HELP = "run the validation endpoint for development (production: gunicorn, see the Procfile)"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "01_boxes_attributes_nesting.json"
access_log = logging.getLogger("validator.serve")
FAILING_EXAMPLE = EXAMPLE.parent / "failing" / "01_label_not_in_taxonomy.json"  # a mistake the rules catch


def configure(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    # Parsed in run(), not here: a bad $PORT must not break every other subcommand's parser.
    parser.add_argument("--port", default=None, help=f"port (default $PORT or {DEFAULT_PORT})")
    parser.add_argument("--config", help="rule configuration TOML (default: $VALIDATOR_CONFIG, else built-in defaults)")
    parser.add_argument("--generate-key", action="store_true",
                        help="when SCALE_CALLBACK_AUTH_KEY is not set, generate a random key for this run and print "
                             "it (development)")


def _port(raw: str | None, name: str) -> tuple[int | None, str | None]:
    if raw is None or not str(raw).strip():
        return DEFAULT_PORT, None
    try:
        port = int(str(raw).strip())
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        return None, f"{name} must be an integer between 1 and 65535 (a TCP port), not {str(raw)!r}"
    return port, None


def _refuse(problems: list[str]) -> int:
    for problem in problems:
        print(PREFIX + problem, file=sys.stderr)
    return EXIT_REFUSED


def run(args) -> int:
    env = dict(os.environ)
    generated = None
    if args.generate_key and not env.get("SCALE_CALLBACK_AUTH_KEY", "").strip() \
            and not env.get("SCALE_CALLBACK_AUTH_KEY_FILE", "").strip():
        generated = "dev-" + secrets.token_urlsafe(18)
        env["SCALE_CALLBACK_AUTH_KEY"] = generated
    if args.config:
        env["VALIDATOR_CONFIG"] = args.config
    settings, problems = Settings.read(env)
    port, problem = _port(args.port, "--port") if args.port is not None else _port(env.get("PORT"), "PORT")
    if problem:
        problems.append(problem)
    if problems:
        return _refuse(problems)
    from werkzeug.serving import make_server

    try:  # bind first (our socket: werkzeug would print its own text and exit 1): nothing advertised for a port
        # we cannot have
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((args.host, port))
            sock.listen(128)
        except BaseException:
            sock.close()
            raise
        server = make_server(args.host, port, None, threaded=False, request_handler=_handler(), fd=sock.fileno())
        server._validator_socket = sock  # keep the listening socket alive with the server
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return _refuse([f"cannot listen on {args.host}:{port}: {reason}"])
    try:
        from validator.service.app import create_app

        app = create_app(settings)
    except SettingsError as exc:
        server.server_close()
        return _refuse(exc.problems)
    except (ConfigError, RegistryError) as exc:
        server.server_close()
        return _refuse([str(exc)])
    server.app = app
    url = f"http://{args.host}:{server.socket.getsockname()[1]}"
    key = generated or ("<your key>" if settings.auth_keys else None)
    print(f"\n  Scale validation webhook (development server) on {url}", file=sys.stderr)
    print(f"  config: {settings.config_path or 'built-in defaults'}", file=sys.stderr)
    if generated:
        print(f"  generated callback key for this run: {generated}", file=sys.stderr)
    example = EXAMPLE if EXAMPLE.exists() else Path("examples/01_boxes_attributes_nesting.json")
    header = f" -H 'scale-callback-auth: {key}'" if key else ""
    failing = FAILING_EXAMPLE if FAILING_EXAMPLE.exists() else Path("examples/failing/01_label_not_in_taxonomy.json")
    curl = f"curl -sS{header} -H 'content-type: application/json'"
    print(f"\n  Try it with a well-formed answer (\"pass\": true):\n    {curl} --data @{example} {url}/validate\n"
          f"  and with a mistake the rules catch (a label outside the taxonomy: \"pass\": false):\n"
          f"    {curl} --data @{failing} {url}/validate\n", file=sys.stderr, flush=True)
    print("  Production runs under gunicorn: see the Procfile and docs/deployment.md.\n", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _handler():
    """werkzeug's request handler with our access line (JSON, no colour codes, no query string, no request line
    from a malformed request) instead of its coloured text."""
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def log_request(self, code="-", size="-") -> None:
            path = getattr(self, "path", "") or ""
            try:
                status = int(code)
            except (TypeError, ValueError):
                status = 0
            access_log.info("access", extra={"logger": "access", "remote": self.address_string()[:64],
                                             "method": (getattr(self, "command", "") or "")[:16],
                                             "path": path.split("?", 1)[0], "status": status})

        def log_error(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
            # http.server's messages quote the request line ("Bad request syntax ('...')"): the kind only
            access_log.warning("invalid request", extra={"remote": self.address_string()[:64],
                                                         "error": format.split("%", 1)[0].strip()[:40]})

        def log(self, type: str, message: str, *args) -> None:  # noqa: A002
            if type == "error":
                access_log.error("request failed")
            else:
                access_log.info("dev server", extra={"note": (message % args if args else message)[:200]})

    return Handler
