#!/usr/bin/env python
"""Choose among classifier weights on development data, never the test split.

Each candidate folder is scored exactly as ``echoes evaluate`` scores the shipped weights
(:func:`echoes.evaluate.eval_classifier`: every 5-s clip with music, each clean as is, 30 dB
quieter and through Ogg Vorbis, and once through every preset; the full verdict, network plus
the dropout and click searches), but on the corpus's ``val`` split, twice:

* the training pianos' renders of the validation pieces (pieces never trained on), and
* the validation piano's (``musescore_grand``: never trained on, plays only validation
  pieces), which stands in for the held-out piano of the harder test: a fine-tune that leans
  on the training pianos' timbre shows here as clean windows called noisy.

Several ``--seeds`` draw different degradations of the same clips. A candidate is kept only
if it calls no more clean windows noisy than the shipped weights on either set and makes
fewer errors overall.

    python scripts/dev_classifier.py --corpus data/corpus --noise-dir ../shared/data/noise \
        weights OUT1 OUT2 [--seeds 21 22] [--workers 2] [--out dev_classifier.json]
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
    from echoes import corpus as C

    got = [(cid, x) for cid, x, meta in C.iter_clips(corpus, "val", sample_rate=SR, seconds=5.0, min_rms_dbfs=-50.0)
           if meta["piano"] in pianos]
    return [x for _, x in got], [cid for cid, _ in got]


def _init(sets: dict) -> None:
    import torch

    torch.set_num_threads(1)
    _G.update(sets)


def _job(job: tuple[str, str, int, str | None]) -> tuple[str, str, int, dict]:
    from echoes.evaluate import eval_classifier

    weights, which, seed, noise_dir = job
    clips, ids = _G[which]
    r = eval_classifier(clips, weights=weights, noise_dir=noise_dir, noise_split="train", seed=seed, clip_ids=ids)
    return weights, which, seed, r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", nargs="+", help="folders holding classifier weights (the first is the reference)")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--noise-dir", default=None, help="recorded noise clips for the presets that use them")
    ap.add_argument("--seeds", type=int, nargs="+", default=[21, 22])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="write every figure here (JSON)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("echoes").setLevel(logging.WARNING)  # one line per window otherwise
    from echoes import corpus as C

    man = C.load_manifest(args.corpus)
    train, val = C.pianos_playing(man, None), C.pianos_playing(man, "val")
    if not val:
        raise SystemExit("the corpus has no validation piano: rebuild it (python -m echoes data build, docs/DATA.md)")
    sets = {"training pianos": _clips(args.corpus, train), "validation piano": _clips(args.corpus, val)}
    for k, (clips, _) in sets.items():
        log.info("%s: %d clips", k, len(clips))
    jobs = [(w, k, s, args.noise_dir) for w in args.weights for k in sets for s in args.seeds]
    with mp.get_context("fork").Pool(args.workers, initializer=_init, initargs=(sets,)) as pool:
        results = pool.map(_job, jobs, chunksize=1)
    out: dict = {"corpus": str(args.corpus), "seeds": args.seeds, "candidates": {}}
    print(f"{'weights':<28} {'set':<18} {'windows':>7} {'errors':>6} {'missed':>6} {'clean called noisy':>18}")
    for w in args.weights:
        for k in sets:
            rs = [r for ww, kk, _, r in results if ww == w and kk == k]
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
