"""``cached_property`` without a lock, for the objects built for one request (AnnotationSet, GeometryIndex,
Outlines): computed on first access and stored in the instance's ``__dict__``, which later accesses read directly.

Python 3.11's ``functools.cached_property`` takes a lock (shared by every instance of the class) around each first
access: about 0.5 us more, paid a few dozen times per request on these objects, which are never shared between
threads (one request, one thread). The behaviour is otherwise the same (Python 3.12 dropped the lock too)."""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar, overload

T = TypeVar("T")

__all__ = ["cached_property"]


class cached_property(Generic[T]):  # noqa: N801  (named as the functools one it replaces)
    def __init__(self, func: Callable[[Any], T]):
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__
        self.__module__ = func.__module__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> "cached_property[T]": ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.attrname] = self.func(instance)
        return value
