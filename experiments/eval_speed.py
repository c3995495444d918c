"""Speed (tuning) estimation error on corpus clips played at known wrong speeds.

Every clip of the corpus split (mono, ``--seconds`` long, quieter than -40 dBFS skipped) is
resampled as if the disc were played at ``ratio`` times its recording speed (pitch up by
``1200*log2(ratio)`` cents), for ratios 76/78.26, 1, 80/78.26 and ``--random`` ratios drawn
uniformly within ±45 cents; :func:`echoes.restore.archivist.tuning.estimate_speed` then estimates the offset.
The error is estimated − true cents, wrapped to ±50 (the estimate is only known modulo a
semitone). Prints the error figures and the share of clips within 10 cents.

Run: ``python experiments/eval_speed.py --corpus /work/data/corpus --split test``
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import soxr

from echoes.data.corpus import iter_clips
from echoes.restore.archivist.tuning import NOMINAL_RPM, cents_from_ratio, estimate_speed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/work/data/corpus")
    ap.add_argument("--split", default="test")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sample-rate", type=int, default=22050)
    ap.add_argument("--max-clips", type=int, default=60)
    ap.add_argument("--random", type=int, default=2, help="random ratios per clip (within ±45 cents)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default=None,
                    help="also degrade each played clip with this echoes.data.degrade preset (e.g. gramophone)")
    ap.add_argument("--json", default=None, help="also write the per-case results here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rng = np.random.default_rng(args.seed)
    sr = args.sample_rate
    fixed = [76.0 / NOMINAL_RPM, 1.0, 80.0 / NOMINAL_RPM]
    rows = []
    t0 = time.perf_counter()
    clips = 0
    for cid, x, meta in iter_clips(args.corpus, args.split, sample_rate=sr, seconds=args.seconds,
                                   min_rms_dbfs=-40.0):
        if clips >= args.max_clips:
            break
        clips += 1
        ratios = fixed + [2 ** (c / 1200) for c in rng.uniform(-45, 45, args.random)]
        for r in ratios:
            # played r times too fast: r times fewer samples at the same rate
            y = soxr.resample(x, float(sr), float(sr) / r, quality="HQ").astype(np.float32)
            if args.preset:
                from echoes.data.degrade import degrade

                y, _ = degrade(y, sr, preset=args.preset, seed=int(rng.integers(1 << 30)))
            est = estimate_speed(y, sr)
            true = cents_from_ratio(r)
            err = (est.cents - true + 50) % 100 - 50
            rows.append({"clip": cid, "piano": meta["piano"], "ratio": r, "true_cents": true,
                         "est_cents": est.cents, "error_cents": err, "confidence": est.confidence})
    dt = time.perf_counter() - t0
    err = np.abs(np.array([r["error_cents"] for r in rows]))
    print(f"preset={args.preset or 'none'} split={args.split} clips={clips} cases={len(rows)} seconds={args.seconds} sr={sr} "
          f"time={dt:.1f}s ({1e3 * dt / max(len(rows), 1):.0f} ms/case incl. resampling)")
    print(f"|error| cents: median {np.median(err):.2f}  mean {err.mean():.2f}  p95 {np.percentile(err, 95):.2f}  "
          f"max {err.max():.2f}")
    print(f"within 10 cents: {100 * np.mean(err <= 10):.1f}%   within 5 cents: {100 * np.mean(err <= 5):.1f}%")
    for r in fixed:
        e = np.abs([row["error_cents"] for row in rows if row["ratio"] == r])
        print(f"  ratio {r:.4f} ({NOMINAL_RPM * r:.2f} rpm): median {np.median(e):.2f}  max {e.max():.2f}  "
              f"within 10: {100 * np.mean(e <= 10):.1f}%")
    inside = [row for row in rows if abs(row["true_cents"]) <= 45]
    u = np.abs([row["est_cents"] - row["true_cents"] for row in inside])
    print(f"unwrapped, true offset within ±45 cents: n={u.size} within 10 cents: {100 * np.mean(u <= 10):.1f}%")
    amb = [row["est_cents"] for row in rows if abs(row["true_cents"]) > 50]
    if amb:
        print(f"beyond ±50 cents (76 rpm is {cents_from_ratio(fixed[0]):+.1f}): {100 * np.mean(np.array(amb) > 0):.0f}% "
              f"read as the neighbouring semitone (+{np.median(np.abs(amb)):.1f} cents median |estimate|)")
    for p in sorted({row["piano"] for row in rows}):
        e = np.abs([row["error_cents"] for row in rows if row["piano"] == p])
        print(f"  piano {p}: n={e.size} median {np.median(e):.2f}  within 10: {100 * np.mean(e <= 10):.1f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
