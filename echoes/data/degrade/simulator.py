"""The entry point :func:`degrade`: run a preset or an effect chain and report exactly what was done.

Audio is float ``(samples,)`` or ``(channels, samples)``; the output keeps its shape and dtype.
While every effect is additive or linear, ``degraded == reference + additive`` holds, where
``reference`` is the signal path (the clean input after the linear effects); when every effect
is additive, ``reference`` is the input and ``degraded == clean + noise`` holds exactly (in the
output dtype). A non-linear effect (soft clipping) mixes the two paths for good, and then no
decomposition is reported. Dropouts and level drops are applied last, so ``gap_mask`` marks
exactly the zeroed samples. The record's ``noisy`` is :func:`is_noisy` (the classifier's
label). :func:`info_to_json` summarises a record for JSON (docs/DATA.md).
"""

from __future__ import annotations

import math
import os

import numpy as np

from echoes.core.signal import runs
from echoes.data.degrade.base import DegradeState, Effect, jsonable
from echoes.data.degrade.damage import drop_gain
from echoes.data.degrade.dsp import measure_snr
from echoes.data.degrade.labels import is_noisy
from echoes.data.degrade.presets import PRESETS, build_preset
from echoes.errors import EmptyAudioError, NonFiniteError, ParameterError


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
        gain = drop_gain(n, state.drops)
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


def info_to_json(info: dict) -> dict:
    """The JSON-serialisable part of an info record (arrays become summaries)."""
    out = {k: v for k, v in info.items() if not isinstance(v, np.ndarray)}
    for k in ("gap_mask", "drop_mask"):
        m = info.get(k)
        out[k] = None if m is None else {"samples": int(m.sum()), "spans": [list(r) for r in runs(m)]}
    for k in ("noise", "reference", "additive"):
        out[k] = None if info.get(k) is None else "array"
    return jsonable(out)
