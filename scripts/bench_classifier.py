#!/usr/bin/env python
"""Time the classifier on 60 s of audio after loading (target: under 0.5 s on a laptop CPU).

Usage::

    python scripts/bench_classifier.py [--weights DIR] [--seconds 60] [--repeats 7] [--threads N]

Times :meth:`Classifier.classify` end to end (resampling, mono mix, STFT, network, verdict) on
44.1 kHz stereo and on 22.05 kHz mono input, and prints the median and best of ``--repeats``
runs after one warm-up. Without trained weights it times an untrained model of the same shape.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def signal(seconds: float, sr: int, channels: int, seed: int = 0) -> np.ndarray:
    """Decaying harmonic notes with a little hiss: ``(channels, samples)`` float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    x = np.zeros(n)
    for start in np.arange(0, seconds, 0.4):
        f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
        tt = t - start
        m = tt >= 0
        x[m] += sum(0.5 ** k * np.sin(2 * np.pi * k * f0 * tt[m]) for k in range(1, 6)) * np.exp(-3 * tt[m])
    x = 0.5 * x / np.max(np.abs(x)) + 1e-3 * rng.standard_normal(n)
    return np.repeat(x[None, :], channels, axis=0).astype(np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import torch

    from echoes.restore.classify import Classifier
    from echoes.errors import WeightsError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        clf, which = Classifier.load(args.weights), "trained"
    except WeightsError:
        clf, which = Classifier.untrained(), "untrained (no weights found)"
    results = {"weights": which, "seconds_of_audio": args.seconds, "torch_threads": torch.get_num_threads(),
               "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(), "cases": {}}
    for name, sr, ch in (("44.1 kHz stereo", 44100, 2), ("22.05 kHz mono", 22050, 1)):
        x = signal(args.seconds, sr, ch)
        clf.classify(x, sr)  # warm-up
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            r = clf.classify(x, sr)
            times.append(time.perf_counter() - t)
        results["cases"][name] = {"median_s": statistics.median(times), "best_s": min(times),
                                  "windows": len(r.segments), "realtime_factor": args.seconds / statistics.median(times)}
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(f"classifier ({which}), {args.seconds:.0f} s of audio, {results['torch_threads']} torch threads, "
              f"{results['cpu_count']} CPUs")
        for name, c in results["cases"].items():
            ok = "OK" if c["median_s"] < 0.5 * args.seconds / 60 else "SLOW"
            print(f"  {name:16s} median {c['median_s']:.3f} s  best {c['best_s']:.3f} s  "
                  f"({c['windows']} windows, {c['realtime_factor']:.0f}x real time)  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
