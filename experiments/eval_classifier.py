#!/usr/bin/env python
"""Measure the noisy/clean classifier on data it never saw, and print/save the figures.

Tests (each 5-s corpus clip is one window; labels from :func:`echoes.data.degrade.is_noisy`):

1. **main**: the corpus ``test`` split (pieces never trained on), training pianos, noise
   clips of the ``train`` noise split. Per clip: ``--clean-variants`` clean windows (the first
   plain, only a random level; the rest with the training's clean augmentations: reverb,
   quiet passages, pauses, noise floors 40 to 70 dB down, lossy codecs, 16-bit rounding) and
   ``--seeds`` degraded windows per preset (all six presets).
2. **harder**: the held-out piano (it plays only test pieces) with the held-out noise clips
   (``NOISE_SPLITS['test']``), same protocol.
3. **grey zone**: hiss alone at fixed SNRs from 10 to 60 dB on the main clips: share called
   noisy (the definition's line is 30 dB; 30 to 40 dB was never trained on).
4. **recordings**: whole test renders through :meth:`Classifier.classify` (5-s windows, 2.5-s
   hop, upper-quartile verdict): clean renders must stay clean, ``gramophone`` copies (held-out
   noise clips) must be noisy; plus the committed ``examples/`` clips.

Usage::

    python experiments/eval_classifier.py --corpus /work/data/corpus --out eval_classifier.json \
        [--weights weights] [--workers 2] [--write-metrics]

``--write-metrics`` stores the figures in ``weights/classifier.json`` under ``metrics.test``
(only the JSON changes; the weights' sha256 is unaffected).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from echoes.data import degrade as D  # noqa: E402
from echoes.train import classifier as T  # noqa: E402
from echoes.restore.classify import Classifier  # noqa: E402

log = logging.getLogger("eval_classifier")

_G: dict = {}


def _init(clips, noise_dir, noise_split):
    import torch

    torch.set_num_threads(1)
    _G.update(clips=clips, noise_dir=noise_dir, noise_split=noise_split)


def _make(job):
    """job = (kind, clip index, variant, seed, preset or snr) -> (audio, label, tag)."""
    kind, ci, variant, seed, arg = job
    clip = _G["clips"][ci]
    rng = np.random.default_rng([seed, ci, variant])
    if kind == "clean":
        if variant == 0:  # plain: only a random level
            y, label, _ = T.make_example(clip, rng, want_noisy=False, noise_dir=None, augment=False)
            return y, label, "clean:plain"
        y, label, rec = T.make_example(clip, rng, want_noisy=False, noise_dir=None)
        augs = [a["name"] for a in rec.get("augment", [])] or ([rec["kind"]] if rec["kind"] != "clean" else ["none"])
        return y, label, "clean:" + "+".join(augs)
    if kind == "preset":
        y, label, rec = T.make_example(clip, rng, want_noisy=True, noise_dir=_G["noise_dir"],
                                       noise_split=_G["noise_split"], preset=arg)
        return y, label, f"preset:{arg}"
    if kind == "snr":  # hiss alone at a fixed SNR
        y, info = D.degrade(clip.astype(np.float64), T.SR, preset=D.Hiss(snr_db=float(arg)), seed=int(rng.integers(2**31)))
        return T.set_peak(np.asarray(y, dtype=np.float64), rng), int(info["noisy"]), f"snr:{arg}"
    raise ValueError(kind)


def make_windows(clips, jobs, *, noise_dir, noise_split, workers):
    if workers > 1:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers, initializer=_init, initargs=(clips, noise_dir, noise_split)) as pool:
            out = pool.map(_make, jobs, chunksize=16)
    else:
        _init(clips, noise_dir, noise_split)
        out = [_make(j) for j in jobs]
    x = np.stack([o[0] for o in out])
    y = np.array([o[1] for o in out])
    tags = [o[2] for o in out]
    return x, y, tags


def window_test(clf, clips, *, seed, clean_variants, seeds, noise_dir, noise_split, workers, name):
    loud = [i for i, c in enumerate(clips) if 20 * np.log10(max(np.sqrt(np.mean(c.astype(np.float64) ** 2)), 1e-10))
            > T.MIN_DEGRADE_RMS_DBFS]
    jobs = [("clean", i, v, seed, None) for i in range(len(clips)) for v in range(clean_variants)]
    jobs += [("preset", i, 1000 + k * 10 + s, seed, p) for i in loud for k, p in enumerate(D.PRESETS) for s in range(seeds)]
    t = time.time()
    x, y, tags = make_windows(clips, jobs, noise_dir=noise_dir, noise_split=noise_split, workers=workers)
    t_make = time.time() - t
    t = time.time()
    p = clf.window_probabilities(x)
    t_clf = time.time() - t
    m = T.error_metrics(p, y, clf.threshold)
    groups: dict[str, list[int]] = {}
    for i, tag in enumerate(tags):
        key = tag if tag.startswith("preset:") or tag == "clean:plain" else "clean:augmented"
        groups.setdefault(key, []).append(i)
        if tag.startswith("clean:") and tag != "clean:plain":
            for a in tag[6:].split("+"):
                groups.setdefault(f"clean:with:{a}", []).append(i)
    by = {}
    for key, idx in sorted(groups.items()):
        pi, yi = p[idx], y[idx]
        wrong = int(np.sum((pi >= clf.threshold) != yi.astype(bool)))
        by[key] = {"windows": len(idx), "errors": wrong, "error_rate": wrong / len(idx),
                   "labelled_noisy": int(yi.sum())}
    worst_clean = sorted(((float(p[i]), tags[i]) for i in range(len(tags)) if y[i] == 0), reverse=True)[:5]
    worst_noisy = sorted((float(p[i]), tags[i]) for i in range(len(tags)) if y[i] == 1)[:5]
    log.info("%s: %d windows from %d clips (%d loud) made in %.0f s, classified in %.1f s", name, len(y),
             len(clips), len(loud), t_make, t_clf)
    return m | {"clips": len(clips), "by_group": by, "highest_p_clean": worst_clean, "lowest_p_noisy": worst_noisy}


def snr_sweep(clf, clips, *, seed, workers, snrs=(10, 20, 25, 28, 32, 35, 40, 50, 60)):
    jobs = [("snr", i, 5000 + k, seed, s) for i in range(len(clips)) for k, s in enumerate(snrs)]
    x, y, tags = make_windows(clips, jobs, noise_dir=None, noise_split="train", workers=workers)
    p = clf.window_probabilities(x)
    out = {}
    for s in snrs:
        idx = [i for i, t in enumerate(tags) if t == f"snr:{s}"]
        out[f"{s} dB"] = {"windows": len(idx), "called_noisy": float(np.mean(p[idx] >= clf.threshold)),
                          "labelled_noisy": float(np.mean(y[idx]))}
    return out


def recordings(clf, corpus, *, split, pianos, noise_dir, seed, max_seconds=90.0):
    from echoes.core import audio as A
    from echoes.data import corpus as C

    res = []
    for r in C.list_renders(corpus, split):
        if pianos and r["piano"] not in pianos:
            continue
        a, sr = A.load(Path(corpus) / r["file"])
        x = A.to_mono(a)[0][: int(max_seconds * sr)]
        clean = clf.classify(x, sr)
        y, info = D.degrade(x.astype(np.float64), sr, preset="gramophone", seed=seed, noise_dir=noise_dir,
                            noise_split="test")
        worn = clf.classify(np.asarray(y, dtype=np.float32), sr)
        res.append({"render": r["id"], "piano": r["piano"], "seconds": round(x.size / sr, 1),
                    "clean_verdict": clean.verdict, "clean_p_noisy": round(clean.p_noisy, 4),
                    "clean_windows_noisy": int(sum(s.p_noisy >= clf.threshold for s in clean.segments)),
                    "windows": len(clean.segments),
                    "gramophone_verdict": worn.verdict, "gramophone_p_noisy": round(worn.p_noisy, 4),
                    "gramophone_labelled_noisy": bool(info["noisy"])})
    return {
        "renders": len(res),
        "clean_stayed_clean": sum(r["clean_verdict"] == "clean" for r in res),
        "clean_windows_called_noisy": sum(r["clean_windows_noisy"] for r in res),
        "clean_windows": sum(r["windows"] for r in res),
        "gramophone_called_noisy": sum(r["gramophone_verdict"] == "noisy" for r in res),
        "detail": res,
    }


def examples(clf):
    meta = json.loads((ROOT / "examples" / "EXAMPLES.json").read_text()) if (ROOT / "examples" / "EXAMPLES.json").exists() else {}
    out = {}
    for name, m in meta.items():
        r = clf.classify_file(ROOT / "examples" / name)
        out[name] = {"preset": m.get("preset"), "verdict": r.verdict, "p_noisy": round(r.p_noisy, 4)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--noise-dir", default=None, help="recorded noise clips (default: CORPUS/noise or ../shared)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--clean-variants", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=2, help="degraded windows per preset per clip")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="at most this many clips per test")
    ap.add_argument("--skip", nargs="*", default=[], choices=["main", "harder", "snr", "recordings", "examples"])
    ap.add_argument("--out", default="eval_classifier.json")
    ap.add_argument("--write-metrics", action="store_true")
    ap.add_argument("--device", default="cpu", help="torch device for the network (example making is on CPU)")
    ap.add_argument("--merge", nargs="*", default=[], metavar="JSON",
                    help="results of earlier runs (e.g. on another machine) to merge in before reporting")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from echoes.data import corpus as C

    clf = Classifier.load(args.weights, device=args.device)
    noise_dir = args.noise_dir
    if noise_dir is None:
        for cand in (Path(args.corpus) / "noise", ROOT.parent / "shared" / "data" / "noise"):
            if cand.is_dir():
                noise_dir = str(cand)
                break
    log.info("noise clips from %s", noise_dir)
    train_pianos = [p for p, v in C.PIANOS.items() if not v["heldout"]]
    results: dict = {"weights": str(args.weights or "bundled"), "threshold": clf.threshold, "seed": args.seed,
                     "clean_variants": args.clean_variants, "seeds_per_preset": args.seeds}
    t0 = time.time()
    if "main" not in args.skip or "snr" not in args.skip:  # the main test's clips
        clips = np.concatenate([T.load_clips(args.corpus, "test", piano=p, limit=args.limit)[1] for p in train_pianos])
    if "main" not in args.skip:
        results["main"] = window_test(clf, clips, seed=args.seed, clean_variants=args.clean_variants, seeds=args.seeds,
                                      noise_dir=noise_dir, noise_split="train", workers=args.workers, name="main")
    if "harder" not in args.skip:
        hclips = T.load_clips(args.corpus, "test", piano=C.HELDOUT_PIANO, limit=args.limit)[1]
        results["harder"] = window_test(clf, hclips, seed=args.seed + 1, clean_variants=args.clean_variants,
                                        seeds=args.seeds, noise_dir=noise_dir, noise_split="test",
                                        workers=args.workers, name="harder (held-out piano + held-out noise)")
    if "snr" not in args.skip:
        results["grey_zone_hiss_alone"] = snr_sweep(clf, clips[: min(len(clips), 200)], seed=args.seed,
                                                    workers=args.workers)
    if "recordings" not in args.skip:
        results["recordings"] = recordings(clf, args.corpus, split="test", pianos=None, noise_dir=noise_dir,
                                           seed=args.seed)
    if "examples" not in args.skip:
        results["examples"] = examples(clf)
    results["seconds"] = round(time.time() - t0, 1)
    for extra in args.merge:
        earlier = json.loads(Path(extra).read_text())
        results = earlier | {k: v for k, v in results.items() if k in args_sections(args)}
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(report(results))
    if args.write_metrics:
        from echoes.core.hub import bundled_weights as default_weights_dir

        folder = Path(args.weights) if args.weights else default_weights_dir()
        js = folder / "classifier.json"
        cfg = json.loads(js.read_text())
        cfg.setdefault("metrics", {})["test"] = summary(results)
        js.write_text(json.dumps(cfg, indent=2) + "\n")
        log.info("wrote metrics.test into %s", js)
    return 0


def args_sections(args) -> set[str]:
    """Result keys this run computed (the rest may come from ``--merge``)."""
    names = {"main": "main", "harder": "harder", "snr": "grey_zone_hiss_alone", "recordings": "recordings",
             "examples": "examples"}
    return {v for k, v in names.items() if k not in args.skip}


def summary(r: dict) -> dict:
    s: dict = {"command": "python experiments/eval_classifier.py --corpus CORPUS "
               f"--clean-variants {r['clean_variants']} --seeds {r['seeds_per_preset']} --seed {r['seed']}"}
    for k in ("main", "harder"):
        if k in r:
            s[k] = {x: r[k][x] for x in ("windows", "clean_windows", "noisy_windows", "clips", "accuracy",
                                          "false_noisy_rate", "missed_noisy_rate", "confusion")}
    if "grey_zone_hiss_alone" in r:
        s["grey_zone_hiss_alone_called_noisy"] = {k: v["called_noisy"] for k, v in r["grey_zone_hiss_alone"].items()}
    if "recordings" in r:
        s["recordings"] = {k: v for k, v in r["recordings"].items() if k != "detail"}
    if "examples" in r:
        s["examples"] = r["examples"]
    return s


def report(r: dict) -> str:
    lines = []
    for k in ("main", "harder"):
        if k not in r:
            continue
        m = r[k]
        c = m["confusion"]
        lines += [f"== {k}: {m['windows']} windows ({m['clean_windows']} clean, {m['noisy_windows']} noisy) from {m['clips']} clips",
                  f"accuracy {100 * m['accuracy']:.3f} %   false-noisy {100 * m['false_noisy_rate']:.3f} %   "
                  f"missed-noisy {100 * m['missed_noisy_rate']:.3f} %",
                  "confusion (rows truth, columns verdict):   clean   noisy",
                  f"  clean                                  {c['clean_as_clean']:6d}  {c['clean_as_noisy']:6d}",
                  f"  noisy                                  {c['noisy_as_clean']:6d}  {c['noisy_as_noisy']:6d}"]
        for g, v in m["by_group"].items():
            if v["errors"] or not g.startswith("clean:with:"):
                lines.append(f"  {g:32s} {v['errors']:5d} / {v['windows']:5d} wrong")
    if "grey_zone_hiss_alone" in r:
        lines.append("== hiss alone, share called noisy: " + ", ".join(
            f"{k} {100 * v['called_noisy']:.0f}%" for k, v in r["grey_zone_hiss_alone"].items()))
    if "recordings" in r:
        rr = r["recordings"]
        lines.append(f"== whole test renders: {rr['clean_stayed_clean']}/{rr['renders']} clean stayed clean "
                     f"({rr['clean_windows_called_noisy']}/{rr['clean_windows']} windows called noisy); "
                     f"{rr['gramophone_called_noisy']}/{rr['renders']} gramophone copies called noisy")
    if "examples" in r:
        lines.append("== examples/: " + ", ".join(f"{k}: {v['verdict']} ({v['p_noisy']:.3f})" for k, v in r["examples"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
