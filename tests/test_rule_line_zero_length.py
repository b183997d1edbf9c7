"""line_zero_length: a line has a length; crossing itself is fine."""
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings, strategies as st

from validator.engine.engine import Engine
from validator.testing import RuleTester, error, invalid, line, make_body, polygon, valid

tester = RuleTester("line_zero_length")

test_line_zero_length = tester.pytest(
    valid=[
        valid("two distinct vertices", [line([(0, 0), (3, 4)])]),
        valid("a line crossing itself", [line([(0, 0), (10, 10), (10, 0), (0, 10)])]),
        valid("a line going back over itself", [line([(0, 0), (10, 0), (0, 0)])]),
        valid("short but longer than the tolerance", [line([(0, 0), (0.6, 0)])]),
        valid("duplicate vertices but a length", [line([(0, 0), (0, 0), (5, 0)])]),
        valid("tolerance 0 accepts a tiny line", [line([(0, 0), (0.1, 0)])], options={"tolerance": 0}),
        valid("polygons are not checked", [polygon([(0, 0), (0, 0), (0, 0)])]),
    ],
    invalid=[
        invalid("both vertices on the same spot", [line([(40, 50), (40, 50)])],
                errors=[error("a1", at=[(40, 50)], message="All 2 vertices of the line are at the same spot")]),
        invalid("single vertex", [line([(7, 8)])],
                errors=[error("a1", at=[(7, 8)], message="single vertex")]),
        invalid("no vertices", [line([])], errors=[error("a1", at=None, message="no vertices")]),
        invalid("sub-pixel line", [line([(10, 10), (10.2, 10), (10.3, 10)])],
                errors=[error("a1", at=[(10, 10)], message="only 0.3 px long")]),
        invalid("at the tolerance", [line([(0, 0), (1, 0)])], options={"tolerance": 1},
                errors=[error("a1", at=[(0, 0)], message="only 1 px long")]),
        invalid("only the zero-length line, in request order", [line([(0, 0), (5, 5)]), line([(9, 9), (9, 9)])],
                errors=[error("a2", at=[(9, 9)])]),
    ],
)


# -- the bounding-box shortcut never hides a short line (hypothesis) ---------------------------------------------------
TOLERANCES = (0.0, 0.25, 0.5, 1.0, 3.0)
_near = st.floats(-2, 2, allow_nan=False, allow_infinity=False)


def _engines() -> dict[float, Engine]:
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for tol in TOLERANCES:
            path = Path(d) / f"{tol}.toml"
            path.write_text(f'[[rule]]\nid = "line_zero_length"\noptions = {{ tolerance = {tol} }}\n')
            out[tol] = Engine.from_config_file(path)
    return out


ENGINES = _engines()


def _measured_length(pts: list[tuple[float, float]]) -> float:
    """The rule's own measure: np.hypot of each segment, added in order (as np.bincount adds its weights)."""
    xy = np.array(pts, dtype=np.float64).reshape(-1, 2)
    total = 0.0
    for s in np.hypot(*(xy[1:] - xy[:-1]).T).tolist():
        total += s
    return total


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(_near, _near), min_size=2, max_size=6), min_size=1, max_size=6),
       st.sampled_from(TOLERANCES), st.sampled_from([1.0, 1e-3, 1e3]))
def test_every_line_no_longer_than_the_tolerance_is_flagged(lines, tol, scale):
    lines = [[(100 + x * scale, 100 + y * scale) for x, y in pts] for pts in lines]
    body = make_body([line(pts, uuid=f"l{k}") for k, pts in enumerate(lines)])
    flagged = {i.uuid for i in ENGINES[tol].validate(body).issues if i.error_type == "line_zero_length"}
    assert flagged == {f"l{k}" for k, pts in enumerate(lines) if _measured_length(pts) <= tol}
