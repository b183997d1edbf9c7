"""A gunicorn worker that buffers each request completely before the (CPU-bound, one-at-a-time) app sees it.

Why: gunicorn's sync worker reads a request with blocking calls, so a client that trickles its headers or body
holds a whole worker until gunicorn's worker timeout kills it (30 s): two such clients take a 2-worker instance
down, and the attack costs them nothing. Threads (gthread) would hide it up to the thread count, but validation is
CPU-bound and the engine's time budget relies on a timer signal that only the main thread receives.

How: each worker runs a small event loop (``selectors``) over its listening sockets and its open connections.
Bytes are read as they arrive, without blocking, into a per-connection buffer; only once a request is complete
(headers, then ``Content-Length`` bytes or the last chunk) is it handed to gunicorn's own HTTP parser and to the
app, in the main thread, exactly as the sync worker would (same parser, same WSGI environ, same limits). A slow
client therefore costs a file descriptor and its bytes so far, never the worker's time. Bounds:

* a request must arrive completely within ``VALIDATOR_READ_TIMEOUT_SECONDS`` (default 15 s) of its connection;
  otherwise it is answered 408 (JSON) and closed;
* at most ``worker_connections`` (``GUNICORN_WORKER_CONNECTIONS``, default 500) connections per worker are being
  read at once; beyond that the worker stops accepting and new connections wait in the listen queue (or go to
  another worker);
* buffered bytes per worker are capped (4 bodies of ``VALIDATOR_MAX_BODY_BYTES``); past that, reading pauses
  until a request has been served or dropped;
* a body announced larger than ``VALIDATOR_MAX_BODY_BYTES`` is not read: the app answers 413 from the headers.

Like the sync worker, every connection serves one request and is closed (``Connection: close``). A malformed
request gets a JSON 400 that does not echo the request; the log says what kind of error it was, never the line.
"""
from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from collections import deque

from gunicorn import http, util
from gunicorn.http import errors as http_errors
from gunicorn.workers.sync import SyncWorker

from validator.service.settings import Settings

_HEADER_END = b"\r\n\r\n"
_WRITE_TIMEOUT = 10.0


class _Pending:
    """One connection whose request is still arriving."""

    __slots__ = ("sock", "addr", "listener", "buf", "deadline", "header_end", "length", "chunked", "chunk_pos",
                 "chunk_body", "complete", "continue_sent")

    def __init__(self, sock, addr, listener, deadline: float):
        self.sock = sock
        self.addr = addr
        self.listener = listener
        self.buf = bytearray()
        self.deadline = deadline
        self.header_end = -1
        self.length = 0
        self.chunked = False
        self.chunk_pos = 0
        self.chunk_body = 0
        self.complete = False
        self.continue_sent = False

    def feed(self, data: bytes, header_limit: int, max_body: int) -> None:
        """Add bytes; set ``complete`` once the request is all here, or once the parser can decide (a malformed or
        oversized request is complete as soon as that is known: gunicorn's parser or the app will refuse it)."""
        self.buf += data
        if self.header_end < 0:
            at = self.buf.find(_HEADER_END, max(0, len(self.buf) - len(data) - 3))
            if at < 0:
                if len(self.buf) > header_limit:
                    self.complete = True  # gunicorn answers 431 / 414
                return
            self.header_end = at + 4
            if not self._read_headers(max_body):
                self.complete = True
                return
        if self.chunked:
            self._scan_chunks(max_body)
        elif len(self.buf) - self.header_end >= self.length:
            self.complete = True

    def _read_headers(self, max_body: int) -> bool:
        """Framing of the body from the header block; False when the request is decided without its body."""
        lines = bytes(self.buf[:self.header_end - 4]).split(b"\r\n")
        length = None
        expect_continue = False
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                return False  # malformed header line: gunicorn's parser says so
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return False
                if length < 0:
                    return False
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True
            elif name == b"expect" and value.lower() == b"100-continue":
                expect_continue = True
        if self.chunked and length is not None:
            return False  # both: gunicorn refuses the request
        if not self.chunked:
            self.length = length or 0
            if self.length > max_body:
                return False  # the app refuses it from Content-Length, without reading it
        self.chunk_pos = self.header_end
        if expect_continue and not self.continue_sent and (self.chunked or self.length):
            self.continue_sent = True
            try:  # the client waits for this before sending its body (gunicorn sends it again later: harmless)
                self.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                pass
        return True

    def _scan_chunks(self, max_body: int) -> None:
        buf = self.buf
        while True:
            eol = buf.find(b"\r\n", self.chunk_pos)
            if eol < 0:
                if len(buf) - self.chunk_pos > 1024:
                    self.complete = True  # an absurd chunk-size line: gunicorn refuses it
                return
            size_text = bytes(buf[self.chunk_pos:eol]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                self.complete = True
                return
            if size == 0:
                # the last chunk: trailer lines (usually none), then an empty line
                if buf.find(b"\r\n\r\n", eol) >= 0 or len(buf) - eol > 8192:
                    self.complete = True
                return
            nxt = eol + 2 + size + 2
            if len(buf) < nxt:
                if self.chunk_body + size > max_body:
                    self.complete = True  # more than the limit: the app reads past it and answers 413
                return
            self.chunk_body += size
            self.chunk_pos = nxt
            if self.chunk_body > max_body:
                self.complete = True
                return


class BufferingWorker(SyncWorker):
    """gunicorn worker: non-blocking reading of whole requests, then sync handling (see the module docs)."""

    def init_process(self):
        settings, _ = Settings.read()  # validated in the master already (gunicorn.conf.py, the app)
        self.read_timeout = settings.read_timeout_seconds
        self.max_body = settings.max_body_bytes
        self.buffer_cap = 4 * self.max_body + (1 << 20)
        self.header_limit = (self.cfg.limit_request_line + 4
                             + self.cfg.limit_request_fields * (self.cfg.limit_request_field_size + 2) + 4)
        self.max_pending = max(1, int(self.cfg.worker_connections))
        try:  # never run out of file descriptors for the listeners, the heartbeat and the app's own files
            import resource

            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            if soft != resource.RLIM_INFINITY:
                self.max_pending = max(1, min(self.max_pending, soft - 64))
        except (ImportError, OSError, ValueError):
            pass
        super().init_process()

    # -- the loop -------------------------------------------------------------------------------------------------
    def run(self):
        for s in self.sockets:
            s.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.pending: dict[int, _Pending] = {}
        self.ready: deque[_Pending] = deque()
        self.buffered = 0
        self.listening = False
        self.paused = False
        self.selector.register(self.PIPE[0], selectors.EVENT_READ, "pipe")
        self._listen(True)
        heartbeat = max(0.2, min(1.0, (self.timeout or 2) / 4))
        try:
            while self.alive:
                self.notify()
                timeout = 0 if self.ready else heartbeat
                if self.pending and not self.ready:
                    timeout = max(0.0, min(timeout, min(p.deadline for p in self.pending.values()) - time.monotonic()))
                try:
                    events = self.selector.select(timeout)
                except InterruptedError:
                    events = []
                for key, _ in events:
                    if key.data == "pipe":
                        try:
                            os.read(self.PIPE[0], 4096)
                        except OSError:
                            pass
                    elif key.data is None:
                        self._accept(key.fileobj)
                    else:
                        self._read(key.data)
                self._expire()
                if self.ready:
                    self._serve(self.ready.popleft())
                self._flow_control()
                if not self.is_parent_alive():
                    break
            # Stopping (after the drain, or max_requests): requests that have arrived completely are still
            # answered; the ones still arriving are dropped, as the sync worker drops its listen queue.
            while self.ready:
                self._serve(self.ready.popleft())
        finally:
            for p in list(self.pending.values()):
                self._drop(p)
            for p in self.ready:
                self._close(p.sock)
            self.selector.close()

    def _listen(self, on: bool) -> None:
        if on == self.listening:
            return
        for s in self.sockets:
            if on:
                self.selector.register(s, selectors.EVENT_READ, None)
            else:
                self.selector.unregister(s)
        self.listening = on

    def _flow_control(self) -> None:
        self._listen(len(self.pending) + len(self.ready) < self.max_pending)
        pause = self.buffered >= self.buffer_cap
        if pause != self.paused:
            self.paused = pause
            for p in self.pending.values():
                if pause:
                    self.selector.unregister(p.sock)
                else:
                    self.selector.register(p.sock, selectors.EVENT_READ, p)

    def _accept(self, listener) -> None:
        while len(self.pending) + len(self.ready) < self.max_pending:
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                raise
            sock.setblocking(False)
            util.close_on_exec(sock)
            p = _Pending(sock, addr, listener, time.monotonic() + self.read_timeout)
            self.pending[sock.fileno()] = p
            if not self.paused:
                self.selector.register(sock, selectors.EVENT_READ, p)

    def _read(self, p: _Pending) -> None:
        try:
            data = p.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client closed (or half-closed) before its request was complete
            if p.buf:  # answer what came (gunicorn's parser or the app says what is missing): it may still read
                self._unregister(p)
                self.ready.append(p)
            else:
                self._drop(p)
            return
        self.buffered += len(data)
        p.feed(data, self.header_limit, self.max_body)
        if p.complete:
            self._unregister(p)
            self.ready.append(p)

    def _unregister(self, p: _Pending) -> None:
        self.pending.pop(p.sock.fileno(), None)
        if not self.paused:
            try:
                self.selector.unregister(p.sock)
            except (KeyError, ValueError):
                pass

    def _drop(self, p: _Pending) -> None:
        self._unregister(p)
        self.buffered -= len(p.buf)
        self._close(p.sock)

    def _expire(self) -> None:
        if not self.pending:
            return
        now = time.monotonic()
        for p in [p for p in self.pending.values() if p.deadline <= now]:
            if p.buf:
                self.log.warning("request not received in time", extra={
                    "remote": str(p.addr[0] if isinstance(p.addr, tuple) else p.addr)[:64],
                    "read_timeout_seconds": self.read_timeout, "bytes_received": len(p.buf)})
                _count("read_timeout")
                body = b'{"error":"the request did not arrive within the read timeout"}'
                try:
                    p.sock.send(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: "
                                b"application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                except OSError:
                    pass
            self._drop(p)

    # -- one complete request ---------------------------------------------------------------------------------
    def _serve(self, p: _Pending) -> None:
        self.buffered -= len(p.buf)
        sock, addr = p.sock, p.addr
        data, p.buf = bytes(p.buf), bytearray()
        req = None
        try:
            sock.setblocking(True)
            sock.settimeout(_WRITE_TIMEOUT)  # bounds the answer's write to a client that does not read
            parser = http.get_parser(self.cfg, iter([data]), addr)
            req = next(parser)
            self.handle_request(p.listener, req, sock, addr)
        except http_errors.NoMoreData:
            self.log.debug("request incomplete")
        except StopIteration:
            pass
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, None):
                self.log.exception("socket error while answering")
        except BaseException as exc:  # noqa: BLE001 - as the sync worker: gunicorn's HTTP errors and ours
            self.handle_error(req, sock, addr, exc)
        finally:
            self._close(sock)

    @staticmethod
    def _close(sock) -> None:
        """Close without lingering: the whole request was read, so nothing unread can make the kernel reset the
        answer (gunicorn's close_graceful would wait up to 2 s for the client to close)."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
            for _ in range(16):  # whatever the client sent past its request (bounded)
                if not sock.recv(1 << 16):
                    break
        except OSError:
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def handle_error(self, req, client, addr, exc):
        """A malformed request: a JSON 400 (or 414/431) that echoes nothing; the log names the kind of error only
        (gunicorn's own message quotes the request line or header line, which may hold a key)."""
        status = _CLIENT_ERRORS.get(type(exc).__name__)
        if status is None:
            return super().handle_error(req, client, addr, exc)
        code, reason = status
        self.log.warning("invalid request", extra={
            "remote": str(addr[0] if isinstance(addr, tuple) else addr)[:64], "error": type(exc).__name__,
            "status": code})
        _count("malformed_http")
        body = ('{"error":"malformed HTTP request (%s)"}' % type(exc).__name__).encode()
        try:
            client.sendall(b"HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n" % (code, reason.encode(), len(body)) + body)
        except OSError:
            pass


_CLIENT_ERRORS = {
    "InvalidRequestLine": (400, "Bad Request"), "InvalidRequestMethod": (400, "Bad Request"),
    "InvalidHTTPVersion": (400, "Bad Request"), "InvalidHeader": (400, "Bad Request"),
    "InvalidHeaderName": (400, "Bad Request"), "ObsoleteFolding": (400, "Bad Request"),
    "InvalidProxyLine": (400, "Bad Request"), "InvalidSchemeHeaders": (400, "Bad Request"),
    "InvalidChunkSize": (400, "Bad Request"), "ChunkMissingTerminator": (400, "Bad Request"),
    "InvalidChunkExtension": (400, "Bad Request"), "UnsupportedTransferCoding": (501, "Not Implemented"),
    "LimitRequestLine": (414, "URI Too Long"), "LimitRequestHeaders": (431, "Request Header Fields Too Large"),
    "ExpectationFailed": (417, "Expectation Failed"),
}


def _count(reason: str) -> None:
    try:
        from validator.service import metrics

        metrics.current().reject(reason)
    except Exception:  # pragma: no cover - metrics must never break serving
        pass
