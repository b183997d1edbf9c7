"""Readiness and graceful draining.

``STATE.ready`` turns true once the app (config and rules) is loaded. On SIGTERM, a gunicorn worker (see
``install_drain`` called from gunicorn.conf.py) first *drains*: for ``VALIDATOR_DRAIN_SECONDS`` it keeps serving
requests but ``/readyz`` answers 503, so the load balancer takes the instance out of rotation; then it stops
accepting and finishes in-flight requests within gunicorn's ``graceful_timeout``.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from validator.service.settings import DEFAULT_DRAIN_SECONDS, SettingsError, _Reader

log = logging.getLogger("validator.lifecycle")


@dataclass
class State:
    ready: bool = False
    draining: bool = False


STATE = State()


def drain_seconds(environ=None) -> float:
    """``VALIDATOR_DRAIN_SECONDS`` (parsed like every setting, by validator.service.settings)."""
    r = _Reader(os.environ if environ is None else environ)
    value = r.number("VALIDATOR_DRAIN_SECONDS", DEFAULT_DRAIN_SECONDS, 0, 300)
    if r.problems:
        raise SettingsError(r.problems)
    return value


def install_drain(worker, seconds: float) -> None:
    """Replace the worker's SIGTERM handling: mark draining now, stop accepting after ``seconds``."""
    import signal

    def handle_term(signum, frame):
        if STATE.draining:
            return
        STATE.draining = True
        log.info("draining: /readyz now answers 503", extra={"drain_seconds": seconds, "pid": os.getpid()})

        def stop():
            worker.alive = False
            # Wake the worker: a sync worker sleeps in select() for up to half the worker timeout and only
            # notices `alive` when it wakes. Signals wake it through this pipe; a timer thread must do it itself,
            # or the worker lingers (and delays shutdown) for up to GUNICORN_TIMEOUT / 2 after the drain.
            try:
                os.write(worker.PIPE[1], b"1")
            except (AttributeError, IndexError, OSError):
                pass

        if seconds <= 0:
            stop()
        else:
            timer = threading.Timer(seconds, stop)
            timer.daemon = True
            timer.start()

    signal.signal(signal.SIGTERM, handle_term)
    signal.siginterrupt(signal.SIGTERM, False)
