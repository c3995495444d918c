"""``echoes classify FILES... [--json]``: is each recording noisy (worth restoring) or clean?

Text output is one line per file. With ``--json`` each file gives one JSON object on its own
line: ``{"file": <path exactly as given>, "verdict": "noisy"|"clean", "p_noisy": float,
"segments": [{"start": s, "end": s, "p_noisy": float}, ...], "dropouts": [{"start": s, "end": s,
"kind": "dropout"|"level-drop"}, ...], "clicks": [{"start": s, "end": s, "score": float}, ...]}``.
The verdict is the network's, or ``noisy`` when dropouts or isolated clicks were found
(``--no-dropouts --no-clicks``: the network's alone). A file that cannot be read
gives one ``echoes: error: ...`` line on stderr, the others are still judged, and the exit
status is 2 at the end.
"""

from __future__ import annotations

import argparse
import json
import sys

from echoes.errors import EchoesError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "classify",
        help="judge recordings noisy or clean (5-s windows, overall verdict)",
        description="Judge each recording noisy (worth restoring) or clean, window by window.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3, ...)")
    p.add_argument("--json", action="store_true", help="one JSON object per line per file")
    p.add_argument("--weights", metavar="DIR", default=None,
                   help="folder holding classifier.safetensors/.json (default: the bundled weights/)")
    p.add_argument("--hop", type=float, default=2.5, metavar="S",
                   help="seconds between 5-s analysis windows (default 2.5)")
    p.add_argument("--channels", choices=("mix", "max"), default="mix",
                   help="mix channels to mono (default) or keep the noisiest channel per window")
    p.add_argument("--no-dropouts", dest="dropouts", action="store_false",
                   help="do not search for dropouts and level drops")
    p.add_argument("--no-clicks", dest="clicks", action="store_false",
                   help="do not search for isolated clicks (with --no-dropouts: the network's verdict alone)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from echoes.restore.classify import Classifier

    clf = Classifier.load(args.weights, device=args.device)
    failed = 0
    for path in args.files:
        try:
            result = clf.classify_file(path, hop_s=args.hop, channels=args.channels,
                                       dropouts=args.dropouts, clicks=args.clicks)
        except EchoesError as exc:
            print(f"echoes: error: {exc}", file=sys.stderr, flush=True)
            failed += 1
            continue
        if args.json:
            print(json.dumps({"file": path, **result.to_dict()}), flush=True)
        else:
            n_noisy = sum(s.p_noisy >= clf.threshold for s in result.segments)
            print(f"{path}: {result.verdict} (p_noisy {result.p_noisy:.3f}; "
                  f"{n_noisy}/{len(result.segments)} windows noisy, {len(result.dropouts)} dropouts, "
                  f"{len(result.clicks)} clicks)", flush=True)
    return 2 if failed else 0
