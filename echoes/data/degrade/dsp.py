"""Numeric helpers of the degradation simulator: FFT sizes, energies, random draws, shaped
noise, zero-phase filters, resampling, and scaling noise to an SNR.

Contracts: arrays are float, time along the last axis; frequencies are in Hz and gains are
magnitude responses ``gain(f_hz)`` evaluated on ``np.fft.rfftfreq`` grids; SNRs are
``10 log10(sum(clean**2) / sum(noise**2))`` in dB. Filtering and noise shaping happen in the
frequency domain with numpy's FFT, zero-padded to a fast size (:func:`fast_len`), so nothing here
needs scipy. Random draws take a ``np.random.Generator`` and consume it in a fixed order.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from echoes.errors import EmptyAudioError, ParameterError


def fast_len(n: int) -> int:
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


def energy(x: np.ndarray) -> float:
    return float(np.dot(x.ravel().astype(np.float64), x.ravel().astype(np.float64)))


def power_db(ratio: float) -> float:
    return 10.0 * math.log10(ratio)


def loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def uniform(rng: np.random.Generator, r: float | tuple[float, float]) -> float:
    if isinstance(r, (int, float)):
        return float(r)
    lo, hi = r
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def check_range(name: str, r: float | tuple[float, float], lo: float, hi: float) -> None:
    vals = (r,) if isinstance(r, (int, float)) else tuple(r)
    if len(vals) not in (1, 2) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
        raise ParameterError(f"{name} must be a number or a (low, high) pair, got {r!r}")
    if any(v < lo or v > hi for v in vals) or (len(vals) == 2 and vals[0] > vals[1]):
        raise ParameterError(f"{name} must lie in [{lo}, {hi}] (low <= high), got {r!r}")


def shaped_noise(
    rng: np.random.Generator, channels: int, n: int, sr: int, gain: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Gaussian noise ``(channels, n)`` with magnitude spectrum ``gain(f_hz)``, unit RMS."""
    L = fast_len(n)
    f = np.fft.rfftfreq(L, 1.0 / sr)
    g = gain(f)
    spec = rng.standard_normal((channels, f.size)) + 1j * rng.standard_normal((channels, f.size))
    x = np.fft.irfft(spec * g, L)[:, :n]
    rms = math.sqrt(energy(x) / x.size) if x.size else 0.0
    return x / rms if rms > 0 else x


def zero_phase_filter(
    x: np.ndarray, sr: int, gain: Callable[[np.ndarray], np.ndarray], pad_s: float = 0.1
) -> np.ndarray:
    """Zero-phase filter along the last axis with magnitude response ``gain(f_hz)``.

    Zero padding of ``pad_s`` seconds keeps the circular convolution linear for responses
    shorter than that.
    """
    n = x.shape[-1]
    L = fast_len(n + int(pad_s * sr))
    f = np.fft.rfftfreq(L, 1.0 / sr)
    return np.fft.irfft(np.fft.rfft(x, L) * gain(f), L)[..., :n]


def butter_lp(f: np.ndarray, fc: float, order: float) -> np.ndarray:
    return 1.0 / np.sqrt(1.0 + (f / fc) ** (2 * order))


def butter_hp(f: np.ndarray, fc: float, order: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        r = np.where(f > 0, fc / np.maximum(f, 1e-12), np.inf)
    return 1.0 / np.sqrt(1.0 + r ** (2 * order))


def resample_fft(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
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
    es, en = energy(clean), energy(noise)
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
    en = energy(noise)
    es = energy(clean)
    if en <= 0:
        return math.inf
    if es <= 0:
        return -math.inf
    return power_db(es / en)
