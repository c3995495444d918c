"""The classifier's training examples: clean clips, clean-augmented or degraded, labelled.

An example is ``(audio float32 (CLIP_SAMPLES,), label 0 clean | 1 noisy, record)`` at 22,050 Hz,
made from one clean clip and one :class:`numpy.random.Generator`; example ``i`` of epoch ``e`` of
an :class:`ExampleSet` is seeded by ``(seed, e, i)``, so a run replays bit for bit. Even indices
are clean (:func:`echoes.data.augment.augment_clean`, peak set by
:func:`echoes.data.augment.set_peak`; a share is digital silence), odd ones are degraded by a
preset of :mod:`echoes.data.degrade` drawn with :data:`PRESET_WEIGHTS`, labelled by
:func:`echoes.data.degrade.is_noisy` (the project's one definition of "noisy"). A ``gaps`` draw
that removed nothing audible is redrawn (:func:`echoes.data.augment.audible_gaps`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from echoes.data import degrade as D
from echoes.data.augment import augment_clean, audible_gaps, codec, set_peak
from echoes.errors import ParameterError
from echoes.train.common import SR, SeededExamples

#: How often each preset degrades a "degraded" example (relative weights). The keys are
#: :data:`echoes.data.degrade.PRESETS` names (``paper`` is the paper's white-noise protocol).
PRESET_WEIGHTS = {"paper": 1.0, "gramophone": 3.0, "clicks": 2.0, "hiss": 2.0, "gaps": 1.5, "mild": 3.0}
#: Probability that a degraded example is lossy-coded after degradation.
P_CODEC_AFTER = 0.15
#: Share of clean examples that are digital silence.
P_DIGITAL_SILENCE = 0.005
#: Degraded examples are made only from clips louder than this (RMS, dBFS).
MIN_DEGRADE_RMS_DBFS = -50.0


def parse_preset_weights(spec: str | dict[str, float] | None) -> dict[str, float]:
    """:data:`PRESET_WEIGHTS` with the changes in ``spec`` (``"clicks=4,gaps=1"`` or a dict)."""
    out = dict(PRESET_WEIGHTS)
    if not spec:
        return out
    items = spec.items() if isinstance(spec, dict) else (kv.split("=", 1) for kv in str(spec).split(",") if kv.strip())
    for item in items:
        try:
            k, v = item
            k, v = str(k).strip(), float(v)
        except ValueError:
            raise ParameterError(f"preset weights are NAME=W pairs separated by commas, got {spec!r}") from None
        if k not in D.PRESETS or not (v >= 0 and math.isfinite(v)):
            raise ParameterError(f"preset weight {k}={v}: the name must be one of {', '.join(D.PRESETS)} "
                                 "and the weight a number >= 0")
        out[k] = v
    if sum(out.values()) <= 0:
        raise ParameterError("the preset weights are all zero")
    return out


def make_example(
    clip: np.ndarray,
    rng: np.random.Generator,
    *,
    want_noisy: bool,
    noise_dir: str | Path | None,
    noise_split: str = "train",
    preset: str | None = None,
    augment: bool = True,
    probs: dict[str, float] | None = None,
    preset_weights: dict[str, float] | None = None,
) -> tuple[np.ndarray, int, dict]:
    """One training or test example from a clean clip ``(samples,)`` at 22,050 Hz.

    Returns ``(audio float32 (samples,), label 0 clean | 1 noisy, record)``. A degraded example
    takes its label from :func:`echoes.data.degrade.is_noisy`; ``preset`` forces a preset; ``probs``
    replaces :data:`CLEAN_AUG` and ``preset_weights`` :data:`PRESET_WEIGHTS`.
    """
    x = np.asarray(clip, dtype=np.float64)
    if not want_noisy:
        if augment and rng.random() < P_DIGITAL_SILENCE:
            return np.zeros_like(x, dtype=np.float32), 0, {"kind": "digital_silence"}
        y, done = augment_clean(x, rng, probs=probs) if augment else (x, [])
        return set_peak(y, rng), 0, {"kind": "clean", "augment": done}
    pw = preset_weights or PRESET_WEIGHTS
    names = list(pw)
    w = np.array([pw[k] for k in names], dtype=float)
    name = preset or names[int(rng.choice(len(names), p=w / w.sum()))]
    y, done = augment_clean(x, rng, skip=("codec", "noise_floor", "wow_alone", "soft_clip_alone"),
                            probs=probs) if augment else (x, [])
    # set_peak rescales afterwards (degrade's clicks may exceed the clean peak)
    for _ in range(8):
        out, info = D.degrade(y, SR, preset=name, seed=int(rng.integers(2**31)), noise_dir=noise_dir,
                              noise_split=noise_split)
        if name != "gaps" or audible_gaps(y, info):
            break
    else:  # the clip is too quiet for a dropout to remove anything: use another preset
        out, info = D.degrade(y, SR, preset="clicks", seed=int(rng.integers(2**31)))
        name = "clicks"
    y = out
    label = int(bool(info["noisy"]))
    if augment and rng.random() < P_CODEC_AFTER:
        y, params = codec(np.asarray(y, dtype=np.float64), rng)
        done.append({"name": "codec_after", **params})
    return set_peak(np.asarray(y, dtype=np.float64), rng), label, {
        "kind": "degraded", "preset": name, "augment": done, "snr_db": info["snr_db"],
        "effects": [e["name"] for e in info["effects"]]}


class ExampleSet(SeededExamples):
    """Examples made on the fly: index ``i`` of epoch ``e`` is seeded by ``(seed, e, i)``.

    Even indices are clean, odd degraded. Degraded examples use only clips louder than
    :data:`MIN_DEGRADE_RMS_DBFS` (noise at an SNR relative to silence is no noise at all, and
    the label would be meaningless); clean examples use every clip, silent ones included.
    """

    def __init__(self, clips: np.ndarray, *, seed: int, n_examples: int, noise_dir: str | None,
                 noise_split: str = "train", augment: bool = True, presets: list[str] | None = None,
                 probs: dict[str, float] | None = None, preset_weights: dict[str, float] | None = None) -> None:
        super().__init__(clips, seed=seed, size=n_examples, noise_dir=noise_dir, noise_split=noise_split)
        rms = np.sqrt(np.mean(np.asarray(clips, dtype=np.float64) ** 2, axis=1))
        self.loud = np.flatnonzero(20 * np.log10(np.maximum(rms, 1e-10)) > MIN_DEGRADE_RMS_DBFS)
        if self.loud.size == 0:
            raise ParameterError(f"every clip is quieter than {MIN_DEGRADE_RMS_DBFS} dBFS RMS")
        self.augment = augment
        self.presets = presets
        self.probs = probs
        self.preset_weights = preset_weights
        self.epoch = 0

    def __getitem__(self, i: int):
        rng = self.rng(self.epoch, i)
        k = i // 2 + self.epoch * 7919
        clip = self.clips[self.loud[k % self.loud.size]] if i % 2 else self.clips[k % len(self.clips)]
        preset = self.presets[(i // 2) % len(self.presets)] if self.presets else None
        y, label, _ = make_example(clip, rng, want_noisy=bool(i % 2), noise_dir=self.noise_dir,
                                   noise_split=self.noise_split, preset=preset, augment=self.augment,
                                   probs=self.probs, preset_weights=self.preset_weights)
        return torch.from_numpy(y), label
