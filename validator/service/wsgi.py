"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py validator.service.wsgi:app``.

A misconfiguration (no auth key, invalid rule config, a rule module that does not import) stops the process with
one line per problem, ``validator: refusing to start: ...`` (a JSON log line, like everything gunicorn writes), no
traceback, and exit code 2 (settings.EXIT_REFUSED), before any worker forks.
"""
from __future__ import annotations

from validator.engine.config import ConfigError
from validator.engine.registry import RegistryError
from validator.service.settings import SettingsError, refuse


def _build():
    from validator.service.app import create_app

    try:
        return create_app()
    except SettingsError as exc:
        refuse(exc.problems, json_lines=True)
    except (ConfigError, RegistryError) as exc:
        refuse([str(exc)], json_lines=True)


app = _build()
