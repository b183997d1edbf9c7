"""The default rules on real human annotations (../shared/realdata: COCO, TACO, TuSimple as Scale bodies), joined
with a person's verdict on every flag (verdicts.jsonl).

* every annotation judged TP is still blocked (an error-level issue of the rule that was judged, or the rule that
  took over its part: tools/calibrate.py JUDGED_AS);
* nothing judged TP-minor, FP-protocol or FP is blocked;
* an error-level flag nobody has judged fails the test, listing it with its coordinates for a person to judge
  (add the verdict to the corpus, or change the rule): a default that starts blocking more must be looked at.

Through the production path (Engine.validate_bytes), the whole corpus (a few seconds). The corpus lives beside the
clone, never in it: ``$VALIDATOR_REALDATA``, else ``../shared/realdata`` (see tools/calibrate.py realdata_dir).
Without it the tests are skipped, except in CI (``CI`` set), where a missing corpus is a failure.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from validator.engine.engine import Engine

ROOT = Path(__file__).resolve().parent.parent


def _load_calibrate():
    spec = importlib.util.spec_from_file_location("calibrate", ROOT / "tools" / "calibrate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["calibrate"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


calibrate = _load_calibrate()
DATA = calibrate.realdata_dir()
FILES = [DATA / f"{s}.jsonl.gz" for s in calibrate.SOURCES]
PRESENT = all(f.exists() for f in FILES) and (DATA / "verdicts.jsonl").exists()

if not PRESENT:
    if os.environ.get("CI"):
        raise RuntimeError(f"the real-data corpus is missing at {DATA} (set {calibrate.ENV})")
    pytest.skip(f"the real-data corpus is not at {DATA}: set {calibrate.ENV}=DIR to run these tests",
                allow_module_level=True)


@pytest.fixture(scope="module")
def verdicts():
    return calibrate.load_verdicts(DATA / "verdicts.jsonl")


@pytest.fixture(scope="module")
def defaults_run():
    return calibrate.run(Engine.from_config_file(None), FILES)


@pytest.fixture(scope="module")
def found(defaults_run, verdicts):
    return calibrate.findings(defaults_run, verdicts)


def test_the_corpus_is_the_one_judged(defaults_run, verdicts):
    assert dict(defaults_run.tasks) == {"coco": 336, "taco": 1500, "tusimple": 2858}
    assert sum(defaults_run.annotations.values()) == 28663
    assert len(verdicts) == 296
    assert not defaults_run.failures, f"rules crashed on real data: {defaults_run.failures}"


def test_every_true_positive_is_still_blocked(found):
    lost = [f"{v['source']} {v['image']} {v['uuid']} ({v['label']}): {v['rule']}: {v['why']}" for v in found.lost_tp]
    assert not lost, "judged TP, no longer blocked:\n" + "\n".join(lost)


def test_nothing_judged_harmless_blocks_a_task(found):
    wrong = [f"{calibrate.describe(f)}\n    judged {v['verdict']}: {v['why']}" for f, v in found.wrongly_blocking]
    assert not wrong, "blocked, though a person judged it not worth blocking:\n" + "\n".join(wrong)


def test_no_unjudged_flag_blocks_a_task(found, defaults_run):
    new = [calibrate.describe(f, defaults_run) for f in found.unjudged_errors]
    assert not new, (f"{len(new)} error-level flag(s) on real data nobody has judged; look at each (coordinates "
                     "below) and add a verdict, or change the rule:\n" + "\n".join(new))


def test_blocked_tasks_per_source(defaults_run):
    # only the true positives block: 1 COCO image (copied keypoints), 17 TACO figure-8s in 17 images, 4 lanes;
    # and 2 TACO polygons judged uncertain (rope loops and sloppy holes with a doubled lobe of 385 and 1,542 px²)
    blocked = {s: len(images) for s, images in defaults_run.blocked.items()}
    assert blocked == {"coco": 1, "taco": 19, "tusimple": 4}


def test_calibration_page_is_up_to_date(defaults_run, verdicts):
    """The page says what the defaults do now (regenerate it after changing a default)."""
    page = calibrate.render(defaults_run, verdicts, Engine.from_config_file(None), calibrate.WHY,
                            "COCO 2017 excerpts, TACO, TuSimple lanes: ../shared/realdata/README.md")
    shipped = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    assert calibrate._stable(shipped) == calibrate._stable(page), \
        "docs/calibration.md is out of date: run .venv/bin/python tools/calibrate.py --out docs/calibration.md"


def test_the_measured_margins_quoted_in_the_docs(defaults_run, verdicts):
    """The figures docs/calibration.md and the rule docs give for polygon loops, measured on the judged shapes:
    TPs get 10.5 px² or more wrong, harmless jitter 9.9 px² or less (min_loop_area 10 between them), and keyhole
    slivers are at most 1.05 px wide (keyhole_max_width 2)."""
    import gzip
    import json

    from validator.geometry.loops import self_loops

    judged = {(v["image"], v["uuid"]): v["verdict"] for v in verdicts.values()
              if v["rule"] == "polygon_self_intersection"}
    wrong: dict[str, list] = {"TP": [], "TP-minor": [], "FP-protocol": []}
    slivers = []
    for source in ("coco", "taco"):
        with gzip.open(DATA / f"{source}.jsonl.gz", "rb") as fh:
            for line in fh:
                if b"poly" not in line:
                    continue
                body = json.loads(line)
                image = body["task"]["metadata"]["source_image"]
                for a in body["response"]["annotations"]:
                    verdict = judged.get((image, a["uuid"]))
                    if verdict in wrong:
                        loops = self_loops([(v["x"], v["y"]) for v in a["vertices"]])
                        wrong[verdict].append(loops.wrong_area)
                        if verdict == "FP-protocol":
                            slivers.append(loops.widest(loops.wrong))
    assert [len(wrong[v]) for v in ("TP", "TP-minor", "FP-protocol")] == [17, 58, 22]
    assert round(min(wrong["TP"]), 1) == 10.5 and round(max(wrong["TP"])) == 6508
    assert round(max(wrong["TP-minor"]), 1) == 9.9
    assert round(max(slivers), 2) == 1.05 and max(wrong["FP-protocol"]) < 10
