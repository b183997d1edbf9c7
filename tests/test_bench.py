"""The benchmark harness itself (bench/run.py): command handling, and a tiny end-to-end run with both sides bare."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


def test_build_argv_rewrites_bind_to_loopback_and_swaps_the_app():
    argv = run.build_argv("gunicorn -c gunicorn.conf.py --bind 0.0.0.0:$PORT validator.service.wsgi:app",
                          "bench.bare_app:app", 4321)
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    assert argv[3:] == ["-c", "gunicorn.conf.py", "--bind", "127.0.0.1:4321", "bench.bare_app:app"]
    argv = run.build_argv("gunicorn -c gunicorn.conf.py -b=:80 app:x", "a:b", 1)
    assert argv[-3:] == ["--bind", "127.0.0.1:1", "a:b"]
    # the Procfile's form: gunicorn behind the settings check, run by this venv's python
    argv = run.build_argv("python -m validator.service.gunicorn_main -c gunicorn.conf.py --bind 0.0.0.0:$PORT x:app",
                          "bench.bare_app:app", 4321)
    assert argv == [sys.executable, "-m", "validator.service.gunicorn_main", "-c", "gunicorn.conf.py",
                    "--bind", "127.0.0.1:4321", "bench.bare_app:app"]


def test_quantile():
    assert run.quantile([5, 1, 3, 2, 4], 0.5) == 3
    assert run.quantile(list(range(1, 101)), 0.9) == 90


def test_harness_end_to_end_both_sides_bare(tmp_path):
    out = tmp_path / "r.json"
    p = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--mode", "latency", "--sizes", "10,100", "--requests", "5",
         "--command", "gunicorn -w 1 bench.bare_app:app", "--service-app", "bench.bare_app:app", "--ready-path", "/",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "ratio" in p.stdout
    res = json.loads(out.read_text())
    assert [r["size"] for r in res["latency"]] == [10, 100]
    assert all(r["service_errors"] == 0 and r["bare_errors"] == 0 for r in res["latency"])
    assert all(0.2 < r["ratio"] < 5 for r in res["latency"])


# -- the scenes of issue 14 (bench/scenes.py) --------------------------------------------------------------------------
import collections  # noqa: E402

import orjson  # noqa: E402
import pytest  # noqa: E402
import shapely  # noqa: E402

from bench import scenes  # noqa: E402
from validator.engine.engine import Engine  # noqa: E402

#: the only issues a scene may raise: the defects it plants on purpose
_EXPECTED = {"mix": {"box_too_small", "label_not_in_taxonomy", "polygon_self_intersection", "outside_image",
                     "duplicate_annotation", "attribute_not_in_choices"},
             "street": {"duplicate_annotation"}, "stars": set(), "outlines": set()}


@pytest.fixture(scope="module")
def engine():
    return Engine.from_config_file(None)


def _issue_types(answer: dict) -> collections.Counter:
    c = collections.Counter(i["errorType"] for v in answer["issues"].values() for i in v)
    c.update(i["errorType"] for i in answer["globalIssues"])
    return c


def _anns(body: dict) -> list[dict]:
    return body["response"]["annotations"]


def _shape(a: dict):
    if a["type"] == "box":
        return shapely.box(a["left"], a["top"], a["left"] + a["width"], a["top"] + a["height"])
    pts = [(v["x"], v["y"]) for v in a["vertices"]]
    return shapely.Polygon(pts) if a["type"] == "polygon" else shapely.LineString(pts)


@pytest.mark.parametrize("scene", list(scenes.SCENES))
def test_scenes_are_deterministic_per_seed(scene):
    n = 10 if scene == "outlines" else 100
    assert scenes.scene_bytes(scene, n, seed=0) == scenes.scene_bytes(scene, n, seed=0)
    assert scenes.scene_bytes(scene, n, seed=0) != scenes.scene_bytes(scene, n, seed=1)


@pytest.mark.parametrize("scene,n", [(s, n) for s in ("mix", "street", "stars") for n in (10, 100, 1000)]
                         + [("outlines", 10), ("outlines", 100)])
def test_scenes_are_valid_scale_bodies_with_only_the_planted_issues(engine, scene, n):
    body = scenes.scene_body(scene, n)
    raw = orjson.dumps(body)
    assert len(_anns(body)) == n
    assert scenes.fits_limit(raw)
    assert len({a["uuid"] for a in _anns(body)}) == n
    types = _issue_types(engine.validate(orjson.loads(raw)).answer)
    assert not set(types) & scenes.FORMAT_ERROR_TYPES
    assert set(types) <= _EXPECTED[scene], types


def test_street_scene_is_dense_with_near_copies_flagged(engine):
    body = scenes.scene_body("street", 1000)
    anns = [a for a in _anns(body) if a["type"] in ("box", "polygon")]
    geoms = [_shape(a) for a in anns]
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    inter = shapely.area(shapely.intersection([geoms[k] for k in i],
                                              [geoms[k] for k in j]))
    overlapping = {int(k) for k, a in zip(i, inter) if a > 0} | {int(k) for k, a in zip(j, inter) if a > 0}
    assert len(overlapping) > 0.6 * len(anns)  # heavy occlusion: most objects overlap another
    small = shapely.area([geoms[k] for k in i])
    assert (inter / small > 0.3).sum() > 0.3 * len(anns)  # many overlap a neighbour by more than 30%
    occluded = sum(a["attributes"].get("occlusion", "0%") != "0%" for a in anns)
    assert occluded > 0.6 * len(anns)
    dups = _issue_types(engine.validate(body).answer)["duplicate_annotation"]
    assert 0.015 * 1000 <= dups <= 0.04 * 1000  # the 2% near-copies (a source pasted twice gives 3 pairs)


def test_stars_are_non_convex_simple_polygons_with_conditioned_attributes():
    body = scenes.scene_body("stars", 1000)
    polys = [a for a in _anns(body) if a["type"] == "polygon"]
    assert len(polys) > 0.6 * 1000
    ks = [len(a["vertices"]) for a in polys]
    assert min(ks) >= 6 and max(ks) <= 60 and min(ks) <= 8 and max(ks) >= 55
    geoms = [_shape(a) for a in polys]
    assert all(shapely.is_valid(geoms))
    nonconvex = shapely.area(geoms) < 0.98 * shapely.area(shapely.convex_hull(geoms))
    assert nonconvex.mean() > 0.8
    anns = _anns(body)
    assert sum(bool(a["attributes"]) for a in anns) > 0.7 * len(anns)
    spec = body["task"]["params"]["annotation_attributes"]["occluder"]["conditions"]
    assert spec["attribute_conditions"] == [{"occlusion": ["25%", "50%", "75%", "90%"]}]
    with_occlusion = [a["attributes"] for a in anns if "occlusion" in a["attributes"]]
    assert with_occlusion and all(("occluder" in x) == (x["occlusion"] != "0%") for x in with_occlusion)
    assert any(x["occlusion"] == "0%" for x in with_occlusion) and any("occluder" in x for x in with_occlusion)


def test_outlines_are_long_simple_and_only_small_counts_fit_the_body_limit():
    body = scenes.scene_body("outlines", 100)
    ks = [len(a["vertices"]) for a in _anns(body)]
    assert min(ks) >= 500 and max(ks) <= 2000 and max(ks) > 1800
    geoms = [_shape(a) for a in _anns(body)]
    assert all(shapely.is_valid(g) and g.is_simple for g in geoms)
    assert {a["type"] for a in _anns(body)} == {"polygon", "line"}
    per_annotation = len(orjson.dumps(body)) / 100
    assert per_annotation * 1000 > scenes.DEFAULT_MAX_BODY  # 1,000 of them would not fit: the bench skips them
    # the bounding boxes of neighbouring outlines overlap (a cheap envelope test does not separate them)
    b = shapely.bounds(geoms)
    order = b[:, 1].argsort()
    assert (b[order[1:], 1] < b[order[:-1], 3]).mean() > 0.9


def test_realdata_is_read_in_place_when_present():
    if scenes.realdata_dir() is None:
        pytest.skip("no ../shared/realdata next to the repository")
    bodies = scenes.realdata_bodies(limit=5)
    assert len(bodies) == 5
    assert all(orjson.loads(raw)["task"]["type"] == "imageannotation" for _, raw in bodies)


def test_adversarial_bodies_fit_the_limit():
    full = scenes.adversarial_bodies()
    names = [n for n, _ in full]
    assert len(set(names)) == len(names) >= 7
    assert all(len(raw) <= scenes.DEFAULT_MAX_BODY for _, raw in full)
    assert max(len(raw) for _, raw in full) > 0.99 * scenes.DEFAULT_MAX_BODY  # the 16 MiB floods
    assert orjson.loads(dict(full)["1,000 identical boxes"])["response"]["annotations"][0]["type"] == "box"
    quick = scenes.adversarial_bodies(quick=True)
    assert len(quick) == len(full) and max(len(raw) for _, raw in quick) < 100_000


def test_scenes_command_smoke(tmp_path):
    """The one command of issue 14 in its CI mode: real gunicorn on 127.0.0.1, every scene, no timing asserted."""
    out = tmp_path / "s.json"
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--mode", "scenes", "--quick", "--json",
                        str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    res = json.loads(out.read_text())["scenes"]
    for scene in scenes.SCENES:
        rows = res["scenes"][scene]
        assert [r["size"] for r in rows] == [10, 100]
        for r in rows:
            assert r["service_errors"] == 0 and r["bare_errors"] == 0
            assert not set(r["issue_types"]) & scenes.FORMAT_ERROR_TYPES
            assert r["ratio"] > 0
        assert f"Scene {scenes.SCENE_TITLES[scene]}" in p.stdout
    if scenes.realdata_dir() is None:
        assert "SKIPPED: no *.jsonl.gz" in p.stdout
    else:
        assert res["realdata"]["bodies"] == 10 and res["realdata"]["service_errors"] == 0
    assert res["load"]["service"]["requests"] > 0 and res["load"]["bare"]["requests"] > 0
    adv = res["adversarial"]
    assert len(adv) == len(scenes.adversarial_bodies(quick=True))
    assert all(a["service_status"] in (200, 413) and a["service_worker_peak_rss_mib"] > 0 for a in adv)
    assert res["startup_s"]["service"] > 0 and res["memory_at_start"]["service"]["workers"]
    assert "Summary: service/bare median latency ratio" in p.stdout


def test_ab_inprocess_smoke():
    """bench/ab_inprocess.py with the same checkout on both sides: one row per spec, both sides measured (no
    timing asserted)."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "bench" / "ab_inprocess.py"), str(root), str(root),
                          "--rounds", "1", "--seconds", "0.05", "--specs", "mix:10,street:10"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()[1:]}
    assert set(rows) == {"mix:10", "street:10"}
    for values in rows.values():
        a, b = float(values[0]), float(values[1])
        assert a > 0 and b > 0
