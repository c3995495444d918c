#!/usr/bin/env python
"""Compare classifier weights on one common validation set (never the test split).

Each candidate folder (``classifier.safetensors`` + ``.json``) is judged on the same examples
of the ``val`` split, made by :class:`echoes.train.classifier.ExampleSet` (default preset
weights and clean augmentations, seed ``--seed``), network alone, at the threshold stored in
its config; plus the grey zone: hiss alone at fixed SNRs around the 30 dB line, share called
noisy (under 30 dB the truth is noisy); and the threshold
:func:`echoes.train.classifier.choose_threshold` would pick on this set. This is how a fine-tune is kept or dropped: it must
not call more clean windows noisy than the shipped weights and must make fewer errors.

    python experiments/compare_classifiers.py --data .devdata/pack weights OUT1 OUT2 [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

log = logging.getLogger("compare_classifiers")

GREY_SNRS = (24, 26, 28, 29, 31, 32, 35, 40)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", nargs="+", help="folders holding classifier weights")
    ap.add_argument("--data", required=True, help="corpus or training pack (its val split is used)")
    ap.add_argument("--noise-dir", default=None)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--examples", type=int, default=4096)
    ap.add_argument("--grey-clips", type=int, default=80, help="val clips for the grey-zone sweep")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None, help="write the figures here (JSON)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import torch

    from echoes.train import classifier as T
    from echoes.restore.classify import Classifier
    from echoes.data.degrade import default_noise_dir

    _, clips, _ = T.load_clips(args.data, "val")
    noise_dir = args.noise_dir or default_noise_dir(Path(args.data))
    ds = T.ExampleSet(clips, seed=args.seed, n_examples=args.examples,
                      noise_dir=str(noise_dir) if noise_dir else None)
    xs, ys = [], []
    for xb, yb in torch.utils.data.DataLoader(ds, batch_size=64, num_workers=args.workers,
                                              worker_init_fn=T._worker_init if args.workers else None):
        xs.append(xb)
        ys.append(yb)
    x, y = torch.cat(xs), torch.cat(ys).numpy()
    rms = np.sqrt(np.mean(clips.astype(np.float64) ** 2, axis=1))
    loud = clips[20 * np.log10(np.maximum(rms, 1e-10)) > T.MIN_DEGRADE_RMS_DBFS][: args.grey_clips]
    # hiss alone at each SNR: the windows of eval_classifier's grey-zone sweep (same seeding)
    from eval_classifier import make_windows

    jobs = [("snr", i, k, args.seed, s) for i in range(len(loud)) for k, s in enumerate(GREY_SNRS)]
    gx, _, _ = make_windows(loud, jobs, noise_dir=None, noise_split="train", workers=max(1, args.workers))
    gs = np.array([j[4] for j in jobs])
    log.info("%d validation examples (%d noisy), %d grey-zone windows", len(y), int(y.sum()), len(gs))
    out = {"data": str(args.data), "seed": args.seed, "examples": len(y), "candidates": {}}
    for w in args.weights:
        clf = Classifier.load(w, device=args.device)
        p = clf.window_probabilities(x)
        m = T.error_metrics(p, y, clf.threshold)
        best = {t: T.error_metrics(p, y, t) for t in (0.5, 0.6, 0.7, 0.8, 0.9)}
        chosen = T.choose_threshold(p, y)
        pg = clf.window_probabilities(torch.from_numpy(gx))
        grey = {f"{s} dB": round(float(np.mean(pg[gs == s] >= clf.threshold)), 4) for s in GREY_SNRS}
        mc = T.error_metrics(p, y, chosen)
        out["candidates"][w] = {"threshold": clf.threshold, **m, "grey_zone_called_noisy": grey,
                                "chosen_here": {"threshold": chosen, **mc},
                                "by_threshold": {str(t): {k: v[k] for k in ("accuracy", "false_noisy_rate")}
                                                 for t, v in best.items()}}
        c = m["confusion"]
        print(f"{w}: threshold {clf.threshold:.2f}  accuracy {100 * m['accuracy']:.3f} %  "
              f"false-noisy {c['clean_as_noisy']}/{m['clean_windows']}  missed {c['noisy_as_clean']}/{m['noisy_windows']}"
              f"  grey zone called noisy: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in grey.items()))
        print(f"  threshold chosen on this set (train_classifier.choose_threshold): {chosen:.2f}  accuracy "
              f"{100 * mc['accuracy']:.3f} %  false-noisy {mc['confusion']['clean_as_noisy']}  "
              f"missed {mc['confusion']['noisy_as_clean']}")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
