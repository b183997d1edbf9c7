"""`validator check --html`: the self-contained report, its escaping, and a real browser rendering it."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.scale_standin import serve_wsgi
from tests.test_check_backtest import as_task, bodies
from validator.cli.check import run_check
from validator.cli.report import render_task, scene_of

INJECTION = '<img src=x onerror="alert(1)">'


def failing_task(task_id: str, *, attachment: str | None = None, width: int = 640, height: int = 480) -> dict:
    """Example 01 as a Scale task, resized to the image, with a malformed box whose value is an HTML injection,
    a label that is one too, and a box far too small (box_too_small)."""
    task = as_task(bodies()[0], task_id=task_id)
    task["metadata"]["image_width"], task["metadata"]["image_height"] = width, height
    if attachment is not None:
        task["params"]["attachment"] = attachment
    anns = task["response"]["annotations"]
    for k, a in enumerate(anns):
        if a["type"] == "box":
            a.update(left=40 + 90 * k, top=60 + 40 * k, width=80, height=60)
    anns[0]["left"] = INJECTION
    anns[1]["label"] = "</title><script>alert('label')</script>"
    anns[2].update(width=2, height=2)  # a tiny box: an issue with a location
    return task


def write_report(tmp_path: Path, tasks: list[dict], **kw) -> tuple[int, str, str]:
    src = tmp_path / "tasks.jsonl"
    src.write_text("\n".join(json.dumps(t) for t in tasks) + "\n")
    html_path = tmp_path / "report.html"
    out = io.StringIO()
    code = run_check([str(src)], jobs=1, fmt="json", out=out, html=str(html_path), **kw)
    return code, html_path.read_text(encoding="utf-8"), out.getvalue()


def test_report_is_self_contained_and_escapes_everything(tmp_path):
    attachment = 'https://images.example/a.jpg?x="><script>alert(2)</script>'
    good = as_task(bodies()[1])
    code, page, out = write_report(tmp_path, [failing_task("bad-1", attachment=attachment), good])
    assert code == 1
    assert "<script" not in page.lower() and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;img src=x onerror=&quot;" in page  # the labeler's value (quoted in the issue text), as text
    assert "&lt;/title&gt;&lt;script&gt;" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # nothing is loaded from anywhere except the task image itself
    refs = [r for r in re.findall(r'(?:href|src)="([^"]*)"', page) if not re.fullmatch(r"#t\d+", r)]
    assert refs == [attachment.replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")]
    assert '<a href="#t1">FAIL  task bad-1' in page and '<section class="task" id="t1">' in page  # the index
    assert "<link" not in page and "@import" not in page and "url(" not in page
    # one drawing per failing task, with its task id in the heading
    assert page.count('<section class="task"') == 1 and "task bad-1" in page
    records = [json.loads(x) for x in out.splitlines()]
    issues = records[0]["issues"]
    spots = {(loc["x"], loc["y"]) for i in issues for loc in i["locations"]}
    assert spots and page.count('<g class="loc') == len(spots)  # every issue location marked, one ring per spot
    for n, issue in enumerate(issues, start=1):
        for loc in issue["locations"]:
            ring = re.search(r'<g class="loc[^"]*"><circle cx="%s" cy="%s"[^>]*/><text[^>]*>([^<]*)</text>'
                             % (re.escape(f"{loc['x']:g}"), re.escape(f"{loc['y']:g}")), page)
            assert ring and str(n) in ring.group(1).split(","), (n, loc)
    for issue in issues:
        assert f"<code>{issue['errorType']}</code>" in page
    # each drawing is well-formed SVG (so a browser draws it all)
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(svg)
    assert 'class="ann flagged lv-error"' in page


def test_a_javascript_attachment_is_never_loaded(tmp_path):
    code, page, _ = write_report(tmp_path, [failing_task("bad-js", attachment="javascript:alert(3)")])
    assert "javascript:" not in page and "<image" not in page
    assert "the image URL is not http(s); not loaded" in page


def test_passing_runs_draw_nothing_and_the_limit_is_kept(tmp_path):
    _, page, _ = write_report(tmp_path, [as_task(b) for b in bodies()])
    assert '<section class="task"' not in page and "No rule flagged anything." in page
    _, page, _ = write_report(tmp_path, [failing_task(f"bad-{i}") for i in range(5)], html_limit=2)
    assert page.count('<section class="task"') == 2 and "3 more tasks not drawn (at most 2" in page


def test_with_compare_changed_tasks_are_drawn_with_added_and_removed_issues(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text('[[rule]]\nid = "malformed_annotation"\nlevel = "off"\n')
    _, page, out = write_report(tmp_path, [failing_task("bad-c"), as_task(bodies()[1])], compare=str(other))
    assert page.count('<section class="task"') == 1
    # the tiny box still fails it (box_too_small); the malformed box's issue is gone
    assert "FAIL -&gt; FAIL  task bad-c" in page and 'class="lv-error removed"' in page
    assert "\u2212 " in page
    assert "Compare: <code>built-in defaults</code> &rarr; <code>" in page


def test_drawing_stands_without_image_size_or_image():
    task = failing_task("no-size")
    del task["metadata"]["image_width"]
    scene = scene_of(task, task["response"])
    section = render_task({"task_id": "no-size", "_scene": scene}, [], heading="FAIL  task no-size")
    assert "<image" not in section and "image size unknown" in section
    assert section.count("<polygon") >= 2  # the outlines are drawn anyway, in a box around them
    ET.fromstring(re.search(r"<svg.*?</svg>", section, flags=re.S).group(0))


def test_every_geometry_type_is_drawn():
    for body in bodies():
        scene = scene_of(body["task"], body["response"])
        drawable = [a for a in scene["annotations"] if a["shape"] is not None]
        assert len(drawable) == len(body["response"]["annotations"]), body["task"]["task_id"]


# -- a real browser --------------------------------------------------------------------------------------------------

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _screenshot(browser: str, url: str, shot: Path, profile: Path) -> str:
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={profile}", "--window-size=1280,1400", "--virtual-time-budget=5000",
         "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", url],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), proc.stderr[-2000:]
    return proc.stderr


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_a_browser_renders_the_report_over_the_served_image(tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run (./dev test as root) installs it")
        pytest.skip("chromium is not installed (./dev test installs the Debian package when run as root)")
    from PIL import Image

    image_colour = (40, 160, 90)
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), image_colour).save(buf, format="PNG")
    png = buf.getvalue()
    served = []

    def app(environ, start_response):
        served.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(png)))])
        return [png]

    server = serve_wsgi(app)
    try:
        code, page, _ = write_report(tmp_path, [failing_task("in-browser", attachment=f"{server.url}/img/1.png")])
        assert code == 1
        profile = tmp_path / "profile"
        stderr = _screenshot(browser, (tmp_path / "report.html").as_uri(), tmp_path / "shot.png", profile)
        assert served == ["/img/1.png"]  # the image was fetched from the loopback server
        assert _console_messages(stderr) == []  # no console errors (nor any console output)

        shot = Image.open(tmp_path / "shot.png").convert("RGB")
        colours = shot.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # not blank
        by_colour = {c: n for n, c in colours}
        assert by_colour.get(image_colour, 0) > 20_000  # the served image is drawn under the outlines
        reds = sum(n for n, (r, g, b) in colours if r > 200 and g < 80 and b < 80)
        assert reds > 200  # flagged outlines and issue marks in the highlight colour

        # the detector is real: the same browser run on a page that logs an error reports it
        control = tmp_path / "control.html"
        control.write_text('<!DOCTYPE html><html><body><p>x</p><script>console.error("control-marker")</script>'
                           "</body></html>")
        stderr = _screenshot(browser, control.as_uri(), tmp_path / "control.png", profile)
        assert any("control-marker" in m for m in _console_messages(stderr))
    finally:
        server.close()


def test_an_html_path_that_cannot_be_written_is_exit_2_before_the_run(tmp_path):
    from tests.test_check_backtest import run

    (tmp_path / "a.json").write_text(json.dumps(bodies()[0]))
    proc = run([str(tmp_path / "a.json"), "--html", str(tmp_path / "missing" / "r.html")])
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode().strip() == (f"validator: cannot write the HTML report "
                                            f"{tmp_path / 'missing' / 'r.html'}: "
                                            f"the folder {tmp_path / 'missing'} does not exist")
    proc = run([str(tmp_path / "a.json"), "--html", str(tmp_path)])
    assert proc.returncode == 2 and b"it is a folder" in proc.stderr
