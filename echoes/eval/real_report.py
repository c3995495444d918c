"""Run the real-recording sections and render them as the first tables of results.md.

:func:`run_real` loads DIR (:mod:`echoes.eval.real_material`) and runs
:mod:`echoes.eval.real`'s sections and the gap tables of :mod:`echoes.eval.real_gaps`; :func:`render_real` turns the results into markdown lines. Keys of the
returned dict: ``classifier``, ``denoise``, ``historic``, ``gaps``, ``highs`` (:mod:`echoes.eval.highs`;
each present when run).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from echoes.eval import real
from echoes.eval.denoise import denoise_methods
from echoes.eval.highs import highs_section, mono44, render_highs
from echoes.eval.real_gaps import real_gaps_section, render_real_gaps
from echoes.eval.real_material import load_role
from echoes.restore.classify import Classifier

log = logging.getLogger(__name__)


def run_real(real_dir: str | Path, *, weights, device: str = "cpu", quick: bool = False, seed: int = 0,
             sections: tuple[str, ...] = ("classifier", "denoise", "historic", "gaps", "highs")) -> dict[str, Any]:
    """Every real-recording section asked for (see the module docstring), timed."""
    limit = 30.0 if quick else None
    dev = load_role(real_dir, "dev", max_seconds=limit)
    historic = load_role(real_dir, "historic", max_seconds=limit)
    noise = load_role(real_dir, "noise")
    out: dict[str, Any] = {"dir": str(real_dir), "dev": [r.name for r in dev],
                           "historic_files": [r.name for r in historic], "quick": quick}
    if "classifier" in sections:
        log.info("real recordings: classifier")
        out["classifier"] = real.classifier_section(Classifier.load(weights, device=device), dev, historic,
                                                    quick=quick)
    methods = None
    if "denoise" in sections or "historic" in sections:
        methods = denoise_methods(weights, device)  # the 4 kHz low-pass among them
    if "denoise" in sections and noise:
        log.info("real recordings: de-noising under real noise")
        out["denoise"] = real.denoise_section(dev, noise, methods, quick=quick, seed=seed)
    if "historic" in sections:
        log.info("real recordings: historic transfers")
        out["historic"] = real.historic_section(historic, methods)
    if "gaps" in sections:
        log.info("real recordings: gap filling")
        out["gaps"] = real_gaps_section(dev, quick=quick, seed=seed)
    if "highs" in sections:
        log.info("real recordings: high-frequency extension")
        out["highs"] = highs_section([mono44(r.audio, r.sample_rate) for r in dev], quick=quick,
                                     names=[r.name for r in dev])
    return out


def _f(v: Any, nd: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def render_real(r: dict[str, Any]) -> list[str]:
    """Markdown lines for the real-recording sections present in ``r``."""
    L = ["## Real recordings", "",
         f"_Development recordings ({len(r['dev'])}, never trained on): {', '.join(r['dev'])}. "
         f"Historic transfers ({len(r['historic_files'])}): {', '.join(r['historic_files'])}._", ""]
    c = r.get("classifier")
    if c:
        L += ["### Classifier: clean real piano must stay clean", "",
              f"Windows of 5 s every 2.5 s; a window is noisy when the network's p_noisy reaches "
              f"{c['threshold']} or its spectrum stops at a band limit below 8 kHz.", "",
              "| variant | windows | judged noisy | files judged noisy |", "|---|---|---|---|"]
        for name, v in c["variants"].items():
            files = ", ".join(v["noisy_files"]) or "none"
            L.append(f"| {name} | {v['windows']} | {v['noisy_windows']} ({v['noisy_windows_pct']:.2f} %) | "
                     f"{len(v['noisy_files'])} of {v['files']} ({files}) |")
        L += ["", "| historic transfer | windows with sound | judged noisy | by the network alone | band limit | verdict |",
              "|---|---|---|---|---|---|"]
        for name, h in c["historic"].items():
            bl = f"{h['band_limit_hz']:.0f} Hz" if h["band_limit_hz"] else "none"
            L.append(f"| {name} | {h['windows_with_sound']} | {h['noisy']} ({h['noisy_pct']:.1f} %) | "
                     f"{h['network_noisy']} | {bl} | {h['verdict']} |")
        L.append("")
    d = r.get("denoise")
    if d:
        L += ["### De-noising real piano under real surface noise", "",
              f"{d['clips']} excerpts of {d['seconds_each']:g} s (mono, 44.1 kHz) of the development recordings, "
              f"each under one of the real noise recordings ({', '.join(d['noise'])}), looped. "
              "LSD: log-spectral distance (log10 power, n_fft 2048, hop 512, RMS over the band's bins, "
              "mean over frames with music); lower is better.", ""]
        for snr, table in d["snrs"].items():
            L += [f"Input SNR {snr} dB:", "",
                  "| method | SI-SDR (dB) | gain (dB) | ViSQOL | LSD 0-4 kHz | LSD 4-11 kHz | LSD 11-16 kHz | × realtime |",
                  "|---|---|---|---|---|---|---|---|"]
            for name, m in table.items():
                L.append(f"| {name} | {_f(m['si_sdr_db'])} | {_f(m['si_sdr_gain_db'])} | {_f(m.get('visqol_moslqo'))} | "
                         f"{_f(m['lsd 0-4 kHz'], 3)} | {_f(m['lsd 4-11 kHz'], 3)} | {_f(m.get('lsd 11-16 kHz'), 3)} | "
                         f"{_f(m['realtime_factor'], 1)} |")
            L.append("")
        if d.get("white"):
            L += ["The paper's protocol on the same excerpts (white Gaussian noise at 0 dB SNR, full band at 44.1 kHz):", "",
                  "| method | output SNR (dB) | SI-SDR (dB) |", "|---|---|---|"]
            L += [f"| {name} | {_f(m['snr_db'])} | {_f(m['si_sdr_db'])} |" for name, m in d["white"].items()]
            L.append("")
    h = r.get("historic")
    if h:
        L += ["### Historic transfers (no reference)", "",
              "Per band: the noise floor (quietest 10 % of 50-ms frames) and the loud frames (loudest 10 %) "
              "of the input, and how each method changes them (dB; negative is quieter).", "",
              "| transfer | band | floor | loud | " + " | ".join(
                  f"{m}: floor / loud" for m in next(iter(h.values()))["methods"]) + " |",
              "|---|---|---|---|" + "---|" * len(next(iter(h.values()))["methods"])]
        for name, v in h.items():
            for band, b in v["before"].items():
                cells = " | ".join(f"{x[band]['floor_change_db']:+.1f} / {x[band]['loud_change_db']:+.1f}"
                                   for x in v["methods"].values())
                L.append(f"| {name} | {band} | {b['floor_db']:.1f} | {b['loud_db']:.1f} | {cells} |")
        L.append("")
    if r.get("gaps"):
        L += render_real_gaps(r["gaps"])
    if r.get("highs"):
        L += render_highs(r["highs"], "development recordings")
    return L
