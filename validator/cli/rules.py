"""``validator rules [ID]``: list the registered rules, or show one rule's documentation."""
from __future__ import annotations

import os
import sys

from validator.engine.catalogue import catalogue_markdown, fmt_default, geometries_text, rule_text
from validator.engine.config import ConfigError, load_config
from validator.engine.registry import RegistryError

NAME = "rules"
HELP = "list every registered rule, or show one rule's full documentation"
DESCRIPTION = ("List every registered rule (id, configured level, geometry types, summary, options with defaults), "
               "or show one rule's documentation with `validator rules ID`.")


def configure(parser) -> None:
    parser.add_argument("rule_id", nargs="?", metavar="ID", help="show this rule's full documentation")
    parser.add_argument("--config", default=os.environ.get("VALIDATOR_CONFIG"),
                        help="rule configuration TOML (default: $VALIDATOR_CONFIG, else built-in defaults)")
    parser.add_argument("--markdown", action="store_true",
                        help="print the Markdown catalogue of all rules (the content of docs/rules.md)")


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


def run(args) -> int:
    try:
        config = load_config(args.config)
    except (ConfigError, RegistryError) as exc:
        print(f"validator: {exc}", file=sys.stderr)
        return 2
    registry = config.registry
    if args.markdown:
        sys.stdout.write(catalogue_markdown(registry))
        return 0
    levels = configured_levels(config)
    if args.rule_id:
        rule = registry.get(args.rule_id)
        if rule is None:
            import difflib

            close = difflib.get_close_matches(args.rule_id, list(registry.rules), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            print(f"validator: unknown rule {args.rule_id!r}{hint}", file=sys.stderr)
            return 2
        sys.stdout.write(rule_text(rule, levels.get(rule.id, "off")))
        return 0
    rows = [(r.id, levels.get(r.id, "off"), geometries_text(r), r.summary, r.option_fields())
            for r in registry]
    width = max((len(r[0]) for r in rows), default=10)
    lw = max((len(r[1]) for r in rows), default=5)
    for rid, level, geos, summary, opts in rows:
        print(f"{rid:<{width}}  {level:<{lw}}  [{geos}]")
        print(f"{'':<{width}}  {summary}")
        for name, typ, default, _ in opts:
            print(f"{'':<{width}}    option {name} = {fmt_default(default)}  ({typ})")
    print(f"\n{len(rows)} rules (config: {config.source}). `validator rules ID` shows one rule's documentation.")
    return 0
