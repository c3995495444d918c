"""Channel handling for transfers: keep the layout, mix to mono, take one groove wall, or pick
the cleaner one.

78s are mono, but transfers are often stereo (a stereo cartridge reads the two groove walls;
one wall is often worn or damaged more than the other). ``best`` measures the noise of each
channel and takes the cleaner one, or blends them with inverse-noise-power weights when their
noise differs by less than :data:`BLEND_WITHIN_DB` (for the same music with independent noise,
that blend has the least noise).

Noise measure: the noise floor of each channel, taken as the 10th percentile over STFT frames
(46 ms Hann windows at any rate) of the power in each frequency bin between 1 kHz and
min(10 kHz, Nyquist), summed over bins (dB re full scale). The quiet frames of a bin are where
hiss and crackle dominate; the music is the same in both walls, so the difference is noise.
"""

from __future__ import annotations

import logging

import numpy as np

from echoes.errors import ParameterError

log = logging.getLogger(__name__)

CHANNEL_MODES = ("keep", "mono", "left", "right", "best")
#: Below this noise difference (dB) ``best`` blends the channels instead of picking one.
BLEND_WITHIN_DB = 3.0


def noise_floor_db(audio: np.ndarray, sample_rate: int, *, fmin: float = 1000.0, fmax: float = 10000.0,
                   percentile: float = 10.0) -> np.ndarray:
    """Noise floor of each channel of ``(channels, samples)`` audio, in dB (see module doc)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    n_fft = int(2 ** round(np.log2(0.046 * sample_rate)))
    hop = n_fft // 2
    if x.shape[-1] < n_fft:
        x = np.pad(x, ((0, 0), (0, n_fft - x.shape[-1])))
    nfr = 1 + (x.shape[-1] - n_fft) // hop
    win = np.hanning(n_fft)
    lo = int(fmin * n_fft / sample_rate)
    hi = max(lo + 1, int(min(fmax, 0.95 * sample_rate / 2) * n_fft / sample_rate))
    out = []
    for ch in x:
        fr = np.lib.stride_tricks.as_strided(ch, (nfr, n_fft), (ch.strides[0] * hop, ch.strides[0]))
        p = np.abs(np.fft.rfft(fr * win, axis=1)[:, lo:hi]) ** 2
        floor = np.percentile(p, percentile, axis=0).sum() / (np.sum(win ** 2) * n_fft / 2)
        out.append(10 * np.log10(max(floor, 1e-20)))
    return np.array(out)


def select_channels(audio: np.ndarray, sample_rate: int, mode: str = "keep") -> tuple[np.ndarray, dict]:
    """Apply a channel mode to ``(channels, samples)`` float32 audio.

    Returns ``(audio, info)``: ``keep`` gives the input (same channels); ``mono`` the mean of
    the channels; ``left``/``right`` channel 0/1; ``best`` the cleaner channel or an
    inverse-noise blend (see module doc). All but ``keep`` give ``(1, samples)``. A mono input
    passes through every mode unchanged. ``info`` says what was done: ``mode``, ``chosen``
    (``keep``, ``mono``, ``left``, ``right`` or ``blend``), ``weights`` per input channel and,
    for ``best``, ``noise_db`` per channel.
    """
    if mode not in CHANNEL_MODES:
        raise ParameterError(f"--channels must be one of {', '.join(CHANNEL_MODES)}, not '{mode}'")
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 2:
        raise ParameterError(f"expected (channels, samples) audio, got shape {x.shape}")
    c = x.shape[0]
    info: dict = {"mode": mode, "input_channels": int(c)}
    if mode == "keep" or c == 1:
        info.update(chosen="keep" if mode == "keep" else "only channel", weights=[1.0] * c if mode != "keep" else None)
        return x, info
    if mode == "mono":
        info.update(chosen="mono", weights=[round(1.0 / c, 4)] * c)
        return x.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32), info
    if mode in ("left", "right"):
        k = 0 if mode == "left" else 1
        w = [0.0] * c
        w[k] = 1.0
        info.update(chosen=mode, weights=w)
        return x[k : k + 1].copy(), info
    nd = noise_floor_db(x, sample_rate)
    info["noise_db"] = [round(float(v), 2) for v in nd]
    best = int(np.argmin(nd))
    if float(np.max(nd) - np.min(nd)) >= BLEND_WITHIN_DB:
        w = np.zeros(c)
        w[best] = 1.0
        chosen = ["left", "right"][best] if c == 2 else f"channel {best}"
        y = x[best : best + 1].copy()
    else:
        inv = 10 ** (-nd / 10)
        w = inv / inv.sum()
        chosen = "blend"
        y = np.tensordot(w, x.astype(np.float64), axes=(0, 0))[None].astype(np.float32)
    info.update(chosen=chosen, weights=[round(float(v), 4) for v in w])
    log.info("channels best: noise %s dB -> %s", info["noise_db"], chosen)
    return y, info
