"""The test material of ``echoes evaluate``: clips and whole pieces of the corpus's *test* split.

Contract:

- everything is mono float32 ``(samples,)`` at :data:`EVAL_RATE` (44.1 kHz);
- ``clips`` are 5-second windows with music in them (RMS above -50 dBFS), a seeded sample of
  ``n_clips`` (:data:`ALL_CLIPS`: every one), kept in corpus order; ``clip_ids`` name them;
- ``pieces`` are whole renders of test pieces (pieces never seen in training; docs/DATA.md);
- ``heldout_piano`` picks the piano no training piece was played on (the harder test) instead
  of the training pianos;
- ``quick`` replaces the corpus by synthetic piano-like tones (:func:`echoes.eval.bench.synthetic_piano`):
  no files needed, a check of the machinery, never a claim.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from echoes.core import audio as eaudio
from echoes.data import corpus as ecorpus
from echoes.eval.bench import synthetic_piano

#: The rate every evaluation runs at (Hz).
EVAL_RATE = 44_100

#: ``n_clips`` that takes every clip of the split.
ALL_CLIPS = 10**9


def test_material(*, corpus: str | Path | None, quick: bool, n_clips: int, n_pieces: int, seed: int = 0,
                  heldout_piano: bool = False) -> dict[str, Any]:
    """5-second clips and whole renders of the corpus's *test* split at 44.1 kHz, each mono
    float32 ``(samples,)``. ``heldout_piano`` picks the piano never used in training instead of
    the training pianos (the harder test)."""
    if quick:
        clips = [synthetic_piano(5.0, EVAL_RATE, seed=100 + i) for i in range(n_clips)]
        pieces = [synthetic_piano(20.0, EVAL_RATE, seed=200 + i) for i in range(n_pieces)]
        return {"source": "synthetic piano-like tones (quick run: not a claim)", "clips": clips,
                "pieces": pieces, "clip_ids": [f"synthetic-{i}" for i in range(n_clips)]}
    folder = Path(corpus) if corpus else None
    if folder is None or not (folder / "manifest.json").is_file():
        raise FileNotFoundError(
            f"no corpus at '{folder}': build it with `python -m echoes data build --out {folder or 'DIR'}` "
            "(see docs/DATA.md), or pass --quick")
    manifest = ecorpus.load_manifest(folder)
    # only the pianos that play test pieces (an extra training piano plays training pieces only)
    playing = {r["piano"] for r in manifest["renders"] if r["split"] == "test"}
    pianos = [p for p in ecorpus.pianos_playing(manifest, "test" if heldout_piano else None) if p in playing]
    rng = np.random.default_rng(seed)
    all_clips = []
    for piano in pianos:
        all_clips += list(ecorpus.iter_clips(folder, "test", sample_rate=EVAL_RATE, seconds=5.0, piano=piano,
                                             min_rms_dbfs=-50.0))
    order = rng.permutation(len(all_clips))[:n_clips]
    chosen = [all_clips[i] for i in sorted(order)]
    renders = [r for r in ecorpus.list_renders(folder, "test") if r["piano"] in pianos]
    pieces = []
    for r in renders[:n_pieces]:
        x, sr = eaudio.load(folder / r["file"])
        pieces.append(eaudio.resample(eaudio.to_mono(x)[0], sr, EVAL_RATE))
    return {"source": f"corpus test split (pieces never seen in training), pianos {', '.join(pianos)}; "
                      f"{len(chosen)} of {len(all_clips)} clips with music (RMS above -50 dBFS)",
            "clips": [c[1] for c in chosen], "clip_ids": [c[0] for c in chosen], "pieces": pieces}
