"""The JSON log formatter: every record is one JSON object on one line, whatever a caller puts in ``extra``."""
import json
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
