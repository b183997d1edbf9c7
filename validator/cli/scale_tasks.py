"""A project's tasks, straight from Scale's task API: ``GET {base}/tasks``, page by page.

Query: ``project``, ``status``, ``completed_after`` / ``completed_before``, ``limit``, ``next_token``,
``include_attachment_url``; answer ``{docs, total, limit, offset, has_more, next_token}``. Authentication as in
Scale's API and its official client: HTTP Basic, the API key as user name, an empty password.

Why not Scale's official client (``scaleapi``, whose ``get_tasks`` pages the same endpoint)? Measured with
scaleapi 2.18.4 against a loopback stand-in of this API: its retry adapter is mounted for ``https://`` only (a
429 over ``http://`` raised ``ScaleTooManyRequests`` after one call: no retry), it sets no timeout (a server
that accepts the connection and never answers kept ``get_tasks`` waiting indefinitely; still waiting after
10 s in the measurement), it opens a new session (connection) per page, and it brings pydantic and dateutil
(0.35 s to import). Here one session is kept for the whole run, and every page gets the self-test's retry
policy (:mod:`validator.cli.scale_api`): 408, 429, 5xx and connection errors retried 3 times with exponential
backoff (1, 2, 4 s, at least ``Retry-After``), the whole call bounded in time. The paging is the official
client's: follow ``next_token`` while ``has_more``.

Streaming: one page (at most ``page_size`` tasks) is held at a time. Errors are :class:`ScaleAPIError`\\ s whose
messages never contain the key.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import requests

from validator.cli.scale_api import (
    DEFAULT_BASE_URL,
    RETRY_STATUSES,
    ScaleAPIError,
    ScaleAuthError,
    ScaleRetriesExhaustedError,
    ScaleUnreachableError,
    _connection_reason,
    _error_text,
    _loads,
    _redact_url,
    _redactor,
    _retry_after,
    next_pause,
)

USER_AGENT = "scale-realtime-validator/check"
PAGE_SIZE = 100  # Scale's maximum page size


class ScaleBadURLError(ScaleAPIError):
    kind = "bad base URL"


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; ScaleBadURLError when it is not an http(s) URL with a host."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScaleBadURLError(
            f"the Scale API base URL {_redact_url(base_url)!r} is not an http(s) URL with a host "
            f"(expected e.g. {DEFAULT_BASE_URL})")
    return base_url.rstrip("/")


def parse_time(text: str, *, name: str) -> str:
    """``--since`` / ``--until``: a date (``2026-11-25``) or an ISO 8601 time; the UTC ISO string Scale takes."""
    value = text.strip()
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a date or time (use e.g. 2026-11-25 or 2026-11-25T08:00:00Z)") \
            from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def get_json(session: requests.Session, url: str, params: dict, *, api_key: str, total_timeout: float = 60.0,
             retries: int = 3, backoff_factor: float = 1.0, backoff_max: float = 20.0,
             connect_timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep,
             what: str = "the task list") -> Any:
    """GET ``url`` with the self-test's retry policy; the parsed JSON. Raises ScaleAPIError subclasses."""
    shown = _redact_url(url)
    redact = _redactor(api_key)
    deadline = time.monotonic() + total_timeout
    attempt = 0
    last_problem = ""
    last_status: int | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        attempt += 1
        retry_after = None
        try:
            resp = session.get(url, params=params, auth=(api_key, ""),
                               headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                               timeout=(min(connect_timeout, remaining), remaining))
        except requests.exceptions.ReadTimeout:
            last_status, last_problem = None, f"no answer from {shown} within the time left ({remaining:.1f} s)"
        except requests.exceptions.RequestException as exc:
            last_status, last_problem = None, f"could not reach {shown}: {redact(_connection_reason(exc))}"
        else:
            status = resp.status_code
            if 200 <= status < 300:
                try:
                    return _loads(resp.content)
                except Exception:  # noqa: BLE001
                    raise ScaleAPIError(f"Scale answered HTTP {status} for {what} but the body is not JSON: "
                                        f"{redact(_error_text(resp, 200))}", status=status, url=shown,
                                        attempts=attempt) from None
            message = redact(_error_text(resp))
            if status not in RETRY_STATUSES:
                if status == 401:
                    raise ScaleAuthError(f"Scale refused the API key (HTTP 401): {message}", status=status,
                                         url=shown, attempts=attempt)
                hint = ""
                if status == 404 and not resp.headers.get("Content-Type", "").startswith("application/json"):
                    hint = " (the base URL looks wrong: Scale's API answers errors in JSON)"
                raise ScaleAPIError(f"Scale answered HTTP {status} for {what}: {message}{hint}", status=status,
                                    url=shown, attempts=attempt)
            last_status, last_problem = status, f"Scale answered HTTP {status}: {message}"
            retry_after = _retry_after(resp)
        pause = next_pause(attempt, retries, backoff_factor, backoff_max, retry_after, deadline)
        if pause is None:
            break
        sleep(pause)
    note = f"after {attempt} attempt{'s' if attempt != 1 else ''}"
    if not last_problem:
        last_problem = f"no time left to call {shown} (total timeout {total_timeout:g} s)"
    if last_status is None:
        raise ScaleUnreachableError(f"{last_problem} ({note})", url=shown, attempts=attempt)
    raise ScaleRetriesExhaustedError(f"{last_problem} ({note}; giving up)", status=last_status, url=shown,
                                     attempts=attempt)


class ProjectTasks:
    """The tasks of one project, page by page (iterate it). ``first_page()`` fetches the first page early, so a
    bad key or an unreachable API is known before anything runs. ``total`` is Scale's count once a page is in."""

    def __init__(self, project: str, *, api_key: str | None = None, base_url: str | None = None,
                 status: str | None = "completed", since: str | None = None, until: str | None = None,
                 max_tasks: int | None = None, page_size: int = PAGE_SIZE, total_timeout: float = 60.0,
                 retries: int = 3, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.api_key = api_key if api_key is not None else os.environ.get("SCALE_API_KEY", "")
        if not self.api_key:
            raise ScaleAuthError("no Scale API key: set SCALE_API_KEY (sent as the HTTP Basic user name)")
        if not project or not project.strip():
            raise ScaleAPIError("no project name given")
        base = base_url or os.environ.get("SCALE_API_BASE_URL") or DEFAULT_BASE_URL
        self.url = check_base_url(base) + "/tasks"
        self.project = project
        self.params: dict[str, Any] = {"project": project, "limit": max(1, min(page_size, PAGE_SIZE)),
                                       "include_attachment_url": "true"}
        if status:
            self.params["status"] = status
        if since:
            self.params["completed_after"] = since
        if until:
            self.params["completed_before"] = until
        self.max_tasks = max_tasks
        self.total: int | None = None
        self.pages = 0
        self.fetched = 0
        self._opts = {"total_timeout": total_timeout, "retries": retries, "sleep": sleep}
        self._own_session = session is None
        self._session = session if session is not None else requests.Session()
        self._pending: dict | None = None
        self._next_token: str | None = None
        self._finished = False

    def _page(self) -> dict:
        params = dict(self.params)
        if self._next_token:
            params["next_token"] = self._next_token
        if self.max_tasks is not None:
            params["limit"] = max(1, min(params["limit"], self.max_tasks - self.fetched))
        page = get_json(self._session, self.url, params, api_key=self.api_key,
                        what=f"the tasks of project {self.project!r}", **self._opts)
        if not isinstance(page, dict) or not isinstance(page.get("docs"), list):
            raise ScaleAPIError(f"Scale's answer for the tasks of project {self.project!r} has no 'docs' list")
        self.pages += 1
        if isinstance(page.get("total"), int):
            self.total = page["total"]
        return page

    def first_page(self) -> "ProjectTasks":
        if self._pending is None and not self._finished and self.pages == 0:
            self._pending = self._page()
        return self

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __iter__(self) -> Iterator[dict]:
        try:
            while not self._finished:
                page = self._pending if self._pending is not None else self._page()
                self._pending = None
                for doc in page["docs"]:
                    if self.max_tasks is not None and self.fetched >= self.max_tasks:
                        self._finished = True
                        return
                    self.fetched += 1
                    yield doc
                token = page.get("next_token")
                if not page.get("has_more") or (self.max_tasks is not None and self.fetched >= self.max_tasks):
                    self._finished = True
                elif not token or token == self._next_token:
                    raise ScaleAPIError(f"Scale said more tasks follow (has_more) but gave no new next_token "
                                        f"after {self.fetched} tasks; stopping")
                else:
                    self._next_token = token
        finally:
            if self._finished:
                self.close()
