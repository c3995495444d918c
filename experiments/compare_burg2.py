"""Compare burg2's variants on a corpus split (how its settings were chosen).

``--compare pair``: ``burg2`` with a one-model first fill against the mean of the one-model and
the two-model (left, right) first fills (both refined as shipped; how LSAR_PAIR_BELOW_MS was
chosen). ``--compare refine``: ``burg2`` without its refinement against ``burg2`` as shipped
(models of left context + fill and fill + right context refit the gap once). Janssen is
measured beside both. ``--compare order`` and ``--compare context``: the model order (40 against
50 ms at every length) and the context (2 gaps a side against 3 and 1.5), both halves of the
pair in use. ``--compare trend``: burg2 without its level-trend removal (``LSAR_TREND_*``)
against it as shipped, and with a looser slope bound (120 dB/s).

For each gap length, gaps are placed at random non-silent places in every render of the split
(:func:`echoes.eval.gaps.place_gaps`, seeded), and each gap is filled alone, with the rest of the
render as it was. Prints the mean gap SNR of each fill, the paired differences from the first
(mean ± 95 % normal interval) and the milliseconds per gap. Use a development split (``train``
or ``val``), never ``test``.

    python experiments/compare_burg2.py --corpus data/corpus --split train --per-piece 3 --compare refine --seed 8
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from echoes.core import audio as eaudio
from echoes.data import corpus as ecorpus
from echoes.eval.gaps import SNR_CAP_DB, place_gaps
from echoes.restore.gaps.methods import base as B, janssen as J, lsar as L


def _with(**settings: float) -> Callable[[B.Ctx, int, int], np.ndarray]:
    """burg2 as shipped with some of its module settings replaced (e.g. ``LSAR_ORDER_MS``)."""
    def fill(c: B.Ctx, s: int, e: int) -> np.ndarray:
        saved = {k: getattr(L, k) for k in settings}
        for k, v in settings.items():
            setattr(L, k, v)
        try:
            return L.fill_lsar(c, s, e)
        finally:
            for k, v in saved.items():
                setattr(L, k, v)
    return fill


def _unrefined(c: B.Ctx, s: int, e: int) -> np.ndarray:
    """burg2's first fill (its shipped settings), not refined."""
    return L.fill_lsar(c, s, e, refine=False)


COMPARISONS = {
    "pair": {"one": _with(LSAR_PAIR_BELOW_MS=0.0), "pair": _with(LSAR_PAIR_BELOW_MS=1e9),
             "janssen": J.fill_janssen},
    "refine": {"plain": _unrefined, "refined": L.fill_lsar, "janssen": J.fill_janssen},
    "order": {"40 ms": _with(LSAR_ORDER_MS=40.0, LSAR_SHORT_ORDER_MS=40.0),
              "50 ms": _with(LSAR_ORDER_MS=50.0, LSAR_SHORT_ORDER_MS=50.0)},
    "context": {"2 gaps": L.fill_lsar, "3 gaps": _with(LSAR_CONTEXT_GAPS=3.0),
                "1.5 gaps": _with(LSAR_CONTEXT_GAPS=1.5)},
    "trend": {"no trend": _with(LSAR_TREND_MAX_DB_PER_S=0.0), "trend": L.fill_lsar,
              "120 dB/s": _with(LSAR_TREND_MAX_DB_PER_S=120.0)},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="train", choices=["train", "val"])
    ap.add_argument("--compare", default="refine", choices=list(COMPARISONS))
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
    fills = COMPARISONS[args.compare]
    base = next(iter(fills))
    for ms in (float(v) for v in args.gap_ms.split(",")):
        length = round(ms * sr / 1000)
        margin = 4 * length + int(0.2 * sr)
        snr: dict[str, list[float]] = {k: [] for k in fills}
        secs = {k: 0.0 for k in fills}
        for k, x in enumerate(pieces):
            rng = np.random.default_rng([args.seed, int(ms * 1000), k])
            for s in place_gaps(x, sr, length, args.per_piece, margin=margin, rng=rng):
                y = x.copy()
                y[s : s + length] = 0.0
                unknown = np.zeros(x.size, dtype=bool)
                unknown[s : s + length] = True
                c = B.Ctx(y, sr, unknown)
                for kind, fn in fills.items():
                    t = time.perf_counter()
                    v = fn(c, s, s + length)
                    secs[kind] += time.perf_counter() - t
                    snr[kind].append(min(B.gap_snr(x[s : s + length], v), SNR_CAP_DB))
        a = {k: np.array(v) for k, v in snr.items()}
        n = len(a[base])
        means = ", ".join(f"{k} {a[k].mean():.2f} dB" for k in fills)
        diffs = ", ".join(f"{k} - {base} {(a[k] - a[base]).mean():+.2f} ± "
                          f"{1.96 * (a[k] - a[base]).std() / np.sqrt(max(n, 1)):.2f} dB"
                          for k in fills if k != base)
        times = ", ".join(f"{k} {1000 * secs[k] / max(n, 1):.0f}" for k in fills)
        print(f"{ms:g} ms, {n} gaps: {means}; {diffs}; ms per gap: {times}")


if __name__ == "__main__":
    main()
