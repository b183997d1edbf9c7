"""docs/architecture.md tells the truth: the layers import only the layers below them, and every module the
document names exists."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"

# layer -> the layers (first component after "validator.", or "rules") it may import
ALLOWED = {
    # the bottom layer, two packages: geometry reads the annotation columns, the wire format may use a kernel (the
    # corners of a rotated box); neither imports anything above them
    "scale": {"scale", "geometry"},
    "geometry": {"scale", "geometry"},
    "engine": {"scale", "geometry", "engine"},
    "rules": {"", "scale", "geometry", "engine", "rules"},  # "": the public API, ``from validator import ...``
    "testing": {"", "scale", "geometry", "engine", "testing"},
    "service": {"", "scale", "geometry", "engine", "service"},
    "cli": {"", "scale", "geometry", "engine", "service", "cli", "testing"},
}
# The one import against the grain: AnnotationSet.select hands over to the engine's select, imported when called
# (ctx.annotations.select(...) is the helper the rule API promises).
EXCEPTIONS = {("validator/scale/annotations.py", "validator.engine.context")}


def _layer_of(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return "rules" if rel[0] == "rules" else rel[1]


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append(node.module)
    return out


MODULES = sorted([*ROOT.glob("validator/*/*.py"), *ROOT.glob("rules/*.py")])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_layer_imports_only_the_layers_below_it(path):
    layer = _layer_of(path)
    rel = str(path.relative_to(ROOT))
    for name in _imports(path):
        if name == "validator" or name.startswith("validator."):
            target = name.split(".")[1] if "." in name else ""
        elif name == "rules" or name.startswith("rules."):
            target = "rules"
        else:
            continue
        if (rel, name) in EXCEPTIONS:
            continue
        assert target in ALLOWED[layer], f"{rel} ({layer}) imports {name}: not a layer below it"


def test_every_module_the_document_names_exists():
    text = DOC.read_text()
    named = set(re.findall(r"`((?:validator/[a-z]+/|rules/)?[a-z_]+\.py)`", text))
    named |= {f"{pkg}{m}" for pkg, m in re.findall(r"(validator/[a-z]+/|rules/)([a-z_]+\.py)", text)}
    assert len(named) > 20
    for name in named:
        if "/" in name:
            assert (ROOT / name).exists(), f"docs/architecture.md names {name}, which does not exist"
        else:
            assert list(ROOT.glob(f"validator/*/{name}")) or (ROOT / "rules" / name).exists(), name
