"""The batch manifest: one JSON object per finished file, appended, and what it proves on a rerun.

The manifest (``OUT_DIR/manifest.jsonl`` by default) is written by the driver alone, one line
per finished file (restored or failed), flushed and fsync'ed line by line; the fields are listed
in docs/BATCH.md. Only the latest line of each input (key ``rel``) counts. A torn last line (a
run killed mid-write) is dropped on reading and cut off before appending.

Resuming (:func:`is_done`): a file is done when its latest entry has ``status: "ok"``, the same
options and weights hashes, its output exists, and the sha256 of both the input and the output
match the entry. Hashes come from :func:`echoes.core.files.sha256_file` (no numpy or torch:
a pool worker must not load those before pinning its threads).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from echoes.batch.plan import Task
from echoes.core.files import sha256_file

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
#: The fields resuming needs (``read_manifest(slim=True)`` keeps only these).
RESUME_FIELDS = ("status", "input_sha256", "output", "output_sha256", "options", "weights")


def read_manifest(path: str | os.PathLike, *, slim: bool = False) -> dict[str, dict[str, Any]]:
    """The latest entry of each input (key ``rel``). Lines that do not parse (a torn last line
    of a killed run) are skipped with a warning. ``slim`` keeps only :data:`RESUME_FIELDS`, with
    equal ``options``/``weights`` dicts shared, so a manifest of a million files fits in memory."""
    p = Path(path)
    entries: dict[str, dict[str, Any]] = {}
    if not p.exists():
        return entries
    shared: dict[str, Any] = {}
    with open(p, "rb") as f:
        for k, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                e = json.loads(raw)
                rel = str(e["rel"])
            except (ValueError, KeyError, TypeError):
                log.warning("%s line %d is not a complete entry (an interrupted run?): ignored", p, k)
                continue
            if slim:
                e = {key: e.get(key) for key in RESUME_FIELDS}
                for key in ("options", "weights"):
                    j = json.dumps(e[key], sort_keys=True)
                    e[key] = shared.setdefault(j, e[key])
            entries[rel] = e
    return entries


class ManifestWriter:
    """Append-only JSONL writer: one line per entry, flushed and fsync'ed each time.

    On opening, a torn last line (no final newline and not valid JSON) is cut off; a valid
    last line without its newline gets one.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self._f = open(self.path, "ab")

    def _repair(self) -> None:
        if not self.path.exists():
            return
        size = self.path.stat().st_size
        if size == 0:
            return
        with open(self.path, "r+b") as f:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            # find the start of the last line, reading backwards (the file may be large)
            cut, pos, chunk = 0, size, 1 << 16
            while pos > 0:
                lo = max(0, pos - chunk)
                f.seek(lo)
                i = f.read(pos - lo).rfind(b"\n")
                if i >= 0:
                    cut = lo + i + 1
                    break
                pos = lo
            f.seek(cut)
            try:
                json.loads(f.read())
                f.seek(size)
                f.write(b"\n")
            except ValueError:
                log.warning("%s ends with a torn line (an interrupted run): removing it", self.path)
                f.truncate(cut)
            f.flush()
            os.fsync(f.fileno())

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, default=_json_default, separators=(",", ":")) + "\n"
        self._f.write(line.encode())
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "ManifestWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def is_done(task: Task, entry: dict[str, Any] | None, *, options: dict, weights: dict) -> bool:
    """Whether ``entry`` proves ``task`` was restored with these options and weights and that
    neither the input nor the output changed since (hashes both files)."""
    if not entry or entry.get("status") != "ok":
        return False
    if entry.get("options") != options or entry.get("weights") != weights:
        return False
    if not entry.get("output_sha256") or not entry.get("input_sha256"):
        return False
    dst = Path(task.dst)
    if not dst.is_file():
        return False
    try:
        return sha256_file(dst) == entry["output_sha256"] and sha256_file(task.src) == entry["input_sha256"]
    except OSError:
        return False
