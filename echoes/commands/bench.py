"""``echoes bench``: realtime factors, peak memory, noisereduce as the reference (see echoes.eval.bench)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="speed and memory of each step on 60 s of audio")
    p.add_argument("--seconds", type=float, default=60.0, help="length of the test audio (default 60)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto",
                   help="auto: CPU, plus CUDA when a GPU is present")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--long", action="store_true", help="also restore a one-hour stereo file and report peak memory")
    p.add_argument("--whole", action=argparse.BooleanOptionalAction, default=True,
                   help="also time whole processes (echoes restore --denoise always with every model, and "
                        "noisereduce) on --whole-minutes of 44.1 kHz mono and stereo (default on; --no-whole skips)")
    p.add_argument("--whole-minutes", type=float, default=5.0, help="length of the whole-process test file (default 5)")
    p.add_argument("--weights", default=None)
    p.add_argument("--out", default="bench.json", help="JSON output (default bench.json)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from echoes.eval.bench import main

    return main(args)
