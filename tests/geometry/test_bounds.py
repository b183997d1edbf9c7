"""Bounded cost of the pairwise kernels, proven by work counters (never by timing).

Piles of identical or nearly identical shapes, floods of identical points and long or random outlines: the work
the kernels count grows linearly with the input (in the output-sensitive sense: with the pairs they may look at,
which is capped), exact copies are found by sorting (no pairs), and the verdict of each adversarial body is a fail
for a reason a labeler can act on (one issue for a pile, not one per pair).
"""
from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

from validator.engine.config import load_config
from validator.engine.engine import Engine
from validator.geometry import pairs
from validator.geometry.pairs import envelope_pairs_upto, first_copies, pair_limit, pairs_within_groups
from validator.geometry.polygons import EDGE_PAIRS_FLOOR, EDGE_PAIRS_PER_EDGE, Outlines, self_crossings

from .strategies import KERNEL, envelopes
from .test_pairs import _by_strtree

_spec = importlib.util.spec_from_file_location("bench_adversarial",
                                               Path(__file__).resolve().parents[2] / "bench" / "adversarial.py")
adversarial = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(adversarial)

NS = (1000, 2000, 4000, 8000)


def _scan_bound(m: int, limit: int) -> int:
    """What the sweep may look at: a few times the limit, plus one chunk and one entry's x-neighbours."""
    return pairs._SCAN_FACTOR * limit + 2 * pairs._CHUNK + 2 * m


# -- the kernels --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", NS)
def test_a_pile_of_identical_envelopes_stops_at_the_limit(m):
    env = np.tile([100.0, 100.0, 150.0, 140.0], (m, 1))
    limit = pair_limit(m) // 10
    found = envelope_pairs_upto(env, limit)
    assert not found.complete and len(found.i) == limit
    assert found.work <= _scan_bound(m, limit)
    assert found.crowd == m - 1 and 0 <= found.busiest < m
    assert (found.i < found.j).all() and len(set(zip(found.i.tolist(), found.j.tolist()))) == limit


def test_the_work_on_piles_grows_linearly():
    work = {}
    for m in NS:
        rng = np.random.default_rng(m)
        env = np.tile([100.0, 100.0, 150.0, 140.0], (m, 1)) + rng.uniform(0, 1, (m, 1))  # near copies
        found = envelope_pairs_upto(env, pair_limit(m))
        assert not found.complete
        work[m] = found.work
    for m in NS[:-1]:
        assert work[2 * m] <= 2.5 * work[m], work


@KERNEL
@given(envelopes(), st.integers(0, 400))
def test_a_cut_result_is_a_subset_and_says_so(env, limit):
    found = envelope_pairs_upto(env, limit)
    got = set(zip(found.i.tolist(), found.j.tolist()))
    want = _by_strtree(env) if len(env) > 1 else set()
    assert got <= want and len(got) == len(found.i) <= limit
    if found.complete:  # never claims completeness it does not have (it may stop early on pairs near in x only)
        assert got == want
    if len(want) <= limit and len(env) <= pairs.ALL_PAIRS_UP_TO:
        assert found.complete
    if not found.complete:
        b = env[found.busiest]
        meets = (env[:, 0] <= b[2]) & (b[0] <= env[:, 2]) & (env[:, 1] <= b[3]) & (b[1] <= env[:, 3])
        assert found.crowd == meets.sum() - 1


@KERNEL
@given(envelopes(max_size=120), st.integers(1, 6), st.integers(0, 2**32 - 1), st.integers(0, 300))
def test_pairs_within_groups_are_the_pairs_of_each_group(env, n_groups, seed, limit):
    groups = np.random.default_rng(seed).integers(0, n_groups, len(env))
    limits = np.full(n_groups, limit)
    i, j, complete, _ = pairs_within_groups(env, groups, limits)
    got = defaultdict(set)
    for a, b in zip(i.tolist(), j.tolist()):
        assert groups[a] == groups[b] and a < b
        got[groups[a]].add((a, b))
    for g in range(n_groups):
        rows = np.flatnonzero(groups == g)
        want = {(int(rows[a]), int(rows[b])) for a, b in _by_strtree(env[rows])} if len(rows) > 1 else set()
        assert got[g] <= want and len(got[g]) <= limit
        if complete[g]:
            assert got[g] == want, g
        if len(rows) < 2 or limit >= len(rows) ** 2:  # nothing to cut (x-near pairs <= rows² <= scan bound)
            assert complete[g], g


@KERNEL
@given(st.lists(st.tuples(st.integers(0, 2), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)),
                                                      min_size=0, max_size=4)), min_size=0, max_size=40))
def test_first_copies_are_exact_copies_by_brute_force(shapes):
    codes = np.array([c for c, _ in shapes], dtype=np.int64)
    counts = np.array([len(v) for _, v in shapes], dtype=np.int64)
    xy = np.array([p for _, v in shapes for p in v], dtype=float).reshape(-1, 2)
    first = first_copies(codes, xy, counts)
    seen: dict = {}
    for k, (c, v) in enumerate(shapes):
        assert first[k] == seen.setdefault((c, tuple(v)), k), (k, shapes)


def test_first_copies_of_100000_shapes_are_found_without_pairs():
    m = 100_000
    xy = np.tile([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]], (m, 1))
    xy[3 * 5000:3 * 5001] += 1  # one different shape
    first = first_copies(np.zeros(m, dtype=np.int64), xy, np.full(m, 3))
    assert first[5000] == 5000 and first[5001] == 0 and (first[np.r_[0:5000, 5001:m]] == 0).all()


def test_the_crossing_search_of_a_random_outline_is_bounded():
    rng = np.random.default_rng(7)
    for n in (500, 1000, 2000, 4000):
        stats: dict = {}
        (found,) = self_crossings(Outlines(rng.uniform(0, 1000, (n, 2)), np.array([n])), stats)
        assert not found.complete and len(found.points) > 100  # random outlines cross themselves ~n²/10 times
        assert stats["edge_pairs"] <= pairs._SCAN_FACTOR * (EDGE_PAIRS_FLOOR + EDGE_PAIRS_PER_EDGE * n) + 2 * n


def test_a_long_outline_with_a_few_crossings_is_searched_completely_in_linear_work():
    work = {}
    for n in (2500, 5000, 10000):
        t = 2 * np.pi * np.arange(n) / n
        r = 400 + 30 * np.sin(40 * t)
        xy = np.stack([960 + 1.9 * r * np.cos(t), 540 + r * np.sin(t)], axis=1)
        xy[[n // 2, n // 2 + 1]] = xy[[n // 2 + 1, n // 2]]  # one swapped pair of vertices: one crossing
        stats: dict = {}
        (found,) = self_crossings(Outlines(xy, np.array([n])), stats)
        assert found.complete and len(found.points) == 1 and not found.touches
        work[n] = stats["edge_pairs"]
    assert work[10000] <= 4.5 * work[2500], work


# -- adversarial bodies through the engine --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The default rules without the engine's caps on annotations and vertices: the kernels' own bounds must hold
    whatever the caps are set to (with the default caps such bodies never reach a pairwise rule)."""
    path = tmp_path_factory.mktemp("bounds") / "config.toml"
    path.write_text("[limits]\nmax_annotations = 1000000\nmax_vertices = 10000000\n")
    return Engine(load_config(path))


def _run(engine, body):
    result = engine.validate(body)
    assert not result.rule_failures, result.rule_failures
    assert not result.budget_exhausted
    return result


def _errors(result, rule_id):
    return [i for i in result.issues if i.rule_id == rule_id and i.level == "error"]


def test_identical_boxes_are_one_issue_found_by_sorting(engine):
    scanned = {}
    for n in NS:
        result = _run(engine, adversarial.identical_boxes(n))
        (issue,) = _errors(result, "duplicate_annotation")
        assert issue.uuid == "a1"
        assert issue.extra == (f"{n - 1:,} other car boxes are exact copies of this one (the same shape at exactly "
                               "the same place); delete the copies.")
        assert issue.locations == ((125.0, 120.0),)
        assert result.stats["exact_comparisons"] == 0
        scanned[n] = result.stats["pairs_scanned"]
        assert scanned[n] <= _scan_bound(n, pair_limit(n))
    for n in NS[:-1]:
        assert scanned[2 * n] <= 2.5 * scanned[n], scanned


def test_the_issues_body_fails_for_each_of_its_defects(engine):
    result = _run(engine, adversarial.identical_boxes_with_defects(1500))
    failed = {i.rule_id for i in result.issues if i.level == "error"}
    assert {"duplicate_annotation", "label_not_in_taxonomy", "outside_image"} <= failed
    assert len(_errors(result, "duplicate_annotation")) == 1


def test_a_pile_of_near_copies_is_one_issue_and_no_pair_is_measured(engine):
    for n in (1500, 6000):
        result = _run(engine, adversarial.near_identical_boxes(n))
        (issue,) = _errors(result, "duplicate_annotation")
        assert issue.extra.startswith(f"This car box is one of {n:,} shapes piled on top of each other here")
        assert f"at most {pair_limit(n):,} overlapping pairs are compared" in issue.extra
        assert result.stats["exact_comparisons"] == 0
        assert result.stats["pairs_scanned"] <= _scan_bound(n, pair_limit(n))


@pytest.mark.parametrize("n", [10_000, 40_000])
def test_a_flood_of_identical_points_is_one_issue(engine, n):
    result = _run(engine, adversarial.identical_points(n))
    (issue,) = _errors(result, "duplicate_point")
    assert issue.extra == f"{n - 1:,} other head points are at exactly this spot; delete them."
    assert result.stats["exact_comparisons"] == 0
    assert result.stats["pairs_scanned"] <= _scan_bound(n, pair_limit(n))


def test_a_random_polygon_fails_for_crossing_itself_with_bounded_work(engine):
    result = _run(engine, adversarial.random_polygon(1000))
    (issue,) = _errors(result, "polygon_self_intersection")
    assert "places at least (too many to find all)" in issue.extra
    assert result.stats["edge_pairs"] <= pairs._SCAN_FACTOR * (EDGE_PAIRS_FLOOR + EDGE_PAIRS_PER_EDGE * 1000) + 2000


def test_small_piles_keep_their_pair_by_pair_issues(engine):
    result = _run(engine, adversarial.identical_boxes(3))  # 3 pairs: far below the limit, each copy named
    texts = [i.extra for i in _errors(result, "duplicate_annotation")]
    assert len(texts) == 3 and all("is a near-copy of another car box (100% overlap)" in t for t in texts)


def test_with_the_default_caps_a_flood_fails_before_any_pairwise_rule():
    result = Engine.from_config_file(None).validate(adversarial.identical_points(40_000))
    assert not result.passed and "annotation_limit" in {i.error_type for i in result.issues if i.level == "error"}
    assert "duplicate_point" not in {i.rule_id for i in result.issues}


def test_groups_on_top_of_each_other_cost_no_work_across_groups():
    """50 copies of one 200-edge outline on one spot: searched together, the work is that of each alone (each group
    in a band of its own), not 50² times one outline's pairs; a group with no rows changes nothing."""
    rng = np.random.default_rng(3)
    one = rng.uniform(0, 100, (200, 2))
    env = np.hstack([np.minimum(one, np.roll(one, -1, axis=0)), np.maximum(one, np.roll(one, -1, axis=0))])
    alone = pairs_within_groups(env, np.zeros(200, dtype=np.int64), np.array([10**6]))
    together = pairs_within_groups(np.tile(env, (50, 1)), np.arange(51).repeat([200] * 25 + [0] + [200] * 25),
                                   np.full(51, 10**6))
    assert together[2].all() and len(together[0]) == 50 * len(alone[0])
    assert together[3] <= 50 * alone[3] * 1.2 + 50 * 200
