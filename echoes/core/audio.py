"""Audio I/O: load any common file to float32 ``(channels, samples)``, save without clipping.

Loading goes through soundfile (libsndfile: wav, flac, ogg, mp3, aiff, ...). Saving writes to a
temporary file in the destination folder and renames it, so a failure never leaves a partial
file (created with the user's umask), and it refuses to write over any path the caller asks to
protect (the inputs).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import soundfile as sf

from echoes.core.files import publish
from echoes.errors import (
    EmptyAudioError,
    NonFiniteError,
    OutputPathError,
    ParameterError,
    TooLongError,
    TooShortError,
    UnreadableAudioError,
)

log = logging.getLogger(__name__)

MIN_RATE = 8_000
MAX_RATE = 192_000
#: File extensions Echoes reads and writes (through libsndfile).
EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")

_INT_SCALE = {"PCM_S8": 2**7, "PCM_U8": 2**7, "PCM_16": 2**15, "PCM_24": 2**31, "PCM_32": 2**31}


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header. ``duration`` in seconds, ``sample_rate`` in Hz."""

    path: str
    sample_rate: int
    frames: int
    channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def _describe(path: Path) -> str:
    return f"'{path}'"


def info(path: str | os.PathLike) -> AudioInfo:
    """Read a file's header. Raises :class:`UnreadableAudioError` or :class:`EmptyAudioError`."""
    p = Path(path)
    if not p.exists():
        raise UnreadableAudioError(f"{_describe(p)} does not exist")
    if p.is_dir():
        raise UnreadableAudioError(f"{_describe(p)} is a folder, not an audio file")
    if p.stat().st_size == 0:
        raise EmptyAudioError(f"{_describe(p)} is an empty file (0 bytes)")
    try:
        i = sf.info(str(p))
    except Exception as exc:  # libsndfile raises LibsndfileError / RuntimeError / TypeError
        raise UnreadableAudioError(
            f"{_describe(p)} is not a readable audio file (wav, flac, ogg or mp3): {_short(exc)}"
        ) from None
    if not MIN_RATE <= i.samplerate <= MAX_RATE:
        raise UnreadableAudioError(
            f"{_describe(p)} has a sample rate of {i.samplerate} Hz; "
            f"Echoes supports {MIN_RATE} to {MAX_RATE} Hz"
        )
    if i.frames <= 0:
        raise EmptyAudioError(f"{_describe(p)} holds no audio (0 samples)")
    return AudioInfo(str(p), int(i.samplerate), int(i.frames), int(i.channels), i.format, i.subtype)


def _short(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()
    return msg[-1] if msg else type(exc).__name__


def check_audio(
    audio: np.ndarray,
    sample_rate: int,
    *,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
    name: str = "the audio",
) -> None:
    """Validate a ``(channels, samples)`` array: non-empty, finite, within the duration limits."""
    if audio.ndim != 2:
        raise ParameterError(f"expected audio of shape (channels, samples), got {audio.shape}")
    n = audio.shape[-1]
    if n == 0 or audio.shape[0] == 0:
        raise EmptyAudioError(f"{name} holds no audio (0 samples)")
    if not np.all(np.isfinite(audio)):
        raise NonFiniteError(f"{name} contains NaN or infinite samples; the file is corrupt")
    dur = n / sample_rate
    if dur < min_seconds:
        raise TooShortError(
            f"{name} is {dur * 1000:.1f} ms long; at least {min_seconds * 1000:.0f} ms is needed"
        )
    if max_seconds is not None and dur > max_seconds:
        raise TooLongError(
            f"{name} is {dur / 60:.1f} minutes long; the limit here is {max_seconds / 60:.0f} minutes"
        )


def load(
    path: str | os.PathLike,
    *,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
    start: int = 0,
    frames: int = -1,
) -> tuple[np.ndarray, int]:
    """Load an audio file.

    Parameters
    ----------
    path : file to read (wav, flac, ogg, mp3, ...), any rate from 8 kHz to 192 kHz, any channels.
    min_seconds, max_seconds : duration limits in seconds; outside them a named error is raised.
    start, frames : optional excerpt in samples (``frames=-1`` reads to the end).

    Returns
    -------
    audio : float32 array ``(channels, samples)`` in [-1, 1] (float files may exceed it).
    sample_rate : in Hz.
    """
    i = info(path)
    if max_seconds is not None and frames < 0 and i.duration > max_seconds:
        raise TooLongError(
            f"'{path}' is {i.duration / 60:.1f} minutes long; "
            f"the limit here is {max_seconds / 60:.0f} minutes"
        )
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True, start=start, frames=frames)
    except Exception as exc:
        raise UnreadableAudioError(f"'{path}' could not be decoded: {_short(exc)}") from None
    audio = np.ascontiguousarray(data.T)
    check_audio(audio, sr, min_seconds=min_seconds, max_seconds=max_seconds, name=f"'{path}'")
    return audio, int(sr)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Mix ``(channels, samples)`` down to ``(1, samples)`` by averaging; ``(samples,)`` passes."""
    if audio.ndim == 1:
        return audio
    return audio.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32)


def resample(audio: np.ndarray, orig_sr: int, target_sr: int, *, quality: str = "HQ") -> np.ndarray:
    """Resample along the last axis with soxr. Shape ``(..., samples)`` is kept apart from length.

    The output length is ``round(samples * target_sr / orig_sr)``. ``quality``: a soxr quality
    (``"HQ"``, whose pass band ends at 91 % of the lower Nyquist frequency: 10.1 kHz at 22,050 Hz)
    or ``"fft"``: one FFT of the whole signal, a brick wall at the lower Nyquist frequency (the
    band below it untouched; for making training material whose top band must be real, not for
    streaming: the ends wrap around).
    """
    if orig_sr == target_sr:
        return audio.astype(np.float32, copy=False)
    if quality == "fft":
        from math import gcd

        from scipy.fft import next_fast_len
        from scipy.signal import resample as fft_resample

        x = np.asarray(audio, dtype=np.float64)
        n = x.shape[-1]
        m = int(round(n * target_sr / orig_sr))
        g = gcd(int(orig_sr), int(target_sr))
        up, down = int(target_sr) // g, int(orig_sr) // g
        k = next_fast_len(-(-n // down))  # zero-padded to a fast multiple of the ratio's denominator
        pad = np.zeros(x.shape[:-1] + (k * down - n,))
        y = fft_resample(np.concatenate([x, pad], axis=-1), k * up, axis=-1)[..., :m]
        return np.ascontiguousarray(y.astype(np.float32))
    import soxr

    x = np.asarray(audio, dtype=np.float32)
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    out = soxr.resample(flat.T, orig_sr, target_sr, quality=quality)
    out = np.asarray(out, dtype=np.float32).reshape(-1, flat.shape[0]).T
    return np.ascontiguousarray(out.reshape(*lead, out.shape[-1]))


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad the last axis to exactly ``n`` samples."""
    cur = audio.shape[-1]
    if cur == n:
        return audio
    if cur > n:
        return audio[..., :n]
    pad = [(0, 0)] * (audio.ndim - 1) + [(0, n - cur)]
    return np.pad(audio, pad)


def peak_safe(audio: np.ndarray) -> np.ndarray:
    """Scale down only when the peak exceeds 1 (never clips, never boosts)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        log.info("peak %.3f > 1: scaling output down by %.2f dB", peak, 20 * np.log10(peak))
        return (audio / peak).astype(np.float32)
    return audio.astype(np.float32, copy=False)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def format_for(path: str | os.PathLike) -> str:
    """libsndfile major format name for a file extension, e.g. ``'.flac' -> 'FLAC'``."""
    ext = Path(path).suffix.lower()
    table = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3", ".aiff": "AIFF", ".aif": "AIFF"}
    if ext not in table:
        raise OutputPathError(
            f"cannot write '{path}': unknown extension '{ext}' (use {', '.join(table)})"
        )
    return table[ext]


def save(
    path: str | os.PathLike,
    audio: np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
    protect: Iterable[str | os.PathLike] = (),
    overwrite: bool = True,
) -> Path:
    """Write ``(channels, samples)`` or ``(samples,)`` float audio to ``path``.

    The format follows the extension; ``subtype`` (e.g. ``'PCM_16'``, ``'FLOAT'``) defaults to
    libsndfile's default for it. Audio whose peak exceeds 1 is scaled down (never clipped). The
    file is written to a temporary name beside ``path`` and renamed, so no partial file is ever
    left. Paths in ``protect`` (the inputs) are never written; nor is an existing file when
    ``overwrite`` is false.
    """
    out = Path(path)
    for p in protect:
        if _same_file(out, Path(p)):
            raise OutputPathError(f"refusing to overwrite the input '{p}': choose another output path")
    if out.exists() and not overwrite:
        raise OutputPathError(f"'{out}' already exists")
    if out.is_dir():
        raise OutputPathError(f"'{out}' is a folder; give a file name")
    fmt = format_for(out)
    a = np.asarray(audio)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[-1] == 0:
        raise ParameterError(f"cannot save audio of shape {np.shape(audio)}")
    if not np.all(np.isfinite(a)):
        raise NonFiniteError("refusing to save audio with NaN or infinite samples")
    a = peak_safe(a.astype(np.float32, copy=False))
    if subtype is not None and not sf.check_format(fmt, subtype):
        log.info("subtype %s not available for %s; using the default", subtype, fmt)
        subtype = None
    if subtype is None:
        subtype = sf.default_subtype(fmt)
    data: np.ndarray = a.T
    if subtype in ("PCM_16", "PCM_24", "PCM_32"):
        # Our own rounding to integers: float x read from PCM_16 as x = k / 32768 writes back as k.
        scale = _INT_SCALE[subtype]
        dtype = np.int16 if subtype == "PCM_16" else np.int32
        info_max = np.iinfo(dtype).max
        ints = np.round(a.T.astype(np.float64) * scale)
        if subtype == "PCM_24":
            ints = np.round(a.T.astype(np.float64) * 2**23) * 256
        data = np.clip(ints, np.iinfo(dtype).min, info_max).astype(dtype)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise OutputPathError(f"cannot write '{out}': the folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputPathError(f"cannot write '{out}': the folder '{folder}' is not writable")
    fd, tmp = tempfile.mkstemp(prefix=".echoes-", suffix=out.suffix, dir=folder)
    os.close(fd)
    try:
        sf.write(tmp, data, int(sample_rate), format=fmt, subtype=subtype)
        publish(tmp, out)
    except Exception as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputPathError(f"cannot write '{out}': {exc.strerror or exc}") from None
        raise OutputPathError(f"cannot write '{out}': {_short(exc)}") from None
    return out
