#!/usr/bin/env python
"""Choose among classifier weights on development data, never the test split.

Each candidate folder is scored exactly as ``echoes evaluate`` scores the shipped weights
(:func:`echoes.eval.classifier.eval_classifier`: every 5-s clip with music, each clean as is, 30 dB
quieter and through Ogg Vorbis, and once through every preset; the full verdict, network plus
the dropout and click searches), but on the corpus's ``val`` split, twice:

* the training pianos' renders of the validation pieces (pieces never trained on), and
* the validation piano's (``musescore_grand``: never trained on, plays only validation
  pieces), which stands in for the held-out piano of the harder test: a fine-tune that leans
  on the training pianos' timbre shows here as clean windows called noisy.

Several ``--seeds`` draw different degradations of the same clips. A candidate is kept only
if it calls no more clean windows noisy than the shipped weights on either set and makes
fewer errors overall.

``--thresholds T ...`` scores every candidate at each decision threshold instead of its own:
the network's p_noisy and the dropout and click searches are recorded once per window (the
searches on every window), and the verdict at ``T`` is "p_noisy >= T or a search found
something", exactly what :class:`echoes.restore.classify.Classifier` decides at threshold ``T``.
``--augment K`` adds a clean-only check by the network alone: each clip at 22,050 Hz, as
is, 30 dB quieter and through ``K`` draws of the training's clean augmentations
(:func:`echoes.train.classifier.augment_clean`: reverb, quiet passages, silence, a noise floor
far under the 30 dB line, wow, soft clipping, codecs; seeded per clip), counted as clean
windows called noisy at each threshold.

    python experiments/dev_classifier.py --corpus data/corpus --noise-dir ../shared/data/noise \
        weights OUT1 OUT2 [--seeds 21 22] [--workers 2] [--out dev_classifier.json] \
        [--thresholds 0.7 0.8 0.85 0.9] [--augment 4]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("dev_classifier")
SR = 44_100
_G: dict = {}


def _clips(corpus: str, pianos: list[str]) -> tuple[list, list[str]]:
    from echoes.data import corpus as C

    got = [(cid, x) for cid, x, meta in C.iter_clips(corpus, "val", sample_rate=SR, seconds=5.0, min_rms_dbfs=-50.0)
           if meta["piano"] in pianos]
    return [x for _, x in got], [cid for cid, _ in got]


def _init(sets: dict) -> None:
    import torch

    torch.set_num_threads(1)
    _G.update(sets)


def _job(job: tuple[str, str, str, int, str | None]) -> tuple[str, str, str, dict]:
    """``mode``: "verdict" (the candidate's own threshold), "sweep" (windows recorded for any
    threshold) or "augment" (the clean-augmentation check; ``n`` draws instead of a seed)."""
    from echoes.eval.classifier import eval_classifier

    weights, which, mode, n, noise_dir = job
    clips, ids = _G[which]
    if mode == "augment":
        return weights, which, mode, {"p_clean": _augmented_p(weights, clips, n)}
    r = eval_classifier(clips, weights=weights, noise_dir=noise_dir, noise_split="train", seed=n, clip_ids=ids,
                        threshold=float("inf") if mode == "sweep" else None, keep_windows=mode == "sweep")
    return weights, which, mode, r


def _augmented_p(weights: str, clips: list, k: int) -> list[float]:
    """Network p_noisy of each clip (22,050 Hz) as is, 30 dB quieter and through ``k`` draws of
    the clean augmentations (seeded by the clip's index)."""
    import numpy as np

    from echoes.core.audio import resample
    from echoes.restore.classify import Classifier
    from echoes.train.classifier import augment_clean

    clf = Classifier.load(weights)
    ps = []
    for i, x in enumerate(clips):
        y = resample(np.asarray(x, dtype=np.float32), SR, 22_050)
        rng = np.random.default_rng(777 + i)
        vs = [y, y * 10 ** (-30 / 20)] + [augment_clean(y.astype(np.float64), rng)[0].astype(np.float32)
                                           for _ in range(k)]
        ps += [float(p) for p in clf.window_probabilities(np.stack([v[: 110_250] for v in vs]))]
    return ps


def _sweep_rows(w: str, k: str, results: list, thresholds: list[float]) -> list[dict]:
    """Errors of candidate ``w`` on set ``k`` at each threshold (from the recorded windows)."""
    import numpy as np

    rows = [r for ww, kk, m, res in results if ww == w and kk == k and m == "sweep" for r in res["window_rows"]]
    truth = np.array([r[1] for r in rows], bool)
    p = np.array([r[2] for r in rows])
    found = np.array([r[3] for r in rows], bool)  # the searches' verdict (the network never decided)
    pc = np.array([q for ww, kk, m, res in results if ww == w and kk == k and m == "augment" for q in res["p_clean"]])
    out = []
    for t in thresholds:
        pred = (p >= t) | found
        out.append({"threshold": t, "windows": len(rows), "missed": int(np.sum(truth & ~pred)),
                    "false_noisy": int(np.sum(~truth & pred)), "clean_windows": int(np.sum(~truth)),
                    "augmented_clean": int(pc.size), "augmented_called_noisy": int(np.sum(pc >= t))})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", nargs="+", help="folders holding classifier weights (the first is the reference)")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--noise-dir", default=None, help="recorded noise clips for the presets that use them")
    ap.add_argument("--seeds", type=int, nargs="+", default=[21, 22])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="write every figure here (JSON)")
    ap.add_argument("--thresholds", type=float, nargs="+", default=None,
                    help="score every candidate at these decision thresholds instead of its own")
    ap.add_argument("--augment", type=int, default=0,
                    help="also count clean windows (as is, 30 dB quieter, K clean augmentations) called noisy")
    args = ap.parse_args(argv)
    if args.augment and args.thresholds is None:
        ap.error("--augment needs --thresholds")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("echoes").setLevel(logging.WARNING)  # one line per window otherwise
    from echoes.data import corpus as C

    man = C.load_manifest(args.corpus)
    train, val = C.pianos_playing(man, None), C.pianos_playing(man, "val")
    if not val:
        raise SystemExit("the corpus has no validation piano: rebuild it (python -m echoes data build, docs/DATA.md)")
    sets = {"training pianos": _clips(args.corpus, train), "validation piano": _clips(args.corpus, val)}
    for k, (clips, _) in sets.items():
        log.info("%s: %d clips", k, len(clips))
    sweep = args.thresholds is not None
    mode = "sweep" if sweep else "verdict"
    jobs = [(w, k, mode, s, args.noise_dir) for w in args.weights for k in sets for s in args.seeds]
    if args.augment > 0:
        jobs += [(w, k, "augment", args.augment, None) for w in args.weights for k in sets]
    with mp.get_context("fork").Pool(args.workers, initializer=_init, initargs=(sets,)) as pool:
        results = pool.map(_job, jobs, chunksize=1)
    out: dict = {"corpus": str(args.corpus), "seeds": args.seeds, "candidates": {}}
    if sweep:
        out["thresholds"] = args.thresholds
        print(f"{'weights':<28} {'set':<18} {'threshold':>9} {'missed':>6} {'clean called noisy':>18}"
              + (f" {'augmented clean called noisy':>28}" if args.augment else ""))
        for w in args.weights:
            for k in sets:
                rows = _sweep_rows(w, k, results, args.thresholds)
                out["candidates"].setdefault(w, {})[k] = rows
                for r in rows:
                    print(f"{w:<28} {k:<18} {r['threshold']:9.3f} {r['missed']:6d} {r['false_noisy']:8d} of "
                          f"{r['clean_windows']:<7d}" + (f" {r['augmented_called_noisy']:18d} of {r['augmented_clean']:<7d}"
                                                       if args.augment else ""))
        if args.out:
            Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
        return 0
    print(f"{'weights':<28} {'set':<18} {'windows':>7} {'errors':>6} {'missed':>6} {'clean called noisy':>18}")
    for w in args.weights:
        for k in sets:
            rs = [r for ww, kk, _, r in results if ww == w and kk == k]  # no "augment" jobs without --thresholds
            c = {key: sum(r["confusion"][key] for r in rs) for key in rs[0]["confusion"]}
            n = sum(r["windows"] for r in rs)
            fp, fn = c["clean_called_noisy"], c["noisy_called_clean"]
            clean = fp + c["clean_called_clean"]
            out["candidates"].setdefault(w, {})[k] = {
                "windows": n, "errors": fp + fn, "missed": fn, "false_noisy": fp, "clean_windows": clean,
                "accuracy_pct": round(100 * (1 - (fp + fn) / n), 3),
                "errors_list": [e for r in rs for e in r["errors"]]}
            print(f"{w:<28} {k:<18} {n:7d} {fp + fn:6d} {fn:6d} {fp:8d} of {clean:<7d}")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
