"""``echoes restore INPUTS... -o OUT``: the whole chain on files, with a report.

One input: OUT is a folder to write into under the input's name when it is an existing folder,
ends with a separator (``out/``), or does not exist and has no audio extension (``-o newdir``);
otherwise it is the output file (``-o out.flac``; the format follows the extension). Several
inputs: OUT is a folder; each output keeps its input's base name and format. Missing folders (for
the outputs and the --report) are made. Each restored file gives one summary line on stdout
(verdict, what was done, time; -q silences it). A file that fails is reported on stderr and the
batch goes on; the exit status is non-zero if any failed. Inputs are never overwritten; outputs
are written whole (never partial) with the user's umask.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from echoes.errors import EchoesError, OutputPathError
from echoes.models.registry import DEFAULT_DENOISER, DENOISERS, denoiser_names
from echoes.restore.archivist.eq import EQ_NAMES

log = logging.getLogger(__name__)


def add_chain_options(p) -> None:
    """The restoration options that ``restore`` and ``batch`` share (see :class:`RestoreOptions`)."""
    p.add_argument("--denoise", choices=("auto", "always", "never"), default="auto",
                   help="auto: only windows the classifier calls noisy (default)")
    p.add_argument("--inpaint", choices=("auto", "never"), default="auto", help="detect and fill gaps (default auto)")
    p.add_argument("--gap-sensitivity", type=float, default=0.5, metavar="0..1")
    p.add_argument("--model", choices=denoiser_names(), default=DEFAULT_DENOISER,
                   help="de-noiser: " + "; ".join(
                       f"{s.name}{' (alias ' + ', '.join(s.aliases) + ')' if s.aliases else ''}: {s.summary}"
                       for s in DENOISERS.values()))
    p.add_argument("--strength", type=float, default=1.0, metavar="0..1",
                   help="how much of the de-noiser's output to use: 0 the input, 1 the model's output (default 1)")
    p.add_argument("--channels", choices=("keep", "mono", "left", "right", "best"), default="keep",
                   help="keep: restore every channel, layout kept (default); mono: mix down; left/right: "
                        "one groove wall; best: the channel with less noise, or an inverse-noise blend when "
                        "they are within 3 dB (mono output for all but keep)")
    p.add_argument("--speed", default=None, metavar="auto|estimate|RATIO",
                   help="playback speed from the piano's tuning (A4 = 440 Hz, offsets within ±50 cents): "
                        "estimate: report only; auto: estimate and correct; RATIO: correct a known "
                        "playback/recording speed ratio (80/78.26 = 1.0222). Correcting resamples: the "
                        "output is RATIO times as long and lower by that ratio (default: no change; "
                        "files up to 300 s)")
    p.add_argument("--eq", default="flat", choices=EQ_NAMES,
                   help="playback recording curve (turnover/roll-off at 10 kHz), applied after restoration: "
                        "flat (default, none), 250_0, 300_5, 400_8, aes (400/-12), 500_13.7, nab (500/-16), "
                        "800_0, riaa; see docs/ARCHIVIST.md")
    p.add_argument("--extend-highs", choices=("never", "auto", "always"), default="never",
                   help="generate the band the recording never captured, from its effective bandwidth up to "
                        "11.025 kHz with the learned model (trained on clean piano band-limited at 2.5-8 kHz; "
                        "docs/MODELS.md): never "
                        "(default), auto (only audio that ends below 8 kHz; full-band audio is left bit-exact), "
                        "always; the report says what was generated")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "restore",
        help="restore files: de-noise what is noisy, fill gaps",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files (wav, flac, ogg, mp3)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder, or output file for one input: a folder when it exists, ends with / or "
                        "has no audio extension (.wav .flac .ogg .mp3 .aiff); made if missing")
    add_chain_options(p)
    p.add_argument("--gaps", default=None, metavar="SPANS",
                   help="gaps to fill, in seconds: 1.20-1.25,3.00-3.10 (added to the detected ones)")
    p.add_argument("--gaps-replace", action="store_true", help="fill only the --gaps given, detect none")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--weights", default=None, metavar="SRC",
                   help="weights folder or hf://owner/repo@revision (default: $ECHOES_WEIGHTS or bundled)")
    p.add_argument("--report", default=None, metavar="FILE.json", help="write a JSON report (one entry per input)")
    p.add_argument("--residual", action="store_true",
                   help="also write what was removed, as NAME.residual.EXT beside each output")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no summary lines, only errors (as echoes -q)")
    p.set_defaults(func=run)


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


def is_folder_target(out: str) -> bool:
    """Whether OUT names a folder for a single input (see the module docstring)."""
    o = Path(out)
    if o.is_dir() or out.endswith(("/", "\\")):
        return True
    return not o.exists() and o.suffix.lower() not in AUDIO_SUFFIXES


def output_paths(inputs: list[str], out: str) -> list[Path]:
    """Where each input's restored file goes (see the module docstring)."""
    o = Path(out)
    if len(inputs) == 1 and not is_folder_target(out):
        return [o]
    if o.exists() and not o.is_dir():
        raise OutputPathError(f"'{out}' is a file; with several inputs OUT must be a folder")
    names = [Path(i).name for i in inputs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise OutputPathError(f"several inputs are named {', '.join(sorted(dupes))}; they would overwrite each other")
    return [o / n for n in names]


def residual_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.residual{out.suffix}")


def make_folder(folder: Path, what: str) -> None:
    """Make a missing folder (and its parents), or raise one clear :class:`OutputPathError`."""
    if str(folder) in ("", ".") or folder.is_dir():
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"cannot make the {what} folder '{folder}': {exc.strerror or exc}") from None


def run(args) -> int:
    """Restore every input into its output path with one :class:`echoes.api.Restorer`.

    A failing file is reported and the rest go on; returns 1 if any failed, else 0."""
    from echoes.api import Restorer, RestoreOptions, write_report
    from echoes.plots.words import summary_line

    opts = RestoreOptions(
        denoise=args.denoise, inpaint=args.inpaint, gaps=args.gaps, gaps_replace=args.gaps_replace,
        gap_sensitivity=args.gap_sensitivity, model=args.model, strength=args.strength,
        channels=args.channels, speed=args.speed, eq=args.eq, extend_highs=args.extend_highs,
    ).validate()
    outs = output_paths(args.inputs, args.output)
    make_folder(outs[0].parent, "output")
    if args.report:
        if Path(args.report).is_dir() or args.report.endswith(("/", "\\")):
            raise OutputPathError(f"--report '{args.report}' is a folder; give a file name (report.json)")
        make_folder(Path(args.report).parent, "report")
    quiet = getattr(args, "quiet", False)
    restorer = Restorer(weights=args.weights, device=args.device)
    reports: list[dict] = []
    failed = 0
    bar = None
    if len(args.inputs) > 1 and not quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(args.inputs), unit="file", desc="restoring", file=sys.stderr)
    for src, dst in zip(args.inputs, outs):
        try:
            rep = restorer.restore_file(src, dst, opts, residual=residual_path(dst) if args.residual else None)
            rep["input"] = src  # exactly as given
            rep["status"] = "ok"
            reports.append(rep)
            if not quiet:
                line = summary_line(src, str(dst), rep)
                if bar is not None:
                    bar.write(line, file=sys.stdout)
                else:
                    print(line, flush=True)
        except EchoesError as exc:
            failed += 1
            msg = str(exc)
            print(f"echoes: error: {msg if src in msg else f'{src}: {msg}'}", file=sys.stderr)
            reports.append({"input": src, "output": str(dst), "status": "error", "error": str(exc)})
        except Exception as exc:  # a bug must not stop the batch; report it in one line
            failed += 1
            log.debug("unexpected failure", exc_info=True)
            print(f"echoes: error: {src}: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
            reports.append({"input": src, "output": str(dst), "status": "error", "error": repr(exc)})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if args.report:
        write_report(reports, args.report)
    if failed:
        if len(args.inputs) > 1:
            print(f"echoes: {failed} of {len(args.inputs)} file(s) failed", file=sys.stderr)
        return 1
    return 0
