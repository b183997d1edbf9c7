"""The compiled kernels (validator/geometry/compiled.py) against their numpy references and against shapely, and
the switch that turns them off: the same answers either way."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, strategies as st

from validator.geometry import compiled
from validator.geometry.compiled import PROOF_MAX_PAIRS, PROOF_MAX_VERTICES, kernel, outline_terms_reference
from validator.geometry.polygons import Outlines, search_crossings

from .strategies import KERNEL, points
from .test_polygons import _is_flat, outlines_of, stars, with_repeats

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not compiled.enabled(), reason="numba not installed or VALIDATOR_JIT=0")

shapes = st.lists(st.one_of(points(min_size=3, max_size=14), stars(), with_repeats(stars())), min_size=1,
                  max_size=8)


def _terms_both(o: Outlines):
    *got, finite = kernel("outline_terms")(o.xy, o.starts, o.counts, o.nxt)
    return got, finite, outline_terms_reference(o.xy, o.starts, o.counts, o.nxt)


@KERNEL
@given(shapes)
def test_outline_terms_are_the_references_up_to_the_order_of_sums(polys):
    """Every term within float noise of the reference (its sums are numpy's pairwise sums, the kernel's in order),
    the star-shaped proof sound, and Outlines takes the kernel's terms."""
    o = outlines_of(*polys)
    (area2, perimeter, widest, star, r2max), finite, ref = _terms_both(o)
    assert finite
    # what rounding can move: the centre (a sum of n coordinates of magnitude M) and each term's own sums
    n = o.counts.astype(float)
    big = np.maximum.reduceat(np.abs(o.xy).max(axis=1), o.starts)  # M, per outline
    radius = np.sqrt(ref[4])  # R, the farthest vertex from the centre
    noise = 1e-12 * n * (big + radius)
    assert np.all(np.abs(area2 - ref[0]) <= noise * n * radius)
    assert np.all(np.abs(perimeter - ref[1]) <= noise)
    assert np.all(np.abs(r2max - ref[4]) <= noise * radius)
    assert (np.isnan(widest) == np.isnan(ref[2])).all()
    both = np.isfinite(widest) & np.isfinite(ref[2])
    assert np.all(np.abs(widest[both] - ref[2][both]) <= noise[both])
    for k, poly in enumerate(polys):
        if star[k]:
            assert shapely.is_simple(shapely.Polygon(poly)), poly  # the kernel's proof is as sound as numpy's
    for taken, term in zip(o._terms, (area2, perimeter, widest, star, r2max)):
        np.testing.assert_array_equal(taken, term)


def test_outline_terms_leave_absurd_coordinates_to_the_reference():
    """Squares that overflow (coordinates beyond ~1e154): the kernel declines, Outlines takes the reference, which
    switches to hypot as it always has."""
    o = outlines_of([(0, 0), (1e200, 0), (1e200, 1e200), (0, 1e200)], [(0, 0), (4, 0), (4, 3)])
    _, finite, ref = _terms_both(o)
    assert not finite
    for taken, term in zip(o._terms, ref):
        np.testing.assert_array_equal(taken, term)
    assert o.star_shaped().tolist() == [False, True]  # overflowing products prove nothing: the search decides


def _without(name: str):
    """The kernels with ``name`` turned off (its numpy reference runs), as a context for one comparison."""
    class Off:
        def __enter__(self):
            self.saved = compiled.load()
            compiled._kernels = {**self.saved, name: None}

        def __exit__(self, *exc):
            compiled._kernels = self.saved
    return Off()


@KERNEL
@given(st.lists(with_repeats(points(min_size=3, max_size=10), nan=True), min_size=1, max_size=8), st.data())
def test_outline_rows_are_the_references_exactly(polys, data):
    """Outlines gathered and without repeats (double clicks, a last vertex repeating the first, NaN, -0.0) by the
    kernel: the same arrays as the numpy reference, bit for bit, for any subset of annotations."""
    counts = np.array([len(p) for p in polys], dtype=np.int64)
    coords = np.array([v for p in polys for v in p], dtype=np.float64).reshape(-1, 2)
    offsets = counts.cumsum() - counts
    positions = np.array(sorted(data.draw(st.sets(st.integers(0, len(polys) - 1), min_size=1))), dtype=np.int64)
    got = [Outlines(coords, counts), Outlines.of_rows(coords, offsets, counts, positions)]
    with _without("outline_rows"):
        want = [Outlines(coords, counts), Outlines.of_rows(coords, offsets, counts, positions)]
    for g, w in zip(got, want):
        for name in ("xy", "counts", "starts", "nxt", "given_counts"):
            a, b = getattr(g, name), getattr(w, name)
            assert a.dtype == b.dtype and a.shape == b.shape, name
            assert np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b)), name


@KERNEL
@given(st.lists(st.one_of(points(min_size=3, max_size=14), with_repeats(points(min_size=3, max_size=10))),
                min_size=1, max_size=10))
def test_proven_simple_is_sound_and_changes_no_search(polys):
    """An outline the kernel proves simple is simple (shapely.is_simple) and one the crossing search finds nothing
    in; the search's answer is the same as when every outline is searched (the references alone)."""
    o = outlines_of(*polys)
    which = np.arange(len(o))[o.counts >= 3]
    proven, work = kernel("proven_simple")(o.xy, o.starts, o.counts, o.nxt, which, PROOF_MAX_PAIRS)
    assert work == sum(int(c) * (int(c) - 1) // 2 for c in o.counts[which])  # (well under the bound here)
    for k, ok in zip(which.tolist(), proven.tolist()):
        if ok:
            assert shapely.is_simple(shapely.Polygon(polys[k])), polys[k]
            assert not _is_flat(polys[k])
    _same_places(search_crossings(o), _search_without_kernel(o), polys)


def _same_places(got, want, polys) -> None:
    """The same outlines, verdicts and places; a place within float noise (fewer outlines left to search can take
    the plain-Python path instead of GEOS's, whose intersection points may differ in the last bits: as
    tests/geometry/test_polygons.py checks of the two paths)."""
    assert [(c.outline, c.touches, c.complete, len(c.points)) for c in got] == \
        [(c.outline, c.touches, c.complete, len(c.points)) for c in want]
    for a, b in zip(got, want):
        scale = max(1.0, *(abs(v) for p in polys[a.outline] for v in p))
        for (x, y), (u, v) in zip(a.points, b.points):
            assert abs(x - u) <= 1e-9 * scale and abs(y - v) <= 1e-9 * scale, (a, b)


def _search_without_kernel(o: Outlines):
    """search_crossings with the proof turned off: the same outlines, every one of them searched."""
    with _without("proven_simple"):
        return search_crossings(Outlines(o.xy, o.counts))


def test_proven_simple_on_a_table():
    """Concave but simple: proven; crossing, touching itself at a vertex, folding back on an edge: left to the
    search."""
    u_shape = [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)]
    bow_tie = [(0, 0), (2, 2), (2, 0), (0, 2)]
    keyhole = [(0, 0), (4, 0), (4, 4), (2, 4), (2, 2), (3, 3), (2, 2.0), (0, 4)]  # visits (2, 2) twice
    spike = [(0, 0), (4, 0), (4, 4), (2, 4), (2, 6), (2, 4), (0, 4)]  # out and back along one line
    zigzag = [(0, 0), (10, 0), (10, 1), (9, 0.5), (8, 1), (7, 0.5), (6, 1), (0, 1)]
    o = outlines_of(u_shape, bow_tie, keyhole, spike, zigzag)
    proven, _ = kernel("proven_simple")(o.xy, o.starts, o.counts, o.nxt, np.arange(5), PROOF_MAX_PAIRS)
    assert proven.tolist() == [True, False, False, False, True]
    assert [shapely.is_simple(shapely.Polygon(p)) for p in (u_shape, bow_tie, keyhole, spike, zigzag)] == \
        [True, False, False, False, True]


def test_proven_simple_has_a_bounded_cost():
    """Outlines of more than PROOF_MAX_VERTICES vertices are not tried, and one call looks at no more than its
    max_pairs pairs of edges: the rest is left to the (bounded) search."""
    t = np.linspace(0, 2 * np.pi, PROOF_MAX_VERTICES + 1, endpoint=False)
    r = 10 + np.where(np.arange(len(t)) % 2, 3.0, 0.0)  # concave (a gear): not proven star-shaped
    gear = np.c_[r * np.cos(t), r * np.sin(t)]
    small = gear[::2][: PROOF_MAX_VERTICES // 2]
    o = Outlines(np.concatenate([gear, small, small]), np.array([len(gear), len(small), len(small)]))
    pairs = len(small) * (len(small) - 1) // 2
    proven, work = kernel("proven_simple")(o.xy, o.starts, o.counts, o.nxt, np.arange(3), pairs)
    assert work == pairs and proven.tolist() == [False, True, False]  # too long; proven; past the bound
    assert not search_crossings(o)  # all three are simple: the search finds nothing in the others either


def test_the_same_answers_without_compiled_kernels():
    """Every example body and a few benchmark scenes, answered with the kernels (this process) and with
    VALIDATOR_JIT=0 (a fresh process): the same JSON."""
    from bench import scenes
    from validator.engine.engine import Engine
    from validator.scale import jsonio

    bodies = {p.name: p.read_bytes() for p in sorted((ROOT / "examples").rglob("*.json"))}
    for scene in ("mix", "street", "stars"):
        bodies[scene] = scenes.scene_bytes(scene, 100, seed=3)
    engine = Engine.from_config_file(None)
    here = {name: json.loads(jsonio.dumps(engine.validate_bytes(raw).answer)) for name, raw in bodies.items()}
    script = ("import json, sys\nfrom validator.engine.engine import Engine\nfrom validator.scale import jsonio\n"
              "from validator.geometry import compiled\nassert not compiled.enabled()\n"
              "engine = Engine.from_config_file(None)\n"
              "bodies = {k: v.encode('latin-1') for k, v in json.load(sys.stdin).items()}\n"
              "print(json.dumps({k: json.loads(jsonio.dumps(engine.validate_bytes(v).answer))"
              " for k, v in bodies.items()}))\n")
    proc = subprocess.run([sys.executable, "-c", script], input=json.dumps({k: v.decode("latin-1")
                                                                           for k, v in bodies.items()}),
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "VALIDATOR_JIT": "0"})
    assert proc.returncode == 0, proc.stderr
    there = json.loads(proc.stdout)
    assert there == here
    assert any(not a["pass"] for a in here.values()) and any(a["pass"] for a in here.values())


@pytest.mark.parametrize("value, on", [(None, True), ("", True), ("1", True), ("on", True), (" TRUE ", True),
                                       ("0", False), ("off", False), ("No", False), ("maybe", None), ("2", None)])
def test_the_switch_reads_on_and_off(value, on):
    assert compiled.jit_setting(value) is on


def test_the_switch_off_is_said_and_a_bad_value_refused():
    env = {**os.environ, "VALIDATOR_JIT": "0"}
    out = subprocess.run([sys.executable, "-c", "from validator.geometry import compiled; print(compiled.status())"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert "'jit': 'off'" in out.stdout and "VALIDATOR_JIT=0" in out.stdout, out
    from validator.service.settings import Settings

    _, problems = Settings.read({"SCALE_CALLBACK_AUTH_KEY": "k" * 24, "VALIDATOR_JIT": "fast"})
    assert problems == ["VALIDATOR_JIT must be 1 (compiled geometry kernels, the default) or 0 (numpy only), "
                        "not 'fast'"]
