"""Compare burg2 with and without its refinement on a corpus split (how it was chosen).

For each gap length, gaps are placed at random non-silent places in every render of the
split (:func:`echoes.inpaint.place_gaps`, seeded as in ``compare_burg2_pair.py``), each gap is
filled alone with the rest of the render as it was, by ``burg2`` without the refinement, by
``burg2`` as shipped (one refinement: models of left context + fill and fill + right context),
and by Janssen. Prints the mean gap SNRs, the paired differences with 95 % normal intervals,
and the milliseconds per gap. Use a development split (``train`` or ``val``), never ``test``.

    python scripts/compare_burg2_refine.py --corpus data/corpus --split train --per-piece 3 --seed 8
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


def burg2_plain(c: I._Ctx, s: int, e: int) -> np.ndarray:
    """burg2's first fill (the settings of :func:`echoes.inpaint._fill_burg2`), no refinement."""
    glen = e - s
    order = max(2, int(round(I.BURG2_ORDER_MS * c.sr / 1000)))
    want = max(int(I.BURG2_CONTEXT_GAPS * glen), int(I.BURG2_MIN_CONTEXT_MS * c.sr / 1000))
    want = min(want, int(I.LPC_MAX_CONTEXT_S * c.sr))
    nl, nr = I._context(c, s, e, want)
    pair = glen < I.BURG2_PAIR_BELOW_MS * c.sr / 1000 and min(nl, nr) // 3 >= order
    return I._joint_lsar(c.x[s - nl : e + nr], nl, glen, order, pair=pair)


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
    print(f"{len(pieces)} renders of the {args.split} split, seed {args.seed}")
    fills = {"plain": burg2_plain, "refined": I._fill_burg2, "janssen": I._fill_janssen}
    for ms in (float(v) for v in args.gap_ms.split(",")):
        length = round(ms * sr / 1000)
        margin = 4 * length + int(0.2 * sr)
        snr = {k: [] for k in fills}
        secs = {k: 0.0 for k in fills}
        for k, x in enumerate(pieces):
            rng = np.random.default_rng([args.seed, int(ms * 1000), k])
            for s in I.place_gaps(x, sr, length, args.per_piece, margin=margin, rng=rng):
                y = x.copy()
                y[s : s + length] = 0.0
                unknown = np.zeros(x.size, dtype=bool)
                unknown[s : s + length] = True
                c = I._Ctx(y, sr, unknown)
                for kind, fn in fills.items():
                    t = time.perf_counter()
                    v = fn(c, s, s + length)
                    secs[kind] += time.perf_counter() - t
                    snr[kind].append(min(I.gap_snr(x[s : s + length], v), I.SNR_CAP_DB))
        a = {k: np.array(v) for k, v in snr.items()}
        n = len(a["plain"])

        def diff(u: str, v: str) -> str:
            d = a[u] - a[v]
            return f"{d.mean():+.2f} ± {1.96 * d.std() / np.sqrt(max(n, 1)):.2f}"

        print(f"{ms:g} ms, {n} gaps: plain {a['plain'].mean():.2f} dB, refined {a['refined'].mean():.2f} dB, "
              f"Janssen {a['janssen'].mean():.2f} dB; refined - plain {diff('refined', 'plain')} dB, "
              f"refined - Janssen {diff('refined', 'janssen')} dB; ms per gap: "
              + ", ".join(f"{k} {1000 * secs[k] / max(n, 1):.0f}" for k in fills))


if __name__ == "__main__":
    main()
