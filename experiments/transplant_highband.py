"""Variants of ``transplant``'s noise band and donor blending on the real dev recordings
(issue 30, long gaps; docs/GAPS.md, "Long gaps: the noise band").

Same gaps as :func:`echoes.eval.real_gaps.real_gaps_section` (same seed and placement); each
variant sets module constants of :mod:`echoes.restore.gaps.methods.transplant` and fills all
gaps of a recording in one ``fill_gaps(method="transplant")`` call. Prints, per variant and
length, the mean gap LSD, its ratio to ``copy-previous`` (95 % interval resampling pieces) and
the mean gap SNR; ``--diag`` also splits the squared log error of the frames in the gap by band.

    python experiments/transplant_highband.py --real ../shared/data/real --ms 500,1000 --gaps 5 \
        --variants donor,base
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import echoes.restore.gaps.methods.transplant as tp
from echoes.eval.gaps import SNR_CAP_DB, damage
from echoes.eval.real_gaps import (LSD_FLOOR, LSD_HOP, RATE, _frame_power, _mono44, _ratio, copy_previous,
                                   gap_lsd)
from echoes.eval.real_material import load_role
from echoes.restore.gaps.fill import fill_gaps
from echoes.restore.gaps.methods.base import gap_snr

#: Variants that the package's flags still express (the others of the docs' table ran at
#: commits 51de5cd and 3060a84, whose study-only flags were removed after).
VARIANTS: dict[str, dict] = {
    "base": {},  # the package's defaults
    "donor": {"TP_NOISE_BAND": False},  # before issue 30's noise band
    "floor": {"TP_KNN_W": 0.0},  # shaped to the sides' mean log spectrum only
    "floor_200hz": {"TP_KNN_W": 0.0, "TP_HIGH_SMOOTH_HZ": 200.0},
    "floor_8k": {"TP_KNN_W": 0.0, "TP_HIGH_HZ": 8000.0},
    "knn1": {"TP_KNN_W": 1.0},
    "knn_n16": {"TP_KNN_N": 16, "TP_CANDIDATES": 16},
    "cross3k": {"TP_HIGH_HZ": 3000.0},
    "cross5k": {"TP_HIGH_HZ": 5000.0},
    "side0.6": {"TP_FLOOR_SIDE_S": 0.6},
}
EDGES_HZ = (0, 1000, 4000, 8000, 12000, 16000, 22051)


def band_err(clean, filled, g) -> np.ndarray:
    """Sum over the gap's frames of the squared log error in each band of EDGES_HZ."""
    first = -(-g.start // LSD_HOP) * LSD_HOP
    centres = list(range(first, g.end, LSD_HOP))
    a = np.log10(_frame_power(clean, centres) + LSD_FLOOR)
    b = np.log10(_frame_power(filled, centres) + LSD_FLOOR)
    f = np.fft.rfftfreq(2048, 1 / RATE)
    d2 = ((a - b) ** 2).mean(axis=0)
    return np.array([d2[(f >= lo) & (f < hi)].sum() for lo, hi in zip(EDGES_HZ[:-1], EDGES_HZ[1:])]) / f.size


def profile(clean, filled, g, parts: int = 5) -> np.ndarray:
    """Mean frame LSD in each of ``parts`` equal stretches of the gap (by frame centre)."""
    first = -(-g.start // LSD_HOP) * LSD_HOP
    centres = np.arange(first, g.end, LSD_HOP)
    a = np.log10(_frame_power(clean, centres) + LSD_FLOOR)
    b = np.log10(_frame_power(filled, centres) + LSD_FLOOR)
    d = np.sqrt(np.mean((a - b) ** 2, axis=1))
    pos = np.minimum(((centres - g.start) * parts) // g.length, parts - 1)
    return np.array([d[pos == i].mean() for i in range(parts)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", default="../shared/data/real")
    ap.add_argument("--ms", default="500,1000")
    ap.add_argument("--gaps", type=int, default=5)
    ap.add_argument("--variants", default="base")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--diag", action="store_true")
    ap.add_argument("--profile", action="store_true", help="also the LSD in fifths of the gap")
    a = ap.parse_args()
    recs = load_role(a.real, "dev")
    signals = [_mono44(r) for r in recs]
    names = a.variants.split(",")
    keys = {k for n in names for k in VARIANTS[n]}
    defaults = {k: getattr(tp, k) for k in keys}
    for ms in [float(v) for v in a.ms.split(",")]:
        length = int(round(ms * RATE / 1000))
        margin = 4 * length + int(0.2 * RATE)
        cases = []
        for k, x in enumerate(signals):
            rng = np.random.default_rng([a.seed, int(ms * 1000), k])
            gaps, damaged = damage(x, RATE, length, a.gaps, margin=margin, rng=rng)
            if gaps:
                cases.append((k, x, gaps, damaged))
        cp, pieces, cprof = [], [], []
        for k, x, gaps, damaged in cases:
            y = copy_previous(damaged, gaps)
            for g in gaps:
                cp.append(gap_lsd(x, y, g))
                pieces.append(k)
                cprof.append(profile(x, y, g))
        if a.profile:
            print(f"{int(ms):5d} ms copy-previous  LSD by fifth " + " ".join(f"{v:.3f}" for v in np.mean(cprof, 0)))
        for name in names:
            for kk, v in defaults.items():
                setattr(tp, kk, v)
            for kk, v in VARIANTS[name].items():
                setattr(tp, kk, v)
            t0 = time.perf_counter()
            lsd, snr, be, prof = [], [], [], []
            for k, x, gaps, damaged in cases:
                y, done = fill_gaps(damaged, RATE, gaps, method="transplant")
                for g in done:
                    lsd.append(gap_lsd(x, y, g))
                    snr.append(min(gap_snr(x[g.start:g.end], y[g.start:g.end]), SNR_CAP_DB))
                    if a.diag:
                        be.append(band_err(x, y, g))
                    if a.profile:
                        prof.append(profile(x, y, g))
            r = _ratio(lsd, cp, pieces, a.seed)
            line = (f"{int(ms):5d} ms {name:14s} LSD {np.mean(lsd):.3f} / copy {np.mean(cp):.3f} = "
                    f"{r['ratio']:.3f} [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]  SNR {np.mean(snr):6.2f} dB"
                    f"  n {len(lsd)}  {time.perf_counter() - t0:.0f} s")
            if a.diag:
                m = np.mean(be, axis=0)
                line += "  sq-err by band " + " ".join(f"{v:.3f}" for v in m) + f" (sum {m.sum():.3f})"
            if a.profile:
                line += "  LSD by fifth " + " ".join(f"{v:.3f}" for v in np.mean(prof, 0))
            print(line, flush=True)


if __name__ == "__main__":
    main()
