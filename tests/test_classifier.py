"""Classifier: the model, whole-recording inference, save/load, the CLI, the training recipe.

Everything runs on synthetic signals; checks that need the trained weights (``weights/``) skip
with a reason when those are absent.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from echoes import cli
from echoes.core.checkpoint import save_model
from echoes.core.hub import bundled_weights as default_weights_dir
from echoes.restore.classify import Classifier, ClassifierResult, Segment
from echoes.errors import NonFiniteError, ParameterError, TooShortError, WeightsError
from echoes.models.classifier import CLASSES, SpectrogramCNN, features
from echoes.core.spectral import PAPER_STFT

SR = 22050
HAVE_WEIGHTS = (default_weights_dir() / "classifier.json").is_file()
needs_weights = pytest.mark.skipif(not HAVE_WEIGHTS, reason="no trained weights in weights/classifier.*")


def piece(seconds: float = 5.0, *, seed: int = 0, sr: int = SR) -> np.ndarray:
    """A sequence of decaying harmonic notes (samples,), peak about 0.5, with a -90 dB floor.

    Each note fades in (3 ms) and out (30 ms): abrupt note edges would be genuine clicks."""
    from conftest import piano_tone

    rng = np.random.default_rng(seed)
    notes = []
    total = 0
    while total < seconds * sr:
        f0 = float(110 * 2 ** (rng.integers(0, 36) / 12))
        note = piano_tone(f0, float(rng.uniform(0.3, 0.8)), sr, seed=int(rng.integers(1 << 30)))
        a, r = int(0.003 * sr), int(0.03 * sr)  # smooth attack and release: no steps, so no clicks
        note[:a] *= np.sin(np.linspace(0, np.pi / 2, a)) ** 2
        note[-r:] *= np.cos(np.linspace(0, np.pi / 2, r)) ** 2
        notes.append(note)
        total += notes[-1].size
    x = np.concatenate(notes)[: int(seconds * sr)]
    return (x + 3e-5 * rng.standard_normal(x.size)).astype(np.float32)


@pytest.fixture(scope="module")
def untrained() -> Classifier:
    return Classifier.untrained(seed=0)


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory, untrained) -> Path:
    d = tmp_path_factory.mktemp("w")
    save_model(untrained.model, d, "classifier", extra={"stft": PAPER_STFT.to_dict(), "threshold": 0.5})
    return d


# -- the model ------------------------------------------------------------------------------


def test_model_output_shape_and_probabilities():
    torch.manual_seed(0)
    m = SpectrogramCNN().eval()
    x = features(torch.from_numpy(np.stack([piece(seed=s) for s in range(3)])))
    assert x.shape == (3, 1025, 216)
    logits = m(x)
    assert logits.shape == (3, len(CLASSES))
    p = m.probabilities(x)
    assert torch.all((p >= 0) & (p <= 1))
    assert torch.allclose(p.sum(dim=1), torch.ones(3), atol=1e-6)


def test_every_layer_registered_and_forward_deterministic():
    """The original built its last layer in forward: outputs changed at every call."""
    torch.manual_seed(0)
    m = SpectrogramCNN().eval()
    names = set(m.state_dict())
    assert {"conv1.weight", "conv2.weight", "conv3.weight", "fc1.weight", "fc2.weight"} <= names
    n_params = sum(p.numel() for p in m.parameters())
    x = features(torch.from_numpy(piece(seed=1)))[None]
    a, b = m(x), m(x)
    assert torch.equal(a, b)
    assert sum(p.numel() for p in m.parameters()) == n_params
    assert n_params * 4 < 1_000_000  # float32 weights under 1 MB
    assert any(isinstance(mod, torch.nn.Dropout) and mod.p == 0.3 for mod in m.modules())


def test_normalisation_is_level_invariant():
    m = SpectrogramCNN()
    x = piece(seed=2) + 3e-4 * np.random.default_rng(0).standard_normal(5 * SR).astype(np.float32)  # -70 dB floor
    ref = m.normalise(features(torch.from_numpy(x))[None, None])
    for g in (0.05, 0.3, 2.0):
        y = m.normalise(features(torch.from_numpy(x * g))[None, None])
        # only the 1e-5 floor of the log (about -130 dBFS per bin) breaks the invariance
        d = (y - ref).abs().flatten()
        assert float(d.mean()) < 0.01 and float(torch.quantile(d, 0.99)) < 0.05, g


# -- whole recordings -------------------------------------------------------------------------


def test_classify_windows_cover_the_recording(untrained):
    x = piece(12.3, seed=3)
    r = untrained.classify(x, SR)
    assert isinstance(r, ClassifierResult) and r.verdict in CLASSES
    assert 0.0 <= r.p_noisy <= 1.0
    assert r.segments[0].start == 0.0
    assert r.segments[-1].end == pytest.approx(12.3)
    assert all(0.0 <= s.start < s.end <= 12.3 + 1e-6 and 0.0 <= s.p_noisy <= 1.0 for s in r.segments)
    starts = [s.start for s in r.segments]
    assert starts == sorted(starts) and len(r.segments) == 4  # 0, 2.5, 5.0, and the end-aligned 7.3
    q = float(np.quantile([s.p_noisy for s in r.segments], 0.75))
    assert abs(r.p_noisy - q) < 1e-9
    assert (r.verdict == "noisy") == (r.p_noisy >= untrained.threshold)


def test_frame_slicing_matches_per_window_stft(untrained):
    x = piece(5.0, seed=4)
    r = untrained.classify(x, SR)
    p = untrained.window_probabilities(x[None])
    assert len(r.segments) == 1
    assert abs(r.segments[0].p_noisy - float(p[0])) < 1e-5


def test_rates_channels_and_short_inputs(untrained):
    x = piece(6.0, seed=5)
    r22 = untrained.classify(x, SR)
    x44 = np.repeat(x, 2)  # crude 2x upsampling is fine: the classifier resamples back
    r44 = untrained.classify(np.stack([x44, x44]), 2 * SR)
    assert len(r44.segments) == len(r22.segments)
    mix = untrained.classify(np.stack([x, x]), SR)
    mx = untrained.classify(np.stack([x, x]), SR, channels="max")
    assert np.allclose([s.p_noisy for s in mix.segments], [s.p_noisy for s in mx.segments], atol=1e-6)
    short = untrained.classify(x[: SR], SR)
    assert len(short.segments) == 1 and short.segments[0].end == pytest.approx(1.0)


def test_short_inputs_are_one_window_of_their_own_length(untrained):
    """Under 5 s the input is judged as it is (no mirrored or looped padding up to 5 s); under
    0.35 s it is mirrored up to 16 frames."""
    from echoes.restore.classify import MIN_FRAMES

    x = piece(3.0, seed=6)
    for n in (int(2.5 * SR), int(1.2 * SR)):
        r = untrained.classify(x[:n], SR, dropouts=False, clicks=False)
        assert len(r.segments) == 1
        assert r.segments[0].p_noisy == pytest.approx(float(untrained.window_probabilities(x[None, :n])[0]), abs=1e-5)
        padded = np.pad(x[:n], (0, 5 * SR - n), mode="symmetric")
        assert abs(r.segments[0].p_noisy - float(untrained.window_probabilities(padded[None])[0])) > 1e-4
    tiny = x[: int(0.3 * SR)]
    least = (MIN_FRAMES - 1) * PAPER_STFT.hop_length
    r = untrained.classify(tiny, SR, dropouts=False, clicks=False)
    want = untrained.window_probabilities(np.pad(tiny, (0, least - tiny.size), mode="symmetric")[None])[0]
    assert r.segments[0].p_noisy == pytest.approx(float(want), abs=1e-5)


def test_bad_input_raises_named_errors(untrained):
    x = piece(2.0, seed=6)
    with pytest.raises(TooShortError):
        untrained.classify(x[:100], SR)
    bad = x.copy()
    bad[10] = np.nan
    with pytest.raises(NonFiniteError):
        untrained.classify(bad, SR)
    with pytest.raises(ParameterError):
        untrained.classify(x, SR, hop_s=0)
    with pytest.raises(ParameterError):
        untrained.classify(x, SR, channels="left")
    with pytest.raises(WeightsError):
        Classifier.load(Path(__file__).parent)


def test_to_dict_matches_cli_schema():
    r = ClassifierResult("noisy", 0.75, [Segment(0.0, 5.0, 0.9), Segment(2.5, 7.5, 0.6)])
    d = r.to_dict()
    assert set(d) == {"verdict", "p_noisy", "segments", "dropouts", "clicks", "band_limit_hz"}
    assert d["segments"][1] == {"start": 2.5, "end": 7.5, "p_noisy": 0.6}
    json.dumps(d)


# -- save and load ------------------------------------------------------------------------------


def test_save_load_gives_identical_outputs(untrained, weights_dir):
    loaded = Classifier.load(weights_dir)
    x = np.stack([piece(seed=7), piece(seed=8)])
    a = untrained.window_probabilities(x)
    b = loaded.window_probabilities(x)
    assert np.array_equal(a, b)
    assert loaded.config["sha256"] and loaded.threshold == 0.5


# -- the CLI --------------------------------------------------------------------------------------


def test_cli_json_keeps_paths_and_survives_a_bad_file(tmp_path, weights_dir, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    sf.write(tmp_path / "sub" / "a.wav", piece(7.0, seed=9), SR)
    sf.write(tmp_path / "b.flac", np.stack([piece(3.0, seed=10)] * 2).T, 44100)
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really audio")
    given = ["./sub/../sub/a.wav", "broken.wav", str(tmp_path / "b.flac"), "missing.ogg"]
    status = cli.main(["classify", "--json", "--weights", str(weights_dir), *given])
    out, err = capsys.readouterr()
    assert status != 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [d["file"] for d in lines] == [given[0], given[2]]
    for d in lines:
        assert set(d) == {"file", "verdict", "p_noisy", "segments", "dropouts", "clicks", "band_limit_hz"}
        assert d["verdict"] in ("noisy", "clean") and 0.0 <= d["p_noisy"] <= 1.0
        assert all(set(s) == {"start", "end", "p_noisy"} for s in d["segments"])
    err_lines = [e for e in err.splitlines() if e.startswith("echoes: error:")]
    assert len(err_lines) == 2 and "broken.wav" in err_lines[0] and "missing.ogg" in err_lines[1]


def test_cli_text_output(tmp_path, weights_dir, capsys):
    sf.write(tmp_path / "a.wav", piece(5.0, seed=11), SR)
    assert cli.main(["classify", "--weights", str(weights_dir), str(tmp_path / "a.wav")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(str(tmp_path / "a.wav") + ": ") and "windows noisy" in out


# -- the training recipe -------------------------------------------------------------------------


def test_examples_are_deterministic_and_labelled():
    from echoes.train import classifier_examples as T
    from echoes.train.common import CLIP_SAMPLES

    clips = np.stack([piece(seed=12), piece(seed=13)])
    ds = T.ExampleSet(clips, seed=3, n_examples=8, noise_dir=None)
    a = [ds[i] for i in range(4)]
    b = [ds[i] for i in range(4)]
    for (xa, ya), (xb, yb) in zip(a, b):
        assert torch.equal(xa, xb) and ya == yb
        assert xa.shape == (CLIP_SAMPLES,) and xa.dtype == torch.float32 and torch.isfinite(xa).all()
        assert float(xa.abs().max()) <= 1.0 + 1e-6
    assert [y for _, y in a[0::2]] == [0, 0]
    rng = np.random.default_rng(0)
    for preset in ("paper", "clicks", "hiss", "gaps", "mild", "gramophone"):
        _, label, rec = T.make_example(clips[0], rng, want_noisy=True, noise_dir=None, preset=preset)
        assert label == 1 and rec["preset"] == preset


def test_preset_weights_steer_the_degraded_examples():
    from echoes.train import classifier_examples as T
    from echoes.errors import ParameterError

    w = T.parse_preset_weights("clicks=1,paper=0,gramophone=0,hiss=0,gaps=0,mild=0")
    assert w == {**{k: 0.0 for k in T.PRESET_WEIGHTS}, "clicks": 1.0}
    assert T.parse_preset_weights(None) == T.PRESET_WEIGHTS
    for bad in ("clicks", "nope=1", "clicks=-1", "clicks=x"):
        with pytest.raises(ParameterError):
            T.parse_preset_weights(bad)
    clip = piece(seed=15)
    rng = np.random.default_rng(2)
    for _ in range(4):
        _, label, rec = T.make_example(clip, rng, want_noisy=True, noise_dir=None, preset_weights=w)
        assert label == 1 and rec["preset"] == "clicks"


def test_clean_augmentations_stay_clean_by_definition():
    from echoes.data import augment as T
    from echoes.data import degrade as D

    x = piece(seed=14).astype(np.float64)
    rng = np.random.default_rng(1)
    for _ in range(5):
        y, info = T.noise_floor(x, rng)
        assert info.get("snr_db") is None or info["snr_db"] >= 40.0 - 1e-6
    y, _ = T.codec(x, rng)
    assert y.shape == x.shape and np.isfinite(y).all()
    # the definition the labels come from
    assert D.NOISY_SNR_DB == 30.0


def test_training_smoke(tmp_path, monkeypatch):
    from echoes.train import classifier as T

    clips = np.stack([piece(seed=s) for s in range(4)])
    monkeypatch.setattr(T, "load_clips", lambda data, split, **kw: (["a"] * 4, clips, [{"piano": "p"}] * 4))
    torch.set_num_threads(1)
    rec = T.train(data=tmp_path, out=tmp_path / "w", seed=0, epochs=1, examples_per_epoch=8,
                  val_examples=4, batch_size=4, model_kwargs={"channels": (2, 4, 4), "hidden": 8})
    cfg = json.loads((tmp_path / "w" / "classifier.json").read_text())
    assert cfg["training"]["seed"] == 0 and cfg["training"]["epochs"] == 1
    assert cfg["stft"]["n_fft"] == 2048 and "validation" in cfg["metrics"]
    assert rec["history"][0]["epoch"] == 1
    Classifier.load(tmp_path / "w")


def test_training_clips_from_a_pack(tmp_path):
    """Both trainers read a pack through one loader: pianos kept or left out, a limit, quiet clips
    left out for the de-noisers, clips of the wrong length refused."""
    from echoes.data.corpus import encode_int16
    from echoes.train import denoiser_examples
    from echoes.train.common import CLIP_SAMPLES, load_clips

    rows = np.stack([piece(seed=30 + i) * (1e-4 if i == 1 else 1.0) for i in range(4)])
    rows16 = np.round(rows * 32767).astype(np.int16)
    (tmp_path / "clean").mkdir()
    np.savez_compressed(tmp_path / "clean" / "s0.npz", **encode_int16(rows16))
    clips = [{"id": f"c{i}", "split": "train", "shard": "s0.npz", "row": i, "piano": "AB"[i // 2]} for i in range(4)]
    (tmp_path / "pack.json").write_text(json.dumps({"clips": clips, "clip_samples": CLIP_SAMPLES}))
    ids, x, metas = load_clips(tmp_path, "train")
    assert ids == ["c0", "c1", "c2", "c3"] and x.shape == (4, CLIP_SAMPLES) and x.dtype == np.float32
    np.testing.assert_array_equal(x, rows16.astype(np.float32) / 32768.0)
    assert load_clips(tmp_path, "train", piano="B")[0] == ["c2", "c3"]
    assert load_clips(tmp_path, "train", exclude_piano="A", limit=1)[0] == ["c2"]
    y = denoiser_examples.load_clip_array(tmp_path, "train")
    np.testing.assert_array_equal(y, x[[0, 2, 3]])  # c1 is under -50 dBFS
    with pytest.raises(ParameterError):
        load_clips(tmp_path, "val")
    np.savez_compressed(tmp_path / "clean" / "s0.npz", **encode_int16(rows16[:, : CLIP_SAMPLES // 2]))
    with pytest.raises(ParameterError):
        denoiser_examples.load_clip_array(tmp_path, "train")


# -- the shipped weights ------------------------------------------------------------------------


@needs_weights
def test_shipped_weights_record_and_size():
    cfg = Classifier.config_of()
    st = default_weights_dir() / "classifier.safetensors"
    assert st.stat().st_size < 1_000_000
    for key in ("kwargs", "stft", "training", "metrics", "sha256", "threshold"):
        assert key in cfg
    for key in ("seed", "epochs", "commit", "data"):
        assert key in cfg["training"]


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@needs_weights
@pytest.mark.skipif(not (EXAMPLES / "clean_bach_prelude_c.flac").is_file(), reason="examples/ not present")
def test_shipped_weights_judge_the_example_clips():
    """The committed clean example stays clean at any level; degraded copies are noisy.

    (Synthetic tones are no test of "clean": a few harmonics and nothing above 5 kHz is what
    acoustic-era band-limiting looks like, which counts as noisy.)"""
    from echoes.data import degrade as D
    from echoes.core.audio import load

    clf = Classifier.load()
    x, sr = load(EXAMPLES / "clean_bach_prelude_c.flac")
    for gain in (1.0, 0.03):
        r = clf.classify(x * gain, sr)
        assert r.verdict == "clean" and max(s.p_noisy for s in r.segments) < clf.threshold, gain
    for preset, seed in (("paper", 1), ("gramophone", 2), ("clicks", 3), ("mild", 4), ("hiss", 5)):
        y, info = D.degrade(x[0], sr, preset=preset, seed=seed)
        assert info["noisy"]
        r = clf.classify(y, sr)
        assert r.verdict == "noisy" and min(s.p_noisy for s in r.segments) >= clf.threshold, preset
    assert clf.classify_file(EXAMPLES / "worn78_joplin_maple_leaf.ogg").verdict == "noisy"


def test_threshold_choice_weighs_false_noisy_more():
    from echoes.train.classifier import choose_threshold

    y = np.array([0, 0, 0, 1, 1, 1])
    assert choose_threshold(np.array([0.1, 0.2, 0.3, 0.8, 0.9, 0.95]), y) == 0.5  # separable: nearest 0.5
    # one clean window at 0.65: raising the threshold past it costs one missed noisy window (0.62)
    assert choose_threshold(np.array([0.1, 0.2, 0.65, 0.62, 0.9, 0.95]), y) == 0.7


def test_silent_windows_are_clean(untrained):
    rng = np.random.default_rng(3)
    x = piece(16.0, seed=15)
    x[4 * SR : 11 * SR] = 1e-4 * rng.standard_normal(7 * SR)  # -80 dBFS: inaudible
    r = untrained.classify(x, SR)
    inside = [s for s in r.segments if s.start >= 4.0 and s.end <= 11.0]
    assert inside and all(s.p_noisy == 0.0 for s in inside) and r.segments[-1].p_noisy > 0.0
    assert untrained.window_probabilities(x[None, 5 * SR : 10 * SR])[0] == 0.0
    assert untrained.classify(np.zeros(3 * SR, np.float32), SR).verdict == "clean"
    loud = Classifier(untrained.model, silence_dbfs=None)
    assert all(s.p_noisy > 0.0 for s in loud.classify(x, SR).segments)


def test_fades_from_silence_at_the_ends_are_not_judged(untrained):
    """Windows tile only the part within 40 dB of the loud level: a lead-in of near-silence
    and a fade-out to it are left out; segment times stay in seconds of the input."""
    from echoes.restore.classify import sound_span

    rng = np.random.default_rng(4)
    music = piece(12.0, seed=16)
    lead = 1e-5 * rng.standard_normal(2 * SR).astype(np.float32)  # -100 dBFS
    ramp = music[: SR // 4] * np.linspace(1e-4, 1e-2, SR // 4, dtype=np.float32)  # a fade-in, -80 to -40 dB
    x = np.concatenate([lead, ramp, music, lead])
    s0, s1 = sound_span(x, SR)
    assert 2.0 * SR <= s0 <= 2.25 * SR + 0.02 * SR and abs(s1 - (x.size - 2 * SR)) <= 0.02 * SR
    r = untrained.classify(x, SR)
    assert r.segments[0].start == pytest.approx(s0 / SR, abs=0.03)
    assert r.segments[-1].end == pytest.approx(s1 / SR, abs=0.03)
    assert sound_span(np.zeros(SR, np.float32), SR) == (0, SR)  # nothing audible: the whole input


def test_a_low_passed_recording_is_noisy_and_full_band_is_not(untrained):
    """A spectral cliff below 8 kHz (a transfer low-passed at 4 kHz) marks windows and the verdict;
    the same audio full band, at 16 kHz (its own Nyquist), or with ``band_limits=False`` does not."""
    import scipy.signal

    from test_clicks import music

    strict = Classifier(untrained.model, threshold=0.999)
    rng = np.random.default_rng(5)
    x = music(12.0, seed=12).astype(np.float64) + 3e-3 * rng.standard_normal(12 * 44_100)  # a room's floor
    sos = scipy.signal.butter(16, 4_000, fs=44_100, output="sos")
    low = (scipy.signal.sosfiltfilt(sos, x) + 1e-5 * rng.standard_normal(x.size)).astype(np.float32)
    r = strict.classify(low, 44_100, dropouts=False, clicks=False)
    assert r.verdict == "noisy" and r.band_limit_hz is not None and 3_500 <= r.band_limit_hz <= 4_500
    assert all(r.noisy_windows(strict.threshold))
    full = strict.classify(x.astype(np.float32), 44_100, dropouts=False, clicks=False)
    assert full.verdict == "clean" and full.band_limit_hz is None and not any(full.noisy_windows(strict.threshold))
    assert strict.classify(low, 44_100, dropouts=False, clicks=False, band_limits=False).verdict == "clean"
    narrow = strict.classify(x[::2].astype(np.float32)[: 6 * 22_050], 22_050, dropouts=False, clicks=False)
    assert narrow.band_limit_hz is None


def test_dropouts_make_the_verdict_noisy(untrained):
    """A 10-ms digital dropout is listed and makes the verdict noisy, whatever the network says;
    p_noisy and the segments stay the network's; ``dropouts=False`` gives its verdict alone."""
    strict = Classifier(untrained.model, threshold=0.999)  # the network alone would say clean
    x = piece(8.0, seed=21)
    clean = strict.classify(x, SR)
    assert clean.verdict == "clean" and clean.dropouts == []
    y = x.copy()
    a = int(3.0 * SR)
    y[a : a + int(0.010 * SR)] = 0.0
    r = strict.classify(y, SR)
    assert r.verdict == "noisy"
    assert len(r.dropouts) == 1 and r.dropouts[0]["kind"] == "dropout"
    assert abs(r.dropouts[0]["start"] - 3.0) < 0.002 and abs(r.dropouts[0]["end"] - 3.010) < 0.002
    assert r.p_noisy < 0.999
    assert strict.classify(y, SR, dropouts=False).verdict == "clean"
    assert json.loads(json.dumps(r.to_dict()))["dropouts"][0]["kind"] == "dropout"
    # at another rate and in stereo the times stay in seconds of the input
    r44 = strict.classify(np.stack([np.repeat(y, 2)] * 2), 2 * SR)
    assert len(r44.dropouts) == 1 and abs(r44.dropouts[0]["start"] - 3.0) < 0.002


def test_isolated_clicks_make_the_verdict_noisy(untrained):
    """A single faint click (0.2 ms, a tenth of the peak) is listed and makes the verdict noisy;
    p_noisy stays the network's; ``clicks=False`` and rates under 32 kHz skip the search."""
    from test_clicks import music, with_click

    strict = Classifier(untrained.model, threshold=0.999)  # the network alone would say clean
    # the synthetic notes stop at 8 kHz (a band limit of their own): this test is about clicks
    strict.classify = functools.partial(strict.classify, band_limits=False)
    x = music(6.0, seed=11)
    clean = strict.classify(x, 44_100)
    assert clean.verdict == "clean" and clean.clicks == []
    y = with_click(x, 3.21, rel=0.1)
    r = strict.classify(y, 44_100)
    assert r.verdict == "noisy" and r.p_noisy < 0.999 and r.dropouts == []
    assert len(r.clicks) == 1 and abs(r.clicks[0]["start"] - 3.21) < 0.002
    assert json.loads(json.dumps(r.to_dict()))["clicks"][0]["score"] >= 30
    assert strict.classify(y, 44_100, clicks=False).verdict == "clean"
    assert strict.classify(y[::2].copy(), 22_050).clicks == []  # not searched under 32 kHz
    # already noisy through a dropout: the search is skipped
    z = y.copy()
    z[int(1.0 * 44_100) : int(1.01 * 44_100)] = 0.0
    rz = strict.classify(z, 44_100)
    assert rz.verdict == "noisy" and len(rz.dropouts) == 1 and rz.clicks == []
