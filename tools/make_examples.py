"""Make the app's example clips in examples/ (committed; all made by Echoes, free to ship).

Public-domain scores from the music21 corpus, rendered with fluidsynth and the FluidR3 GM
"Yamaha Grand Piano" (MIT), then degraded with :mod:`echoes.data.degrade`:

- ``clean_bach_prelude_c.flac``: Bach, Prelude in C (BWV 846), clean: Echoes leaves it alone;
- ``worn78_joplin_maple_leaf.ogg``: Joplin, Maple Leaf Rag, through the ``gramophone`` preset;
- ``gaps_mozart_k545.flac``: Mozart, K. 545/1, with dropouts (the ``gaps`` preset).

Needs ``apt-get install fluidsynth fluid-soundfont-gm`` and ``pip install music21``.
Usage: ``python tools/make_examples.py [--out examples] [--seconds 12]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from echoes.core import audio  # noqa: E402
from echoes.data.degrade import degrade  # noqa: E402

SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
PIECES = {
    "clean_bach_prelude_c": ("bach/bwv846", None, ".flac", 22050),
    "worn78_joplin_maple_leaf": ("joplin/maple_leaf_rag", "gramophone", ".ogg", 44100),
    "gaps_mozart_k545": ("mozart/k545", "gaps", ".flac", 22050),
}


def render(work: str, seconds: float, tmp: Path) -> np.ndarray:
    """Render the first ``seconds`` of a music21 corpus work at 44.1 kHz, mono ``(samples,)``."""
    import music21

    score = music21.corpus.parse(work)
    mid = tmp / "piece.mid"
    score.write("midi", fp=str(mid))
    wav = tmp / "piece.wav"
    subprocess.run(["fluidsynth", "-ni", "-q", "-r", "44100", "-g", "0.6", "-F", str(wav), SF2, str(mid)],
                   check=True, capture_output=True)
    x, sr = audio.load(wav)
    x = audio.to_mono(x)[0]
    start = int(np.argmax(np.abs(x) > 1e-3))
    x = x[start:start + int(seconds * sr)]
    fade = int(0.5 * sr)
    x[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return (0.8 * x / np.max(np.abs(x))).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="examples")
    ap.add_argument("--seconds", type=float, default=12.0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    record = {}
    with tempfile.TemporaryDirectory() as t:
        for name, (work, preset, ext, rate) in PIECES.items():
            x = render(work, args.seconds, Path(t))
            info = {"effects": []}
            if preset:
                x, info = degrade(x, 44100, preset=preset, seed=7)
            x = audio.resample(x, 44100, rate)
            path = out / f"{name}{ext}"
            audio.save(path, x, rate, subtype="PCM_16" if ext == ".flac" else None)
            record[path.name] = {"score": f"music21 corpus: {work}", "piano": "FluidR3 GM Yamaha Grand",
                                 "preset": preset, "seed": 7, "sample_rate": rate,
                                 "effects": [e["name"] for e in info.get("effects", [])]}
            print(f"{path}: {path.stat().st_size / 1e3:.0f} kB")
    (out / "EXAMPLES.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
