"""Reading a corpus folder: its manifest, pieces, renders and clips.

Layout of a corpus folder::

    manifest.json           pianos, pieces, renders (whole pieces) and 5-second clips
    audio/<render>.flac     one whole piece as played by one piano: mono, 44.1 kHz, 16 bit

Splits are :data:`SPLITS`; no piece is in two. :func:`iter_clips` yields float32 mono windows
at any sample rate (resampled on reading; needs soundfile). The manifest is plain JSON
(written by :func:`echoes.data.corpus.build.build_corpus`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from echoes.errors import EchoesError, ParameterError

SPLITS = ("train", "val", "test")
CORPUS_RATE = 44_100
CLIP_SECONDS = 5.0
MANIFEST = "manifest.json"


def load_manifest(corpus_dir: str | os.PathLike) -> dict:
    """The corpus manifest (see :func:`build_corpus`)."""
    p = Path(corpus_dir) / MANIFEST
    if not p.exists():
        raise EchoesError(f"'{corpus_dir}' is not a corpus folder (no {MANIFEST}); build one with "
                          "'python -m echoes data build --out DIR'")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise EchoesError(f"'{p}' is not valid JSON: {exc}") from None


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ParameterError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")


def list_pieces(corpus_dir: str | os.PathLike, split: str) -> list[dict]:
    """Pieces of ``split``: dicts with id, title, composer, kind, source, split."""
    check_split(split)
    return [p for p in load_manifest(corpus_dir)["pieces"] if p["split"] == split]


def list_renders(corpus_dir: str | os.PathLike, split: str, *, piano: str | None = None) -> list[dict]:
    """Whole-piece renders of ``split`` (optionally one piano's)."""
    check_split(split)
    return [r for r in load_manifest(corpus_dir)["renders"]
            if r["split"] == split and (piano is None or r["piano"] == piano)]


def iter_clips(
    corpus_dir: str | os.PathLike,
    split: str,
    *,
    sample_rate: int = 22_050,
    seconds: float = CLIP_SECONDS,
    piano: str | None = None,
    min_rms_dbfs: float | None = None,
) -> Iterator[tuple[str, np.ndarray, dict]]:
    """Yield ``(clip_id, audio, meta)`` for consecutive ``seconds``-long windows of every render
    of ``split`` (in manifest order).

    ``audio`` is float32 mono ``(samples,)`` at ``sample_rate`` Hz with exactly
    ``round(seconds * sample_rate)`` samples (a render's last partial window is dropped).
    ``meta`` holds render, piece, piano, split, ``start_s`` and ``rms_dbfs``. ``piano``
    keeps one piano's renders; ``min_rms_dbfs`` skips quieter windows (None keeps silence too).
    """
    from echoes.core.audio import load, resample  # needs soundfile: packs are read with numpy alone

    if seconds <= 0:
        raise ParameterError(f"seconds must be positive, got {seconds}")
    root = Path(corpus_dir)
    n = int(round(seconds * sample_rate))
    for r in list_renders(root, split, piano=piano):
        audio, sr = load(root / r["file"])
        x = resample(audio.mean(axis=0), sr, sample_rate)
        for j in range(x.size // n):
            seg = np.ascontiguousarray(x[j * n : (j + 1) * n], dtype=np.float32)
            rms_db = 20 * math.log10(max(math.sqrt(float(np.mean(seg.astype(np.float64) ** 2))), 1e-10))
            if min_rms_dbfs is not None and rms_db < min_rms_dbfs:
                continue
            yield f"{r['id']}:{j:04d}", seg, {"render": r["id"], "piece": r["piece"], "piano": r["piano"],
                                              "split": r["split"], "start_s": j * seconds,
                                              "rms_dbfs": round(rms_db, 1)}
