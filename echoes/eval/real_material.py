"""Real recordings for ``echoes evaluate --real DIR``: find and load them.

DIR is laid out like ``../shared/data/real`` (never committed; see its SOURCES.md):

``clean/dev/``   real clean piano, the development split: methods, models and thresholds are
                 chosen on these (never trained on);
``clean/train/`` real clean piano for training (not evaluated here);
``historic/``    real acoustic-era transfers with no clean reference;
``noise/``       real record/cylinder surface noise (no music).

Every audio file (wav, flac, ogg, mp3, aiff) directly in a folder is one recording, sorted by
name. :func:`load_recording` returns float32 ``(channels, samples)`` at the file's own rate
(Hz), optionally cut to its first ``max_seconds``. Missing folders are empty lists; a missing
DIR is a :class:`echoes.errors.ParameterError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echoes.core import audio as eaudio
from echoes.errors import ParameterError

#: The folders of a real-recordings directory, by role.
FOLDERS = {"dev": "clean/dev", "train": "clean/train", "historic": "historic", "noise": "noise"}


@dataclass(frozen=True)
class Recording:
    """One real recording: ``audio`` float32 ``(channels, samples)`` at ``sample_rate`` Hz."""

    name: str
    path: Path
    audio: np.ndarray
    sample_rate: int

    @property
    def mono(self) -> np.ndarray:
        """The channel mean, float32 ``(samples,)``."""
        return eaudio.to_mono(self.audio).reshape(-1)

    @property
    def seconds(self) -> float:
        return self.audio.shape[-1] / self.sample_rate


def find(real_dir: str | os.PathLike, role: str) -> list[Path]:
    """The audio files of one role (``dev``, ``train``, ``historic``, ``noise``), sorted by name."""
    root = Path(real_dir)
    if not root.is_dir():
        raise ParameterError(f"--real: '{real_dir}' is not a folder (expected clean/dev, historic, noise inside)")
    if role not in FOLDERS:
        raise ParameterError(f"unknown role {role!r}: choose one of {', '.join(FOLDERS)}")
    folder = root / FOLDERS[role]
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in eaudio.EXTENSIONS and p.is_file())


def load_recording(path: str | os.PathLike, *, max_seconds: float | None = None) -> Recording:
    """Load one recording at its own rate, cut to ``max_seconds`` (seconds) when given."""
    x, sr = eaudio.load(path)
    if max_seconds is not None:
        x = x[:, : int(round(max_seconds * sr))]
    return Recording(Path(path).stem, Path(path), np.ascontiguousarray(x, dtype=np.float32), int(sr))


def load_role(real_dir: str | os.PathLike, role: str, *, max_seconds: float | None = None) -> list[Recording]:
    """Every recording of one role, loaded (see :func:`load_recording`)."""
    return [load_recording(p, max_seconds=max_seconds) for p in find(real_dir, role)]
