"""Clean-audio augmentations: changes a clean piano recording may carry that are *not* noise.

Each augmentation is ``f(x, rng, *, sr=SR) -> (y, params)``: ``x`` float64 mono ``(samples,)``
at ``sr`` Hz (22,050 by default, the training clips' rate), ``y`` float64 of the same length,
``params`` a small JSON-able record of what was drawn. All randomness comes from ``rng``
(:class:`numpy.random.Generator`), in a fixed order, so a seeded example replays bit for bit;
an augmentation whose probability is 0 draws nothing.

:func:`augment_clean` applies those of :data:`CLEAN_AUG` (independently, in table order);
:func:`set_peak` sets a random peak level (:data:`PEAK_DBFS`) and maybe rounds to 16 bits.
None of them may make audio "noisy" in the sense of :func:`echoes.data.degrade.is_noisy`
(the noise floor stays 40 dB or more under the music). :func:`audible_gaps` tells whether a
degradation's dropouts removed real signal (a dropout inside a pause is inaudible).
Used by :mod:`echoes.train.classifier_examples`; imports :mod:`echoes.data.degrade` only.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import lfilter, oaconvolve

from echoes.data import degrade as D

#: Sample rate (Hz) of the clips the augmentations default to (the training clips').
SR = 22_050

#: Probabilities of each clean augmentation (applied independently, in this order). ``timbre``
#: (off unless ``--timbre P``) also applies before degradation, so that it cannot tell the classes
#: apart; augmentations with probability 0 draw no random number (the recorded recipes replay).
CLEAN_AUG = {
    "timbre": 0.0,
    "reverb": 0.3,
    "quiet_passage": 0.2,
    "silence": 0.12,
    "noise_floor": 0.25,
    "wow_alone": 0.04,
    "soft_clip_alone": 0.04,
    "codec": 0.25,
    "quantise_16bit": 0.5,
}
#: A "gaps" example must drop signal no more than this under the clip's mean power (dB).
GAP_FLOOR_DB = -30.0
#: Peak level range of every example, dBFS.
PEAK_DBFS = (-40.0, 0.0)


def _fftconvolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Linear convolution of ``x`` with ``h``, cut to ``x``'s length."""
    return oaconvolve(x, h)[: x.size]


def reverb(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Room reverb: exponentially decaying noise tail (RT60 0.2 to 2.5 s, darker as it decays)."""
    rt60 = float(np.exp(rng.uniform(np.log(0.2), np.log(2.5))))
    wet = float(rng.uniform(0.1, 0.7))
    n = int(min(rt60 * 1.2, 3.0) * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)
    # darker as it decays: cross-fade from the raw tail to a one-pole low-passed copy
    a = float(rng.uniform(0.3, 0.8))
    lp = lfilter([1 - a], [1, -a], tail)
    mix = np.clip(t / rt60, 0, 1)
    tail = (1 - mix) * tail + mix * lp
    tail[: int(0.005 * sr)] = 0.0  # pre-delay
    h = tail / (np.sqrt(np.sum(tail**2)) + 1e-12)
    y = (1 - wet) * x + wet * _fftconvolve(x, h) * (np.sqrt(np.sum(x**2)) > 0)
    return y, {"rt60_s": rt60, "wet": wet}


def _smooth_step(n: int, *, up: bool) -> np.ndarray:
    w = np.sin(np.linspace(0, np.pi / 2, max(n, 1))) ** 2
    return w if up else w[::-1]


def quiet_passage(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """A span (1 to 4 s) played 20 to 50 dB softer, with 50 to 500 ms ramps in and out."""
    n = x.size
    m = int(rng.uniform(1.0, 4.0) * sr)
    a = int(rng.integers(0, max(1, n - m)))
    depth = float(rng.uniform(20, 50))
    r = int(rng.uniform(0.05, 0.5) * sr)
    g = np.ones(n)
    low = 10 ** (-depth / 20)
    env = np.full(m, low)
    r = min(r, m // 2)
    env[:r] = low + (1 - low) * _smooth_step(r, up=False)
    env[m - r :] = low + (1 - low) * _smooth_step(r, up=True)
    g[a : a + m] = env[: n - a]
    return x * g, {"depth_db": depth, "seconds": m / sr}


def silence(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """A pause: the music decays (0.15 to 1 s) to digital zero for 0.3 to 2.5 s, then resumes
    with a 5 to 30 ms onset. A decay, not a cut, so it does not look like a dropout."""
    n = x.size
    dec = int(rng.uniform(0.15, 1.0) * sr)
    gap = int(rng.uniform(0.3, 2.5) * sr)
    ons = int(rng.uniform(0.005, 0.03) * sr)
    a = int(rng.integers(0, max(1, n - dec - gap)))
    g = np.ones(n)
    seg = np.exp(-6.91 * np.arange(dec) / dec)  # -60 dB over the decay
    g[a : a + dec] = seg[: n - a]
    b = min(n, a + dec + gap)
    g[a + dec : b] = 0.0
    g[b : b + ons] = _smooth_step(ons, up=True)[: n - b]
    return x * g, {"decay_s": dec / sr, "silence_s": gap / sr}


def noise_floor(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """A modern recording's noise floor: hiss 40 to 70 dB and sometimes hum 50 to 70 dB under
    the music (checked to be *not* noisy by :func:`echoes.data.degrade.is_noisy`)."""
    effects: list[Any] = [D.Hiss(snr_db=(40.0, 70.0), lowpass_hz=(6000.0, 11000.0), mod_depth=(0.0, 0.0))]
    if rng.random() < 0.3:
        effects.append(D.Hum(snr_db=(50.0, 70.0)))
    y, info = D.degrade(x, sr, preset=D.Chain(effects), seed=int(rng.integers(2**31)))
    if info["noisy"]:  # pragma: no cover (cannot happen with these SNRs; kept as a guard)
        return x, {"skipped": True}
    return y, {"snr_db": info["snr_db"]}


def wow_alone(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Slight wow (0.05 to 0.2 % peak; flutter as :class:`echoes.data.degrade.WowFlutter` draws it) alone."""
    y, info = D.degrade(x, sr, preset=D.WowFlutter(wow_pct=(0.05, 0.2)), seed=int(rng.integers(2**31)))
    return y, {}


def soft_clip_alone(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Gentle soft clipping alone (1 to 4 dB of drive)."""
    y, info = D.degrade(x, sr, preset=D.SoftClip(drive_db=(1.0, 4.0)), seed=int(rng.integers(2**31)))
    return y, {}


def codec(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Lossy round trip through libsndfile: MP3 (compression 0 to 0.8, about 26 to 66 kbit/s
    at 22.05 kHz, low-pass near 10 kHz) or Ogg Vorbis (quality 0.2 to 1.0)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= 0:
        return x, {"codec": None}
    scale = 0.9 / peak
    if rng.random() < 0.6:
        fmt, sub, level = "MP3", "MPEG_LAYER_III", float(rng.uniform(0.0, 0.8))
    else:
        fmt, sub, level = "OGG", "VORBIS", float(rng.uniform(0.2, 1.0))
    buf = io.BytesIO()
    sf.write(buf, (x * scale).astype(np.float32), sr, format=fmt, subtype=sub, compression_level=level)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    y = y[: x.size] if y.size >= x.size else np.pad(y, (0, x.size - y.size))
    return y.astype(np.float64) / scale, {"codec": fmt, "compression_level": level}


def quantise_16bit(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Round to 16-bit steps (at the final level), with TPDF dither half the time."""
    dither = bool(rng.random() < 0.5)
    q = x * 32768.0
    if dither:
        q = q + rng.uniform(-0.5, 0.5, q.shape) + rng.uniform(-0.5, 0.5, q.shape)
    return np.round(q) / 32768.0, {"dither": dither}


def timbre(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Another piano, microphone or room: a gentle random spectral tilt (-2.5 to 2.5 dB per octave
    about 1 kHz, flat below 60 Hz and above 11 kHz) and one broad resonance or dip (-5 to 5 dB,
    one octave wide, at 150 Hz to 6 kHz). Applied to ``(samples,)`` audio through its FFT."""
    tilt = float(rng.uniform(-2.5, 2.5))
    f0 = float(np.exp(rng.uniform(np.log(150.0), np.log(6000.0))))
    bump = float(rng.uniform(-5.0, 5.0))
    X = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / sr)
    octs = np.log2(np.clip(f, 60.0, 11_000.0) / 1000.0)
    db = tilt * octs + bump * np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / f0) / 0.5) ** 2)
    y = np.fft.irfft(X * 10 ** (db / 20), n=x.size)
    return y, {"tilt_db_per_octave": round(tilt, 3), "bump_hz": round(f0, 1), "bump_db": round(bump, 3)}


_AUG_FUNCS = {
    "timbre": timbre,
    "reverb": reverb,
    "quiet_passage": quiet_passage,
    "silence": silence,
    "noise_floor": noise_floor,
    "wow_alone": wow_alone,
    "soft_clip_alone": soft_clip_alone,
    "codec": codec,
}


def augment_clean(x: np.ndarray, rng: np.random.Generator, *, skip: tuple[str, ...] = (),
                  probs: dict[str, float] | None = None) -> tuple[np.ndarray, list]:
    """Apply the clean augmentations of ``probs`` (default :data:`CLEAN_AUG`; except 16-bit
    rounding and those in ``skip``) to ``x`` ``(samples,)`` at 22,050 Hz. Returns float64 audio
    and the applied list."""
    y = np.asarray(x, dtype=np.float64)
    done = []
    for name, p in (probs or CLEAN_AUG).items():
        if name == "quantise_16bit" or name in skip or p <= 0:
            continue
        if rng.random() < p:
            y, params = _AUG_FUNCS[name](y, rng)
            done.append({"name": name, **params})
    return y, done


def set_peak(x: np.ndarray, rng: np.random.Generator, *, quantise: bool | None = None) -> np.ndarray:
    """Scale to a random peak level in :data:`PEAK_DBFS` and maybe round to 16 bits; float32."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0:
        x = x * (10 ** (rng.uniform(*PEAK_DBFS) / 20) / peak)
    if quantise is None:
        quantise = rng.random() < CLEAN_AUG["quantise_16bit"]
    if quantise:
        x, _ = quantise_16bit(x, rng)
    return x.astype(np.float32)


def audible_gaps(reference: np.ndarray, info: dict, *, floor_db: float = GAP_FLOOR_DB) -> bool:
    """Whether dropouts / level drops removed real signal: the clean ``reference`` inside the
    masked samples is no more than ``floor_db`` under the clip's mean power. A dropout inside
    a pause changes nothing, so no classifier (or listener) can tell; such draws are redrawn."""
    mask = None
    for key in ("gap_mask", "drop_mask"):
        if info.get(key) is not None:
            mask = info[key] if mask is None else (mask | info[key])
    if mask is None or not mask.any():
        return True
    r = np.asarray(reference, dtype=np.float64)
    inside, overall = float(np.mean(r[..., mask] ** 2)), float(np.mean(r**2))
    return overall > 0 and inside >= overall * 10 ** (floor_db / 10)
