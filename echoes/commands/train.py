"""``echoes train classifier|denoiser|highs``: rebuild the shipped weights from the corpus recipe.

argparse only: the options of each trainer and the call of its ``train`` function
(:func:`echoes.train.classifier.train`, :func:`echoes.train.denoiser.train`,
:func:`echoes.train.highs.train`).
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from echoes.errors import ParameterError

# The trainers (and scipy.signal, numba, the degradation chains under them) are imported when a
# training command runs, not when the CLI's parser is built: every `echoes` command pays for
# what is imported here (measured: 0.5 s of a 2.2-s start-up).


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a model (classifier, denoiser or highs) on the corpus")
    sub = p.add_subparsers(dest="model", metavar="MODEL")
    register_classifier(sub)
    register_denoiser(sub)
    register_highs(sub)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def register_classifier(subparsers) -> None:
    """``train classifier``: options of :func:`echoes.train.classifier.train`."""
    p = subparsers.add_parser("classifier", help="train the noisy/clean classifier",
                              description="Train the noisy/clean classifier on degraded corpus clips (echoes.train.classifier).")
    p.add_argument("--data", required=True, metavar="DIR", help="corpus or training-pack folder")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for classifier.safetensors/.json")
    p.add_argument("--extra-data", nargs="+", default=None, metavar="PACK",
                   help="more packs whose train clips join the training clips (e.g. `echoes data pack-real`)")
    p.add_argument("--noise-dir", default=None, metavar="DIR", help="recorded noise clips (default DATA/noise)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--examples", type=int, default=16384, help="examples per epoch (half clean)")
    p.add_argument("--val-examples", type=int, default=2048)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=0, help="data-making processes")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--holdout-piano", default=None, help="piano left out of training (for the harder test)")
    p.add_argument("--limit-clips", type=int, default=None, help="use at most this many clips per split (smoke tests)")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after the epoch that passes this time")
    p.add_argument("--init", default=None, metavar="DIR", help="start from the classifier weights in DIR")
    p.add_argument("--channels", type=int, nargs=3, default=None, metavar="C",
                   help="output channels of the three convolutions (default 8 16 32)")
    p.add_argument("--hidden", type=int, default=None, help="width of the hidden fully connected layer (default 32)")
    p.add_argument("--timbre", type=float, default=0.0, metavar="P",
                   help="probability of the timbre augmentation (random tilt and resonance, clean and "
                        "noisy examples alike; default 0)")
    p.add_argument("--preset-weights", default=None, metavar="NAME=W,...",
                   help="change the relative weights of the presets for degraded training examples "
                        "(default: PRESET_WEIGHTS of echoes.train.classifier_examples)")
    p.set_defaults(func=_run_classifier)


def _run_classifier(args: argparse.Namespace) -> int:
    from echoes.train import classifier as classifier_trainer

    model_kwargs: dict[str, Any] = {}
    if args.channels:
        model_kwargs["channels"] = list(args.channels)
    if args.hidden:
        model_kwargs["hidden"] = args.hidden
    rec = classifier_trainer.train(
        model_kwargs=model_kwargs or None, data=args.data, out=args.out, seed=args.seed, epochs=args.epochs,
        examples_per_epoch=args.examples, val_examples=args.val_examples, batch_size=args.batch_size,
        lr=args.lr, workers=args.workers, device=args.device, noise_dir=args.noise_dir,
        holdout_piano=args.holdout_piano, limit_clips=args.limit_clips, max_seconds=args.max_seconds,
        init=args.init, timbre=args.timbre, preset_weights=args.preset_weights, extra_data=args.extra_data)
    print(f"trained {args.epochs} epochs in {rec['seconds']:.0f} s; best epoch {rec['best_epoch']}")
    return 0


def register_denoiser(sub) -> None:
    """``train denoiser``: options of :func:`echoes.train.denoiser.train`. ``--model default`` is
    the registry's alias of ``fast`` (weights stem ``denoiser``); ``both`` trains it and ``paper``."""
    p = sub.add_parser("denoiser", help="train the de-noisers (the paper's CAE and/or the default model)")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR",
                   help="corpus or training-pack folder; or several packs with disjoint clips "
                        "(their train clips together; val clips and noise from the first)")
    p.add_argument("--out", required=True, metavar="DIR", help="weights folder to write")
    p.add_argument("--model", default="both", choices=["paper", "default", "fast", "archival", "both"],
                   help="which de-noiser: paper, fast (alias default), archival (44.1 kHz; packs made with "
                        "--rate 44100), or both (paper and fast; the default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (reproducible)")
    p.add_argument("--minutes", type=float, default=None, help="wall-clock budget for the training loop")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=0, help="data worker processes")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--noise-dir", default=None, help="recorded noise clips (default: DATA/noise)")
    p.add_argument("--val-count", type=int, default=64)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--limit-clips", type=int, default=None, help="use at most this many clips (smoke tests)")
    p.add_argument("--init", default=None, metavar="DIR", help="start from the weights in DIR (fine-tuning)")
    p.add_argument("--init-model", default=None, choices=["paper", "default", "fast", "archival"],
                   help="with --init: start from this model's weights in DIR instead of the trained model's own "
                        "(archival from fast: the network is grown to the 44.1-kHz grid)")
    p.add_argument("--lr-paper", type=float, default=5e-4, help="learning rate of the CAE")
    p.add_argument("--float32", action="store_true", help="save float32 weights (default float16: half the size)")
    p.add_argument("--mix", default=None, metavar="K=W,...",
                   help="shares of example kinds, e.g. paper=0.3,gramophone=0.6,mild=0.05,clean=0.05")
    p.add_argument("--channels", type=int, nargs="+", default=None, metavar="C",
                   help="default model: feature maps per encoder level "
                        "(default 12 16 24 32; the shipped weights: 16 24 32 48)")
    p.add_argument("--bottleneck", type=int, default=None,
                   help="default model: width of the temporal bottleneck (default 256; the shipped weights: 384)")
    p.add_argument("--taps", type=int, default=None,
                   help="default model: frames of the deep filter (odd; default 3); with --init, "
                        "grows the checkpoint's filter, the new taps starting at zero")
    p.add_argument("--dilations", type=int, nargs="+", default=None, metavar="D",
                   help="default model: dilations of the temporal bottleneck (default 1 2 4 8 1); with --init, "
                        "must begin with the checkpoint's and grows it, the new blocks starting at zero")
    p.add_argument("--select", default="mean", choices=["mean", "paper"],
                   help="keep the best state by mean validation SNR (default) or by the 0 dB white-noise SNR alone")
    p.add_argument("--pitch-cents", type=float, default=0.0,
                   help="play each training clip up to this many cents higher or lower first (default 0: off)")
    p.add_argument("--noise-split", default="train", choices=["train", "fit"],
                   help="recorded noise to train on: the training clips whole (default), or their first four "
                        "fifths ('fit'), validating on the last fifth, which the run never hears")
    p.set_defaults(func=_run_denoiser)


def _run_denoiser(args: argparse.Namespace) -> int:
    # "default" is the registry's alias of "fast"; the trainer resolves it (weights stem "denoiser")
    models = ["paper", "default"] if args.model == "both" else [args.model]
    mix = None
    from echoes.train import denoiser as denoiser_trainer
    from echoes.train.denoiser_examples import MIX

    if args.mix:
        try:
            mix = {k.strip(): float(v) for k, v in (item.split("=") for item in args.mix.split(","))}
        except ValueError:
            raise ParameterError(f"--mix must look like paper=0.3,gramophone=0.6, got {args.mix!r}") from None
        if not set(mix) <= set(MIX) or min(mix.values()) < 0 or sum(mix.values()) <= 0:
            raise ParameterError(f"--mix kinds are {', '.join(MIX)} with non-negative weights")
    denoiser_trainer.train(
        data=args.data, out=args.out, models=models, seed=args.seed, steps=args.steps, minutes=args.minutes,
        batch_size=args.batch_size, lr=args.lr, workers=args.workers, device=args.device,
        noise_dir=args.noise_dir, val_count=args.val_count, val_every=args.val_every,
        limit_clips=args.limit_clips, init=args.init, lr_paper=args.lr_paper, half=not args.float32, mix=mix,
        select=args.select, pitch_cents=args.pitch_cents, noise_split=args.noise_split, init_model=args.init_model,
        model_kwargs={k: v for k, v in (("channels", args.channels), ("bottleneck", args.bottleneck),
                                        ("taps", args.taps), ("dilations", args.dilations)) if v} or None)
    return 0


def register_highs(sub) -> None:
    """``train highs``: options of :func:`echoes.train.highs.train` (the learned high-frequency extension)."""
    p = sub.add_parser("highs", help="train the high-frequency extension on full-band clean piano")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR",
                   help="corpus, training-pack or real-recording-pack folders (their train clips together)")
    p.add_argument("--out", required=True, metavar="DIR", help="weights folder to write (highs.*)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (reproducible)")
    p.add_argument("--minutes", type=float, default=None, help="wall-clock budget for the training loop")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--workers", type=int, default=0, help="data worker processes")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--val-count", type=int, default=48, help="validation clips (each at 4 and 7 kHz)")
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--limit-clips", type=int, default=None, help="use at most this many clips per folder")
    p.add_argument("--hidden", type=int, default=None, help="width of the envelope network (default 192)")
    p.add_argument("--init", default=None, metavar="DIR", help="start from the highs weights in DIR (fine-tuning)")
    p.add_argument("--dilations", type=int, nargs="+", default=None, metavar="D",
                   help="dilations of its residual blocks over frames (default 1 2 4 8 16 1)")
    p.set_defaults(func=_run_highs)


def _run_highs(args: argparse.Namespace) -> int:
    from echoes.train import highs as highs_trainer

    highs_trainer.train(data=args.data, out=args.out, seed=args.seed, steps=args.steps, minutes=args.minutes,
                        batch_size=args.batch_size, lr=args.lr, workers=args.workers, device=args.device,
                        val_count=args.val_count, val_every=args.val_every, limit_clips=args.limit_clips,
                        model_kwargs={k: v for k, v in (("hidden", args.hidden), ("dilations", args.dilations)) if v}
                        or None, init=args.init)
    return 0
