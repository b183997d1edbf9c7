"""The README's configuration example is a valid config (a user copies it first)."""
import re
from pathlib import Path

from validator.engine.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_config_example_loads(tmp_path):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert blocks, "the README shows a TOML example"
    for i, block in enumerate(blocks):
        path = tmp_path / f"readme-{i}.toml"
        path.write_text(block)
        config = load_config(path)
        names = {inst.name: inst for inst in config.instances}
        assert "small_pedestrians" in names and names["small_pedestrians"].labels == frozenset({"pedestrian"})
        assert names["duplicate_annotation"].level == "shadow"


def test_the_readme_quick_start_has_exactly_two_commands():
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)```", quick, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["./dev serve", "./dev test"]
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()
