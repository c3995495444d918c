"""Objective metrics for de-noising: waveform SNR, SI-SDR, MAE, the paper's STFT L1 loss and ViSQOL.

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
- :func:`log_spectral_distance`: RMS over the bins of a band of the difference of log10 power
  spectra (n_fft 2048, hop 512, Hann), averaged over the frames asked for: 0 is identical.
- :func:`visqol_moslqo`: ViSQOL v3 MOS-LQO (audio mode, 1 to 5, higher is better) from the
  optional PyPI package ``visqol-python`` (``pip install 'echoes[eval]'``). Unlike the others
  it resamples (to 48 kHz, the rate audio mode is built for) and sets the level (see there).
"""

from __future__ import annotations

from typing import Any

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

    from echoes.core.audio import resample
    from echoes.core.spectral import INTERNAL_RATE, PAPER_STFT, stft

    c, e = _pair(clean, est)
    if sample_rate != INTERNAL_RATE:
        c = resample(c.astype(np.float32), sample_rate, INTERNAL_RATE).astype(np.float64)
        e = resample(e.astype(np.float32), sample_rate, INTERNAL_RATE).astype(np.float64)
    C = stft(torch.from_numpy(c.astype(np.float32)), PAPER_STFT).abs()
    E = stft(torch.from_numpy(e.astype(np.float32)), PAPER_STFT).abs()
    return float((C - E).abs().mean())


#: The rate ViSQOL's audio mode is built for (Hz); other rates are resampled to it.
VISQOL_RATE = 48_000
#: Peak level (dBFS) the reference is brought to before ViSQOL scores it (see :func:`visqol_moslqo`).
VISQOL_REF_PEAK_DBFS = -1.0
_VISQOL_API: Any = None


def _visqol_api() -> Any:
    """The one ``visqol.VisqolApi`` (audio mode) of this process, made on first use.

    Raises ``ImportError`` with the install command when ``visqol-python`` is missing.
    """
    global _VISQOL_API
    try:
        from visqol import VisqolApi
    except ImportError as exc:
        raise ImportError("ViSQOL needs the optional package visqol-python: "
                          "pip install 'visqol-python>=3.8' (or pip install 'echoes[eval]')") from exc
    if _VISQOL_API is None:
        api = VisqolApi()
        api.create(mode="audio")
        _VISQOL_API = api
    return _VISQOL_API


def visqol_available() -> bool:
    """True when :func:`visqol_moslqo` can run (``visqol-python`` is installed and loads)."""
    try:
        _visqol_api()
    except ImportError:
        return False
    return True


def visqol_moslqo(clean, est, *, sample_rate: int, normalize: bool = True) -> float:
    """ViSQOL v3 MOS-LQO of ``est`` against ``clean``, audio mode: 1 (bad) to 5 (excellent).

    ``clean`` and ``est``: float arrays of one shape, ``(samples,)`` or ``(channels, samples)``,
    full scale 1, at ``sample_rate`` Hz; they are resampled to 48,000 Hz with soxr first when the
    rate differs (audio mode is built for 48 kHz). ViSQOL is mono: channels are scored one by
    one and the scores averaged. float32 and float64 inputs score the same (ViSQOL works in
    float64).

    ``normalize`` (the default) multiplies both signals by one gain that brings the reference's
    peak to -1 dBFS. ViSQOL matches the estimate's level to the reference's by itself, but its
    spectrograms have an absolute floor that assumes full-scale material: a quiet clip hides its
    noise under that floor and scores too well (synthetic piano peaking at -33 dBFS with white
    noise at 30 dB SNR scored 4.6, the same at -3 dBFS 1.7). With ``normalize`` the score does not
    depend on the clip's level; ``normalize=False`` scores the signals as they are.

    Scores saturate near 1.3 to 1.5 once the SNR is below about 20 dB (white noise), and are not
    monotonic there; differences at that end say little. One 5-s clip takes about 0.3 s on one
    CPU core. Raises ``ImportError`` when ``visqol-python`` is not installed (see
    :func:`visqol_available`) and :class:`~echoes.errors.ParameterError` for a silent reference.
    """
    from echoes.core.audio import resample

    c, e = _pair(clean, est)
    api = _visqol_api()
    if sample_rate != VISQOL_RATE:
        c = resample(c.astype(np.float32), sample_rate, VISQOL_RATE).astype(np.float64)
        e = resample(e.astype(np.float32), sample_rate, VISQOL_RATE).astype(np.float64)
    scores = []
    for rc, ec in zip(c, e):
        peak = float(np.max(np.abs(rc)))
        if peak <= 0.0:
            raise ParameterError("ViSQOL cannot score against a silent reference")
        if normalize:
            g = 10 ** (VISQOL_REF_PEAK_DBFS / 20) / peak
            rc, ec = rc * g, ec * g
        scores.append(float(api.measure_from_arrays(rc, ec, sample_rate=VISQOL_RATE).moslqo))
    return float(np.mean(scores))


def power_frames(x: np.ndarray, *, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Power spectra ``(frames, n_fft // 2 + 1)`` of ``(samples,)`` audio: Hann window, frame ``j``
    centred on sample ``j * hop`` (zero padding of ``n_fft // 2`` at both ends), float64."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    padded = np.pad(x, (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop] * np.hanning(n_fft)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2


def log_spectral_distance(clean, est, *, sample_rate: int, band: tuple[float, float] = (0.0, float("inf")),
                          frames: np.ndarray | None = None, n_fft: int = 2048, hop: int = 512) -> float:
    """Log-spectral distance of ``est`` from ``clean`` (mono ``(samples,)``) in ``band`` (Hz, [lo, hi)).

    Per frame: the RMS over the band's bins of ``log10(P_clean + 1e-10) - log10(P_est + 1e-10)``
    (power spectra of :func:`power_frames`); the result is the mean over ``frames`` (a boolean
    mask or index array over frames; all frames when None), or NaN when no frame is selected.
    """
    a, b = _pair(clean, est)
    if a.ndim > 1:
        a, b = a.mean(axis=0), b.mean(axis=0)
    Pa, Pb = power_frames(a, n_fft=n_fft, hop=hop), power_frames(b, n_fft=n_fft, hop=hop)
    f = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    sel = (f >= band[0]) & (f < band[1])
    if not sel.any():
        raise ParameterError(f"band {band} Hz holds no bin at {sample_rate} Hz")
    d = np.log10(Pa[:, sel] + 1e-10) - np.log10(Pb[:, sel] + 1e-10)
    per = np.sqrt(np.mean(d * d, axis=1))
    if frames is not None:
        per = per[np.asarray(frames)]
    return float(np.mean(per)) if per.size else float("nan")


def all_metrics(clean, est, *, sample_rate: int) -> dict[str, float]:
    """``{"snr_db", "si_sdr_db", "mae", "stft_l1"}`` of ``est`` against ``clean``."""
    return {
        "snr_db": snr_db(clean, est),
        "si_sdr_db": si_sdr_db(clean, est),
        "mae": mae(clean, est),
        "stft_l1": stft_l1(clean, est, sample_rate=sample_rate),
    }
