"""``echoes evaluate --real DIR``: the classifier, the de-noisers and historic transfers on real recordings.

DIR is laid out like ``../shared/data/real`` (:mod:`echoes.eval.real_material`). Sections:

- :func:`classifier_section`: every development recording (``clean/dev``) as it is and in every
  variant of :mod:`echoes.eval.codecs` (MP3 64/128/320 kbit/s, Ogg, 16 to 96 kHz): windows and
  files judged noisy (should be none); every historic transfer: the share of its windows with
  sound (RMS above :data:`SOUND_DBFS`) judged noisy (should be all).
- :func:`denoise_section`: excerpts of the development recordings (mono, 44.1 kHz) under the
  real surface noise of ``noise/`` at :data:`NOISE_SNRS_DB`; per method SI-SDR, its gain,
  ViSQOL and the log-spectral distance in 0-4, 4-11 and 11-16 kHz (frames with music); and the
  paper's protocol on the same excerpts (white Gaussian noise at 0 dB SNR, output SNR).
- :func:`historic_section`: each historic transfer (mono, its own rate) before and after each
  method: per band the noise floor (mean level of the quietest 10 % of 50-ms frames) and the
  loud-frame level (the loudest 10 %), in dB.
Methods beside the models: do-nothing, a 4 kHz low-pass (8th-order Butterworth, zero phase) and
noisereduce. Every draw is seeded; ``quick`` cuts recordings to 30 s and uses fewer variants.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import numpy as np

from echoes.core import audio as eaudio
from echoes.core import metrics
from echoes.data.degrade import add_noise_at_snr
from echoes.data.degrade.recorded import loop_noise
from echoes.eval.codecs import VARIANTS, variant
from echoes.eval.real_material import Recording
from echoes.restore.classify import Classifier

log = logging.getLogger(__name__)

#: A window "has sound" when its RMS is above this (dBFS).
SOUND_DBFS = -50.0
#: The real-noise protocol's input SNRs (dB, noise against the clean excerpt).
NOISE_SNRS_DB = (5.0, 15.0)
#: De-noising excerpts: this long (s), this many per recording (quick: 1 of 5 s).
EXCERPT_S, EXCERPTS = 10.0, 3
#: Bands (Hz) for the log-spectral distance and for the historic levels.
LSD_BANDS = {"0-4 kHz": (0.0, 4_000.0), "4-11 kHz": (4_000.0, 11_025.0), "11-16 kHz": (11_025.0, 16_000.0)}
#: The paper's protocol: white Gaussian noise at this SNR (dB); its score is the output SNR.
WHITE_SNR_DB = 0.0
HISTORIC_BANDS = {"< 1 kHz": (0.0, 1_000.0), "1-4 kHz": (1_000.0, 4_000.0), "4-11 kHz": (4_000.0, 11_025.0)}
QUICK_VARIANTS = ("as_is", "mp3_128", "ogg", "sr_16000", "sr_48000")
RATE = 44_100


def _window_sound(mono: np.ndarray, sr: int, segments) -> list[bool]:
    out = []
    for s in segments:
        seg = mono[int(s.start * sr) : max(int(s.end * sr), int(s.start * sr) + 1)].astype(np.float64)
        out.append(10 * np.log10(np.mean(seg * seg) + 1e-20) > SOUND_DBFS)
    return out


def classifier_section(clf: Classifier, dev: list[Recording], historic: list[Recording], *,
                       quick: bool) -> dict[str, Any]:
    """False-noisy windows and files per variant of the development recordings; noisy windows
    with sound per historic transfer. Window verdicts: :meth:`ClassifierResult.noisy_windows`."""
    thr = clf.threshold
    out: dict[str, Any] = {"threshold": thr, "variants": {}, "historic": {}}
    for name in (QUICK_VARIANTS if quick else VARIANTS):
        windows = noisy = 0
        noisy_files: list[str] = []
        by_file: dict[str, list[float]] = {}
        for rec in dev:
            x, sr = variant(rec.audio, rec.sample_rate, name)
            r = clf.classify(x, sr)
            flags = r.noisy_windows(thr)
            windows += len(flags)
            noisy += sum(flags)
            if any(flags):
                by_file[rec.name] = [s.start for s, f in zip(r.segments, flags) if f]
            if r.noisy:
                noisy_files.append(rec.name)
        out["variants"][name] = {"windows": windows, "noisy_windows": noisy,
                                 "noisy_windows_pct": round(100.0 * noisy / max(windows, 1), 2),
                                 "files": len(dev), "noisy_files": noisy_files, "noisy_window_starts_s": by_file}
        log.info("classifier on dev %s: %d of %d windows noisy, files %s", name, noisy, windows, noisy_files)
    for rec in historic:
        r = clf.classify(rec.audio, rec.sample_rate)
        sound = _window_sound(rec.mono, rec.sample_rate, r.segments)
        flags = r.noisy_windows(thr)
        with_sound = sum(sound)
        hit = sum(f for f, s in zip(flags, sound) if s)
        out["historic"][rec.name] = {
            "windows_with_sound": with_sound, "noisy": hit,
            "noisy_pct": round(100.0 * hit / max(with_sound, 1), 1), "verdict": r.verdict,
            "band_limit_hz": r.band_limit_hz,
            "network_noisy": sum(s.p_noisy >= thr for s, w in zip(r.segments, sound) if w),
        }
    return out


def _excerpts(rec: Recording, count: int, seconds: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Up to ``count`` loud, non-overlapping excerpts of ``seconds`` (mono, 44.1 kHz)."""
    x = eaudio.resample(rec.mono, rec.sample_rate, RATE).reshape(-1)
    n = int(seconds * RATE)
    if x.size < n:
        return [x] if x.size > RATE else []
    starts = np.arange(0, x.size - n + 1, n)
    loud = [s for s in starts if 10 * np.log10(np.mean(x[s : s + n].astype(np.float64) ** 2) + 1e-20) > -40]
    pick = rng.permutation(loud)[:count] if loud else []
    return [x[s : s + n].astype(np.float32) for s in sorted(pick)]


def _music_frames(x: np.ndarray, hop: int = 512) -> np.ndarray:
    """Frames (hop 512, centred) whose 2048-sample neighbourhood is within 40 dB of the loudest."""
    P = metrics.power_frames(x).sum(axis=1)
    level = 10 * np.log10(P + 1e-20)
    return level > level.max() - 40.0


def denoise_section(dev: list[Recording], noise: list[Recording], methods: dict[str, Callable], *,
                    quick: bool, seed: int = 0) -> dict[str, Any]:
    """Real clean excerpts under real surface noise: per SNR and method, mean SI-SDR, its gain over
    the input, ViSQOL (where installed) and the LSD per band; the realtime factor per method."""
    rng = np.random.default_rng(seed)
    count, seconds = (1, 5.0) if quick else (EXCERPTS, EXCERPT_S)
    clips = [(rec.name, c) for rec in dev for c in _excerpts(rec, count, seconds, rng)]
    noises = [(n.name, eaudio.resample(n.mono, n.sample_rate, RATE).reshape(-1)) for n in noise]
    use_visqol = metrics.visqol_available()
    res: dict[str, Any] = {"clips": len(clips), "seconds_each": seconds, "noise": [n for n, _ in noises],
                           "snrs": {}}
    for snr in NOISE_SNRS_DB:
        rows: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
        secs = {m: 0.0 for m in methods}
        for i, (_, x) in enumerate(clips):
            nname, clip = noises[i % len(noises)]
            nz, _ = loop_noise(clip, x.size, rng, sample_rate=RATE)
            y = add_noise_at_snr(x, nz.astype(np.float32), snr)[0].astype(np.float32)
            music = _music_frames(x)
            for name, fn in methods.items():
                t = time.perf_counter()
                est = np.asarray(fn(y), dtype=np.float32).reshape(-1)[: x.size]
                secs[name] += time.perf_counter() - t
                m = {"si_sdr_db": metrics.si_sdr_db(x, est)}
                for band, (lo, hi) in LSD_BANDS.items():
                    m[f"lsd {band}"] = metrics.log_spectral_distance(x, est, sample_rate=RATE, band=(lo, hi),
                                                                     frames=music)
                m["visqol_moslqo"] = metrics.visqol_moslqo(x, est, sample_rate=RATE) if use_visqol else None
                rows[name].append(m)
        table = {}
        for name, rr in rows.items():
            table[name] = {k: (round(float(np.mean([r[k] for r in rr])), 3) if rr and rr[0][k] is not None else None)
                           for k in (rr[0] if rr else {})}
            table[name]["realtime_factor"] = (None if name == "do-nothing" else
                                              round(len(clips) * seconds / max(secs[name], 1e-9), 1))
        base = table["do-nothing"]["si_sdr_db"]
        for name in table:
            table[name]["si_sdr_gain_db"] = round(table[name]["si_sdr_db"] - base, 3)
        res["snrs"][f"{snr:g}"] = table
    res["white"] = _white_protocol(clips, methods, rng)
    return res


def _white_protocol(clips: list[tuple[str, np.ndarray]], methods: dict[str, Callable],
                    rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """The paper's protocol on real excerpts: white Gaussian noise at :data:`WHITE_SNR_DB` over
    each excerpt; per method the mean output SNR and SI-SDR (dB)."""
    rows: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
    for _, x in clips:
        noise = rng.standard_normal(x.size).astype(np.float32)
        y = add_noise_at_snr(x, noise, WHITE_SNR_DB)[0].astype(np.float32)
        for name, fn in methods.items():
            est = np.asarray(fn(y), dtype=np.float32).reshape(-1)[: x.size]
            rows[name].append((metrics.snr_db(x, est), metrics.si_sdr_db(x, est)))
    return {name: {"snr_db": round(float(np.mean([a for a, _ in rr])), 3),
                   "si_sdr_db": round(float(np.mean([b for _, b in rr])), 3),
                   "input_snr_db": WHITE_SNR_DB} for name, rr in rows.items()}


def band_levels(x: np.ndarray, sr: int, *, frame_s: float = 0.05) -> dict[str, dict[str, float]]:
    """Per band of :data:`HISTORIC_BANDS`: ``floor_db`` (quietest 10 % of 50-ms frames by broadband
    level, frames of digital silence left out) and ``loud_db`` (loudest 10 %), power in dB."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = int(frame_s * sr)
    m = x.size // n
    frames = x[: m * n].reshape(m, n) * np.hanning(n)
    P = np.abs(np.fft.rfft(frames, axis=1)) ** 2 / n
    f = np.fft.rfftfreq(n, 1.0 / sr)
    total = 10 * np.log10(P.sum(axis=1) + 1e-20)
    keep = np.flatnonzero(total > -150.0 + 10 * np.log10(n))  # not digital silence
    order = keep[np.argsort(total[keep])]
    k = max(1, order.size // 10)
    quiet, loud = order[:k], order[-k:]
    out = {}
    for band, (lo, hi) in HISTORIC_BANDS.items():
        sel = (f >= lo) & (f < min(hi, sr / 2))
        if not sel.any():
            continue
        b = P[:, sel].sum(axis=1)
        out[band] = {"floor_db": round(float(10 * np.log10(b[quiet].mean() + 1e-20)), 2),
                     "loud_db": round(float(10 * np.log10(b[loud].mean() + 1e-20)), 2)}
    return out


def historic_section(historic: list[Recording], methods: dict[str, Callable]) -> dict[str, Any]:
    """Each transfer (mono, resampled to 44.1 kHz) before and after each method: :func:`band_levels`,
    and the change of each figure against the input (dB; negative is quieter)."""
    out: dict[str, Any] = {}
    for rec in historic:
        x = eaudio.resample(rec.mono, rec.sample_rate, RATE).reshape(-1).astype(np.float32)
        before = band_levels(x, RATE)
        per = {}
        for name, fn in methods.items():
            if name == "do-nothing":
                continue
            after = band_levels(np.asarray(fn(x), dtype=np.float32).reshape(-1)[: x.size], RATE)
            per[name] = {band: {"floor_change_db": round(after[band]["floor_db"] - v["floor_db"], 2),
                                "loud_change_db": round(after[band]["loud_db"] - v["loud_db"], 2)}
                         for band, v in before.items()}
        out[rec.name] = {"before": before, "methods": per}
    return out
