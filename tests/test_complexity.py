"""Complexity guard (not timed): exact geometry comparisons grow linearly with the number of annotations.

Rules that compare shapes with each other count every pair they measure exactly in ``ctx.geometry.stats``
("exact_comparisons"); the engine copies the counters to ``Result.stats``. A rule that compared all pairs, or
rebuilt the spatial index, would show up here as quadratic growth or as more than one tree build, whatever the
machine's speed.
"""
import math

import pytest

from validator.engine.config import load_config
from validator.engine.engine import Engine
from validator.testing.payloads import make_body
from validator.testing import box, cuboid, ellipse, make_body as body_of, make_task, polygon

NS = (500, 1000, 2000, 4000)
PER_ROW = 40
STEP = 36  # shapes are ~40 px wide: each overlaps its right neighbour by a few pixels, never the one after

# The work counters must not depend on the machine's speed: a budget no test comes near, so that a loaded machine
# never cuts a rule short (which would fail these tests on budget_exhausted, not on their counts).
GENEROUS_BUDGET = """
[engine]
time_budget_ms = 60000
"""

ALL_OVERLAP_RULES = GENEROUS_BUDGET + """
[[rule]]
id = "forbidden_overlap"
level = "error"
options = { pairs = [["car", "car"], ["road", "road"], ["wheel", "wheel"]], min_fraction = 0.5 }

[[rule]]
id = "contained_annotation"
level = "error"
"""


def _hexagon(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(k * math.pi / 3), cy + 0.6 * r * math.sin(k * math.pi / 3)) for k in range(6)]


def chain(n: int) -> dict:
    """``n`` shapes in rows of 40; each overlaps its right neighbour a little (same label and type in a row).

    Rows cycle through boxes, rotated boxes, polygons, ellipses and cuboids, so both exact paths (box arithmetic
    and shapely) are exercised. ``n - rows`` neighbouring pairs overlap; nothing else touches.
    """
    anns = []
    for k in range(n):
        row, col = divmod(k, PER_ROW)
        x, y = 10 + col * STEP, 10 + row * 60
        kind = row % 5
        if kind == 0:
            anns.append(box(x, y, 40, 24))
        elif kind == 1:
            anns.append(box(x, y, 38, 20, rotation=0.05))
        elif kind == 2:
            anns.append(polygon(_hexagon(x + 20, y + 15, 20)))
        elif kind == 3:
            anns.append(ellipse(x + 20, y + 15, 20, 12))
        else:
            anns.append(cuboid(x, y + 8, 30, 20, side_dx=8, side_dy=-4))
    rows = math.ceil(n / PER_ROW)
    return body_of(anns, task=make_task(width=20 + PER_ROW * STEP + 40, height=20 + rows * 60))


@pytest.fixture(scope="module")
def default_engine(tmp_path_factory):
    """The built-in defaults, with a generous time budget."""
    path = tmp_path_factory.mktemp("complexity") / "defaults.toml"
    path.write_text(GENEROUS_BUDGET)
    return Engine(load_config(path))


@pytest.fixture(scope="module")
def overlap_engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("complexity") / "config.toml"
    path.write_text(ALL_OVERLAP_RULES)
    return Engine(load_config(path))


def _stats(engine: Engine, body: dict) -> dict:
    result = engine.validate(body)
    assert not result.rule_failures, f"rules raised: {result.rule_failures}"
    assert not result.budget_exhausted, "the time budget ran out: counts would be incomplete"
    assert result.stats.get("strtree_builds", 0) <= 1, "the spatial index must be built at most once per request"
    return result.stats


def _assert_linear(counts: dict[int, int], per_annotation: float) -> None:
    for n, c in counts.items():
        assert c <= per_annotation * n, f"{c} exact comparisons for {n} annotations (more than {per_annotation}/N)"
    for n in NS[:-1]:
        small, big = counts[n], counts[2 * n]
        if small:
            assert big <= 2.5 * small, f"doubling N from {n} multiplied exact comparisons by {big / small:.1f}"
        else:
            assert big <= per_annotation * 2 * n


def test_well_separated_realistic_tasks_cost_no_quadratic_work(default_engine):
    counts = {n: _stats(default_engine, make_body(n, seed=n))["exact_comparisons"] for n in NS}
    _assert_linear(counts, per_annotation=1.0)


def test_well_separated_boxes_need_no_exact_comparison(default_engine):
    # envelopes do not even meet: the candidate search alone must rule every pair out
    assert _stats(default_engine, make_body(2000, mix="boxes", seed=1))["exact_comparisons"] == 0


def _looked_at(stats: dict) -> int:
    """Candidate pairs a rule decided on: measured exactly, or ruled out by a bound (an IoU bound from areas and
    envelopes) without exact geometry."""
    return stats["exact_comparisons"] + stats.get("pairs_bounded", 0)


def test_chain_of_overlapping_neighbours_grows_linearly(default_engine):
    stats = {n: _stats(default_engine, chain(n)) for n in NS}
    counts = {n: _looked_at(s) for n, s in stats.items()}
    _assert_linear(counts, per_annotation=2.0)
    for n, c in counts.items():  # the counter measures something: every overlapping neighbour pair is decided
        assert c >= n - math.ceil(n / PER_ROW)
    # neighbours that overlap a little cannot reach duplicate_annotation's IoU: the bound rules them all out
    assert all(s["exact_comparisons"] == 0 for s in stats.values())


def test_chain_with_every_overlap_rule_on_grows_linearly(overlap_engine):
    counts = {n: _looked_at(_stats(overlap_engine, chain(n))) for n in NS}
    _assert_linear(counts, per_annotation=4.0)
    for n, c in counts.items():  # three overlap rules, each deciding on every neighbour pair once
        assert c >= 3 * (n - math.ceil(n / PER_ROW))


def test_chain_neighbours_are_not_duplicates(default_engine):
    result = default_engine.validate(chain(1000))
    assert [i for i in result.issues if i.rule_id == "duplicate_annotation"] == []


def test_exact_comparisons_are_counted_per_candidate_pair(default_engine):
    # three copies: 3 pairs measured; a far-away box and a touching-envelope box of another label cost nothing
    body = body_of([box(0, 0, 50, 50), box(0, 0, 50, 50), box(0, 0, 50, 50), box(500, 500, 20, 20),
                    box(50, 0, 20, 20, label="pedestrian")])
    assert _stats(default_engine, body)["exact_comparisons"] == 3
