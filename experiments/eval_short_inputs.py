#!/usr/bin/env python
"""How the classifier judges inputs shorter than its 5-s window (validation data only).

Loud clips of the ``val`` split, clean and degraded (one example each, made as in training
by :func:`echoes.train.classifier.make_example`), are cut to 1.5, 2.5, 3.5 and 4.5 s at a
random place and judged as one window: at their own length (``native``, what
:meth:`echoes.restore.classify.Classifier.classify` does since the window rule of
:data:`echoes.restore.classify.MIN_FRAMES`), mirrored up to 5 s (``mirror``, the earlier rule) or
looped up to 5 s with 10-ms crossfades (``loop``). Prints, per weights folder, rule and
length, the clean cuts called noisy and the degraded cuts called clean at the stored threshold.

    python experiments/eval_short_inputs.py --data .devdata/pack weights [OTHER_WEIGHTS ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LENGTHS_S = (1.5, 2.5, 3.5, 4.5)
RULES = ("native", "mirror", "loop")


def _pad(x: np.ndarray, n: int, rule: str, sr: int) -> np.ndarray:
    if rule == "native":
        return x
    if rule == "mirror":
        return np.pad(x, (0, n - x.size), mode="symmetric")
    f = int(0.01 * sr)  # loop with 10-ms sin^2 crossfades
    r = np.sin(np.linspace(0, np.pi / 2, f)) ** 2
    out = x.copy()
    while out.size < n:
        out = np.concatenate([out[:-f], out[-f:] * (1 - r) + x[:f] * r, x[f:]])
    return out[:n]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", nargs="+")
    ap.add_argument("--data", required=True, help="corpus or training pack (its val split is used)")
    ap.add_argument("--noise-dir", default=None)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from echoes.train import classifier_examples as T, common as C
    from echoes.restore.classify import Classifier
    from echoes.data.degrade import default_noise_dir

    _, clips, _ = C.load_clips(args.data, "val")
    noise_dir = args.noise_dir or default_noise_dir(Path(args.data))
    rms = np.sqrt(np.mean(clips.astype(np.float64) ** 2, axis=1))
    loud = clips[20 * np.log10(np.maximum(rms, 1e-10)) > T.MIN_DEGRADE_RMS_DBFS]
    n = C.CLIP_SAMPLES
    rng = np.random.default_rng(args.seed)
    cuts = []  # (length, label, audio)
    for i, c in enumerate(loud):
        for want_noisy in (False, True):
            y, label, _ = T.make_example(c, np.random.default_rng([args.seed, i, int(want_noisy)]),
                                         want_noisy=want_noisy, noise_dir=str(noise_dir) if noise_dir else None)
            for length in LENGTHS_S:
                m = int(length * T.SR)
                off = int(rng.integers(0, n - m))
                cuts.append((length, label, np.asarray(y[off : off + m], dtype=np.float32)))
    print(f"{len(loud)} loud val clips; cuts of {', '.join(f'{x} s' for x in LENGTHS_S)}")
    for w in args.weights:
        clf = Classifier.load(w)
        for rule in RULES:
            p = np.array([clf.window_probabilities(_pad(a, n, rule, T.SR)[None])[0] for _, _, a in cuts])
            parts = []
            for length in LENGTHS_S:
                clean = np.array([(L == length and y == 0) for L, y, _ in cuts])
                noisy = np.array([(L == length and y == 1) for L, y, _ in cuts])
                parts.append(f"{length} s: clean called noisy {int(np.sum(p[clean] >= clf.threshold))}/{int(clean.sum())}, "
                             f"noisy called clean {int(np.sum(p[noisy] < clf.threshold))}/{int(noisy.sum())}")
            print(f"{w} (threshold {clf.threshold:.2f}) {rule:6s}  " + " | ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
