"""The de-noisers' training examples: ``(noisy, target)`` pairs made from clean clips.

A pair is two float32 ``(samples,)`` arrays at the model's rate (22,050 Hz; 44,100 for ``archival``), levelled to RMS 0.1 by one gain (as
:class:`echoes.restore.denoise.Denoiser` levels its input). Kinds (:data:`MIX`): ``paper``, the
paper's protocol (white Gaussian noise at :data:`PAPER_PROTOCOL_SNR_DB`; not to be confused with
the paper's *model*); ``gramophone``, :func:`gramophone_chain` with recorded noise, the target
being the chain's signal path; ``mild`` hiss; ``clean`` (target = input). Example ``i`` of an
:class:`ExampleSet` is seeded by ``(seed, i)``; :func:`validation_set` is a fixed set (even rows
0 dB white noise, odd rows the gramophone chain) seeded by ``(seed, 7777, clip)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soxr
import torch

from echoes.core.signal import level_gain
from echoes.data import degrade as D
from echoes.errors import ParameterError
from echoes.train.common import SR, SeededExamples, example_rng, load_clips

#: Share of each kind of example.
MIX = {"paper": 0.4, "gramophone": 0.45, "mild": 0.08, "clean": 0.07}
#: The example kind and :mod:`echoes.data.degrade` preset of the paper's protocol (white Gaussian
#: noise); the paper's *model* is another thing (``"paper"`` in :mod:`echoes.models.registry`).
PAPER_PROTOCOL = "paper"
#: SNR range (dB) of the paper-protocol examples (the protocol itself is 0 dB; at a 44.1 kHz
#: input half of that noise lies above 11 kHz and is dropped by resampling: about +3 dB in band).
PAPER_PROTOCOL_SNR_DB = (-5.0, 15.0)
#: Quieter clips than this (RMS, dBFS) are not trained on.
MIN_RMS_DBFS = -50.0


def load_clip_array(data: str | Path, split: str, *, limit: int | None = None, rate: int = SR) -> np.ndarray:
    """Clean 5-s clips ``(n, 5 * rate)`` float32 at ``rate`` Hz of a corpus or pack ``split``
    (:func:`echoes.train.common.load_clips`), leaving out clips quieter than :data:`MIN_RMS_DBFS`."""
    out = load_clips(data, split, min_rms_dbfs=MIN_RMS_DBFS, exact=True, rate=rate)[1]
    if limit is not None:
        out = out[:limit]
    if not len(out):
        raise ParameterError(f"no {split} clips in '{data}'")
    return out.astype(np.float32)


def gramophone_chain(noise_dir: str | None, noise_split: str = "train"):
    """The ``gramophone`` preset of :mod:`echoes.data.degrade` without soft clipping: a non-linear
    effect leaves no exact target, and a de-noiser does not undo it anyway."""
    full = D.build_preset("gramophone", noise_dir=noise_dir, noise_split=noise_split)
    steps = [e for e in full.effects if not (isinstance(e, D.Maybe) and isinstance(e.effect, D.SoftClip))]
    return D.Chain(steps)


def make_example(clip: np.ndarray, rng: np.random.Generator, kind: str, *, noise_dir: str | None,
                 chain=None, noise_split: str = "train", rate: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """One ``(noisy, target)`` pair of float32 ``(samples,)`` arrays at ``rate`` Hz, levelled to RMS
    0.1. ``noise_split``: the recorded noise's split (:func:`echoes.data.degrade.noise_files`)."""
    x = clip.astype(np.float32)
    if rng.random() < 0.5:
        x = -x
    seed = int(rng.integers(2**31))
    if kind == PAPER_PROTOCOL:
        y, info = D.degrade(x, rate, preset=PAPER_PROTOCOL, seed=seed, snr_db=float(rng.uniform(*PAPER_PROTOCOL_SNR_DB)))
        target = x
    elif kind == "gramophone":
        y, info = D.degrade(x, rate, preset=chain if chain is not None else gramophone_chain(noise_dir, noise_split),
                            seed=seed)
        target = info["reference"]
        if target is None:  # cannot happen without soft clipping; stay safe
            target = x
    elif kind == "mild":
        y, info = D.degrade(x, rate, preset="mild", seed=seed, noise_dir=noise_dir, noise_split=noise_split)
        target = info["reference"] if info["reference"] is not None else x
    elif kind == "clean":
        y, target = x, x
    else:
        raise ParameterError(f"unknown example kind {kind!r}")
    g = level_gain(y)
    return (np.asarray(y, np.float32) * g, np.asarray(target, np.float32) * g)


class ExampleSet(SeededExamples):
    """Example ``i`` (any non-negative integer) is made from ``(seed, i)``: kind, clip, noise."""

    def __init__(self, clips: np.ndarray, *, seed: int, noise_dir: str | None, size: int = 2**31 - 1,
                 kinds: dict[str, float] | None = None, pitch_cents: float = 0.0, noise_split: str = "train",
                 rate: int = SR) -> None:
        super().__init__(clips, seed=seed, size=size, noise_dir=noise_dir, noise_split=noise_split)
        self.rate = int(rate)
        self.pitch_cents = float(pitch_cents)
        mix = kinds or MIX
        self.kinds = list(mix)
        p = np.array([mix[k] for k in self.kinds], dtype=np.float64)
        self.p = p / p.sum()
        self._chain = None

    def __getitem__(self, i: int):
        rng = self.rng(i)
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.p))]
        clip = self.clips[int(rng.integers(len(self.clips)))]
        if self.pitch_cents > 0:
            clip = repitch(clip, float(rng.uniform(-self.pitch_cents, self.pitch_cents)), rng, self.rate)
        if kind == "gramophone" and self._chain is None:
            self._chain = gramophone_chain(self.noise_dir, self.noise_split)
        y, t = make_example(clip, rng, kind, noise_dir=self.noise_dir, chain=self._chain, noise_split=self.noise_split,
                            rate=self.rate)
        return torch.from_numpy(y), torch.from_numpy(t)


def repitch(clip: np.ndarray, cents: float, rng: np.random.Generator, rate: int = SR) -> np.ndarray:
    """The clip played ``cents`` higher (and as much faster), by resampling: float32
    ``(samples,)`` of the same length. A longer result is cropped at a random place; a shorter
    one ends with a 10-ms fade and silence (at 100 cents, 5.6 % of the clip)."""
    n = clip.size
    f = 2.0 ** (cents / 1200.0)
    y = soxr.resample(clip.astype(np.float32), rate, rate / f, quality="HQ").astype(np.float32)
    if y.size >= n:
        o = int(rng.integers(y.size - n + 1))
        return np.ascontiguousarray(y[o : o + n])
    fade = min(y.size, int(0.010 * rate))
    y[y.size - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return np.concatenate([y, np.zeros(n - y.size, np.float32)])


def validation_order(n_clips: int, *, seed: int, count: int) -> np.ndarray:
    """The clip indices :func:`validation_set` uses, in its row order (row ``j`` is made from clip
    ``validation_order(...)[j]``; even rows white noise, odd rows the gramophone chain)."""
    return example_rng(seed, 7777).choice(n_clips, size=min(count, n_clips), replace=False)


def validation_set(clips: np.ndarray, *, seed: int, noise_dir: str | None, count: int,
                   noise_split: str = "train", rate: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """Fixed examples: half 0 dB white noise, half the gramophone chain (with the recorded noise
    of ``noise_split``)."""
    ys, ts = [], []
    chain = gramophone_chain(noise_dir, noise_split)
    idx = validation_order(len(clips), seed=seed, count=count)
    for j, i in enumerate(idx):
        r = example_rng(seed, 7777, i)
        if j % 2 == 0:
            x = clips[i]
            y, _ = D.degrade(x, rate, preset=PAPER_PROTOCOL, seed=int(r.integers(2**31)), snr_db=0.0)
            g = level_gain(y)
            y, t = y * g, x * g
        else:
            y, t = make_example(clips[i], r, "gramophone", noise_dir=noise_dir, chain=chain, noise_split=noise_split,
                                rate=rate)
        ys.append(y)
        ts.append(t)
    return np.stack(ys).astype(np.float32), np.stack(ts).astype(np.float32)
