"""validator.contract.answer_violations: every violation kind, and valid answers (incl. the contract's example)."""

from __future__ import annotations

import json
import math

import pytest

from validator.scale.answer import answer_violations, request_uuids

REQUEST = {
    "task": {"task_id": "t1", "type": "imageannotation", "status": "pending", "params": {}},
    "response": {
        "annotations": [
            {"uuid": "uuid_1", "type": "box", "label": "car", "left": 1, "top": 1, "width": 5, "height": 5},
            {"uuid": "uuid_2", "type": "point", "label": "nose", "x": 3, "y": 4},
        ]
    },
}

# Verbatim from realtime-validation-contract.md, section 2.
CONTRACT_EXAMPLE = json.loads("""
{
  "pass": false,
  "issues": {
    "uuid_1": [{"errorType": "extraneous_annotation", "locations": [{"x": 100, "y": 200}],
                "extra": "don't need this annotation"}],
    "uuid_2": [{"errorType": "bad_point"}, {"errorType": "extra_point"}]
  },
  "globalIssues": [{"errorType": "this error is global"}]
}
""")


@pytest.mark.parametrize(
    "answer",
    [
        {"pass": True},
        {"pass": True, "issues": {}, "globalIssues": []},
        CONTRACT_EXAMPLE,
        # warnings may accompany a pass
        {"pass": True, "issues": {"uuid_2": [{"errorType": "warn_me", "extra": {"hint": "look"}}]}},
        {"pass": False, "globalIssues": [{"errorType": "g", "locations": [], "extra": None}]},
        {"pass": False, "globalIssues": [{"errorType": "g", "locations": [{"x": -1.5, "y": 1e9}]}]},
        {"pass": False, "issues": {"uuid_1": [{"errorType": "e", "extra": {"n": [1, 2.5, "x"]}}]}},
    ],
    ids=["minimal", "empty-collections", "contract-example", "warn-with-pass", "null-extra",
         "negative-and-large", "structured-extra"],
)
def test_valid_answers_have_no_violations(answer):
    assert answer_violations(answer, REQUEST) == []


def test_contract_example_survives_a_json_round_trip():
    assert answer_violations(json.loads(json.dumps(CONTRACT_EXAMPLE)), REQUEST) == []


def one(answer, request=REQUEST):
    found = answer_violations(answer, request)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("answer", [None, [], "pass", 1, True])
def test_answer_must_be_an_object(answer):
    assert one(answer).startswith("the answer must be a JSON object")


def test_pass_is_required():
    assert one({"globalIssues": [{"errorType": "g"}]}) == "'pass' is required"


@pytest.mark.parametrize("value", ["true", 1, 0, None, []])
def test_pass_must_be_boolean(value):
    assert one({"pass": value}).startswith("'pass' must be a boolean")


def test_extra_top_level_keys_are_a_violation():
    msg = one({"pass": True, "message": "ok"})
    assert "'message'" in msg and "not part of the format" in msg


def test_issues_must_be_an_object():
    assert one({"pass": True, "issues": []}).startswith("'issues' must be an object")


def test_issues_values_must_be_arrays():
    assert one({"pass": False, "issues": {"uuid_1": {"errorType": "e"}}}) == (
        "issues['uuid_1'] must be an array of issues, not an object")


def test_issues_key_must_be_a_request_uuid():
    assert one({"pass": False, "issues": {"x": [{"errorType": "e"}]}}) == (
        "issues key 'x' is not the uuid of an annotation in the request")


def test_issues_keys_are_unknown_without_a_request():
    found = answer_violations({"pass": False, "issues": {"uuid_1": [{"errorType": "e"}]}}, None)
    assert found == ["issues key 'uuid_1' is not the uuid of an annotation in the request"]


def test_global_issues_must_be_an_array():
    assert one({"pass": False, "globalIssues": {"errorType": "g"}}).startswith("'globalIssues' must be an array")


@pytest.mark.parametrize("issue", ["bad", 3, None, ["errorType"]])
def test_issue_must_be_an_object(issue):
    assert one({"pass": False, "globalIssues": [issue]}).startswith("globalIssues[0] must be an Issue object")


def test_error_type_is_required():
    assert one({"pass": False, "globalIssues": [{"extra": "x"}]}) == "globalIssues[0].errorType is required"


@pytest.mark.parametrize("value", [1, None, ["a"], {"a": 1}])
def test_error_type_must_be_a_string(value):
    assert one({"pass": False, "globalIssues": [{"errorType": value}]}).startswith(
        "globalIssues[0].errorType must be a string")


def test_error_type_must_not_be_empty():
    assert one({"pass": False, "globalIssues": [{"errorType": " "}]}) == (
        "globalIssues[0].errorType must not be empty")


def test_issue_extra_keys_are_a_violation():
    msg = one({"pass": False, "issues": {"uuid_1": [{"errorType": "e", "message": "m"}]}})
    assert msg.startswith("issues['uuid_1'][0] has keys that are not part of an Issue") and "'message'" in msg


def test_locations_must_be_an_array():
    assert one({"pass": False, "globalIssues": [{"errorType": "g", "locations": {"x": 1, "y": 2}}]}) == (
        "globalIssues[0].locations must be an array, not an object")


def test_location_must_be_an_object():
    assert one({"pass": False, "globalIssues": [{"errorType": "g", "locations": [[1, 2]]}]}).startswith(
        "globalIssues[0].locations[0] must be an object {x, y}")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "3", None, True, [1]])
def test_location_numbers_must_be_finite(bad):
    answer = {"pass": False, "globalIssues": [{"errorType": "g",
                                               "locations": [{"x": 1, "y": 2}, {"x": bad, "y": 0}]}]}
    assert one(answer) == "globalIssues[0].locations[1].x is not a finite number"


def test_location_coordinates_are_required():
    answer = {"pass": False, "issues": {"uuid_2": [{"errorType": "e", "locations": [{"x": 1}]}]}}
    assert one(answer) == "issues['uuid_2'][0].locations[0].y is required"


def test_location_extra_keys_are_a_violation():
    answer = {"pass": False, "globalIssues": [{"errorType": "g", "locations": [{"x": 1, "y": 2, "z": 3}]}]}
    assert one(answer).startswith("globalIssues[0].locations[0] has keys other than x and y")


def test_non_finite_numbers_inside_extra_are_a_violation():
    answer = {"pass": False, "globalIssues": [{"errorType": "g", "extra": {"area": math.nan}}]}
    assert one(answer).startswith("globalIssues[0].extra.area is not a finite number")


def test_failing_answer_must_carry_an_issue():
    assert one({"pass": False}).startswith("'pass' is false but no issue is returned")
    assert one({"pass": False, "issues": {}, "globalIssues": []}).startswith("'pass' is false but no issue")


def test_all_violations_are_reported_together():
    answer = {"ok": 1, "pass": "yes", "issues": {"nope": [{"errorType": 2, "locations": [{"x": math.inf}]}]}}
    found = answer_violations(answer, REQUEST)
    assert len(found) == 6, found


def test_request_uuids_tolerates_malformed_bodies():
    assert request_uuids(None) == set()
    assert request_uuids({"response": []}) == set()
    assert request_uuids({"response": {"annotations": [1, {"uuid": 3}, {"uuid": "a"}]}}) == {"a"}
    assert request_uuids(REQUEST) == {"uuid_1", "uuid_2"}


def test_the_engines_answers_satisfy_the_contract():
    """The service's own answers (passing and failing) are in the format this checker enforces."""
    from tests.support.servers import examples_dir
    from validator.engine.engine import Engine

    paths = sorted(examples_dir().glob("*.json"))
    if not paths:
        pytest.skip(f"example bodies not found at {examples_dir()}")
    engine = Engine.from_config_file(None)
    for path in paths:
        body = json.loads(path.read_bytes())
        assert answer_violations(engine.validate(body).answer, body) == [], path.name
        body["response"]["annotations"][0]["uuid"] = "broken"
        body["response"]["annotations"][0].pop("type", None)
        answer = engine.validate(body).answer
        assert answer["pass"] is False and answer_violations(answer, body) == [], (path.name, answer)


def test_the_answer_builders_produce_the_format_the_checker_enforces():
    from validator.scale.answer import answer_json, issue_json

    answer = answer_json(False, {"uuid_1": [issue_json("e", [(1.0, 2.5)], "fix it")]},
                         [issue_json("g"), issue_json("h", (), None)])
    assert answer == {"pass": False, "issues": {"uuid_1": [{"errorType": "e", "locations": [{"x": 1.0, "y": 2.5}],
                                                             "extra": "fix it"}]},
                      "globalIssues": [{"errorType": "g"}, {"errorType": "h"}]}
    assert answer_violations(answer, REQUEST) == []
