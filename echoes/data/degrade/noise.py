"""Synthetic additive noises of a gramophone disc and its playback.

White noise (the paper's protocol), coloured hiss, crackle, clicks, thumps (once per
revolution), mains hum and turntable rumble. Each is an :class:`AdditiveEffect`: ``make``
returns the noise ``(channels or 1, samples)`` (broadcast over channels) and its drawn
parameters. Noises given an SNR are scaled against the signal path
(:meth:`AdditiveEffect.scale_to_snr`); clicks and thumps are scaled to the signal path's peak,
so they are audible whatever the music's level. Parameters are in physical units (Hz, ms, dB,
rpm): an effect means the same thing at every sample rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from echoes.data.degrade.base import AdditiveEffect
from echoes.data.degrade.dsp import butter_hp, butter_lp, check_range, loguniform, shaped_noise, uniform
from echoes.data.degrade.labels import Label, register


@register(Label.STEADY_NOISE)
class WhiteNoise(AdditiveEffect):
    """White Gaussian noise at ``snr_db`` (the paper's protocol: 0 dB).

    The SNR is exact against the signal path: ``10 log10(sum(s**2) / sum(n**2)) == snr_db``.
    """

    name = "white_noise"

    def __init__(self, snr_db: float | tuple[float, float] = 0.0):
        check_range("snr_db", snr_db, -30, 80)
        self.snr_db = snr_db

    def make(self, state, rng):
        snr = uniform(rng, self.snr_db)
        n = rng.standard_normal(state.shape)
        return self.scale_to_snr(state, n, snr), {"snr_db": snr}


@register(Label.STEADY_NOISE)
class Hiss(AdditiveEffect):
    """Coloured broadband surface hiss.

    Gaussian noise with a spectral tilt of ``tilt_db_oct`` dB per octave around 1 kHz, a
    first- or second-order roll-off at ``lowpass_hz`` (the playback stylus and horn), and a
    slow amplitude modulation at the disc's rotation (``rpm``) of relative depth ``mod_depth``.
    """

    name = "hiss"

    def __init__(
        self,
        snr_db: float | tuple[float, float] = (5.0, 30.0),
        tilt_db_oct: tuple[float, float] = (-4.0, 1.0),
        lowpass_hz: tuple[float, float] = (4000.0, 12000.0),
        mod_depth: tuple[float, float] = (0.0, 0.3),
        rpm: tuple[float, float] = (76.0, 80.0),
    ):
        check_range("snr_db", snr_db, -30, 80)
        self.snr_db, self.tilt, self.lp, self.mod, self.rpm = snr_db, tilt_db_oct, lowpass_hz, mod_depth, rpm

    def make(self, state, rng):
        sr = state.sample_rate
        snr, tilt = uniform(rng, self.snr_db), uniform(rng, self.tilt)
        lp, order = uniform(rng, self.lp), int(rng.integers(1, 3))
        depth, rpm = uniform(rng, self.mod), uniform(rng, self.rpm)

        def gain(f):
            ff = np.maximum(f, 20.0) / 1000.0
            return ff ** (tilt / 6.0206) * butter_lp(f, lp, order) * butter_hp(f, 20.0, 1)

        x = shaped_noise(rng, state.channels, state.n, sr, gain)
        if depth > 0:
            t = np.arange(state.n) / sr
            x = x * (1.0 + depth * np.sin(2 * np.pi * rpm / 60.0 * t + rng.uniform(0, 2 * np.pi)))
        params = {"snr_db": snr, "tilt_db_per_octave": tilt, "lowpass_hz": lp, "lowpass_order": order,
                  "modulation_depth": depth, "rpm": rpm}
        return self.scale_to_snr(state, x, snr), params


@register(Label.IMPULSIVE)
class Crackle(AdditiveEffect):
    """Crackle: dense small impulses (``rate_hz`` per second), log-normal amplitudes."""

    name = "crackle"

    def __init__(self, rate_hz: tuple[float, float] = (20.0, 400.0),
                 snr_db: float | tuple[float, float] = (15.0, 35.0)):
        check_range("snr_db", snr_db, -30, 80)
        self.rate, self.snr_db = rate_hz, snr_db

    def make(self, state, rng):
        sr, n = state.sample_rate, state.n
        rate, snr = loguniform(rng, *self.rate), uniform(rng, self.snr_db)
        count = max(1, int(rng.poisson(rate * n / sr)))
        pos = rng.integers(0, n, count)
        amp = rng.lognormal(0.0, 0.8, count) * rng.choice([-1.0, 1.0], count)
        train = np.zeros(n)
        np.add.at(train, pos, amp)
        # a tiny ringing kernel, 0.05 to 0.3 ms, to give each tick a little body
        klen = max(2, int(round(uniform(rng, (0.05e-3, 0.3e-3)) * sr)))
        k = np.exp(-np.arange(klen) / max(1.0, klen / 3.0)) * np.cos(np.pi * np.arange(klen) * rng.uniform(0.3, 1.0))
        x = np.convolve(train, k)[:n]
        params = {"rate_hz": rate, "count": count, "snr_db": snr, "kernel_samples": klen}
        return self.scale_to_snr(state, x[None, :], snr), params


def _click_shape(kind: str, m: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    t = np.arange(m) / max(1, m - 1)
    if kind == "spike":  # sharp rise, exponential decay
        rise = max(1, m // 8)
        s = np.concatenate([np.linspace(0, 1, rise, endpoint=False), np.exp(-np.arange(m - rise) / max(1, (m - rise) / 4))])
    elif kind == "bipolar":  # one sine period under a Hann window
        s = np.sin(2 * np.pi * t) * np.sin(np.pi * t) ** 0.5
    elif kind == "ring":  # damped sinusoid, 1 to 6 kHz
        f = min(rng.uniform(1000, 6000), 0.45 * sr)
        s = np.sin(2 * np.pi * f * np.arange(m) / sr) * np.exp(-4 * t)
    else:  # "step": near-rectangular with smooth edges
        e = max(1, m // 6)
        s = np.ones(m)
        ramp = np.sin(np.linspace(0, np.pi / 2, e)) ** 2
        s[:e], s[-e:] = ramp, ramp[::-1]
    peak = np.max(np.abs(s))
    return s / peak if peak > 0 else s


@register(Label.IMPULSIVE)
class Clicks(AdditiveEffect):
    """Sparse clicks: ``rate_hz`` per second, each 0.1 to 3 ms, varied shapes and polarity.

    Peak amplitude is ``peak_rel`` (log-uniform) times the signal path's peak (at least
    -20 dBFS), so clicks are audible whatever the music's level.
    """

    name = "clicks"
    SHAPES = ("spike", "bipolar", "ring", "step")

    def __init__(self, rate_hz: tuple[float, float] = (0.5, 10.0),
                 duration_ms: tuple[float, float] = (0.1, 3.0),
                 peak_rel: tuple[float, float] = (0.1, 1.0)):
        check_range("duration_ms", duration_ms, 0.01, 50)
        self.rate, self.dur, self.peak = rate_hz, duration_ms, peak_rel

    def make(self, state, rng):
        sr, n = state.sample_rate, state.n
        _, ref_peak = state.signal_level()
        rate = loguniform(rng, *self.rate)
        count = max(1, int(rng.poisson(rate * n / sr)))
        x = np.zeros(n)
        shapes: dict[str, int] = {s: 0 for s in self.SHAPES}
        for _ in range(count):
            m = max(2, int(round(loguniform(rng, *self.dur) * 1e-3 * sr)))
            kind = self.SHAPES[int(rng.integers(len(self.SHAPES)))]
            shapes[kind] += 1
            s = _click_shape(kind, m, rng, sr) * loguniform(rng, *self.peak) * ref_peak
            s *= rng.choice([-1.0, 1.0])
            p = int(rng.integers(0, max(1, n - m)))
            seg = s[: n - p]
            x[p : p + seg.size] += seg
        return x[None, :], {"rate_hz": rate, "count": count, "shapes": shapes,
                            "duration_ms": list(self.dur), "reference_peak": ref_peak}


@register(Label.IMPULSIVE)
class Thumps(AdditiveEffect):
    """Scratches and thumps: a decaying low-frequency pulse once per revolution.

    At ``rpm`` (78 for shellac discs; early discs ran 70 to 82) a crack or scratch passes the
    stylus every ``60 / rpm`` seconds: a damped sinusoid of 15 to 60 Hz decaying in 15 to 80 ms,
    with per-revolution jitter, often with a click at its onset (``scratch_p``).
    """

    name = "thumps"

    def __init__(self, rpm: tuple[float, float] = (76.0, 80.0), peak_rel: tuple[float, float] = (0.05, 0.6),
                 freq_hz: tuple[float, float] = (15.0, 60.0), decay_ms: tuple[float, float] = (15.0, 80.0),
                 scratch_p: float = 0.6):
        self.rpm, self.peak, self.freq, self.decay, self.scratch_p = rpm, peak_rel, freq_hz, decay_ms, scratch_p

    def make(self, state, rng):
        sr, n = state.sample_rate, state.n
        _, ref_peak = state.signal_level()
        rpm, amp = uniform(rng, self.rpm), loguniform(rng, *self.peak) * ref_peak
        f, tau = uniform(rng, self.freq), uniform(rng, self.decay) * 1e-3
        period = 60.0 / rpm
        m = min(n, int(5 * tau * sr) + 1)
        t = np.arange(m) / sr
        pulse = np.sin(2 * np.pi * f * t) * np.exp(-t / tau) * (1 - np.exp(-t / 0.002))
        pulse /= max(1e-9, np.max(np.abs(pulse)))
        scratch = rng.random() < self.scratch_p
        click = _click_shape("spike", max(2, int(0.0008 * sr)), rng, sr) if scratch else None
        polarity = rng.choice([-1.0, 1.0])
        x = np.zeros(n)
        start = rng.uniform(0, period)
        count = 0
        tt = start
        while tt * sr < n:
            p = int(round((tt + rng.normal(0, 0.002)) * sr))
            if 0 <= p < n:
                a = amp * rng.uniform(0.7, 1.3) * polarity
                seg = pulse[: n - p] * a
                x[p : p + seg.size] += seg
                if click is not None:
                    c = click[: n - p] * a * rng.uniform(0.5, 1.5)
                    x[p : p + c.size] += c
                count += 1
            tt += period
        return x[None, :], {"rpm": rpm, "period_s": period, "count": count, "freq_hz": f,
                            "decay_ms": tau * 1e3, "peak": amp, "scratch": bool(scratch)}


@register(Label.STEADY_NOISE)
class Hum(AdditiveEffect):
    """Mains hum: 50 or 60 Hz (±0.5 %) and 3 to 10 harmonics, slowly drifting level."""

    name = "hum"

    def __init__(self, mains_hz: Sequence[float] = (50.0, 60.0), snr_db: float | tuple[float, float] = (20.0, 45.0),
                 harmonics: tuple[int, int] = (3, 10)):
        check_range("snr_db", snr_db, -30, 80)
        self.mains, self.snr_db, self.harm = tuple(mains_hz), snr_db, harmonics

    def make(self, state, rng):
        sr, n = state.sample_rate, state.n
        f0 = float(self.mains[int(rng.integers(len(self.mains)))]) * (1 + rng.uniform(-0.005, 0.005))
        snr = uniform(rng, self.snr_db)
        K = int(rng.integers(self.harm[0], self.harm[1] + 1))
        slope = rng.uniform(0.5, 2.0)
        odd = rng.random() < 0.4  # rectifier buzz: odd harmonics emphasised
        z1 = np.exp(1j * 2 * np.pi * f0 * np.arange(n) / sr)
        z = np.ones(n, dtype=complex)
        x = np.zeros(n)
        amps = []
        for k in range(1, K + 1):
            z = z * z1
            if k * f0 >= 0.45 * sr:
                break
            a = k ** (-slope) * (2.0 if odd and k % 2 == 1 and k > 1 else 1.0)
            amps.append(a)
            x += a * np.real(z * np.exp(1j * rng.uniform(0, 2 * np.pi)))
        t = np.arange(n) / sr
        x *= 1.0 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
        return self.scale_to_snr(state, x[None, :], snr), {"f0_hz": f0, "harmonics": len(amps),
                                                           "odd_emphasis": bool(odd), "snr_db": snr}


@register(Label.STEADY_NOISE)
class Rumble(AdditiveEffect):
    """Turntable rumble: noise below ``corner_hz`` (10 to 40 Hz)."""

    name = "rumble"

    def __init__(self, corner_hz: tuple[float, float] = (10.0, 40.0), snr_db: float | tuple[float, float] = (15.0, 35.0)):
        check_range("snr_db", snr_db, -30, 80)
        self.corner, self.snr_db = corner_hz, snr_db

    def make(self, state, rng):
        fc, snr = uniform(rng, self.corner), uniform(rng, self.snr_db)
        x = shaped_noise(rng, 1, state.n, state.sample_rate,
                          lambda f: butter_lp(f, fc, 2) * butter_hp(f, 3.0, 1))
        return self.scale_to_snr(state, x, snr), {"corner_hz": fc, "snr_db": snr}
