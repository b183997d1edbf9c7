"""docs/configuration.md "Tuning the defaults to your data": the configurations it shows load and do what it says,
and the calibration steps it describes work on saved tasks of one's own (tools/calibrate.py as a subprocess)."""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from validator.engine.config import load_config
from validator.engine.engine import Engine
from validator.testing import box, make_body, make_task, polygon

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## Tuning the defaults to your data"):DOC.index("## Errors at start-up")]


def _block(after: str, lang: str) -> str:
    part = SECTION[SECTION.index(after):]
    return re.search(rf"```{lang}\n(.*?)```", part, re.S).group(1)


def _engine(tmp_path, text: str) -> Engine:
    path = tmp_path / "v.toml"
    path.write_text(text)
    return Engine(load_config(path))


GEOMETRIES = {"box": {"objects_to_annotate": ["person", "car"]}}


def _task(**kw):
    return make_task(width=1000, height=1000, geometries=GEOMETRIES, **kw)


def _issues(result):
    return sorted((i.instance, i.level) for i in result.issues)


def test_padding_lets_full_extent_boxes_pass_the_border():
    params = json.loads(_block("### Objects cut by the image edge", "json"))["params"]
    engine = Engine.from_config_file(None)
    person = box(-150, 100, 400, 600, label="person")  # a person cut by the left edge, boxed at full extent
    assert engine.validate(make_body([person], task=_task(padding=params["padding"]))).passed
    without = engine.validate(make_body([person], task=_task()))
    assert _issues(without) == [("outside_image", "error")]


def test_a_project_tolerance_instead_of_padding(tmp_path):
    text = _block("If tasks\nalready exist without it", "toml")
    engine = _engine(tmp_path, text)
    person = box(-150, 100, 400, 600, label="person")
    other = _task()
    amodal = _task(project="street-amodal")
    assert engine.validate(make_body([person], task=amodal)).passed
    assert _issues(engine.validate(make_body([person], task=other))) == [("outside_image", "error")]


def _two_people(shift: float):
    """Two 100 x 200 person boxes, the second shifted right by ``shift`` px: IoU = (100 - s) / (100 + s)."""
    return [box(100, 100, 100, 200, label="person"), box(100 + shift, 100, 100, 200, label="person")]


@pytest.mark.parametrize("shift,expected", [
    (100 * (1 - 0.95) / (1 + 0.95), [("person_possible_copy", "warn")]),  # IoU 0.95: a warning only
    (100 * (1 - 0.98) / (1 + 0.98), [("duplicate_annotation", "error"), ("person_possible_copy", "warn")]),
    (100 * (1 - 0.85) / (1 + 0.85), []),  # IoU 0.85: two people
])
def test_crowded_scenes_per_label_thresholds(tmp_path, shift, expected):
    engine = _engine(tmp_path, _block("### Crowded scenes", "toml"))
    result = engine.validate(make_body(_two_people(shift), task=_task()))
    assert _issues(result) == expected


def test_crowded_scenes_other_labels_keep_the_default(tmp_path):
    engine = _engine(tmp_path, _block("### Crowded scenes", "toml"))
    cars = [box(100, 100, 100, 200, label="car"), box(102.6, 100, 100, 200, label="car")]  # IoU 0.95
    result = engine.validate(make_body(cars, task=_task()))
    assert _issues(result) == [("duplicate_annotation", "error")]


def test_calibrating_on_ones_own_saved_tasks(tmp_path):
    """Steps 1-4 of the doc: save tasks, run with --unjudged, judge, read the page."""
    bodies = [
        make_body([polygon([(0, 0), (10, 10), (10, 0), (0, 10)], label="car")]),  # a bow-tie: blocked
        make_body([box(10, 10, 50, 40, label="car"), box(10.5, 10, 50, 40, label="car")]),  # a copy
        make_body([box(10, 10, 50, 40, label="car")]),
    ]
    for n, b in enumerate(bodies):
        b["task"]["task_id"] = f"t{n}"
    saved = tmp_path / "mytasks.jsonl.gz"
    with gzip.open(saved, "wt") as fh:
        fh.write("".join(json.dumps(b) + "\n" for b in bodies))
    verdicts = tmp_path / "verdicts.jsonl"
    verdicts.write_text("")
    todo = tmp_path / "to-judge.jsonl"
    tool = [sys.executable, str(ROOT / "tools" / "calibrate.py")]
    run = subprocess.run([*tool, "--verdicts", str(verdicts), "--unjudged", str(todo), str(saved)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "not judged yet: mytasks t0" in run.stderr  # error-level flags are listed with their coordinates
    lines = [json.loads(x) for x in todo.read_text().splitlines()]
    assert sorted(x["rule"] for x in lines) == ["duplicate_annotation", "polygon_self_intersection"]
    for x in lines:  # a person judges: the bow-tie is a mistake, the copy harmless in this project
        x["verdict"], x["why"] = ("TP", "bow-tie") if x["rule"] == "polygon_self_intersection" else ("FP", "ok")
    verdicts.write_text("".join(json.dumps(x) + "\n" for x in lines))
    page = tmp_path / "page.md"
    run = subprocess.run([*tool, "--verdicts", str(verdicts), "--out", str(page), str(saved)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    text = page.read_text()
    assert "| `polygon_self_intersection` | error | mytasks | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 100% |" in text
    assert "| `duplicate_annotation` | error | mytasks | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0% |" in text
    assert "| mytasks | 3 |" in text
    assert "None: every flag of the defaults on these files has a person's verdict." in text


def test_calibrate_refuses_a_bad_verdict(tmp_path):
    saved = tmp_path / "a.jsonl"
    saved.write_text(json.dumps(make_body([box(1, 1, 5, 5)])) + "\n")
    verdicts = tmp_path / "v.jsonl"
    verdicts.write_text(json.dumps({"source": "a", "image": "x", "uuid": "a1", "rule": "r", "verdict": "yes"}) + "\n")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "calibrate.py"), "--verdicts", str(verdicts),
                          str(saved)], capture_output=True, text=True)
    assert run.returncode != 0
    assert "verdict must be one of TP, TP-minor, FP-protocol, FP, uncertain, not 'yes'" in run.stderr
    assert "Traceback" not in run.stderr
