"""The rule registry: the ``@rule`` decorator, rule metadata and rule discovery.

A rule is a plain function plus declarative metadata (id, summary, why-text, geometry types, default level,
options schema). Rules are *discovered*, never imported implicitly by name:

1. the built-in pack: every module of the package ``validator_rules`` (the repository's top-level ``rules/`` folder,
   installed under a name of its own: see :data:`BUILTIN_PACK`);
2. extra modules named in the config file (``plugins = ["my_company.rules"]``);
3. installed distributions that declare an entry point in the group ``scale_validator.rules``
   (the entry point names a module, which is imported).

Rule ids must be unique across all sources: a collision is a :class:`RegistryError` at start-up.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import re
import sys
import textwrap
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Iterable

from marshmallow import RAISE, Schema, ValidationError
from marshmallow.fields import Field, Nested
from marshmallow.validate import Validator

from validator.scale.annotations import GEOMETRY_TYPES
from validator.engine.issues import LEVELS

ENTRY_POINT_GROUP = "scale_validator.rules"
#: The import name of the built-in rule pack. Its source is the repository's top-level ``rules/`` folder;
#: pyproject.toml installs that folder as ``validator_rules`` (``rules`` would collide in site-packages).
BUILTIN_PACK = "validator_rules"
RULE_ID_RE = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
# Cost classes, cheapest first: the engine runs every "linear" instance (work proportional to the annotations and
# vertices it looks at: format, taxonomy, geometry type, bounds, sizes, attributes) before any "pairwise" one
# (work that grows with pairs of annotations or of edges: overlaps, duplicates, self-intersection), so a costly
# rule can never use up the time budget before the cheap checks have run.
COSTS = ("linear", "pairwise")


class RegistryError(Exception):
    """A rule could not be registered or imported. The message names the rule id and the module."""


class Options(Schema):
    """Base class for rule options: unknown options are rejected (a typo must not be silently ignored).

    Declare each option with a default, e.g. ``min_width = fields.Float(load_default=0)``, and its range with
    ``validate=validate.Range(min=0)`` (``from validator import validate``) or a function returning False for an
    invalid value (see :func:`_false_fails`).
    """

    class Meta:
        unknown = RAISE


class NoOptions(Options):
    pass


def _false_fails(validator: Callable[[Any], Any]) -> Callable[[Any], None]:
    """``validate=lambda v: v > 0``: marshmallow 3 treats a validator that returns False as a failed validation;
    marshmallow 4 ignores the return value and accepts the value silently. Keep the marshmallow 3 meaning (the
    pin allows both): False raises, whichever version is installed."""
    if getattr(validator, "_false_fails", False) or isinstance(validator, Validator):
        return validator  # marshmallow's own validators raise by themselves

    def check(value: Any) -> None:
        if validator(value) is False:
            raise ValidationError("Invalid value.")

    check._false_fails = True  # type: ignore[attr-defined]
    return check


def _strict_fields(schema: Schema) -> Schema:
    """Apply :func:`_false_fails` to every validator of the schema's (bound, per-instance) fields."""
    pending = list(schema.fields.values())
    while pending:
        f = pending.pop()
        if getattr(f, "validators", None):
            f.validators = [_false_fails(v) for v in f.validators]
        inner = [getattr(f, "inner", None), getattr(f, "value_field", None), getattr(f, "key_field", None),
                 *getattr(f, "tuple_fields", ())]
        pending.extend(x for x in inner if isinstance(x, Field))
        if isinstance(f, Nested) and isinstance(getattr(f, "schema", None), Schema):
            _strict_fields(f.schema)
    return schema


def options_schema(options: type[Schema]) -> Schema:
    """An instance of a rule's options schema, with validators that return False failing (see _false_fails)."""
    return _strict_fields(options())


@dataclass(frozen=True)
class Rule:
    id: str
    func: Callable[..., Iterable[Any]]
    summary: str
    why: str
    geometries: tuple[str, ...] | None
    level: str
    options: type[Schema]
    per: str
    needs_image_size: bool
    module: str
    source: str = "builtin"
    cost: str = "linear"
    needs_attributes: bool = False

    def load_options(self, raw: dict | None) -> Any:
        """Validate and complete options; raises marshmallow.ValidationError."""
        return options_schema(self.options).load(raw or {})

    def option_fields(self) -> list[tuple[str, str, Any, str]]:
        """(name, type, default, description) for each option, for docs and ``validator rules``."""
        out = []
        for name, f in self.options._declared_fields.items():
            default = f.load_default
            if callable(default):
                default = default()
            from marshmallow.utils import missing

            if default is missing:
                default = "(required)"
            out.append((name, type(f).__name__, default, f.metadata.get("description", "")))
        return out


def rule(
    *,
    id: str,
    summary: str,
    why: str,
    geometries: Iterable[str] | None = None,
    level: str = "error",
    options: type[Schema] = NoOptions,
    per: str = "annotation",
    needs_image_size: bool = False,
    cost: str | None = None,
    needs_attributes: bool = False,
) -> Callable[[Callable], Callable]:
    """Register a rule. See docs/writing-rules.md.

    ``per="annotation"``: ``func(ann, ctx, opts)`` is called for each annotation the instance applies to.
    ``per="task"``: ``func(anns, ctx, opts)`` is called once with the selection of matching annotations.
    The function yields :class:`validator.issues.Issue` objects (or returns an iterable of them).
    ``cost``: ``"linear"`` or ``"pairwise"`` (see COSTS). Default: ``"linear"`` for a per-annotation rule, and
    ``"pairwise"`` for a per-task rule (it may compare annotations with each other: it runs after the cheap checks
    unless it says it is linear).
    ``needs_attributes=True``: the rule only checks attributes, so it has nothing to check (and is not called) in a
    request whose task declares no ``annotation_attributes`` and where neither an annotation nor the image carries
    any.
    """
    if not RULE_ID_RE.match(id):
        raise RegistryError(f"rule id {id!r} must be snake_case, 3-64 characters, starting with a letter")
    if level not in LEVELS:
        raise RegistryError(f"rule {id!r}: default level {level!r} is not one of {', '.join(LEVELS)}")
    if per not in ("annotation", "task"):
        raise RegistryError(f"rule {id!r}: per={per!r} must be 'annotation' or 'task'")
    if cost is None:
        cost = "linear" if per == "annotation" else "pairwise"
    if cost not in COSTS:
        raise RegistryError(f"rule {id!r}: cost={cost!r} must be one of {', '.join(map(repr, COSTS))}")
    if isinstance(geometries, str):  # geometries="box": one type, not the letters b, o, x
        geometries = (geometries,)
    geos = None if geometries is None else tuple(geometries)
    for g in geos or ():
        if g not in GEOMETRY_TYPES:
            raise RegistryError(f"rule {id!r}: unknown geometry type {g!r} (known: {', '.join(GEOMETRY_TYPES)})")
    if not (isinstance(options, type) and issubclass(options, Schema)):
        raise RegistryError(f"rule {id!r}: options must be a marshmallow Schema class (subclass validator.Options)")
    if not summary or not why:
        raise RegistryError(f"rule {id!r}: summary and why are required (they are the rule's documentation)")

    def decorate(func: Callable) -> Callable:
        _check_signature(id, func, per)
        try:
            schema = options_schema(options)
            defaults = schema.load({})  # every option must have a valid default ...
            for name, f in schema.fields.items():  # ... that passes its own validators (load does not check it)
                if defaults.get(name) is not None:
                    try:
                        for check in f.validators:
                            check(defaults[name])
                    except ValidationError as exc:
                        raise ValidationError({name: exc.messages}) from None
        except ValidationError as exc:
            raise RegistryError(f"rule {id!r}: options have no valid defaults: {exc.messages}") from None
        r = Rule(
            id=id,
            func=func,
            summary=summary.strip(),
            why=textwrap.dedent(why).strip(),
            geometries=geos,
            level=level,
            options=options,
            per=per,
            needs_image_size=needs_image_size,
            module=func.__module__,
            cost=cost,
            needs_attributes=bool(needs_attributes),
        )
        func.__rule__ = r  # type: ignore[attr-defined]
        return func

    return decorate


def _check_signature(rule_id: str, func: Callable, per: str) -> None:
    """A rule function that cannot take (ann|anns, ctx, opts) would fail on every request: refuse it at start-up."""
    first = "ann" if per == "annotation" else "anns"
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return  # a builtin or C callable: nothing to check
    try:
        sig.bind(None, None, None)
    except TypeError:
        raise RegistryError(f"rule {rule_id!r}: {func.__qualname__}{sig} must accept three arguments "
                            f"({first}, ctx, opts)") from None


@dataclass
class Registry:
    rules: dict[str, Rule] = field(default_factory=dict)

    def add(self, r: Rule, source: str) -> None:
        existing = self.rules.get(r.id)
        if existing is not None and existing.func is not r.func:
            raise RegistryError(
                f"rule id {r.id!r} is defined twice: in {existing.module} ({existing.source}) "
                f"and in {r.module} ({source}); rule ids must be unique"
            )
        self.rules[r.id] = Rule(**{**r.__dict__, "source": source})

    def get(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def __iter__(self):
        return iter(sorted(self.rules.values(), key=lambda r: r.id))

    def __len__(self) -> int:
        return len(self.rules)

    def load_module(self, name: str, source: str) -> None:
        """Import ``name`` (and, for a package, all its submodules) and register the rules it defines."""
        for mod_name in _module_and_submodules(name, source):
            self._register_from(mod_name, source)

    def _register_from(self, mod_name: str, source: str) -> None:
        module = sys.modules[mod_name]  # imported by _module_and_submodules
        for r in _rules_in(module):
            self.add(r, source)


def _rules_in(module: ModuleType) -> list[Rule]:
    found = []
    for value in vars(module).values():
        r = getattr(value, "__rule__", None)
        if isinstance(r, Rule) and r.module == module.__name__:
            found.append(r)
    return found


def _module_and_submodules(name: str, source: str) -> list[str]:
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # a broken rule module must stop start-up, naming the module
        raise RegistryError(f"rule module {name!r} ({source}) failed to import: {type(exc).__name__}: {exc}") from exc
    names = [name]
    path = getattr(module, "__path__", None)
    if path is not None:
        for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
            if not info.name.startswith("_"):
                names.extend(_module_and_submodules(f"{name}.{info.name}", source))
    return names


def entry_point_modules() -> list[tuple[str, str]]:
    """(entry point name, module) pairs declared by installed distributions in ENTRY_POINT_GROUP."""
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted((ep.name, ep.value.split(":")[0]) for ep in eps)


def _import_builtin_pack_from_source() -> None:
    """From a source checkout that is not installed (``PYTHONPATH=/path/to/repo``), import the repository's
    ``rules/`` folder under its installed name, so that the built-in pack has one name however it is run."""
    if BUILTIN_PACK in sys.modules or importlib.util.find_spec(BUILTIN_PACK) is not None:
        return
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "rules"
    init = folder / "__init__.py"
    if not init.is_file():
        return  # _module_and_submodules reports the missing pack
    spec = importlib.util.spec_from_file_location(BUILTIN_PACK, init, submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[BUILTIN_PACK] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[BUILTIN_PACK]
        raise


def build_registry(plugins: Iterable[str] = (), *, builtin: str = BUILTIN_PACK, entry_points: bool = True) -> Registry:
    """Discover every rule: built-in pack, configured plugin modules, entry points. Raises RegistryError."""
    reg = Registry()
    if builtin == BUILTIN_PACK:
        _import_builtin_pack_from_source()
    reg.load_module(builtin, "built-in rule pack")
    for name in plugins:
        reg.load_module(name, "config plugins")
    if entry_points:
        for ep_name, module in entry_point_modules():
            reg.load_module(module, f"entry point {ep_name!r} in group {ENTRY_POINT_GROUP!r}")
    return reg
