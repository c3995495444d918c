"""Playback tuning: the speed a disc was played at, from the piano's tuning, and its correction.

A disc played at the wrong speed shifts every note by the same ratio; a piano is tuned to
A4 = 440 Hz here, so the offset of its spectral peaks from the equal-tempered grid tells how
far the playback speed is off (:func:`estimate_speed`).

``cents``: the tuning offset from that grid (positive: sharp, played too fast), known only
modulo one semitone, so estimates are limited to ±:data:`MAX_CENTS` (ratios 0.9715–1.0293) and
flagged ambiguous beyond ±:data:`AMBIGUOUS_CENTS`. ``speed_ratio = 2 ** (cents / 1200)`` =
playback / recording speed; ``playback_rpm = 78.26 * speed_ratio`` (and ``recording_rpm =
78.26 / speed_ratio``). A piano tuned away from 440 Hz reads as a speed error too.

:func:`correct_speed` resamples float ``(..., samples)`` audio by ``speed_ratio``: the output is
``round(samples * ratio)`` long at the same sample rate (a fast transfer gets longer and lower).
Details and measurements: docs/ARCHIVIST.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import soxr

from echoes.errors import ParameterError

log = logging.getLogger(__name__)

#: Nominal speed of a "78" (rpm), the 60 Hz standard (78.26; 77.92 in 50 Hz countries).
NOMINAL_RPM = 78.26
#: Reference pitch of A4 (Hz).
A4_HZ = 440.0
#: Largest offset that can be told apart from the neighbouring semitone (cents).
MAX_CENTS = 50.0
#: Beyond this offset (cents) the estimate is flagged ambiguous (a semitone away is as likely).
AMBIGUOUS_CENTS = 40.0
#: The range of ratios accepted by :func:`correct_speed`.
MIN_RATIO, MAX_RATIO = 0.5, 2.0


@dataclass
class SpeedEstimate:
    """Result of :func:`estimate_speed`. ``confidence`` is 0..1 (length of the weighted mean
    vector of the peak offsets folded onto a circle; near 0: no clear tuning)."""

    cents: float
    speed_ratio: float
    confidence: float
    peaks: int

    @property
    def playback_rpm(self) -> float:
        return NOMINAL_RPM * self.speed_ratio

    @property
    def recording_rpm(self) -> float:
        return NOMINAL_RPM / self.speed_ratio

    def to_dict(self) -> dict:
        return {
            "cents": round(self.cents, 2),
            "speed_ratio": round(self.speed_ratio, 5),
            "playback_rpm": round(self.playback_rpm, 2),
            "recording_rpm": round(self.recording_rpm, 2),
            "confidence": round(self.confidence, 3),
            "peaks": self.peaks,
            "ambiguous": self.ambiguous,
        }

    @property
    def ambiguous(self) -> bool:
        """True beyond ±40 cents: the true offset may be the neighbouring semitone (±100 cents away)."""
        return abs(self.cents) > AMBIGUOUS_CENTS


def ratio_from_cents(cents: float) -> float:
    """``2 ** (cents / 1200)``."""
    return float(2.0 ** (cents / 1200.0))


def cents_from_ratio(ratio: float) -> float:
    """``1200 * log2(ratio)``."""
    return float(1200.0 * np.log2(ratio))


def estimate_speed(
    audio: np.ndarray,
    sample_rate: int,
    *,
    fmin: float = 60.0,
    fmax: float = 2000.0,
    n_fft: int | None = None,
    max_seconds: float = 120.0,
) -> SpeedEstimate:
    """Estimate the tuning offset (cents, within ±50) and the speed ratio it implies.

    Spectral peaks between ``fmin`` and ``fmax`` Hz of every STFT frame (about 0.37 s Hann
    windows, frequency refined by parabolic interpolation on the log magnitude) are folded onto
    one semitone of the A4 = 440 Hz grid; the offset is the circular mean of the folded
    offsets, weighted by peak magnitude (loud, stable partials count most).

    Parameters
    ----------
    audio : float array, ``(samples,)`` or ``(channels, samples)`` (mixed to mono).
    sample_rate : Hz.
    fmin, fmax : band searched for peaks, Hz. The default stops at 2 kHz, where piano
        partials are still close to harmonic (stretch tuning and inharmonicity sharpen the top).
    n_fft : STFT length in samples (default: the power of two nearest 0.37 s).
    max_seconds : only the first this-many seconds are used (the estimate settles well before).
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1 or x.size == 0:
        raise ParameterError("estimate_speed needs a non-empty (samples,) or (channels, samples) array")
    if not 0 < fmin < fmax:
        raise ParameterError(f"need 0 < fmin < fmax, got {fmin}, {fmax}")
    x = x[: int(max_seconds * sample_rate)].astype(np.float64)
    if n_fft is None:
        n_fft = int(2 ** round(np.log2(0.37 * sample_rate)))
    hop = n_fft // 4
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    nfr = 1 + (x.size - n_fft) // hop
    win = np.hanning(n_fft)
    frames = np.lib.stride_tricks.as_strided(x, (nfr, n_fft), (x.strides[0] * hop, x.strides[0]))
    mag = np.abs(np.fft.rfft(frames * win, axis=1))
    lo = max(2, int(np.floor(fmin * n_fft / sample_rate)))
    hi = min(mag.shape[1] - 2, int(np.ceil(fmax * n_fft / sample_rate)))
    if hi <= lo:
        return SpeedEstimate(0.0, 1.0, 0.0, 0)
    logm = np.log(mag + 1e-12)
    c = mag[:, lo:hi]
    left, right = mag[:, lo - 1 : hi - 1], mag[:, lo + 1 : hi + 1]
    frame_max = mag.max(axis=1, keepdims=True)
    is_peak = (c > left) & (c >= right) & (c > frame_max * 10 ** (-40 / 20)) & (frame_max > 1e-6)
    fi, bi = np.nonzero(is_peak)
    if fi.size == 0:
        return SpeedEstimate(0.0, 1.0, 0.0, 0)
    k = bi + lo
    a, b, cc = logm[fi, k - 1], logm[fi, k], logm[fi, k + 1]
    den = a - 2 * b + cc
    delta = np.where(np.abs(den) > 1e-12, 0.5 * (a - cc) / np.where(den == 0, 1, den), 0.0)
    delta = np.clip(delta, -0.5, 0.5)
    freq = (k + delta) * sample_rate / n_fft
    weight = mag[fi, k]
    semis = 12.0 * np.log2(freq / A4_HZ)
    ang = 2 * np.pi * semis  # folded onto one semitone
    z = np.sum(weight * np.exp(1j * ang)) / max(np.sum(weight), 1e-30)
    cents = float(np.angle(z) / (2 * np.pi) * 100.0)
    cents = float(np.clip(cents, -MAX_CENTS, MAX_CENTS))
    est = SpeedEstimate(cents, ratio_from_cents(cents), float(np.abs(z)), int(fi.size))
    log.info("tuning offset %+.1f cents (speed ratio %.4f, %.2f rpm), confidence %.2f",
             est.cents, est.speed_ratio, est.playback_rpm, est.confidence)
    if est.ambiguous:
        log.warning("tuning offset %+.1f cents is near the ±50 cent limit: the speed may as well be %+.1f cents "
                    "(the next semitone); check by ear", est.cents, est.cents - 100 * np.sign(est.cents))
    return est


def parse_speed(value: str | float | None) -> str | float | None:
    """``None``/``"none"``/``"off"``: nothing; ``"estimate"``: report only; ``"auto"``: estimate
    and correct; a number: the speed ratio to correct (playback speed / recording speed)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        r = float(value)
    else:
        s = str(value).strip().lower()
        if s in ("", "none", "off"):
            return None
        if s in ("auto", "estimate"):
            return s
        try:
            r = float(s)
        except ValueError:
            raise ParameterError(f"--speed must be auto, estimate, none or a ratio such as 1.02, not '{value}'") from None
    if not (MIN_RATIO <= r <= MAX_RATIO) or not np.isfinite(r):
        raise ParameterError(f"speed ratio must be between {MIN_RATIO} and {MAX_RATIO}, not {value}")
    return r


def correct_speed(audio: np.ndarray, sample_rate: int, ratio: float) -> np.ndarray:
    """Undo a playback speed error of ``ratio`` (playback / recording speed).

    Resamples so the output, played at ``sample_rate``, is ``ratio`` times as long and
    ``1200 * log2(ratio)`` cents lower. Shape ``(..., samples)`` is kept apart from the length
    (``round(samples * ratio)``).
    """
    r = float(ratio)
    if not (MIN_RATIO <= r <= MAX_RATIO):
        raise ParameterError(f"speed ratio must be between {MIN_RATIO} and {MAX_RATIO}, not {ratio}")
    x = np.asarray(audio, dtype=np.float32)
    if r == 1.0:
        return x.copy()

    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    y = soxr.resample(np.ascontiguousarray(flat.T), float(sample_rate), float(sample_rate) * r, quality="HQ")
    y = np.asarray(y, dtype=np.float32).reshape(-1, flat.shape[0]).T
    n = round(x.shape[-1] * r)
    if y.shape[-1] != n:
        y = y[:, :n] if y.shape[-1] > n else np.pad(y, ((0, 0), (0, n - y.shape[-1])))
    return np.ascontiguousarray(y.reshape(*lead, n))
