"""``highs`` in ``echoes evaluate``: giving back the band a recording never captured (issue 32).

Protocol: each signal (mono, 44.1 kHz: the corpus's test pieces, or the real development
recordings) is band-limited by an 8th-order Butterworth low-pass (causal, ``scipy.signal``) at
4 and at 7 kHz. Against the clean signal we measure the log-spectral distance
(:func:`echoes.core.metrics.log_spectral_distance`: log10 power, n_fft 2048, hop 512, RMS over
the band's bins, mean over the frames with music, those within 40 dB of the loudest) in the
*missing* band (cutoff to 11.025 kHz) and in the *kept* band (0 to the cutoff), for:

- the band-limited input (what there is to improve on);
- every method of :data:`echoes.restore.highs.METHODS` (the learned model ``learned`` and the
  blind baseline ``band-replication``), told the cutoff (``given``) and
  finding it itself (``blind``: :func:`echoes.restore.highs.effective_bandwidth_hz`, whose
  estimates are listed).

Lower is better. The acceptance of issue 32 asks a learned model for a missing-band LSD at most
0.7 times the baseline's and a kept-band LSD within 0.05 of the input's. Numbers are means over
the signals; ``realtime_factor`` is seconds of audio per second of processing.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
from scipy.signal import butter, sosfilt

from echoes.core import metrics
from echoes.core.audio import resample
from echoes.restore.highs import METHODS, TOP_HZ, effective_bandwidth_hz, extend_highs

RATE = 44_100
#: The low-pass corners (Hz) the signals are band-limited at.
CUTOFFS = (4_000.0, 7_000.0)
#: The low-pass order.
ORDER = 8
#: Seconds of each signal used by a quick run.
QUICK_SECONDS = 20.0


def band_limit(x: np.ndarray, cutoff_hz: float, sample_rate: int = RATE) -> np.ndarray:
    """``x`` through an 8th-order Butterworth low-pass at ``cutoff_hz`` (float32)."""
    sos = butter(ORDER, cutoff_hz, fs=sample_rate, output="sos")
    return sosfilt(sos, np.asarray(x, dtype=np.float64)).astype(np.float32)


def music_frames(x: np.ndarray) -> np.ndarray:
    """Frames (n_fft 2048, hop 512, centred) within 40 dB of the loudest."""
    level = 10 * np.log10(metrics.power_frames(x).sum(axis=1) + 1e-20)
    return level > level.max() - 40.0


def mono44(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at 44.1 kHz."""
    x = np.asarray(audio, dtype=np.float32)
    x = x.mean(axis=0) if x.ndim == 2 else x
    return np.ascontiguousarray(resample(x, int(sample_rate), RATE) if sample_rate != RATE else x, dtype=np.float32)


def highs_section(signals: Sequence[np.ndarray], *, quick: bool, names: Sequence[str] | None = None,
                  cutoffs: Sequence[float] = CUTOFFS) -> dict[str, Any]:
    """LSD in the missing and kept bands per cutoff and method (module docstring). ``signals``:
    mono float32 at 44.1 kHz. Returns ``{"cutoffs": {hz: {"methods": {name: {"lsd_missing",
    "lsd_kept", "realtime_factor"}}, "estimated_cutoffs_hz": [...]}}, "signals", "seconds",
    "settings", "table_md"}``."""
    sigs = [np.asarray(s, dtype=np.float32)[: int(QUICK_SECONDS * RATE)] if quick else np.asarray(s, np.float32)
            for s in signals]
    seconds = float(sum(s.size for s in sigs)) / RATE
    out: dict[str, Any] = {}
    for c in cutoffs:
        acc: dict[str, dict[str, list[float]]] = {}
        estimates = []

        def add(name: str, clean: np.ndarray, est: np.ndarray, frames: np.ndarray, dt: float) -> None:
            a = acc.setdefault(name, {"lsd_missing": [], "lsd_kept": [], "t": []})
            a["lsd_missing"].append(metrics.log_spectral_distance(clean, est, sample_rate=RATE, band=(c, TOP_HZ),
                                                                  frames=frames))
            a["lsd_kept"].append(metrics.log_spectral_distance(clean, est, sample_rate=RATE, band=(0.0, c),
                                                               frames=frames))
            a["t"].append(dt)

        for x in sigs:
            frames = music_frames(x)
            lp = band_limit(x, c)
            add("band-limited input", x, lp, frames, 0.0)
            estimates.append(effective_bandwidth_hz(lp, RATE))
            for m in METHODS:
                for mode, cut in (("given", c), ("blind", None)):
                    t0 = time.perf_counter()
                    y, _ = extend_highs(lp, RATE, cutoff_hz=cut, method=m)
                    add(f"{m} ({mode} cutoff)", x, y, frames, time.perf_counter() - t0)
        out[str(int(c))] = {
            "methods": {k: {"lsd_missing": round(float(np.mean(v["lsd_missing"])), 4),
                            "lsd_kept": round(float(np.mean(v["lsd_kept"])), 4),
                            "realtime_factor": round(seconds / sum(v["t"]), 1) if sum(v["t"]) > 0 else None}
                        for k, v in acc.items()},
            "estimated_cutoffs_hz": [round(e, 1) for e in estimates],
        }
    res = {"cutoffs": out, "signals": list(names) if names else len(sigs), "seconds": round(seconds, 1),
           "settings": {"order": ORDER, "top_hz": TOP_HZ, "n_fft": 2048, "hop": 512, "rate": RATE,
                        "quick_seconds": QUICK_SECONDS if quick else None}}
    res["table_md"] = "\n".join(render_highs_table(res))
    return res


def render_highs_table(h: dict[str, Any]) -> list[str]:
    """Markdown lines: one table, a row per cutoff and method."""
    L = ["| low-pass | method | LSD missing band | LSD kept band | × realtime |", "|---|---|---|---|---|"]
    for c, v in h["cutoffs"].items():
        for name, m in v["methods"].items():
            rt = "-" if m["realtime_factor"] is None else f"{m['realtime_factor']:.0f}"
            L.append(f"| {int(c) / 1000:g} kHz | {name} | {m['lsd_missing']:.3f} | {m['lsd_kept']:.3f} | {rt} |")
    est = "; ".join(f"{int(c) / 1000:g} kHz: " + ", ".join(f"{e / 1000:.2f}" for e in v["estimated_cutoffs_hz"])
                    for c, v in h["cutoffs"].items())
    L += ["", f"Blind cutoff estimates (kHz; 11.03 means none found): {est}."]
    return L


def render_highs(h: dict[str, Any], where: str) -> list[str]:
    """The section's markdown: a heading, the protocol in a sentence, the table."""
    return ["", f"### High-frequency extension ({where})", "",
            f"{h['seconds']:.0f} s of audio, 8th-order Butterworth low-pass at each cutoff; log-spectral distance "
            "to the clean signal (log10 power, n_fft 2048, hop 512, RMS over the band's bins, mean over frames "
            "with music) in the missing band (cutoff to 11.025 kHz) and the kept band (0 to the cutoff); lower is "
            "better. learned is the trained model (echoes.restore.highs_model); band-replication is the blind "
            "*baseline* (echoes.restore.highs), not a learned model.", "",
            h["table_md"], ""]
