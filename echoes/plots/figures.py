"""The app's figures: spectrograms before/after, verdict timeline, waveform with gaps.

Everything uses Matplotlib's object API on the Agg canvas (no pyplot state), so figures can be
made from several threads at once (the app serves several users). Figures are drawn at the size
they are shown (about 1200 px wide) and keep a margin on every side, so no label is cut or
covered by the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from echoes.core.audio import to_mono

DB_RANGE = 80.0
WIDTH_IN = 12.0
FONT = 11


def _mono(x: np.ndarray) -> np.ndarray:
    return to_mono(x)[0] if np.ndim(x) == 2 else np.asarray(x)


def _spec_db(x: np.ndarray, sr: int, n_fft: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Magnitude in dB of a mono ``(samples,)`` signal: (db[freq, frame], freqs Hz, times s)."""
    import torch

    n_fft = int(n_fft * max(1, round(sr / 44100)))  # the same resolution in Hz at 88.2/96 kHz
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
    fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.25, facecolor="white")
    return str(path)


def spectrograms(before: np.ndarray, after: np.ndarray, sample_rate: int, path: str | Path,
                 generated: dict | None = None) -> str:
    """One PNG: the spectrogram before (top) and after (bottom), ``(channels, samples)`` audio
    mixed to mono, from 0 Hz up to the input's Nyquist frequency, on one colour scale (the
    loudest bin of *before* is 0 dB, 80 dB range) with one colour bar. ``generated`` (the
    report's ``highs`` entry): when it says a band was generated, the *after* panel marks it
    (dashed lines at its edges and a label naming the method)."""
    db_b, f, t = _spec_db(_mono(before), sample_rate)
    db_a, _, _ = _spec_db(_mono(after), sample_rate)
    ref = float(db_b.max())
    nyq = sample_rate / 2000
    fig = Figure(figsize=(WIDTH_IN, 6.4), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    im = None
    for ax, db, title in ((axes[0], db_b, "Before"), (axes[1], db_a, "After")):
        im = ax.imshow(db - ref, origin="lower", aspect="auto", cmap="magma", vmin=-DB_RANGE, vmax=0.0,
                       extent=(0, t[-1] if len(t) else 0, 0, nyq), interpolation="nearest")
        ax.set_title(f"{title}: 0 to {nyq:g} kHz (the input's Nyquist frequency)", fontsize=FONT, loc="left")
        ax.set_ylabel("frequency (kHz)", fontsize=FONT)
        ax.tick_params(labelsize=FONT - 1)
    axes[1].set_xlabel("time (s)", fontsize=FONT)
    if generated and generated.get("generated"):
        lo, hi = generated["from_hz"] / 1000, generated["to_hz"] / 1000
        for edge in (lo, hi):
            axes[1].axhline(edge, color="#00e5ff", lw=1.2, ls="--")
        axes[1].text(0.005, (lo + hi) / 2, f" generated {lo:.2f}-{hi:.2f} kHz ({generated['method']}) ",
                     transform=axes[1].get_yaxis_transform(), va="center", ha="left", fontsize=FONT - 1,
                     color="#00363d", bbox=dict(facecolor="white", edgecolor="none", alpha=0.75, pad=1))
    cb = fig.colorbar(im, ax=list(axes), shrink=0.9, pad=0.01)
    cb.set_ticks([0, -20, -40, -60, -80])
    cb.set_label("level (dB below the loudest bin before)", fontsize=FONT)
    cb.ax.tick_params(labelsize=FONT - 1)
    return _save(fig, path)


def timeline(segments: Sequence[dict], duration_s: float, threshold: float, path: str | Path) -> str:
    """Per-window ``p_noisy`` at each window's centre, with the labelled threshold line; the
    background is red where the nearest window is noisy (restored) and green where it is clean."""
    fig = Figure(figsize=(WIDTH_IN, 2.4), layout="constrained")
    ax = fig.add_subplot()
    segs = sorted(segments, key=lambda s: s["start"])
    centres = [(s["start"] + s["end"]) / 2 for s in segs]
    end = max(duration_s, 1e-3)
    bounds = [0.0] + [(a + b) / 2 for a, b in zip(centres[:-1], centres[1:])] + [end]
    for s, a, b in zip(segs, bounds[:-1], bounds[1:]):
        noisy = s["p_noisy"] >= threshold
        ax.axvspan(a, b, color="#e74c3c" if noisy else "#2ecc71", alpha=0.18, lw=0)
    if segs:
        ax.plot(centres, [s["p_noisy"] for s in segs], marker="o", ms=4, color="#2c3e50", lw=1.2)
    ax.axhline(threshold, color="k", lw=0.9, ls="--")
    ax.text(0.995, threshold, f" threshold {threshold:.2f}: above it a window is noisy ",
            transform=ax.get_yaxis_transform(), ha="right", va="bottom", fontsize=FONT - 1,
            bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))
    ax.set_xlim(0, end)
    ax.set_ylim(-0.05, 1.12)
    ax.set_yticks([0.0, 0.5, 1.0])
    ax.tick_params(labelsize=FONT - 1)
    ax.set_ylabel("p(noisy)", fontsize=FONT)
    ax.set_title("Verdict per 5-s window: red judged noisy (restored), green judged clean (left untouched)",
                 fontsize=FONT, loc="left")
    ax.set_xlabel("time (s)", fontsize=FONT)
    return _save(fig, path)


def waveform(before: np.ndarray, after: np.ndarray, sample_rate: int, gaps: Sequence[dict],
             path: str | Path, max_points: int = 4000) -> str:
    """Original waveform with detected gaps shaded, restored waveform with filled gaps marked;
    the vertical axis is scaled to the louder of the two (a quiet transfer is not a flat line)."""
    b, a = _mono(before), _mono(after)
    peak = max(float(np.max(np.abs(b))) if b.size else 0.0, float(np.max(np.abs(a))) if a.size else 0.0, 1e-4)
    fig = Figure(figsize=(WIDTH_IN, 4.2), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    peak_db = 20 * np.log10(peak)
    titles = (f"Original (gaps shaded orange); vertical scale: the peak, {peak:.2f} ({peak_db:.1f} dBFS)",
              "Restored (filled gaps in blue)")
    for ax, x, title in ((axes[0], b, titles[0]), (axes[1], a, titles[1])):
        n = len(x)
        step = max(1, n // max_points)
        m = (n // step) * step
        if m:
            blk = x[:m].reshape(-1, step)
            tt = np.arange(blk.shape[0]) * step / sample_rate
            ax.fill_between(tt, blk.min(1), blk.max(1), color="#34495e", lw=0)
        ax.set_ylim(-1.1 * peak, 1.1 * peak)
        ax.set_xlim(0, max(n / sample_rate, 1e-3))
        ax.set_title(title, fontsize=FONT, loc="left")
        ax.tick_params(labelsize=FONT - 1)
        for g in gaps:
            if ax is axes[0]:
                ax.axvspan(g["start_s"], g["end_s"], color="#e67e22", alpha=0.45)
            else:
                ax.axvspan(g["start_s"], g["end_s"], color="#2980b9", alpha=0.35)
                ax.axvline((g["start_s"] + g["end_s"]) / 2, color="#2980b9", lw=0.8)
    axes[1].set_xlabel("time (s)", fontsize=FONT)
    return _save(fig, path)
