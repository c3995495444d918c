"""File identity without heavy imports: content hashes and the source tree's git commit.

``sha256_file`` hashes a whole file in 1 MiB blocks (hex digest); ``git_commit`` names the commit
of the source tree (``+dirty`` when tracked files are modified) or None outside git. Neither
imports numpy or torch, so batch workers can hash before their thread limits are set.
``publish`` moves a finished temporary file onto its destination with the user's umask.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path


def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The current git commit of the source tree (with ``+dirty`` if modified), or None."""
    try:
        here = cwd or Path(__file__).resolve().parent
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def umask() -> int:
    """The process's umask, read without changing it where Linux tells it (``/proc/self/status``)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # elsewhere: read it by setting it (restored at once)
    os.umask(old)
    return old


def publish(tmp: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Give a finished temporary file (``mkstemp`` makes them 0600) the mode a plainly created
    file would have under the user's umask (``0o666 & ~umask``), then rename it onto ``dst``
    atomically."""
    os.chmod(tmp, 0o666 & ~umask())
    os.replace(tmp, dst)
