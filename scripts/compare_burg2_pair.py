"""Compare burg2's two short-gap fills on a corpus split (how BURG2_PAIR_BELOW_MS was chosen).

For each gap length, gaps are placed at random non-silent places in every render of the
split (:func:`echoes.inpaint.place_gaps`, seeded), and each gap is filled alone, with the rest
of the render as it was, by ``burg2`` with one model, ``burg2`` as the mean of the one-model
and the two-model (left, right) fills (each followed by burg2's refinement, which in the pair
case averages two refits), and Janssen. Prints the mean gap SNR of each and the
mean paired differences. Use a development split (``train`` or ``val``), never ``test``.

    python scripts/compare_burg2_pair.py --corpus data/corpus --split train --per-piece 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from echoes import audio as eaudio
from echoes import corpus as ecorpus
from echoes import inpaint as I


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="train", choices=["train", "val"])
    ap.add_argument("--gap-ms", default="10,20,50,80")
    ap.add_argument("--per-piece", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    sr = 44100
    folder = Path(args.corpus)
    pieces = []
    for r in ecorpus.list_renders(folder, args.split):
        x, s = eaudio.load(folder / r["file"])
        pieces.append(eaudio.resample(eaudio.to_mono(x)[0], s, sr).astype(np.float64))
    print(f"{len(pieces)} renders of the {args.split} split")

    def fill(kind: str, c: I._Ctx, s: int, e: int) -> np.ndarray:
        if kind == "janssen":
            return I._fill_janssen(c, s, e)
        saved = I.BURG2_PAIR_BELOW_MS
        I.BURG2_PAIR_BELOW_MS = 1e9 if kind == "pair" else 0.0
        try:
            return I._fill_burg2(c, s, e)
        finally:
            I.BURG2_PAIR_BELOW_MS = saved

    kinds = ("one", "pair", "janssen")
    for ms in (float(v) for v in args.gap_ms.split(",")):
        length = round(ms * sr / 1000)
        margin = 4 * length + int(0.2 * sr)
        snr = {k: [] for k in kinds}
        secs = {k: 0.0 for k in kinds}
        for k, x in enumerate(pieces):
            rng = np.random.default_rng([args.seed, int(ms * 1000), k])
            for s in I.place_gaps(x, sr, length, args.per_piece, margin=margin, rng=rng):
                y = x.copy()
                y[s : s + length] = 0.0
                unknown = np.zeros(x.size, dtype=bool)
                unknown[s : s + length] = True
                c = I._Ctx(y, sr, unknown)
                for kind in kinds:
                    t = time.perf_counter()
                    v = fill(kind, c, s, s + length)
                    secs[kind] += time.perf_counter() - t
                    snr[kind].append(min(I.gap_snr(x[s : s + length], v), I.SNR_CAP_DB))
        a = {k: np.array(v) for k, v in snr.items()}
        n = len(a["one"])
        print(f"{ms:g} ms, {n} gaps: one model {a['one'].mean():.2f} dB, pair {a['pair'].mean():.2f} dB, "
              f"Janssen {a['janssen'].mean():.2f} dB; pair - one {np.mean(a['pair'] - a['one']):+.2f} dB, "
              f"pair - Janssen {np.mean(a['pair'] - a['janssen']):+.2f} dB; ms per gap: "
              + ", ".join(f"{k} {1000 * secs[k] / max(n, 1):.0f}" for k in kinds))


if __name__ == "__main__":
    main()
