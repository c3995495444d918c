"""Measure gap inpainting and gap detection (issue 6).

Renders a few public-domain piano pieces with fluidsynth when they are missing (music21
corpus -> MIDI -> FluidR3 GM grand piano, 44.1 kHz) into ``--data`` (never the repository),
adds the corpus test split when ``--corpus`` has a manifest, then runs
:func:`echoes.restore.gaps.inpaint.evaluate_inpainting` and a timing benchmark, writes JSON and prints a
Markdown table.

    python scripts/eval_inpaint.py --set corpus --gaps-per-signal 3   # humanised, 3 pianos
    python scripts/eval_inpaint.py --set renders --gaps-per-signal 8  # exact repeats
    python scripts/eval_inpaint.py --quick                            # smoke run

The Bach chorale BWV 66.6 was used to tune the AR orders and contexts and is left out of
the reported pieces unless ``--include-dev``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from echoes.core import audio as eaudio  # noqa: E402
from echoes.restore.gaps import inpaint  # noqa: E402

log = logging.getLogger("eval_inpaint")

PIECES = {
    "bwv846": "bach/bwv846",
    "maple": "joplin/maple_leaf_rag",
    "k545": "mozart/k545",
    "bwv1": "bach/bwv1.6",
}
DEV = {"bwv66": "bach/bwv66.6"}
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def render(name: str, work: str, folder: Path, rate: int = 44100) -> Path:
    """Render a music21 corpus work on the GM grand piano (program 0) to ``folder/name.wav``."""
    wav = folder / f"{name}.wav"
    if wav.exists():
        return wav
    import music21  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    mf = music21.midi.translate.music21ObjectToMidiFile(music21.corpus.parse(work))
    for t in mf.tracks:
        for e in t.events:
            if e.type == music21.midi.ChannelVoiceMessages.PROGRAM_CHANGE:
                e.data = 0
    mid = folder / f"{name}.mid"
    mf.open(str(mid), "wb")
    mf.write()
    mf.close()
    subprocess.run(["fluidsynth", "-ni", "-r", str(rate), "-g", "0.8", "-F", str(wav), SOUNDFONT, str(mid)],
                   check=True, capture_output=True)
    return wav


def corpus_test(corpus: Path, rate: int, limit: int) -> list[tuple[str, np.ndarray]]:
    """One render per test-split piece of the data helper's corpus (``manifest.json``,
    ``renders`` with ``file``, ``piece`` and ``split``), first in manifest order, at ``rate``."""
    man = corpus / "manifest.json"
    if not man.exists():
        return []
    renders = json.loads(man.read_text()).get("renders", [])
    out, seen = [], set()
    for r in renders:
        if r.get("split") != "test" or r.get("piece") in seen:
            continue
        p = corpus / r["file"]
        if not p.is_file():
            continue
        seen.add(r.get("piece"))
        x, sr = eaudio.load(p)
        if sr != rate:
            x = eaudio.resample(x, sr, rate)
        out.append((r["id"], x))
        if len(out) >= limit:
            break
    return out


def timing(x: np.ndarray, sr: int, methods, ms: float = 80.0, repeats: int = 5, stat=np.median) -> dict:
    """Wall time (s, median over gaps by default) to fill one ``ms`` gap in 30 s of mono
    audio, per method; one warm-up fill first (numba loads its compiled Burg loop)."""
    x = x[: 30 * sr]
    length = int(ms * sr / 1000)
    rng = np.random.default_rng(1)
    starts = inpaint.place_gaps(x, sr, length, repeats, margin=4 * length + sr // 5, rng=rng)
    out = {}
    y = x.copy()
    inpaint.fill_gaps(y, sr, [inpaint.Gap(starts[0], starts[0] + length, sr)], method="burg2")
    for m in methods:
        ts = []
        for s in starts:
            g = [inpaint.Gap(s, s + length, sr)]
            y = x.copy()
            y[s : s + length] = 0
            t = time.perf_counter()
            inpaint.fill_gaps(y, sr, g, method=m)
            ts.append(time.perf_counter() - t)
        out[m] = float(stat(ts))
    return out


def table(res: dict) -> str:
    methods = list(res["gap_snr"])
    lengths = list(next(iter(res["gap_snr"].values())))
    lines = ["| method | " + " | ".join(f"{k} ms" for k in lengths) + " |",
             "|---|" + "---:|" * len(lengths)]
    for m in methods:
        cells = []
        for k in lengths:
            v = res["gap_snr"][m][k]["mean_db"]
            cells.append("-" if v is None else f"{v:.2f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    n = [res["gap_snr"][methods[0]][k]["n"] for k in lengths]
    lines.append("| gaps | " + " | ".join(str(v) for v in n) + " |")
    return "\n".join(lines)


def _title(name: str) -> str:
    if "corpus" in name:
        return "Gap SNR, corpus test split (humanised renders, 3 pianos)"
    if "renders" in name:
        return "Gap SNR, exact score renders (repeats are sample-identical)"
    return f"Gap SNR ({name})"


def plot(res: dict, path: Path, title: str) -> None:
    """Gap SNR (mean of per-gap dB) against gap length, one line per method."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for m, per in res["gap_snr"].items():
        ks = [k for k in per if per[k]["mean_db"] is not None]
        ax.plot([float(k) for k in ks], [per[k]["mean_db"] for k in ks], marker="o", label=m)
    ax.set_xscale("log")
    ax.set_xlabel("gap length (ms)")
    ax.set_ylabel("gap SNR (dB, mean over gaps)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/data/inpaint"))
    ap.add_argument("--corpus", type=Path, default=Path("/work/data/corpus"))
    ap.add_argument("--corpus-limit", type=int, default=12)
    ap.add_argument("--out", type=Path, default=None, help="JSON results (default DATA/results.json)")
    ap.add_argument("--gaps-per-signal", type=int, default=10)
    ap.add_argument("--gap-ms", default="10,20,50,80,150,300,500")
    ap.add_argument("--methods", default=",".join(inpaint.METHODS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--plot", type=Path, default=None, help="write a PNG of gap SNR by length")
    ap.add_argument("--timing-only", action="store_true", help="only time one 80 ms gap per method")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="skip the run: print the table (and plot) of an earlier results file")
    ap.add_argument("--include-dev", action="store_true")
    ap.add_argument("--set", choices=("renders", "corpus", "both"), default="both",
                    help="renders: exact fluidsynth renders of scores (music that repeats sample "
                         "for sample); corpus: humanised test-split renders, three pianos")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    if args.timing_only:
        x, sr = eaudio.load(render("bwv846", PIECES["bwv846"], args.data))
        methods = [m for m in args.methods.split(",") if m]
        for name, stat in (("median", np.median), ("min", np.min)):
            t = timing(x.mean(axis=0), sr, methods, repeats=10, stat=stat)
            print(f"80 ms gap, 44.1 kHz, {name} of 10 (s):", json.dumps({k: round(v, 4) for k, v in t.items()}))
        return
    if args.from_json:
        res = json.loads(args.from_json.read_text())
        print(table(res))
        if args.plot:
            plot(res, args.plot, _title(args.from_json.stem))
        return
    rate = 44100
    pieces = dict(PIECES, **(DEV if args.include_dev else {}))
    signals, names = [], []
    if args.set in ("renders", "both"):
        for name, work in pieces.items():
            x, sr = eaudio.load(render(name, work, args.data, rate))
            signals.append(x)
            names.append(name)
    if args.set in ("corpus", "both"):
        for name, x in corpus_test(args.corpus, rate, args.corpus_limit):
            signals.append(x)
            names.append(name)
    log.info("signals: %s", ", ".join(names))
    methods = [m for m in args.methods.split(",") if m]
    gap_ms = tuple(float(v) for v in args.gap_ms.split(","))
    t = time.time()
    res = inpaint.evaluate_inpainting(signals, rate, gap_ms=gap_ms, gaps_per_signal=args.gaps_per_signal,
                                      methods=methods, quick=args.quick)
    res["signals"] = names
    res["wall_s"] = time.time() - t
    res["timing_80ms_s"] = timing(np.asarray(signals[0]).mean(axis=0), rate, methods)
    out = args.out or args.data / f"results_{args.set}{'_quick' if args.quick else ''}.json"
    out.write_text(json.dumps(res, indent=1))
    if args.plot:
        plot(res, args.plot, _title(args.set))
    print(table(res))
    print("detection:", json.dumps(res["detection"]))
    print("time to fill one 80 ms gap (s):", json.dumps({k: round(v, 4) for k, v in res["timing_80ms_s"].items()}))
    print("methods used:", json.dumps(res["methods_used"].get("auto", {})))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
