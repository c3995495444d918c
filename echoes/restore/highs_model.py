"""The learned high-frequency extension at inference: :class:`echoes.models.highs_net.HighsNet`
with the bundled ``weights/highs.*``, as a method of :data:`echoes.restore.highs.METHODS`.

Contract: :func:`learned` ``(x, sample_rate, cutoff_hz)`` takes float32 ``(channels,
samples)`` audio at any rate and returns the generated band (float64, same shape) for
:func:`echoes.restore.highs.extend_highs`, which band-passes it and adds it to the input. Each
channel is taken as it is at 22,050 and 44,100 Hz (:meth:`HighsNet.generate` analyses 44.1 kHz
on the same grid) and resampled to 44,100 Hz otherwise (soxr HQ, whose pass band reaches 20 kHz
there; resampling to 22,050 Hz would end it near 10 kHz, inside the band to generate), levelled
to RMS 0.1 for the model, processed in
chunks of :data:`CHUNK_S` seconds with :data:`MARGIN_S` of context each side (the network sees
about +-0.4 s; memory stays bounded on an hour-long file), every chunk starting on the model's
frame grid (a multiple of the hop: the shifted copy's phase depends on where frames start, so
chunks then give the same band as one pass), and the generated band is brought
back to the input's level and rate. Deterministic: no random numbers. Measurements: docs/MODELS.md.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from echoes.core.audio import fit_length, resample
from echoes.core.checkpoint import load_model
from echoes.core.hub import bundled_weights
from echoes.core.signal import level_gain
from echoes.errors import WeightsError
from echoes.models.highs_net import HIGHS_STFT, grid_ratio

log = logging.getLogger(__name__)

#: The rate (Hz) other rates are brought to.
RATE = 44_100
#: Chunk core and context each side (seconds).
CHUNK_S, MARGIN_S = 30.0, 1.0
#: Weights stem.
STEM = "highs"

_cache: dict[str, torch.nn.Module] = {}


def load(weights_dir: str | Path | None = None) -> torch.nn.Module:
    """The model from ``weights_dir`` (default the bundled ``weights/``), float32, eval mode, cached."""
    folder = Path(weights_dir) if weights_dir is not None else bundled_weights()
    key = str(folder.resolve())
    if key not in _cache:
        if not (folder / f"{STEM}.json").is_file():
            raise WeightsError(f"no high-frequency model ({STEM}.json) in '{folder}'")
        net, _cfg = load_model(folder, STEM, map_location="cpu")
        _cache[key] = net.float().eval()
    return _cache[key]


@torch.no_grad()  # not inference_mode: core.spectral caches its window tensors for training too
def _generate(net: torch.nn.Module, x: np.ndarray, sr: int, cutoff_hz: float) -> np.ndarray:
    """Generated band of one levelled channel at ``sr`` (22,050 or 44,100 Hz; float32 ``(samples,)``), chunked."""
    n = x.size
    hop = HIGHS_STFT.hop_length * grid_ratio(sr)  # chunks start on the frame grid: the same frames, the same copy
    core, margin = max(1, int(CHUNK_S * sr) // hop) * hop, int(MARGIN_S * sr) // hop * hop
    out = np.zeros(n, dtype=np.float32)
    for a in range(0, n, core):
        b = min(n, a + core)
        lo, hi = max(0, a - margin), min(n, b + margin)
        g = net.generate(torch.from_numpy(np.ascontiguousarray(x[lo:hi]))[None], float(cutoff_hz), sr)[0].numpy()
        out[a:b] = g[a - lo : a - lo + (b - a)]
    return out


def learned(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """The generated band above ``cutoff_hz`` of float32 ``(channels, samples)`` audio at
    ``sample_rate`` Hz (float64, same shape); see the module docstring."""
    net = load()
    out = np.zeros(x.shape, dtype=np.float64)
    sr = int(sample_rate) if sample_rate in (22_050, 44_100) else RATE
    for ch in range(x.shape[0]):
        c = x[ch] if sr == sample_rate else resample(x[ch], int(sample_rate), sr)
        gain = level_gain(c)
        g = _generate(net, (c * gain).astype(np.float32), sr, cutoff_hz) / gain
        if sr != sample_rate:
            g = fit_length(resample(g.astype(np.float32), sr, int(sample_rate)), x.shape[-1])
        out[ch] = g
    return out
