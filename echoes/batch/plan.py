"""Planning a batch: which files under the source folder are restored, and where each one goes.

A :class:`Task` is one file: ``rel`` (POSIX path relative to the source folder, the manifest
key), ``src`` and ``dst`` (absolute paths) and ``duration_s`` (from the header; 0 when it cannot
be read). Invariants:

- the output folder is not the source folder, inside it, or holding it (:func:`check_roots`);
- audio is found by extension (:data:`echoes.core.audio.EXTENSIONS`, any case), hidden files
  and folders are skipped, links to folders are not followed, and the order is sorted;
- every output path resolves inside the output folder (a link out of it is refused), and no two
  inputs share one output (:func:`plan` refuses the batch before anything runs).

:mod:`echoes.core.audio` (numpy, soundfile) is imported on first use, so a pool worker can set
its thread counts before they load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from echoes.errors import EchoesError, OutputPathError, ParameterError


@dataclass(frozen=True)
class Task:
    """One file to restore. ``rel``: POSIX path relative to the source folder (the manifest key);
    ``src``/``dst``: absolute paths; ``duration_s``: from the header (0 when unreadable)."""

    rel: str
    src: str
    dst: str
    duration_s: float = 0.0


def check_roots(src_dir: str | os.PathLike, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Resolve both folders and refuse overlapping ones. Returns ``(src, out)``, absolute."""
    src = Path(src_dir).expanduser().resolve()
    out = Path(out_dir).expanduser().resolve()
    if not src.exists():
        raise ParameterError(f"the source folder '{src_dir}' does not exist")
    if not src.is_dir():
        raise ParameterError(f"'{src_dir}' is a file; batch takes a folder (use 'echoes restore' for files)")
    if out == src:
        raise OutputPathError("the output folder is the source folder: choose another one (inputs are never overwritten)")
    if out.is_relative_to(src):
        raise OutputPathError(f"the output folder '{out_dir}' is inside the source folder '{src_dir}': choose one outside it")
    if src.is_relative_to(out):
        raise OutputPathError(f"the source folder '{src_dir}' is inside the output folder '{out_dir}': choose folders apart")
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"'{out_dir}' is a file; the output must be a folder")
    return src, out


def find_audio(src: Path) -> list[Path]:
    """Audio files under ``src``, sorted; hidden names skipped, folder links not followed."""
    found: list[Path] = []
    from echoes.core.audio import EXTENSIONS

    exts = {e.lower() for e in EXTENSIONS}
    for root, dirs, files in os.walk(src, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in exts:
                continue
            found.append(Path(root) / name)
    return found


def output_path(src: Path, out: Path, file: Path, *, suffix: str | None = None) -> Path:
    """Where ``file`` (under ``src``) goes under ``out``; refuses paths that leave ``out``."""
    rel = file.relative_to(src)
    if rel.is_absolute() or ".." in rel.parts:
        raise OutputPathError(f"'{file}' is not inside the source folder")
    dst = out / rel
    if suffix:
        dst = dst.with_suffix(suffix)
    real = dst.resolve()  # follows any link already in OUT_DIR
    if not real.is_relative_to(out):
        raise OutputPathError(f"the output for '{rel}' would be written outside the output folder ('{real}')")
    return dst


def plan(src: Path, out: Path, *, suffix: str | None = None) -> list[Task]:
    """Tasks for every audio file under ``src`` (see :func:`check_roots`, :func:`find_audio`)."""
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for f in find_audio(src):
        dst = output_path(src, out, f, suffix=suffix)
        rel = f.relative_to(src).as_posix()
        if str(dst) in seen:
            raise OutputPathError(
                f"'{seen[str(dst)]}' and '{rel}' would both be written to '{dst.relative_to(out)}'"
            )
        seen[str(dst)] = rel
        try:
            dur = audio_info(f).duration
        except EchoesError:
            dur = 0.0
        tasks.append(Task(rel, str(f), str(dst), dur))
    return tasks


def audio_info(path: str | os.PathLike):
    """:func:`echoes.core.audio.info` (imported on first use)."""
    from echoes.core.audio import info

    return info(path)
