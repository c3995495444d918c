"""Real clean recordings as training clips, and packs of them for the GPU machine.

:func:`real_clips` cuts every recording of one folder (``DIR/clean/train`` by default, laid
out like ``../shared/data/real``) into non-overlapping 5-s clips at 22,050 Hz, mono (channel
mean), keeping the clips with sound (RMS at least ``min_rms_dbfs``): float32
``(n, 110250)`` with ids ``NAME@START_S``. :func:`pack_real` writes them as a training pack
(:mod:`echoes.data.corpus.packs` format, split ``train``, piano ``real``) in Ogg Vorbis or FLAC
shards, so a pack of the 45 minutes of real training piano travels in about 20 MB.
The development split (``clean/dev``) is for choosing, never for training: refused here.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from echoes.core import audio as eaudio
from echoes.data.corpus.packs import PACK_RATE, PACK_VERSION
from echoes.errors import ParameterError

CLIP_SECONDS = 5.0
FOLDERS = {"train": "clean/train"}


def real_clips(real_dir: str | os.PathLike, *, role: str = "train", seconds: float = CLIP_SECONDS,
               min_rms_dbfs: float = -50.0, quality: str = "HQ",
               rate: int = PACK_RATE) -> tuple[list[str], np.ndarray]:
    """Clips of the real recordings of ``role`` (see the module docstring): ids and float32 ``(n, samples)``
    at ``rate`` Hz; ``quality``: the resampler (:func:`echoes.core.audio.resample`)."""
    if role not in FOLDERS:
        raise ParameterError(f"real recordings of role {role!r} are not for training (only {', '.join(FOLDERS)})")
    folder = Path(real_dir) / FOLDERS[role]
    if not folder.is_dir():
        raise ParameterError(f"no folder '{folder}' (expected real recordings laid out like ../shared/data/real)")
    n = int(round(seconds * rate))
    ids, clips = [], []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in eaudio.EXTENSIONS):
        x, sr = eaudio.load(path)
        mono = eaudio.resample(eaudio.to_mono(x), sr, rate, quality=quality).reshape(-1)
        for k in range(mono.size // n):
            c = mono[k * n : (k + 1) * n]
            if 10 * np.log10(np.mean(c.astype(np.float64) ** 2) + 1e-20) >= min_rms_dbfs:
                ids.append(f"{path.stem}@{k * seconds:g}")
                clips.append(c.astype(np.float32))
    return ids, (np.stack(clips) if clips else np.zeros((0, n), np.float32))


def pack_real(real_dir: str | os.PathLike, out: str | os.PathLike, *, codec: str = "ogg",
              shard_clips: int = 128, quality: str = "HQ", max_clips: int | None = None,
              rate: int = PACK_RATE) -> dict:
    """Write the training clips of :func:`real_clips` as a pack in ``out``; returns its manifest.
    ``max_clips`` keeps that many, evenly spaced over the list (every recording keeps its share)."""
    import soundfile as sf

    if codec not in ("ogg", "flac"):
        raise ParameterError(f"codec must be ogg or flac, got {codec!r}")
    ids, clips = real_clips(real_dir, quality=quality, rate=rate)
    if max_clips is not None and len(ids) > max_clips:
        keep = np.unique(np.linspace(0, len(ids) - 1, max_clips).round().astype(int))
        ids, clips = [ids[i] for i in keep], clips[keep]
    root = Path(out)
    (root / "clean").mkdir(parents=True, exist_ok=True)
    entries = []
    n = clips.shape[-1] if clips.size else int(CLIP_SECONDS * rate)
    for s in range(0, len(ids), shard_clips):
        name = f"train_{s // shard_clips:03d}.{codec}"
        block = np.clip(clips[s : s + shard_clips].reshape(-1), -1.0, 1.0)
        buf = io.BytesIO()
        fmt, sub = ("OGG", "VORBIS") if codec == "ogg" else ("FLAC", "PCM_16")
        with sf.SoundFile(buf, "w", rate, 1, format=fmt, subtype=sub,
                          **({"compression_level": 0.2} if codec == "ogg" else {})) as fh:
            for i in range(0, block.size, rate):  # one long Vorbis write crashes libvorbis
                fh.write(block[i : i + rate])
        (root / "clean" / name).write_bytes(buf.getvalue())
        back, _ = sf.read(root / "clean" / name, dtype="float32")
        if back.size != block.size:
            raise ParameterError(f"{name}: decoded {back.size} samples, wrote {block.size}")
        for row, cid in enumerate(ids[s : s + shard_clips]):
            piece = cid.rsplit("@", 1)[0]
            entries.append({"id": f"real:{cid}", "piece": piece, "piano": "real", "split": "train",
                            "shard": name, "row": row})
    manifest = {"version": PACK_VERSION, "rate": rate, "clip_samples": n, "clips": entries,
                "source": f"real recordings: {Path(real_dir) / FOLDERS['train']}", "codec": codec,
                "resample_quality": quality,
                "totals": {"train": {"clips": len(entries)}}}
    (root / "pack.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
