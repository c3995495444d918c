"""Transforms of the music: acoustic-era band-limiting and wow/flutter (linear, applied to the
signal and additive paths alike) and soft clipping (non-linear, mixes the paths for good).

Band-limiting is a zero-phase magnitude response applied in the frequency domain; wow and
flutter are a time warp read with Catmull-Rom interpolation; soft clipping is a biased
``tanh`` with its threshold set below the mixture's peak. Shapes are kept:
``(channels, samples)`` in, the same out.
"""

from __future__ import annotations

import math

import numpy as np

from echoes.data.degrade.base import LinearEffect, NonLinearEffect
from echoes.data.degrade.dsp import butter_hp, butter_lp, loguniform, uniform, zero_phase_filter
from echoes.data.degrade.labels import Label, register


@register(Label.DAMAGE)
class BandLimit(LinearEffect):
    """Acoustic-era band-limiting: high-pass 100-300 Hz, low-pass 3-8 kHz, horn resonances.

    Butterworth-like magnitudes (order 1 to 4, zero phase) and 1 to 3 resonances (300 Hz to
    3 kHz, +3 to +10 dB, 0.1 to 0.4 octave wide).
    """

    name = "band_limit"

    def __init__(self, highpass_hz: tuple[float, float] = (100.0, 300.0),
                 lowpass_hz: tuple[float, float] = (3000.0, 8000.0),
                 resonances: tuple[int, int] = (1, 3)):
        self.hp, self.lp, self.res = highpass_hz, lowpass_hz, resonances

    def draw(self, state, rng):
        nres = int(rng.integers(self.res[0], self.res[1] + 1))
        return {
            "highpass_hz": uniform(rng, self.hp), "highpass_order": int(rng.integers(1, 5)),
            "lowpass_hz": min(uniform(rng, self.lp), 0.45 * state.sample_rate),
            "lowpass_order": int(rng.integers(2, 5)),
            "resonances": [{"freq_hz": loguniform(rng, 300, 3000), "gain_db": rng.uniform(3, 10),
                            "width_oct": rng.uniform(0.1, 0.4)} for _ in range(nres)],
        }

    @staticmethod
    def response(f: np.ndarray, p: dict) -> np.ndarray:
        g = butter_hp(f, p["highpass_hz"], p["highpass_order"]) * butter_lp(f, p["lowpass_hz"], p["lowpass_order"])
        db = np.zeros_like(f)
        lf = np.log2(np.maximum(f, 1.0))
        for r in p["resonances"]:
            db += r["gain_db"] * np.exp(-0.5 * ((lf - math.log2(r["freq_hz"])) / r["width_oct"]) ** 2)
        return g * 10 ** (db / 20)

    def transform(self, x, sr, params):
        return zero_phase_filter(x, sr, lambda f: self.response(f, params))


def _cubic_read(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Catmull-Rom interpolation of ``x (C, N)`` at fractional positions ``pos (N,)``."""
    n = x.shape[-1]
    i = np.floor(pos).astype(np.int64)
    t = pos - i
    idx = [np.clip(i + k, 0, n - 1) for k in (-1, 0, 1, 2)]
    p0, p1, p2, p3 = (x[:, j] for j in idx)
    return p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0)))


@register(Label.NOT_NOISE)
class WowFlutter(LinearEffect):
    """Wow (0.3-1.5 Hz; an off-centre hole at 78 rpm gives 1.3 Hz) and flutter (4-12 Hz).

    Peak speed deviations ``wow_pct`` and ``flutter_pct`` in percent; a time warp read with
    cubic interpolation (linear in the signal, so it acts on both paths alike).
    """

    name = "wow_flutter"

    def __init__(self, wow_hz: tuple[float, float] = (0.3, 1.5), wow_pct: tuple[float, float] = (0.05, 0.5),
                 flutter_hz: tuple[float, float] = (4.0, 12.0), flutter_pct: tuple[float, float] = (0.0, 0.08)):
        self.wf, self.wd, self.ff, self.fd = wow_hz, wow_pct, flutter_hz, flutter_pct

    def draw(self, state, rng):
        return {"wow_hz": uniform(rng, self.wf), "wow_pct": uniform(rng, self.wd),
                "wow_phase": rng.uniform(0, 2 * np.pi), "flutter_hz": uniform(rng, self.ff),
                "flutter_pct": uniform(rng, self.fd), "flutter_phase": rng.uniform(0, 2 * np.pi)}

    def transform(self, x, sr, p):
        t = np.arange(x.shape[-1]) / sr
        disp = np.zeros_like(t)  # displacement in seconds = integral of the speed deviation
        for f, pct, ph in ((p["wow_hz"], p["wow_pct"], p["wow_phase"]), (p["flutter_hz"], p["flutter_pct"], p["flutter_phase"])):
            if pct > 0:
                a = pct / 100.0 / (2 * np.pi * f)
                disp += a * (np.cos(ph) - np.cos(2 * np.pi * f * t + ph))
        return _cubic_read(x, (t + disp) * sr)


@register(Label.NOT_NOISE)
class SoftClip(NonLinearEffect):
    """Soft-clipping distortion: ``y = T tanh((x + b) / T) - T tanh(b / T)``.

    The threshold ``T`` sits ``drive_db`` (2 to 12 dB) below the mixture's peak; the bias ``b``
    (up to 20 % of ``T``) adds even harmonics. Small signals pass almost unchanged.
    """

    name = "soft_clip"

    def __init__(self, drive_db: tuple[float, float] = (2.0, 12.0), asymmetry: tuple[float, float] = (0.0, 0.2)):
        self.drive, self.asym = drive_db, asymmetry

    def draw(self, state, rng):
        return {"drive_db": uniform(rng, self.drive), "asymmetry": uniform(rng, self.asym)}

    def transform(self, x, sr, p):
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak <= 0:
            return x
        T = peak * 10 ** (-p["drive_db"] / 20)
        b = p["asymmetry"] * T
        return T * np.tanh((x + b) / T) - T * np.tanh(b / T)
