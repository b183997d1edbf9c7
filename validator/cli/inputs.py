"""Saved request bodies on disk, read lazily: files, directories, JSON Lines.

A ``.jsonl`` / ``.ndjson`` file (or ``-``, standard input) holds one ``{task, response}`` body per line; any
other file holds one body. Directories are walked recursively (sorted) for ``*.json``, ``*.jsonl`` and
``*.ndjson``. Nothing is parsed here and only one line or file is held at a time, so a file of 100,000 tasks
is read in bounded memory.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

LINE_SUFFIXES = (".jsonl", ".ndjson")
BODY_SUFFIXES = (".json",) + LINE_SUFFIXES


@dataclass(frozen=True, slots=True)
class InputItem:
    """One body to check (``data``), or a path that could not be read (``error``)."""

    source: str
    line: int | None = None  # 1-based, for JSON Lines
    data: bytes | None = None
    error: str | None = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


def _is_lines(path: Path) -> bool:
    return path.suffix.lower() in LINE_SUFFIXES


def _iter_lines(fh, source: str) -> Iterator[InputItem]:
    for number, raw in enumerate(fh, start=1):
        if raw.strip():
            yield InputItem(source, number, raw.rstrip(b"\r\n"))


def _iter_file(path: Path, source: str) -> Iterator[InputItem]:
    try:
        if _is_lines(path):
            with path.open("rb") as fh:
                yield from _iter_lines(fh, source)
        else:
            yield InputItem(source, None, path.read_bytes())
    except OSError as exc:
        yield InputItem(source, None, None, f"cannot read: {exc.strerror or exc}")


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(BODY_SUFFIXES) and not name.startswith("."):
                yield Path(root) / name


def iter_inputs(paths: Iterable[str | os.PathLike], stdin=None) -> Iterator[InputItem]:
    """Every body in ``paths``, in order (directories sorted); unreadable paths as error items."""
    for given in paths:
        text = os.fspath(given)
        if text == "-":
            yield from _iter_lines(stdin if stdin is not None else sys.stdin.buffer, "<stdin>")
            continue
        path = Path(text)
        if path.is_dir():
            found = False
            for file in _walk(path):
                found = True
                yield from _iter_file(file, str(file))
            if not found:
                yield InputItem(text, None, None, "directory holds no .json, .jsonl or .ndjson files")
        elif path.exists():
            yield from _iter_file(path, text)
        else:
            yield InputItem(text, None, None, "no such file or directory")
