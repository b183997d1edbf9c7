"""Process settings from the environment (secrets never come from files in the repo).

| variable | default | meaning |
|---|---|---|
| `SCALE_CALLBACK_AUTH_KEY` | (required) | accepted `scale-callback-auth` keys, comma-separated (live, test, rotation) |
| `VALIDATOR_INSECURE_NO_AUTH` | unset | `1` runs without authentication, for local development only (logged loudly) |
| `VALIDATOR_CONFIG` | unset | path of the rule configuration TOML file; unset: built-in defaults |
| `VALIDATOR_MAX_BODY_BYTES` | 16777216 | larger bodies are refused with 413 before they are read |
| `VALIDATOR_LOG_LEVEL` | `INFO` | log level of the JSON logs |
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

DEFAULT_MAX_BODY = 16 * 1024 * 1024


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable (never its value when it is a secret)."""


@dataclass(frozen=True)
class Settings:
    auth_keys: tuple[str, ...]
    insecure_no_auth: bool = False
    config_path: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        keys = tuple(k.strip() for k in env.get("SCALE_CALLBACK_AUTH_KEY", "").split(",") if k.strip())
        insecure = env.get("VALIDATOR_INSECURE_NO_AUTH", "").strip().lower() in ("1", "true", "yes")
        if not keys and not insecure:
            raise SettingsError(
                "SCALE_CALLBACK_AUTH_KEY is not set: set it to your Scale callback auth key(s), comma-separated "
                "(live and test keys, or old and new during a rotation). For local development only, "
                "VALIDATOR_INSECURE_NO_AUTH=1 disables authentication.")
        raw_max = env.get("VALIDATOR_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY)).strip()
        try:
            max_body = int(raw_max)
            if max_body < 1024:
                raise ValueError
        except ValueError:
            raise SettingsError(f"VALIDATOR_MAX_BODY_BYTES must be an integer >= 1024, not {raw_max!r}") from None
        level = env.get("VALIDATOR_LOG_LEVEL", "INFO").strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(f"VALIDATOR_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
        return cls(auth_keys=keys, insecure_no_auth=insecure and not keys,
                   config_path=env.get("VALIDATOR_CONFIG") or None, max_body_bytes=max_body, log_level=level)
