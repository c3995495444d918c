"""Long gaps (200/300/500 ms) in music that repeats: what the long-gap methods reach there.

A place counts as "music that repeats" when the clean piece's 2-second log-mel neighbourhood
(64 bands, 22.05 kHz, hop 512) correlates at or above ``--threshold`` with a patch at least
3 s away in the same piece (the selection reads the clean signal; the methods see only the
damaged one). Up to 4 such gaps per render and length (random non-silent places,
:func:`echoes.eval.gaps.place_gaps`, seeded) are zeroed together and filled by each method;
prints the mean gap SNR and which method ``auto`` used. Renders of the training pianos.

With ``--oracle``, also the ceiling of transplanting: the passage (3 s or more away) that best
matches the *clean* gap itself, gain-matched by least squares, scored by the gap SNR it would
give (``-10 log10(1 - r^2)`` for its normalised correlation ``r``): no search, which sees only
the gap's surroundings, can find a better single donor. (``similarity`` also adds an AR fill of
what the donor leaves unexplained near the edges, which can add a little on top.)

    python experiments/eval_long_gaps_repeats.py --corpus data/corpus --split val --threshold 0.97 [--oracle]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import librosa
import numpy as np
import scipy.signal

from echoes.core import audio as eaudio
from echoes.data import corpus as ecorpus
from echoes.eval.gaps import SNR_CAP_DB, place_gaps
from echoes.restore.gaps.fill import fill_gaps
from echoes.restore.gaps.methods.base import gap_snr
from echoes.restore.gaps.spans import Gap

SR, FSR, HOP, HALF, EXCLUDE = 44100, 22050, 512, 43, 130  # HALF frames = 1 s, EXCLUDE = 3 s


def log_mel(x: np.ndarray) -> np.ndarray:
    y = librosa.resample(x.astype(np.float32), orig_sr=SR, target_sr=FSR)
    return np.log(librosa.feature.melspectrogram(y=y, sr=FSR, n_fft=2048, hop_length=HOP, n_mels=64) + 1e-6)


def best_match(F: np.ndarray, t: int) -> float:
    """Best correlation of the 2-s patch centred on frame ``t`` with any patch 3 s or more away."""
    def norm(P: np.ndarray) -> np.ndarray:
        return (P - P.mean()) / (P.std() + 1e-9)

    P = norm(F[:, t - HALF : t + HALF])
    return max((float(np.mean(P * norm(F[:, u - HALF : u + HALF])))
                for u in range(HALF, F.shape[1] - HALF, 2) if abs(u - t) >= EXCLUDE), default=-1.0)


def oracle_donor_snr(x: np.ndarray, start: int, length: int, sr: int) -> float:
    """Gap SNR (dB) of the best gain-matched passage at least 3 s from the gap, chosen by its
    correlation with the clean gap ``x[start:start+length]`` (an upper bound for transplanting)."""
    xd = x.astype(np.float64)
    clean = xd[start : start + length]
    num = scipy.signal.fftconvolve(xd, clean[::-1], mode="valid")
    den = scipy.signal.fftconvolve(xd * xd, np.ones(length), mode="valid")
    r = num / np.sqrt(np.maximum(den, 1e-20) * max(float(clean @ clean), 1e-20))
    r[max(0, start - 3 * sr - length) : start + 3 * sr] = -1.0
    best = float(r.max())
    return min(-10 * np.log10(max(1.0 - best * best, 1e-6)), SNR_CAP_DB) if best > 0 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="val", choices=["train", "val", "test"])
    ap.add_argument("--threshold", type=float, default=0.97)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--oracle", action="store_true", help="also the best single donor chosen from the clean gap")
    args = ap.parse_args()
    folder = Path(args.corpus)
    manifest = ecorpus.load_manifest(folder)
    pianos = ecorpus.pianos_playing(manifest, None)
    renders = [r for r in ecorpus.list_renders(folder, args.split) if r["piano"] in pianos]
    methods = ("janssen", "burg2", "similarity", "auto")
    oracle: dict[int, list[float]] = {ms: [] for ms in (200, 300, 500)}
    rows: dict[int, dict[str, list]] = {ms: {m: [] for m in methods} for ms in (200, 300, 500)}
    corrs = []
    for k, r in enumerate(renders):
        x, s = eaudio.load(folder / r["file"])
        x = eaudio.resample(eaudio.to_mono(x)[0], s, SR).astype(np.float32)
        F = log_mel(x)
        for ms in rows:
            length = int(ms * SR / 1000)
            rng = np.random.default_rng([args.seed, ms, k])
            chosen = []
            for st in place_gaps(x, SR, length, 40, margin=4 * length + int(0.2 * SR), rng=rng):
                t = int((st + length // 2) / SR * FSR / HOP)
                if HALF <= t <= F.shape[1] - HALF:
                    corrs.append(best_match(F, t))
                    if corrs[-1] >= args.threshold:
                        chosen.append(st)
                if len(chosen) >= 4:
                    break
            gaps = [Gap(st, st + length, SR) for st in chosen]
            y = x.copy()
            for g in gaps:
                y[g.start : g.end] = 0.0
            for m in methods if gaps else ():
                filled, done = fill_gaps(y, SR, gaps, method=m)
                rows[ms][m] += [(min(gap_snr(x[g.start : g.end], filled[g.start : g.end]), SNR_CAP_DB), g.method)
                                for g in done]
            if args.oracle:
                oracle[ms] += [oracle_donor_snr(x, g.start, length, SR) for g in sorted(gaps, key=lambda g: g.start)]
        print(f"{k + 1}/{len(renders)} {r['id']}", flush=True)
    c = np.array(corrs)
    print(f"places tried {c.size}; correlation percentiles 10/50/90 {np.round(np.percentile(c, [10, 50, 90]), 3)}; "
          f"share at or above {args.threshold}: {np.mean(c >= args.threshold):.3f}")
    for ms, per in rows.items():
        used: dict[str, int] = {}
        for _, u in per["auto"]:
            used[u] = used.get(u, 0) + 1
        print(f"{ms} ms, {len(per['auto'])} gaps: " + ", ".join(
            f"{m} {np.mean([v for v, _ in per[m]]):.2f} dB" for m in methods if per[m]) + f"; auto used {used}"
            + (f"; oracle donor {np.mean(oracle[ms]):.2f} dB, best of it and burg2 per gap "
               f"{np.mean(np.maximum(oracle[ms], [v for v, _ in per['burg2']])):.2f} dB" if args.oracle and oracle[ms] else ""))


if __name__ == "__main__":
    main()
