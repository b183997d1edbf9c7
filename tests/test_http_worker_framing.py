"""The buffering worker hands a request to gunicorn exactly when it has all arrived: not before (the app would see
a truncated body), not never (the client would wait for a 408). Every split of real requests into arrivals,
byte by byte included, is tried against the framing code; tests/test_http_slow_clients.py runs it in gunicorn."""
from __future__ import annotations

import socket

import pytest

from validator.service.worker import _Pending

MAX_BODY = 4096
HEADER_LIMIT = 8190 + 4 + 100 * (8190 + 2) + 4

BODY = b'{"task": {"type": "imageannotation"}, "response": {"annotations": []}}'
REQUESTS = {
    "content-length": (b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY,
    "no-body": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "chunked": (b"POST /validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"%x\r\n" % 20 + BODY[:20] + b"\r\n" + b"%x;ext=1\r\n" % (len(BODY) - 20) + BODY[20:] + b"\r\n"
                + b"0\r\n\r\n"),
    "chunked-trailer": (b"POST /validate HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                        + b"%x\r\n" % len(BODY) + BODY + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"),
    "expect-continue": (b"POST /validate HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
                        % len(BODY)) + BODY,
}


@pytest.fixture()
def sock():
    a, b = socket.socketpair()
    b.setblocking(False)
    yield a
    a.close()
    b.close()


def complete_at(data: bytes, cuts: list[int], sock) -> int | None:
    """Feed ``data`` in pieces ending at ``cuts``; the end offset of the piece after which it was complete."""
    p = _Pending(sock, ("127.0.0.1", 1), None, 0)
    start = 0
    for end in [*cuts, len(data)]:
        if end <= start:
            continue
        p.feed(data[start:end], HEADER_LIMIT, MAX_BODY)
        start = end
        if p.complete:
            return end
    return None


@pytest.mark.parametrize("name", REQUESTS)
def test_complete_exactly_at_the_end_for_every_split(name, sock):
    data = REQUESTS[name]
    assert complete_at(data, [], sock) == len(data)
    for cut in range(1, len(data)):
        assert complete_at(data, [cut], sock) == len(data), (name, cut)
    assert complete_at(data, list(range(1, len(data))), sock) == len(data)  # a byte at a time


def test_decided_early_when_the_request_is_refused_anyway(sock):
    # announced over the limit: the app answers 413 from the headers, the body is not waited for
    big = b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1)
    assert complete_at(big + b"{", [], sock) == len(big) + 1
    # a header line without a colon: gunicorn's parser answers 400 at once
    bad = b"POST /validate HTTP/1.1\r\nscale-callback-auth k-secret\r\nContent-Length: 10\r\n\r\n"
    assert complete_at(bad, [], sock) == len(bad)
    # a chunked body growing past the limit
    head = b"POST /validate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n" % 1000 + b"a" * 1000 + b"\r\n"
    data = head + chunk * 10
    end = complete_at(data, list(range(len(head), len(data), 100)), sock)
    assert end is not None and end < len(data)
    # headers that never end
    assert complete_at(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200000, [], sock) is not None


def test_never_complete_while_something_is_missing(sock):
    data = REQUESTS["content-length"]
    assert complete_at(data[:-1], [], sock) is None
    chunked = REQUESTS["chunked"]
    assert complete_at(chunked[:-2], [], sock) is None
