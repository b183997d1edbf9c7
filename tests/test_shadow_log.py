"""The service's shadow log line, through real HTTP (gunicorn from the Procfile): what a reviewer needs to find each
finding again -- task id, rule instance, uuid, errorType, locations -- and never labeler text or the body."""

from __future__ import annotations

import json

from tests.support.servers import start_service
from tests.test_check_backtest import bodies

SHADOW = """
[[rule]]
id = "box_too_small"
name = "min_size_40"
level = "shadow"
options = { min_width = 40, min_height = 40 }
"""


def test_shadow_log_line_carries_locations_and_no_text(tmp_path):
    body = bodies()[0]
    anns = body["response"]["annotations"]
    small = next(a for a in anns if a["type"] == "box" and a["width"] < 40)
    other = next(a for a in anns if a is not small)
    other.setdefault("attributes", {})["note"] = "SECRET-LABELER-TEXT"
    svc = start_service(tmp_path, config_text=SHADOW, workers=1)
    try:
        start = len(svc.logs())
        resp = svc.post(body)
        assert resp.status_code == 200 and resp.json()["pass"] in (True, False)
        assert all(small["uuid"] != u for u in resp.json()["issues"])  # shadow issues are never returned
        logs = svc.logs_once(start, '"msg":"validation"')  # written after the shadow line
    finally:
        svc.stop()
    [line] = [json.loads(x) for x in logs.splitlines() if '"shadow issues"' in x]
    assert line["task_id"] == body["task"]["task_id"] and line["count"] == 1
    assert line["shadow"] == [{"instance": "min_size_40", "rule": "box_too_small", "uuid": small["uuid"],
                               "errorType": "box_too_small",
                               "locations": [{"x": float(small["left"]), "y": float(small["top"])}]}]
    assert "SECRET-LABELER-TEXT" not in logs  # another annotation's labeler text
    assert "px wide" not in logs  # the issue's own text
    assert '"annotations":[' not in logs and '"response"' not in logs  # no part of the body
