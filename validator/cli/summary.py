"""What a ``validator check`` run adds up to: per-rule counts, skipped inputs, the verdict changes between two
configs (``--compare``), and the scoped rule instances that never matched anything (a typo'd label or project).

Records are the plain dicts :func:`validator.cli.check.check_item` makes; everything here is bounded in memory
(ids and names kept up to a cap, counts beyond it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_FAILED = 1
MAX_SEEN = 10_000  # distinct labels / projects remembered for the "never matched" report
MAX_IDS = 10_000   # task ids kept per verdict change


def _issue_key(issue: dict) -> tuple:
    locs = tuple((loc.get("x"), loc.get("y")) for loc in issue.get("locations") or [] if isinstance(loc, dict))
    return (issue["instance"], issue["uuid"], issue["errorType"], locs, issue.get("extra"))


def diff_issues(before: list[dict], after: list[dict]) -> tuple[list[dict], list[dict], list[tuple[dict, dict]]]:
    """Issues only in ``after`` (added), only in ``before`` (removed), and those in both whose level changed
    (pairs before, after). Issues are the same when instance, annotation, errorType, locations and text are."""
    from collections import defaultdict

    pool: dict[tuple, list[dict]] = defaultdict(list)
    for issue in before:
        pool[_issue_key(issue)].append(issue)
    added, relevel = [], []
    for issue in after:
        same = pool.get(_issue_key(issue))
        if same:
            prev = same.pop(0)
            if prev["level"] != issue["level"]:
                relevel.append((prev, issue))
        else:
            added.append(issue)
    removed = [i for items in pool.values() for i in items]
    return added, removed, relevel


@dataclass
class RuleStats:
    rule: str
    instance: str
    level: str
    tasks: int = 0
    annotations: int = 0
    issues: int = 0


def _rule_stats(rules: dict, issues: list[dict]) -> None:
    per: dict[tuple[str, str], set] = {}
    for issue in issues:
        key = (issue["instance"], issue["level"])
        stats = rules.get(key)
        if stats is None:
            stats = rules[key] = RuleStats(issue["rule"], issue["instance"], issue["level"])
        stats.issues += 1
        per.setdefault(key, set())
        if issue["uuid"] is not None:
            per[key].add(issue["uuid"])
    for key, uuids in per.items():
        rules[key].tasks += 1
        rules[key].annotations += len(uuids)


@dataclass
class InstanceChange:
    instance: str
    rule: str
    tasks_before: int = 0
    tasks_after: int = 0
    added: int = 0
    removed: int = 0
    level_changed: int = 0


@dataclass
class CompareSummary:
    """What changes between the run's config (before) and the ``--compare`` config (after)."""

    config: str
    other: str
    tasks: int = 0
    errors: int = 0
    changed_tasks: int = 0
    pass_to_fail: list = field(default_factory=list)
    fail_to_pass: list = field(default_factory=list)
    pass_to_fail_count: int = 0
    fail_to_pass_count: int = 0
    instances: dict[str, InstanceChange] = field(default_factory=dict)

    def _inst(self, issue: dict) -> InstanceChange:
        entry = self.instances.get(issue["instance"])
        if entry is None:
            entry = self.instances[issue["instance"]] = InstanceChange(issue["instance"], issue["rule"])
        return entry

    def add(self, record: dict, added: list, removed: list, relevel: list) -> None:
        self.tasks += 1
        cmp = record["compare"]
        if "error" in cmp:
            self.errors += 1
            return
        task = record.get("task_id") or record["where"]
        if record["pass"] and not cmp["pass"]:
            self.pass_to_fail_count += 1
            if len(self.pass_to_fail) < MAX_IDS:
                self.pass_to_fail.append(task)
        elif not record["pass"] and cmp["pass"]:
            self.fail_to_pass_count += 1
            if len(self.fail_to_pass) < MAX_IDS:
                self.fail_to_pass.append(task)
        if added or removed or relevel or record["pass"] != cmp["pass"]:
            self.changed_tasks += 1
        for issue in added:
            self._inst(issue).added += 1
        for issue in removed:
            self._inst(issue).removed += 1
        for _, issue in relevel:
            self._inst(issue).level_changed += 1
        for name in {i["instance"] for i in record["issues"]}:
            self._inst(next(i for i in record["issues"] if i["instance"] == name)).tasks_before += 1
        for name in {i["instance"] for i in cmp["issues"]}:
            self._inst(next(i for i in cmp["issues"] if i["instance"] == name)).tasks_after += 1

    def rows(self) -> list[InstanceChange]:
        return sorted(self.instances.values(), key=lambda c: (-(c.added + c.removed + c.level_changed), c.instance))

    def to_json(self) -> dict:
        return {
            "config": self.config, "other": self.other, "tasks": self.tasks, "changed_tasks": self.changed_tasks,
            "not_compared": self.errors,
            "pass_to_fail": {"count": self.pass_to_fail_count, "tasks": self.pass_to_fail},
            "fail_to_pass": {"count": self.fail_to_pass_count, "tasks": self.fail_to_pass},
            "instances": [
                {"instance": c.instance, "rule": c.rule, "tasks_before": c.tasks_before,
                 "tasks_after": c.tasks_after, "issues_added": c.added, "issues_removed": c.removed,
                 "level_changed": c.level_changed}
                for c in self.rows()
            ],
        }


@dataclass
class Summary:
    tasks: int = 0
    failed: int = 0
    invalid: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    rules: dict[tuple[str, str], RuleStats] = field(default_factory=dict)
    matched: set = field(default_factory=set)
    matched_other: set = field(default_factory=set)
    labels_seen: set = field(default_factory=set)
    projects_seen: set = field(default_factory=set)
    tasks_per_project: dict = field(default_factory=dict)
    compare: CompareSummary | None = None
    unmatched: list = field(default_factory=list)

    def add(self, record: dict) -> None:
        kind = record["kind"]
        if kind == "error":
            self.invalid += 1
            return
        if kind == "skipped":
            self.skipped += 1
            self.skip_reasons[record["reason"]] = self.skip_reasons.get(record["reason"], 0) + 1
            return
        self.tasks += 1
        if not record["pass"]:
            self.failed += 1
        _rule_stats(self.rules, record["issues"])
        self.matched.update(record.get("_matched", ()))
        self.matched_other.update(record.get("_matched_other", ()))
        if len(self.labels_seen) < MAX_SEEN:
            self.labels_seen.update(record.get("_labels", ()))
        project = record.get("project")
        if len(self.projects_seen) < MAX_SEEN or project in self.projects_seen:
            self.projects_seen.add(project)
            self.tasks_per_project[project] = self.tasks_per_project.get(project, 0) + 1

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if (self.failed or self.invalid) else EXIT_OK

    def sorted_rules(self) -> list[RuleStats]:
        order = {"error": 0, "warn": 1, "shadow": 2}
        return sorted(self.rules.values(), key=lambda s: (order.get(s.level, 3), -s.tasks, s.instance))

    def to_json(self) -> dict:
        out = {
            "kind": "summary",
            "tasks": self.tasks,
            "failed": self.failed,
            "passed": self.tasks - self.failed,
            "invalid": self.invalid,
            "skipped": self.skipped,
            "skipped_reasons": dict(sorted(self.skip_reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "rules": [
                {"rule": s.rule, "instance": s.instance, "level": s.level, "tasks": s.tasks,
                 "annotations": s.annotations, "issues": s.issues}
                for s in self.sorted_rules()
            ],
            "never_matched": self.unmatched,
        }
        if self.compare is not None:
            out["compare"] = self.compare.to_json()
        return out


def never_matched(config, summary: Summary, matched: set, which: str | None = None) -> list[dict]:
    """Scoped instances (labels, projects) and per-project sections that applied to nothing in the run: a typo'd
    label or project name silently disables a rule, so ``check`` says so."""
    import difflib

    if summary.tasks == 0:
        return []
    out = []
    seen_projects = {p for p in summary.projects_seen if p is not None}
    labels = sorted(summary.labels_seen)
    n = summary.tasks
    tasks_text = f"{n} task{'s' if n != 1 else ''}"
    names_done = set()
    groups = [config.instances, *config.project_instances.values()]
    for inst in (i for group in groups for i in group):
        if inst.name in names_done or inst.level == "off" or inst.name in matched:
            continue
        if inst.labels is None and inst.projects is None:
            continue
        names_done.add(inst.name)
        entry = {"instance": inst.name, "rule": inst.id, "level": inst.level}
        if inst.projects is not None and not (inst.projects & seen_projects):
            wanted = sorted(inst.projects)
            hints = [m for p in wanted for m in difflib.get_close_matches(p, sorted(seen_projects), n=1)]
            entry["scope"] = "projects"
            entry["values"] = wanted
            entry["message"] = (f"projects {wanted} matched none of the {tasks_text} (projects seen: "
                                f"{_few(sorted(seen_projects))})" + _did_you_mean(hints))
        else:
            wanted = sorted(inst.labels or ())
            missing = [w for w in wanted if w not in summary.labels_seen]
            hints = [m for w in missing for m in difflib.get_close_matches(w, labels, n=1)]
            geoms = f" on {'/'.join(inst.geometries)}" if inst.geometries is not None else ""
            entry["scope"] = "labels"
            entry["values"] = wanted
            entry["message"] = (f"labels {wanted}{geoms} matched no annotation in the {tasks_text} it applies to"
                                + _did_you_mean(hints))
        if which:
            entry["config"] = which
        out.append(entry)
    for project in sorted(set(config.project_instances) | set(config.project_image_size)):
        if project not in seen_projects:
            hints = difflib.get_close_matches(project, sorted(seen_projects), n=1)
            entry = {"instance": None, "scope": "project section", "values": [project],
                     "message": f"[projects.{json.dumps(project)}] matched none of the {tasks_text}"
                                + _did_you_mean(hints)}
            if which:
                entry["config"] = which
            out.append(entry)
    return out


def _few(items: list, limit: int = 8) -> str:
    if not items:
        return "none"
    shown = ", ".join(repr(x) for x in items[:limit])
    return shown + (f", ... +{len(items) - limit} more" if len(items) > limit else "")


def _did_you_mean(hints: list[str]) -> str:
    hints = list(dict.fromkeys(hints))
    return f"; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
