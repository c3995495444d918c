"""Default de-noiser weights side by side on the whole val split (development data, never test).

Every val-split clip of the corpus above -50 dBFS (the validation piano's, which no training
sees, and the training pianos' val pieces) becomes one example of
:func:`echoes.train.denoiser.validation_set` (seed 99): even rows 0 dB white noise, odd rows
the gramophone chain with the recorded noise of ``--noise-split``: by default ``dev``, the last
fifth of each training noise clip, which a run trained with ``--noise-split fit`` never heard
(weights trained on whole clips, like the shipped ones, have heard it: the check then leans
their way). Prints, per weights folder, the mean output
SNR per protocol and piano, then each folder's paired difference from the first one (mean and
95 % bootstrap interval resampling whole pieces); with ``--visqol`` the same for ViSQOL MOS-LQO
(:func:`echoes.core.metrics.visqol_moslqo`, about 0.3 s a clip).

    python experiments/compare_denoisers.py --corpus data/corpus --noise-dir ../shared/data/noise [--visqol] weights OTHER [...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from echoes.data import corpus as C
from echoes.train import denoiser as T
from echoes.core.checkpoint import load_model
from echoes.core.metrics import snr_db, visqol_moslqo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--noise-dir", required=True, help="noise folder (parts of its training clips are used)")
    ap.add_argument("--noise-split", default="dev", choices=["dev", "train"],
                    help="recorded noise of the gramophone examples (default dev)")
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--visqol", action="store_true", help="also compare ViSQOL MOS-LQO")
    ap.add_argument("weights", nargs="+", help="weights folders holding denoiser.*; the first is the reference")
    a = ap.parse_args()
    torch.set_num_threads(2)
    clips, pianos, pieces = [], [], []
    for _, audio, meta in C.iter_clips(a.corpus, "val", sample_rate=T.SR, min_rms_dbfs=T.MIN_RMS_DBFS):
        clips.append(audio)
        pianos.append(meta["piano"])
        pieces.append(meta["piece"])
    clips = np.stack(clips)
    order = T.validation_order(len(clips), seed=a.seed, count=len(clips))  # row j comes from clip order[j]
    pianos, pieces = np.array(pianos)[order], np.array(pieces)[order]
    vx, vt = T.validation_set(clips, seed=a.seed, noise_dir=a.noise_dir, count=len(clips), noise_split=a.noise_split)
    kinds = {"paper": slice(0, None, 2), "gramophone": slice(1, None, 2), "both": slice(None)}
    print(f"{len(clips)} val clips, {len(set(pieces))} pieces: "
          + ", ".join(f"{p} {int((pianos == p).sum())}" for p in sorted(set(pianos))))
    metrics = {"SNR": ("dB", snr_db)}
    if a.visqol:
        metrics["ViSQOL"] = ("MOS", lambda c, e: visqol_moslqo(c, e, sample_rate=T.SR))
    scores: dict[str, dict[str, np.ndarray]] = {m: {} for m in metrics}
    for folder in a.weights:
        net, _ = load_model(folder, "denoiser")
        net = net.float().eval()
        with torch.inference_mode():
            y = np.concatenate([net.enhance(torch.from_numpy(vx[b:b + 8])).numpy() for b in range(0, len(vx), 8)])
        for m, (unit, fn) in metrics.items():
            s = np.array([fn(c, e) for c, e in zip(vt, y)])
            scores[m][folder] = s
            for kind in ("paper", "gramophone"):
                sl = kinds[kind]
                per = " ".join(f"{p} {s[sl][pianos[sl] == p].mean():.2f}" for p in sorted(set(pianos)))
                print(f"{folder}: {m} {kind} {s[sl].mean():.3f} {unit} ({per})", flush=True)
    names = sorted(set(pieces))
    for m, (unit, _) in metrics.items():
        rng = np.random.default_rng(0)
        ref = scores[m][a.weights[0]]
        for folder in a.weights[1:]:
            d = scores[m][folder] - ref
            for kind, sl in kinds.items():
                dd, pp = d[sl], pieces[sl]
                by = {n: dd[pp == n] for n in names}
                boots = [np.concatenate([by[n] for n in rng.choice(names, size=len(names))]).mean()
                         for _ in range(a.boot)]
                lo, hi = np.percentile(boots, [2.5, 97.5])
                per = " ".join(f"{p} {dd[pianos[sl] == p].mean():+.2f}" for p in sorted(set(pianos)))
                print(f"{folder} - {a.weights[0]}: {m} {kind} {dd.mean():+.3f} {unit} [{lo:+.3f}, {hi:+.3f}] ({per})")

if __name__ == "__main__":
    main()
