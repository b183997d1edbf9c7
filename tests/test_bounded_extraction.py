"""Bodies of millions of malformed annotations get a bounded answer for a bounded cost (issue 10, item 2).

Proved with sizes and work counters (no timings): the answer stays under 2 MiB; at most ``max_listed`` malformed
annotations per kind get a record (and a message) of their own, one global issue counts the others; the careful
reading converts annotations in chunks (a malformed one costs one failed conversion, and at most 63 well-formed
ones converted again), never converts one whose type is not a geometry type, and explains only the ones it lists.
One flood is also run in a child process whose peak memory is measured.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validator.engine.engine import Engine
from validator.scale import jsonio
from validator.scale.annotations import LISTED_DEFAULT, extract, from_typed
from validator.scale.envelope import decode
from validator.testing import box, make_task, point, polygon

MiB = 1024 * 1024
TASK = make_task(geometries={"point": {"objects_to_annotate": ["p"]}, "box": {"objects_to_annotate": ["car"]}})


def flood(item: bytes, size: int = 16 * MiB) -> tuple[bytes, int]:
    """A body of ``size`` bytes whose annotations are all ``item``."""
    head = b'{"task":' + orjson.dumps(TASK) + b',"response":{"annotations":['
    n = (size - len(head) - 4) // (len(item) + 1)
    return head + item + (b"," + item) * (n - 1) + b"]}}", n  # (bytes.join would hold a buffer per item)


@pytest.fixture(scope="module")
def engine():
    return Engine.from_config_file(None)


FLOODS = {
    "all 1": b"1",
    "all {}": b"{}",
    "points with x null": b'{"uuid":"p","type":"point","label":"p","x":null,"y":1}',
    "points with x true": b'{"uuid":"p","type":"point","label":"p","x":true,"y":1}',
}


@pytest.mark.parametrize("name", FLOODS)
def test_16_mib_of_malformed_annotations_get_a_bounded_answer(engine, name):
    raw, n = flood(FLOODS[name])
    result = engine.validate_bytes(raw)
    answer = jsonio.dumps(result.answer)
    assert result.answer["pass"] is False
    assert len(answer) < 2 * MiB
    issues = [i for i in result.issues if i.rule_id == "malformed_annotation"]
    assert len(issues) == LISTED_DEFAULT + 1  # the first 100, and one that counts the others
    summary = [i for i in issues if "more annotations" in (i.extra or "")]
    assert len(summary) == 1 and f"{n - LISTED_DEFAULT:,} more annotations" in summary[0].extra
    # work: every annotation looked at once by C-level passes; one-by-one conversions only for geometry types;
    # explanations only for the listed ones
    stats = result.stats
    assert stats["extraction_explained"] <= LISTED_DEFAULT
    assert stats["extraction_unlisted"] == n - LISTED_DEFAULT
    # not objects, no type, a required field absent, null or of another type: C-level passes, no conversion
    assert stats["extraction_failed"] == 0


def test_what_only_a_conversion_finds_costs_one_failed_conversion_each(engine):
    """A bad vertex inside a polygon is found by converting (in chunks): one failed conversion per malformed
    annotation, and at most 63 well-formed ones converted again for each."""
    bad = {"uuid": "x", "type": "polygon", "label": "car", "vertices": [{"x": 0, "y": 0}, {"x": True, "y": 1}]}
    anns = []
    for i in range(3000):
        a = dict(bad) if i % 7 == 3 else polygon([(0, 0), (4, 0), (2, 3)], label="car")
        a["uuid"] = f"u{i}"
        anns.append(a)
    result = engine.validate({"task": TASK, "response": {"annotations": anns}})
    malformed = sum(1 for i in range(3000) if i % 7 == 3)
    assert result.stats["extraction_failed"] == malformed
    assert result.stats["extraction_converted_again"] <= 63 * malformed
    assert result.stats["extraction_explained"] == LISTED_DEFAULT
    assert result.stats["extraction_unlisted"] == malformed - LISTED_DEFAULT


def test_the_first_malformed_annotations_are_listed_in_request_order(engine):
    anns = [point(1, 1, uuid="ok")] + [{"uuid": f"b{i}", "type": "point", "label": "p", "x": None, "y": 1}
                                       for i in range(500)]
    body = {"task": TASK, "response": {"annotations": anns}}
    result = engine.validate(body)
    listed = [i.uuid for i in result.issues if i.rule_id == "malformed_annotation" and i.uuid]
    assert listed == [f"b{i}" for i in range(LISTED_DEFAULT)]
    assert "ok" not in listed


def test_max_listed_is_an_option_of_the_format_rules(tmp_path):
    cfg = tmp_path / "v.toml"
    cfg.write_text('[[rule]]\nid = "malformed_annotation"\noptions = { max_listed = 3 }\n'
                   '[[rule]]\nid = "non_finite_coordinate"\noptions = { max_listed = 2 }\n')
    eng = Engine.from_config_file(cfg)
    anns = ([{"uuid": f"m{i}", "type": "box"} for i in range(10)]
            + [polygon([(0, 0), (1, float("nan")), (2, 2)], uuid=f"n{i}", label="car") for i in range(10)])
    result = eng.validate({"task": TASK, "response": {"annotations": anns}})
    by_rule: dict[str, list] = {}
    for i in result.issues:
        by_rule.setdefault(i.rule_id, []).append(i)
    assert [i.uuid for i in by_rule["malformed_annotation"]] == ["m0", "m1", "m2", None]
    assert by_rule["malformed_annotation"][-1].extra == (
        "7 more annotations are not in Scale's format (only the first 3 are listed one by one).")
    assert [i.uuid for i in by_rule["non_finite_coordinate"]] == ["n0", "n1", None]
    assert by_rule["non_finite_coordinate"][-1].extra.startswith("8 more annotations have a coordinate")
    assert result.stats["extraction_explained"] == 3  # (the engine keeps 3 records per kind: the larger option)


@pytest.mark.parametrize("item", [b"{}", b"1"])
def test_a_flood_stays_under_1_gib_in_a_worker_sized_process(item):
    """The heaviest floods (16 MiB of empty objects: ~5.6M dicts once parsed; of 1: ~8.4M ints), measured in a
    child process: what the request adds to the engine at rest (peak resident memory, the body itself included)
    fits in a 1 GiB worker beside a worker's own ~50 MiB at rest (docs/deployment.md). The engine's compiled
    kernels (numba: ~110 MiB, mostly LLVM's code) are loaded in the preloaded master and shared by every worker,
    so they are counted once per instance, in the master's share (tests/test_deploy.py), not here."""
    code = textwrap.dedent("""
        import resource, sys
        sys.path.insert(0, ".")
        from tests.test_bounded_extraction import flood
        from validator.engine.engine import Engine
        from validator.scale import jsonio
        engine = Engine.from_config_file(None)
        with open("/proc/self/statm") as f:
            at_rest = int(f.read().split()[1]) * resource.getpagesize()
        raw, n = flood(sys.argv[1].encode())
        result = engine.validate_bytes(raw)
        size = len(jsonio.dumps(result.answer))
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, at_rest, size, n)
    """)
    out = subprocess.run([sys.executable, "-c", code, item.decode()], capture_output=True, text=True, timeout=300,
                         check=True)
    peak, at_rest, size, n = map(int, out.stdout.split())
    assert n > 5_000_000
    assert peak - at_rest < (1024 - 50) * MiB, f"peak memory {peak / MiB:.0f} MiB, {at_rest / MiB:.0f} MiB at rest"
    assert size < 2 * MiB


# -- hypothesis: floods of malformed annotations a person would not think of -------------------------------------------
_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True),
                          st.text(max_size=3))
_values = st.recursive(_json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                st.dictionaries(st.text(max_size=2), inner,
                                                                                max_size=3)), max_leaves=6)
_good = st.sampled_from([box(1, 2, 3, 4, label="car"), point(5, 6, label="p"),
                         polygon([(0, 0), (4, 0), (2, 3)], label="car")])
_keys = st.sampled_from(["uuid", "type", "label", "left", "top", "width", "height", "x", "y", "vertices",
                         "attributes", "rotation"])


@st.composite
def _annotation(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(_values)  # anything at all
    ann = dict(draw(_good))
    ann["uuid"] = draw(st.sampled_from(["a", "b", "c", "d", ""]))  # duplicates too
    if kind >= 2:  # break one field
        ann[draw(_keys)] = draw(_values)
    if kind == 3 and isinstance(ann.get("vertices"), list) and ann["vertices"]:
        ann["vertices"][draw(st.integers(0, len(ann["vertices"]) - 1))] = draw(_values)
    return ann


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_annotation(), max_size=40), st.integers(1, 5))
def test_every_annotation_is_accounted_for_and_chunks_agree_with_one_by_one(anns, listed):
    anns = json.loads(json.dumps(anns))  # as parsed from a body (NaN stays NaN)
    got = extract(anns, listed=listed)
    one_by_one = extract(anns, listed=listed, careful=True)
    assert got.uuids == one_by_one.uuids and got.malformed == one_by_one.malformed
    assert got.unlisted == one_by_one.unlisted
    for kind in ("malformed", "non_finite"):
        assert sum(m.kind == kind for m in got.malformed) <= listed
    # each annotation is well formed or malformed, never both, never lost
    assert len(got) + len(got.malformed) + sum(got.unlisted.values()) == len(anns)
    assert not set(got.request_index) & {m.index for m in got.malformed}
    assert len(set(got.uuids)) == len(got.uuids)
    assert got.work["explained"] <= 2 * listed
    # and whenever the typed decode takes the same annotations, it reads them exactly as the careful reading does
    raw = jsonio.encode_body({"task": TASK, "response": {"annotations": anns}})
    typed = decode(raw)
    cols = from_typed(typed[1].annotations or [], list) if typed is not None else None
    if cols is not None:
        assert not got.malformed and not got.unlisted
        assert (cols.uuids, cols.type_names, cols.labels, cols.attributes) == \
            (got.uuids, got.type_names, got.labels, got.attributes)
        assert cols.coords.tolist() == got.coords.tolist() and cols.edges.tolist() == got.edges.tolist()
    else:
        assert got.malformed or got.unlisted or b"NaN" in raw or b"Infinity" in raw  # (not JSON: typed refuses)


# -- one nesting limit on every parse path -----------------------------------------------------------------------------
def _nested_body(depth: int, nan: bool) -> bytes:
    """A well-formed body with ``depth`` levels of nesting in total, in a field no rule reads; ``nan`` adds a NaN
    literal elsewhere (so the body takes the stdlib parser instead of orjson and the typed decode)."""
    inner = depth - 4  # the body, "response", "annotations", the annotation
    extra = "[" * inner + "]" * inner
    x = "NaN" if nan else "1"
    return (f'{{"task": {orjson.dumps(TASK).decode()}, "response": {{"annotations": [{{"uuid": "a", '
            f'"type": "point", "label": "p", "x": {x}, "y": 1, "deep": {extra}}}]}}}}').encode()


@pytest.mark.parametrize("depth", [100, 900, 1000, 1023, 1024, 1025, 1100, 20_000])
def test_the_nesting_limit_is_the_same_on_every_path(engine, depth):
    assert jsonio.depth(_nested_body(depth, False)) == depth
    outcomes = []
    for nan in (False, True):
        try:
            result = engine.validate_bytes(_nested_body(depth, nan))
            outcomes.append("answered")
            assert not nan or any(i.rule_id == "non_finite_coordinate" for i in result.issues)
        except jsonio.JSONBodyError as exc:
            assert "nesting" in str(exc)
            outcomes.append("refused")
    assert outcomes == (["answered"] * 2 if depth <= jsonio.MAX_DEPTH else ["refused"] * 2)
    if depth <= jsonio.MAX_DEPTH:  # a parsed body handed to Engine.validate is read the same way
        raw = _nested_body(depth, True)
        assert engine.validate(jsonio.loads(raw)).answer == engine.validate_bytes(raw).answer
