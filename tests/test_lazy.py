"""validator.scale.lazy.cached_property: computed once per instance, on first access, then read from the instance."""
from __future__ import annotations

from validator.scale.lazy import cached_property


class _Counted:
    calls = 0

    @cached_property
    def value(self) -> list:
        """The doc."""
        type(self).calls += 1
        return [type(self).calls]


def test_computed_once_per_instance_and_stored_on_it():
    a, b = _Counted(), _Counted()
    first = a.value
    assert a.value is first and a.__dict__["value"] is first  # later reads: the instance's own attribute
    assert b.value is not first and _Counted.calls == 2
    del a.value  # as with functools': deleting it makes the next read compute it again
    assert a.value == [3]


def test_the_class_attribute_is_the_descriptor_with_the_function_doc():
    assert isinstance(_Counted.value, cached_property)
    assert _Counted.value.__doc__ == "The doc."
