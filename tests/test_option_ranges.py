"""Every numeric option of the built-in rules has a range, refuses what is not a number of its kind, and documents
its range (in ``validator rules`` and docs/rules.md)."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from marshmallow import ValidationError, fields, validate

from validator_rules._options import Float, Integer
from validator.engine.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def _builtin_numeric_options():
    """(rule id, schema, option name, field) of every numeric option of every built-in rule, nested ones too."""
    out = []
    registry = load_config(None).registry

    def walk(rule_id, schema, prefix=""):
        for name, f in schema._declared_fields.items():
            inner = f.inner if isinstance(f, fields.List) else f
            if isinstance(inner, fields.Nested):
                walk(rule_id, inner.nested, f"{prefix}{name}[].")
            elif isinstance(f, fields.Number):
                out.append((rule_id, schema, prefix + name, f))

    for r in registry:
        if r.module.startswith("validator_rules."):
            walk(r.id, r.options)
    return out


OPTIONS = _builtin_numeric_options()
IDS = [f"{rule_id}.{name}" for rule_id, _, name, _ in OPTIONS]


def test_there_are_numeric_options_to_check():
    assert len(OPTIONS) >= 20
    assert "box_too_small.min_width" in IDS and "duplicate_annotation.thresholds[].min_iou" in IDS


@pytest.mark.parametrize("rule_id,schema,name,field", OPTIONS, ids=IDS)
def test_every_numeric_option_is_strict_and_has_a_documented_range(rule_id, schema, name, field):
    assert isinstance(field, (Float, Integer)), f"{rule_id}.{name}: use rules/_options.py Float / Integer"
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    assert ranges, f"{rule_id}.{name} has no range"
    assert f"Range: {field.metadata['range']}" in field.metadata["description"]
    key = name.split(".")[-1]
    for bad in ("8", True, math.nan, math.inf):
        with pytest.raises(ValidationError):
            field.deserialize(bad, key, {})
    r = ranges[0]
    if r.min is not None:
        below = r.min - 3 if r.min_inclusive else r.min
        with pytest.raises(ValidationError, match="must be"):
            field.deserialize(below, key, {})
        assert field.deserialize(r.min + (0 if r.min_inclusive else 0.5) if r.max is None or r.min + 0.5 <= r.max
                                 else r.min, key, {}) is not None
    if r.max is not None:
        with pytest.raises(ValidationError, match="must be"):
            field.deserialize(r.max + 1, key, {})


def test_whole_number_options_refuse_fractions():
    ints = [(rid, n, f) for rid, _, n, f in OPTIONS if isinstance(f, Integer)]
    assert ints
    for _rid, n, f in ints:
        with pytest.raises(ValidationError, match="whole number"):
            f.deserialize(2.5, n, {})
        assert f.deserialize(12.0, n, {}) == 12


def test_box_too_small_refuses_a_negative_width_and_a_string(tmp_path):
    cfg = tmp_path / "v.toml"
    cfg.write_text('[[rule]]\nid = "box_too_small"\noptions = { min_width = -3, min_height = "8" }\n')
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    text = str(e.value)
    assert "2 problems" in text
    assert "options.min_width: must be >= 0 (given: -3)" in text
    assert "options.min_height: must be a number, not a string" in text


def test_the_ranges_are_in_the_rule_docs():
    out = subprocess.run([sys.executable, "-m", "validator", "rules", "box_too_small"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "min_width (Float, default none): " in out and "Range: >= 0, or none." in out
    catalogue = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    top_level = [name for _, _, name, _ in OPTIONS if "[]." not in name]  # nested ones are described in their parent
    assert catalogue.count("Range: ") == len(top_level)
