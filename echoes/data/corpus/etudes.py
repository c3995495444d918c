"""Generated études: seeded random sequences of technical segments, as corpus pieces.

:func:`generate_etude` returns a :class:`~echoes.data.corpus.synth.Performance` in score time
(seconds): notes ``(onset, offset, pitch 21..108, velocity 1..127)`` float64 ``(n, 4)`` sorted,
and pedal events. Segments: scales, arpeggios, block chords, repeated notes, whole-keyboard
sweeps, melodies over an Alberti-like bass, trills, the keyboard's extremes and rests, pp to ff,
pedalled or dry. The same seed gives the same étude (one ``np.random.default_rng(seed)``).
"""

from __future__ import annotations

import numpy as np

from echoes.data.corpus.pieces import Piece, seed_for
from echoes.data.corpus.synth import Performance

_SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10], "chromatic": list(range(12))}
_DYN = {"pp": 28, "p": 45, "mf": 68, "f": 92, "ff": 115}


def generate_etude(seed: int, *, seconds: float = 90.0):
    """A generated étude (score time in seconds): a random sequence of technical segments with
    rests, covering the keyboard, dynamics and pedal. Returns a :class:`~echoes.data.corpus.synth.Performance`."""
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
    """``count`` 75-second études as pieces ``gen_000``...; each seeded from ``seed`` and its number."""
    return [Piece(f"gen_{k:03d}", f"Generated etude {k}", "echoes", "generated", f"generated (seed {seed})",
                  (lambda k=k: generate_etude(seed_for(seed, "etude", k), seconds=75.0)), tempo=(0.9, 1.1))
            for k in range(count)]
