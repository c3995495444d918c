"""Archivist controls: strength (dry/wet), channels, playback speed from tuning, recording curves,
and the CLI flags that expose them. Synthetic signals only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from conftest import piano_tone

from echoes.api import RestoreOptions, Restorer
from echoes.restore.archivist.channels import noise_floor_db, select_channels
from echoes.restore.archivist.eq import CURVES, apply_eq, response_db
from echoes.errors import ParameterError
from echoes.restore.archivist.tuning import cents_from_ratio, correct_speed, estimate_speed, parse_speed

ROOT = Path(__file__).resolve().parent.parent
SR = 22050


def music(seconds: float = 3.0, sr: int = SR, *, cents: float = 0.0, seed: int = 0) -> np.ndarray:
    """A few piano-like notes of the A440 equal-tempered scale, detuned by ``cents``; (samples,)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n, dtype=np.float32)
    step = int(0.5 * sr)
    for k, start in enumerate(range(0, n - step, step)):
        midi = int(rng.integers(45, 80))
        f0 = 440.0 * 2 ** ((midi - 69) / 12 + cents / 1200)
        note = piano_tone(f0, seconds=min(1.5, (n - start) / sr), sr=sr, seed=seed + k)
        x[start : start + note.size] += note[: n - start]
    return (0.4 * x / np.max(np.abs(x))).astype(np.float32)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """The bundled weights, plus an untrained classifier when the trained one is absent (these
    tests never depend on the verdicts: they use denoise=always or never)."""
    import shutil

    from echoes.core.checkpoint import save_model
    from echoes.core.hub import bundled_weights as default_weights_dir
    from echoes.restore.classify import Classifier
    from echoes.core.spectral import PAPER_STFT

    d = tmp_path_factory.mktemp("weights")
    for f in default_weights_dir().glob("*"):
        if f.suffix in (".json", ".safetensors"):
            shutil.copy(f, d / f.name)
    if not (d / "classifier.json").is_file():
        save_model(Classifier.untrained(seed=0).model, d, "classifier",
                   extra={"stft": PAPER_STFT.to_dict(), "threshold": 0.5})
    return d


@pytest.fixture(scope="module")
def restorer(weights) -> Restorer:
    return Restorer(weights=weights)


# -- strength ------------------------------------------------------------------------------
def test_strength_0_is_input_1_is_model_output_and_half_is_halfway(restorer) -> None:
    rng = np.random.default_rng(1)
    x = (music(2.0) + 0.02 * rng.standard_normal(int(2.0 * SR))).astype(np.float32)[None]
    base = {"denoise": "always", "inpaint": "never"}
    r0 = restorer.restore(x, SR, RestoreOptions(strength=0.0, **base))
    assert np.array_equal(r0.audio, x)
    assert not np.any(r0.removed)
    y = restorer.denoiser("default").denoise(x, SR)  # weight curve is 1 everywhere for "always"
    r1 = restorer.restore(x, SR, RestoreOptions(strength=1.0, **base))
    assert np.max(np.abs(r1.audio - y)) < 1e-6
    assert np.max(np.abs(y - x)) > 1e-3  # the model does change this input
    rh = restorer.restore(x, SR, RestoreOptions(strength=0.5, **base))
    assert np.max(np.abs(rh.audio - (x + 0.5 * (y - x)))) < 1e-6
    assert np.max(np.abs(rh.removed - 0.5 * r1.removed)) < 1e-6


# -- channels ------------------------------------------------------------------------------
def _stereo(noisy_channel: int, noise: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(2)
    m = music(3.0)
    x = np.stack([m, m]) + 0.001 * rng.standard_normal((2, m.size))
    x[noisy_channel] += noise * rng.standard_normal(m.size)
    return x.astype(np.float32)


@pytest.mark.parametrize("mode,channels", [("keep", 2), ("mono", 1), ("left", 1), ("right", 1), ("best", 1)])
def test_channel_modes_give_promised_channel_counts(mode: str, channels: int) -> None:
    x = _stereo(0)
    y, info = select_channels(x, SR, mode)
    assert y.shape == (channels, x.shape[1]) and y.dtype == np.float32
    assert info["mode"] == mode
    if mode == "left":
        assert np.array_equal(y[0], x[0])
    if mode == "right":
        assert np.array_equal(y[0], x[1])
    if mode == "keep":
        assert np.array_equal(y, x)
    # a mono input passes every mode unchanged
    y1, _ = select_channels(x[:1], SR, mode)
    assert np.array_equal(y1, x[:1])


@pytest.mark.parametrize("noisy", [0, 1])
def test_best_picks_the_cleaner_channel(noisy: int) -> None:
    x = _stereo(noisy)
    y, info = select_channels(x, SR, "best")
    clean = 1 - noisy
    assert info["chosen"] == ("left", "right")[clean]
    assert np.array_equal(y[0], x[clean])
    assert info["noise_db"][noisy] > info["noise_db"][clean] + 10


def test_best_blends_when_noise_is_similar() -> None:
    rng = np.random.default_rng(3)
    m = music(3.0)
    x = (np.stack([m, m]) + 0.02 * rng.standard_normal((2, m.size))).astype(np.float32)
    y, info = select_channels(x, SR, "best")
    assert info["chosen"] == "blend" and abs(sum(info["weights"]) - 1) < 1e-3
    # the blend has less noise than either channel (independent noise: about -3 dB)
    assert noise_floor_db(y, SR)[0] < min(noise_floor_db(x, SR)) - 2.0


def test_restore_reports_channels_and_keeps_mono_output(restorer) -> None:
    x = _stereo(1)
    r = restorer.restore(x, SR, RestoreOptions(denoise="never", inpaint="never", channels="best"))
    assert r.audio.shape == (1, x.shape[1])
    assert np.array_equal(r.audio[0], x[0])  # clean path: the chosen channel bit-exact
    assert r.report["archivist"]["channels"]["chosen"] == "left"
    assert r.report["input_channels"] == 2 and r.report["channels"] == 1
    with pytest.raises(ParameterError):
        RestoreOptions(channels="both").validate()


# -- speed ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [76.0 / 78.26, 1.0, 80.0 / 78.26, 2 ** (31 / 1200), 2 ** (-42 / 1200)])
def test_speed_estimate_on_resampled_tones_within_10_cents(ratio: float) -> None:
    x = music(4.0, seed=5)
    y = soxr.resample(x, float(SR), SR / ratio, quality="HQ").astype(np.float32)  # played `ratio` fast
    est = estimate_speed(y, SR)
    err = (est.cents - cents_from_ratio(ratio) + 50) % 100 - 50
    assert abs(err) <= 10.0, (ratio, est)
    assert abs(est.speed_ratio - 2 ** (est.cents / 1200)) < 1e-9
    assert abs(est.playback_rpm - 78.26 * est.speed_ratio) < 1e-9


def test_speed_correction_changes_length_by_the_ratio_and_restores_pitch() -> None:
    x = music(3.0, cents=30.0, seed=7)
    y = correct_speed(x[None], SR, 2 ** (30 / 1200))
    assert y.shape == (1, round(x.size * 2 ** (30 / 1200)))
    assert abs(estimate_speed(y, SR).cents) < 5.0
    assert parse_speed("auto") == "auto" and parse_speed(None) is None and parse_speed("1.02") == 1.02
    for bad in ("fast", "3", "-1"):
        with pytest.raises(ParameterError):
            parse_speed(bad)


def test_restore_with_speed_auto_reports_and_corrects(restorer) -> None:
    x = music(3.0, cents=-25.0, seed=9)[None]
    r = restorer.restore(x, SR, RestoreOptions(denoise="never", inpaint="never", speed="auto"))
    sp = r.report["archivist"]["speed"]
    assert abs(sp["estimate"]["cents"] + 25.0) < 10.0 and not sp["estimate"]["ambiguous"]
    assert r.audio.shape[-1] == round(x.shape[-1] * sp["applied_ratio"])
    r2 = restorer.restore(x, SR, RestoreOptions(denoise="never", inpaint="never", speed="estimate"))
    assert np.array_equal(r2.audio, x) and r2.report["archivist"]["speed"]["applied_ratio"] == 1.0


# -- recording curves ----------------------------------------------------------------------
# documented: H = (1 + jf/ft) / ((1 + jf/fs)(1 + jf/fr)), 0 dB at 1 kHz; RIAA published values
@pytest.mark.parametrize("f,db", [(20, 19.27), (100, 13.09), (1000, 0.0), (10000, -13.73), (20000, -19.62)])
def test_riaa_matches_the_published_table(f: float, db: float) -> None:
    assert abs(float(response_db("riaa", [f])[0]) - db) < 0.05


@pytest.mark.parametrize("name", [n for n in CURVES if n != "flat"])
def test_eq_presets_have_the_documented_response(name: str) -> None:
    c = CURVES[name]
    sr = 44100
    imp = np.zeros(sr, dtype=np.float32)
    imp[200] = 1.0
    h = np.fft.rfft(apply_eq(imp, sr, name).astype(np.float64))  # 1 Hz bins
    for f in (50, 100, 300, 1000, 3000, 10000):
        formula = 20 * np.log10(abs((1 + 1j * f / c.turnover_hz) / (1 + 1j * f / c.shelf_hz)))
        if c.rolloff_pole_hz:
            formula -= 10 * np.log10(1 + (f / c.rolloff_pole_hz) ** 2)
        ref = 20 * np.log10(abs((1 + 1j * 1000 / c.turnover_hz) / (1 + 1j * 1000 / c.shelf_hz)))
        if c.rolloff_pole_hz:
            ref -= 10 * np.log10(1 + (1000 / c.rolloff_pole_hz) ** 2)
        measured = 20 * np.log10(abs(h[f]))
        assert abs(measured - (formula - ref)) < 0.5, (name, f, measured, formula - ref)
        assert abs(float(response_db(name, [f])[0]) - (formula - ref)) < 1e-6
    if c.rolloff_db:  # the treble factor alone is -rolloff dB at 10 kHz
        assert abs(10 * np.log10(1 + (1e4 / c.rolloff_pole_hz) ** 2) - c.rolloff_db) < 1e-6


def test_flat_eq_is_identity_and_bad_name_is_refused() -> None:
    x = music(1.0)
    assert np.array_equal(apply_eq(x, SR, "flat"), x)
    with pytest.raises(ParameterError):
        RestoreOptions(eq="victor").validate()


# -- CLI -----------------------------------------------------------------------------------
def test_cli_flags_keep_rate_and_length_unless_speed(tmp_path: Path, weights: Path, capsys) -> None:
    from echoes import cli

    x = _stereo(0).T
    src = tmp_path / "in.wav"
    sf.write(src, x, SR, subtype="PCM_16")
    before = src.read_bytes()
    out, rep = tmp_path / "out.wav", tmp_path / "rep.json"
    # the real entry point once, in a subprocess
    p = subprocess.run([sys.executable, "-m", "echoes", "restore", str(src), "-o", str(out), "--channels", "best",
                        "--eq", "aes", "--strength", "0.7", "--denoise", "never", "--inpaint", "never",
                        "--report", str(rep), "--weights", str(weights)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    info = sf.info(out)
    assert info.samplerate == SR and info.frames == x.shape[0] and info.channels == 1
    with sf.SoundFile(out) as f:
        assert "eq=aes" in f.comment and "channels=best" in f.comment
    r = json.loads(rep.read_text())[0]
    assert r["archivist"]["channels"]["chosen"] == "right" and r["archivist"]["eq"]["name"] == "aes"
    assert r["metadata"] == "comment tag"
    assert src.read_bytes() == before  # the original is never changed
    out2 = tmp_path / "out2.flac"
    rc = cli.main(["restore", str(src), "-o", str(out2), "--speed", "1.05", "--denoise", "never",
                   "--inpaint", "never", "--weights", str(weights)])
    assert rc == 0
    info2 = sf.info(out2)
    assert info2.samplerate == SR and info2.channels == 2
    assert info2.frames == round(x.shape[0] * 1.05)
    with sf.SoundFile(out2) as f:
        assert "speed=1.05" in f.comment
    capsys.readouterr()
    rc = cli.main(["restore", str(src), "-o", str(tmp_path / "o3.wav"), "--speed", "fast", "--weights", str(weights)])
    assert rc != 0 and "speed" in capsys.readouterr().err


def test_blockwise_files_honour_channels_and_eq_and_refuse_speed(restorer, tmp_path: Path) -> None:
    x = _stereo(1)
    src, dst = tmp_path / "long.flac", tmp_path / "long.out.flac"
    sf.write(src, x.T, SR, subtype="PCM_24")
    opts = RestoreOptions(denoise="never", inpaint="never", channels="mono", eq="nab")
    rep = restorer.restore_file(src, dst, opts, stream_above_s=1.0)  # force the block-wise path
    info = sf.info(dst)
    assert rep["blocks"] == 1 and info.channels == 1 and info.frames == x.shape[1] and info.samplerate == SR
    short = restorer.restore(x, SR, opts)
    y, _ = sf.read(dst, dtype="float32", always_2d=True)
    assert np.max(np.abs(y[:, 0] - short.audio[0])) < 1e-4  # same as the in-memory path (24-bit file)
    with sf.SoundFile(dst) as f:
        assert "eq=nab" in f.comment
    with pytest.raises(ParameterError):
        restorer.restore_file(src, tmp_path / "x.flac", RestoreOptions(speed="auto"), stream_above_s=1.0)


def test_app_handler_shows_what_was_applied(restorer, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("gradio")
    sys.path.insert(0, str(ROOT))
    import app

    monkeypatch.setattr(app, "_restorer", restorer)
    src = tmp_path / "stereo.wav"
    sf.write(src, _stereo(0).T, SR)
    out = app.restore(str(src), "never", False, 0.5, "default", 1.0, "best", "estimate", "aes",
                      progress=lambda *a, **k: None)
    restored, verdict = out[0], out[1]
    assert sf.info(restored).channels == 1
    assert "**Channels:** best (used: right)" in verdict and "'aes'" in verdict
    assert "**Speed:**" in verdict and "speed left as it was" in verdict
    report = next(o for o in out if isinstance(o, dict) and "archivist" in o)
    assert report["metadata"] == "comment tag" and report["archivist"]["eq"]["name"] == "aes"
