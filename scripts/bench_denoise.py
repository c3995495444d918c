"""Speed of the de-noisers: realtime factor for a 60-s input, CPU and (if present) GPU.

    python scripts/bench_denoise.py [--weights DIR] [--seconds 60] [--rate 44100] [--repeat 3]
        [--threads N] [--device cpu|cuda] [--json OUT.json]

For each model ("default", "paper", and "noisereduce" as the reference) and each device, de-noises the same ``--seconds`` of a
synthetic piano-like signal plus white noise at ``--rate`` Hz through the public API
(``Denoiser.denoise``: resampling to 22,050 Hz and back, chunking, levelling included) and
prints the best of ``--repeat`` wall-clock times, the realtime factor (audio seconds per
second) and the process CPU time. On a shared machine the wall time depends on the load;
the CPU time (all threads together) much less, so both are printed, with the load average.
With ``--threads 1``, ``seconds / cpu_s`` is the realtime factor one idle core would give.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from echoes.restore.denoise import Denoiser

log = logging.getLogger("bench_denoise")


def signal(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    x = np.zeros(n)
    for start in np.arange(0, seconds, 0.4):
        f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
        m = slice(int(start * rate), n)
        env = np.exp(-(t[m] - start) * 2.5)
        for h in range(1, 6):
            x[m] += env * np.sin(2 * np.pi * f0 * h * (t[m] - start)) / h
    x = 0.3 * x / np.abs(x).max()
    x += rng.standard_normal(n) * np.sqrt(np.mean(x**2))
    return x.astype(np.float32)


def bench(model: str, device: str, x: np.ndarray, rate: int, repeat: int, weights: str | None,
          batch_size: int | None) -> dict:
    if model == "noisereduce":  # the reference: spectral gating, CPU only
        import noisereduce as nr

        class _NR:
            batch_size = 0

            @staticmethod
            def denoise(y, sr):
                return nr.reduce_noise(y=y, sr=sr).astype(np.float32)

        d = _NR()
    else:
        d = Denoiser.load(model, weights, device=device, batch_size=batch_size)
    d.denoise(x[: rate * 12], rate)  # warm-up (allocations, cuDNN autotune)
    walls, cpus = [], []
    for _ in range(repeat):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t, c = time.perf_counter(), time.process_time()
        y = d.denoise(x, rate)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    assert y.shape == x.shape and np.all(np.isfinite(y))
    sec = x.size / rate
    return {"model": model, "device": device, "batch_size": d.batch_size, "seconds": sec, "rate": rate,
            "wall_s": round(min(walls), 4), "realtime_x": round(sec / min(walls), 1),
            "cpu_s": round(min(cpus), 4), "realtime_x_per_cpu_s": round(sec / min(cpus), 1),
            "threads": torch.get_num_threads(),
            "loadavg": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=None)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--rate", type=int, default=44_100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", action="append", default=None, help="cpu and/or cuda (default: both if present)")
    p.add_argument("--models", default="default,paper,noisereduce")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if a.threads:
        torch.set_num_threads(a.threads)
    devices = a.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    x = signal(a.seconds, a.rate)
    rows = []
    for dev in devices:
        for m in a.models.split(","):
            if m == "noisereduce" and dev != "cpu":
                continue
            r = bench(m, dev, x, a.rate, a.repeat, a.weights, a.batch_size)
            rows.append(r)
            log.info("%-8s %-5s batch %2d: %.0f s at %d Hz in %.3f s wall = %.1fx realtime "
                     "(cpu %.3f s, %d threads, load %.2f)", m, dev, r["batch_size"], r["seconds"], a.rate,
                     r["wall_s"], r["realtime_x"], r["cpu_s"], r["threads"], r["loadavg"])
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
