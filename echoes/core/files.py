"""File identity without heavy imports: content hashes and the source tree's git commit.

``sha256_file`` hashes a whole file in 1 MiB blocks (hex digest); ``git_commit`` names the commit
of the source tree (``+dirty`` when tracked files are modified) or None outside git. Neither
imports numpy or torch, so batch workers can hash before their thread limits are set.
"""

from __future__ import annotations

import hashlib
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
