"""Saved tasks on disk (or standard input), read lazily: files, directories, JSON arrays, JSON Lines.

Each input *document* is one JSON object -- a ``{task, response}`` body as Scale POSTs it, or a task object as
Scale's task API returns it (with its ``response``); which one is decided later, per object (see
:mod:`validator.cli.check`). A document may also be a JSON array of such objects (a task export): its elements
are read one at a time, without loading the array (:func:`iter_json_array`).

* ``.jsonl`` / ``.ndjson`` files hold one document per line (a line may be an array).
* Any other file holds one document.
* ``-`` is standard input: JSON Lines or one JSON document, whichever it is (decided on the first line).
* Directories are walked recursively (sorted) for ``*.json``, ``*.jsonl`` and ``*.ndjson``.

Nothing is parsed here except to find where array elements end, and only one line, file or element is held at a
time, so a file of 100,000 tasks is read in bounded memory.
"""

from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

LINE_SUFFIXES = (".jsonl", ".ndjson")
BODY_SUFFIXES = (".json",) + LINE_SUFFIXES
READ_CHUNK = 1 << 20
BOM = b"\xef\xbb\xbf"
_WS = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class InputItem:
    """One document to check (``data``: the bytes of one JSON value), or an input that failed (``error``)."""

    source: str
    line: int | None = None  # 1-based, for JSON Lines
    data: bytes | None = None
    error: str | None = None
    index: int | None = None  # 0-based position in a JSON array

    @property
    def where(self) -> str:
        text = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{text}[{self.index}]" if self.index is not None else text


# -- JSON arrays, element by element ---------------------------------------------------------------------------

_TOKENS = re.compile(rb'["{}\[\],]')
_IN_STRING = re.compile(rb'["\\]')


class ArrayError(ValueError):
    """The array is not well formed (truncated, an empty element, text after it)."""


def iter_json_array(fh: BinaryIO, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """The raw bytes of each element of the JSON array that ``fh`` holds, in order, one at a time.

    Only string, bracket and comma positions are scanned (a regular expression jumps between them), so an element
    is held in memory only while it is read. Elements are not validated: each is parsed by whoever consumes it.
    Raises :class:`ArrayError` once the elements before the problem have been yielded.
    """
    depth = 0          # 0: before '[' / after ']'; 1: between elements; >1: inside one
    in_string = False
    escaped = False    # a backslash ended the previous chunk
    done = False
    count = 0
    current = bytearray()
    while True:
        chunk = fh.read(chunk_size)
        if not chunk:
            break
        i, n = 0, len(chunk)
        seg = 0  # start of the part of this chunk that belongs to the current element
        if escaped:
            i, escaped = 1, False
        while i < n:
            if done:
                if chunk[i:].strip(_WS):
                    raise ArrayError("there is more after the array's closing ']'")
                break
            if in_string:
                m = _IN_STRING.search(chunk, i)
                if m is None:
                    break
                j = m.start()
                if chunk[j] == 0x5C:  # backslash: skip the escaped byte (maybe in the next chunk)
                    if j + 1 >= n:
                        escaped = True
                        break
                    i = j + 2
                    continue
                in_string = False
                i = j + 1
                continue
            if depth == 0:
                head = chunk[i:].lstrip(_WS)
                if not head:
                    break
                if head[:1] != b"[":
                    raise ArrayError("not a JSON array")
                depth = 1
                i = seg = n - len(head) + 1
                continue
            m = _TOKENS.search(chunk, i)
            if m is None:
                break
            j = m.start()
            c = chunk[j]
            if c == 0x22:
                in_string = True
            elif c in (0x7B, 0x5B):  # { [
                depth += 1
            elif depth > 1:  # } ] , inside an element
                if c != 0x2C:
                    depth -= 1
            elif c in (0x2C, 0x5D):  # an element ends: ',' or the closing ']'
                current += chunk[seg:j]
                element = bytes(current).strip(_WS)
                current = bytearray()
                seg = j + 1
                if element:
                    count += 1
                    yield element
                elif c == 0x2C or count:
                    raise ArrayError("the array has an empty element (two commas, or a comma before ']')")
                if c == 0x5D:
                    depth = 0
                    done = True
            else:
                raise ArrayError("unexpected '}' between array elements")
            i = j + 1
        if depth >= 1:
            current += chunk[seg:]
    if not done:
        raise ArrayError("the array ends before its closing ']' (a truncated file?)" if depth else "no JSON array")


def _first_byte(data: bytes) -> bytes:
    return data.lstrip(_WS)[:1]


def _iter_array_items(fh: BinaryIO, source: str, line: int | None = None) -> Iterator[InputItem]:
    index = -1
    try:
        for index, element in enumerate(iter_json_array(fh)):
            yield InputItem(source, line, element, index=index)
    except ArrayError as exc:
        yield InputItem(source, line, None, f"not a valid JSON array: {exc} (after element {index})"
                        if index >= 0 else f"not a valid JSON array: {exc}", index=index + 1)


def _document_items(data: bytes, source: str, line: int | None = None) -> Iterator[InputItem]:
    """One document held in memory (a file, a line): an array's elements, or the document itself."""
    if _first_byte(data) == b"[":
        yield from _iter_array_items(io.BytesIO(data), source, line)
    else:
        yield InputItem(source, line, data)


# -- files, lines, stdin ----------------------------------------------------------------------------------------

def _is_lines(path: Path) -> bool:
    return path.suffix.lower() in LINE_SUFFIXES


def _iter_lines(lines: Iterable[bytes], source: str, start: int = 1) -> Iterator[InputItem]:
    for number, raw in enumerate(lines, start=start):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if raw.strip():
            yield from _document_items(raw.rstrip(b"\r\n"), source, number)


class _Prefixed(io.RawIOBase):
    """A binary stream: ``prefix`` bytes, then the rest of ``fh`` (what was peeked is read again)."""

    def __init__(self, prefix: bytes, fh: BinaryIO):
        self._prefix = prefix
        self._fh = fh

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n is None or n < 0:
                out, self._prefix = self._prefix + self._fh.read(), b""
                return out
            out, self._prefix = self._prefix[:n], self._prefix[n:]
            return out
        return self._fh.read(n if n is not None else -1)


def _is_complete_json(data: bytes) -> bool:
    from validator.scale import jsonio
    try:
        jsonio.loads(data)
    except Exception:  # noqa: BLE001 - any parse failure
        return False
    return True


def iter_stdin(fh: BinaryIO, source: str = "<stdin>") -> Iterator[InputItem]:
    """JSON Lines, or one JSON document (pretty-printed, or an array), whichever standard input holds.

    The first non-blank line decides: a complete JSON value on it means JSON Lines (streamed line by line);
    otherwise the whole input is one document. A single document that does not parse but whose lines do is read
    as JSON Lines after all (a JSON Lines stream whose first line is broken), so no good line is lost.
    """
    number = 0
    first = b""
    for raw in fh:
        number += 1
        if raw.strip():
            first = raw
            break
    if not first:
        return
    if first.startswith(BOM):
        first = first[len(BOM):]
    if _is_complete_json(first.strip()):
        yield from _iter_lines(_chain_first(first, fh), source, start=number)
        return
    if _first_byte(first) == b"[":  # a (pretty-printed) array: stream its elements
        yield from _iter_array_items(_Prefixed(first, fh), source)
        return
    rest = fh.read()
    document = first + rest
    if _is_complete_json(document):
        yield InputItem(source, None, document)
        return
    lines = document.splitlines()
    if len(lines) > 1 and any(_is_complete_json(x.strip()) for x in lines if x.strip()):
        yield from _iter_lines(lines, source, start=number)
    else:
        yield InputItem(source, None, document)  # reported as not valid JSON, by name


def _chain_first(first: bytes, fh: BinaryIO) -> Iterator[bytes]:
    yield first
    yield from fh


def _iter_file(path: Path, source: str) -> Iterator[InputItem]:
    try:
        if _is_lines(path):
            with path.open("rb") as fh:
                yield from _iter_lines(fh, source)
            return
        with path.open("rb") as fh:
            head = fh.read(4096)
            if head.startswith(BOM):  # exports saved by some Windows tools start with a UTF-8 byte order mark
                head = head[len(BOM):]
            if _first_byte(head) == b"[":  # an array (a task export): streamed, element by element
                yield from _iter_array_items(_Prefixed(head, fh), source)
                return
            data = head + fh.read()
        yield InputItem(source, None, data)
    except OSError as exc:
        yield InputItem(source, None, None, f"cannot read: {exc.strerror or exc}")


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(BODY_SUFFIXES) and not name.startswith("."):
                yield Path(root) / name


def iter_inputs(paths: Iterable[str | os.PathLike], stdin=None) -> Iterator[InputItem]:
    """Every document in ``paths``, in order (directories sorted); unreadable paths as error items."""
    for given in paths:
        text = os.fspath(given)
        if text == "-":
            yield from iter_stdin(stdin if stdin is not None else sys.stdin.buffer)
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
