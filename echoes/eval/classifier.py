"""The classifier's part of ``echoes evaluate``: accuracy per 5-second window, clean and degraded.

Contract: ``clips`` are clean mono float32 ``(samples,)`` at :data:`~echoes.eval.material.EVAL_RATE`
with music in them. Each clip is judged as is, 30 dB quieter and after a lossy Ogg round trip
(truth: clean), and once through every preset of :data:`echoes.data.degrade.PRESETS` (truth:
:func:`echoes.data.degrade.is_noisy` of the draw). Draws whose dropouts or level drops fall where
the clip is silent are replaced by the next seed, as in training. Seeds never repeat across
clips, presets, attempts and the three tests (``seed``, ``seed + 1``, ``seed + 2``) up to 10,000
clips, so a run is reproducible window by window.

Scores are reported twice: for the verdict (the network's ``p_noisy >= threshold``, or dropouts
found by the gap detector, or isolated clicks found by the AR-residual search) and for the
network alone. Percentages are rounded to 3 decimals.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import soundfile as sf

from echoes.core import audio as eaudio
from echoes.data.degrade import PRESETS, degrade, is_noisy
from echoes.eval.material import EVAL_RATE
from echoes.restore.classify import Classifier
from echoes.data.augment import audible_gaps


def ogg_round_trip(x: np.ndarray, sr: int) -> np.ndarray:
    """``x`` (mono float ``(samples,)``) through a lossy Ogg Vorbis file and back, float32, same length."""
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="OGG", subtype="VORBIS")
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    return eaudio.fit_length(y, len(x)).astype(np.float32)


def eval_classifier(clips: list[np.ndarray], *, weights=None, noise_dir=None, noise_split="train",
                    seed: int = 0, clip_ids: list[str] | None = None, threshold: float | None = None,
                    keep_windows: bool = False) -> dict[str, Any]:
    """Accuracy, false-noisy rate and confusion matrix over clean and degraded 5-second clips.

    ``noise_split`` picks the recorded noise clips the presets use: ``train`` (seen in training)
    for the main test on unseen pieces, ``test`` (never seen) for the harder test.
    ``threshold`` replaces the weights' own decision threshold (``float("inf")``: the network
    never decides, the dropout and click searches run on every window). ``keep_windows`` adds
    ``window_rows``: ``[condition, truly noisy, p_noisy, verdict noisy]`` per window, in order.
    """
    clf = Classifier.load(weights)
    if threshold is not None:
        clf.threshold = float(threshold)
    thr = clf.threshold
    redrawn: dict[str, int] = {}
    rows: list[tuple[str, bool, float, bool]] = []  # (condition, truly noisy, p_noisy, verdict noisy)
    t0 = time.perf_counter()

    errors: list[dict[str, Any]] = []  # every window the verdict got wrong, and what it held

    def judge(name: str, truth: bool, v: np.ndarray, i: int, info: dict | None = None) -> None:
        res = clf.classify(v.astype(np.float32), EVAL_RATE)
        rows.append((name, truth, res.p_noisy, res.verdict == "noisy"))
        if truth != res.noisy:
            e: dict[str, Any] = {"condition": name, "clip": clip_ids[i] if clip_ids else i,
                                 "truth": "noisy" if truth else "clean", "p_noisy": round(float(res.p_noisy), 4)}
            if info is not None:
                e["seed"] = info.get("seed")
                e["snr_db"] = None if info.get("snr_db") is None else round(float(info["snr_db"]), 2)
                e["effects"] = [x["name"] for x in info.get("effects", [])]
                clicks = [x["params"].get("count") for x in info.get("effects", []) if x["name"] == "clicks"]
                if clicks:
                    e["clicks"] = clicks[0]
            errors.append(e)

    for i, x in enumerate(clips):
        variants = {"clean": x, "clean quiet (-30 dB)": x * 10 ** (-30 / 20),
                    "clean ogg round trip": ogg_round_trip(x, EVAL_RATE)}
        for name, v in variants.items():
            judge(name, False, v, i)
        for k, preset in enumerate(PRESETS):
            # Dropouts or level drops that fall where the clip is silent change nothing: no
            # listener (or classifier) can hear them, so such draws are replaced by the next
            # seed, as in training (counted in ``redrawn``). Seeds never repeat across clips,
            # presets, attempts and the three tests (seed, seed + 1, seed + 2) up to 10,000 clips.
            for attempt in range(20):
                draw = seed * 10_000_000 + attempt * 100_000 + i * 10 + k
                y, info = degrade(x, EVAL_RATE, preset=preset, seed=draw, noise_dir=noise_dir,
                                  noise_split=noise_split)
                if audible_gaps(x, info):
                    break
                redrawn[preset] = redrawn.get(preset, 0) + 1
            judge(preset, bool(is_noisy(info)), eaudio.peak_safe(y.astype(np.float32)), i, info)  # as a file holds it
    secs = time.perf_counter() - t0
    truth = np.array([r[1] for r in rows])
    net = np.array([r[2] >= thr for r in rows])
    pred = np.array([r[3] for r in rows])

    def scores(pr: np.ndarray) -> dict[str, Any]:
        clean = ~truth
        return {
            "accuracy_pct": round(100 * float(np.mean(pr == truth)), 3),
            "false_noisy_pct": round(100 * float(np.mean(pr[clean])) if clean.any() else 0.0, 3),
            "missed_noisy_pct": round(100 * float(np.mean(~pr[truth])) if truth.any() else 0.0, 3),
            "confusion": {"clean_called_clean": int(np.sum(clean & ~pr)), "clean_called_noisy": int(np.sum(clean & pr)),
                          "noisy_called_clean": int(np.sum(truth & ~pr)), "noisy_called_noisy": int(np.sum(truth & pr))},
        }

    by: dict[str, dict[str, Any]] = {}
    for cond in dict.fromkeys(r[0] for r in rows):
        sel = np.array([r[0] == cond for r in rows])
        by[cond] = {"n": int(sel.sum()), "accuracy_pct": round(100 * float(np.mean(pred[sel] == truth[sel])), 3),
                    "called_noisy_pct": round(100 * float(np.mean(pred[sel])), 3),
                    "network_accuracy_pct": round(100 * float(np.mean(net[sel] == truth[sel])), 3)}
    return {
        "windows": len(rows), "threshold": thr,
        "verdict": "the classifier's verdict: the network's p_noisy >= threshold, or dropouts found by the gap "
                   "detector, or isolated clicks found by the AR-residual search",
        **scores(pred),
        "network": scores(net),
        "by_condition": by,
        "redrawn_inaudible_gaps": redrawn,
        "errors": errors,
        "seconds_per_window": round(secs / max(1, len(rows)), 4),
        **({"window_rows": [[c, bool(t), round(float(p), 6), bool(v)] for c, t, p, v in rows]} if keep_windows else {}),
    }
