"""Figures for the app and the README: spectrograms, verdict timeline, waveform with gaps.

Everything uses Matplotlib's object API on the Agg canvas (no pyplot state), so figures can be
made from several threads at once (the app serves several users).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from echoes.core.audio import to_mono

#: Plot spectrograms up to this frequency (Hz) at most; historic recordings hold little above.
MAX_PLOT_HZ = 11_025
DB_RANGE = 80.0


def _spec_db(x: np.ndarray, sr: int, n_fft: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Magnitude in dB of a mono ``(samples,)`` signal: (db[freq, frame], freqs Hz, times s)."""
    import torch

    hop = n_fft // 4
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if t.shape[-1] < n_fft:
        t = torch.nn.functional.pad(t, (0, n_fft - t.shape[-1]))
    X = torch.stft(t, n_fft=n_fft, hop_length=hop, window=torch.hann_window(n_fft), return_complex=True)
    mag = X.abs().numpy()
    db = 20 * np.log10(np.maximum(mag, 1e-10))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    times = np.arange(mag.shape[1]) * hop / sr
    return db, freqs, times


def _save(fig: Figure, path: str | Path) -> str:
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return str(path)


def spectrogram_pair(before: np.ndarray, after: np.ndarray, sample_rate: int,
                     path_before: str | Path, path_after: str | Path) -> tuple[str, str]:
    """Two PNGs of ``(channels, samples)`` audio (mixed to mono) on the same colour scale
    (the loudest bin of *before* is 0 dB, 80 dB range) and the same frequency axis."""
    db_b, f, t = _spec_db(to_mono(before)[0] if before.ndim == 2 else before, sample_rate)
    db_a, _, _ = _spec_db(to_mono(after)[0] if after.ndim == 2 else after, sample_rate)
    ref = float(db_b.max())
    fmax = min(sample_rate / 2, MAX_PLOT_HZ)
    keep = f <= fmax
    out = []
    for db, title, path in ((db_b, "Before", path_before), (db_a, "After", path_after)):
        fig = Figure(figsize=(7, 3))
        ax = fig.add_subplot()
        im = ax.imshow(db[keep] - ref, origin="lower", aspect="auto", cmap="magma",
                       vmin=-DB_RANGE, vmax=0.0,
                       extent=(0, t[-1] if len(t) else 0, 0, f[keep][-1] / 1000))
        ax.set_title(title)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("frequency (kHz)")
        fig.colorbar(im, ax=ax, label="dB")
        out.append(_save(fig, path))
    return out[0], out[1]


def timeline(segments: Sequence[dict], duration_s: float, threshold: float, path: str | Path) -> str:
    """Per-window ``p_noisy`` at each window's centre, with the threshold line; the background is
    red where the nearest window is noisy (restored) and green where it is clean (untouched)."""
    fig = Figure(figsize=(7, 1.9))
    ax = fig.add_subplot()
    segs = sorted(segments, key=lambda s: s["start"])
    centres = [(s["start"] + s["end"]) / 2 for s in segs]
    bounds = [0.0] + [(a + b) / 2 for a, b in zip(centres[:-1], centres[1:])] + [max(duration_s, 1e-3)]
    for s, a, b in zip(segs, bounds[:-1], bounds[1:]):
        noisy = s["p_noisy"] >= threshold
        ax.axvspan(a, b, color="#e74c3c" if noisy else "#2ecc71", alpha=0.18, lw=0)
    if segs:
        ax.plot(centres, [s["p_noisy"] for s in segs], marker="o", ms=3, color="#2c3e50", lw=1)
    ax.axhline(threshold, color="k", lw=0.8, ls="--")
    ax.set_xlim(0, max(duration_s, 1e-3))
    ax.set_ylim(-0.05, 1.08)
    ax.set_yticks([0.0, 0.5, 1.0])
    ax.set_ylabel("p(noisy)")
    ax.set_xlabel("time (s)   red: judged noisy (restored)   green: judged clean (left untouched)")
    return _save(fig, path)


def waveform(before: np.ndarray, after: np.ndarray, sample_rate: int, gaps: Sequence[dict],
             path: str | Path, max_points: int = 4000) -> str:
    """Original waveform with detected gaps shaded, restored waveform with filled gaps marked."""
    b = to_mono(before)[0] if before.ndim == 2 else before
    a = to_mono(after)[0] if after.ndim == 2 else after
    fig = Figure(figsize=(7, 3.2))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, x, title in ((axes[0], b, "Original (gaps shaded)"), (axes[1], a, "Restored (filled gaps marked)")):
        n = len(x)
        step = max(1, n // max_points)
        m = (n // step) * step
        if m:
            blk = x[:m].reshape(-1, step)
            tt = np.arange(blk.shape[0]) * step / sample_rate
            ax.fill_between(tt, blk.min(1), blk.max(1), color="#34495e", lw=0)
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(title, fontsize=9)
        for g in gaps:
            if ax is axes[0]:
                ax.axvspan(g["start_s"], g["end_s"], color="#e67e22", alpha=0.4)
            else:
                ax.axvspan(g["start_s"], g["end_s"], color="#2980b9", alpha=0.35)
                ax.axvline((g["start_s"] + g["end_s"]) / 2, color="#2980b9", lw=0.8)
    axes[1].set_xlabel("time (s)")
    return _save(fig, path)
