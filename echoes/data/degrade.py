"""Gramophone degradation simulator: composable effects with exact ground truth.

Clean piano goes in; a degraded copy comes out with a record of what was done, so that
training targets and metrics are exact. Effects are small classes over a common base
(:class:`Effect`) that checks shapes in and out; combinators (:class:`Chain`, :class:`Maybe`,
:class:`OneOf`, :class:`Shuffle`) build random chains; named presets (:data:`PRESETS`) give
the chains used for training and evaluation.

Signals
-------
Time-domain audio is float ``(samples,)`` or ``(channels, samples)`` at any rate in Hz;
every parameter is in physical units (Hz, milliseconds, dB, revolutions per minute), so an
effect means the same thing at 22,050 Hz and at 44,100 Hz.

Internally the simulator carries two paths (both ``(channels, samples)``, float64):

* the **signal path**: the clean input after the *linear* effects that act on the music
  (band-limiting, wow and flutter);
* the **additive path**: the sum of all additive noises (hiss, crackle, clicks, thumps, hum,
  rumble, recorded noise, white noise), passed through the same linear effects when they come
  after the noise (wow on a disc warps its surface noise as well as the music).

While every effect is additive or linear, ``degraded == reference + additive`` holds, where
``reference`` is the signal path; when every effect is additive, ``reference`` is the clean
input and ``degraded == clean + noise`` holds exactly (in the output dtype). A non-linear effect
(soft clipping) mixes the two paths for good, and then no decomposition is reported.

Dropouts and level drops are applied last, whatever their place in the chain, so that the gap
mask marks exactly the samples set to zero in the output.

What "noisy" means
------------------
The classifier's label is :func:`is_noisy`: a clip is *noisy* when its degradation record
shows any of

* additive noise at an SNR below :data:`NOISY_SNR_DB` (30 dB) relative to the signal path;
* impulsive noise (clicks, crackle, thumps/scratches: audible by construction);
* acoustic-era band-limiting;
* dropouts (zeroed spans) or level drops of 30 dB or more.

Wow/flutter and soft clipping alone do not make a clip noisy (a de-noiser does not undo them);
clean audio (no effect) is not noisy. The ``mild`` preset is noisy by this definition (its hiss
is at 20 to 29 dB SNR).

Dependencies: numpy only (filters are applied in the frequency domain); soundfile is imported
lazily to read recorded noise files (``.npy`` noise files need numpy alone).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from echoes.errors import EchoesError, EmptyAudioError, NonFiniteError, ParameterError

log = logging.getLogger(__name__)

#: Preset names accepted by :func:`degrade` and :func:`build_preset`.
PRESETS = ("paper", "gramophone", "clicks", "hiss", "gaps", "mild")

#: Below this SNR (dB) additive noise makes a clip "noisy" (see :func:`is_noisy`).
NOISY_SNR_DB = 30.0

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

#: Effect names counted as impulsive noise by :func:`is_noisy`.
IMPULSIVE = ("clicks", "crackle", "thumps")

_AUDIO_EXT = (".flac", ".wav", ".ogg", ".aiff", ".aif", ".mp3")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (fast FFT sizes)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _energy(x: np.ndarray) -> float:
    return float(np.dot(x.ravel().astype(np.float64), x.ravel().astype(np.float64)))


def _db(ratio: float) -> float:
    return 10.0 * math.log10(ratio)


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _uniform(rng: np.random.Generator, r: float | tuple[float, float]) -> float:
    if isinstance(r, (int, float)):
        return float(r)
    lo, hi = r
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def _check_range(name: str, r: float | tuple[float, float], lo: float, hi: float) -> None:
    vals = (r,) if isinstance(r, (int, float)) else tuple(r)
    if len(vals) not in (1, 2) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
        raise ParameterError(f"{name} must be a number or a (low, high) pair, got {r!r}")
    if any(v < lo or v > hi for v in vals) or (len(vals) == 2 and vals[0] > vals[1]):
        raise ParameterError(f"{name} must lie in [{lo}, {hi}] (low <= high), got {r!r}")


def _shaped_noise(
    rng: np.random.Generator, channels: int, n: int, sr: int, gain: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Gaussian noise ``(channels, n)`` with magnitude spectrum ``gain(f_hz)``, unit RMS."""
    L = _fast_len(n)
    f = np.fft.rfftfreq(L, 1.0 / sr)
    g = gain(f)
    spec = rng.standard_normal((channels, f.size)) + 1j * rng.standard_normal((channels, f.size))
    x = np.fft.irfft(spec * g, L)[:, :n]
    rms = math.sqrt(_energy(x) / x.size) if x.size else 0.0
    return x / rms if rms > 0 else x


def _filter(x: np.ndarray, sr: int, gain: Callable[[np.ndarray], np.ndarray], pad_s: float = 0.1) -> np.ndarray:
    """Zero-phase filter along the last axis with magnitude response ``gain(f_hz)``.

    Zero padding of ``pad_s`` seconds keeps the circular convolution linear for responses
    shorter than that.
    """
    n = x.shape[-1]
    L = _fast_len(n + int(pad_s * sr))
    f = np.fft.rfftfreq(L, 1.0 / sr)
    return np.fft.irfft(np.fft.rfft(x, L) * gain(f), L)[..., :n]


def _butter_lp(f: np.ndarray, fc: float, order: float) -> np.ndarray:
    return 1.0 / np.sqrt(1.0 + (f / fc) ** (2 * order))


def _butter_hp(f: np.ndarray, fc: float, order: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        r = np.where(f > 0, fc / np.maximum(f, 1e-12), np.inf)
    return 1.0 / np.sqrt(1.0 + r ** (2 * order))


def _resample_fft(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling of ``(samples,)`` with numpy's FFT (for short noise clips)."""
    if orig_sr == target_sr:
        return x
    n = x.shape[-1]
    m = int(round(n * target_sr / orig_sr))
    X = np.fft.rfft(x)
    k = m // 2 + 1
    Y = np.zeros(k, dtype=complex)
    c = min(k, X.size)
    Y[:c] = X[:c]
    return np.fft.irfft(Y, m) * (m / n)


def add_noise_at_snr(
    clean: np.ndarray, noise: np.ndarray, snr_db: float
) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``noise`` so that ``clean`` over it has ``snr_db`` dB, and add it.

    Parameters
    ----------
    clean : signal, any shape (``(samples,)`` or ``(channels, samples)``).
    noise : same shape as ``clean``; only its shape of spectrum and envelope matter.
    snr_db : wanted ratio ``10 log10(sum(clean**2) / sum(scaled_noise**2))`` in dB.

    Returns
    -------
    noisy : ``clean + scaled_noise``, in ``clean``'s dtype.
    scaled_noise : the noise as added (same dtype), so ``clean + scaled_noise == noisy``.

    Raises
    ------
    ParameterError : shapes differ, the SNR is not finite, or ``noise`` is silent.
    EmptyAudioError : ``clean`` is silent (an SNR is then undefined).
    """
    clean = np.asarray(clean)
    noise = np.asarray(noise)
    if clean.shape != noise.shape:
        raise ParameterError(f"clean {clean.shape} and noise {noise.shape} must have the same shape")
    if not math.isfinite(float(snr_db)):
        raise ParameterError(f"snr_db must be finite, got {snr_db}")
    es, en = _energy(clean), _energy(noise)
    if es <= 0:
        raise EmptyAudioError("the clean signal is silent: an SNR is undefined")
    if en <= 0:
        raise ParameterError("the noise is silent: it cannot be scaled to an SNR")
    dtype = clean.dtype if np.issubdtype(clean.dtype, np.floating) else np.float32
    scale = math.sqrt(es / (en * 10.0 ** (snr_db / 10.0)))
    scaled = (noise.astype(np.float64) * scale).astype(dtype)
    return (clean.astype(dtype) + scaled).astype(dtype), scaled


def measure_snr(clean: np.ndarray, noise: np.ndarray) -> float:
    """``10 log10(sum(clean**2) / sum(noise**2))`` in dB (``inf`` for silent noise)."""
    en = _energy(noise)
    es = _energy(clean)
    if en <= 0:
        return math.inf
    if es <= 0:
        return -math.inf
    return _db(es / en)


# --------------------------------------------------------------------------------------------
# state and base classes
# --------------------------------------------------------------------------------------------


class DegradeState:
    """What flows through a chain: the signal and additive paths, and the record.

    ``signal`` and ``noise`` are float64 ``(channels, samples)``; ``noise`` is ``None`` until an
    additive effect acts. ``exact`` turns false when a non-linear effect mixes the paths.
    """

    def __init__(self, audio: np.ndarray, sample_rate: int):
        self.sample_rate = int(sample_rate)
        self.signal = np.asarray(audio, dtype=np.float64)
        self.noise: np.ndarray | None = None
        self.exact = True  # degraded == signal + noise
        self.transformed = False  # a linear effect changed the signal path
        self.effects: list[dict] = []
        self.gaps: list[tuple[int, int]] = []  # zeroed spans [start, stop) in samples
        self.drops: list[tuple[int, int, float, int]] = []  # (start, stop, gain_db, ramp)

    @property
    def shape(self) -> tuple[int, int]:
        return self.signal.shape  # type: ignore[return-value]

    @property
    def channels(self) -> int:
        return self.signal.shape[0]

    @property
    def n(self) -> int:
        return self.signal.shape[1]

    def mix(self) -> np.ndarray:
        return self.signal if self.noise is None else self.signal + self.noise

    def signal_level(self) -> tuple[float, float]:
        """RMS and peak of the signal path (floors for silence: -40 dBFS RMS, -20 dBFS peak)."""
        rms = math.sqrt(_energy(self.signal) / max(1, self.signal.size))
        peak = float(np.max(np.abs(self.signal))) if self.signal.size else 0.0
        return (rms if rms > 1e-6 else 0.01), (peak if peak > 1e-5 else 0.1)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return round(f, 6) if math.isfinite(f) else None
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


class Effect:
    """Base of every effect and combinator.

    Calling an effect on a :class:`DegradeState` with a random generator applies it and checks
    that the state's shape is kept. Subclasses implement :meth:`process`. Use
    :meth:`apply` to run one effect (or a chain) on an array.
    """

    name = "effect"

    def __call__(self, state: DegradeState, rng: np.random.Generator) -> None:
        shape = state.shape
        if state.signal.ndim != 2:
            raise ParameterError(f"{self.name}: expected (channels, samples), got {state.signal.shape}")
        self.process(state, rng)
        if state.shape != shape or (state.noise is not None and state.noise.shape != shape):
            raise RuntimeError(f"effect {self.name} changed the shape {shape} -> {state.shape}")

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:  # pragma: no cover
        raise NotImplementedError

    def apply(
        self, audio: np.ndarray, sample_rate: int, *, seed: int | None = None
    ) -> tuple[np.ndarray, dict]:
        """Run this effect on ``audio`` like :func:`degrade` runs a preset."""
        return degrade(audio, sample_rate, preset=self, seed=seed)

    def _record(self, state: DegradeState, params: dict) -> None:
        state.effects.append({"name": self.name, "params": _jsonable(params)})

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AdditiveEffect(Effect):
    """An effect that adds a noise; :meth:`make` returns it ``(channels, samples)``."""

    def make(self, state: DegradeState, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        raise NotImplementedError  # pragma: no cover

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        noise, params = self.make(state, rng)
        noise = np.broadcast_to(noise, state.shape)
        state.noise = np.array(noise, dtype=np.float64) if state.noise is None else state.noise + noise
        self._record(state, params)

    @staticmethod
    def scale_to_snr(state: DegradeState, noise: np.ndarray, snr_db: float) -> np.ndarray:
        """Scale ``noise`` to ``snr_db`` against the signal path (against -40 dBFS RMS if silent)."""
        en = _energy(noise)
        if en <= 0:
            return noise
        es = _energy(state.signal)
        if es <= 1e-12 * state.signal.size:
            es = (0.01**2) * state.signal.size
        return noise * math.sqrt(es / (en * 10.0 ** (snr_db / 10.0)))


class LinearEffect(Effect):
    """A linear, signal-independent transform (filter, time warp), applied to both paths."""

    def draw(self, state: DegradeState, rng: np.random.Generator) -> dict:
        raise NotImplementedError  # pragma: no cover

    def transform(self, x: np.ndarray, sr: int, params: dict) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        params = self.draw(state, rng)
        state.signal = self.transform(state.signal, state.sample_rate, params)
        if state.noise is not None:
            state.noise = self.transform(state.noise, state.sample_rate, params)
        state.transformed = True
        self._record(state, params)


class NonLinearEffect(Effect):
    """A transform of the mixture; the signal/noise decomposition is lost after it."""

    def draw(self, state: DegradeState, rng: np.random.Generator) -> dict:
        raise NotImplementedError  # pragma: no cover

    def transform(self, x: np.ndarray, sr: int, params: dict) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        params = self.draw(state, rng)
        state.signal = self.transform(state.mix(), state.sample_rate, params)
        state.noise = None
        state.exact = False
        state.transformed = True
        self._record(state, params)


# --------------------------------------------------------------------------------------------
# combinators
# --------------------------------------------------------------------------------------------


class Chain(Effect):
    """Apply effects in order."""

    name = "chain"

    def __init__(self, effects: Sequence[Effect]):
        self.effects = list(effects)
        for e in self.effects:
            if not isinstance(e, Effect):
                raise ParameterError(f"Chain takes effects, got {e!r}")

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        for e in self.effects:
            e(state, rng)

    def __repr__(self) -> str:
        return f"Chain({self.effects!r})"


class Maybe(Effect):
    """Apply ``effect`` with probability ``p``."""

    name = "maybe"

    def __init__(self, effect: Effect, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ParameterError(f"Maybe: p must lie in [0, 1], got {p}")
        self.effect, self.p = effect, float(p)

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        if rng.random() < self.p:
            self.effect(state, rng)

    def __repr__(self) -> str:
        return f"Maybe({self.effect!r}, p={self.p})"


class OneOf(Effect):
    """Apply one of ``effects``, chosen with ``weights`` (uniform by default)."""

    name = "one_of"

    def __init__(self, effects: Sequence[Effect], weights: Sequence[float] | None = None):
        self.effects = list(effects)
        if not self.effects:
            raise ParameterError("OneOf needs at least one effect")
        w = np.ones(len(self.effects)) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (len(self.effects),) or np.any(w < 0) or w.sum() <= 0:
            raise ParameterError("OneOf: weights must be non-negative, one per effect, not all zero")
        self.weights = w / w.sum()

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        self.effects[int(rng.choice(len(self.effects), p=self.weights))](state, rng)

    def __repr__(self) -> str:
        return f"OneOf({self.effects!r})"


class Shuffle(Effect):
    """Apply all ``effects`` in a random order."""

    name = "shuffle"

    def __init__(self, effects: Sequence[Effect]):
        self.effects = list(effects)

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        for i in rng.permutation(len(self.effects)):
            self.effects[int(i)](state, rng)

    def __repr__(self) -> str:
        return f"Shuffle({self.effects!r})"


# --------------------------------------------------------------------------------------------
# additive effects
# --------------------------------------------------------------------------------------------


class WhiteNoise(AdditiveEffect):
    """White Gaussian noise at ``snr_db`` (the paper's protocol: 0 dB).

    The SNR is exact against the signal path: ``10 log10(sum(s**2) / sum(n**2)) == snr_db``.
    """

    name = "white_noise"

    def __init__(self, snr_db: float | tuple[float, float] = 0.0):
        _check_range("snr_db", snr_db, -30, 80)
        self.snr_db = snr_db

    def make(self, state, rng):
        snr = _uniform(rng, self.snr_db)
        n = rng.standard_normal(state.shape)
        return self.scale_to_snr(state, n, snr), {"snr_db": snr}


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
        _check_range("snr_db", snr_db, -30, 80)
        self.snr_db, self.tilt, self.lp, self.mod, self.rpm = snr_db, tilt_db_oct, lowpass_hz, mod_depth, rpm

    def make(self, state, rng):
        sr = state.sample_rate
        snr, tilt = _uniform(rng, self.snr_db), _uniform(rng, self.tilt)
        lp, order = _uniform(rng, self.lp), int(rng.integers(1, 3))
        depth, rpm = _uniform(rng, self.mod), _uniform(rng, self.rpm)

        def gain(f):
            ff = np.maximum(f, 20.0) / 1000.0
            return ff ** (tilt / 6.0206) * _butter_lp(f, lp, order) * _butter_hp(f, 20.0, 1)

        x = _shaped_noise(rng, state.channels, state.n, sr, gain)
        if depth > 0:
            t = np.arange(state.n) / sr
            x = x * (1.0 + depth * np.sin(2 * np.pi * rpm / 60.0 * t + rng.uniform(0, 2 * np.pi)))
        params = {"snr_db": snr, "tilt_db_per_octave": tilt, "lowpass_hz": lp, "lowpass_order": order,
                  "modulation_depth": depth, "rpm": rpm}
        return self.scale_to_snr(state, x, snr), params


class Crackle(AdditiveEffect):
    """Crackle: dense small impulses (``rate_hz`` per second), log-normal amplitudes."""

    name = "crackle"

    def __init__(self, rate_hz: tuple[float, float] = (20.0, 400.0),
                 snr_db: float | tuple[float, float] = (15.0, 35.0)):
        _check_range("snr_db", snr_db, -30, 80)
        self.rate, self.snr_db = rate_hz, snr_db

    def make(self, state, rng):
        sr, n = state.sample_rate, state.n
        rate, snr = _loguniform(rng, *self.rate), _uniform(rng, self.snr_db)
        count = max(1, int(rng.poisson(rate * n / sr)))
        pos = rng.integers(0, n, count)
        amp = rng.lognormal(0.0, 0.8, count) * rng.choice([-1.0, 1.0], count)
        train = np.zeros(n)
        np.add.at(train, pos, amp)
        # a tiny ringing kernel, 0.05 to 0.3 ms, to give each tick a little body
        klen = max(2, int(round(_uniform(rng, (0.05e-3, 0.3e-3)) * sr)))
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
        _check_range("duration_ms", duration_ms, 0.01, 50)
        self.rate, self.dur, self.peak = rate_hz, duration_ms, peak_rel

    def make(self, state, rng):
        sr, n = state.sample_rate, state.n
        _, ref_peak = state.signal_level()
        rate = _loguniform(rng, *self.rate)
        count = max(1, int(rng.poisson(rate * n / sr)))
        x = np.zeros(n)
        shapes: dict[str, int] = {s: 0 for s in self.SHAPES}
        for _ in range(count):
            m = max(2, int(round(_loguniform(rng, *self.dur) * 1e-3 * sr)))
            kind = self.SHAPES[int(rng.integers(len(self.SHAPES)))]
            shapes[kind] += 1
            s = _click_shape(kind, m, rng, sr) * _loguniform(rng, *self.peak) * ref_peak
            s *= rng.choice([-1.0, 1.0])
            p = int(rng.integers(0, max(1, n - m)))
            seg = s[: n - p]
            x[p : p + seg.size] += seg
        return x[None, :], {"rate_hz": rate, "count": count, "shapes": shapes,
                            "duration_ms": list(self.dur), "reference_peak": ref_peak}


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
        rpm, amp = _uniform(rng, self.rpm), _loguniform(rng, *self.peak) * ref_peak
        f, tau = _uniform(rng, self.freq), _uniform(rng, self.decay) * 1e-3
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


class Hum(AdditiveEffect):
    """Mains hum: 50 or 60 Hz (±0.5 %) and 3 to 10 harmonics, slowly drifting level."""

    name = "hum"

    def __init__(self, mains_hz: Sequence[float] = (50.0, 60.0), snr_db: float | tuple[float, float] = (20.0, 45.0),
                 harmonics: tuple[int, int] = (3, 10)):
        _check_range("snr_db", snr_db, -30, 80)
        self.mains, self.snr_db, self.harm = tuple(mains_hz), snr_db, harmonics

    def make(self, state, rng):
        sr, n = state.sample_rate, state.n
        f0 = float(self.mains[int(rng.integers(len(self.mains)))]) * (1 + rng.uniform(-0.005, 0.005))
        snr = _uniform(rng, self.snr_db)
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


class Rumble(AdditiveEffect):
    """Turntable rumble: noise below ``corner_hz`` (10 to 40 Hz)."""

    name = "rumble"

    def __init__(self, corner_hz: tuple[float, float] = (10.0, 40.0), snr_db: float | tuple[float, float] = (15.0, 35.0)):
        _check_range("snr_db", snr_db, -30, 80)
        self.corner, self.snr_db = corner_hz, snr_db

    def make(self, state, rng):
        fc, snr = _uniform(rng, self.corner), _uniform(rng, self.snr_db)
        x = _shaped_noise(rng, 1, state.n, state.sample_rate,
                          lambda f: _butter_lp(f, fc, 2) * _butter_hp(f, 3.0, 1))
        return self.scale_to_snr(state, x, snr), {"corner_hz": fc, "snr_db": snr}


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
    x = _resample_fft(x, int(file_sr), sr)
    x = x - x.mean()
    rms = math.sqrt(_energy(x) / max(1, x.size))
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
        seg_len = min(L, max(3 * X, int(_uniform(rng, segment_s) * sample_rate)))
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


class RecordedNoise(AdditiveEffect):
    """Real recorded noise from a folder, looped with crossfades at random offsets.

    One clip of ``split`` (see :func:`noise_files`) is chosen per call, resampled to the
    signal's rate, and scaled to ``snr_db``. For the splits of :data:`NOISE_PORTIONS` only that
    part of each clip (in time) is used.
    """

    name = "recorded_noise"

    def __init__(self, noise_dir: str | os.PathLike, *, split: str = "train",
                 snr_db: float | tuple[float, float] = (5.0, 30.0)):
        _check_range("snr_db", snr_db, -30, 80)
        self.files = noise_files(noise_dir, split)
        self.split, self.snr_db = split, snr_db
        self.portion = NOISE_PORTIONS[split][1:] if split in NOISE_PORTIONS else (0.0, 1.0)

    def make(self, state, rng):
        path = self.files[int(rng.integers(len(self.files)))]
        snr = _uniform(rng, self.snr_db)
        clip = _load_noise(path, state.sample_rate)
        a, b = self.portion
        clip = clip[int(a * clip.size) : int(b * clip.size)]
        x, segs = loop_noise(clip, state.n, rng, sample_rate=state.sample_rate)
        return self.scale_to_snr(state, x[None, :], snr), {"file": path.name, "split": self.split,
                                                           "segments": segs, "snr_db": snr}


# --------------------------------------------------------------------------------------------
# linear and non-linear effects
# --------------------------------------------------------------------------------------------


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
            "highpass_hz": _uniform(rng, self.hp), "highpass_order": int(rng.integers(1, 5)),
            "lowpass_hz": min(_uniform(rng, self.lp), 0.45 * state.sample_rate),
            "lowpass_order": int(rng.integers(2, 5)),
            "resonances": [{"freq_hz": _loguniform(rng, 300, 3000), "gain_db": rng.uniform(3, 10),
                            "width_oct": rng.uniform(0.1, 0.4)} for _ in range(nres)],
        }

    @staticmethod
    def response(f: np.ndarray, p: dict) -> np.ndarray:
        g = _butter_hp(f, p["highpass_hz"], p["highpass_order"]) * _butter_lp(f, p["lowpass_hz"], p["lowpass_order"])
        db = np.zeros_like(f)
        lf = np.log2(np.maximum(f, 1.0))
        for r in p["resonances"]:
            db += r["gain_db"] * np.exp(-0.5 * ((lf - math.log2(r["freq_hz"])) / r["width_oct"]) ** 2)
        return g * 10 ** (db / 20)

    def transform(self, x, sr, params):
        return _filter(x, sr, lambda f: self.response(f, params))


def _cubic_read(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Catmull-Rom interpolation of ``x (C, N)`` at fractional positions ``pos (N,)``."""
    n = x.shape[-1]
    i = np.floor(pos).astype(np.int64)
    t = pos - i
    idx = [np.clip(i + k, 0, n - 1) for k in (-1, 0, 1, 2)]
    p0, p1, p2, p3 = (x[:, j] for j in idx)
    return p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0)))


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
        return {"wow_hz": _uniform(rng, self.wf), "wow_pct": _uniform(rng, self.wd),
                "wow_phase": rng.uniform(0, 2 * np.pi), "flutter_hz": _uniform(rng, self.ff),
                "flutter_pct": _uniform(rng, self.fd), "flutter_phase": rng.uniform(0, 2 * np.pi)}

    def transform(self, x, sr, p):
        t = np.arange(x.shape[-1]) / sr
        disp = np.zeros_like(t)  # displacement in seconds = integral of the speed deviation
        for f, pct, ph in ((p["wow_hz"], p["wow_pct"], p["wow_phase"]), (p["flutter_hz"], p["flutter_pct"], p["flutter_phase"])):
            if pct > 0:
                a = pct / 100.0 / (2 * np.pi * f)
                disp += a * (np.cos(ph) - np.cos(2 * np.pi * f * t + ph))
        return _cubic_read(x, (t + disp) * sr)


class SoftClip(NonLinearEffect):
    """Soft-clipping distortion: ``y = T tanh((x + b) / T) - T tanh(b / T)``.

    The threshold ``T`` sits ``drive_db`` (2 to 12 dB) below the mixture's peak; the bias ``b``
    (up to 20 % of ``T``) adds even harmonics. Small signals pass almost unchanged.
    """

    name = "soft_clip"

    def __init__(self, drive_db: tuple[float, float] = (2.0, 12.0), asymmetry: tuple[float, float] = (0.0, 0.2)):
        self.drive, self.asym = drive_db, asymmetry

    def draw(self, state, rng):
        return {"drive_db": _uniform(rng, self.drive), "asymmetry": _uniform(rng, self.asym)}

    def transform(self, x, sr, p):
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak <= 0:
            return x
        T = peak * 10 ** (-p["drive_db"] / 20)
        b = p["asymmetry"] * T
        return T * np.tanh((x + b) / T) - T * np.tanh(b / T)


# --------------------------------------------------------------------------------------------
# gaps (applied last)
# --------------------------------------------------------------------------------------------


def _draw_spans(rng: np.random.Generator, n: int, sr: int, count: int, length_ms: tuple[float, float],
                max_fraction: float) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    budget = int(max_fraction * n)
    for _ in range(count):
        m = max(1, int(round(_loguniform(rng, *length_ms) * 1e-3 * sr)))
        m = min(m, budget)
        if m <= 0:
            break
        s = int(rng.integers(0, max(1, n - m + 1)))
        spans.append((s, min(n, s + m)))
        budget -= m
    return spans


class Dropouts(Effect):
    """Dropouts: ``count`` spans of 5 to 500 ms set to zero (at most ``max_fraction`` in all).

    The spans are applied after every other effect, so the gap mask is exact.
    """

    name = "dropouts"

    def __init__(self, count: tuple[int, int] = (1, 4), length_ms: tuple[float, float] = (5.0, 500.0),
                 max_fraction: float = 0.25):
        self.count, self.length, self.max_fraction = count, length_ms, max_fraction

    def process(self, state, rng):
        k = int(rng.integers(self.count[0], self.count[1] + 1))
        spans = _draw_spans(rng, state.n, state.sample_rate, k, self.length, self.max_fraction)
        state.gaps.extend(spans)
        self._record(state, {"spans": [list(s) for s in spans],
                             "lengths_ms": [1000 * (b - a) / state.sample_rate for a, b in spans]})


class LevelDrops(Effect):
    """Spans of 20 to 500 ms where the level falls by 30 to 50 dB (1 ms cosine ramps).

    Applied last, like :class:`Dropouts`; the ``drop_mask`` marks each whole span.
    """

    name = "level_drops"

    def __init__(self, count: tuple[int, int] = (1, 2), length_ms: tuple[float, float] = (20.0, 500.0),
                 depth_db: tuple[float, float] = (30.0, 50.0), max_fraction: float = 0.25):
        self.count, self.length, self.depth, self.max_fraction = count, length_ms, depth_db, max_fraction

    def process(self, state, rng):
        k = int(rng.integers(self.count[0], self.count[1] + 1))
        spans = _draw_spans(rng, state.n, state.sample_rate, k, self.length, self.max_fraction)
        ramp = max(1, int(0.001 * state.sample_rate))
        depths = [_uniform(rng, self.depth) for _ in spans]
        state.drops.extend((a, b, -d, ramp) for (a, b), d in zip(spans, depths))
        self._record(state, {"spans": [list(s) for s in spans], "depth_db": depths})


def _drop_gain(n: int, drops: list[tuple[int, int, float, int]]) -> np.ndarray:
    g = np.ones(n)
    for a, b, gdb, ramp in drops:
        low = 10 ** (gdb / 20)
        env = np.full(b - a, low)
        r = min(ramp, (b - a) // 2)
        if r > 0:
            w = np.cos(np.linspace(0, np.pi / 2, r)) ** 2  # 1 -> 0
            env[:r] = low + (1 - low) * w
            env[-r:] = low + (1 - low) * w[::-1]
        g[a:b] = np.minimum(g[a:b], env)
    return g


# --------------------------------------------------------------------------------------------
# presets and the entry point
# --------------------------------------------------------------------------------------------


def build_preset(
    name: str,
    *,
    snr_db: float | tuple[float, float] | None = None,
    noise_dir: str | os.PathLike | None = None,
    noise_split: str = "train",
) -> Effect:
    """The effect chain of a named preset.

    Parameters
    ----------
    name : one of :data:`PRESETS`:

        * ``paper``: white Gaussian noise at 0 dB SNR (the paper's protocol);
        * ``gramophone``: a realistic random chain (band-limiting, soft clipping, hiss, crackle,
          clicks, thumps, recorded noise, wow and flutter, hum, rumble, sometimes dropouts);
        * ``clicks``: clicks, often with crackle (additive only);
        * ``hiss``: coloured hiss at 0 to 30 dB SNR, sometimes rumble (additive only);
        * ``gaps``: dropouts and sometimes level drops, no noise;
        * ``mild``: hiss at 20 to 29 dB SNR, sometimes faint hum or recorded noise (additive
          only; still noisy by :func:`is_noisy`).
    snr_db : overrides the SNR (dB, a number or a (low, high) range) of the main noise of
        ``paper``, ``hiss``, ``mild`` and ``gramophone``'s hiss.
    noise_dir : folder of recorded noise clips (``gramophone`` and ``mild`` use it if given).
    noise_split : which clips of :data:`NOISE_SPLITS` to use: ``'train'``, ``'test'``, ``'all'``,
        or a part of the training clips (:data:`NOISE_PORTIONS`: ``'fit'``, ``'dev'``).
    """
    if name not in PRESETS:
        raise ParameterError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    rec = RecordedNoise(noise_dir, split=noise_split) if noise_dir is not None else None
    if name == "paper":
        return WhiteNoise(0.0 if snr_db is None else snr_db)
    if name == "hiss":
        return Chain([Hiss(snr_db=(0.0, 30.0) if snr_db is None else snr_db), Maybe(Rumble(), 0.3)])
    if name == "clicks":
        return Chain([Clicks(), Maybe(Crackle(snr_db=(20.0, 40.0)), 0.5)])
    if name == "gaps":
        return Chain([Dropouts(), Maybe(LevelDrops(), 0.5)])
    if name == "mild":
        extra: list[Effect] = [Maybe(Hum(snr_db=(35.0, 50.0)), 0.3)]
        if rec is not None:
            rec.snr_db = (30.0, 45.0)
            extra.append(Maybe(rec, 0.5))
        return Chain([Hiss(snr_db=(20.0, 29.0) if snr_db is None else snr_db, lowpass_hz=(6000.0, 12000.0)), *extra])
    # gramophone: recording (horn, cutter overload), the disc's surface, playback, transfer, damage
    surface: list[Effect] = [
        Hiss(snr_db=(5.0, 28.0) if snr_db is None else snr_db),
        Maybe(Crackle(), 0.7),
        Maybe(Clicks(), 0.7),
        Maybe(Thumps(), 0.25),
    ]
    if rec is not None:
        surface.append(Maybe(rec, 0.6))
    return Chain([
        Maybe(BandLimit(), 0.7),
        Maybe(SoftClip(), 0.25),
        Shuffle(surface),
        Maybe(WowFlutter(), 0.5),
        Maybe(Hum(), 0.35),
        Maybe(Rumble(), 0.35),
        Maybe(OneOf([Dropouts(count=(1, 2)), LevelDrops()]), 0.1),
    ])


def degrade(
    audio: np.ndarray,
    sample_rate: int,
    *,
    preset: str | Effect,
    seed: int | None = None,
    noise_dir: str | os.PathLike | None = None,
    noise_split: str = "train",
    snr_db: float | tuple[float, float] | None = None,
) -> tuple[np.ndarray, dict]:
    """Degrade clean audio with a preset (or any :class:`Effect`) and report exactly what was done.

    Parameters
    ----------
    audio : float array ``(samples,)`` or ``(channels, samples)``, nominally in [-1, 1].
    sample_rate : in Hz.
    preset : a name from :data:`PRESETS`, or an :class:`Effect` (chain) built by hand.
    seed : seed of ``np.random.default_rng``; the same seed gives the same output.
    noise_dir, noise_split : recorded noise for the presets that use it (see :func:`build_preset`).
    snr_db : SNR override for the preset's main noise (see :func:`build_preset`).

    Returns
    -------
    degraded : same shape and dtype as ``audio``. Not normalised: loud clicks may exceed 1.
    info : dict with

        * ``preset`` (str), ``seed``, ``sample_rate`` (Hz);
        * ``effects``: list of ``{"name", "params"}`` (JSON-serialisable), in the order applied;
        * ``noise``: the additive component, same shape and dtype as ``audio``, with
          ``audio + noise == degraded`` exactly; ``None`` when a non-additive effect acted;
        * ``reference``: the signal path (the clean input after the linear effects, gaps and
          drops applied) and ``additive``: the additive path, with
          ``reference + additive == degraded``; both ``None`` after a non-linear effect, and
          ``additive`` is ``None`` when no noise was added;
        * ``gap_mask``: bool ``(samples,)``, True on the samples zeroed by dropouts, or ``None``;
        * ``drop_mask``: bool ``(samples,)``, True on level-drop spans, or ``None``;
        * ``snr_db``: SNR (dB) of the additive path against the signal path, ``None`` when no
          noise was added or the paths were mixed by a non-linear effect;
        * ``noisy``: :func:`is_noisy` of this record.
    """
    if isinstance(preset, str):
        chain = build_preset(preset, snr_db=snr_db, noise_dir=noise_dir, noise_split=noise_split)
        preset_name = preset
    elif isinstance(preset, Effect):
        chain, preset_name = preset, type(preset).__name__
    else:
        raise ParameterError(f"preset must be a name ({', '.join(PRESETS)}) or an Effect, got {preset!r}")
    x = np.asarray(audio)
    if not np.issubdtype(x.dtype, np.floating):
        raise ParameterError(f"audio must be a float array, got dtype {x.dtype}")
    if x.ndim not in (1, 2):
        raise ParameterError(f"audio must be (samples,) or (channels, samples), got shape {x.shape}")
    if x.size == 0:
        raise EmptyAudioError("the audio holds no samples")
    if not np.all(np.isfinite(x)):
        raise NonFiniteError("the audio contains NaN or infinite samples")
    if not isinstance(sample_rate, (int, np.integer)) or not 1000 <= int(sample_rate) <= 384_000:
        raise ParameterError(f"sample_rate must be an integer number of Hz (1000 to 384000), got {sample_rate!r}")
    x2 = x[None, :] if x.ndim == 1 else x
    dtype = x.dtype
    rng = np.random.default_rng(seed)
    state = DegradeState(x2, int(sample_rate))
    chain(state, rng)

    n = state.n
    gap_mask = drop_mask = None
    gain = None
    if state.drops:
        gain = _drop_gain(n, state.drops)
        drop_mask = gain < 1.0
    if state.gaps:
        gap_mask = np.zeros(n, dtype=bool)
        for a, b in state.gaps:
            gap_mask[a:b] = True

    def finish(y: np.ndarray) -> np.ndarray:
        if gain is not None:
            y = y * gain
        if gap_mask is not None:
            y = y.copy()
            y[:, gap_mask] = 0.0
        return y.astype(dtype)

    reference = additive = noise = None
    snr = None
    if state.exact:
        reference = finish(state.signal)
        if state.noise is not None:
            additive = finish(state.noise)
            degraded = (reference + additive).astype(dtype)
            snr = measure_snr(reference, additive)
        else:
            degraded = reference
        if not state.transformed and gap_mask is None and drop_mask is None:
            # every effect was additive: the reference is the input itself
            reference = x2.astype(dtype)
            noise = additive if additive is not None else np.zeros_like(reference)
            degraded = (reference + noise).astype(dtype)
    else:
        # the paths were mixed by a non-linear effect; noise added after it is still in the mix
        degraded = finish(state.mix())

    def shaped(a):
        return None if a is None else (a[0] if x.ndim == 1 else a)

    info = {
        "preset": preset_name,
        "seed": seed,
        "sample_rate": int(sample_rate),
        "effects": state.effects,
        "noise": shaped(noise),
        "reference": shaped(reference),
        "additive": shaped(additive),
        "gap_mask": gap_mask,
        "drop_mask": drop_mask,
        "snr_db": None if snr is None or not math.isfinite(snr) else float(snr),
    }
    info["noisy"] = is_noisy(info)
    return shaped(degraded), info


def is_noisy(info: dict) -> bool:
    """The classifier's label for a degradation record (see the module docstring).

    True when the record shows additive noise under :data:`NOISY_SNR_DB` dB SNR, any impulsive
    noise (clicks, crackle, thumps), acoustic-era band-limiting, dropouts or level drops. A
    record of non-linear mixing (no SNR) with any additive noise effect counts as noisy too.
    """
    names = {e["name"] for e in info.get("effects", [])}
    if names & set(IMPULSIVE) or names & {"band_limit", "dropouts", "level_drops"}:
        return True
    snr = info.get("snr_db")
    if snr is not None and snr < NOISY_SNR_DB:
        return True
    additive_names = {"white_noise", "hiss", "hum", "rumble", "recorded_noise"}
    if snr is None and names & additive_names:
        # the paths were mixed (soft clipping): fall back on the SNRs the effects were asked for
        snrs = [e["params"].get("snr_db") for e in info["effects"] if e["name"] in additive_names]
        snrs = [s for s in snrs if s is not None]
        if snrs:
            total = -10 * math.log10(sum(10 ** (-s / 10) for s in snrs))
            return total < NOISY_SNR_DB
    return False


def info_to_json(info: dict) -> dict:
    """The JSON-serialisable part of an info record (arrays become summaries)."""
    out = {k: v for k, v in info.items() if not isinstance(v, np.ndarray)}
    for k in ("gap_mask", "drop_mask"):
        m = info.get(k)
        out[k] = None if m is None else {"samples": int(m.sum()), "spans": _mask_spans(m)}
    for k in ("noise", "reference", "additive"):
        out[k] = None if info.get(k) is None else "array"
    return _jsonable(out)


def _mask_spans(mask: np.ndarray) -> list[list[int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return [[int(a), int(b)] for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


#: One representative effect per name, for figures and the ``data degrade --effect`` option.
def single_effects(noise_dir: str | os.PathLike | None = None) -> dict[str, Effect]:
    """Each effect alone with typical parameters (for figures and demonstrations)."""
    effects: dict[str, Effect] = {
        "white_noise": WhiteNoise(0.0),
        "hiss": Hiss(snr_db=10.0),
        "crackle": Crackle(snr_db=20.0),
        "clicks": Clicks(rate_hz=(3.0, 3.0)),
        "thumps": Thumps(peak_rel=(0.3, 0.5)),
        "hum": Hum(snr_db=15.0),
        "rumble": Rumble(snr_db=10.0),
        "band_limit": BandLimit(),
        "wow_flutter": WowFlutter(wow_pct=(0.8, 0.8)),
        "soft_clip": SoftClip(drive_db=(10.0, 10.0)),
        "dropouts": Dropouts(count=(3, 3)),
        "level_drops": LevelDrops(count=(2, 2)),
    }
    if noise_dir is not None:
        effects["recorded_noise"] = RecordedNoise(noise_dir, split="all", snr_db=10.0)
    return effects
