"""The shared examples are valid tasks: the whole default rule pack passes them without a single issue."""
import json
from pathlib import Path

import pytest

from validator.engine.engine import Engine

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.json"))


@pytest.fixture(scope="module")
def engine():
    return Engine.from_config_file(None)  # built-in defaults: every discovered rule at its default level


def test_the_examples_are_there():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_passes_with_no_issue_at_all(engine, path):
    result = engine.validate(json.loads(path.read_text()))
    assert not result.rule_failures, f"rules raised: {result.rule_failures}"
    assert not result.budget_exhausted
    found = [(i.error_type, i.uuid, i.level, i.extra) for i in result.issues]  # every level, shadow included
    assert found == []
    assert result.answer == {"pass": True, "issues": {}, "globalIssues": []}
