"""``echoes batch SRC_DIR -o OUT_DIR``: restore a whole archive, resumably, with a manifest.

Every audio file under SRC_DIR is restored with the same chain and options as ``restore`` and
written under OUT_DIR at the same relative path; OUT_DIR/manifest.jsonl gets one JSON line per
finished file (hashes, verdict, gaps, status, error, timings, weights). Rerunning skips what is
already done (same input, output, options and weights); a killed run loses nothing it finished.
The batch goes on past failures; the exit status is 1 if any file failed. Local mode runs a
process pool; --ray local starts a local Ray instance, --ray ADDRESS joins a cluster
(pip install 'echoes[cluster]'). See docs/BATCH.md.
"""

from __future__ import annotations

import logging
import sys

from echoes.commands.restore import add_chain_options

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "batch",
        help="restore every audio file under a folder (resumable, manifest, optional Ray)",
        description=__doc__,
    )
    p.add_argument("src", metavar="SRC_DIR", help="folder of audio files (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR",
                   help="output folder (made if missing; not inside SRC_DIR)")
    p.add_argument("--ray", default=None, metavar="ADDRESS|local",
                   help="run on Ray: 'local' starts a local instance, else a cluster address (e.g. auto, ray://head:10001)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes or Ray actors (default: the CPU cores, or the GPUs on Ray)")
    add_chain_options(p)
    p.add_argument("--device", default="cpu",
                   help="cpu, cuda or auto (auto: CUDA if present; on Ray, GPUs if the cluster has them)")
    p.add_argument("--weights", default=None, metavar="SRC",
                   help="weights folder or hf://owner/repo@revision (default: $ECHOES_WEIGHTS or bundled)")
    p.add_argument("--manifest", default=None, metavar="FILE.jsonl", help="manifest path (default OUT_DIR/manifest.jsonl)")
    p.add_argument("--format", default=None, metavar="EXT", help="output format, e.g. flac (default: the input's)")
    p.add_argument("--force", action="store_true", help="redo every file, even those the manifest says are done")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch threads per worker (default 1)")
    p.add_argument("--gpus-per-worker", type=float, default=None, metavar="G",
                   help="Ray GPUs per actor (default 1 when the cluster has GPUs; 0.5 puts two on a GPU)")
    p.set_defaults(func=run)


def run(args) -> int:
    from echoes.api import RestoreOptions
    from echoes.batch.run import run_batch

    opts = RestoreOptions(
        denoise=args.denoise, inpaint=args.inpaint, gap_sensitivity=args.gap_sensitivity,
        model=args.model, strength=args.strength, channels=args.channels, speed=args.speed, eq=args.eq,
        extend_highs=args.extend_highs,
    ).validate()
    s = run_batch(
        args.src, args.output, options=opts, weights=args.weights, device=args.device,
        workers=args.workers, ray_address=args.ray, manifest=args.manifest, suffix=args.format,
        force=args.force, threads=args.threads, gpus_per_worker=args.gpus_per_worker,
        progress=not getattr(args, "quiet", False),
    )
    if not getattr(args, "quiet", False):
        print(f"{s.files} file(s): {s.ok} restored, {s.skipped} already done, {s.failed} failed; "
              f"{s.audio_s / 3600:.3f} h of audio in {s.wall_s:.1f} s ({s.throughput:.1f} h of audio per hour, "
              f"{s.mode}, {s.workers} worker(s)); manifest {s.manifest}")
    for f in s.failures:
        print(f"echoes: error: {f}", file=sys.stderr)
    if s.failed:
        print(f"echoes: {s.failed} of {s.ok + s.failed} file(s) failed", file=sys.stderr)
    return s.exit_status
