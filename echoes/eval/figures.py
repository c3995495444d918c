"""The figures of ``echoes evaluate``: PNG plots written beside results.md.

Contract: :func:`plots` reads the results dict of :func:`echoes.eval.run.run` and writes, where
the results hold the data, ``denoise_snr_gain.png`` (SNR gain in dB against the input SNR of
white Gaussian noise, one line per method) and ``inpaint_gap_snr.png`` (mean gap SNR in dB
against gap length in ms on a log axis, one line per method) into ``out`` at 110 dpi. It
returns the file names written, in that order, for results.md to link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from echoes.eval.inpaint import INPAINT_NAMES


def plots(results: dict[str, Any], out: Path) -> list[str]:
    """Draw the figures of ``results`` into ``out`` (PNG) and return their file names, in order:
    SNR gain against input SNR (``denoise_snr_gain.png``), gap SNR by length (``inpaint_gap_snr.png``)."""
    from matplotlib.figure import Figure  # optional and slow to import: only when drawing

    made = []
    sweep = results.get("denoise", {}).get("snr_sweep")
    if sweep:
        fig = Figure(figsize=(5.5, 3.5))
        ax = fig.add_subplot()
        xs = [float(k) for k in sweep]
        for name in next(iter(sweep.values())):
            ax.plot(xs, [sweep[k][name] for k in sweep], marker="o", label=name)
        ax.set_xlabel("input SNR (dB), white Gaussian noise, 44.1 kHz")
        ax.set_ylabel("SNR gain (dB)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.savefig(out / "denoise_snr_gain.png", dpi=110, bbox_inches="tight")
        made.append("denoise_snr_gain.png")
    per = results.get("inpaint", {}).get("gap_snr")
    if isinstance(per, dict) and per:
        fig = Figure(figsize=(5.5, 3.5))
        ax = fig.add_subplot()
        for method, by_len in per.items():
            if not isinstance(by_len, dict):
                continue
            ls = sorted(by_len, key=float)
            ax.plot([float(v) for v in ls], [by_len[k]["mean_db"] for k in ls], marker="o",
                    label=INPAINT_NAMES.get(method, method))
        ax.set_xscale("log")
        ax.set_xlabel("gap length (ms)")
        ax.set_ylabel("gap SNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.savefig(out / "inpaint_gap_snr.png", dpi=110, bbox_inches="tight")
        made.append("inpaint_gap_snr.png")
    return made
