"""The rule configuration: a TOML file of rule *instances*, validated completely at start-up.

Rule code (the ``@rule`` functions) is kept apart from configured instances, as in OPA Gatekeeper: an instance
says which rule, at which level, where it applies (projects, labels, geometry types) and with which options. One
rule may have several instances (``name`` tells them apart). See docs/configuration.md for the full reference.

```toml
[engine]
failure_policy = "open"      # open: a crashed/over-budget rule is skipped; closed: the task fails
time_budget_ms = 800         # per request, for all rules together
builtin_rules = "defaults"   # "defaults": every discovered rule runs at its default level unless configured;
                             # "configured": only the [[rule]] instances below run
plugins = []                 # extra rule modules to import

[limits]                     # caps the engine enforces (defaults shown; see docs/configuration.md)
max_annotations = 20000      # per task: more is an issue on the task, and no pairwise rule runs
max_vertices = 10000         # per annotation: more is an issue on that annotation, and no pairwise rule runs
max_issues_per_rule = 100    # issues listed per rule instance and task; then one summary issue ("N more")
max_issues_per_task = 1000   # issues listed per task; then one summary issue
max_answer_bytes = 2097152   # the answer's size: issues beyond it are summarised (at most 2 MiB)

[task]
image_width_key = "image_width"    # task.metadata keys holding the image size
image_height_key = "image_height"
conditions_mode = "and"            # how attribute conditions combine: "and" | "or"

[[rule]]
id = "box_too_small"
name = "car_min_size"              # optional; defaults to the id; unique
level = "error"                    # error | warn | shadow | off
labels = ["car"]                   # optional scope
geometries = ["box"]
projects = ["acme-street-scenes"]
options = { min_width = 8, min_height = 8 }

[projects."acme-street-scenes"]
image_width = 1920                 # used when the task's metadata has no image size
image_height = 1080

[[projects."acme-street-scenes".rule]]   # overrides the instance of the same name, for this project only;
id = "box_too_small"                     # keys not given here (labels, options...) keep the instance's values
name = "car_min_size"
level = "warn"
```

Every problem found is reported at once, each naming the file and the key (``rule[2].options.min_width``), with
a did-you-mean for unknown rule ids and keys. Any problem stops the process: a half-configured validator must
never serve.
"""
from __future__ import annotations

import difflib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from marshmallow import ValidationError

from validator.scale.annotations import GEOMETRY_TYPES
from validator.engine.issues import LEVELS
from validator.engine.registry import Registry, RegistryError, Rule, build_registry

FAILURE_POLICIES = ("open", "closed")
CONDITION_MODES = ("and", "or")
BUILTIN_MODES = ("defaults", "configured")
DEFAULT_TIME_BUDGET_MS = 800.0

_ENGINE_KEYS = {"failure_policy", "time_budget_ms", "builtin_rules", "plugins"}
_TASK_KEYS = {"image_width_key", "image_height_key", "conditions_mode"}
_RULE_KEYS = {"id", "name", "level", "labels", "geometries", "projects", "options"}
_PROJECT_KEYS = {"image_width", "image_height", "rule"}
_TOP_KEYS = {"engine", "task", "limits", "rule", "projects"}
MAX_ANSWER_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The caps the engine enforces on every request (``[limits]``): see docs/configuration.md."""

    max_annotations: int = 20_000
    max_vertices: int = 10_000
    max_issues_per_rule: int = 100
    max_issues_per_task: int = 1_000
    max_answer_bytes: int = MAX_ANSWER_BYTES


# key -> (smallest, largest) allowed value
_LIMIT_RANGES = {
    "max_annotations": (1, 1_000_000),
    "max_vertices": (4, 10_000_000),
    "max_issues_per_rule": (1, 100_000),
    "max_issues_per_task": (1, 100_000),
    "max_answer_bytes": (16 * 1024, MAX_ANSWER_BYTES),
}


class ConfigError(Exception):
    """The configuration is invalid. ``str()`` lists every problem, one per line, each naming file and key."""


@dataclass(frozen=True)
class RuleInstance:
    rule: Rule
    name: str
    level: str
    options: Any
    labels: frozenset[str] | None = None
    geometries: tuple[str, ...] | None = None  # effective: rule's geometries narrowed by the instance scope
    projects: frozenset[str] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the [[rule]] table

    @property
    def id(self) -> str:
        return self.rule.id

    def applies_to_project(self, project: str | None) -> bool:
        return self.projects is None or project in self.projects


@dataclass
class Config:
    registry: Registry
    instances: list[RuleInstance]
    project_instances: dict[str, list[RuleInstance]] = field(default_factory=dict)
    failure_policy: str = "open"
    time_budget_ms: float = DEFAULT_TIME_BUDGET_MS
    image_width_key: str = "image_width"
    image_height_key: str = "image_height"
    conditions_mode: str = "and"
    project_image_size: dict[str, tuple[float, float]] = field(default_factory=dict)
    source: str = "built-in defaults"
    limits: Limits = field(default_factory=Limits)

    def instances_for(self, project: str | None) -> list[RuleInstance]:
        """Instances that run for a task of this project (per-project overrides applied), in a stable order."""
        base = self.project_instances.get(project) if project is not None else None
        chosen = base if base is not None else self.instances
        return [i for i in chosen if i.level != "off" and i.applies_to_project(project)]


class _Problems:
    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            n = len(self.items)
            head = f"invalid configuration ({n} problem{'s' if n > 1 else ''}):"
            raise ConfigError("\n".join([head, *("  - " + i for i in self.items)]))


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_keys(problems: _Problems, where: str, table: Mapping, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            problems.add(f"{where}.{key}" if where else key,
                         f"unknown key{_did_you_mean(key, allowed)} (allowed: {', '.join(sorted(allowed))})")


def _str_list(problems: _Problems, where: str, value: Any,
              allowed: Iterable[str] | None = None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        problems.add(where, "must be a non-empty list of strings")
        return None
    if allowed is not None:
        allowed = list(allowed)
        for v in value:
            if v not in allowed:
                problems.add(where, f"unknown value {v!r}{_did_you_mean(v, allowed)} (known: {', '.join(allowed)})")
    return frozenset(value)


def _instance(problems: _Problems, where: str, entry: Any, registry: Registry) -> RuleInstance | None:
    if not isinstance(entry, dict):
        problems.add(where, "must be a table")
        return None
    _check_keys(problems, where, entry, _RULE_KEYS)
    rule_id = entry.get("id")
    if not isinstance(rule_id, str):
        problems.add(f"{where}.id", "is required: the id of the rule to configure (see `validator rules`)")
        return None
    rule = registry.get(rule_id)
    if rule is None:
        problems.add(f"{where}.id", f"unknown rule {rule_id!r}{_did_you_mean(rule_id, registry.rules)}")
        return None
    label = f"{where} ({rule_id})"
    name = entry.get("name", rule_id)
    if not isinstance(name, str) or not name:
        problems.add(f"{label}.name", "must be a non-empty string")
        name = rule_id
    level = entry.get("level", rule.level)
    if level not in LEVELS:
        problems.add(f"{label}.level", f"{level!r} is not one of {', '.join(LEVELS)}")
        level = rule.level
    raw_options = entry.get("options", {})
    options = None
    if not isinstance(raw_options, dict):
        problems.add(f"{label}.options", "must be a table")
    else:
        try:
            options = rule.load_options(raw_options)
        except ValidationError as exc:
            known = list(rule.options._declared_fields)
            for key, msgs in _flatten(exc.messages):
                if key not in known and key in raw_options:  # marshmallow's "Unknown field."
                    problems.add(f"{label}.options.{key}",
                                 f"unknown option{_did_you_mean(key, known)} "
                                 f"(options of {rule_id}: {', '.join(known) or 'none'}; see `validator rules "
                                 f"{rule_id}`)")
                else:
                    text = " ".join(m.rstrip(".") for m in msgs)
                    given = f" (given: {raw_options[key]!r})" if key in raw_options else ""
                    problems.add(f"{label}.options.{key}", f"{text}{given}")
    labels = _str_list(problems, f"{label}.labels", entry.get("labels"))
    geos = _str_list(problems, f"{label}.geometries", entry.get("geometries"), GEOMETRY_TYPES)
    projects = _str_list(problems, f"{label}.projects", entry.get("projects"))
    effective = rule.geometries
    if geos is not None:
        if rule.geometries is not None:
            outside = sorted(geos - set(rule.geometries))
            if outside:
                problems.add(f"{label}.geometries", f"{', '.join(outside)} not checked by {rule_id} "
                                                    f"(it applies to {', '.join(rule.geometries)})")
            effective = tuple(g for g in rule.geometries if g in geos)
        else:
            effective = tuple(g for g in GEOMETRY_TYPES if g in geos)
    if options is None:
        return None
    return RuleInstance(rule=rule, name=name, level=level, options=options, labels=labels,
                        geometries=effective, projects=projects, raw=dict(entry))


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    if isinstance(messages, dict):
        for k, v in messages.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out.append((prefix or "(options)", list(messages)))
    else:
        out.append((prefix or "(options)", [str(messages)]))
    return out


def _default_instance(rule: Rule) -> RuleInstance:
    return RuleInstance(rule=rule, name=rule.id, level=rule.level, options=rule.load_options({}),
                        geometries=rule.geometries, raw={"id": rule.id})


def _inherit(base: RuleInstance, entry: dict) -> dict:
    """A per-project override of instance ``base``: the keys it does not set keep the base instance's values, and
    its options are merged over the base options (``level = "warn"`` alone changes only the level). The base's
    ``projects`` scope is not inherited: an override under ``[projects."X"]`` is for project X."""
    merged = {k: v for k, v in base.raw.items() if k != "projects"}
    merged.update(entry)
    if isinstance(base.raw.get("options"), dict) and isinstance(entry.get("options"), dict):
        merged["options"] = {**base.raw["options"], **entry["options"]}
    return merged


def _merge(problems: _Problems, base: list[RuleInstance], entries: list[tuple[str, Any]],
           registry: Registry, project: str | None = None) -> list[RuleInstance]:
    """Apply [[rule]] entries over ``base``: same name replaces, a new name is added, a repeated name is an error.

    With ``project`` (per-project overrides), an entry naming an existing instance of the same rule inherits what
    it does not set from that instance (see :func:`_inherit`).
    """
    out = {i.name: i for i in base}
    seen: dict[str, tuple[str, str]] = {}  # instance name -> (where, rule id)
    for where, entry in entries:
        if project is not None and isinstance(entry, dict):
            if "projects" in entry:
                problems.add(f"{where}.projects", f"not allowed here: this override already applies to project "
                                                  f"{project!r} only")
                entry = {k: v for k, v in entry.items() if k != "projects"}
            key = entry.get("name", entry.get("id"))
            target = out.get(key) if isinstance(key, str) else None
            if target is not None and target.rule.id == entry.get("id"):
                entry = _inherit(target, entry)
        inst = _instance(problems, where, entry, registry)
        if inst is None:
            continue
        if inst.name in seen:
            first_where, first_rule = seen[inst.name]
            if first_rule == inst.rule.id:
                problems.add(where, f"duplicate instance {inst.name!r} of {first_rule!r} (already defined at "
                                    f"{first_where}); give one of them a distinct `name`")
            else:
                problems.add(where, f"instance name {inst.name!r} is already used at {first_where} by an instance "
                                    f"of {first_rule!r}; instance names are unique across rules: choose another "
                                    f"`name`")
            continue
        seen[inst.name] = (where, inst.rule.id)
        if inst.name in out and out[inst.name].rule.id != inst.rule.id:
            problems.add(f"{where}.name", f"{inst.name!r} is already the name of an instance of "
                                          f"{out[inst.name].rule.id!r}; instance names are unique across rules: "
                                          "choose another `name`")
            continue
        out[inst.name] = inst
    return list(out.values())


def load_config(path: str | os.PathLike | None = None, *, registry: Registry | None = None) -> Config:
    """Read and validate a config file (None: built-in defaults). Raises ConfigError listing every problem."""
    source = str(path) if path is not None else "built-in defaults"
    problems = _Problems(source)
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{source}: config file not found (check the path given in VALIDATOR_CONFIG or "
                              f"--config)") from None
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read config file: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None  # tomllib names line and column
    _check_keys(problems, "", data, _TOP_KEYS)
    engine = data.get("engine", {})
    task = data.get("task", {})
    if not isinstance(engine, dict):
        problems.add("engine", "must be a table")
        engine = {}
    if not isinstance(task, dict):
        problems.add("task", "must be a table")
        task = {}
    _check_keys(problems, "engine", engine, _ENGINE_KEYS)
    _check_keys(problems, "task", task, _TASK_KEYS)
    limits = _limits(problems, data.get("limits", {}))

    policy = engine.get("failure_policy", "open")
    if policy not in FAILURE_POLICIES:
        problems.add("engine.failure_policy", f"{policy!r} is not one of {', '.join(FAILURE_POLICIES)}")
    budget = engine.get("time_budget_ms", DEFAULT_TIME_BUDGET_MS)
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 1 <= budget <= 60_000:
        problems.add("engine.time_budget_ms", f"must be a number of milliseconds between 1 and 60000, not {budget!r}")
        budget = DEFAULT_TIME_BUDGET_MS
    builtin_mode = engine.get("builtin_rules", "defaults")
    if builtin_mode not in BUILTIN_MODES:
        problems.add("engine.builtin_rules", f"{builtin_mode!r} is not one of {', '.join(BUILTIN_MODES)}")
    plugins = engine.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        problems.add("engine.plugins", "must be a list of module names")
        plugins = []
    mode = task.get("conditions_mode", "and")
    if mode not in CONDITION_MODES:
        problems.add("task.conditions_mode", f"{mode!r} is not one of {', '.join(CONDITION_MODES)}")
    width_key = task.get("image_width_key", "image_width")
    height_key = task.get("image_height_key", "image_height")
    for k, v in (("image_width_key", width_key), ("image_height_key", height_key)):
        if not isinstance(v, str) or not v:
            problems.add(f"task.{k}", "must be a non-empty string")

    if registry is None:
        try:
            registry = build_registry(plugins)
        except RegistryError as exc:
            # blame engine.plugins only for a module it names (entry-point modules name their own source)
            problems.add("engine.plugins" if "(config plugins)" in str(exc) else "", str(exc))
            problems.raise_if_any()
            raise  # unreachable
    # the rule entries only need the registry: go on, so that every problem is reported at once

    defaults = [_default_instance(r) for r in registry] if builtin_mode == "defaults" else []
    rule_entries = data.get("rule", [])
    if not isinstance(rule_entries, list):
        problems.add("rule", "must be an array of tables: write [[rule]]")
        rule_entries = []
    instances = _merge(problems, defaults, [(f"rule[{i + 1}]", e) for i, e in enumerate(rule_entries)], registry)

    project_instances: dict[str, list[RuleInstance]] = {}
    project_image_size: dict[str, tuple[float, float]] = {}
    projects = data.get("projects", {})
    if not isinstance(projects, dict):
        problems.add("projects", "must be a table of projects: write [projects.\"name\"]")
        projects = {}
    for pname, ptable in projects.items():
        where = f"projects.{json.dumps(pname)}"  # as written in TOML: projects."name"
        if not isinstance(ptable, dict):
            problems.add(where, "must be a table")
            continue
        _check_keys(problems, where, ptable, _PROJECT_KEYS)
        w, h = ptable.get("image_width"), ptable.get("image_height")
        if (w is None) != (h is None):
            problems.add(where, "image_width and image_height must be given together")
        elif w is not None:
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in (w, h)):
                problems.add(where, f"image_width and image_height must be positive numbers (given: {w!r}, "
                                    f"{h!r})")
            else:
                project_image_size[pname] = (float(w), float(h))
        entries = ptable.get("rule", [])
        if not isinstance(entries, list):
            problems.add(f"{where}.rule", "must be an array of tables: write [[projects.\"name\".rule]]")
            continue
        if entries:
            project_instances[pname] = _merge(
                problems, instances, [(f"{where}.rule[{i + 1}]", e) for i, e in enumerate(entries)], registry,
                project=pname)
    problems.raise_if_any()
    return Config(
        registry=registry,
        instances=instances,
        project_instances=project_instances,
        failure_policy=policy,
        time_budget_ms=float(budget),
        image_width_key=width_key,
        image_height_key=height_key,
        conditions_mode=mode,
        project_image_size=project_image_size,
        source=source,
        limits=limits,
    )


def _limits(problems: _Problems, table: Any) -> Limits:
    if not isinstance(table, dict):
        problems.add("limits", "must be a table")
        return Limits()
    _check_keys(problems, "limits", table, set(_LIMIT_RANGES))
    values = {}
    for key, (low, high) in _LIMIT_RANGES.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.add(f"limits.{key}", f"must be a whole number between {low} and {high}, not {value!r}")
            continue
        values[key] = value
    return Limits(**values)
