"""The clean piano corpus: public-domain scores played by real piano samples, split by piece.

Modules: :mod:`.sources` (pianos, pinned downloads), :mod:`.pieces` (scores, split by piece,
seeded hashes), :mod:`.etudes` (generated études), :mod:`.synth` (performances, sampler,
fluidsynth, rooms), :mod:`.render` (playing one piece), :mod:`.build` (``echoes data build``),
:mod:`.manifest` (reading a corpus folder), :mod:`.packs` (numpy-only training packs).
Importing the package needs numpy only. Recipe and measurements: docs/DATA.md.
"""

from echoes.data.corpus.build import SHARES, build_corpus
from echoes.data.corpus.etudes import generate_etude, generated_pieces
from echoes.data.corpus.manifest import (CLIP_SECONDS, CORPUS_RATE, MANIFEST, SPLITS, iter_clips, list_pieces,
                                         list_renders, load_manifest)
from echoes.data.corpus.packs import PACK_RATE, decode_int16, encode_int16, load_pack, pack_corpus, pack_rate
from echoes.data.corpus.pieces import KEYBOARD_WORKS, Piece, jam_pieces, music21_pieces, split_pieces
from echoes.data.corpus.sources import (ALL_PIANOS, DOWNLOADS, FLUID_SF2, HELDOUT_PIANO, PIANOS, TRAIN_PIANOS,
                                        VAL_PIANO, fetch, pianos_playing, plays)

__all__ = ["ALL_PIANOS", "CLIP_SECONDS", "CORPUS_RATE", "DOWNLOADS", "FLUID_SF2", "HELDOUT_PIANO", "KEYBOARD_WORKS",
           "MANIFEST", "PACK_RATE", "PIANOS", "SHARES", "SPLITS", "TRAIN_PIANOS", "VAL_PIANO", "Piece", "build_corpus",
           "decode_int16", "encode_int16", "fetch", "generate_etude", "generated_pieces", "iter_clips",
           "jam_pieces", "list_pieces", "list_renders", "load_manifest", "load_pack", "pack_rate", "music21_pieces",
           "pack_corpus", "pianos_playing", "plays", "split_pieces"]
