"""Evaluation of gap detection and gap filling on clean recordings (seeded, repeatable).

Contract: signals are float ``(samples,)`` or ``(channels, samples)`` (mixed to mono) at one
``sample_rate`` in Hz. :func:`evaluate_inpainting` zeroes gaps placed at random non-silent
places (:func:`place_gaps`), fills the same gaps with every method, and reports the gap SNR
(:func:`gap_snr`, signal energy over error energy inside a gap, per gap capped at
:data:`SNR_CAP_DB`) per method and gap length, keyed by the registry's method names
(:data:`echoes.restore.gaps.fill.METHODS`; an alias such as ``burg2`` is reported as
``lsar``). :func:`evaluate_detection` scores :func:`~echoes.restore.gaps.detect.detect_gaps`
on planted dropouts and level drops, and counts false gaps on clean variants. The same seed
gives the same placements and numbers.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

import numpy as np

from echoes.core.signal import rms
from echoes.restore.gaps.detect import detect_gaps
from echoes.restore.gaps.fill import LONG_GAP_S, METHODS, canonical_method, fill_gaps
from echoes.restore.gaps.methods.base import gap_snr
from echoes.restore.gaps.spans import Gap, check_rate

__all__ = ["SNR_CAP_DB", "evaluate_detection", "evaluate_inpainting", "gap_snr", "place_gaps"]

log = logging.getLogger(__name__)


def _loud(x: np.ndarray, sr: int) -> float:
    """RMS of the loudest 10% of 10-ms frames of a ``(samples,)`` signal."""
    f = max(1, int(0.01 * sr))
    n = x.size // f
    if n == 0:
        return 0.0
    frame_rms = np.sqrt(np.mean(x[: n * f].reshape(n, f).astype(np.float64) ** 2, axis=1))
    return float(np.mean(np.sort(frame_rms)[-max(1, n // 10) :]))


def place_gaps(
    x: np.ndarray, sample_rate: int, length: int, count: int, *, margin: int, rng: np.random.Generator
) -> list[int]:
    """Random gap starts (samples) for evaluation, on a ``(samples,)`` signal.

    Rule: a gap of ``length`` samples is accepted where its RMS is at least -30 dB re the
    signal's loud level (the RMS of its loudest 10% of 10-ms frames), ``margin`` samples of
    signal exist on both sides, and it lies at least ``margin`` away from every other gap, so
    no method's context reaches another gap. Up to ``count`` gaps; fewer if the signal is short.
    """
    n = x.size
    loud = _loud(x, sample_rate)
    thr = loud * 10 ** (-30 / 20)
    starts: list[int] = []
    if n < length + 2 * margin + 1 or loud <= 0:
        return starts
    for _ in range(200 * count):
        if len(starts) >= count:
            break
        s = int(rng.integers(margin, n - margin - length))
        if np.sqrt(np.mean(x[s : s + length].astype(np.float64) ** 2)) < thr:
            continue
        if any(abs(s - t) < length + margin for t in starts):
            continue
        starts.append(s)
    return sorted(starts)


def damage(x: np.ndarray, sample_rate: int, length: int, count: int, *, margin: int,
           rng: np.random.Generator) -> tuple[list[Gap], np.ndarray]:
    """Gaps placed by :func:`place_gaps` and a copy of ``x`` with them zeroed: ``(gaps, damaged)``
    (no gap, and ``x`` itself, where none fits)."""
    gaps = [Gap(s, s + length, sample_rate)
            for s in place_gaps(x, sample_rate, length, count, margin=margin, rng=rng)]
    damaged = x.copy() if gaps else x
    for g in gaps:
        damaged[g.start : g.end] = 0.0
    return gaps, damaged


#: Per-gap SNRs are capped here in evaluation means (an exact copy has an infinite SNR).
SNR_CAP_DB = 60.0


def evaluate_detection(
    signals: Sequence[np.ndarray], sample_rate: int, *, dropouts_per_signal: int = 20,
    seed: int = 0, min_ms: float = 5.0, max_ms: float = 100.0,
) -> dict:
    """Precision and recall of :func:`detect_gaps` on planted dropouts, and false gaps on clean audio.

    Dropouts (zero runs of ``min_ms`` to ``max_ms``, uniform) are planted at random inside
    sound: the 20 ms around them and the removed audio above -30 dB re the loud level, and the
    5 ms beside each edge above -40 dB (a zero run in near-silence changes nothing). The same
    spans attenuated by 40 dB instead of zeroed measure level-drop recall; a detection matches a planted
    dropout when its span overlaps it by at least half of the larger of the two (IoU-like).
    Clean variants checked for false gaps: the signal itself, a cubic fade-out over its last
    third, one second of digital silence at both ends, and the whole signal 30 dB quieter.
    """
    rng = np.random.default_rng(seed)
    tp = fp = fn = 0
    false_clean: dict[str, int] = {"clean": 0, "fade_out": 0, "silence_ends": 0, "quiet": 0}
    level_tp = level_n = 0
    for sig in signals:
        x = np.asarray(sig, dtype=np.float32)
        x = x.mean(axis=0) if x.ndim == 2 else x
        n = x.size
        fade = x.copy()
        k = n // 3
        fade[-k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32) ** 3
        pad = np.zeros(sample_rate, dtype=np.float32)
        variants = {
            "clean": x,
            "fade_out": fade,
            "silence_ends": np.concatenate([pad, x, pad]),
            "quiet": x * np.float32(10 ** (-30 / 20)),
        }
        for name, v in variants.items():
            false_clean[name] += len(detect_gaps(v, sample_rate, min_ms=min_ms))
        loud = _loud(x, sample_rate)
        w = int(0.02 * sample_rate)
        planted: list[tuple[int, int]] = []
        y = x.copy()
        z = x.copy()
        for _ in range(100 * dropouts_per_signal):
            if len(planted) >= dropouts_per_signal:
                break
            length = int(rng.uniform(min_ms, max_ms) * sample_rate / 1000)
            s = int(rng.integers(w, max(w + 1, n - w - length)))
            e = s + length
            if e + w > n:
                continue
            if any(s < b + w and e + w > a for a, b in planted):
                continue
            around = np.concatenate([x[s - w : s], x[e : e + w]]).astype(np.float64)
            if np.sqrt(np.mean(around**2)) < loud * 10 ** (-30 / 20):
                continue
            # inside sound: what is removed, and the 5 ms beside each edge, must be audible
            if np.sqrt(np.mean(x[s:e].astype(np.float64) ** 2)) < loud * 10 ** (-30 / 20):
                continue
            if min(rms(x[s - w // 4 : s]), rms(x[e : e + w // 4])) < loud * 10 ** (-40 / 20):
                continue
            planted.append((s, e))
            y[s:e] = 0.0
            z[s:e] *= np.float32(10 ** (-40 / 20))
        for sig_, store in ((y, "dropout"), (z, "level")):
            found = [(g.start, g.end) for g in detect_gaps(sig_, sample_rate, min_ms=min_ms)]
            matched_f = set()
            hits = 0
            for a, b in planted:
                for j, (c, d) in enumerate(found):
                    ov = min(b, d) - max(a, c)
                    if ov > 0 and ov >= 0.5 * max(b - a, d - c):
                        matched_f.add(j)
                        hits += 1
                        break
            if store == "dropout":
                tp += hits
                fn += len(planted) - hits
                fp += len(found) - len(matched_f)
            else:
                level_tp += hits
                level_n += len(planted)
    return {
        "dropouts_planted": tp + fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "false_gaps_clean": false_clean,
        "level_drop_recall_40dB": level_tp / level_n if level_n else None,
    }


def evaluate_inpainting(
    signals: Sequence[np.ndarray],
    sample_rate: int,
    *,
    gap_ms: Sequence[float] = (10, 20, 50, 80, 150, 300, 500),
    gaps_per_signal: int = 10,
    short_gaps_per_signal: int | None = None,
    methods: Sequence[str] = METHODS,
    seed: int = 0,
    quick: bool = False,
    detection: bool = True,
) -> dict:
    """Gap SNR of each method at each gap length, and gap-detection scores.

    Parameters
    ----------
    signals : clean recordings, each ``(samples,)`` or ``(channels, samples)`` (mixed to mono).
    sample_rate : their common rate in Hz.
    gap_ms : gap lengths in milliseconds.
    gaps_per_signal : gaps placed per signal and length (see :func:`place_gaps`: non-silent
        places, at least 4 gap lengths + 0.2 s from each other and from the ends). All gaps of
        one length are zeroed together and filled in one :func:`fill_gaps` call per method.
    short_gaps_per_signal : the same for lengths under :data:`LONG_GAP_S` (cheap to fill, and
        where methods differ by about a decibel: more gaps narrow the comparison); default
        ``gaps_per_signal``.
    methods : methods to compare (names of :data:`~echoes.restore.gaps.fill.METHODS` or aliases).
    seed : seed of the gap placement (the placement for a length does not depend on methods).
    quick : 3 gaps per signal, lengths 20/80/300 ms, only the first 30 s of each signal, and
        fewer planted dropouts: a smoke run of a few seconds per method.
    detection : also run :func:`evaluate_detection`.

    Returns
    -------
    ``{"gap_snr": {method: {str(ms): {"mean_db", "pooled_db", "per_gap_db", "per_gap_signal", "n"}}},
    "time_per_gap_s": {method: {str(ms): seconds}}, "methods_used": {method: {str(ms): {name: count}}},
    "detection": {...}, "settings": {...}}``. ``mean_db`` averages per-gap SNRs in dB (each capped at 60 dB);
    ``pooled_db`` is the SNR of all gaps' samples together; ``per_gap_signal`` is the index of
    the signal each gap of ``per_gap_db`` lies in (for intervals that resample whole pieces).
    """
    methods = tuple(canonical_method(m) for m in methods)
    check_rate(sample_rate)
    if quick:
        gap_ms = tuple(ms for ms in gap_ms if ms in (20, 80, 300)) or tuple(gap_ms)[:3]
        gaps_per_signal = min(gaps_per_signal, 3)
        short_gaps_per_signal = None
    if short_gaps_per_signal is None:
        short_gaps_per_signal = gaps_per_signal
    mono = []
    for sig in signals:
        x = np.asarray(sig, dtype=np.float32)
        x = x.mean(axis=0) if x.ndim == 2 else x
        if quick:
            x = x[: 30 * sample_rate]
        mono.append(x)
    res: dict = {"gap_snr": {m: {} for m in methods}, "time_per_gap_s": {m: {} for m in methods},
                 "methods_used": {m: {} for m in methods}}
    for ms in gap_ms:
        length = int(round(ms * sample_rate / 1000))
        margin = 4 * length + int(0.2 * sample_rate)
        per_method: dict[str, list[float]] = {m: [] for m in methods}
        where: dict[str, list[int]] = {m: [] for m in methods}
        pooled: dict[str, list[float]] = {m: [0.0, 0.0] for m in methods}
        times: dict[str, float] = {m: 0.0 for m in methods}
        used: dict[str, dict[str, int]] = {m: {} for m in methods}
        n_gaps = 0
        for k, x in enumerate(mono):
            rng = np.random.default_rng([seed, int(ms * 1000), k])
            count = short_gaps_per_signal if ms < 1000 * LONG_GAP_S else gaps_per_signal
            gaps, damaged = damage(x, sample_rate, length, count, margin=margin, rng=rng)
            if not gaps:
                continue
            n_gaps += len(gaps)
            for m in methods:
                t = time.perf_counter()
                filled, done = fill_gaps(damaged, sample_rate, gaps, method=m)
                times[m] += time.perf_counter() - t
                for g in done:
                    c, f = x[g.start : g.end], filled[g.start : g.end]
                    per_method[m].append(min(gap_snr(c, f), SNR_CAP_DB))
                    where[m].append(k)
                    pooled[m][0] += float(np.sum(c.astype(np.float64) ** 2))
                    pooled[m][1] += float(np.sum((c.astype(np.float64) - f) ** 2))
                    used[m][g.method] = used[m].get(g.method, 0) + 1
        key = str(int(ms)) if float(ms).is_integer() else str(ms)
        for m in methods:
            v = per_method[m]
            res["gap_snr"][m][key] = {
                "mean_db": float(np.mean(v)) if v else None,
                "pooled_db": float(min(SNR_CAP_DB, 10 * np.log10(pooled[m][0] / pooled[m][1])))
                if pooled[m][1] > 0 else SNR_CAP_DB,
                "per_gap_db": [round(s, 3) for s in v],
                "per_gap_signal": where[m],
                "n": len(v),
            }
            res["time_per_gap_s"][m][key] = times[m] / n_gaps if n_gaps else None
            res["methods_used"][m][key] = used[m]
        log.info("gap %s ms: %s", key, ", ".join(
            f"{m} {res['gap_snr'][m][key]['mean_db']:.2f} dB" for m in methods if per_method[m]))
    if detection:
        res["detection"] = evaluate_detection(
            mono, sample_rate, dropouts_per_signal=5 if quick else 20, seed=seed)
    res["settings"] = {"gap_ms": list(gap_ms), "gaps_per_signal": gaps_per_signal,
                       "short_gaps_per_signal": short_gaps_per_signal, "seed": seed,
                       "quick": quick, "sample_rate": sample_rate, "signals": len(mono)}
    return res
