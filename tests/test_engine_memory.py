"""A request leaves no reference cycles: everything it built is freed by reference counting when it ends.

The service pauses the cyclic garbage collector during a validation (a 10,000-annotation body is ~1M objects);
that is only sound if validating creates no cyclic garbage, which would otherwise pile up until the next collection
(and make that collection traverse everything the request still holds)."""
import gc
import json

import orjson
import pytest

from tests.support.servers import examples_dir
from validator.engine.engine import Engine
from validator.testing.payloads import make_body


def _bodies():
    for path in sorted(examples_dir().glob("*.json")):
        yield path.name, orjson.dumps(json.loads(path.read_text()))
    yield "generated with defects", orjson.dumps(make_body(500, seed=2, defect_rate=0.1))
    broken = make_body(200, seed=3)
    broken["response"]["annotations"][5]["left"] = None  # the general path
    yield "general path", orjson.dumps(broken)
    yield "bad body", b'{"task": 1}'


@pytest.fixture(scope="module")
def engine():
    return Engine.from_config_file(None)


@pytest.mark.parametrize("name,raw", list(_bodies()), ids=[n for n, _ in _bodies()])
def test_validating_leaves_no_cyclic_garbage(engine, name, raw):
    def run():
        try:
            engine.validate_bytes(raw)
        except ValueError:  # a bad body is refused with an exception the app turns into a 400
            pass

    run()  # warm up: first-use caches (imports, compiled schemas) are not garbage
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        run()
        found = gc.collect()
        kinds = sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was:
            gc.enable()
    assert found == 0, f"{name}: a request left {found} objects in reference cycles: {kinds[:10]}"
