"""``echoes train classifier|denoiser``: rebuild the shipped weights from the corpus recipe.

Each trainer module (``echoes.train.classifier``, ``echoes.train.denoiser``) exposes
``register(subparsers)`` for its own options; this module only groups them.
"""

from __future__ import annotations

import importlib

TRAINERS = ("echoes.train.classifier", "echoes.train.denoiser")


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a model (classifier or denoiser) on the corpus")
    sub = p.add_subparsers(dest="model", metavar="MODEL")
    for name in TRAINERS:
        try:
            importlib.import_module(name).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    p.set_defaults(func=lambda args: p.print_help() or 2)
