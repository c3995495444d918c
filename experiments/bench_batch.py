#!/usr/bin/env python
"""Batch throughput in hours of audio per hour: local mode (1 and 2 workers) vs Ray local.

Builds a small archive from the committed examples (clean, worn 78 and gapped piano, 12 s each,
looped to ``--seconds``; a third of the files clean, a third noisy, a third with gaps; wav and
flac, in nested folders), then restores it once per mode into a fresh folder and reports:

- ``end_to_end_h_per_h``: hours of audio over wall-clock hours of the whole run, start-up of the
  pool or Ray and the loading of the models included (what an archivist sees on a small batch);
- ``steady_h_per_h``: hours of audio over the busiest worker's summed per-file time (what a long
  batch approaches once start-up is amortised);
- ``start_s``: wall time minus the busiest worker's summed per-file time.

Usage::

    python experiments/bench_batch.py --files 12 --seconds 30 --modes local1,local2,ray2 --out bench_batch.json

Weights: ``--weights`` if given, else the bundled ``weights/`` when it holds all three models,
else (``weights: untrained`` in the JSON) the same architectures randomly initialised (seeded),
which cost the same to run; with those the default is ``--denoise always`` so that every file
goes through the de-noiser (the slowest case), since an untrained classifier's verdicts mean
nothing.

``--restorer FILE.py:attr`` swaps in another restorer (the hook of :mod:`echoes.batch.run`), e.g. to
check the script without weights. Throughput on a machine whose cores are shared with other work
is lower and noisier than on an idle one; the JSON records the load average before each run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Only light imports at the top: spawned workers re-run this file's top level, and numpy or torch
# loaded here would start before the workers pin their thread counts.
from echoes.batch.run import read_manifest, run_batch  # noqa: E402

EXAMPLES = {
    "clean": ROOT / "examples" / "clean_bach_prelude_c.flac",
    "noisy": ROOT / "examples" / "worn78_joplin_maple_leaf.ogg",
    "gaps": ROOT / "examples" / "gaps_mozart_k545.flac",
}


def build_archive(root: Path, *, files: int, seconds: float) -> float:
    """Write ``files`` clips into ``root`` (nested folders); returns the total audio seconds."""
    import numpy as np

    from echoes.core import audio

    total = 0.0
    kinds = list(EXAMPLES)
    for k in range(files):
        kind = kinds[k % len(kinds)]
        x, sr = audio.load(EXAMPLES[kind])
        n = int(seconds * sr)
        reps = int(np.ceil(n / x.shape[-1]))
        y = np.tile(x, (1, reps))[:, :n]
        ext = ".flac" if k % 2 else ".wav"
        dst = root / f"side{k // 6:02d}" / kind / f"{kind}_{k:03d}{ext}"
        dst.parent.mkdir(parents=True, exist_ok=True)
        audio.save(dst, y, sr)
        total += n / sr
    return total


def untrained_weights(folder: Path) -> Path:
    """The three models' architectures, randomly initialised with seed 0."""
    import torch

    from echoes.core.checkpoint import save_model
    from echoes.models.autoencoder import PaperCAE
    from echoes.models.classifier import SpectrogramCNN
    from echoes.models.complex_unet import ComplexUNet

    torch.manual_seed(0)
    save_model(SpectrogramCNN(), folder, "classifier", extra={"threshold": 0.5})
    save_model(ComplexUNet(), folder, "denoiser")
    save_model(PaperCAE(), folder, "cae")
    return folder


def bundled_complete() -> bool:
    w = ROOT / "weights"
    return all((w / f"{n}.json").is_file() and (w / f"{n}.safetensors").is_file() for n in ("classifier", "cae", "denoiser"))


def run_mode(mode: str, src: Path, out: Path, *, weights: str | None, restorer: str | None, options,
             device: str) -> dict:
    ray = mode.startswith("ray")
    workers = int(mode.removeprefix("ray").removeprefix("local") or 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    s = run_batch(src, out, workers=workers, ray_address="local" if ray else None, weights=weights,
                  restorer=restorer, progress=False, options=options, device=device)
    wall = time.perf_counter() - t0
    entries = read_manifest(out / "manifest.jsonl").values()
    per_worker: dict[tuple, float] = defaultdict(float)
    for e in entries:
        per_worker[(e.get("host"), e.get("pid"))] += float(e.get("timings", {}).get("wall_s", 0.0))
    busiest = max(per_worker.values()) if per_worker else wall
    verdicts = defaultdict(int)
    for e in entries:
        verdicts[str(e.get("verdict"))] += 1
    return {
        "mode": mode, "workers": s.workers, "files": s.files, "ok": s.ok, "failed": s.failed,
        "audio_h": round(s.audio_s / 3600, 5), "wall_s": round(wall, 2),
        "busiest_worker_s": round(busiest, 2), "start_s": round(wall - busiest, 2),
        "end_to_end_h_per_h": round(s.audio_s / wall, 2),
        "steady_h_per_h": round(s.audio_s / busiest, 2) if busiest > 0 else None,
        "verdicts": dict(verdicts), "load_avg_1min_before": load,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each file")
    ap.add_argument("--modes", default="local1,local2,ray2",
                    help="comma list of localN / rayN (N workers; rayN starts a local Ray of N CPUs)")
    ap.add_argument("--weights", default=None, help="weights folder (default: bundled, else untrained)")
    ap.add_argument("--denoise", default=None, choices=("auto", "always", "never"),
                    help="default: auto with trained weights, always with untrained ones")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto (local modes; Ray picks GPUs itself)")
    ap.add_argument("--restorer", default=None, help="restorer hook, FILE.py:attr or module:attr")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--workdir", default=None, help="where to build the archive (default: a temporary folder)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="echoes-bench-batch-"))
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    total = build_archive(src, files=args.files, seconds=args.seconds)
    from echoes.api import RestoreOptions

    weights, label = args.weights, args.weights
    if weights is None and args.restorer is None:
        if bundled_complete():
            weights, label = str(ROOT / "weights"), "bundled"
        else:
            weights, label = str(untrained_weights(work / "untrained")), "untrained"
    denoise = args.denoise or ("always" if label == "untrained" else "auto")
    options = RestoreOptions(denoise=denoise)
    results = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        out = work / f"out_{mode}"
        shutil.rmtree(out, ignore_errors=True)
        r = run_mode(mode, src, out, weights=weights, restorer=args.restorer, options=options, device=args.device)
        results.append(r)
        print(json.dumps(r), flush=True)
    # are the outputs of every mode the same bytes?
    digests = {}
    for r in results:
        m = read_manifest(work / f"out_{r['mode']}" / "manifest.jsonl")
        digests[r["mode"]] = {k: e.get("output_sha256") for k, e in m.items()}
    same = len({json.dumps(d, sort_keys=True) for d in digests.values()}) <= 1
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "archive": {"files": args.files, "seconds_each": args.seconds, "audio_h": round(total / 3600, 5)},
        "weights": label or "restorer hook", "denoise": denoise, "device": args.device,
        "results": results, "outputs_identical_across_modes": same,
    }
    print("\n| mode | workers | audio (h) | wall (s) | start-up (s) | end-to-end (h/h) | steady (h/h) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['mode']} | {r['workers']} | {r['audio_h']:.3f} | {r['wall_s']:.1f} | {r['start_s']:.1f} | "
              f"{r['end_to_end_h_per_h']:.1f} | {r['steady_h_per_h']:.1f} |")
    print(f"outputs identical across modes: {same}")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
