"""``validator check --dask ADDRESS``: a backtest that outgrows one machine, on a Dask cluster.

An optional extra (``pip install 'scale-realtime-validator[dask]'``: ``dask[distributed]``). The inputs are JSON
Lines files; ``dask.bytes.read_bytes`` cuts each into partitions of about ``blocksize`` bytes at line ends (local
paths, or any URL fsspec reads, e.g. ``s3://`` with s3fs installed). Each partition is checked on a worker by the
same code as ``--jobs`` (:func:`validator.cli.check.check_item`), with **one engine per worker process** (built on
the first partition a process gets, kept for the rest). Results come back in input order with at most
``2 x workers`` partitions in flight, so the output is the same as ``--jobs 1``, line numbers included (a partition
returns lines counted from its start, and how many lines it held; the caller adds the lines before it).

``ADDRESS`` is a scheduler (``tcp://scheduler:8786``), or ``local`` / ``local:N`` for a local cluster of N worker
processes (one thread each) on 127.0.0.1. Every worker must be able to read the config file and the inputs at the
paths given (shared storage), and have this package (and any rule plugins) installed.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from pathlib import Path
from typing import Iterator

from validator.cli.inputs import LINE_SUFFIXES, _document_items, _walk

DEFAULT_LOCAL_WORKERS = 2


class DaskSetupError(Exception):
    """The Dask path cannot start (extra not installed, inputs not JSON Lines, bad address or block size)."""


_ENGINES: dict = {}
_BUILDS = [0]  # engines built in this process (the suite checks it is one per worker process)


def _engines(config: str | None, compare: str | None):
    """This worker process's engines (built once per process, whatever the number of partitions)."""
    key = (config, compare)
    found = _ENGINES.get(key)
    if found is None:
        from validator.cli.check import load_engine, quiet_engine_logs

        quiet_engine_logs()
        _BUILDS[0] += 1
        found = _ENGINES[key] = (load_engine(config), load_engine(compare) if compare else None, os.getpid())
    return found


def check_partition(data: bytes, source: str, config: str | None, compare: str | None,
                    scenes: bool) -> tuple[list[dict], int, tuple[int, int]]:
    """Check one partition of a JSON Lines file: (records with lines counted from the partition's start, lines in
    the partition, (the worker's process id, engines built in that process so far))."""
    from validator.cli.check import check_item

    engine, other, pid = _engines(config, compare)
    records = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            for item in _document_items(raw.rstrip(b"\r"), source, number):
                records.append(check_item(engine, item, other, scenes))
    return records, len(lines), (pid, _BUILDS[0])


def _parse_address(address: str) -> tuple[str, int | None]:
    if address == "local":
        return "local", DEFAULT_LOCAL_WORKERS
    if address.startswith("local:"):
        try:
            n = int(address[6:])
            assert n >= 1
        except (ValueError, AssertionError):
            raise DaskSetupError(f"--dask {address!r}: expected local:N with N >= 1 worker processes") from None
        return "local", n
    if "://" not in address and ":" not in address:
        raise DaskSetupError(f"--dask {address!r}: expected a scheduler address (tcp://host:8786) or local[:N]")
    return address, None


def _files(paths: list[str]) -> list[tuple[str, str]]:
    """(label as given, path to read) for every JSON Lines input; DaskSetupError for anything else."""
    out = []
    for given in paths:
        if "://" in given:
            out.append((given, given))
            continue
        path = Path(given)
        if path.is_dir():
            found = [p for p in _walk(path)]
            bad = [p for p in found if p.suffix.lower() not in LINE_SUFFIXES]
            if bad:
                raise DaskSetupError(f"--dask reads JSON Lines files only; {bad[0]} is not .jsonl/.ndjson")
            if not found:
                raise DaskSetupError(f"{given}: directory holds no .jsonl or .ndjson files")
            out.extend((str(p), str(p.resolve())) for p in found)
        elif not path.exists():
            raise DaskSetupError(f"{given}: no such file or directory")
        elif path.suffix.lower() not in LINE_SUFFIXES:
            raise DaskSetupError(f"--dask reads JSON Lines files only (one task per line); {given} is not "
                                 ".jsonl/.ndjson")
        else:
            out.append((given, str(path.resolve())))
    return out


class DaskRecords:
    """The records of a Dask run, in input order (iterate once). Starts the client on first iteration."""

    def __init__(self, paths: list[str], *, address: str, config: str | None, compare: str | None,
                 scenes: bool, blocksize: str | int, connect_timeout: float = 20.0):
        try:
            import dask  # noqa: F401
            import distributed  # noqa: F401
            from dask.utils import parse_bytes
        except ImportError:
            raise DaskSetupError("--dask needs the optional extra: pip install 'scale-realtime-validator[dask]' "
                                 "(dask[distributed])") from None
        self.address, self.local_workers = _parse_address(address)
        try:
            self.blocksize = parse_bytes(blocksize) if isinstance(blocksize, str) else int(blocksize)
            assert self.blocksize > 0
        except (ValueError, AssertionError, TypeError):
            raise DaskSetupError(f"--dask-blocksize {blocksize!r} is not a size (e.g. 64MiB)") from None
        self.files = _files(list(paths))
        self.config = os.path.abspath(config) if config else None
        self.compare = os.path.abspath(compare) if compare else None
        self.scenes = scenes
        self.connect_timeout = connect_timeout
        self.partitions = 0
        self.worker_pids: set[int] = set()
        self.engine_builds: dict[int, int] = {}  # worker process id -> engines built there
        self._client = None
        self._cluster = None

    def _connect(self):
        from distributed import Client, LocalCluster

        if self.address == "local":
            self._cluster = LocalCluster(n_workers=self.local_workers, threads_per_worker=1, processes=True,
                                         host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(self.address, timeout=f"{self.connect_timeout:g}s")
            except (OSError, TimeoutError) as exc:
                reason = str(exc).split("\n")[0] or type(exc).__name__
                raise DaskSetupError(f"cannot reach the Dask scheduler at {self.address} within "
                                     f"{self.connect_timeout:g} s: {reason}") from None
        return self._client

    def __iter__(self) -> Iterator[dict]:
        from dask import delayed
        from dask.bytes import read_bytes

        client = self._connect()
        workers = max(1, len(client.scheduler_info().get("workers", {})) or (self.local_workers or 1))
        in_flight = 2 * workers
        check = delayed(check_partition, pure=False)
        for label, path in self.files:
            _, blocks = read_bytes(path, delimiter=b"\n", blocksize=self.blocksize, sample=False)
            pending: deque = deque()
            offset = 0

            def drain():
                nonlocal offset
                records, count, (pid, builds) = pending.popleft().result()
                self.worker_pids.add(pid)
                self.engine_builds[pid] = max(builds, self.engine_builds.get(pid, 0))
                for record in records:
                    record["line"] += offset
                    record["where"] = f"{record['source']}:{record['line']}" + (
                        f"[{record['index']}]" if record.get("index") is not None else "")
                offset += count
                return records

            for block in blocks[0]:
                self.partitions += 1
                pending.append(client.compute(check(block, label, self.config, self.compare, self.scenes)))
                while len(pending) >= in_flight:
                    yield from drain()
            while pending:
                yield from drain()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def prepare(paths: list[str], *, address: str, config: str | None, compare: str | None, scenes: bool,
            blocksize: str | int = "64MiB", connect_timeout: float = 20.0) -> DaskRecords:
    return DaskRecords(paths, address=address, config=config, compare=compare, scenes=scenes, blocksize=blocksize,
                       connect_timeout=connect_timeout)
