"""``echoes evaluate [--quick] [--out DIR]``: the claims table and every measurement (echoes.eval)."""

from __future__ import annotations

import os


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="reproduce the paper's claims and ours: results.json/.md + plots")
    p.add_argument("--quick", action="store_true", help="a small synthetic check of the machinery (< 1 min)")
    p.add_argument("--out", default="results", help="output folder (default: results/)")
    p.add_argument("--corpus", default=os.environ.get("ECHOES_CORPUS", "data/corpus"),
                   help="corpus folder (built by `echoes data build` if missing; default data/corpus)")
    p.add_argument("--noise-dir", default=os.environ.get("ECHOES_NOISE_DIR"),
                   help="recorded noise clips (their held-out test split is used), e.g. ../shared/data/noise")
    p.add_argument("--real", default=os.environ.get("ECHOES_REAL"), metavar="DIR",
                   help="real recordings laid out like ../shared/data/real (clean/dev, historic, noise): their "
                        "tables come first")
    p.add_argument("--real-only", action="store_true", help="with --real: skip the rendered corpus's sections")
    p.add_argument("--sections", default="classifier,denoise,inpaint,highs",
                   help="comma-separated sections on the rendered corpus to run (default all)")
    p.add_argument("--real-sections", default="classifier,denoise,historic,gaps,highs",
                   help="comma-separated real-recording sections to run (default all)")
    p.add_argument("--clips", type=int, default=None, help="test clips to use (default 120; quick 3)")
    p.add_argument("--weights", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from echoes.errors import ParameterError

    if args.real_only and not args.real:
        raise ParameterError("--real-only needs --real DIR")
    from echoes.eval.report import render_markdown
    from echoes.eval.run import run

    res = run(out=args.out, quick=args.quick, corpus=None if args.quick else args.corpus,
              noise_dir=args.noise_dir, weights=args.weights, device=args.device, seed=args.seed,
              n_clips=args.clips, real=args.real, corpus_sections=False if args.real_only else tuple(s for s in args.sections.split(",") if s),
              real_sections=tuple(s for s in args.real_sections.split(",") if s))
    print(render_markdown(res))
    print(f"wrote {args.out}/results.json and results.md")
    return 0
