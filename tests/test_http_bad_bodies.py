"""Bad HTTP input over real HTTP: every malformed body is a 4xx with a JSON error, never a 5xx, never a traceback or
a key; a malformed *annotation* (NaN, 1e400) is not an HTTP error but an issue on that annotation.

Uses the session service (tests/conftest.py) and, for the body limit, one dedicated instance with a small
``VALIDATOR_MAX_BODY_BYTES``.
"""
from __future__ import annotations

import copy
import json
import random
import socket
import time

import pytest
import requests

from tests.support.servers import examples_dir, start_service
from validator.scale.answer import answer_violations

EXAMPLES = sorted(examples_dir().glob("*.json"))
needs_examples = pytest.mark.skipif(not EXAMPLES, reason=f"example bodies not found in {examples_dir()}")
SMALL_LIMIT = 4096


def assert_json_error(r: requests.Response, status: int, *, mentions: str | None = None, keys=()) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], body
    assert "Traceback" not in r.text and 'File "' not in r.text
    for key in keys:
        assert key not in r.text
    if mentions is not None:
        assert mentions in body["error"], body["error"]
    return body["error"]


def minimal(annotations=None, **task) -> dict:
    return {"task": {"task_id": "t-bad", "type": "imageannotation", "params": {"geometries": {}}, **task},
            "response": {"annotations": annotations if annotations is not None else []}}


# -- bodies that are not a {task, response} object: 400 --------------------------------------------------------

@pytest.mark.parametrize("raw, mentions", [
    (b"hello", "not valid JSON"),
    (b"", "not valid JSON"),
    (b"{", "not valid JSON"),
    (b'{"task": {}, "response": {}} trailing', "not valid JSON"),
    (b"[]", "not an array"),
    (b'[{"task": {}, "response": {}}]', "not an array"),
    (b'"task"', "not a string"),
    (b"42", "not a number"),
    (b"null", "not null"),
    (b"true", "not a boolean"),
    (b"{}", "'task' is required"),
    (b'{"response": {"annotations": []}}', "'task' is required"),
    (b'{"task": {"type": "imageannotation"}}', "'response' is required"),
    (b'{"task": [], "response": {}}', "'task' must be an object"),
    (b'{"task": "x", "response": {}}', "'task' must be an object"),
    (b'{"task": null, "response": {}}', "'task' must be an object"),
    (b'{"task": {}, "response": []}', "'response' must be an object"),
    (b'{"task": {}, "response": 7}', "'response' must be an object"),
    (b'{"task": {"type": "imageannotation"}, "response": {"annotations": {}}}', "response.annotations"),
    (b'{"task": {"type": "imageannotation"}, "response": {"annotations": "box"}}', "response.annotations"),
    (b'{"task": {"type": "imageannotation"}, "response": {"annotations": 3}}', "response.annotations"),
    (b'{"task": {"type": "imageannotation", "params": {"geometries": []}}, "response": {}}', "task.params.geometries"),
    (b'{"task": {"type": "imageannotation", "params": {"geometries": "box"}}, "response": {}}',
     "task.params.geometries"),
    (b'{"task": {"type": "imageannotation", "params": {"geometries": {"box": true}}}, "response": {}}',
     "task.params.geometries"),
    (b'{"task": {"type": "imageannotation", "params": []}, "response": {}}', "task.params"),
], ids=lambda v: v.decode()[:40] if isinstance(v, bytes) else None)
def test_bad_envelopes_are_400_with_a_reason(service, raw, mentions):
    assert_json_error(service.post(raw), 400, mentions=mentions, keys=service.keys)


def test_invalid_utf8_is_400(service):
    raw = b'{"task": {"task_id": "\xff\xfe"}, "response": {"annotations": []}}'
    assert_json_error(service.post(raw), 400, mentions="not valid JSON")


@pytest.mark.parametrize("nan", ["", "NaN"], ids=["orjson-path", "stdlib-fallback-path"])
@pytest.mark.parametrize("where", ["uuid", "label", "key", "task_id"])
def test_lone_surrogate_escapes_are_400_on_both_parser_paths(service, nan, where):
    # Valid JSON syntax but not valid Unicode. A NaN elsewhere in the body sends it through the stdlib fallback,
    # which accepts lone surrogates; they must be refused there too (a uuid with one once made the answer
    # unserialisable: a 500).
    uuid = '"a\\ud800"' if where == "uuid" else '"a"'
    label = '"\\udfff"' if where == "label" else '"p"'
    key = '"\\ud800k"' if where == "key" else '"k"'
    task_id = '"t\\ud800"' if where == "task_id" else '"t"'
    x = nan or "1"
    raw = (f'{{"task": {{"task_id": {task_id}, "type": "imageannotation", "params": {{"geometries": {{}}}}}}, '
           f'"response": {{"annotations": [{{"uuid": {uuid}, "type": "point", "label": {label}, "x": {x}, '
           f'"y": 1, "attributes": {{{key}: 1}}}}]}}}}')
    assert_json_error(service.post(raw.encode()), 400, mentions="surrogate")


def test_surrogate_pairs_are_fine_on_both_parser_paths(service):
    for x in ("1", "NaN"):
        raw = ('{"task": {"task_id": "t", "type": "imageannotation", "params": {"geometries": {"box": {}}}}, '
               '"response": {"annotations": [{"uuid": "a\\ud83d\\ude00", "type": "point", "label": "p", '
               f'"x": {x}, "y": 1}}]}}}}')
        r = service.post(raw.encode())
        assert r.status_code == 200, r.text
        assert list(r.json()["issues"]) == ["a\U0001F600"]


def test_error_messages_do_not_echo_body_content(service):
    secret = "zq-distinctive-body-text-91"
    for raw in (secret.encode(), f'{{"task": "{secret}", "response": {{}}}}'.encode(),
                f'["{secret}"]'.encode(), f'{{"{secret}": 1}}'.encode()):
        r = service.post(raw)
        assert_json_error(r, 400)
        assert secret not in r.text


@pytest.mark.parametrize("where", ["top", "task", "annotation", "with-nan"])
def test_pathological_nesting_is_400(service, where):
    deep = "[" * 10_000 + "]" * 10_000
    raw = {
        "top": deep,
        "task": f'{{"task": {{"metadata": {{"x": {deep}}}}}, "response": {{"annotations": []}}}}',
        "annotation": f'{{"task": {{}}, "response": {{"annotations": [{{"uuid": "a", "extra": {deep}}}]}}}}',
        # a NaN elsewhere sends the body to the stdlib fallback parser: it must be refused there as well
        "with-nan": f'{{"task": {{"x": NaN, "y": {deep}}}, "response": {{"annotations": []}}}}',
    }[where]
    assert_json_error(service.post(raw.encode()), 400, mentions="nesting")


def test_moderate_nesting_in_fields_we_do_not_read_is_fine(service):
    body = minimal()
    nested: list = []
    for _ in range(100):
        nested = [nested]
    body["task"]["metadata"] = {"deep": nested}
    r = service.post(json.dumps(body))
    assert r.status_code == 200 and r.json()["pass"] is True


def test_content_type_is_not_required_to_be_json(service):
    # Scale sends application/json; a proxy that rewrites it must not turn valid bodies into errors.
    r = service.post(json.dumps(minimal()), headers={"content-type": "text/plain"})
    assert r.status_code == 200 and r.json()["pass"] is True


def _raw_request(url: str, request: bytes, timeout: float = 20, half_close: bool = False) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk


@pytest.mark.parametrize("chunks", [
    b"zz\r\n{}\r\n0\r\n\r\n",                       # a chunk size that is not hex
    b"5\r\n{\"task\"xx\r\n0\r\n\r\n",                    # a chunk longer than announced
], ids=["bad-size", "missing-terminator"])
def test_broken_chunked_encoding_is_400_json(service, chunks):
    head = (f"POST /validate HTTP/1.1\r\nHost: test\r\nscale-callback-auth: {service.keys[0]}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    data = _raw_request(service.url, head + chunks)
    status_line, _, rest = data.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400"), data[:300]
    headers, _, payload = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in headers.lower()
    assert set(json.loads(payload)) == {"error"}
    assert b"Traceback" not in payload


def test_body_shorter_than_its_content_length_is_400(service):
    # The client announces 100 bytes, sends a complete-looking JSON document of 47, and stops sending:
    # the prefix must not be validated as if it were the whole body.
    body = b'{"task": {"type": "x"}, "response": {"a": [1]}}'
    head = (f"POST /validate HTTP/1.1\r\nHost: test\r\nscale-callback-auth: {service.keys[0]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body) + 53}\r\n\r\n").encode()
    data = _raw_request(service.url, head + body, half_close=True)
    assert data.startswith(b"HTTP/1.1 400"), data[:300]
    assert json.loads(data.partition(b"\r\n\r\n")[2]) == {"error": "the body is shorter than its Content-Length"}


# -- non-finite numbers are the labeler's mistake: an issue on that annotation, HTTP 200 -----------------------

@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400,
                                     "-1" + "0" * 400, "1" + "0" * 400 + ".5"],
                         ids=["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "400-digit-int", "-400-digit-int",
                              "400-digit-decimal"])
def test_non_finite_coordinate_becomes_an_issue(service, literal):
    good = '{"uuid": "ok-1", "type": "point", "label": "p", "x": 5, "y": 6}'
    bad = f'{{"uuid": "bad-1", "type": "point", "label": "p", "x": {literal}, "y": 6}}'
    bad_box = (f'{{"uuid": "bad-2", "type": "box", "label": "b", "left": 1, "top": {literal}, '
               f'"width": 10, "height": 10}}')
    raw = ('{"task": {"task_id": "t-nan", "type": "imageannotation", "params": {"geometries": {}}}, '
           f'"response": {{"annotations": [{good}, {bad}, {bad_box}]}}}}')
    r = service.post(raw.encode())
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["pass"] is False
    assert set(answer["issues"]) == {"bad-1", "bad-2"}
    for uuid in ("bad-1", "bad-2"):
        assert [i["errorType"] for i in answer["issues"][uuid]] == ["non_finite_coordinate"]
    assert "NaN" not in r.text and "Infinity" not in r.text
    assert answer_violations(answer, {"response": {"annotations": [{"uuid": "ok-1"}, {"uuid": "bad-1"},
                                                                    {"uuid": "bad-2"}]}}) == []


# -- routes ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_on_validate_are_405_json(service, method):
    r = requests.request(method, service.url + "/validate", headers={"scale-callback-auth": service.keys[0]},
                         timeout=10)
    assert_json_error(r, 405)


@pytest.mark.parametrize("path", ["/", "/validate/", "/nope", "/validate/extra", "/VALIDATE"])
def test_unknown_paths_are_404_json(service, path):
    r = requests.post(service.url + path, data=b"{}", headers={"scale-callback-auth": service.keys[0]},
                      timeout=10)
    assert_json_error(r, 404, keys=service.keys)


# -- the body limit: 413 from Content-Length before the body is read ------------------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    s = start_service(tmp_path_factory.mktemp("limit"), env={"VALIDATOR_MAX_BODY_BYTES": str(SMALL_LIMIT)},
                      workers=1)
    yield s
    s.stop()


def _raw_exchange(url: str, head: bytes, body: bytes, read_timeout: float) -> tuple[bytes, float]:
    """Send ``head`` + ``body`` on a raw socket, keep the connection open for writing, read the answer."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(head + body)
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    return data, time.monotonic() - started


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_oversized_content_length_is_413_before_the_body_is_read(small):
    # Announce 10 GB, send 10 bytes, keep the connection open: an answer can only come from the header.
    # (Generous bound: had the server waited for the body, it would hang until the socket timeout.)
    head = (f"POST /validate HTTP/1.1\r\nHost: test\r\nscale-callback-auth: {small.keys[0]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {10 * 1024 ** 3}\r\n\r\n").encode()
    data, elapsed = _raw_exchange(small.url, head, b'{"task": {', read_timeout=20)
    assert elapsed < 10, elapsed
    status_line, _, rest = data.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), data[:200]
    headers, _, payload = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in headers.lower()
    assert json.loads(payload) == {"error": f"body is larger than the limit of {SMALL_LIMIT} bytes"}


def test_oversized_content_length_without_a_key_is_401_not_413(small):
    head = (f"POST /validate HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10 * 1024 ** 3}\r\n\r\n").encode()
    data, elapsed = _raw_exchange(small.url, head, b"{", read_timeout=20)
    assert elapsed < 10
    assert data.startswith(b"HTTP/1.1 401"), data[:200]


def test_body_over_the_limit_is_413(small):
    body = json.dumps(minimal(metadata={"pad": "x" * SMALL_LIMIT})).encode()
    assert_json_error(small.post(body), 413, mentions=str(SMALL_LIMIT))


def test_body_at_the_limit_is_accepted(small):
    body = json.dumps(minimal()).encode()
    body = body + b" " * (SMALL_LIMIT - len(body))
    assert len(body) == SMALL_LIMIT
    r = small.post(body)
    assert r.status_code == 200, r.text


def _chunks(data: bytes, size: int = 1000):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_chunked_body_over_the_limit_is_413(small):
    body = json.dumps(minimal(metadata={"pad": "x" * (3 * SMALL_LIMIT)})).encode()
    r = small.post(_chunks(body))  # a generator: requests sends Transfer-Encoding: chunked, no Content-Length
    assert_json_error(r, 413, mentions=str(SMALL_LIMIT))


def test_chunked_body_over_the_limit_is_not_truncated_into_a_valid_one(small):
    # A valid document followed by whitespace beyond the limit: cut at the limit it would parse. It must not.
    body = json.dumps(minimal()).encode() + b" " * (2 * SMALL_LIMIT)
    assert_json_error(small.post(_chunks(body)), 413)


def test_chunked_body_under_the_limit_is_validated(small):
    r = small.post(_chunks(json.dumps(minimal()).encode(), 7))
    assert r.status_code == 200, r.text
    assert r.json() == {"pass": True, "issues": {}, "globalIssues": []}


# -- fuzz-ish: mutated examples never give a 5xx, and every 200 is a well-formed answer ------------------------

NAN = "\u0000nan\u0000"
HUGE = "\u0000huge\u0000"
REPLACEMENTS = [None, True, False, "x", "", [], {}, 0, -1, 1.5, NAN, HUGE, [None], [{}], 10 ** 400, -(2 ** 70),
                "\ud800", "\U0001F600", [[[[[[[[[[[]]]]]]]]]]], {"x": NAN}]


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _mutate(body: dict, rng: random.Random, n: int) -> dict:
    body = copy.deepcopy(body)
    for _ in range(n):
        paths = [p for p in _paths(body) if p]
        if not paths:
            break
        # bias towards annotations and task params, where most of the structure is
        hot = [p for p in paths if p[:2] == ("response", "annotations") or p[:2] == ("task", "params")]
        path = rng.choice(hot if hot and rng.random() < 0.8 else paths)
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[last]
        else:
            parent[last] = copy.deepcopy(rng.choice(REPLACEMENTS))
    return body


def _encode(body) -> bytes:
    text = json.dumps(body)
    return text.replace(json.dumps(NAN), "NaN").replace(json.dumps(HUGE), "1e400").encode()


def _decoded(body):
    """The body as the service sees it (sentinels replaced by the non-finite values they stand for)."""
    return json.loads(_encode(body))


FUZZ_SEEDS = range(24)
BODIES_PER_SEED = 12


@needs_examples
@pytest.mark.parametrize("seed", FUZZ_SEEDS)
def test_mutated_examples_never_give_a_5xx(service, seed):
    rng = random.Random(seed)
    originals = [json.loads(p.read_bytes()) for p in EXAMPLES]
    log_start = len(service.logs())
    for i in range(BODIES_PER_SEED):
        body = _mutate(rng.choice(originals), rng, rng.randint(1, 6))
        raw = _encode(body)
        r = service.post(raw)
        where = f"seed {seed} body {i}: {raw[:300]!r}"
        assert r.status_code in (200, 400), f"{where} -> {r.status_code} {r.text}"
        assert r.headers["content-type"] == "application/json", where
        assert "Traceback" not in r.text, where
        if r.status_code == 400:
            assert set(r.json()) == {"error"}, where
        else:
            assert answer_violations(r.json(), _decoded(body)) == [], f"{where} -> {r.text}"
    new_logs = service.logs()[log_start:]
    # request content must never reach our own except-all path: that would be a bug of ours answered by policy
    assert "validation failed unexpectedly" not in new_logs, new_logs[-4000:]


def test_a_400_quotes_at_most_a_few_dozen_characters_of_key_names(service):
    from validator.testing import box as box_, make_body, make_task

    long_key = "x" * 3000
    task = make_task()
    task["params"]["geometries"] = {long_key: 5}
    r = service.post(json.dumps(make_body([box_(0, 0, 5, 5, label="car")], task=task)))
    assert r.status_code == 400
    message = r.json()["error"]
    assert "task.params.geometries." in message and "x" * 41 not in message and len(message) < 200, message
    # many keys, each short: the whole message is bounded too
    task["params"]["geometries"] = {f"k{n:03d}-" + "y" * 30: n for n in range(500)}
    r = service.post(json.dumps(make_body([box_(0, 0, 5, 5, label="car")], task=task)))
    assert r.status_code == 400 and len(r.json()["error"]) <= 410, r.json()["error"][:500]
