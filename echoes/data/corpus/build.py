"""Build a corpus folder: ``python -m echoes data build --out DIR --seed 0``.

:func:`build_corpus` lists every candidate piece (music21, jam sessions, 200 generated
études), splits them by piece (:func:`~echoes.data.corpus.pieces.split_pieces`, over all
candidates, so a shorter build is a subset with the same splits), then :func:`select_pieces`
gives each kind of source its :data:`SHARES` of the minutes asked for, and each split its
fraction. Training pianos that are not ``extra`` alternate over the pieces of a kind; an
``extra`` piano also plays its share of the training pieces; each held-out piano plays every
piece of its split. Every render has its own seed (:func:`~echoes.data.corpus.pieces.seed_for`
of seed, piece, piano), so adding or leaving out a piano changes no other render.
Output: ``audio/<piece>__<piano>.flac`` (mono, 44.1 kHz, 16 bit) and ``manifest.json``
(:mod:`echoes.data.corpus.manifest`). Recipe and measurements: docs/DATA.md.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from echoes.data.corpus.etudes import generated_pieces
from echoes.data.corpus.manifest import CLIP_SECONDS, CORPUS_RATE, MANIFEST, SPLITS
from echoes.data.corpus.pieces import Piece, hash01, jam_pieces, music21_pieces, seed_for, split_pieces
from echoes.data.corpus.render import PianoRig, finish, perform, performance_params
from echoes.data.corpus.sources import ALL_PIANOS, DOWNLOADS, PIANOS, fetch, plays
from echoes.errors import EchoesError, ParameterError

log = logging.getLogger(__name__)

#: Share of the music (minutes) given to each kind of source.
SHARES = {"chorale": 0.42, "keyboard": 0.13, "jam": 0.25, "generated": 0.20}


def select_pieces(pieces_by_kind: dict[str, list[Piece]], splits: dict[str, str], minutes: float, seed: int,
            fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> list[tuple[Piece, object, float]]:
    """Take pieces of each kind and split (seeded order) until their share of ``minutes`` is
    filled: each kind gets :data:`SHARES`, and within it each split its fraction, so a short
    build still has validation and test pieces."""
    chosen = []
    for kind, share in SHARES.items():
        for split, frac in zip(SPLITS, fractions):
            pool = sorted((p for p in pieces_by_kind.get(kind, []) if splits[p.id] == split),
                          key=lambda p: (hash01(seed, "order", p.id), p.id))
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
    import soundfile as sf  # optional: importing the package needs numpy only

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

    rig = PianoRig(cache)
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
    chosen = select_pieces(by_kind, splits, minutes, seed)
    say(f"{len(chosen)} pieces chosen in {time.time() - t0:.0f} s")

    # train pianos alternate within each kind, in seeded order
    counters: dict[str, int] = {}
    renders, clips, pieces_meta = [], [], []
    for pc, score, _ in chosen:
        k = counters.get(pc.kind, 0)
        counters[pc.kind] = k + 1
        who = [train_pianos[k % len(train_pianos)]]
        who += [p for p in extra if splits[pc.id] == "train" and hash01(seed, "extra", pc.id, p) < PIANOS[p]["extra"]]
        who += [p for p in heldout if plays(PIANOS[p]) == splits[pc.id]]
        pieces_meta.append({**pc.meta(), "split": splits[pc.id]})
        for piano in who:
            rng = np.random.default_rng(seed_for(seed, "render", pc.id, piano))
            params = performance_params(rng, pc)
            perf = perform(score, params, rng)
            x = finish(rig.render(piano, perf), params, rng)
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
