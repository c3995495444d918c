"""The de-noising part of ``echoes evaluate``: every method on the same degraded clips.

Contract: ``clips`` are clean mono float32 ``(samples,)`` at :data:`~echoes.eval.material.EVAL_RATE`.
Each is degraded once per protocol of :data:`PROTOCOLS` (the protocol's name is the
:mod:`echoes.data.degrade` preset it uses), every method of :func:`denoise_methods` runs on the same
noisy clip, and the metrics compare its float32 output with the draw's reference:

- :data:`PAPER_PROTOCOL`: white Gaussian noise at 0 dB SNR over the full band; reference: clean;
- :data:`GRAMOPHONE_PROTOCOL`: realistic chains with held-out noise clips; reference: the
  simulator's signal path (clean after band-limiting and wow). Draws without an exact reference
  (soft clipping) are replaced by the next seed and counted (``redrawn_nonlinear``).

Per method and protocol: the means of :func:`echoes.core.metrics.all_metrics`, ``mag_snr_db``,
ViSQOL MOS-LQO (``None`` where ``visqol-python`` is missing), SI-SDR gain over do-nothing and
the realtime factor; beside them the oracle ceilings of :mod:`echoes.eval.oracle`. The models
are the registry's (:data:`DENOISER_LABELS`); a row is labelled as in every ``results.json``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from echoes.core import metrics
from echoes.core.spectral import STFTConfig, stft
from echoes.data.degrade import degrade
from echoes.eval.material import EVAL_RATE
from echoes.eval.oracle import ORACLES, oracle_estimates
from echoes.models.registry import DENOISERS, canonical
from echoes.restore.denoise import Denoiser

log = logging.getLogger(__name__)

#: The paper's protocol: 0 dB white Gaussian noise at 44.1 kHz (the degrade preset of that name).
PAPER_PROTOCOL = "paper"
#: Realistic gramophone chains with held-out recorded noise (the degrade preset of that name).
GRAMOPHONE_PROTOCOL = "gramophone"
#: The protocols, in the order of results.json and results.md.
PROTOCOLS = (PAPER_PROTOCOL, GRAMOPHONE_PROTOCOL)

#: The paper's model (its convolutional autoencoder), by its registry name.
PAPER_MODEL = canonical("paper")
#: The de-noisers evaluated, registry name -> row label, in table order (the paper's model first).
DENOISER_LABELS = {PAPER_MODEL: "paper CAE", **{name: name for name in DENOISERS if name != PAPER_MODEL}}


def _mag_snr(clean: np.ndarray, est: np.ndarray) -> float:
    """SNR of magnitude spectrograms (one way the paper's figure could have been computed)."""
    cfg = STFTConfig(sample_rate=EVAL_RATE, n_fft=2048, hop_length=512, win_length=2048)
    a = stft(torch.from_numpy(clean.astype(np.float32)), cfg).abs()
    b = stft(torch.from_numpy(est.astype(np.float32)), cfg).abs()
    return float(10 * torch.log10((a ** 2).sum() / ((a - b) ** 2).sum().clamp_min(1e-20)))


def lowpass_4k(y: np.ndarray, sr: int = EVAL_RATE) -> np.ndarray:
    """The plain baseline: an 8th-order Butterworth low-pass at 4 kHz, zero phase, float32."""
    import scipy.signal

    sos = scipy.signal.butter(8, 4_000.0, fs=sr, output="sos")
    return scipy.signal.sosfiltfilt(sos, np.asarray(y, dtype=np.float64), axis=-1).astype(np.float32)


def denoise_methods(weights, device: str) -> dict[str, Any]:
    """The methods compared, row label -> ``fn(noisy float32 (samples,)) -> estimate``: do-nothing,
    the 4 kHz low-pass, noisereduce (both gatings, where installed) and every de-noiser of the
    registry."""
    out: dict[str, Any] = {"do-nothing": lambda y: y, "4 kHz low-pass": lowpass_4k}
    try:
        import noisereduce

        # its defaults (non-stationary gating: what most people call) and stationary gating (a
        # noise profile from the whole clip: kinder to sustained piano notes)
        out["noisereduce"] = lambda y: noisereduce.reduce_noise(y=y, sr=EVAL_RATE).astype(np.float32)
        out["noisereduce (stationary)"] = lambda y: noisereduce.reduce_noise(
            y=y, sr=EVAL_RATE, stationary=True).astype(np.float32)
    except ImportError:
        log.warning("noisereduce is not installed: its column stays empty (pip install noisereduce)")
    for name, label in DENOISER_LABELS.items():
        model = Denoiser.load(name, weights, device=device)
        out[label] = lambda y, model=model: model.denoise(y, EVAL_RATE)
    return out


def eval_denoise(clips: list[np.ndarray], *, weights=None, noise_dir=None, device="cpu", seed: int = 0,
                 input_snrs: tuple[float, ...] = (-5.0, 0.0, 5.0, 10.0, 20.0),
                 visqol_clips: int | None = None) -> dict[str, Any]:
    """Metrics per protocol and method; SNR gain against input SNR (white noise).

    ``clips``: clean mono float32 ``(samples,)`` at 44.1 kHz. ``visqol_clips`` caps how many of
    them ViSQOL scores (about 0.3 s per clip and method); ``None`` scores all. Without
    ``visqol-python`` installed, ``visqol_moslqo`` is ``None`` for every method (a warning says
    so).
    """
    methods = denoise_methods(weights, device)
    use_visqol = metrics.visqol_available()
    if not use_visqol:
        log.warning("visqol-python is not installed: the ViSQOL column stays empty (pip install visqol-python)")
    n_visqol = len(clips) if visqol_clips is None else min(len(clips), visqol_clips)
    res: dict[str, Any] = {"protocols": {}, "snr_sweep": {}}
    for proto in PROTOCOLS:
        per: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
        ceil: dict[str, list[dict[str, float]]] = {m: [] for m in ORACLES}
        secs = {m: 0.0 for m in methods}
        audio_s = 0.0
        redrawn = 0
        for i, x in enumerate(clips):
            # A chain with soft clipping mixes music and noise: it has no exact reference, so
            # such draws are replaced by the next seed (counted in the results).
            for k in range(20):
                y, info = degrade(x, EVAL_RATE, preset=proto, seed=seed * 1000 + i + 7919 * k,
                                  noise_dir=noise_dir if proto == GRAMOPHONE_PROTOCOL else None, noise_split="test")
                if info.get("reference") is not None:
                    break
                redrawn += 1
            ref = np.asarray(info["reference"], dtype=np.float32).reshape(-1)
            y = y.astype(np.float32)
            audio_s += len(x) / EVAL_RATE
            for name, fn in methods.items():
                t = time.perf_counter()
                est = np.asarray(fn(y), dtype=np.float32).reshape(-1)
                secs[name] += time.perf_counter() - t
                m = metrics.all_metrics(ref, est, sample_rate=EVAL_RATE)
                m["mag_snr_db"] = _mag_snr(ref, est)
                m["visqol_moslqo"] = (metrics.visqol_moslqo(ref, est, sample_rate=EVAL_RATE)
                                      if use_visqol and i < n_visqol else None)
                per[name].append(m)
            for name, est in oracle_estimates(ref, y, EVAL_RATE).items():
                ceil[name].append({"snr_db": metrics.snr_db(ref, est), "si_sdr_db": metrics.si_sdr_db(ref, est)})
        table = {}
        for name, rows in per.items():
            keys = rows[0].keys()
            table[name] = {}
            for k in keys:
                vals = [r[k] for r in rows if r[k] is not None]
                table[name][k] = round(float(np.mean(vals)), 4) if vals else None
            table[name]["realtime_factor"] = (None if name == "do-nothing"
                                              else round(audio_s / max(secs[name], 1e-9), 1))
        base = table["do-nothing"]["si_sdr_db"]
        for name in table:
            table[name]["si_sdr_improvement_db"] = round(table[name]["si_sdr_db"] - base, 3)
        oracles = {name: {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
                   for name, rows in ceil.items()}
        for name in oracles:
            oracles[name]["si_sdr_improvement_db"] = round(oracles[name]["si_sdr_db"] - base, 3)
        res["protocols"][proto] = {"clips": len(clips), "methods": table, "oracles": oracles,
                                   "redrawn_nonlinear": redrawn,
                                   "visqol_clips": n_visqol if use_visqol else 0,
                                   "reference": "clean" if proto == PAPER_PROTOCOL else
                                   "signal path (clean after band-limiting and wow)"}
    # SNR gain against input SNR, white noise
    for snr in input_snrs:
        row = {}
        for name, fn in methods.items():
            if name == "do-nothing":
                continue
            gains = []
            for i, x in enumerate(clips[: max(2, len(clips) // 4)]):
                y, _ = degrade(x, EVAL_RATE, preset=PAPER_PROTOCOL, seed=seed * 1000 + 500 + i, snr_db=snr)
                est = np.asarray(fn(y.astype(np.float32)), dtype=np.float32).reshape(-1)
                gains.append(metrics.snr_db(x, est) - metrics.snr_db(x, y))
            row[name] = round(float(np.mean(gains)), 3)
        res["snr_sweep"][str(snr)] = row
    return res
