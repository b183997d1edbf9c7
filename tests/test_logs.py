"""The JSON log formatter: every record is one JSON object on one line, whatever a caller puts in ``extra``."""
import json
import time
import logging

from validator.service.logs import JSONFormatter


def record(**extra) -> logging.LogRecord:
    r = logging.LogRecord("validator.test", logging.INFO, __file__, 1, "validation", None, None)
    for k, v in extra.items():
        setattr(r, k, v)
    return r


def test_extra_fields_are_included():
    line = JSONFormatter().format(record(task_id="t1", issues={"error": 2}))
    out = json.loads(line)
    assert out["msg"] == "validation" and out["task_id"] == "t1" and out["issues"] == {"error": 2}
    assert out["level"] == "info" and out["logger"] == "validator.test" and out["ts"].endswith("Z")


def test_values_orjson_refuses_still_give_one_json_line():
    nested: list = []
    for _ in range(300):
        nested = [nested]
    line = JSONFormatter().format(record(lone="\ud800", keys={1: "a", (2, 3): "b"}, deep=nested))
    assert "\n" not in line
    out = json.loads(line)
    assert out["keys"] == {"1": "a"}  # keys JSON cannot have are left out


def test_colour_codes_are_removed_from_messages():
    r = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "\x1b[33mGET /nowhere HTTP/1.1\x1b[0m 404", None, None)
    out = json.loads(JSONFormatter().format(r))
    assert out["msg"] == "GET /nowhere HTTP/1.1 404"


def test_gunicorn_invalid_request_warnings_lose_the_quoted_line():
    from validator.service.logs import _RedactingFilter

    r = logging.LogRecord("gunicorn.error", logging.WARNING, __file__, 1,
                          "Invalid request from ip=10.0.0.7: Invalid HTTP Header: 'scale-callback-auth k-secret'",
                          None, None)
    assert _RedactingFilter().filter(r)
    out = json.loads(JSONFormatter().format(r))
    assert out["msg"] == "invalid request" and out["remote"] == "10.0.0.7" and out["error"] == "Invalid HTTP Header"
    assert "k-secret" not in json.dumps(out)


def test_request_supplied_fields_are_clipped_and_request_id_added():
    from validator.service.logs import REQUEST_ID

    token = REQUEST_ID.set("rid-1")
    try:
        out = json.loads(JSONFormatter().format(record(task_id="t" * 1000, project="p" * 1000)))
    finally:
        REQUEST_ID.reset(token)
    assert len(out["task_id"]) == 129 and len(out["project"]) == 129 and out["request_id"] == "rid-1"


def test_timestamps_are_utc_to_the_millisecond_whatever_the_order_of_records():
    formatter = JSONFormatter()
    for created in (1_700_000_000.9991, 1_700_000_001.0004, 1_700_000_000.5, 0.25, 1_900_000_123.042):
        r = logging.LogRecord("validator.x", logging.INFO, __file__, 1, "m", None, None)
        r.created, r.msecs = created, (created - int(created)) * 1000
        expected = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(r.msecs):03d}Z"
        assert json.loads(formatter.format(r))["ts"] == expected
