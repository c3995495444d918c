"""Recorded noise: folders of real noise clips, their train/test splits, and looping.

A noise folder holds audio files (or ``.npy`` with an optional ``noise.json`` giving the
rate); clips are matched to :data:`NOISE_SPLITS` by stem. A clip is read as float64 mono at
the signal's rate, mean removed, unit RMS (cached per path and rate), then looped from random
offsets with equal-power crossfades (:func:`loop_noise`) and scaled to an SNR by
:class:`RecordedNoise`. soundfile is imported only to read audio files (an optional
dependency: ``.npy`` clips need numpy alone).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from echoes.data.degrade.base import AdditiveEffect
from echoes.data.degrade.dsp import check_range, energy, resample_fft, uniform
from echoes.data.degrade.labels import Label, register
from echoes.errors import EchoesError, ParameterError


#: Recorded noise clips (stems, matched with any audio extension or ``.npy``) per split.
#: The test split holds out one surface noise and one mains hum, for a harder test.
NOISE_SPLITS: dict[str, list[str]] = {
    "train": ["vinyl_runoff", "vinyl_dust", "vinyl_hiss", "hum_hyperspace", "static_film"],
    "test": ["vinyl_old", "hum_electrical"],
}

#: Development splits cut from the training clips in time: ``fit`` is the first four fifths of
#: each ``train`` clip, ``dev`` the last fifth. A de-noiser trained with ``fit`` noise can be
#: chosen on ``dev`` noise it never heard, without looking at the ``test`` clips.
NOISE_PORTIONS: dict[str, tuple[str, float, float]] = {"fit": ("train", 0.0, 0.8), "dev": ("train", 0.8, 1.0)}


_AUDIO_EXT = (".flac", ".wav", ".ogg", ".aiff", ".aif", ".mp3")


_noise_cache: dict[tuple[str, int], np.ndarray] = {}


def default_noise_dir(data: str | os.PathLike) -> Path | None:
    """The noise folder that travels with a training pack or corpus: ``DATA/noise`` or
    ``DATA/../noise``, whichever exists first; ``None`` when neither does."""
    data = Path(data)
    for cand in (data / "noise", data.parent / "noise"):
        if cand.is_dir():
            return cand
    return None


def noise_files(noise_dir: str | os.PathLike, split: str = "train") -> list[Path]:
    """Noise clips of ``split`` in ``noise_dir`` (for ``fit``/``dev``, the ``train`` clips, whose
    part :class:`RecordedNoise` cuts; see :data:`NOISE_PORTIONS`).

    Files are matched to :data:`NOISE_SPLITS` by stem (any audio extension, or ``.npy``). A
    folder holding none of the named clips (your own recordings) is used whole for any split;
    ``split='all'`` uses every file.
    """
    d = Path(noise_dir)
    if not d.is_dir():
        raise ParameterError(f"noise folder '{d}' does not exist")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in _AUDIO_EXT + (".npy",) and p.is_file())
    if not files:
        raise ParameterError(f"noise folder '{d}' holds no audio files (.flac, .wav, .ogg, .npy)")
    if split == "all":
        return files
    split = NOISE_PORTIONS[split][0] if split in NOISE_PORTIONS else split
    if split not in NOISE_SPLITS:
        raise ParameterError(f"noise split must be one of {sorted([*NOISE_SPLITS, *NOISE_PORTIONS])} "
                             f"or 'all', got {split!r}")
    known = {s for v in NOISE_SPLITS.values() for s in v}
    if not any(p.stem in known for p in files):
        return files
    chosen = [p for p in files if p.stem in NOISE_SPLITS[split]]
    if not chosen:
        raise ParameterError(f"noise folder '{d}' holds none of the {split} clips {NOISE_SPLITS[split]}")
    return chosen


def _load_noise(path: Path, sr: int) -> np.ndarray:
    """A noise clip as float64 mono ``(samples,)`` at ``sr`` Hz, mean removed, unit RMS."""
    key = (str(path), sr)
    if key in _noise_cache:
        return _noise_cache[key]
    if path.suffix.lower() == ".npy":
        arr = np.load(path)
        meta = path.parent / "noise.json"
        file_sr = int(json.loads(meta.read_text()).get("sample_rate", 22050)) if meta.exists() else 22050
        x = arr.astype(np.float64)
        if arr.dtype == np.int16:
            x /= 32768.0
    else:
        try:
            import soundfile as sf
        except ImportError:  # pragma: no cover
            raise EchoesError(f"reading '{path}' needs the soundfile package (pip install soundfile), "
                              "or give the noise as .npy files") from None
        try:
            x, file_sr = sf.read(str(path), dtype="float64", always_2d=True)
        except Exception as exc:
            raise EchoesError(f"noise file '{path}' is not readable audio: {exc}") from None
        x = x.T
    x = x.reshape(-1, x.shape[-1]).mean(axis=0) if x.ndim > 1 else x
    x = resample_fft(x, int(file_sr), sr)
    x = x - x.mean()
    rms = math.sqrt(energy(x) / max(1, x.size))
    if x.size < sr // 10 or rms <= 0:
        raise EchoesError(f"noise file '{path}' is silent or shorter than 0.1 s")
    x = x / rms
    _noise_cache[key] = x
    return x


def loop_noise(clip: np.ndarray, n: int, rng: np.random.Generator, *, sample_rate: int,
               segment_s: tuple[float, float] = (1.0, 4.0), crossfade_s: float = 0.05) -> tuple[np.ndarray, int]:
    """``n`` samples of ``clip`` looped from random offsets with equal-power crossfades.

    Returns the noise ``(n,)`` and the number of segments used.
    """
    X = max(2, int(crossfade_s * sample_rate))
    L = clip.size
    out = np.zeros(n + X)
    fade_in = np.sin(np.linspace(0, np.pi / 2, X)) ** 1
    fade_out = np.cos(np.linspace(0, np.pi / 2, X))
    pos, segs = 0, 0
    while pos < n:
        seg_len = min(L, max(3 * X, int(uniform(rng, segment_s) * sample_rate)))
        off = int(rng.integers(0, L - seg_len + 1))
        seg = clip[off : off + seg_len].copy()
        if segs > 0:
            seg[:X] *= fade_in
        seg[-X:] *= fade_out
        m = min(seg.size, out.size - pos)
        out[pos : pos + m] += seg[:m]
        pos += seg_len - X
        segs += 1
    return out[:n], segs


@register(Label.STEADY_NOISE)
class RecordedNoise(AdditiveEffect):
    """Real recorded noise from a folder, looped with crossfades at random offsets.

    One clip of ``split`` (see :func:`noise_files`) is chosen per call, resampled to the
    signal's rate, and scaled to ``snr_db``. For the splits of :data:`NOISE_PORTIONS` only that
    part of each clip (in time) is used.
    """

    name = "recorded_noise"

    def __init__(self, noise_dir: str | os.PathLike, *, split: str = "train",
                 snr_db: float | tuple[float, float] = (5.0, 30.0)):
        check_range("snr_db", snr_db, -30, 80)
        self.files = noise_files(noise_dir, split)
        self.split, self.snr_db = split, snr_db
        self.portion = NOISE_PORTIONS[split][1:] if split in NOISE_PORTIONS else (0.0, 1.0)

    def make(self, state, rng):
        path = self.files[int(rng.integers(len(self.files)))]
        snr = uniform(rng, self.snr_db)
        clip = _load_noise(path, state.sample_rate)
        a, b = self.portion
        clip = clip[int(a * clip.size) : int(b * clip.size)]
        x, segs = loop_noise(clip, state.n, rng, sample_rate=state.sample_rate)
        return self.scale_to_snr(state, x[None, :], snr), {"file": path.name, "split": self.split,
                                                           "segments": segs, "snr_db": snr}
