"""``echoes data build|degrade|pack|figures``: the clean corpus, degradations, training pack, figures.

* ``data build --out DIR [--seed 0] [--minutes 150]``: render the clean piano corpus
  (:func:`echoes.data.corpus.build_corpus`); downloads pinned sample sets into ``--cache``.
* ``data degrade IN -o OUT --preset NAME [--seed N]``: degrade one file
  (:func:`echoes.data.degrade.degrade`); ``--info`` writes the record as JSON.
* ``data pack --corpus DIR --out DIR --max-mb 40``: a numpy-only training pack
  (:func:`echoes.data.corpus.pack_corpus`).
* ``data figures --out docs/figures``: one spectrogram before/after per effect.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from echoes.core.audio import load, resample, save, to_mono
from echoes.data.corpus import ALL_PIANOS
from echoes.errors import ParameterError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add ``data`` and its actions (build, degrade, pack, figures) to the CLI.

    Each action's ``func`` is one of the ``run_*`` functions below."""
    p = subparsers.add_parser("data", help="build the clean corpus, degrade audio, pack data, figures",
                              description="Data tools: clean corpus, degradation simulator, training pack.")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")

    b = sub.add_parser("build", help="render the clean piano corpus (real piano samples, split by piece)")
    b.add_argument("--out", required=True, metavar="DIR", help="output folder")
    b.add_argument("--seed", type=int, default=0, help="seed for everything random (default 0)")
    b.add_argument("--minutes", type=float, default=150.0,
                   help="minutes of distinct music (default 150; the held-out piano adds its copies)")
    b.add_argument("--cache", metavar="DIR", default=None,
                   help="download cache (default $ECHOES_CACHE or ~/.cache/echoes)")
    b.add_argument("--pianos", nargs="+", default=list(ALL_PIANOS), choices=list(ALL_PIANOS),
                   help="pianos to use (default: all four; salamander plays only test pieces and "
                        "musescore_grand only validation pieces, neither is trained on)")
    b.set_defaults(func=run_build)

    d = sub.add_parser("degrade", help="degrade an audio file with a preset (simulated 78 rpm damage)")
    d.add_argument("input", metavar="IN", help="clean audio file")
    d.add_argument("-o", "--output", required=True, metavar="OUT", help="degraded audio file to write")
    d.add_argument("--preset", required=True, help="paper, gramophone, clicks, hiss, gaps or mild")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.add_argument("--snr-db", type=float, default=None, help="SNR of the preset's main noise, dB")
    d.add_argument("--noise-dir", metavar="DIR", default=None, help="folder of recorded noise clips")
    d.add_argument("--noise-split", default="train", choices=("train", "test", "all", "fit", "dev"))
    d.add_argument("--info", metavar="JSON", default=None, help="write the degradation record here")
    d.set_defaults(func=run_degrade)

    k = sub.add_parser("pack", help="compact training pack (22.05 kHz clips + train noise, numpy only)")
    k.add_argument("--rate", type=int, default=22_050, choices=[22_050, 44_100],
                   help="sample rate of the clips and noise (default 22050; 44100 for the archival de-noiser)")
    k.add_argument("--corpus", required=True, metavar="DIR")
    k.add_argument("--out", required=True, metavar="DIR")
    k.add_argument("--max-mb", type=float, default=40.0, help="size limit in MiB (default 40)")
    k.add_argument("--noise-dir", metavar="DIR", default=None, help="noise folder; its train clips are packed")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--codec", choices=["npz", "flac"], default="npz",
                   help="clip shards: npz (numpy only) or flac (lossless too, 1.5x the clips per MiB; needs soundfile)")
    k.add_argument("--splits", nargs="+", default=["train", "val"], choices=["train", "val"],
                   help="splits to pack (default: train val)")
    k.add_argument("--exclude-pack", nargs="+", default=[], metavar="DIR",
                   help="leave out the clips of these packs (several disjoint packs of one corpus)")
    k.add_argument("--resample-quality", choices=["HQ", "VHQ", "fft"], default="HQ",
                   help="resampler to 22,050 Hz: soxr HQ (default; its pass band ends at 10.1 kHz) or fft "
                        "(a brick wall at 11,025 Hz: what the high-frequency model's targets need)")
    k.set_defaults(func=run_pack)

    r = sub.add_parser("pack-real", help="training pack of real clean recordings (DIR/clean/train, 5-s mono clips)")
    r.add_argument("--real", required=True, metavar="DIR", help="real recordings laid out like ../shared/data/real")
    r.add_argument("--out", required=True, metavar="DIR")
    r.add_argument("--codec", choices=["ogg", "flac"], default="ogg", help="shard format (default ogg: about 20 MB)")
    r.add_argument("--resample-quality", choices=["HQ", "VHQ", "fft"], default="HQ",
                   help="resampler to 22,050 Hz (as for pack)")
    r.add_argument("--rate", type=int, default=22_050, choices=[22_050, 44_100],
                   help="sample rate of the clips (default 22050; 44100 for the archival de-noiser)")
    r.add_argument("--max-clips", type=int, default=None, help="keep this many clips, evenly spaced (default all)")
    r.set_defaults(func=run_pack_real)

    f = sub.add_parser("figures", help="spectrogram before/after for each degradation effect")
    f.add_argument("--out", default="docs/figures", metavar="DIR")
    f.add_argument("--input", default=None, metavar="FILE",
                   help="clean piano to degrade (default: a generated étude rendered here)")
    f.add_argument("--start", type=float, default=0.0, metavar="S", help="excerpt start in --input (seconds)")
    f.add_argument("--noise-dir", metavar="DIR", default=None)
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=run_figures)
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])


def run_build(args: argparse.Namespace) -> int:
    from echoes.data.corpus import build_corpus

    m = build_corpus(args.out, seed=args.seed, minutes=args.minutes, cache=args.cache, pianos=args.pianos,
                     progress=lambda s: print(s, flush=True))
    t = m["totals"]
    print(f"corpus in {args.out}: {t['pieces']} pieces, {t['renders']} renders, {t['minutes']:.1f} min, "
          f"{t['bytes'] / 2**20:.0f} MiB, {t['clips']} clips of {m['clip_seconds']:g} s, "
          f"built in {t['build_seconds']:.0f} s")
    return 0


def run_degrade(args: argparse.Namespace) -> int:
    from echoes.data.degrade import degrade, info_to_json

    audio, sr = load(args.input)
    y, info = degrade(audio, sr, preset=args.preset, seed=args.seed, noise_dir=args.noise_dir,
                      noise_split=args.noise_split, snr_db=args.snr_db)
    peak = float(np.max(np.abs(y)))
    if peak > 1:
        log.warning("degraded peak %.2f > 1: the file is scaled down by %.1f dB", peak, 20 * np.log10(peak))
    save(args.output, y, sr, protect=[args.input])
    rec = info_to_json(info)
    if args.info:
        Path(args.info).write_text(json.dumps(rec, indent=1))
    snr = "" if info["snr_db"] is None else f", SNR {info['snr_db']:.1f} dB"
    print(f"{args.output}: {', '.join(e['name'] for e in info['effects']) or 'no effect'}{snr}, "
          f"{'noisy' if info['noisy'] else 'clean'}")
    return 0


def run_pack(args: argparse.Namespace) -> int:
    from echoes.data.corpus import pack_corpus

    m = pack_corpus(args.corpus, args.out, max_mb=args.max_mb, noise_dir=args.noise_dir, seed=args.seed,
                    codec=args.codec, splits=tuple(args.splits), exclude=args.exclude_pack,
                    quality=args.resample_quality, rate=args.rate)
    t = m["totals"]
    parts = ", ".join(f"{s}: {v['clips']} clips ({v['minutes']:.1f} min, {v['pieces']} pieces)"
                      for s, v in t.items() if isinstance(v, dict))
    print(f"pack in {args.out}: {parts}; {len(m['noise'])} noise clips; {t['bytes'] / 2**20:.1f} MiB")
    return 0


def run_pack_real(args: argparse.Namespace) -> int:
    from echoes.data.real import pack_real

    m = pack_real(args.real, args.out, codec=args.codec, quality=args.resample_quality, max_clips=args.max_clips,
                  rate=args.rate)
    size = sum(f.stat().st_size for f in Path(args.out).rglob("*") if f.is_file())
    print(f"real pack in {args.out}: {len(m['clips'])} clips of 5 s; {size / 2**20:.1f} MiB")
    return 0


# --------------------------------------------------------------------------------------------


def _demo_clean(seed: int, seconds: float = 5.0) -> tuple[np.ndarray, int]:
    """A clean 5-s piano excerpt: a generated étude played by FluidR3, or harmonic tones."""
    from echoes.data.corpus import FLUID_SF2, generate_etude
    from echoes.data.corpus.synth import humanise, render_fluidsynth

    sr = 22050
    try:
        perf = humanise(generate_etude(seed + 11, seconds=8.0), np.random.default_rng(seed), lead_in=0.1)
        x = render_fluidsynth(perf, soundfont=FLUID_SF2, sample_rate=sr)
    except Exception as exc:  # no fluidsynth: synthetic tones
        log.info("fluidsynth unavailable (%s): using synthetic tones", exc)
        t = np.arange(int(seconds * sr)) / sr
        x = np.zeros_like(t)
        for k, f in enumerate((262, 330, 392, 523, 196)):
            env = np.where(t >= k, np.exp(-(t - k) * 2.5), 0)
            x += sum(env * np.sin(2 * np.pi * f * h * t) / h**1.5 for h in range(1, 8))
    x = np.asarray(x[: int(seconds * sr)], dtype=np.float32)
    return (0.5 * x / max(1e-9, float(np.max(np.abs(x))))).astype(np.float32), sr


def make_figures(out: str | Path, *, clean: np.ndarray, sample_rate: int, seed: int = 0,
                 noise_dir: str | Path | None = None) -> list[Path]:
    """One PNG per effect: spectrograms of ``clean`` (mono ``(samples,)``) before and after.

    Every single effect of :func:`echoes.data.degrade.single_effects` plus the whole gramophone
    chain; gaps are shaded. Returns the paths written (``OUT/degrade_NAME.png``)."""
    from matplotlib.figure import Figure

    from echoes.data.degrade import degrade, single_effects

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    f_lo, f_hi, rows = 30.0, sample_rate / 2, 160
    log_f = np.geomspace(f_lo, f_hi, rows)

    def spec(x):
        """dB spectrogram on a log-frequency axis (30 Hz to Nyquist): thumps and hum show."""
        n_fft, hop = 2048, 256
        w = np.hanning(n_fft)
        frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (n_fft // 2, n_fft // 2)), n_fft)[::hop] * w
        db = 20 * np.log10(np.maximum(np.abs(np.fft.rfft(frames, axis=-1)), 1e-6))  # (frames, bins)
        bins = log_f / (sample_rate / n_fft)
        i0 = np.clip(np.floor(bins).astype(int), 0, db.shape[1] - 2)
        t = bins - i0
        return (db[:, i0] * (1 - t) + db[:, i0 + 1] * t).T  # (rows, frames)

    before = spec(clean)
    vmax = float(before.max())
    effects = dict(single_effects(noise_dir))
    effects["gramophone"] = None
    ticks = [f for f in (50, 100, 300, 1000, 3000, 10000) if f_lo <= f <= f_hi]
    tick_pos = [float(np.interp(np.log(f), np.log(log_f), np.arange(rows))) for f in ticks]
    for name, eff in effects.items():
        y, info = degrade(clean, sample_rate, preset=eff if eff is not None else "gramophone", seed=seed,
                          noise_dir=noise_dir)
        fig = Figure(figsize=(6.4, 2.2))
        axes = fig.subplots(1, 2, sharey=True)
        for ax, x, title in ((axes[0], before, "clean"), (axes[1], spec(y), name.replace("_", " "))):
            ax.imshow(x, origin="lower", aspect="auto", cmap="magma", vmin=vmax - 80, vmax=vmax,
                      extent=(0, clean.size / sample_rate, 0, rows), interpolation="nearest")
            ax.set_yticks(tick_pos, [f"{f / 1000:g}k" if f >= 1000 else str(f) for f in ticks])
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("time (s)", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[0].set_ylabel("Hz", fontsize=8)
        if info["gap_mask"] is not None:
            m = info["gap_mask"]
            d = np.diff(np.concatenate([[0], m.astype(int), [0]]))
            for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
                axes[1].axvspan(a / sample_rate, b / sample_rate, color="cyan", alpha=0.25, lw=0)
        fig.tight_layout()
        path = out / f"degrade_{name}.png"
        fig.savefig(path, dpi=72)
        written.append(path)
    return written


def run_figures(args: argparse.Namespace) -> int:
    if args.input:
        a, sr = load(args.input)
        x = resample(to_mono(a)[0], sr, 22050)
        s0 = int(args.start * 22050)
        x = x[s0 : s0 + 5 * 22050]
        sr = 22050
        if x.size < 22050:
            raise ParameterError("the input must be at least 1 s long")
    else:
        x, sr = _demo_clean(args.seed)
    paths = make_figures(args.out, clean=x, sample_rate=sr, seed=args.seed, noise_dir=args.noise_dir)
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} figures in {args.out} ({total / 1024:.0f} KiB)")
    return 0
