"""Variants of a clean recording that must stay clean: lossy codings and other sample rates.

:func:`variant` returns float32 ``(channels, samples)`` audio and its rate (Hz) for one name of
:data:`VARIANTS`: ``as_is``; ``mp3_64`` / ``mp3_128`` / ``mp3_320`` (constant bit rate,
kbit/s; inputs above 48 kHz are first resampled to 48 kHz, the top rate of MPEG-1 layer III);
``ogg`` (Vorbis, quality about 4: 90 to 120 kbit/s); ``sr_R`` (soxr resampling to R Hz).
Codecs run through libsndfile (soundfile), writing one-second blocks: one long write crashes
libvorbis (libsndfile#1095). Decoded lengths may differ from the input's by the codec's
padding; nothing here trims them.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from echoes.core import audio as eaudio
from echoes.errors import ParameterError

#: libsndfile 1.2 maps ``compression_level`` (0..1) to a LAME constant bit rate; measured:
#: 0.0 -> 320, 0.66 -> 128, 0.875 -> 64 kbit/s.
MP3_LEVELS = {"mp3_64": 0.875, "mp3_128": 0.66, "mp3_320": 0.0}
#: Vorbis variable bit rate at this ``compression_level`` (about quality 4).
OGG_LEVEL = 0.6
RATES = (16_000, 22_050, 32_000, 48_000, 96_000)
VARIANTS = ("as_is", *MP3_LEVELS, "ogg", *(f"sr_{r}" for r in RATES))


def _encode(x: np.ndarray, sr: int, fmt: str, subtype: str, **kw) -> tuple[np.ndarray, int]:
    buf = io.BytesIO()
    data = np.ascontiguousarray(np.clip(x, -1.0, 1.0).T)
    with sf.SoundFile(buf, "w", sr, data.shape[1], format=fmt, subtype=subtype, **kw) as fh:
        for i in range(0, data.shape[0], sr):
            fh.write(data[i : i + sr])
    buf.seek(0)
    y, r = sf.read(buf, dtype="float32", always_2d=True)
    return np.ascontiguousarray(y.T), int(r)


def variant(x: np.ndarray, sr: int, name: str) -> tuple[np.ndarray, int]:
    """One variant (see the module docstring) of float ``(channels, samples)`` audio at ``sr`` Hz."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None]
    if name == "as_is":
        return x, sr
    if name.startswith("sr_"):
        rate = int(name[3:])
        return eaudio.resample(x, sr, rate), rate
    if name in MP3_LEVELS:
        if sr > 48_000:
            x, sr = eaudio.resample(x, sr, 48_000), 48_000
        return _encode(x, sr, "MP3", "MPEG_LAYER_III", compression_level=MP3_LEVELS[name], bitrate_mode="CONSTANT")
    if name == "ogg":
        return _encode(x, sr, "OGG", "VORBIS", compression_level=OGG_LEVEL)
    raise ParameterError(f"unknown variant {name!r}: choose one of {', '.join(VARIANTS)}")
