"""High-frequency extension: give back a band the recording never captured (issue 32).

Contract
--------
:func:`extend_highs` ``(audio, sample_rate, *, cutoff_hz, method) -> (audio, info)`` takes
float32 ``(channels, samples)`` or ``(samples,)`` audio and generates content from ``cutoff_hz``
up to ``min(11,025 Hz, the input's Nyquist frequency)`` (:func:`generated_top_hz`), faded in over
the first :data:`RAMP_HZ` above the cutoff; it *adds*
the generated band to the input, whose own content above the cutoff (a filter's skirt, noise)
stays. The band below the cutoff is unchanged within float rounding: the generated signal is
band-passed on its full-length DFT (every bin below the cutoff set to zero), so output minus
input holds, below the cutoff, only the float32 rounding of one addition (about 1e-7 of the
signal; ``tests/test_highs.py`` checks it). It is not bit-identical sample by sample: adding
anything to a sample changes its bits. Nothing to generate (cutoff at or above the top) gives
the input back bit-exact.

Methods live in :data:`METHODS` (name -> function): ``learned``, the default, is the trained
model of :mod:`echoes.restore.highs_model` (:class:`echoes.models.highs_net.HighsNet`);
``band-replication`` is the blind baseline it is measured against.

``band-replication`` (the *baseline*, not a learned model): in an STFT (Hann, n_fft 2048 at
44.1 kHz scaled with the rate, hop n_fft/4), every target bin at frequency f above the cutoff
takes, frame by frame, the magnitude of the input at f / 2^k, with k the smallest integer that
puts the source in the octave below the cutoff [c/2, c) (so harmonics stay harmonic: n·f0 maps
to 2n·f0). Its level is set by the input's own long-term spectral slope: a straight line of dB
against log2 frequency fitted to the long-term power spectrum (smoothed over 250 Hz) over
[c/4, 0.75·c) and extrapolated; each target bin is scaled by sqrt(predicted long-term power at
f / long-term power at the source, both smoothed over 250 Hz), so the generated band follows
the slope on average and keeps the source's partials and its dynamics frame by frame. Phases
are random (uniform, ``numpy.random.default_rng(seed)``, one phase field shared by every
channel); the overlap-add's loss of incoherent power is made up by one gain that brings the
generated band's STFT energy to the target's.

:func:`effective_bandwidth_hz`: a long-term-spectrum version of the cliff rule of
:mod:`echoes.restore.bandwidth` (whose 30 dB fall within the first 1 kHz misses an 8th-order
low-pass: it falls 48 dB per octave, about 15 dB in the kilohertz above 4 kHz). The long-term
power spectrum (mean over channels and over the frames that hold no zero padding) in 250 Hz
bands; a candidate cutoff c (every band start from 2.5 kHz up) has a straight-line trend (dB
against log2 f) fitted to the smoothed spectrum over [c/4, c) and extrapolated; the effective
bandwidth is the lowest c where every band from :data:`TRANSITION_RATIO` · c (1.5: the filter's
skirt is let through) up to the top lies :data:`DROP_DB` (25 dB) or more below that trend; the top (``min(11,025 Hz, Nyquist)``) when no
c qualifies. The bandwidth returned is then the corner: the first band from c up whose level
lies :data:`FALL_DB` (6 dB) or more below the same trend.
``auto`` in the pipeline extends only audio whose effective bandwidth ends below
:data:`AUTO_BELOW_HZ`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from echoes.errors import ParameterError
from echoes.restore.bandwidth import BAND_HZ, MIN_CUTOFF_HZ, band_levels_db
from echoes.restore.highs_model import learned

#: The highest frequency generated (Hz): the Nyquist frequency of 22,050 Hz.
TOP_HZ = 11_025.0
#: ``auto`` extends audio whose effective bandwidth ends below this (Hz).
AUTO_BELOW_HZ = 8_000.0
#: The default method: the learned model (:mod:`echoes.restore.highs_model`).
DEFAULT_METHOD = "learned"
#: Bands from this multiple of a candidate cutoff upwards must lie below the trend (half an
#: octave lets a filter's skirt through: an 8th-order Butterworth is 28 dB down at 1.5 times its corner).
TRANSITION_RATIO = 1.5
#: How far (dB) below the extrapolated trend those bands must lie.
DROP_DB = 25.0
#: The effective bandwidth is where the spectrum has fallen this far (dB) below the trend (a corner).
FALL_DB = 6.0
#: The generated band fades in over this much (Hz) above the cutoff (raised cosine in amplitude).
RAMP_HZ = 250.0
#: The fixed seed of the random phases.
SEED = 0


def generated_top_hz(sample_rate: int) -> float:
    """The top of the generated band (Hz): 11,025 Hz or the input's Nyquist frequency."""
    return min(TOP_HZ, sample_rate / 2.0)


def _n_fft(sample_rate: int) -> int:
    """2048 at 44.1 kHz, the same resolution in Hz at other rates (a power of two, at least 256)."""
    return int(max(256, 2 ** round(np.log2(2048 * sample_rate / 44_100))))


def _frames(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Centred, zero-padded frames of ``(samples,)``: ``(frames, n_fft)`` (a view)."""
    pad = n_fft // 2
    n_frames = 1 + (x.shape[-1] + 2 * pad - n_fft) // hop
    need = (n_frames - 1) * hop + n_fft
    xp = np.zeros(max(need, x.shape[-1] + 2 * pad), dtype=np.float64)
    xp[pad : pad + x.shape[-1]] = x
    return np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop][:n_frames]


def _stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    w = np.hanning(n_fft + 1)[:-1]
    return np.fft.rfft(_frames(x, n_fft, hop) * w, axis=-1)  # (frames, bins)


def _istft(X: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    w = np.hanning(n_fft + 1)[:-1]
    frames = np.fft.irfft(X, n=n_fft, axis=-1) * w
    total = (X.shape[0] - 1) * hop + n_fft
    y, norm = np.zeros(total + n_fft), np.zeros(total + n_fft)
    step = n_fft // hop  # frames j, j + step, ... do not overlap: one strided add each
    for j in range(step):
        part = frames[j::step]
        y[j * hop : j * hop + part.size] += part.reshape(-1)
        norm[j * hop : j * hop + part.size] += np.tile(w * w, part.shape[0])
    pad = n_fft // 2
    y = y / np.maximum(norm, 1e-8)
    return y[pad : pad + length]


def _mean_power(mag: np.ndarray) -> np.ndarray:
    """Mean power per bin over the frames that hold no padding (an abrupt start or end is a
    broadband step that no recording filter shaped), or over all frames of a short signal."""
    inner = mag[2:-3] if mag.shape[0] > 8 else mag
    return np.mean(inner**2, axis=0)


def long_term_power(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean power spectrum over frames (those without padding) and channels: (power per bin,
    bin frequencies in Hz)."""
    x = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    n_fft = _n_fft(sample_rate)
    p = np.mean([_mean_power(np.abs(_stft(c, n_fft, n_fft // 4))) for c in x], axis=0)
    return p, np.fft.rfftfreq(n_fft, 1.0 / sample_rate)


def effective_bandwidth_hz(audio: np.ndarray, sample_rate: int) -> float:
    """Where the audio's long-term spectrum stops (Hz); see the module docstring for the rule."""
    top = generated_top_hz(sample_rate)
    power, freqs = long_term_power(audio, sample_rate)
    if TRANSITION_RATIO * MIN_CUTOFF_HZ > top - BAND_HZ or not np.any(power > 0):
        return float(top)
    starts, levels = band_levels_db(power, freqs, MIN_CUTOFF_HZ, top)
    for k, c in enumerate(starts):
        above = starts >= TRANSITION_RATIO * c
        if not above.any():
            break
        icpt, slope = _slope_fit(power, freqs, c, hi=1.0)
        trend = icpt + slope * np.log2(starts[above] + BAND_HZ / 2)
        if np.all(trend - levels[above] >= DROP_DB):
            # the corner: the first band from c up that has fallen FALL_DB below the trend
            t_all = icpt + slope * np.log2(starts + BAND_HZ / 2)
            fallen = (starts >= c) & (t_all - levels >= FALL_DB)
            return float(starts[np.argmax(fallen)]) if fallen.any() else float(c)
    return float(top)


def smoothed(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Power per bin averaged over :data:`~echoes.restore.bandwidth.BAND_HZ` around it (the
    level of the partials and the gaps between them together, as the bands are measured)."""
    w = max(1, int(round(BAND_HZ / (freqs[1] - freqs[0]))))
    return np.convolve(power, np.ones(w) / w, mode="same")


def _slope_fit(power: np.ndarray, freqs: np.ndarray, cutoff: float, hi: float = 0.75) -> tuple[float, float]:
    """(intercept dB, slope dB per octave) of the smoothed long-term spectrum over [c/4, hi·c)."""
    ps = smoothed(power, freqs)
    sel = (freqs >= cutoff / 4) & (freqs < hi * cutoff) & (ps > 0)
    if sel.sum() < 3:
        return 10.0 * np.log10(float(np.mean(power[freqs < cutoff])) + 1e-30), -12.0
    slope, icpt = np.polyfit(np.log2(freqs[sel]), 10.0 * np.log10(ps[sel] + 1e-30), 1)
    return float(icpt), float(min(slope, 0.0))  # a rising spectrum is not extrapolated upwards


def band_replication(x: np.ndarray, sample_rate: int, cutoff_hz: float, *, seed: int = SEED) -> np.ndarray:
    """The generated band (float64, ``(channels, samples)``) above ``cutoff_hz``; see the docstring."""
    n_fft = _n_fft(sample_rate)
    hop = n_fft // 4
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    top = generated_top_hz(sample_rate)
    target = np.flatnonzero((freqs >= cutoff_hz) & (freqs < top))
    src_f = freqs[target].copy()
    while np.any(src_f >= cutoff_hz):
        src_f = np.where(src_f >= cutoff_hz, src_f / 2.0, src_f)
    src_bin = src_f * n_fft / sample_rate
    lo = np.floor(src_bin).astype(int)
    frac = src_bin - lo
    rng = np.random.default_rng(seed)
    out = np.zeros(x.shape, dtype=np.float64)
    phase = None
    for ch in range(x.shape[0]):
        X = _stft(x[ch].astype(np.float64), n_fft, hop)
        mag = np.abs(X)
        power = _mean_power(mag)
        icpt, slope = _slope_fit(power, freqs, cutoff_hz)
        pred_db = icpt + slope * np.log2(freqs[target])
        ps = smoothed(power, freqs)
        src_power = (1 - frac) * ps[lo] + frac * ps[lo + 1]
        gain = np.sqrt(10.0 ** (pred_db / 10.0) / np.maximum(src_power, 1e-30))
        G_mag = ((1 - frac) * mag[:, lo] + frac * mag[:, lo + 1]) * gain
        if phase is None:
            phase = np.exp(2j * np.pi * rng.random(G_mag.shape))
        G = np.zeros_like(X)
        G[:, target] = G_mag * phase
        g = _istft(G, n_fft, hop, x.shape[-1])
        realised = float(np.sum(np.abs(_stft(g, n_fft, hop)[:, target]) ** 2))
        wanted = float(np.sum(G_mag**2))
        out[ch] = g * np.sqrt(wanted / realised) if realised > 0 else 0.0
    return out


#: Extension methods: name -> function(x (channels, samples) float32, rate, cutoff_hz) -> generated band.
#: ``learned`` is the trained model; ``band-replication`` the blind baseline it is measured against.
METHODS: dict[str, Callable[..., np.ndarray]] = {"learned": learned, "band-replication": band_replication}


def extend_highs(audio: np.ndarray, sample_rate: int, *, cutoff_hz: float | None = None,
                 method: str = DEFAULT_METHOD) -> tuple[np.ndarray, dict[str, Any]]:
    """Add a generated band from ``cutoff_hz`` (None: :func:`effective_bandwidth_hz`) up to
    :func:`generated_top_hz`; returns the audio (input's shape, float32) and what was done:
    ``method``, ``from_hz``, ``to_hz``, ``generated`` (bool), ``energy_db`` (generated energy
    relative to the output's energy below the cutoff; None when nothing was generated)."""
    if method not in METHODS:
        raise ParameterError(f"high-frequency method must be one of {', '.join(METHODS)}, not '{method}'")
    x = np.asarray(audio)
    one_d = x.ndim == 1
    x2 = np.ascontiguousarray(x[None, :] if one_d else x, dtype=np.float32)
    top = generated_top_hz(sample_rate)
    cut = float(effective_bandwidth_hz(x2, sample_rate) if cutoff_hz is None else cutoff_hz)
    info: dict[str, Any] = {"method": method, "from_hz": round(cut, 1), "to_hz": round(top, 1),
                            "generated": False, "energy_db": None}
    if cut >= top - BAND_HZ or x2.shape[-1] < 2 * _n_fft(sample_rate):
        return (x2[0] if one_d else x2), info
    g = METHODS[method](x2, sample_rate, cut)
    # band-pass the generated signal on its full-length DFT: nothing below the cutoff or above the top
    n = x2.shape[-1]
    G = np.fft.rfft(g, axis=-1)
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    G[:, (f < cut) | (f >= top)] = 0.0
    ramp = (f >= cut) & (f < cut + RAMP_HZ)  # faded in, so an analysis window's leakage spares the kept band
    G[:, ramp] *= (0.5 - 0.5 * np.cos(np.pi * (f[ramp] - cut) / RAMP_HZ))
    g = np.fft.irfft(G, n=n, axis=-1)
    y = (x2 + g).astype(np.float32)
    kept = float(np.sum(np.abs(np.fft.rfft(x2.astype(np.float64), axis=-1)[:, f < cut]) ** 2))
    gen = float(np.sum(np.abs(G) ** 2))
    info.update(generated=True, energy_db=round(float(10.0 * np.log10(max(gen, 1e-30) / max(kept, 1e-30))), 2))
    return (y[0] if one_d else y), info
