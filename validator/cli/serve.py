"""``validator serve``: run the same app as production, on Flask's development server."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from validator.engine.config import ConfigError
from validator.engine.registry import RegistryError
from validator.service.settings import Settings, SettingsError

NAME = "serve"
HELP = "run the validation endpoint for development (production: gunicorn, see the Procfile)"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "01_boxes_attributes_nesting.json"
FAILING_EXAMPLE = EXAMPLE.parent / "failing" / "01_label_not_in_taxonomy.json"  # a mistake the rules catch


def configure(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                        help="port (default $PORT or 8000)")
    parser.add_argument("--config", help="rule configuration TOML (default: $VALIDATOR_CONFIG, else built-in defaults)")
    parser.add_argument("--generate-key", action="store_true",
                        help="when SCALE_CALLBACK_AUTH_KEY is not set, generate a random key for this run and print "
                             "it (development)")


def run(args) -> int:
    env = dict(os.environ)
    generated = None
    if args.generate_key and not env.get("SCALE_CALLBACK_AUTH_KEY", "").strip():
        generated = "dev-" + secrets.token_urlsafe(18)
        env["SCALE_CALLBACK_AUTH_KEY"] = generated
    if args.config:
        env["VALIDATOR_CONFIG"] = args.config
    try:
        settings = Settings.from_env(env)
        from validator.service.app import create_app

        app = create_app(settings)
    except (SettingsError, ConfigError, RegistryError) as exc:
        print(f"validator: refusing to start: {exc}", file=sys.stderr)
        return 2
    url = f"http://{args.host}:{args.port}"
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
          f"    {curl} --data @{failing} {url}/validate\n", file=sys.stderr)
    print("  Production runs under gunicorn: see the Procfile and docs/deployment.md.\n", file=sys.stderr)
    from werkzeug.serving import run_simple

    run_simple(args.host, args.port, app, threaded=False, use_reloader=False, use_debugger=False)
    return 0
