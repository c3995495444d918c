"""Command-line entry point: ``echoes`` / ``python -m echoes``.

Each sub-command lives in its own module under :mod:`echoes.commands` and exposes
``register(subparsers)``; the parser sets ``func`` to a callable ``(args) -> int`` (exit status).
The CLI is a thin adapter: all work is done by library functions.

User errors (:class:`echoes.EchoesError`) and unforeseen file-system errors (``OSError``) print
one line on stderr and exit with status 2 (``-v`` logs the traceback at debug level with ``-vv``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from echoes import __version__
from echoes.core.allocator import keep_freed_memory
from echoes.errors import EchoesError

log = logging.getLogger("echoes")

#: Sub-command modules, in the order --help lists them. A module that is absent is skipped.
COMMAND_MODULES = (
    "echoes.commands.classify",
    "echoes.commands.restore",
    "echoes.commands.evaluate",
    "echoes.commands.bench",
    "echoes.commands.train",
    "echoes.commands.data",
    "echoes.commands.hub",
    "echoes.commands.batch",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="echoes",
        description="Restore historic piano recordings: classify, de-noise, fill gaps.",
    )
    parser.add_argument("--version", action="version", version=f"echoes {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors (no summary lines)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        mod.register(sub)
    return parser


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("echoes").setLevel(level)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    keep_freed_memory()  # one command's run: freed arrays stay in the heap (echoes.core.allocator)
    try:
        return int(args.func(args) or 0)
    except EchoesError as exc:
        print(f"echoes: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file-system failure the commands did not foresee: one line, no traceback
        log.debug("file-system error", exc_info=True)
        where = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
        print(f"echoes: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("echoes: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
