"""`evaluate --real DIR` and the real-recording helpers, on a synthetic folder laid out like
../shared/data/real (the real recordings are never needed by the tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from echoes.data.corpus import load_pack
from echoes.data.real import pack_real, real_clips
from echoes.errors import ParameterError
from echoes.eval.bench import synthetic_piano
from echoes.eval.codecs import VARIANTS, variant
from echoes.eval.denoise import lowpass_4k
from echoes.eval.real import band_levels
from echoes.eval.real_material import find, load_role
from echoes.eval.real_report import render_real, run_real

SR = 44_100


def _piano(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = synthetic_piano(seconds, SR, seed=seed).astype(np.float64)
    return (x + 2e-3 * rng.standard_normal(x.size)).astype(np.float32)  # a room's noise floor


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("real")
    for sub in ("clean/dev", "clean/train", "historic", "noise"):
        (root / sub).mkdir(parents=True)
    sf.write(root / "clean/dev/a.flac", _piano(8.0, 1), SR)
    sf.write(root / "clean/dev/b.wav", np.stack([_piano(7.0, 2)] * 2).T, SR)
    sf.write(root / "clean/train/t.flac", _piano(12.0, 3), SR)
    rng = np.random.default_rng(4)
    hissy = _piano(8.0, 5) + 0.05 * rng.standard_normal(8 * SR)  # surface noise, then the horn's band limit
    worn = scipy.signal.sosfiltfilt(scipy.signal.butter(12, 3_500, fs=SR, output="sos"), hissy)
    sf.write(root / "historic/h.flac", (0.8 * worn / np.max(np.abs(worn))).astype(np.float32), SR)
    sf.write(root / "noise/n.wav", (0.05 * rng.standard_normal(3 * SR)).astype(np.float32), SR)
    (root / "clean/dev/notes.txt").write_text("not audio")
    return root


def test_material_is_found_by_role_and_cut(real_dir):
    assert [p.name for p in find(real_dir, "dev")] == ["a.flac", "b.wav"]
    dev = load_role(real_dir, "dev", max_seconds=2.0)
    assert [r.name for r in dev] == ["a", "b"] and dev[1].audio.shape == (2, 2 * SR)
    assert dev[1].mono.shape == (2 * SR,) and dev[0].seconds == pytest.approx(2.0)
    with pytest.raises(ParameterError):
        find(real_dir / "missing", "dev")
    with pytest.raises(ParameterError):
        find(real_dir, "test")


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_keeps_the_audio(name):
    x = _piano(3.0, 6)[None]
    y, rate = variant(x, SR, name)
    assert y.dtype == np.float32 and y.shape[0] == 1
    want = int(name[3:]) if name.startswith("sr_") else SR
    assert rate == want and abs(y.shape[-1] - 3.0 * rate) < 0.1 * rate
    if name in ("as_is", "mp3_320", "sr_96000"):  # near-transparent: the level survives
        assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=0.1)


def test_band_levels_and_the_lowpass_baseline():
    rng = np.random.default_rng(7)
    x = (0.1 * rng.standard_normal(4 * SR)).astype(np.float32)
    x[: SR] *= 0.01  # a quiet second: the floor
    before = band_levels(x, SR)
    after = band_levels(lowpass_4k(x), SR)
    assert before["< 1 kHz"]["floor_db"] < before["< 1 kHz"]["loud_db"] - 30
    assert after["4-11 kHz"]["loud_db"] < before["4-11 kHz"]["loud_db"] - 15  # the low-pass cut it
    assert abs(after["< 1 kHz"]["loud_db"] - before["< 1 kHz"]["loud_db"]) < 1.5  # frames chosen anew


def test_real_clips_and_their_pack(real_dir, tmp_path):
    ids, clips = real_clips(real_dir)
    assert ids == ["t@0", "t@5"] and clips.shape == (2, 110_250)
    with pytest.raises(ParameterError):
        real_clips(real_dir, role="dev")  # the development split is never trained on
    pack_real(real_dir, tmp_path / "pack", codec="flac")
    audio, metas = load_pack(tmp_path / "pack", "train")
    assert audio.shape == (2, 110_250) and {m["piano"] for m in metas} == {"real"}
    assert np.max(np.abs(audio - clips)) < 1e-3  # 16-bit FLAC


def test_real_sections_run_end_to_end(real_dir):
    r = run_real(real_dir, weights=None, quick=True, sections=("classifier", "denoise", "historic"))
    c = r["classifier"]
    assert set(c["variants"]) >= {"as_is", "ogg", "sr_16000"}
    for v in c["variants"].values():
        assert v["windows"] > 0 and 0 <= v["noisy_windows"] <= v["windows"]
    h = c["historic"]["h"]
    assert h["windows_with_sound"] > 0 and h["band_limit_hz"] is not None  # low-passed at 3.5 kHz
    d = r["denoise"]["snrs"]
    for table in d.values():
        assert table["do-nothing"]["si_sdr_gain_db"] == 0.0
        assert {"4 kHz low-pass", "fast", "archival", "paper CAE"} <= set(table)
        assert all(np.isfinite(m["lsd 0-4 kHz"]) and np.isfinite(m["lsd 11-16 kHz"]) for m in table.values())
    white = r["denoise"]["white"]  # the paper's protocol: 0 dB white noise, output SNR
    assert abs(white["do-nothing"]["snr_db"]) < 0.5 and white["fast"]["snr_db"] > white["do-nothing"]["snr_db"] + 3
    assert r["historic"]["h"]["methods"]["4 kHz low-pass"]["4-11 kHz"]["loud_change_db"] < -5
    md = "\n".join(render_real(r))
    assert "### Classifier" in md and "### De-noising real piano" in md and "### Historic transfers" in md
    assert "white Gaussian noise at 0 dB" in md and "| archival |" in md
