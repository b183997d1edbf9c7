"""``validator rules [ID]``: list the registered rules, or show one rule's documentation."""
from __future__ import annotations

import json
import os
import sys

from validator.cli.errors import fail
from validator.engine.catalogue import catalogue_markdown, fmt_default, geometries_text, rule_markdown, rule_text
from validator.engine.config import Config, ConfigError, RuleInstance, load_config
from validator.engine.registry import RegistryError

NAME = "rules"
HELP = "list every registered rule, or show one rule's full documentation"
DESCRIPTION = ("List every registered rule (id, configured levels, geometry types, summary) with its effective "
               "instances under the configuration: name, level, scope, option values (defaults marked as such), and "
               "the per-project overrides; or show one rule's documentation with `validator rules ID`.")


def configure(parser) -> None:
    parser.add_argument("rule_id", nargs="?", metavar="ID", help="show this rule's full documentation")
    parser.add_argument("--config", default=os.environ.get("VALIDATOR_CONFIG"),
                        help="rule configuration TOML (default: $VALIDATOR_CONFIG, else built-in defaults)")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="text (default); json: the rules and their effective instances as one JSON document; "
                             "markdown: the catalogue of all rules (the content of docs/rules.md)")
    parser.add_argument("--markdown", dest="format", action="store_const", const="markdown",
                        help="the same as --format markdown")


def configured_levels(config) -> dict[str, str]:
    """Per rule id, the levels its instances run at: ``error``, ``car=error, pedestrian=warn``, and the projects
    whose overrides differ: ``off; acme-street-scenes: shadow``."""
    def fmt(inst) -> str:
        return inst.level if inst.name == inst.id else f"{inst.name}={inst.level}"

    base: dict[str, list[str]] = {}
    for inst in config.instances:
        base.setdefault(inst.id, []).append(fmt(inst))
    base_pairs = {(i.name, i.level) for i in config.instances}
    projects: dict[str, list[str]] = {}
    for project in sorted(config.project_instances):
        changed: dict[str, list[str]] = {}
        for inst in config.project_instances[project]:
            if (inst.name, inst.level) not in base_pairs:
                changed.setdefault(inst.id, []).append(fmt(inst))
        for rule_id, items in changed.items():
            projects.setdefault(rule_id, []).append(f"{project}: {', '.join(items)}")
    out = {}
    for rule_id in {*base, *projects}:
        out[rule_id] = "; ".join([", ".join(base.get(rule_id, ["off"])), *projects.get(rule_id, [])])
    return out


def _scope(inst: RuleInstance) -> str:
    """Where an instance applies, as configured: labels, geometry types (when narrower than the rule's), projects."""
    parts = []
    if inst.labels is not None:
        parts.append("labels " + ", ".join(sorted(inst.labels)))
    if inst.geometries != inst.rule.geometries:
        parts.append("geometries " + ", ".join(inst.geometries or ()))
    if inst.projects is not None:
        parts.append("projects " + ", ".join(sorted(inst.projects)))
    return "; ".join(parts) or "everywhere"


def _option_values(inst: RuleInstance) -> list[tuple[str, str, object, bool]]:
    """(name, type, effective value, configured?) per option: configured = set in the config entry."""
    raw = inst.raw.get("options")
    configured = set(raw) if isinstance(raw, dict) else set()
    return [(name, typ, inst.options.get(name, default), name in configured)
            for name, typ, default, _ in inst.rule.option_fields()]


def effective_instances(config: Config) -> dict[str, list[tuple[str | None, RuleInstance]]]:
    """Per rule id, its instances as (project, instance): the base instances (project None), then per project (in
    name order) the instances a project's overrides change or add."""
    out: dict[str, list[tuple[str | None, RuleInstance]]] = {}
    base = {inst.name: inst for inst in config.instances}
    for inst in config.instances:
        out.setdefault(inst.id, []).append((None, inst))
    for project in sorted(config.project_instances):
        for inst in config.project_instances[project]:
            if base.get(inst.name) != inst:
                out.setdefault(inst.id, []).append((project, inst))
    return out


def _instance_json(project: str | None, inst: RuleInstance) -> dict:
    return {
        "name": inst.name, "project": project, "level": inst.level,
        "labels": None if inst.labels is None else sorted(inst.labels),
        "geometries": None if inst.geometries is None else list(inst.geometries),
        "projects": None if inst.projects is None else sorted(inst.projects),
        "options": {name: {"value": value, "configured": configured}
                    for name, _, value, configured in _option_values(inst)},
    }


def run(args) -> int:
    try:
        config = load_config(args.config)
    except (ConfigError, RegistryError) as exc:
        return fail(str(exc))
    registry = config.registry
    if args.format == "markdown" and not args.rule_id:
        sys.stdout.write(catalogue_markdown(registry))
        return 0
    levels = configured_levels(config)
    rule = None
    if args.rule_id:
        rule = registry.get(args.rule_id)
        if rule is None:
            import difflib

            close = difflib.get_close_matches(args.rule_id, list(registry.rules), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            if not close and not args.config:  # the usual cause: a plugin's rule, without the config naming it
                hint = ("; rules of plugin modules are known only with the config that names them "
                        "(--config FILE or $VALIDATOR_CONFIG, engine.plugins)")
            return fail(f"unknown rule {args.rule_id!r}{hint}")
        if args.format == "markdown":
            sys.stdout.write(rule_markdown(rule))
            return 0
        if args.format == "text":
            sys.stdout.write(rule_text(rule, levels.get(rule.id, "off")))
            return 0
    instances = effective_instances(config)
    if args.format == "json":  # every rule, or the one asked for
        doc = {"config": config.source, "rules": [
            {"id": r.id, "summary": r.summary, "default_level": r.level, "geometries": r.geometries,
             "module": r.module, "instances": [_instance_json(p, i) for p, i in instances.get(r.id, [])]}
            for r in registry if rule is None or r is rule]}
        print(json.dumps(doc, indent=2, ensure_ascii=False, default=lambda v: sorted(v) if isinstance(
            v, (set, frozenset)) else str(v)))
        return 0
    rows = [(r.id, levels.get(r.id, "off"), geometries_text(r), r.summary, r) for r in registry]
    width = max((len(r[0]) for r in rows), default=10)
    lw = max((len(r[1]) for r in rows), default=5)
    for rid, level, geos, summary, listed in rows:
        print(f"{rid:<{width}}  {level:<{lw}}  [{geos}]")
        print(f"{'':<{width}}  {summary}")
        found = instances.get(rid, [])
        if not found:
            opts = listed.option_fields()
            print("    no instance in this configuration (off)" + ("; options and their defaults:" if opts else ""))
            for name, typ, default, _ in opts:
                print(f"        {name} = {fmt_default(default)}  ({typ}, default)")
        for project, inst in found:
            where = f"project {project}: " if project is not None else ""
            scope = _scope(inst)
            if project is not None and scope == "everywhere":
                scope = "the whole project"
            print(f"    {where}instance {inst.name}  {inst.level}  {scope}")
            for name, typ, value, configured in _option_values(inst):
                print(f"        {name} = {fmt_default(value)}  ({typ}{'' if configured else ', default'})")
    print(f"\n{len(rows)} rules (config: {config.source}). Defaults are marked \"default\"; "
          "`validator rules ID` shows one rule's documentation.")
    return 0
