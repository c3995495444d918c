"""Objective metrics for de-noising: waveform SNR, SI-SDR, MAE and the paper's STFT L1 loss.

Every function takes the clean reference and the estimate as float arrays of the same shape,
``(samples,)`` or ``(channels, samples)`` (any leading dimensions), at the same sample rate, and
returns one float averaged over the leading dimensions (channels). Nothing is aligned or
resampled here: the caller passes signals on the same time grid.

- :func:`snr_db`: ``10 log10(sum clean^2 / sum (clean - est)^2)`` in dB, the paper's "SNR".
- :func:`si_sdr_db`: scale-invariant SDR (Le Roux et al. 2019), in dB: the estimate is first
  projected on the clean signal, so a pure gain error costs nothing.
- :func:`mae`: mean absolute sample error (the signal's own units, full scale 1).
- :func:`stft_l1`: the paper's training loss, the mean absolute difference of magnitude
  spectrograms on the paper's grid (22,050 Hz, n_fft 2048, hop 512, Hann): the input is
  resampled to 22,050 Hz first when ``sample_rate`` differs, so figures from any input rate
  compare.
"""

from __future__ import annotations

import numpy as np

from echoes.errors import ParameterError

#: Guard against division by zero, in signal power units (full scale 1).
_EPS = 1e-12


def _pair(clean, est) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(clean, dtype=np.float64)
    e = np.asarray(est, dtype=np.float64)
    if c.shape != e.shape:
        raise ParameterError(f"clean and estimate differ in shape: {c.shape} vs {e.shape}")
    if c.size == 0:
        raise ParameterError("cannot score empty signals")
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(e))):
        raise ParameterError("cannot score signals with NaN or infinite samples")
    c = c.reshape(-1, c.shape[-1])
    e = e.reshape(-1, e.shape[-1])
    return c, e


def snr_db(clean, est) -> float:
    """Waveform SNR of ``est`` against ``clean`` in dB (mean over channels)."""
    c, e = _pair(clean, est)
    num = np.sum(c**2, axis=-1)
    den = np.sum((c - e) ** 2, axis=-1)
    return float(np.mean(10 * np.log10((num + _EPS) / (den + _EPS))))


def si_sdr_db(clean, est, *, zero_mean: bool = True) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (mean over channels).

    ``target = <est, clean> / ||clean||^2 * clean``; ``SI-SDR = 10 log10(||target||^2 / ||est - target||^2)``.
    Both signals are made zero-mean first unless ``zero_mean`` is false.
    """
    c, e = _pair(clean, est)
    if zero_mean:
        c = c - c.mean(axis=-1, keepdims=True)
        e = e - e.mean(axis=-1, keepdims=True)
    alpha = np.sum(e * c, axis=-1, keepdims=True) / (np.sum(c**2, axis=-1, keepdims=True) + _EPS)
    target = alpha * c
    num = np.sum(target**2, axis=-1)
    den = np.sum((e - target) ** 2, axis=-1)
    return float(np.mean(10 * np.log10((num + _EPS) / (den + _EPS))))


def mae(clean, est) -> float:
    """Mean absolute sample error (full scale 1)."""
    c, e = _pair(clean, est)
    return float(np.mean(np.abs(c - e)))


def stft_l1(clean, est, *, sample_rate: int = 22_050) -> float:
    """The paper's loss: mean ``| |STFT(clean)| - |STFT(est)| |`` on the 22.05 kHz / 2048 / 512 grid.

    ``sample_rate`` (Hz) is the rate of both inputs; they are resampled to 22,050 Hz when it
    differs. Magnitudes are those of ``torch.stft`` with a Hann window (not normalised), so
    the figure scales with the signal's level.
    """
    import torch

    from echoes.audio import resample
    from echoes.spectral import INTERNAL_RATE, PAPER_STFT, stft

    c, e = _pair(clean, est)
    if sample_rate != INTERNAL_RATE:
        c = resample(c.astype(np.float32), sample_rate, INTERNAL_RATE).astype(np.float64)
        e = resample(e.astype(np.float32), sample_rate, INTERNAL_RATE).astype(np.float64)
    C = stft(torch.from_numpy(c.astype(np.float32)), PAPER_STFT).abs()
    E = stft(torch.from_numpy(e.astype(np.float32)), PAPER_STFT).abs()
    return float((C - E).abs().mean())


def all_metrics(clean, est, *, sample_rate: int) -> dict[str, float]:
    """``{"snr_db", "si_sdr_db", "mae", "stft_l1"}`` of ``est`` against ``clean``."""
    return {
        "snr_db": snr_db(clean, est),
        "si_sdr_db": si_sdr_db(clean, est),
        "mae": mae(clean, est),
        "stft_l1": stft_l1(clean, est, sample_rate=sample_rate),
    }
