"""The de-noising table: do-nothing, noisereduce, the paper's CAE and the default model.

    python scripts/eval_denoise.py --corpus /work/data/corpus [--noise-dir DIR] [--weights DIR]
        [--clips 40] [--rate 44100] [--visqol] [--out results.json] [--threads 1]

Clips: 5-second windows of the corpus's held-out ``test`` split (pieces never trained on,
including the ``salamander`` piano that no training piece was played on), taken at the
corpus's own 44,100 Hz, at least -40 dBFS RMS, ``--clips`` of them spread evenly over the
split. Protocols, each clip seeded by its index:

* ``paper``: white Gaussian noise at 0 dB SNR added at 44.1 kHz (so it covers 0 to 22 kHz;
  about half of it lies above the models' 11 kHz band). Reference: the clean clip.
* ``gramophone``: :func:`echoes.data.degrade.degrade` with the ``gramophone`` preset and the
  *test* noise clips (``NOISE_SPLITS['test']``, never heard in training). Reference: the
  signal path (``info['reference']``: the music after the chain's band-limiting and wow, the
  thing a de-noiser can give back). Draws whose chain soft-clipped (no exact reference) are
  replaced by the next seed.

Metrics (:mod:`echoes.core.metrics`, all against the reference at 44.1 kHz): waveform SNR, SI-SDR,
MAE, the paper's STFT L1 loss, ViSQOL v3 MOS-LQO (``--visqol``; PyPI ``visqol-python``, audio
mode, signals resampled to 48 kHz and scaled so that the reference peaks at -1 dBFS:
:func:`echoes.core.metrics.visqol_moslqo`, as in ``echoes evaluate``), and speed as the realtime factor on this machine for
these 5-s clips one at a time: audio seconds per wall second (depends on the load of the shared
CPU, printed below the table) and per CPU-second of this process (with ``--threads 1``, what
one idle core gives). ``noisereduce`` runs with its defaults (non-stationary gating) and with
``stationary=True``. Rows also give the default model with the input's band above 11 kHz kept at
-20 dB and at 0 dB instead of dropped (see :mod:`echoes.restore.denoise`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from echoes.data import degrade as D
from echoes.core.audio import fit_length, resample
from echoes.core.metrics import all_metrics

log = logging.getLogger("eval_denoise")


def test_clips(corpus: str, count: int, rate: int) -> list[tuple[str, np.ndarray, dict]]:
    from echoes.data.corpus import iter_clips

    allc = list(iter_clips(corpus, "test", sample_rate=rate, seconds=5.0, min_rms_dbfs=-40.0))
    if not allc:
        raise SystemExit(f"no test clips in {corpus}")
    idx = np.unique(np.linspace(0, len(allc) - 1, min(count, len(allc))).round().astype(int))
    return [allc[i] for i in idx]


def degrade_clip(clean: np.ndarray, rate: int, protocol: str, seed: int, noise_dir: str | None):
    if protocol == "paper":
        y, _ = D.degrade(clean, rate, preset="paper", seed=seed)
        return y, clean
    for k in range(50):
        y, info = D.degrade(clean, rate, preset="gramophone", seed=seed + 100_000 * k, noise_dir=noise_dir,
                            noise_split="test")
        if info["reference"] is not None:
            return y, info["reference"]
    raise RuntimeError("no gramophone draw without soft clipping")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--noise-dir", default=None, help="recorded noise clips (default: CORPUS/noise or ../noise)")
    p.add_argument("--weights", default=None)
    p.add_argument("--clips", type=int, default=40)
    p.add_argument("--rate", type=int, default=44_100)
    p.add_argument("--protocols", default="paper,gramophone")
    p.add_argument("--visqol", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=None, help="JSON with every clip's figures and the table")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    nd = a.noise_dir
    if nd is None:
        for cand in (Path(a.corpus) / "noise", Path(a.corpus).parent / "noise"):
            if cand.is_dir():
                nd = str(cand)
                break
    if nd is None and "gramophone" in a.protocols:
        log.warning("no noise folder: the gramophone protocol runs without recorded noise")

    import noisereduce as nr

    from echoes.restore.denoise import Denoiser

    den = Denoiser.load("default", a.weights)
    cae = Denoiser.load("paper", a.weights)
    visqol = None
    if a.visqol:
        from echoes.core.metrics import visqol_available, visqol_moslqo

        if visqol_available():
            visqol = visqol_moslqo
        else:
            log.warning("ViSQOL unavailable (pip install visqol-python): skipped")
    rate = a.rate

    def high_band(y: np.ndarray) -> np.ndarray:
        return y - fit_length(resample(resample(y, rate, 22_050), 22_050, rate), y.shape[-1])

    methods = {
        "do-nothing": lambda y: y.copy(),
        "noisereduce": lambda y: nr.reduce_noise(y=y, sr=rate).astype(np.float32),
        "noisereduce (stationary)": lambda y: nr.reduce_noise(y=y, sr=rate, stationary=True).astype(np.float32),
        "paper CAE": lambda y: cae.denoise(y, rate),
        "default": lambda y: den.denoise(y, rate),
    }
    clips = test_clips(a.corpus, a.clips, rate)
    log.info("%d test clips at %d Hz; noise %s; weights %s", len(clips), rate, nd, den.config.get("sha256", "")[:12])
    rows: dict[tuple[str, str], list[dict]] = {}
    times: dict[tuple[str, str], float] = {}
    cpu: dict[tuple[str, str], float] = {}
    per_clip = []
    for proto in a.protocols.split(","):
        for i, (cid, clean, meta) in enumerate(clips):
            y, ref = degrade_clip(clean, rate, proto, seed=i, noise_dir=nd)
            y = y.astype(np.float32)
            outs = {}
            for name, fn in methods.items():
                t, c = time.perf_counter(), time.process_time()
                outs[name] = fn(y)
                times[(proto, name)] = times.get((proto, name), 0.0) + time.perf_counter() - t
                cpu[(proto, name)] = cpu.get((proto, name), 0.0) + time.process_time() - c
            hb = high_band(y)
            outs["default, high band kept -20 dB"] = outs["default"] + 0.1 * hb
            outs["default, high band kept 0 dB"] = outs["default"] + hb
            for name, est in outs.items():
                m = all_metrics(ref, est, sample_rate=rate)
                if visqol is not None:  # the same score as `echoes evaluate` (48 kHz, reference peak -1 dBFS)
                    m["visqol"] = visqol(ref, est, sample_rate=rate)
                rows.setdefault((proto, name), []).append(m)
                per_clip.append({"protocol": proto, "clip": cid, "piano": meta.get("piano"), "method": name, **m})
            log.info("%s %d/%d %s: in %.2f dB, default %.2f dB, CAE %.2f dB, noisereduce %.2f dB (SNR)", proto, i + 1,
                     len(clips), cid, rows[(proto, "do-nothing")][-1]["snr_db"], rows[(proto, "default")][-1]["snr_db"],
                     rows[(proto, "paper CAE")][-1]["snr_db"], rows[(proto, "noisereduce")][-1]["snr_db"])
    audio_s = 5.0 * len(clips)
    keys = ["snr_db", "si_sdr_db", "mae", "stft_l1"] + (["visqol"] if visqol is not None else [])
    table = []
    lines = ["| protocol | method | SNR dB | SI-SDR dB | SI-SDR gain dB | MAE | STFT L1 |"
             + (" ViSQOL MOS |" if visqol is not None else "") + " speed (x realtime: wall / per CPU-second) |",
             "|---|---|---|---|---|---|---|" + ("---|" if visqol is not None else "") + "---|"]
    for (proto, name), ms in rows.items():
        mean = {k: float(np.mean([m[k] for m in ms])) for k in keys}
        base = float(np.mean([m["si_sdr_db"] for m in rows[(proto, "do-nothing")]]))
        t = times.get((proto, name))
        speed = audio_s / t if t else None
        c = cpu.get((proto, name))
        cpu_speed = audio_s / c if c else None
        table.append({"protocol": proto, "method": name, "n": len(ms), **mean, "si_sdr_gain_db": mean["si_sdr_db"] - base,
                      "realtime_x": speed, "realtime_x_per_cpu_s": cpu_speed})
        cells = [proto, name, f"{mean['snr_db']:.2f}", f"{mean['si_sdr_db']:.2f}", f"{mean['si_sdr_db'] - base:+.2f}",
                 f"{mean['mae']:.5f}", f"{mean['stft_l1']:.4f}"]
        if visqol is not None:
            cells.append(f"{mean['visqol']:.2f}")
        cells.append(f"{speed:.0f} / {cpu_speed:.0f}" if speed and cpu_speed else "-")
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    print(text)
    print(f"\n{len(clips)} clips x 5 s per protocol at {rate} Hz; load average {os.getloadavg()[0]:.2f}; "
          f"torch threads {torch.get_num_threads()}")
    if a.out:
        Path(a.out).write_text(json.dumps({"table": table, "markdown": text, "clips": per_clip, "rate": rate,
                                           "noise_dir": nd, "weights": {"default": den.config.get("sha256"),
                                                                        "paper": cae.config.get("sha256")}},
                                          indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
