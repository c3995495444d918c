"""How the classifier verdict's two signal searches were set (development data, never ``test``
but for the held-out piano's clean clips as negatives, as the earlier click tuning did).

``--what clicks``: :func:`echoes.restore.declick.find_clicks`' score and level. Positives: 5-s windows
of the corpus's ``val`` split and a seeded subset of ``train`` (two draws each) with 0.2 to 1
clicks per second of the simulator's ``Clicks`` (0.1 to 3 ms, a tenth of the peak up).
Negatives: the same clips and held-out-piano clips clean (as is, 30 dB quieter, Ogg Vorbis, and
three draws of the training's clean augmentations). Prints, per (score, level), the share of
clicky windows in which a click is found and the number of clean windows called clicky.

``--what onsets``: :data:`echoes.restore.gaps.detect.ONSET_STEP`. Over every render of the corpus (clean),
the step ratio (RMS of the first 0.1 ms over the first 10 ms) of every natural onset out of
digital silence inside a render, and of simulated cuts 5 to 150 ms into those notes.

    python experiments/tune_verdict_detectors.py --corpus data/corpus --what clicks --workers 2
    python experiments/tune_verdict_detectors.py --corpus data/corpus --what onsets
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

SR = 44_100
_G: dict = {}


def _clips(folder, split, piano=None, maxn=None, pianos=None):
    from echoes.data import corpus as C

    out = [(cid, x) for cid, x, meta in C.iter_clips(folder, split, sample_rate=SR, seconds=5.0, piano=piano,
                                                      min_rms_dbfs=-50.0)
           if pianos is None or meta["piano"] in pianos]
    if maxn and len(out) > maxn:
        pick = np.random.default_rng(1).choice(len(out), maxn, replace=False)
        out = [out[i] for i in sorted(pick)]
    return out


def _job(args):
    from echoes.core import audio as eaudio
    from echoes.restore import declick as DC
    from echoes.data import degrade as D
    from echoes.eval.classifier import ogg_round_trip
    from echoes.data import augment as T

    kind, cid, x, seed = args
    res = []
    if kind == "pos":
        y, info = D.degrade(x, SR, preset=D.Clicks(rate_hz=(0.2, 1.0)), seed=seed)
        hit = np.abs(np.asarray(info["additive"]).reshape(-1)) > 0
        d = np.diff(np.r_[0, hit.astype(np.int8), 0])
        cands = DC.click_candidates(eaudio.peak_safe(y.astype(np.float32)), SR)
        for s0, s1 in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
            near = [c for c in cands if c["start"] < s1 + 20 and c["end"] > s0 - 20]
            res.append(("pos", (cid, seed), max(near, key=lambda c: c["score"]) if near else None))
        return res
    rng = np.random.default_rng(seed)
    variants = {"clean": x, "quiet": x * 10 ** (-30 / 20), "ogg": ogg_round_trip(x, SR)}
    for k in range(3):
        variants[f"aug{k}"] = T.augment_clean(x.astype(np.float64), rng)[0].astype(np.float32)
    for name, v in variants.items():
        res.append(("neg", (cid, name), None))
        res += [("neg", (cid, name), c) for c in DC.click_candidates(np.asarray(v, dtype=np.float32), SR)]
    return res


def tune_clicks(folder: str, workers: int, n_train: int) -> None:
    from echoes.data import corpus as C

    man = C.load_manifest(folder)
    held, train_pianos = C.pianos_playing(man, "test"), C.pianos_playing(man, None)
    dev = _clips(folder, "val", pianos=train_pianos) + _clips(folder, "train", maxn=n_train)
    neg = dev + (_clips(folder, "test", piano=held[0], maxn=120) if held else [])
    jobs = [("pos", cid, x, base + i) for base in (1000, 50000) for i, (cid, x) in enumerate(dev)]
    jobs += [("neg", cid, x, 9000 + i) for i, (cid, x) in enumerate(neg)]
    with mp.Pool(workers) as pool:
        rows = [r for rr in pool.imap(_job, jobs, chunksize=4) for r in rr]
    pos = [r for r in rows if r[0] == "pos"]
    negs = [r for r in rows if r[0] == "neg"]
    n_clean = len({r[1] for r in negs})
    print(f"{len({r[1] for r in pos})} clicky windows ({len(pos)} clicks), {n_clean} clean windows")

    def found(c, score, level):
        return c is not None and c["score"] >= score and c["level_db"] >= level and c["onset_ratio"] < 3.0 \
            and c["ms"] <= 4.0

    print("score  level_dB  clicky windows found  clean windows called clicky")
    for score in (30.0, 25.0, 24.0, 23.0, 22.0, 20.0):
        for level in (-12.0, -15.0, -16.0, -16.5, -17.0, -17.5, -18.0):
            win = collections.defaultdict(bool)
            for _, key, c in pos:
                win[key] |= found(c, score, level)
            fp = len({key for _, key, c in negs if found(c, score, level)})
            print(f"{score:5.0f}  {level:8.1f}  {100 * np.mean(list(win.values())):19.1f} %  {fp:6d}")


def onset_stats(folder: str) -> None:
    from echoes.core import audio as eaudio
    from echoes.data import corpus as C
    from echoes.restore.gaps import detect as G

    man = C.load_manifest(folder)
    rng = np.random.default_rng(0)
    natural, cuts = [], []
    near, far0, far1 = int(0.002 * SR), int(0.010 * SR), int(0.020 * SR)

    for r in man["renders"]:
        x, fs = eaudio.load(Path(folder) / r["file"])
        x = eaudio.resample(eaudio.to_mono(x)[0], fs, SR).astype(np.float64)
        loud = G._loud_level(x, int(0.010 * SR))
        audible = loud * 10 ** (-50 / 20)
        s, e = G._runs(np.abs(x) <= max(loud * 10 ** (G.ZERO_DB / 20), 1e-7))
        keep = (e - s >= int(0.005 * SR)) & (s > 0) & (e < x.size)
        for a, b in zip(s[keep], e[keep]):
            pre, pre_far = G._rms(x[max(0, a - near) : a]), G._rms(x[max(0, a - far1) : max(0, a - far0)])
            if not (pre < audible or pre < pre_far * G._FADE):
                continue
            if G._rms(x[b : b + near]) >= audible * G._CUT:
                natural.append(G.onset_step(x, int(b), SR))
            bb = b + int(rng.uniform(0.005, 0.15) * SR)
            if bb + 2000 < x.size and G._rms(x[bb : bb + near]) >= audible * G._CUT:
                cuts.append(G.onset_step(x, int(bb), SR))
    natural, cuts = np.array(natural), np.array(cuts)
    print(f"natural onsets out of digital silence: {natural.size}, step ratio max {natural.max():.3f}, "
          f"90th percentile {np.percentile(natural, 90):.3f}")
    print(f"simulated cuts: {cuts.size}, share at or above ONSET_STEP ({G.ONSET_STEP}): "
          f"{100 * np.mean(cuts >= G.ONSET_STEP):.1f} %, percentiles 1/5/50: "
          f"{np.round(np.percentile(cuts, [1, 5, 50]), 3).tolist()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--what", choices=("clicks", "onsets"), required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--train-clips", type=int, default=300, help="train-split clips used (seeded subset)")
    a = ap.parse_args()
    if a.what == "clicks":
        tune_clicks(a.corpus, a.workers, a.train_clips)
    else:
        onset_stats(a.corpus)


if __name__ == "__main__":
    main()
