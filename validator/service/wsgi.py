"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py validator.service.wsgi:app``.

A misconfiguration (no auth key, invalid rule config, a rule module that does not import) stops the process with
one clear message naming the problem, and no traceback.
"""
from __future__ import annotations

import sys

from validator.engine.config import ConfigError
from validator.engine.registry import RegistryError
from validator.service.settings import SettingsError


def _build():
    from validator.service.app import create_app

    try:
        return create_app()
    except (SettingsError, ConfigError, RegistryError) as exc:
        sys.stderr.write(f"validator: refusing to start: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(3) from None


app = _build()
