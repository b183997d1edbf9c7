"""The streaming input reader, against generated JSON a person would not think of: every element of any array,
cut into chunks of any size, comes back byte-exact; stdin in any shape gives the same documents."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from validator.cli.inputs import ArrayError, iter_json_array, iter_stdin

TRICKY = st.text(alphabet=st.sampled_from(list('ab"\\,[]{}: \n\t\u00e9\U0001f600')), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TRICKY
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(TRICKY, inner, max_size=4), max_leaves=20)


@settings(max_examples=120, deadline=None)
@given(st.lists(VALUES, max_size=8), st.integers(min_value=1, max_value=64), st.booleans())
def test_every_element_comes_back_whatever_the_chunk_size(values, chunk, pretty):
    text = json.dumps(values, indent=1 if pretty else None, ensure_ascii=False)
    elements = list(iter_json_array(io.BytesIO(text.encode()), chunk_size=chunk))
    assert [json.loads(e) for e in elements] == values


@settings(max_examples=80, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=6), st.integers(min_value=1, max_value=64),
       st.integers(min_value=1, max_value=40))
def test_a_cut_array_yields_what_is_complete_then_one_error(values, chunk, cut_back):
    data = json.dumps(values, ensure_ascii=False).encode()
    cut = data[: max(1, len(data) - cut_back)]
    got = []
    try:
        for e in iter_json_array(io.BytesIO(cut), chunk_size=chunk):
            got.append(e)
    except ArrayError:
        pass
    else:
        raise AssertionError("a truncated array must end in ArrayError")
    # whatever came out before the error is a prefix of the elements (the last may be cut: parsing reports it)
    for k, e in enumerate(got[:-1]):
        assert json.loads(e) == values[k]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(TRICKY, VALUES, min_size=1, max_size=3), min_size=1, max_size=5),
       st.sampled_from(["lines", "array", "pretty-array"]))
def test_stdin_in_any_shape_gives_the_same_objects(objects, shape):
    if shape == "lines":
        data = "\n".join(json.dumps(o, ensure_ascii=False) for o in objects) + "\n"
    else:
        data = json.dumps(objects, ensure_ascii=False, indent=2 if shape == "pretty-array" else None)
    items = list(iter_stdin(io.BytesIO(data.encode())))
    assert [json.loads(i.data) for i in items] == objects
