"""Corpus helpers on synthetic data: split by piece, études, sampler, pack, loaders, data CLI.

Nothing here downloads or needs the real corpus: a tiny corpus is written into tmp_path.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from echoes.data import corpus as C
from echoes.cli import main
from echoes.errors import EchoesError, ParameterError
from echoes.data.corpus.synth import Performance, SamplePiano, humanise, note_number


def test_split_has_no_piece_in_two_sets():
    pieces = [f"piece_{i}" for i in range(200)] + ["piece_3", "piece_7"]  # duplicates
    groups = ["a" if i % 3 else "b" for i in range(200)] + ["a", "b"]
    s = C.split_pieces(pieces, seed=0, groups=groups)
    assert set(s) == set(pieces)
    assert set(s.values()) == {"train", "val", "test"}
    sets = {k: {p for p, v in s.items() if v == k} for k in C.SPLITS}
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"])
    n = len(set(pieces))
    assert 0.7 * n < len(sets["train"]) < 0.9 * n
    assert len(sets["test"]) >= 10 and len(sets["val"]) >= 10


def test_split_deterministic_and_order_free():
    pieces = [f"p{i}" for i in range(50)]
    a = C.split_pieces(pieces, seed=1)
    b = C.split_pieces(pieces[::-1], seed=1)
    assert a == b
    c = C.split_pieces(pieces, seed=2)
    assert a != c
    # small groups still get a val and a test piece
    small = C.split_pieces(["x", "y", "z"], seed=0)
    assert sorted(small.values()) == ["test", "train", "val"]
    with pytest.raises(ParameterError):
        C.split_pieces(pieces, fractions=(0.5, 0.5, 0.5))
    with pytest.raises(ParameterError):
        C.split_pieces(pieces, groups=["a"])


def test_seeded_hashes_are_stable():
    """Every split, render and étude of a corpus is seeded from these: a change rebuilds nothing alike."""
    from echoes.data.corpus.pieces import hash01, seed_for

    assert hash01(0, "split", "p0") == 0.053936598254232325
    assert seed_for(0, "render", "chorale_bwv1_6", "fluid_yamaha") == 3857065003944738816
    assert 0 <= hash01("x") < 1 and isinstance(seed_for("x"), int)


def test_generated_etude_deterministic_and_varied():
    a = C.generate_etude(5, seconds=40.0)
    b = C.generate_etude(5, seconds=40.0)
    c = C.generate_etude(6, seconds=40.0)
    assert np.array_equal(a.notes, b.notes) and a.pedal == b.pedal
    assert not np.array_equal(a.notes[: len(c.notes)], c.notes[: len(a.notes)])
    assert a.duration >= 35.0
    p = a.notes[:, 2]
    assert p.min() >= 21 and p.max() <= 108
    assert np.all(a.notes[:, 1] > a.notes[:, 0])
    assert 1 <= a.notes[:, 3].min() and a.notes[:, 3].max() <= 127
    # over several études: the whole keyboard, soft and loud, pedal
    allp = np.concatenate([C.generate_etude(s, seconds=60.0).notes for s in range(6)])
    assert allp[:, 2].min() <= 30 and allp[:, 2].max() >= 100
    assert allp[:, 3].min() < 40 and allp[:, 3].max() > 100
    assert any(C.generate_etude(s, seconds=60.0).pedal for s in range(6))


def _toy_piano(sr: int = 22050) -> SamplePiano:
    t = np.arange(int(1.5 * sr)) / sr
    notes = {}
    for p in range(48, 73):
        f = 440 * 2 ** ((p - 69) / 12)
        notes[p] = (np.exp(-3 * t) * sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, 12))).astype(np.float32)
    return SamplePiano(notes, name="toy", sample_rate=sr)


def test_sample_piano_velocity_is_quieter_and_darker():
    piano = _toy_piano()
    sr = piano.sample_rate
    loud = piano.note(60, 120, sr).astype(np.float64)
    soft = piano.note(60, 30, sr).astype(np.float64)
    assert loud.shape == soft.shape
    level = 10 * np.log10(np.sum(loud**2) / np.sum(soft**2))
    assert 10 < level < 40

    def high_share(x):  # energy share above 2 kHz (harmonics 8 and up of C4)
        P = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(x.size, 1 / sr)
        return np.sum(P[f > 2000]) / np.sum(P)

    assert high_share(soft) < 0.5 * high_share(loud)


def test_sample_piano_render_and_pedal():
    piano = _toy_piano()
    sr = piano.sample_rate
    notes = np.array([[0.1, 0.3, 60, 90], [0.5, 0.6, 64, 90]], float)
    dry = piano.render(Performance(notes), tail_s=1.0)
    wet = piano.render(Performance(notes, pedal=[(0.0, True), (1.2, False)]), tail_s=1.0)
    assert dry.dtype == np.float32 and np.all(np.isfinite(dry))
    assert np.all(dry[: int(0.09 * sr)] == 0)  # silence before the first note
    # with the pedal down the notes ring on after their key release
    win = slice(int(0.9 * sr), int(1.1 * sr))
    assert np.sqrt(np.mean(wet[win] ** 2)) > 10 * np.sqrt(np.mean(dry[win] ** 2))
    assert Performance(notes, pedal=[(0.0, True), (1.2, False)]).sounding_offsets().tolist() == [1.2, 1.2]


def test_humanise_deterministic():
    notes = np.array([[0.0, 0.5, 60, 64], [0.5, 1.0, 62, 64], [1.0, 2.0, 64, 64]], float)
    a = humanise(Performance(notes), np.random.default_rng(0), tempo=1.5, lead_in=1.0)
    b = humanise(Performance(notes), np.random.default_rng(0), tempo=1.5, lead_in=1.0)
    assert np.array_equal(a.notes, b.notes)
    assert abs(a.notes[0, 0] - 1.0) < 0.1 and abs(a.duration - (1.0 + 3.0)) < 0.1
    assert np.all((a.notes[:, 3] >= 1) & (a.notes[:, 3] <= 127))


def test_note_names():
    assert note_number("A0") == 21 and note_number("C4") == 60 and note_number("C8") == 108
    assert note_number("Ab4") == 68 and note_number("D#1") == 27
    with pytest.raises(ParameterError):
        note_number("H2")


def test_int16_codec_roundtrip():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(-32768, 32768, (3, 1000)), np.full((1, 1000), 32767)]).astype(np.int16)
    enc = C.encode_int16(x)
    assert enc["hi"].dtype == np.uint8
    assert np.array_equal(C.decode_int16(enc["hi"], enc["lo"]), x)


@pytest.fixture
def tiny_corpus(tmp_path):
    """A corpus folder written by hand: 4 pieces, a held-out render of a test piece ("h") and a
    validation piano's render of the val piece ("v"), 44.1 kHz FLAC."""
    root = tmp_path / "corpus"
    (root / "audio").mkdir(parents=True)
    sr = 44100
    pieces, renders = [], []
    players = [("train", "a"), ("train", "b"), ("val", "a"), ("test", "b"), ("test", "h"), ("val", "v")]
    for i, (split, piano) in enumerate(players):
        pid = {4: "p3", 5: "p2"}.get(i, f"p{i}")
        t = np.arange(int(12.3 * sr)) / sr
        x = (0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t) * (t > 5.0)).astype(np.float32)  # first 5 s silent
        rid = f"{pid}__{piano}"
        sf.write(root / "audio" / f"{rid}.flac", x, sr, subtype="PCM_16")
        if i < 4:
            pieces.append({"id": pid, "title": pid, "composer": "", "kind": "generated", "source": "", "split": split})
        renders.append({"id": rid, "file": f"audio/{rid}.flac", "piece": pid, "piano": piano, "split": split,
                        "duration": x.size / sr, "heldout_piano": piano in "hv"})
    pianos = {"a": {"heldout": False}, "b": {"heldout": False}, "h": {"heldout": True, "plays": "test"},
              "v": {"heldout": True, "plays": "val"}}
    (root / "manifest.json").write_text(json.dumps({"version": 1, "seed": 0, "sample_rate": sr, "clip_seconds": 5.0,
                                                    "pianos": pianos, "pieces": pieces, "renders": renders,
                                                    "clips": []}))
    return root


def test_loaders(tiny_corpus):
    assert [p["id"] for p in C.list_pieces(tiny_corpus, "train")] == ["p0", "p1"]
    clips = list(C.iter_clips(tiny_corpus, "train", sample_rate=22050, seconds=5.0))
    assert len(clips) == 4  # 2 renders x 2 whole windows of 12.3 s
    cid, audio, meta = clips[0]
    assert audio.dtype == np.float32 and audio.shape == (110250,)
    assert meta["piece"] == "p0" and meta["split"] == "train"
    assert meta["rms_dbfs"] < -100 and clips[1][2]["rms_dbfs"] > -20  # silence is yielded too
    loud = list(C.iter_clips(tiny_corpus, "train", min_rms_dbfs=-60))
    assert len(loud) == 2
    assert {m["piano"] for _, _, m in C.iter_clips(tiny_corpus, "test", piano="h")} == {"h"}
    with pytest.raises(ParameterError):
        list(C.iter_clips(tiny_corpus, "training"))
    with pytest.raises(EchoesError):
        C.load_manifest(tiny_corpus / "audio")


def test_heldout_pianos_play_their_split_and_stay_out_of_training(tiny_corpus, tmp_path):
    assert C.plays({"heldout": False}) is None
    assert C.plays({"heldout": True}) == "test"  # manifests from before validation pianos
    assert {C.plays(v) for v in C.PIANOS.values()} == {None, "test", "val"}
    assert C.PIANOS[C.HELDOUT_PIANO]["plays"] == "test" and C.PIANOS[C.VAL_PIANO]["plays"] == "val"
    assert {m["piano"] for _, _, m in C.iter_clips(tiny_corpus, "val")} == {"a", "v"}
    man = C.load_manifest(tiny_corpus)
    assert (C.pianos_playing(man, None), C.pianos_playing(man, "test"), C.pianos_playing(man, "val")) == \
        (["a", "b"], ["h"], ["v"])
    C.pack_corpus(tiny_corpus, tmp_path / "pack", max_mb=5, silent_keep=1.0)
    for split in ("train", "val"):  # neither held-out piano is packed for training
        assert {c["piano"] for c in C.load_pack(tmp_path / "pack", split)[1]} <= {"a", "b"}
    from echoes.eval.material import test_material

    hard = test_material(corpus=tiny_corpus, quick=False, n_clips=10, n_pieces=1, heldout_piano=True)
    assert {c.split("__")[1].split(":")[0] for c in hard["clip_ids"]} == {"h"} and "pianos h;" in hard["source"]
    main = test_material(corpus=tiny_corpus, quick=False, n_clips=10, n_pieces=1)
    assert {c.split("__")[1].split(":")[0] for c in main["clip_ids"]} == {"b"}


def test_pack_roundtrip_and_budget(tiny_corpus, tmp_path):
    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(noise / "my_noise.flac", (0.05 * np.random.default_rng(0).standard_normal(44100)).astype(np.float32), 44100)
    out = tmp_path / "pack"
    meta = C.pack_corpus(tiny_corpus, out, max_mb=5, noise_dir=noise, silent_keep=1.0)
    assert meta["totals"]["bytes"] <= 5 * 2**20
    audio, clips = C.load_pack(out, "train")
    assert audio.dtype == np.float32 and audio.shape == (4, 110250) and len(clips) == 4
    # the packed clip equals the corpus clip up to 16-bit rounding
    ref = {cid: a for cid, a, _ in C.iter_clips(tiny_corpus, "train")}
    for row, c in zip(audio, clips):
        assert np.max(np.abs(row - ref[c["id"]])) < 2 / 32768
    val, vclips = C.load_pack(out, "val")
    assert len(vclips) == 2 and {c["piece"] for c in vclips} == {"p2"}
    assert not {c["piece"] for c in clips} & {c["piece"] for c in vclips}
    assert (out / "noise" / "my_noise.npy").exists()
    # the packed noise is usable by the simulator with numpy alone
    from echoes.data.degrade import RecordedNoise, degrade

    y, info = degrade(audio[1], 22050, preset=RecordedNoise(out / "noise", snr_db=10.0), seed=0)
    assert abs(info["snr_db"] - 10.0) < 0.1
    # a tight budget keeps fewer clips
    small = C.pack_corpus(tiny_corpus, tmp_path / "small", max_mb=0.3, silent_keep=1.0)
    assert sum(v["clips"] for k, v in small["totals"].items() if isinstance(v, dict)) < 6
    assert small["totals"]["bytes"] <= 0.3 * 2**20 * 1.05


def test_a_44k_pack_trains_only_a_44k_model(tiny_corpus, tmp_path):
    """``--rate 44100`` packs clips and noise at 44.1 kHz, with the band above 11 kHz; a 22.05-kHz
    trainer refuses it, and the archival trainer (44.1 kHz) reads it."""
    from echoes.train.common import load_clips
    from echoes.train import denoiser as T

    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(noise / "my_noise.flac", (0.05 * np.random.default_rng(0).standard_normal(44100)).astype(np.float32), 44100)
    meta = C.pack_corpus(tiny_corpus, tmp_path / "p44", max_mb=5, noise_dir=noise, silent_keep=1.0, rate=44_100,
                         codec="flac")
    assert meta["sample_rate"] == 44_100 and C.pack_rate(tmp_path / "p44") == 44_100
    audio, _ = C.load_pack(tmp_path / "p44", "train")
    assert audio.shape[-1] == 220_500
    assert np.load(tmp_path / "p44" / "noise" / "my_noise.npy").size == 44_100
    spec = np.abs(np.fft.rfft(np.load(tmp_path / "p44" / "noise" / "my_noise.npy").astype(np.float64)))
    assert np.mean(spec[15_000:20_000] ** 2) > 0.3 * np.mean(spec[1_000:10_000] ** 2)  # white up to 20 kHz
    with pytest.raises(ParameterError):
        load_clips(tmp_path / "p44", "train")  # 22.05 kHz asked
    assert load_clips(tmp_path / "p44", "train", rate=44_100)[1].shape[-1] == 220_500
    rec = T.train(data=tmp_path / "p44", out=tmp_path / "w", models=["archival"], steps=1, batch_size=2, val_count=2,
                  val_every=1, half=False, model_kwargs={"channels": [4, 4, 4, 4], "bottleneck": 8})["archival"]
    assert rec["sample_rate"] == 44_100
    cfg = json.loads((tmp_path / "w" / "archival.json").read_text())
    assert cfg["stft"]["n_fft"] == 4096 and cfg["kwargs"]["n_bins"] == 2049 and cfg["kwargs"]["feature_gain"] == 0.5


def test_flac_pack_holds_the_same_clips_bit_for_bit(tiny_corpus, tmp_path):
    a = C.pack_corpus(tiny_corpus, tmp_path / "npz", max_mb=5, silent_keep=1.0)
    b = C.pack_corpus(tiny_corpus, tmp_path / "flac", max_mb=5, silent_keep=1.0, codec="flac")
    assert [c["id"] for c in a["clips"]] == [c["id"] for c in b["clips"]]
    assert sorted(p.suffix for p in (tmp_path / "flac" / "clean").iterdir()) == [".flac"] * 2
    for split in ("train", "val"):
        (x, cx), (y, cy) = C.load_pack(tmp_path / "npz", split), C.load_pack(tmp_path / "flac", split)
        assert [c["id"] for c in cx] == [c["id"] for c in cy]
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ParameterError):
        C.pack_corpus(tiny_corpus, tmp_path / "bad", codec="mp3")


def test_cli_degrade(tmp_path):
    sr = 22050
    t = np.arange(2 * sr) / sr
    src = tmp_path / "clean.wav"
    sf.write(src, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sr)
    out, info = tmp_path / "noisy.wav", tmp_path / "info.json"
    assert main(["data", "degrade", str(src), "-o", str(out), "--preset", "paper", "--seed", "3",
                 "--info", str(info)]) == 0
    y, _ = sf.read(out)
    rec = json.loads(info.read_text())
    assert rec["preset"] == "paper" and rec["noisy"] and abs(rec["snr_db"]) < 0.1
    assert y.shape == (2 * sr,)
    assert main(["data", "degrade", str(src), "-o", str(src), "--preset", "paper"]) == 2  # never overwrite input
    assert main(["data", "degrade", str(src), "-o", str(out), "--preset", "nope"]) == 2


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # one val clip: the gramophone half is empty
def test_packs_with_excluded_clips_are_disjoint_and_train_together(tiny_corpus, tmp_path):
    from echoes.train import denoiser as T
    from echoes.train.denoiser_examples import MIN_RMS_DBFS

    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(noise / "my_noise.flac", (0.05 * np.random.default_rng(0).standard_normal(44100)).astype(np.float32), 44100)
    a = C.pack_corpus(tiny_corpus, tmp_path / "a", max_mb=0.7, val_share=0.5, noise_dir=noise, silent_keep=0.0)
    b = C.pack_corpus(tiny_corpus, tmp_path / "b", max_mb=5, silent_keep=1.0, splits=("train",),
                      exclude=[tmp_path / "a"])
    # nothing of pack a again; pack b has what a had no room for
    ids_a, ids_b = {c["id"] for c in a["clips"]}, {c["id"] for c in b["clips"]}
    assert a["totals"]["train"]["clips"] == 1 and a["totals"]["val"]["clips"] == 1
    assert ids_b and not ids_a & ids_b and b["excluded_clips"] == len(ids_a)
    everything = C.pack_corpus(tiny_corpus, tmp_path / "all", max_mb=5, silent_keep=1.0)
    assert {c["id"] for c in everything["clips"] if c["split"] == "train"} == \
        {c["id"] for c in [*a["clips"], *b["clips"]] if c["split"] == "train"}
    with pytest.raises(ParameterError):
        C.pack_corpus(tiny_corpus, tmp_path / "c", exclude=[tmp_path / "missing"])
    # training reads the train clips of both packs, the val clips and noise of the first
    rec = T.train(data=[tmp_path / "a", tmp_path / "b"], out=tmp_path / "w", models=["default"], steps=2,
                  batch_size=2, val_count=2, val_every=1, noise_split="fit", half=False,
                  model_kwargs={"channels": [4, 4, 4, 4], "bottleneck": 8})["default"]
    n_a = sum(c["split"] == "train" for c in a["clips"])
    assert rec["train_clips"] == n_a + len(ids_b) - sum(  # quiet clips are not trained on
        1 for x in [*C.load_pack(tmp_path / "a")[0], *C.load_pack(tmp_path / "b")[0]]
        if 20 * np.log10(max(np.sqrt(np.mean(x.astype(np.float64) ** 2)), 1e-10)) < MIN_RMS_DBFS)
    assert rec["data"] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert rec["noise_split"] == "fit" and rec["val_noise_split"] == "dev" and rec["val_clips"] == 1
    with pytest.raises(ParameterError):
        T.train(data=tmp_path / "a", out=tmp_path / "w2", models=["default"], steps=1, noise_split="dev")
