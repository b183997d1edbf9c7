"""outside_image: every vertex inside the image extended by the task's padding; the border itself is inside."""
import math

from validator.testing import (RuleTester, box, cuboid, ellipse, error, invalid, line, make_task, point, polygon,
                               valid)

tester = RuleTester("outside_image")

_R = 50 * math.sqrt(2)  # half-diagonal of a 100 px square

test_outside_image = tester.pytest(
    valid=[
        valid("every geometry inside", [box(10, 10, 50, 40), polygon([(0, 0), (100, 0), (50, 80)]),
                                        line([(5, 5), (995, 995)]), point(500, 500), ellipse(500, 500, 40, 20),
                                        cuboid(100, 100, 200, 100)]),
        valid("box covering the whole image, touching every border", [box(0, 0, 1000, 1000)]),
        valid("points on the corners of the image", [point(0, 0), point(1000, 1000), point(1000, 0), point(0, 1000)]),
        valid("paddingX / paddingY allow vertices outside, up to the padding",
              [polygon([(-50, 1020), (300, 500), (1050, -20)])], task=make_task(paddingX=50, paddingY=20)),
        valid("padding applies to all four sides", [point(-30, -30), point(1030, 1030)], task=make_task(padding=30)),
        valid("paddingX overrides padding, padding still applies to y", [point(-10, -100)],
              task=make_task(padding=100, paddingX=10)),
        valid("within the tolerance", [point(1000.4, 5)], options={"tolerance": 0.5}),
        # real shapes (docs/calibration.md): clicks on the border and float noise are not outside by default
        valid("TACO batch_15/000078.jpg, Paper bag box: top edge at -0.5 px (judged FP)",
              [box(1311.0, -0.5, 286.0, 589.0)], task=make_task(width=2448, height=3264)),
        valid("float noise: a box edge at left = -5.96e-06", [box(-5.96e-06, 10, 100, 50)]),
        valid("TACO batch_14/000048.jpg, Clear plastic bottle box: 1.317 px past the border (judged TP-minor)",
              [box(171.03125, -1.3166667, 518.35625, 413.4333367)], task=make_task(width=842, height=474)),
        valid("up to the default tolerance of 2 px, corner distance included", [point(1002, 5), point(-1.4, -1.4)]),
        valid("rotated box checked at its rotated corners, not its unrotated rectangle",
              [box(400, -40, 20, 100, rotation=math.pi / 2)]),
        valid("image size unknown: the rule is skipped", [point(-500, -500)], task=make_task(width=None, height=None)),
        valid("non-square image", [point(1920, 1080)], task=make_task(width=1920, height=1080)),
    ],
    invalid=[
        invalid("polygon vertex past the right edge", [polygon([(900, 100), (1015, 200), (900, 300)])],
                errors=[error("a1", at=[(1015, 200)],
                              message="Vertex 2 of the polygon is 15 px outside the image (the image is 1000 by "
                                      "1000 px)")]),
        invalid("box reaching past the right edge: both right corners", [box(990, 10, 20, 20)],
                errors=[error("a1", at=[(1010, 10), (1010, 30)],
                              message="2 corners of the box are outside the image, by up to 10 px")]),
        invalid("rotated box: corners that rotate out of the image",
                [box(0, 0, 100, 100, rotation=math.pi / 4)],
                errors=[error("a1", at=[(50, 50 - _R), (50 - _R, 50)], message="by up to 20.71 px")]),
        invalid("one coordinate past the bottom edge", [line([(10, 10), (20, 1003)])],
                errors=[error("a1", at=[(20, 1003)], message="Vertex 2 of the line is 3 px outside")]),
        invalid("just past the padding (tolerance 0)", [point(-11, 5)], task=make_task(padding=10),
                options={"tolerance": 0},
                errors=[error("a1", at=[(-11, 5)],
                              message="The point is 1 px outside the image (the image is 1000 by 1000 px, with 10 px "
                                      "of padding on every side)")]),
        invalid("paddingX overrides a larger padding", [point(-20, 5)], task=make_task(padding=100, paddingX=10),
                errors=[error("a1", at=[(-20, 5)], message="10 px outside")]),
        invalid("paddingY = 0 overrides padding", [point(5, -3)], task=make_task(padding=50, paddingY=0),
                errors=[error("a1", at=[(5, -3)], message="50 px of padding left and right)")]),
        invalid("corner outside in x and y: the distance to the image", [point(1003, 1004)],
                errors=[error("a1", at=[(1003, 1004)], message="5 px outside")]),
        invalid("cuboid side corners outside", [cuboid(900, 100, 60, 100, side_dx=50)],
                errors=[error("a1", at=[(1010, 80), (1010, 190)], message="2 corners of the cuboid")]),
        invalid("one cuboid corner outside, named by its description",
                [cuboid(900, 5, 60, 100, side_dx=30, side_dy=-10)],
                errors=[error("a1", at=[(990, -5)], message="The cuboid's side-topcorner vertex is 5 px outside")]),
        invalid("ellipse point outside", [ellipse(5, 500, 10, 5)],
                errors=[error("a1", at=[(-5, 500)], message="Point 4 of the ellipse is 5 px outside")]),
        invalid("beyond the tolerance", [point(1000.6, 5)], options={"tolerance": 0.5},
                errors=[error("a1", at=[(1000.6, 5)], message="0.6 px outside")]),
        invalid("locations capped, every vertex counted",
                [polygon([(-3, 5), (-4, 6), (-5, 7), (500, 500)])], options={"max_locations": 2},
                errors=[error("a1", at=[(-3, 5), (-4, 6)], message="3 vertices of the polygon are outside")]),
        invalid("only the annotations outside are reported, in request order",
                [point(5, 5), point(-3, 5), box(10, 10, 20, 20), point(5, 1003)],
                errors=[error("a2", at=[(-3, 5)]), error("a4", at=[(5, 1003)])]),
        invalid("default tolerance: 2 px, measured as a distance (here 2.01 px)", [point(1002.01, 5)],
                errors=[error("a1", at=[(1002.01, 5)], message="The point is 2.01 px outside the image")]),
        invalid("tolerance 0: float noise is still not outside, a hundredth of a pixel is",
                [box(0, -5.96e-06, 10, 10), point(-0.01, 5)], options={"tolerance": 0},
                errors=[error("a2", at=[(-0.01, 5)], message="The point is 0.01 px outside the image")]),
    ],
)


def test_planted_vertices_outside_a_large_task_are_each_reported_once_and_nothing_else():
    from validator.testing.payloads import defects_of, make_body

    body = make_body(1000, seed=1, defect_rate=0.03)
    planted = sorted(u for u, kind in defects_of(body).items() if kind == "vertex_outside_image")
    assert planted
    result = tester.engine().validate(body)
    assert not result.rule_failures
    assert sorted(i.uuid for i in result.issues) == planted
    assert all(len(i.locations) == 1 and i.locations[0][0] < 0 for i in result.issues)


def test_a_negative_tolerance_is_a_configuration_error(tmp_path):
    import pytest

    from validator.engine.config import ConfigError, load_config

    path = tmp_path / "config.toml"
    path.write_text('[[rule]]\nid = "outside_image"\noptions = { tolerance = -1 }\n')
    with pytest.raises(ConfigError, match="tolerance"):
        load_config(path)
