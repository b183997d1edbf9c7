"""A small client for Scale's real-time validation self-test: ``POST /linting/task/<id>/send-lint-callback``.

Scale receives the call, sends a validation request for that task to ``callbackURL`` (our deployment), checks
the answer's format and returns the answer as its own response, or HTTP 400 when the format is wrong.

Conventions follow Scale's API and its official Python client: HTTP Basic auth with the API key as the user
name and an empty password, JSON error bodies ``{"status_code": ..., "error": "..."}``, and retries of 408,
429, 5xx and connection errors (three retries, exponential backoff). Unlike urllib3's ``Retry`` the loop here
bounds the *total* time, including backoff sleeps and every attempt's timeouts.

Every error raised is a :class:`ScaleAPIError` whose message is safe to print: it never contains the API key.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Callable
from urllib.parse import quote, urlsplit, urlunsplit

import requests

__all__ = [
    "DEFAULT_BASE_URL",
    "RETRY_STATUSES",
    "ScaleAPIError",
    "ScaleAuthError",
    "ScaleBadRequestError",
    "ScaleNotFoundError",
    "ScaleURLError",
    "ScaleWrongBaseURLError",
    "ScaleUnreachableError",
    "ScaleRetriesExhaustedError",
    "send_lint_callback",
    "lint_callback_url",
    "url_problem",
]

DEFAULT_BASE_URL = "https://api.scale.com/v1"
#: What Scale's official client retries (``status_forcelist``); connection errors are retried as well.
RETRY_STATUSES = frozenset([408, 429, *range(500, 600)])
USER_AGENT = "scale-realtime-validator/selftest"


class ScaleAPIError(Exception):
    """A call to Scale's API did not produce a validation response. ``str(err)`` is safe to print."""

    #: One word for the kind of failure, for command-line output.
    kind = "error"

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None,
                 attempts: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url
        self.attempts = attempts


class ScaleAuthError(ScaleAPIError):
    """401: Scale refused the API key (missing, wrong, or for the other environment)."""
    kind = "API key refused"


class ScaleNotFoundError(ScaleAPIError):
    """404: no such task (or not visible to this API key)."""
    kind = "not found"


class ScaleBadRequestError(ScaleAPIError):
    """400: Scale rejected the call; most often because our endpoint's answer had the wrong format."""
    kind = "bad request"

    @property
    def invalid_validation_response(self) -> bool:
        return "invalid validation response" in self.message.lower()


class ScaleWrongBaseURLError(ScaleNotFoundError):
    """404 with a body that is not Scale's JSON error: the server that answered is most likely not Scale's API
    (a base URL with a typo, a missing ``/v1``, a proxy's page)."""
    kind = "wrong base URL"


class ScaleURLError(ScaleAPIError, ValueError):
    """A URL given to the client is malformed (no http(s) scheme, no host, a bad port). Raised before any call."""
    kind = "usage"


class ScaleUnreachableError(ScaleAPIError):
    """Scale's API could not be reached (DNS, refused connection, TLS, timeout)."""
    kind = "unreachable"


class ScaleRetriesExhaustedError(ScaleAPIError):
    """Scale kept answering with a retryable status (408, 429, 5xx) until retries or time ran out."""
    kind = "retries exhausted"


def url_problem(url: str, what: str) -> str | None:
    """Why ``url`` cannot be used as an http(s) URL (one sentence naming ``what``), or None when it can.

    Checked before anything is sent: ``127.0.0.1:9`` (no scheme) would otherwise be retried as a connection
    error and end in requests' ``InvalidSchema``."""
    shown = repr(url)
    if not isinstance(url, str) or not url.strip():
        return f"{what} is empty"
    if url != url.strip() or any(c.isspace() for c in url):
        return f"{what} {shown} contains white space"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in 0-65535
    except ValueError as exc:
        return f"{what} {shown} is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        if "://" not in url:
            return f"{what} {shown} has no http:// or https:// scheme (did you mean 'https://{url}'?)"
        return f"{what} {shown} must be an http:// or https:// URL, not {parts.scheme}://"
    if not parts.hostname:
        return f"{what} {shown} has no host name"
    if port == 0:
        return f"{what} {shown} has port 0"
    return None


def _scale_error_message(resp: requests.Response) -> str | None:
    """The ``error`` of Scale's JSON error body (``{"status_code": 404, "error": "..."}``), or None when the body is
    anything else (HTML, text, other JSON)."""
    try:
        body = _loads(resp.content)
    except Exception:  # noqa: BLE001
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip():
        return body["error"]
    return None


def lint_callback_url(base_url: str, task_id: str) -> str:
    return f"{base_url.rstrip('/')}/linting/task/{quote(str(task_id), safe='')}/send-lint-callback"


def _redact_url(url: str) -> str:
    """Drop user-info (``https://key:@host``) from a URL before it goes into a message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if parts.username is not None or parts.password is not None:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)


def _redactor(secret: str | None) -> Callable[[str], str]:
    def redact(text: str) -> str:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
        return text
    return redact


def _loads(data: bytes) -> Any:
    try:
        from validator.scale import jsonio  # orjson with a NaN-tolerant fallback, when the service code is present
        return jsonio.loads(data)
    except ImportError:
        return json.loads(data)


def _error_text(resp: requests.Response, limit: int = 500) -> str:
    """Scale's own error message (``{"error": ...}``), else the start of the body."""
    try:
        body = _loads(resp.content)
    except Exception:  # noqa: BLE001 - any undecodable body falls back to text
        body = None
    if isinstance(body, dict) and body.get("error") not in (None, ""):
        err = body["error"]
        text = err if isinstance(err, str) else json.dumps(err, default=str)
    else:
        text = resp.text.strip()
    text = " ".join(text.split())
    if not text:
        text = resp.reason or "(empty body)"
    return text if len(text) <= limit else text[:limit] + "..."


_ERRNO_RE = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _connection_reason(exc: BaseException) -> str:
    """A short human reason for a requests/urllib3 connection failure."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name could not be resolved"
    m = _ERRNO_RE.search(text)
    if m:
        return m.group(1).strip().rstrip(".").lower()
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    return type(exc).__name__


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: ignore, the backoff applies


def next_pause(attempt: int, retries: int, backoff_factor: float, backoff_max: float,
               retry_after: float | None, deadline: float) -> float | None:
    """How long to wait before the next attempt (exponential backoff, at least Retry-After), or None when no
    attempt is left or the wait would end past the deadline (the total time bound includes every sleep)."""
    if attempt > retries:
        return None
    pause = min(backoff_max, backoff_factor * (2 ** (attempt - 1)))
    if retry_after is not None:
        pause = max(pause, retry_after)
    return None if time.monotonic() + pause >= deadline else pause


def send_lint_callback(
    task_id: str,
    callback_url: str,
    *,
    api_key: str,
    base_url: str | None = None,
    total_timeout: float = 60.0,
    retries: int = 3,
    backoff_factor: float = 1.0,
    backoff_max: float = 20.0,
    connect_timeout: float = 10.0,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Ask Scale to send a validation request for ``task_id`` to ``callback_url``; return our endpoint's answer.

    ``base_url`` defaults to ``$SCALE_API_BASE_URL`` or ``https://api.scale.com/v1``. Retryable failures (408,
    429, 5xx, connection errors) are retried up to ``retries`` times, sleeping ``backoff_factor * 2**(n-1)``
    seconds before retry ``n`` (at least ``Retry-After`` when Scale sends one, at most ``backoff_max``); the whole
    call, sleeps included, never takes longer than ``total_timeout`` seconds. Other 4xx are never retried.

    Returns the parsed JSON answer (a dict). Raises a :class:`ScaleAPIError` subclass otherwise.
    """
    if not api_key:
        raise ScaleAuthError("no Scale API key given (set SCALE_API_KEY)")
    if not task_id or not str(task_id).strip():
        raise ScaleAPIError("no task id given")
    base_url = base_url or os.environ.get("SCALE_API_BASE_URL") or DEFAULT_BASE_URL
    for value, what in ((base_url, "the Scale API base URL"), (callback_url, "the callback URL")):
        problem = url_problem(value, what)
        if problem:
            raise ScaleURLError(_redactor(api_key)(problem))
    url = lint_callback_url(base_url, task_id)
    shown_url = _redact_url(url)
    redact = _redactor(api_key)

    own_session = session is None
    sess = session if session is not None else requests.Session()
    deadline = time.monotonic() + total_timeout
    attempt = 0
    last_problem = ""
    last_status: int | None = None
    unreachable = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            attempt += 1
            try:
                resp = sess.post(
                    url,
                    json={"callbackURL": callback_url},
                    auth=(api_key, ""),
                    headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                    timeout=(min(connect_timeout, remaining), remaining),
                )
            except requests.exceptions.ReadTimeout:
                last_status = None
                last_problem = f"no answer from {shown_url} within the time left ({remaining:.1f} s)"
                retry_after = None
                unreachable = True
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                    requests.exceptions.MissingSchema) as exc:  # url_problem let it through: still no retry
                raise ScaleURLError(f"cannot call {shown_url}: {redact(str(exc))}", url=shown_url,
                                    attempts=attempt) from None
            except requests.exceptions.RequestException as exc:  # connection refused, DNS, TLS, ...
                last_status = None
                last_problem = f"could not reach {shown_url}: {redact(_connection_reason(exc))}"
                retry_after = None
                unreachable = True
            else:
                status = resp.status_code
                if 200 <= status < 300:
                    try:
                        answer = _loads(resp.content)
                    except Exception:  # noqa: BLE001
                        raise ScaleAPIError(
                            f"Scale answered HTTP {status} but the body is not JSON: "
                            f"{redact(_error_text(resp, 200))}", status=status, url=shown_url, attempts=attempt,
                        ) from None
                    if not isinstance(answer, dict):
                        raise ScaleAPIError(
                            f"Scale answered HTTP {status} with JSON that is not an object",
                            status=status, url=shown_url, attempts=attempt)
                    return answer
                message = redact(_error_text(resp))
                if status not in RETRY_STATUSES:
                    cls: type[ScaleAPIError]
                    if status == 401:
                        cls, text = ScaleAuthError, f"Scale refused the API key (HTTP 401): {message}"
                    elif status == 404 and _scale_error_message(resp) is None:
                        cls, text = ScaleWrongBaseURLError, (
                            f"{_redact_url(base_url)} looks like the wrong base URL: {shown_url} answered HTTP 404 "
                            f"with a body that is not Scale's JSON error ({redact(_error_text(resp, 120))}); check "
                            f"--base-url or "
                            f"SCALE_API_BASE_URL (Scale's is {DEFAULT_BASE_URL})")
                    elif status == 404:
                        cls, text = ScaleNotFoundError, f"no such task {task_id!r} (HTTP 404): {message}"
                    elif status == 400:
                        cls, text = ScaleBadRequestError, f"Scale rejected the call (HTTP 400): {message}"
                    else:
                        cls, text = ScaleAPIError, f"Scale answered HTTP {status}: {message}"
                    raise cls(text, status=status, url=shown_url, attempts=attempt)
                last_status = status
                last_problem = f"Scale answered HTTP {status}: {message}"
                retry_after = _retry_after(resp)
                unreachable = False

            pause = next_pause(attempt, retries, backoff_factor, backoff_max, retry_after, deadline)
            if pause is None:
                break
            sleep(pause)
    finally:
        if own_session:
            sess.close()

    elapsed_note = f"after {attempt} attempt{'s' if attempt != 1 else ''}"
    if not last_problem:
        last_problem = f"no time left to call {shown_url} (total timeout {total_timeout:g} s)"
    if last_status is None and unreachable:
        raise ScaleUnreachableError(f"{last_problem} ({elapsed_note})", url=shown_url, attempts=attempt)
    raise ScaleRetriesExhaustedError(f"{last_problem} ({elapsed_note}; giving up)", status=last_status,
                                     url=shown_url, attempts=attempt)
