"""Train the noisy/clean classifier: ``python -m echoes train classifier --data DIR --out DIR``.

Examples are 5-second clips of clean piano at 22,050 Hz (the corpus's ``train`` split, both
training pianos), made fresh every epoch from a seed (``(seed, epoch, index)``), so a run is
reproducible and the network rarely sees the same example twice:

* **clean** (label 0, half the examples): the clip after *clean augmentations* that must not
  read as noise (:func:`augment_clean`): reverb, quiet passages, silences with natural decays,
  a modern recording's noise floor (hiss 40 to 70 dB under the music, faint hum), a little wow
  or soft clipping alone, lossy coding (MP3 at 26 to 66 kbit/s, Ogg Vorbis), 16-bit
  quantisation, and any level from -40 dBFS to 0 dBFS peak. A small share is digital silence.
* **degraded** (the other half): a clean-augmented clip degraded by a preset of
  :mod:`echoes.data.degrade` drawn with :data:`PRESET_WEIGHTS` (every preset, ``mild`` included),
  with the training noise clips (``NOISE_SPLITS['train']``), sometimes lossy-coded afterwards.
  The label is :func:`echoes.data.degrade.is_noisy` of the degradation record: the project's one
  definition of "noisy" (SNR under 30 dB, any clicks/crackle/thumps, acoustic-era
  band-limiting, dropouts or level drops). A ``gaps`` draw whose dropouts fall in a pause
  (the clean signal there is more than 30 dB under the clip's mean power) changed nothing
  audible and is redrawn (:func:`audible_gaps`).

Between 30 and 40 dB SNR lies a grey zone that is not trained on either way: clean examples
carry noise floors of 40 dB or more under the music, the presets' noise is under 30 dB.

The best epoch by validation errors (clean windows called noisy weigh 4 times) is kept; the
checkpoint's JSON records the model's hyper-parameters, the STFT, this recipe, the seed, the
epochs, the commit, and the validation metrics.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from echoes.errors import ParameterError

log = logging.getLogger(__name__)

SR = 22_050
CLIP_SAMPLES = 5 * SR

#: How often each preset degrades a "degraded" example (relative weights).
PRESET_WEIGHTS = {"paper": 1.0, "gramophone": 3.0, "clicks": 2.0, "hiss": 2.0, "gaps": 1.5, "mild": 3.0}

#: Probabilities of each clean augmentation (applied independently, in this order). ``timbre``
#: (off unless ``--timbre P``) also applies before degradation, so that it cannot tell the classes
#: apart; augmentations with probability 0 draw no random number (the recorded recipes replay).
CLEAN_AUG = {
    "timbre": 0.0,
    "reverb": 0.3,
    "quiet_passage": 0.2,
    "silence": 0.12,
    "noise_floor": 0.25,
    "wow_alone": 0.04,
    "soft_clip_alone": 0.04,
    "codec": 0.25,
    "quantise_16bit": 0.5,
}
#: Probability that a degraded example is lossy-coded after degradation.
P_CODEC_AFTER = 0.15
#: Share of clean examples that are digital silence.
P_DIGITAL_SILENCE = 0.005
#: Degraded examples are made only from clips louder than this (RMS, dBFS).
MIN_DEGRADE_RMS_DBFS = -50.0
#: A "gaps" example must drop signal no more than this under the clip's mean power (dB).
GAP_FLOOR_DB = -30.0
#: Peak level range of every example, dBFS.
PEAK_DBFS = (-40.0, 0.0)


# --------------------------------------------------------------------------------------------
# clean augmentations (numpy; soundfile for the codecs)
# --------------------------------------------------------------------------------------------


def _fftconvolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    from scipy.signal import oaconvolve

    return oaconvolve(x, h)[: x.size]


def reverb(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Room reverb: exponentially decaying noise tail (RT60 0.2 to 2.5 s, darker as it decays)."""
    rt60 = float(np.exp(rng.uniform(np.log(0.2), np.log(2.5))))
    wet = float(rng.uniform(0.1, 0.7))
    n = int(min(rt60 * 1.2, 3.0) * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)
    # darker as it decays: cross-fade from the raw tail to a one-pole low-passed copy
    from scipy.signal import lfilter

    a = float(rng.uniform(0.3, 0.8))
    lp = lfilter([1 - a], [1, -a], tail)
    mix = np.clip(t / rt60, 0, 1)
    tail = (1 - mix) * tail + mix * lp
    tail[: int(0.005 * sr)] = 0.0  # pre-delay
    h = tail / (np.sqrt(np.sum(tail**2)) + 1e-12)
    y = (1 - wet) * x + wet * _fftconvolve(x, h) * (np.sqrt(np.sum(x**2)) > 0)
    return y, {"rt60_s": rt60, "wet": wet}


def _smooth_step(n: int, *, up: bool) -> np.ndarray:
    w = np.sin(np.linspace(0, np.pi / 2, max(n, 1))) ** 2
    return w if up else w[::-1]


def quiet_passage(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """A span (1 to 4 s) played 20 to 50 dB softer, with 50 to 500 ms ramps in and out."""
    n = x.size
    m = int(rng.uniform(1.0, 4.0) * sr)
    a = int(rng.integers(0, max(1, n - m)))
    depth = float(rng.uniform(20, 50))
    r = int(rng.uniform(0.05, 0.5) * sr)
    g = np.ones(n)
    low = 10 ** (-depth / 20)
    env = np.full(m, low)
    r = min(r, m // 2)
    env[:r] = low + (1 - low) * _smooth_step(r, up=False)
    env[m - r :] = low + (1 - low) * _smooth_step(r, up=True)
    g[a : a + m] = env[: n - a]
    return x * g, {"depth_db": depth, "seconds": m / sr}


def silence(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """A pause: the music decays (0.15 to 1 s) to digital zero for 0.3 to 2.5 s, then resumes
    with a 5 to 30 ms onset. A decay, not a cut, so it does not look like a dropout."""
    n = x.size
    dec = int(rng.uniform(0.15, 1.0) * sr)
    gap = int(rng.uniform(0.3, 2.5) * sr)
    ons = int(rng.uniform(0.005, 0.03) * sr)
    a = int(rng.integers(0, max(1, n - dec - gap)))
    g = np.ones(n)
    seg = np.exp(-6.91 * np.arange(dec) / dec)  # -60 dB over the decay
    g[a : a + dec] = seg[: n - a]
    b = min(n, a + dec + gap)
    g[a + dec : b] = 0.0
    g[b : b + ons] = _smooth_step(ons, up=True)[: n - b]
    return x * g, {"decay_s": dec / sr, "silence_s": gap / sr}


def noise_floor(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """A modern recording's noise floor: hiss 40 to 70 dB and sometimes hum 50 to 70 dB under
    the music (checked to be *not* noisy by :func:`echoes.data.degrade.is_noisy`)."""
    from echoes.data import degrade as D

    effects: list[Any] = [D.Hiss(snr_db=(40.0, 70.0), lowpass_hz=(6000.0, 11000.0), mod_depth=(0.0, 0.0))]
    if rng.random() < 0.3:
        effects.append(D.Hum(snr_db=(50.0, 70.0)))
    y, info = D.degrade(x, sr, preset=D.Chain(effects), seed=int(rng.integers(2**31)))
    if info["noisy"]:  # pragma: no cover (cannot happen with these SNRs; kept as a guard)
        return x, {"skipped": True}
    return y, {"snr_db": info["snr_db"]}


def wow_alone(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    from echoes.data import degrade as D

    y, info = D.degrade(x, sr, preset=D.WowFlutter(wow_pct=(0.05, 0.2)), seed=int(rng.integers(2**31)))
    return y, {}


def soft_clip_alone(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    from echoes.data import degrade as D

    y, info = D.degrade(x, sr, preset=D.SoftClip(drive_db=(1.0, 4.0)), seed=int(rng.integers(2**31)))
    return y, {}


def codec(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Lossy round trip through libsndfile: MP3 (compression 0 to 0.8, about 26 to 66 kbit/s
    at 22.05 kHz, low-pass near 10 kHz) or Ogg Vorbis (quality 0.2 to 1.0)."""
    import soundfile as sf

    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= 0:
        return x, {"codec": None}
    scale = 0.9 / peak
    if rng.random() < 0.6:
        fmt, sub, level = "MP3", "MPEG_LAYER_III", float(rng.uniform(0.0, 0.8))
    else:
        fmt, sub, level = "OGG", "VORBIS", float(rng.uniform(0.2, 1.0))
    buf = io.BytesIO()
    sf.write(buf, (x * scale).astype(np.float32), sr, format=fmt, subtype=sub, compression_level=level)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    y = y[: x.size] if y.size >= x.size else np.pad(y, (0, x.size - y.size))
    return y.astype(np.float64) / scale, {"codec": fmt, "compression_level": level}


def quantise_16bit(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Round to 16-bit steps (at the final level), with TPDF dither half the time."""
    dither = bool(rng.random() < 0.5)
    q = x * 32768.0
    if dither:
        q = q + rng.uniform(-0.5, 0.5, q.shape) + rng.uniform(-0.5, 0.5, q.shape)
    return np.round(q) / 32768.0, {"dither": dither}


def timbre(x: np.ndarray, rng: np.random.Generator, *, sr: int = SR) -> tuple[np.ndarray, dict]:
    """Another piano, microphone or room: a gentle random spectral tilt (-2.5 to 2.5 dB per octave
    about 1 kHz, flat below 60 Hz and above 11 kHz) and one broad resonance or dip (-5 to 5 dB,
    one octave wide, at 150 Hz to 6 kHz). Applied to ``(samples,)`` audio through its FFT."""
    tilt = float(rng.uniform(-2.5, 2.5))
    f0 = float(np.exp(rng.uniform(np.log(150.0), np.log(6000.0))))
    bump = float(rng.uniform(-5.0, 5.0))
    X = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / sr)
    octs = np.log2(np.clip(f, 60.0, 11_000.0) / 1000.0)
    db = tilt * octs + bump * np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / f0) / 0.5) ** 2)
    y = np.fft.irfft(X * 10 ** (db / 20), n=x.size)
    return y, {"tilt_db_per_octave": round(tilt, 3), "bump_hz": round(f0, 1), "bump_db": round(bump, 3)}


_AUG_FUNCS = {
    "timbre": timbre,
    "reverb": reverb,
    "quiet_passage": quiet_passage,
    "silence": silence,
    "noise_floor": noise_floor,
    "wow_alone": wow_alone,
    "soft_clip_alone": soft_clip_alone,
    "codec": codec,
}


def augment_clean(x: np.ndarray, rng: np.random.Generator, *, skip: tuple[str, ...] = (),
                  probs: dict[str, float] | None = None) -> tuple[np.ndarray, list]:
    """Apply the clean augmentations of ``probs`` (default :data:`CLEAN_AUG`; except 16-bit
    rounding and those in ``skip``) to ``x`` ``(samples,)`` at 22,050 Hz. Returns float64 audio
    and the applied list."""
    y = np.asarray(x, dtype=np.float64)
    done = []
    for name, p in (probs or CLEAN_AUG).items():
        if name == "quantise_16bit" or name in skip or p <= 0:
            continue
        if rng.random() < p:
            y, params = _AUG_FUNCS[name](y, rng)
            done.append({"name": name, **params})
    return y, done


def set_peak(x: np.ndarray, rng: np.random.Generator, *, quantise: bool | None = None) -> np.ndarray:
    """Scale to a random peak level in :data:`PEAK_DBFS` and maybe round to 16 bits; float32."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0:
        x = x * (10 ** (rng.uniform(*PEAK_DBFS) / 20) / peak)
    if quantise is None:
        quantise = rng.random() < CLEAN_AUG["quantise_16bit"]
    if quantise:
        x, _ = quantise_16bit(x, rng)
    return x.astype(np.float32)


def audible_gaps(reference: np.ndarray, info: dict, *, floor_db: float = GAP_FLOOR_DB) -> bool:
    """Whether dropouts / level drops removed real signal: the clean ``reference`` inside the
    masked samples is no more than ``floor_db`` under the clip's mean power. A dropout inside
    a pause changes nothing, so no classifier (or listener) can tell; such draws are redrawn."""
    mask = None
    for key in ("gap_mask", "drop_mask"):
        if info.get(key) is not None:
            mask = info[key] if mask is None else (mask | info[key])
    if mask is None or not mask.any():
        return True
    r = np.asarray(reference, dtype=np.float64)
    inside, overall = float(np.mean(r[..., mask] ** 2)), float(np.mean(r**2))
    return overall > 0 and inside >= overall * 10 ** (floor_db / 10)


def parse_preset_weights(spec: str | dict[str, float] | None) -> dict[str, float]:
    """:data:`PRESET_WEIGHTS` with the changes in ``spec`` (``"clicks=4,gaps=1"`` or a dict)."""
    from echoes.data.degrade import PRESETS

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
        if k not in PRESETS or not (v >= 0 and math.isfinite(v)):
            raise ParameterError(f"preset weight {k}={v}: the name must be one of {', '.join(PRESETS)} "
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
    from echoes.data import degrade as D

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


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def load_clips(data: str | Path, split: str, *, piano: str | None = None, exclude_piano: str | None = None,
               limit: int | None = None) -> tuple[list[str], np.ndarray, list[dict]]:
    """Clean 5-s clips of a corpus folder (``manifest.json``) or a training pack (``pack.json``,
    see :func:`echoes.data.corpus.pack_corpus`): ids, ``(n, 110250)`` float32 at 22,050 Hz, metas."""
    from echoes.data import corpus

    if (Path(data) / "pack.json").is_file():
        audio, metas_all = corpus.load_pack(data, split)
        source = ((c["id"], a, c) for a, c in zip(audio, metas_all) if piano is None or c.get("piano") == piano)
    else:
        source = corpus.iter_clips(data, split, sample_rate=SR, seconds=5.0, piano=piano)
    ids, clips, metas = [], [], []
    for cid, audio, meta in source:
        if exclude_piano is not None and meta.get("piano") == exclude_piano:
            continue
        a = np.asarray(audio, dtype=np.float32)
        if a.ndim > 1:
            a = a.mean(axis=0)
        a = a[:CLIP_SAMPLES] if a.size >= CLIP_SAMPLES else np.pad(a, (0, CLIP_SAMPLES - a.size))
        ids.append(cid)
        clips.append(a)
        metas.append(dict(meta))
        if limit is not None and len(ids) >= limit:
            break
    if not ids:
        raise ParameterError(f"no {split} clips in '{data}'" + (f" for piano {piano!r}" if piano else ""))
    return ids, np.stack(clips), metas


class ExampleSet(torch.utils.data.Dataset):
    """Examples made on the fly: index ``i`` of epoch ``e`` is seeded by ``(seed, e, i)``.

    Even indices are clean, odd degraded. Degraded examples use only clips louder than
    :data:`MIN_DEGRADE_RMS_DBFS` (noise at an SNR relative to silence is no noise at all, and
    the label would be meaningless); clean examples use every clip, silent ones included.
    """

    def __init__(self, clips: np.ndarray, *, seed: int, n_examples: int, noise_dir: str | None,
                 noise_split: str = "train", augment: bool = True, presets: list[str] | None = None,
                 probs: dict[str, float] | None = None, preset_weights: dict[str, float] | None = None) -> None:
        self.clips, self.seed, self.n = clips, int(seed), int(n_examples)
        rms = np.sqrt(np.mean(np.asarray(clips, dtype=np.float64) ** 2, axis=1))
        self.loud = np.flatnonzero(20 * np.log10(np.maximum(rms, 1e-10)) > MIN_DEGRADE_RMS_DBFS)
        if self.loud.size == 0:
            raise ParameterError(f"every clip is quieter than {MIN_DEGRADE_RMS_DBFS} dBFS RMS")
        self.noise_dir, self.noise_split, self.augment = noise_dir, noise_split, augment
        self.presets = presets
        self.probs = probs
        self.preset_weights = preset_weights
        self.epoch = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        rng = np.random.default_rng([self.seed, self.epoch, i])
        k = i // 2 + self.epoch * 7919
        clip = self.clips[self.loud[k % self.loud.size]] if i % 2 else self.clips[k % len(self.clips)]
        preset = self.presets[(i // 2) % len(self.presets)] if self.presets else None
        y, label, _ = make_example(clip, rng, want_noisy=bool(i % 2), noise_dir=self.noise_dir,
                                   noise_split=self.noise_split, preset=preset, augment=self.augment,
                                   probs=self.probs, preset_weights=self.preset_weights)
        return torch.from_numpy(y), label


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def error_metrics(p_noisy: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Accuracy, false-noisy rate (clean called noisy), missed-noisy rate, confusion counts."""
    pred = np.asarray(p_noisy) >= threshold
    y = np.asarray(labels).astype(bool)
    tn, fp = int(np.sum(~y & ~pred)), int(np.sum(~y & pred))
    fn, tp = int(np.sum(y & ~pred)), int(np.sum(y & pred))
    n = tn + fp + fn + tp
    return {
        "windows": n, "clean_windows": tn + fp, "noisy_windows": fn + tp,
        "accuracy": (tn + tp) / n if n else float("nan"),
        "false_noisy_rate": fp / (tn + fp) if tn + fp else float("nan"),
        "missed_noisy_rate": fn / (fn + tp) if fn + tp else float("nan"),
        "confusion": {"clean_as_clean": tn, "clean_as_noisy": fp, "noisy_as_clean": fn, "noisy_as_noisy": tp},
    }


def choose_threshold(p_noisy: np.ndarray, labels: np.ndarray, *, false_weight: float = 4.0,
                     grid: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)) -> float:
    """The threshold of ``grid`` with the fewest validation errors, a clean window called noisy
    counting ``false_weight`` times; ties go to the value nearest 0.5."""
    p, y = np.asarray(p_noisy), np.asarray(labels).astype(bool)
    cost = [(float(np.sum(y & (p < t)) + false_weight * np.sum(~y & (p >= t))), abs(t - 0.5), t) for t in grid]
    return min(cost)[2]


def calibrate(weights: str | Path, data: str | Path, *, seed: int, val_examples: int, workers: int = 0,
              noise_dir: str | Path | None = None) -> dict[str, Any]:
    """Choose the threshold on the training run's validation set (same seed, same examples) and
    store it in ``weights/classifier.json``; returns the validation metrics at that threshold."""
    import json

    from echoes.core.checkpoint import read_config
    from echoes.restore.classify import Classifier

    _, val_clips, _ = load_clips(data, "val")
    if noise_dir is None and (Path(data) / "noise").is_dir():
        noise_dir = Path(data) / "noise"
    ds = ExampleSet(val_clips, seed=seed + 1_000_003, n_examples=val_examples,
                    noise_dir=str(noise_dir) if noise_dir else None)
    xs, ys = [], []
    for xb, yb in torch.utils.data.DataLoader(ds, batch_size=64, num_workers=workers,
                                              worker_init_fn=_worker_init if workers else None):
        xs.append(xb)
        ys.append(yb)
    clf = Classifier.load(weights)
    p = clf.window_probabilities(torch.cat(xs))
    y = torch.cat(ys).numpy()
    t = choose_threshold(p, y)
    m = error_metrics(p, y, t) | {"threshold": t, "at_0.5": error_metrics(p, y, 0.5)}
    cfg = read_config(weights, "classifier")
    cfg["threshold"] = t
    cfg.setdefault("metrics", {})["validation_calibrated"] = m
    (Path(weights) / "classifier.json").write_text(json.dumps(cfg, indent=2) + "\n")
    log.info("threshold %.2f: val accuracy %.5f false-noisy %.5f missed %.5f", t, m["accuracy"],
             m["false_noisy_rate"], m["missed_noisy_rate"])
    return m


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------


def train(
    *,
    data: str | Path,
    out: str | Path,
    seed: int = 0,
    epochs: int = 12,
    examples_per_epoch: int = 16384,
    val_examples: int = 2048,
    batch_size: int = 64,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    workers: int = 0,
    device: str = "cpu",
    noise_dir: str | Path | None = None,
    holdout_piano: str | None = None,
    limit_clips: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    init: str | Path | None = None,
    max_seconds: float | None = None,
    timbre: float = 0.0,
    preset_weights: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Train and save ``out/classifier.{safetensors,json}``; returns the training record.

    The best epoch so far is saved after every epoch that improves on it, so an interrupted
    run leaves usable weights. ``max_seconds`` stops after the epoch that passes it (the
    record says how many epochs were done). With ``workers`` > 1, set ``OPENBLAS_NUM_THREADS=1``
    (and ``OMP_NUM_THREADS=1``) in the environment: every worker would otherwise start a
    thread per core and the example making slows down several times.
    """
    from echoes.core.checkpoint import git_commit
    from echoes.restore.classify import Classifier
    from echoes.models.classifier import SpectrogramCNN, features
    from echoes.core.spectral import PAPER_STFT

    t0 = time.time()
    torch.manual_seed(seed)
    np.random.seed(seed)
    dev = torch.device(device)
    data = Path(data)
    if noise_dir is None:
        from echoes.data.degrade import default_noise_dir

        noise_dir = default_noise_dir(data)
    _, train_clips, train_meta = load_clips(data, "train", exclude_piano=holdout_piano, limit=limit_clips)
    _, val_clips, _ = load_clips(data, "val", exclude_piano=holdout_piano, limit=limit_clips)
    pianos = sorted({str(m.get("piano")) for m in train_meta})
    log.info("train clips %d (pianos %s), val clips %d, noise %s", len(train_clips), pianos, len(val_clips), noise_dir)

    if init is not None:  # continue from saved weights (fine-tuning)
        from echoes.core.checkpoint import load_model

        model = load_model(init, "classifier")[0].to(dev)
        log.info("starting from %s", init)
    else:
        model = SpectrogramCNN(**(model_kwargs or {})).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * math.ceil(examples_per_epoch / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    loss_fn = torch.nn.CrossEntropyLoss()
    if not 0.0 <= timbre <= 1.0:
        raise ParameterError(f"timbre must be a probability in [0, 1], got {timbre}")
    probs = {**CLEAN_AUG, "timbre": float(timbre)}
    pw = parse_preset_weights(preset_weights)
    ds = ExampleSet(train_clips, seed=seed, n_examples=examples_per_epoch, probs=probs, preset_weights=pw,
                    noise_dir=str(noise_dir) if noise_dir else None)
    # validation keeps the default preset weights, so runs with different --preset-weights compare
    val_ds = ExampleSet(val_clips, seed=seed + 1_000_003, n_examples=val_examples, probs=probs,
                        noise_dir=str(noise_dir) if noise_dir else None)
    loader_kw: dict[str, Any] = dict(batch_size=batch_size, num_workers=workers,
                                     worker_init_fn=_worker_init if workers else None,
                                     persistent_workers=False, pin_memory=dev.type == "cuda")
    # The validation set is fixed: make it once.
    vx, vy = [], []
    for xb, yb in torch.utils.data.DataLoader(val_ds, shuffle=False, **loader_kw):
        vx.append(xb)
        vy.append(yb)
    val_x, val_y = torch.cat(vx), torch.cat(vy).numpy()
    log.info("validation set: %d examples (%d noisy) in %.0f s", len(val_y), int(val_y.sum()), time.time() - t0)

    history: list[dict] = []
    best: tuple[float, dict, dict] | None = None

    def record(done: int) -> dict[str, Any]:
        return {
            "data": {
                "source": str(data), "train_clips": int(len(train_clips)), "val_clips": int(len(val_clips)),
                "pianos": pianos, "holdout_piano": holdout_piano, "clip_seconds": 5.0, "sample_rate": SR,
                "noise_dir": str(noise_dir) if noise_dir else None, "noise_split": "train",
                "examples_per_epoch": examples_per_epoch, "clean_share": 0.5,
                "preset_weights": pw, "clean_augmentations": probs,
                "codec_after_degrade": P_CODEC_AFTER, "digital_silence": P_DIGITAL_SILENCE,
                "peak_dbfs": list(PEAK_DBFS), "min_degrade_rms_dbfs": MIN_DEGRADE_RMS_DBFS,
                "label": "echoes.data.degrade.is_noisy (SNR < 30 dB, impulsive noise, band-limiting, dropouts, "
                         "level drops)",
            },
            "command": " ".join(["python -m echoes", *sys.argv[1:]]) if sys.argv and "echoes" in sys.argv[0] else None,
            "seed": seed, "epochs": epochs, "epochs_done": done, "init": str(init) if init else None,
            "best_epoch": best[2]["epoch"] if best else None, "batch_size": batch_size,
            "optimizer": {"name": "AdamW", "lr": lr, "weight_decay": weight_decay, "schedule": "one-cycle"},
            "device": str(dev), "commit": git_commit(), "seconds": round(time.time() - t0, 1),
            "history": list(history),
        }

    for epoch in range(epochs):
        ds.epoch = epoch
        model.train()
        te = time.time()
        total, n_seen = 0.0, 0
        g = torch.Generator().manual_seed(seed * 1000 + epoch)
        for xb, yb in torch.utils.data.DataLoader(ds, shuffle=True, generator=g, drop_last=True, **loader_kw):
            xb, yb = xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)
            with torch.no_grad():
                F = features(xb, PAPER_STFT)
            loss = loss_fn(model(F), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(yb)
            n_seen += len(yb)
        model.eval()
        clf = Classifier(model, device=dev)
        p = clf.window_probabilities(val_x)
        m = error_metrics(p, val_y)
        score = m["confusion"]["noisy_as_clean"] + 4 * m["confusion"]["clean_as_noisy"]
        rec = {"epoch": epoch + 1, "train_loss": total / max(n_seen, 1), "val_accuracy": m["accuracy"],
               "val_false_noisy_rate": m["false_noisy_rate"], "val_missed_noisy_rate": m["missed_noisy_rate"],
               "seconds": time.time() - te}
        history.append(rec)
        log.info("epoch %d: loss %.4f val acc %.5f false-noisy %.5f missed %.5f (%.0f s)", epoch + 1,
                 rec["train_loss"], m["accuracy"], m["false_noisy_rate"], m["missed_noisy_rate"], rec["seconds"])
        if best is None or score <= best[0]:
            best = (score, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, m | {"epoch": epoch + 1})
            _save(model, best, out=out, record=record(epoch + 1))
        if max_seconds is not None and time.time() - t0 > max_seconds and epoch + 1 < epochs:
            log.warning("stopping after epoch %d of %d: %.0f s time budget spent", epoch + 1, epochs, max_seconds)
            _finish(model, best, val_x, val_y, out=out, record=record(epoch + 1), dev=dev)
            return record(epoch + 1)
    log.info("saved %s (best epoch %d)", Path(out) / "classifier.json", best[2]["epoch"])
    _finish(model, best, val_x, val_y, out=out, record=record(epochs), dev=dev)
    return record(epochs)


def _finish(model, best, val_x, val_y, *, out, record, dev) -> None:
    """Reload the best epoch, choose the threshold on validation, save once more."""
    from echoes.restore.classify import Classifier

    model.load_state_dict(best[1])
    p = Classifier(model.eval(), device=dev).window_probabilities(val_x)
    t = choose_threshold(p, val_y)
    metrics = error_metrics(p, val_y, t) | {"threshold": t, "epoch": best[2]["epoch"]}
    _save(model, (best[0], best[1], metrics), out=out, record=record, threshold=t)
    log.info("threshold %.2f chosen on validation: accuracy %.5f false-noisy %.5f", t, metrics["accuracy"],
             metrics["false_noisy_rate"])


def _save(model, best, *, out, record, threshold: float = 0.5) -> None:
    from echoes.core.checkpoint import save_model
    from echoes.models.classifier import SpectrogramCNN
    from echoes.core.spectral import PAPER_STFT

    snapshot = SpectrogramCNN(**model.kwargs)
    snapshot.load_state_dict(best[1])
    save_model(snapshot.eval(), out, "classifier", extra={
        "stft": PAPER_STFT.to_dict(), "threshold": threshold, "aggregate": "quantile 0.75 of window p_noisy",
        "training": record, "metrics": {"validation": best[2]},
    })


def register(subparsers) -> None:
    p = subparsers.add_parser("classifier", help="train the noisy/clean classifier",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, metavar="DIR", help="corpus or training-pack folder")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for classifier.safetensors/.json")
    p.add_argument("--noise-dir", default=None, metavar="DIR", help="recorded noise clips (default DATA/noise)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--examples", type=int, default=16384, help="examples per epoch (half clean)")
    p.add_argument("--val-examples", type=int, default=2048)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=0, help="data-making processes")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--holdout-piano", default=None, help="piano left out of training (for the harder test)")
    p.add_argument("--limit-clips", type=int, default=None, help="use at most this many clips per split (smoke tests)")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after the epoch that passes this time")
    p.add_argument("--init", default=None, metavar="DIR", help="start from the classifier weights in DIR")
    p.add_argument("--channels", type=int, nargs=3, default=None, metavar="C",
                   help="output channels of the three convolutions (default 8 16 32)")
    p.add_argument("--hidden", type=int, default=None, help="width of the hidden fully connected layer (default 32)")
    p.add_argument("--timbre", type=float, default=0.0, metavar="P",
                   help="probability of the timbre augmentation (random tilt and resonance, clean and "
                        "noisy examples alike; default 0)")
    p.add_argument("--preset-weights", default=None, metavar="NAME=W,...",
                   help="change the relative weights of the presets for degraded training examples "
                        f"(default {','.join(f'{k}={v:g}' for k, v in PRESET_WEIGHTS.items())})")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    model_kwargs: dict[str, Any] = {}
    if args.channels:
        model_kwargs["channels"] = list(args.channels)
    if args.hidden:
        model_kwargs["hidden"] = args.hidden
    rec = train(model_kwargs=model_kwargs or None, data=args.data, out=args.out, seed=args.seed, epochs=args.epochs,
                examples_per_epoch=args.examples, val_examples=args.val_examples, batch_size=args.batch_size,
                lr=args.lr, workers=args.workers, device=args.device, noise_dir=args.noise_dir,
                holdout_piano=args.holdout_piano, limit_clips=args.limit_clips, max_seconds=args.max_seconds,
                init=args.init, timbre=args.timbre, preset_weights=args.preset_weights)
    print(f"trained {args.epochs} epochs in {rec['seconds']:.0f} s; best epoch {rec['best_epoch']}")
    return 0
