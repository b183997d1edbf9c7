"""Compiled geometry kernels (numba), with the numpy code they replace kept as the reference.

On the small tasks real traffic carries (a handful of polygons of ~10 vertices), numpy's fixed cost per call is
what a kernel costs: :meth:`~validator.geometry.polygons.Outlines._terms` is ~35 numpy calls, ~45-80 us for three
8-vertex outlines, where one compiled loop over the same vertices takes ~3 us. numba compiles these loops with the
LLVM it ships in its wheels (no compiler on the user's machine, no build step).

How a kernel is used:

* every kernel is compiled **eagerly, for one signature**, by :func:`load` (the engine calls it when it is built:
  under gunicorn, in the preloaded master, so the workers inherit the machine code instead of compiling on a
  request) and cached on disk by numba (``cache=True``;
  docs/deployment.md, "Compiled kernels"), so a start-up after the first loads it (~0.5 s) instead of compiling
  it (~4 s);
* a caller asks :func:`kernel` for it and runs its numpy reference when that is None: numba not installed (a
  platform without its wheels), turned off with ``VALIDATOR_JIT=0`` (checked at start-up by
  validator/service/settings.py), or not compilable (logged); and when a kernel declines an input (absurd
  coordinates whose squares overflow: the reference handles those as it always has);
* both give the same answers: ``outline_terms`` does the reference's float operations in the same order, except
  its sums, which numpy adds pairwise and the loop in order (the last bits may differ: the bounds built on them
  allow for any order); ``proven_simple`` only clears outlines for which the crossing search would find nothing
  (the same certain-orientation tests it skips pairs with). tests/geometry/test_compiled.py checks each kernel
  against its reference and against shapely on generated shapes; every real body and benchmark scene gives the
  same answer with and without them.

A kernel must have a bounded cost (``outline_terms``: linear; ``proven_simple``: at most ``PROOF_MAX_PAIRS`` pairs
of edges per call): a compiled call cannot be interrupted by the time budget's alarm until it returns.
"""
from __future__ import annotations

import logging
import math
import os
import time
from typing import Any, Callable

import numpy as np

__all__ = ["enabled", "jit_setting", "kernel", "load", "outline_terms_reference", "status"]

log = logging.getLogger("validator.geometry")

JIT_ENV = "VALIDATOR_JIT"
_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def jit_setting(value: str | None) -> bool | None:
    """``VALIDATOR_JIT`` read: True (default, unset or empty), False, or None for a value that is neither."""
    if value is None or not value.strip():
        return True
    v = value.strip().lower()
    return True if v in _ON else False if v in _OFF else None


_kernels: dict[str, Callable | None] | None = None
_status: dict[str, Any] = {}


def kernel(name: str) -> Callable | None:
    """The compiled kernel ``name``, or None (numba not installed or turned off: the caller's reference runs).
    The first call imports numba and compiles (or loads from numba's cache) every kernel: :func:`load`."""
    found = _kernels if _kernels is not None else load()
    return found[name]


def load() -> dict[str, Callable | None]:
    """Import numba and compile every kernel now, unless ``VALIDATOR_JIT`` turns them off. The engine calls this
    when it is built (never inside a rule, where the time budget would pay for it): under gunicorn that is the
    preloaded master, so the workers inherit the machine code. Compiled code is cached on disk (numba's
    ``cache=True``: the package's ``__pycache__`` when writable, else ``NUMBA_CACHE_DIR``, else the user's cache
    directory); where none is writable (a read-only container without ``NUMBA_CACHE_DIR``) the kernels are compiled
    at every start-up (~5 s) instead. A kernel that cannot be compiled at all (a numba bug on some platform) is
    logged and left to its numpy reference: the answers are the same, only slower. Never raises."""
    global _kernels
    if _kernels is not None:
        return _kernels
    started = time.perf_counter()
    found: dict[str, Callable | None] = dict.fromkeys(_SIGNATURES)
    raw = os.environ.get(JIT_ENV)
    numba = None
    if jit_setting(raw) is False:
        _status.update(jit="off", reason=f"{JIT_ENV}={raw.strip()}")
    else:
        try:
            import numba
        except ImportError:  # a platform without numba's wheels: the numpy references run
            _status.update(jit="off", reason="numba is not installed")
    if numba is not None:
        cached = True
        try:
            try:
                helpers = _helpers(numba, cached)
            except RuntimeError:  # "cannot cache function ...: no locator available": nowhere writable to cache
                cached = False
                helpers = _helpers(numba, cached)
        except Exception:  # noqa: BLE001  (a numba failure must not stop the service: the references run)
            log.exception("compiled kernels unavailable; using the numpy references")
            helpers = None
        if helpers is not None:
            globals().update(helpers)  # the kernels call them by these names
            for name, (func, signature) in _SIGNATURES.items():
                try:
                    found[name] = _compile(numba, func, signature, cached)
                except Exception:  # noqa: BLE001
                    log.exception("compiled kernel unavailable; using its numpy reference", extra={"kernel": name})
        _status.update(jit="on" if any(found.values()) else "off", cached=cached,
                       kernels=sorted(k for k, v in found.items() if v is not None))
    _status["load_ms"] = round((time.perf_counter() - started) * 1000, 1)
    _kernels = found
    return found


def _helpers(numba: Any, cache: bool) -> dict[str, Callable]:
    """The functions the kernels call, compiled (inlined into them)."""
    return {name: _compile(numba, globals()[name], signature, cache, inline="always")
            for name, signature in _HELPERS.items()}


def _compile(numba: Any, func: Callable, signature: str, cache: bool, **options: Any) -> Callable:
    return numba.njit(signature, cache=cache, nogil=True, error_model="numpy", **options)(func)


def status() -> dict[str, Any]:
    """What :func:`load` did, for the service's start-up log line: ``jit`` ("on" / "off"), why it is off, whether
    the machine code is cached on disk, the kernels compiled, and the time it took (ms)."""
    load()
    return dict(_status)


def enabled() -> bool:
    """Whether compiled kernels are in use (numba importable and not turned off); loads them."""
    return any(k is not None for k in load().values())


# -- Outlines._terms -----------------------------------------------------------------------------------------------
def outline_terms_reference(xy: np.ndarray, starts: np.ndarray, counts: np.ndarray, nxt: np.ndarray
                            ) -> tuple[np.ndarray, ...]:
    """Per outline: twice its shoelace area, its perimeter, the width of its widest (centre, edge) triangle minus far
    more than float rounding can add, whether it is proven star-shaped, the largest squared distance of a vertex
    from its centre. The numpy reference (see :meth:`validator.geometry.polygons.Outlines._terms` for what each term
    proves)."""
    with np.errstate(all="ignore"):
        centre = np.add.reduceat(xy, starts) / counts[:, None]
        p = xy - centre.repeat(counts, axis=0)
        px, py = p[:, 0], p[:, 1]
        qx, qy = px[nxt], py[nxt]
        cross = px * qy - qx * py
        r2 = px * px + py * py
        r2_next = r2[nxt]
        dx, dy = qx - px, qy - py
        seg2 = dx * dx + dy * dy
        if np.isfinite(seg2 + r2).all():  # lengths as sqrt(x*x + y*y): faster than hypot
            seg = np.sqrt(seg2)
            longest = np.sqrt(np.maximum(np.maximum(r2, r2_next), seg2))
        else:  # absurd coordinates (beyond ~1e154): squares overflow, np.hypot does not
            seg = np.hypot(dx, dy)
            longest = np.maximum(np.maximum(np.hypot(px, py), np.hypot(qx, qy)), seg)
        area2 = np.abs(np.add.reduceat(cross, starts))
        perimeter = np.add.reduceat(seg, starts)
        # triangle (centre, p, q): width = |cross| / longest side, minus far more than float rounding can add
        size = np.abs(cross)
        triangle = (size - 1e-9 * longest * longest) / longest
        widest = np.maximum.reduceat(triangle, starts)
        # star-shaped proof: +1 / -1 per edge turning left / right beyond float rounding, 0 when not sure or
        # not finite (NaN compares false)
        sure = 1e-9 * (r2 + r2_next)
        turn = (cross > sure).view(np.int8) - (cross < -sure).view(np.int8)
    turns = np.add.reduceat(turn, starts, dtype=np.int64)
    # full turns = how often the outline crosses the ray from the centre along +x, counted by its upward
    # crossings of the line y = centre: a closed outline crosses it as often downwards, and one that turns the
    # same way at every edge crosses it once per turn in each direction (along +x one way, along -x the other)
    below = py < 0
    up = np.add.reduceat(below & ~below[nxt], starts, dtype=np.int64)
    star = (np.abs(turns) == counts) & (up == 1)
    return area2, perimeter, widest, star, np.maximum.reduceat(r2, starts)


def _outline_terms_loop(xy, starts, counts, nxt):  # pragma: no cover - compiled; tested through KERNELS
    """:func:`outline_terms_reference` in one pass per outline, and whether every square stayed finite (False: the
    caller takes the reference, which switches to hypot for all vertices, as it always has)."""
    m = len(counts)
    area2 = np.empty(m)
    perimeter = np.empty(m)
    widest = np.empty(m)
    star = np.empty(m, dtype=np.bool_)
    r2max = np.empty(m)
    for k in range(m):
        s = starts[k]
        c = counts[k]
        cx = 0.0
        cy = 0.0
        for r in range(s, s + c):
            cx += xy[r, 0]
            cy += xy[r, 1]
        cx /= c
        cy /= c
        a = 0.0
        per = 0.0
        wide = -math.inf
        turns = 0
        up = 0
        rmax = -math.inf
        for r in range(s, s + c):
            q = nxt[r]
            px = xy[r, 0] - cx
            py = xy[r, 1] - cy
            qx = xy[q, 0] - cx
            qy = xy[q, 1] - cy
            cross = px * qy - qx * py
            r2 = px * px + py * py
            r2n = qx * qx + qy * qy
            dx = qx - px
            dy = qy - py
            seg2 = dx * dx + dy * dy
            if not math.isfinite(seg2 + r2):
                return area2, perimeter, widest, star, r2max, False
            longest = math.sqrt(max(max(r2, r2n), seg2))
            a += cross
            per += math.sqrt(seg2)
            t = (abs(cross) - 1e-9 * longest * longest) / longest
            if t > wide or t != t:  # (as np.maximum: NaN wins)
                wide = t
            sure = 1e-9 * (r2 + r2n)
            if cross > sure:
                turns += 1
            elif cross < -sure:
                turns -= 1
            if py < 0 and not qy < 0:
                up += 1
            if r2 > rmax or r2 != r2:
                rmax = r2
        area2[k] = abs(a)
        perimeter[k] = per
        widest[k] = wide
        star[k] = abs(turns) == c and up == 1
        r2max[k] = rmax
    return area2, perimeter, widest, star, r2max, True


# -- the crossing search's proof of simplicity --------------------------------------------------------------------
ORIENT_BOUND = (3.0 + 16.0 * 2.0 ** -53) * 2.0 ** -53  # Shewchuk's bound on the float orientation's error
TINY = 1e-280  # products below this may have lost precision to underflow: not a proof (polygons.orientation: exact)
PROOF_MAX_VERTICES = 256  # outlines of at most this many vertices are tried (their pairs of edges: ~33,000)
PROOF_MAX_PAIRS = 65_536  # pairs of edges looked at per call, in all (~0.3 ms), then the rest is left to the search


def _side(ax, ay, bx, by, cx, cy):  # pragma: no cover - compiled
    """The turn a -> b -> c where the float orientation is certain (1 left, -1 right), else 0 (collinear, or not
    certain: rounding, underflow, overflow), by the same determinant and bound as ``polygons.orientation``."""
    f1 = ax - cx
    f2 = by - cy
    f3 = ay - cy
    f4 = bx - cx
    left = f1 * f2
    right = f3 * f4
    if not ((left == 0.0 and (f1 == 0.0 or f2 == 0.0)) or TINY < abs(left) < math.inf):
        return 0
    if not ((right == 0.0 and (f3 == 0.0 or f4 == 0.0)) or TINY < abs(right) < math.inf):
        return 0
    det = left - right
    bound = ORIENT_BOUND * (abs(left) + abs(right))
    if det > bound:
        return 1
    if -det > bound:
        return -1
    return 0


def _proven_simple_loop(xy, starts, counts, nxt, which, max_pairs):  # pragma: no cover - compiled
    """For the outlines at ``which``: True where no two of its edges can meet other than neighbours at their
    shared vertex, proven pair by pair with certain float orientations (the pairs the crossing search would look
    at and find nothing in); False where that is not proven (then the search decides). Outlines of more than
    ``PROOF_MAX_VERTICES`` vertices, and those past ``max_pairs`` pairs of edges in all, are not tried. Returns
    the mask and the pairs of edges looked at."""
    out = np.zeros(len(which), dtype=np.bool_)
    work = 0
    for w in range(len(which)):
        k = which[w]
        s = starts[k]
        c = counts[k]
        if c < 3 or c > PROOF_MAX_VERTICES or work + c * (c - 1) // 2 > max_pairs:
            continue
        work += c * (c - 1) // 2
        proven = True
        for a in range(c - 1):
            ra = s + a
            ax = xy[ra, 0]
            ay = xy[ra, 1]
            bx = xy[nxt[ra], 0]
            by = xy[nxt[ra], 1]
            for b in range(a + 1, c):
                rb = s + b
                cx = xy[rb, 0]
                cy = xy[rb, 1]
                dx = xy[nxt[rb], 0]
                dy = xy[nxt[rb], 1]
                if b == a + 1 or (a == 0 and b == c - 1):  # neighbours: they meet at their vertex, and only
                    ux = bx - ax  # there when they turn (clearly not running along each other)
                    uy = by - ay
                    vx = dx - cx
                    vy = dy - cy
                    if abs(ux * vy - uy * vx) > 1e-9 * math.hypot(ux, uy) * math.hypot(vx, vy):
                        continue
                    proven = False
                    break
                if (max(ax, bx) < min(cx, dx) or max(cx, dx) < min(ax, bx)
                        or max(ay, by) < min(cy, dy) or max(cy, dy) < min(ay, by)):
                    continue  # envelopes apart
                s1 = _side(ax, ay, bx, by, cx, cy)
                if s1 != 0 and s1 == _side(ax, ay, bx, by, dx, dy):
                    continue  # both ends of the second edge on one side of the first one's line
                s2 = _side(cx, cy, dx, dy, ax, ay)
                if s2 != 0 and s2 == _side(cx, cy, dx, dy, bx, by):
                    continue
                proven = False
                break
            if not proven:
                break
        out[w] = proven
    return out, work


# -- Outlines of annotations: their vertices gathered, repeats dropped ----------------------------------------------
def _outline_rows_loop(coords, offsets, counts, positions):  # pragma: no cover - compiled
    """The outlines of the annotations at ``positions`` (their rows ``offsets[p] .. + counts[p]`` of ``coords``) as
    :class:`~validator.geometry.polygons.Outlines` keeps them: a vertex that repeats the one before it dropped, and
    a last vertex that repeats the first; then per outline its first row, its vertex count and the count it was
    given with, and per vertex the row of the next one around its outline. Exactly what ``Outlines.__init__``
    computes with numpy (no arithmetic: the same numbers)."""
    m = len(positions)
    total = 0
    for w in range(m):
        total += counts[positions[w]]
    xy = np.empty((total, 2))
    given = np.empty(m, dtype=np.int64)
    kept = np.empty(m, dtype=np.int64)
    starts = np.empty(m, dtype=np.int64)
    r = 0
    for w in range(m):
        p = positions[w]
        o = offsets[p]
        c = counts[p]
        given[w] = c
        first = r
        for i in range(o, o + c):
            x = coords[i, 0]
            y = coords[i, 1]
            if r > first and x == xy[r - 1, 0] and y == xy[r - 1, 1]:
                continue  # repeats the vertex before it (NaN never does)
            xy[r, 0] = x
            xy[r, 1] = y
            r += 1
        if r - first > 1 and xy[r - 1, 0] == xy[first, 0] and xy[r - 1, 1] == xy[first, 1]:
            r -= 1  # the last vertex repeats the first (no two kept in a row are equal: once is enough)
        starts[w] = first
        kept[w] = r - first
    nxt = np.empty(r, dtype=np.int64)
    for w in range(m):
        s = starts[w]
        for i in range(s, s + kept[w]):
            nxt[i] = i + 1
        if kept[w]:
            nxt[s + kept[w] - 1] = s
    return xy[:r].copy(), kept, starts, nxt, given


# -- compilation ---------------------------------------------------------------------------------------------------
_HELPERS = {"_side": "int64(float64, float64, float64, float64, float64, float64)"}
_SIGNATURES: dict[str, tuple[Callable, str]] = {
    "outline_terms": (_outline_terms_loop,
                      "Tuple((float64[::1], float64[::1], float64[::1], boolean[::1], float64[::1], boolean))"
                      "(float64[:, ::1], int64[::1], int64[::1], int64[::1])"),
    "outline_rows": (_outline_rows_loop,
                     "Tuple((float64[:, ::1], int64[::1], int64[::1], int64[::1], int64[::1]))"
                     "(float64[:, ::1], int64[::1], int64[::1], int64[::1])"),
    "proven_simple": (_proven_simple_loop,
                      "Tuple((boolean[::1], int64))(float64[:, ::1], int64[::1], int64[::1], int64[::1], int64[::1], "
                      "int64)"),
}


