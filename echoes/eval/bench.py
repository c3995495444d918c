"""``echoes bench``: speed and memory of every step on the same 60 s of audio, noisereduce beside.

Realtime factor (RTF) = seconds of audio / seconds of wall time (higher is faster), the median of
``repeats`` runs after one warm-up. The test signal is a synthetic piano-like piece at 44.1 kHz
mono degraded by the ``gramophone`` preset (no data files needed). With ``--long`` a one-hour
44.1 kHz stereo file is restored from disk in a child process, and its peak memory (max RSS)
is reported. CUDA figures are added when a GPU is present (batched chunks).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from echoes.restore.pipeline import Restorer, RestoreOptions
from echoes.data.degrade import degrade
from echoes.eval.highs import band_limit
from echoes.models.registry import DENOISERS
from echoes.restore.declick import find_clicks
from echoes.restore.gaps.detect import detect_gaps
from echoes.restore.gaps.fill import fill_gaps
from echoes.restore.gaps.spans import Gap
from echoes.restore.highs import METHODS as HIGHS_METHODS, extend_highs

log = logging.getLogger(__name__)


def synthetic_piano(seconds: float, sample_rate: int = 44100, *, seed: int = 0) -> np.ndarray:
    """A piano-like test piece, ``(samples,)`` float32: random notes and chords with decaying
    inharmonic partials, soft and loud, with rests. For benchmarks and quick checks, not training."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    out = np.zeros(n, dtype=np.float64)
    t_note = np.arange(int(2.5 * sample_rate)) / sample_rate
    pos = 0
    while pos < n:
        for _ in range(int(rng.integers(1, 4))):
            midi = int(rng.integers(33, 90))
            f0 = 440.0 * 2 ** ((midi - 69) / 12)
            vel = rng.uniform(0.2, 1.0)
            note = np.zeros_like(t_note)
            for k in range(1, 16):
                fk = k * f0 * np.sqrt(1 + 3e-4 * k * k)
                if fk > sample_rate / 2.2:
                    break
                note += (vel ** (0.5 + 0.3 * k)) / k * np.exp(-t_note * (0.8 + 0.6 * k * f0 / 440)) * np.sin(
                    2 * np.pi * fk * t_note + rng.uniform(0, 2 * np.pi))
            m = min(len(note), n - pos)
            out[pos:pos + m] += 0.15 * note[:m]
        pos += int(rng.choice([0.125, 0.25, 0.5, 1.0]) * sample_rate)
        if rng.random() < 0.05:
            pos += int(sample_rate * rng.uniform(0.3, 1.5))  # a rest
    out *= 0.7 / max(1e-9, np.max(np.abs(out)))
    return out.astype(np.float32)


def _time_rounds(fns: list[Callable[[], Any]], repeats: int) -> list[tuple[list[float], list[float]] | Exception]:
    """Time every function ``repeats`` times, round-robin (each round runs every one once), so
    that a machine whose speed drifts from minute to minute slows all rows alike. Returns, per
    function, its wall and process-CPU times (seconds) or the exception its warm-up raised."""
    out: list[tuple[list[float], list[float]] | Exception] = []
    for fn in fns:  # warm-up
        try:
            fn()
            out.append(([], []))
        except Exception as exc:  # report, keep going
            out.append(exc)
    for _ in range(repeats):
        for fn, got in zip(fns, out):
            if isinstance(got, Exception):
                continue
            c, t = time.process_time(), time.perf_counter()
            fn()
            got[0].append(time.perf_counter() - t)
            got[1].append(time.process_time() - c)
    return out


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(*, seconds: float = 60.0, repeats: int = 3, device: str = "cpu", long: bool = False,
              weights: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """Time every step (classify, each de-noiser of the registry, inpaint, detect, declick, the
    whole chain; on CPU and, where present, CUDA) on ``seconds`` of degraded synthetic piano, with
    noisereduce beside; ``long`` adds :func:`bench_long_file`. Returns the rows and the machine."""
    if threads:
        torch.set_num_threads(threads)
    sr = 44100
    clean = synthetic_piano(seconds, sr, seed=1)
    noisy, _ = degrade(clean, sr, preset="gramophone", seed=1)
    noisy = noisy.astype(np.float32)
    x = noisy[None, :]
    rows: list[dict[str, Any]] = []
    results: dict[str, Any] = {
        "audio_s": seconds, "sample_rate": sr, "channels": 1, "repeats": repeats,
        "machine": {"python": platform.python_version(), "torch": torch.__version__,
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "rows": rows,
    }

    steps: list[tuple[str, str, Callable[[], Any]]] = []

    def add(name: str, dev: str, fn: Callable[[], Any]) -> None:
        steps.append((name, dev, fn))

    devices = ["cpu"] + (["cuda"] if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else [])
    for dev in devices:
        r = Restorer(weights=weights, device=dev)
        add("classify", dev, lambda: r.classify(x, sr))
        for model in DENOISERS:
            add(f"denoise ({model})", dev, lambda m=model: r.denoiser(m).denoise(x, sr))
        gaps = [Gap(int(s * sr), int(s * sr) + int(0.08 * sr), sr) for s in np.linspace(2, seconds - 3, 10)]
        if dev == "cpu":
            add("inpaint (10 gaps of 80 ms)", dev, lambda: fill_gaps(x, sr, gaps))
            add("detect gaps", dev, lambda: detect_gaps(x, sr))
            # classify also runs this where the network and the dropout search found nothing
            add("find clicks", dev, lambda: find_clicks(clean, sr))
            # each high-frequency method on the clean piece low-passed at 4 kHz (bandwidth estimated)
            narrow = band_limit(clean, 4000.0, sr)[None, :]
            for method in HIGHS_METHODS:
                add(f"extend highs ({method}, 4 kHz)", dev, lambda m=method: extend_highs(narrow, sr, method=m))
        add("restore (auto, whole chain)", dev, lambda: r.restore(x, sr, RestoreOptions()))
        add("restore (denoise always)", dev, lambda: r.restore(x, sr, RestoreOptions(denoise="always")))
    try:
        import noisereduce

        add("noisereduce (reference)", "cpu", lambda: noisereduce.reduce_noise(y=noisy, sr=sr))
        missing = []
    except ImportError:
        missing = [{"step": "noisereduce (reference)", "device": "cpu", "error": "not installed"}]
    for (name, dev, _), got in zip(steps, _time_rounds([fn for _, _, fn in steps], repeats)):
        if isinstance(got, Exception):
            rows.append({"step": name, "device": dev, "error": f"{type(got).__name__}: {got}"})
            log.warning("%s failed: %s", name, got)
            continue
        t, cpu = statistics.median(got[0]), statistics.median(got[1])
        rows.append({"step": name, "device": dev, "seconds": round(t, 4), "rtf": round(seconds / t, 1),
                     "cpu_seconds": round(cpu, 4)})
        log.info("%-28s %-5s %8.3f s (CPU %.3f s)  %7.1fx realtime", name, dev, t, cpu, seconds / t)
    rows.extend(missing)
    results["peak_rss_mb_in_process"] = round(_maxrss_mb(), 1)
    if long:
        results["long"] = bench_long_file(weights=weights)
        results["long_gap_search"] = bench_long_gap_search()
    return results


def bench_long_gap_search(*, minutes: float = 60.0, gaps: int = 5, gap_s: float = 0.5) -> dict[str, Any]:
    """The ``transplant`` donor search on a ``minutes``-long 44.1 kHz mono signal: the features
    (computed once per channel) and the fill of each of ``gaps`` gaps of ``gap_s`` seconds
    (search over the whole hour, alignment, equaliser, noise band, AR bridges), in seconds."""
    from echoes.restore.gaps.methods.base import Ctx
    from echoes.restore.gaps.methods.transplant import fill_transplant, transplant_features

    sr = 44100
    piece = synthetic_piano(60.0, sr, seed=3).astype(np.float64)
    rng = np.random.default_rng(1)
    x = np.concatenate([piece * rng.uniform(0.5, 1.0) + 0.003 * rng.standard_normal(piece.size)
                        for _ in range(int(minutes))])
    t = time.perf_counter()
    feats = transplant_features(x, sr)
    t_feats = time.perf_counter() - t
    per_gap = []
    for k in range(gaps):
        s = int((k + 0.5) * x.size / gaps)
        e = s + int(gap_s * sr)
        unknown = np.zeros(x.size, dtype=bool)
        unknown[s:e] = True
        t = time.perf_counter()
        fill_transplant(Ctx(x, sr, unknown, feats), s, e)
        per_gap.append(time.perf_counter() - t)
    return {"minutes": minutes, "features_s": round(t_feats, 2), "gap_s": gap_s,
            "per_gap_s": round(statistics.median(per_gap), 3), "features_mb": round(feats.feats.nbytes / 2**20, 1)}


def bench_long_file(*, minutes: float = 60.0, weights: str | None = None) -> dict[str, Any]:
    """Write a ``minutes``-long 44.1 kHz stereo PCM_16 file, restore it in a child process with
    ``echoes restore``, and report wall time and the child's peak memory (max RSS)."""
    import soundfile as sf

    sr = 44100
    with tempfile.TemporaryDirectory(prefix="echoes-bench-") as tmp:
        src = Path(tmp) / "long.wav"
        piece = synthetic_piano(60.0, sr, seed=2)
        rng = np.random.default_rng(0)
        with sf.SoundFile(src, "w", sr, 2, subtype="PCM_16") as f:
            for _ in range(int(minutes)):
                hiss = 0.01 * rng.standard_normal((2, piece.size)).astype(np.float32)
                f.write((np.stack([piece, 0.9 * piece]) + hiss).T)
        dst = Path(tmp) / "long.restored.wav"
        cmd = [sys.executable, "-m", "echoes", "-q", "restore", str(src), "-o", str(dst)]
        if weights:
            cmd += ["--weights", weights]
        t = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        ok = proc.returncode == 0 and dst.exists() and sf.info(dst).frames == sf.info(src).frames
        return {"minutes": minutes, "channels": 2, "sample_rate": sr, "ok": ok, "wall_s": round(wall, 1),
                "rtf": round(minutes * 60 / wall, 1), "peak_rss_mb": round(max(peak, before) / 1024, 1),
                "stderr": proc.stderr[-500:] if not ok else ""}


def format_table(results: dict[str, Any]) -> str:
    lines = [f"Bench on {results['audio_s']:.0f} s of 44.1 kHz mono (median of {results['repeats']} rounds, "
             f"every step once per round); torch threads {results['machine']['torch_threads']}, "
             f"GPU {results['machine']['cuda'] or 'none'}",
             "", "| step | device | seconds | CPU seconds | × realtime |", "|---|---|---:|---:|---:|"]
    for r in results["rows"]:
        if "error" in r:
            lines.append(f"| {r['step']} | {r['device']} | error: {r['error']} | | |")
        else:
            lines.append(f"| {r['step']} | {r['device']} | {r['seconds']:.3f} | {r['cpu_seconds']:.3f} | {r['rtf']:.1f} |")
    if "long" in results:
        lg = results["long"]
        lines += ["", f"One-hour 44.1 kHz stereo file via `echoes restore`: ok={lg['ok']}, {lg['wall_s']} s "
                      f"({lg['rtf']}× realtime), peak memory {lg['peak_rss_mb']} MB"]
    if "long_gap_search" in results:
        lg = results["long_gap_search"]
        lines += [f"Long-gap donor search on {lg['minutes']:.0f} min of 44.1 kHz mono: features {lg['features_s']} s "
                  f"({lg['features_mb']} MB), then {lg['per_gap_s']} s per {lg['gap_s']} s gap (median)"]
    return "\n".join(lines)


def main(args) -> int:
    res = run_bench(seconds=args.seconds, repeats=args.repeats, device=args.device, long=args.long,
                    weights=args.weights, threads=args.threads)
    text = format_table(res)
    if getattr(args, "whole", False):
        from echoes.eval.bench_whole import bench_whole, format_whole

        res["whole"] = bench_whole(minutes=args.whole_minutes, repeats=args.repeats)
        text += "\n" + "\n".join(format_whole(res["whole"]))
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0
