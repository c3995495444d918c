"""High-frequency extension (issue 32): the baseline band replication, the effective bandwidth,
``extend_highs`` in the chain, the CLI flag, the report, the figure and the evaluation section."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from echoes.core import audio
from echoes.restore.bandwidth import band_levels_db
from echoes.restore.highs import (DEFAULT_METHOD, METHODS, effective_bandwidth_hz, extend_highs,
                                  generated_top_hz, long_term_power)
from echoes.restore.pipeline import RestoreOptions, _extend

ROOT = Path(__file__).resolve().parent.parent
SR = 44_100


def sloped(seconds: float = 3.0, sr: int = SR, *, seed: int = 0, tones: bool = True) -> np.ndarray:
    """Full-band test audio: noise falling 6 dB per octave (above 200 Hz) plus harmonic tones."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    f = np.fft.rfftfreq(n, 1 / sr)
    spec = (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.maximum(f, 200.0)
    x = np.fft.irfft(spec, n)
    t = np.arange(n) / sr
    for f0 in (262.0, 392.0) if tones else ():
        for k in range(1, 40):
            if k * f0 < sr / 2:
                x += 0.002 / k * np.sin(2 * np.pi * k * f0 * t)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def lowpass(x: np.ndarray, hz: float, sr: int = SR) -> np.ndarray:
    return sosfilt(butter(8, hz, fs=sr, output="sos"), x.astype(np.float64)).astype(np.float32)


def dft_below(d: np.ndarray, hz: float, sr: int = SR) -> np.ndarray:
    f = np.fft.rfftfreq(d.shape[-1], 1 / sr)
    return np.abs(np.fft.rfft(d.astype(np.float64), axis=-1))[..., f < hz]


@pytest.mark.parametrize("method", ["learned", "band-replication"])
def test_kept_band_unchanged_within_float_rounding_and_energy_only_above_the_cutoff(method: str) -> None:
    x = lowpass(sloped(), 4000)
    y, info = extend_highs(x, SR, cutoff_hz=4000.0, method=method)
    assert y.shape == x.shape and y.dtype == np.float32
    assert info["generated"] and info["method"] == method
    assert DEFAULT_METHOD == "learned"
    d = y.astype(np.float64) - x
    ref = np.abs(np.fft.rfft(x.astype(np.float64))).max()
    # below the cutoff: only the float32 rounding of one addition (< 1e-6 of the loudest bin)
    assert dft_below(d, 4000.0).max() < 1e-6 * ref
    # the difference's energy lies above the cutoff and below 11.025 kHz
    f = np.fft.rfftfreq(d.size, 1 / SR)
    p = np.abs(np.fft.rfft(d)) ** 2
    assert p[(f >= 4000) & (f < 11025)].sum() > 0.999999 * p.sum()
    assert p[(f >= 4000) & (f < 11025)].sum() > 1e-6 * (np.abs(np.fft.rfft(x.astype(np.float64))) ** 2).sum()


def test_generated_level_follows_the_inputs_slope_and_is_reproducible() -> None:
    clean = sloped(seed=3, tones=False)
    x = lowpass(clean, 4000)
    y, _ = extend_highs(x, SR, cutoff_hz=4000.0, method="band-replication")
    p_c, f = long_term_power(clean, SR)
    p_y, _ = long_term_power(y, SR)
    _, lc = band_levels_db(p_c, f, 5000, 10_000)
    _, ly = band_levels_db(p_y, f, 5000, 10_000)
    # the clean signal's own level, within 3 dB on average (6 dB in any 250 Hz band)
    assert abs(np.mean(ly - lc)) < 3.0 and np.max(np.abs(ly - lc)) < 6.0
    y2, _ = extend_highs(x, SR, cutoff_hz=4000.0, method="band-replication")
    assert np.array_equal(y, y2)  # fixed seed


@pytest.mark.parametrize("sr", [22_050, 44_100, 48_000])
def test_learned_model_fills_the_missing_band_deterministically_at_any_rate(sr: int) -> None:
    from echoes.core.metrics import log_spectral_distance

    clean = sloped(3.0, sr, seed=5)
    x = lowpass(clean, 4000, sr)
    y, info = extend_highs(x, sr, cutoff_hz=4000.0, method="learned")
    band = (4000.0, generated_top_hz(sr))
    before = log_spectral_distance(clean, x, sample_rate=sr, band=band)
    after = log_spectral_distance(clean, y, sample_rate=sr, band=band)
    # synthetic noise is not piano (measured 4.9 -> 2.7 at 22.05 kHz): at least 1.5 log10 units closer
    assert before > 3.0 and after < before - 1.5, (before, after)
    assert -70.0 < info["energy_db"] < 0.0  # measured about -50 dB (the model expects piano's steeper fall)
    y2, _ = extend_highs(x, sr, cutoff_hz=4000.0, method="learned")
    assert np.array_equal(y, y2)  # no random numbers


def test_learned_model_chunks_join_without_a_seam(monkeypatch) -> None:
    from echoes.restore import highs_model

    x = lowpass(sloped(4.0, 22_050, seed=7), 5000, 22_050)[None, :]
    whole = highs_model.learned(x, 22_050, 5000.0)
    monkeypatch.setattr(highs_model, "CHUNK_S", 1.3)
    chunked = highs_model.learned(x, 22_050, 5000.0)
    # the chunks' context (1 s each side) covers the network's reach: the same signal to 1e-4
    assert np.max(np.abs(whole - chunked)) < 1e-4 * np.max(np.abs(whole))


def test_nothing_to_generate_gives_the_input_back_bit_exact_and_shapes_are_kept() -> None:
    x = sloped(1.0)
    y, info = extend_highs(x, SR, cutoff_hz=generated_top_hz(SR))
    assert not info["generated"] and info["energy_db"] is None and np.array_equal(y, x)
    st = np.stack([lowpass(x, 4000), 0.5 * lowpass(x, 4000)])
    ys, info = extend_highs(st, SR, cutoff_hz=4000.0)
    assert ys.shape == st.shape and info["generated"]
    with pytest.raises(Exception, match="band-replication"):
        extend_highs(x, SR, cutoff_hz=4000.0, method="oracle")
    assert set(METHODS) == {"learned", "band-replication"}
    # at 16 kHz the band ends at the Nyquist frequency
    assert generated_top_hz(16_000) == 8000.0


def test_effective_bandwidth() -> None:
    x = sloped()
    assert effective_bandwidth_hz(x, SR) == generated_top_hz(SR)  # full band: no cliff
    assert 3000.0 <= effective_bandwidth_hz(lowpass(x, 4000), SR) <= 4500.0
    assert 6000.0 <= effective_bandwidth_hz(lowpass(x, 7000), SR) <= 7500.0
    assert effective_bandwidth_hz(audio.resample(x, SR, 16_000), 16_000) == 8000.0


def test_auto_is_bit_exact_on_full_band_and_extends_a_4k_low_passed_input() -> None:
    x = np.stack([sloped(), sloped(seed=1)])
    y, info = _extend(x, SR, "auto")
    assert y is None and not info["generated"] and info["effective_bandwidth_hz"] >= 8000.0
    lp = lowpass(x, 4000)
    y, info = _extend(lp, SR, "auto")
    assert y is not None and y.shape == lp.shape
    assert info["generated"] and info["method"] == "learned" and info["mode"] == "auto"
    assert 3000.0 <= info["from_hz"] <= 4500.0 and info["to_hz"] == 11025.0
    assert -60.0 < info["energy_db"] < -10.0
    d = y.astype(np.float64) - lp
    assert dft_below(d, info["from_hz"]).max() < 1e-6 * np.abs(np.fft.rfft(lp.astype(np.float64))).max()


def test_options_validate_the_mode() -> None:
    assert RestoreOptions().extend_highs == "never"
    RestoreOptions(extend_highs="always").validate()
    with pytest.raises(Exception, match="extend-highs"):
        RestoreOptions(extend_highs="sometimes").validate()
    assert "extend_highs=auto" in RestoreOptions(extend_highs="auto").settings_text()


def test_restorer_auto_full_band_bit_exact_and_low_passed_extended() -> None:
    from echoes.api import Restorer

    r = Restorer()
    opts = RestoreOptions(denoise="never", inpaint="never", extend_highs="auto")
    x = sloped(2.0)
    res = r.restore(x, SR, opts)
    assert np.array_equal(res.audio, x) and not res.report["highs"]["generated"]
    lp = lowpass(x, 4000)
    res = r.restore(lp, SR, opts)
    h = res.report["highs"]
    assert h["generated"] and h["method"] == "learned" and h["energy_db"] is not None
    assert not np.array_equal(res.audio, lp)
    assert not np.any(res.removed)  # the generated band is not "removed"
    assert r.restore(lp, SR, RestoreOptions(denoise="never", inpaint="never")).report["highs"] is None


def test_cli_flag_and_report(tmp_path: Path) -> None:
    src = audio.save(tmp_path / "narrow.wav", lowpass(sloped(2.0), 4000), SR, subtype="FLOAT")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = [sys.executable, "-m", "echoes", "restore", str(src), "-o", str(tmp_path / "out.wav"),
           "--denoise", "never", "--inpaint", "never", "--report", str(tmp_path / "rep.json")]
    r = subprocess.run(run + ["--extend-highs", "auto"], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    h = json.loads((tmp_path / "rep.json").read_text())[0]["highs"]
    assert h["generated"] and h["method"] == "learned"
    assert {"from_hz", "to_hz", "energy_db", "effective_bandwidth_hz", "mode"} <= set(h)
    r = subprocess.run(run + ["--extend-highs", "sometimes"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode != 0 and "--extend-highs" in r.stderr


def test_batch_accepts_the_flag() -> None:
    import argparse

    from echoes.commands import batch

    p = argparse.ArgumentParser()
    batch.register(p.add_subparsers())
    assert p.parse_args(["batch", "in", "-o", "out", "--extend-highs", "always"]).extend_highs == "always"


def test_words_and_spectrogram_mark_the_generated_band(tmp_path: Path) -> None:
    from echoes.plots import figures
    from echoes.plots.words import account, highs_words

    lp = lowpass(sloped(2.0), 4000)
    y, info = _extend(lp, SR, "always")
    text = highs_words(info)
    assert "learned model" in text and "not in the original recording" in text
    base = highs_words({**info, "method": "band-replication"})
    assert "baseline" in base and "not a learned model" in base
    assert highs_words(None) is None and "nothing generated" in highs_words({**info, "generated": False})
    assert "**Highs:**" in account({"verdict": "clean", "p_noisy": 0.1, "segments": [], "gaps": [], "denoised": [], "highs": info})
    png = figures.spectrograms(lp, y, SR, tmp_path / "s.png", generated=info)
    assert Path(png).stat().st_size > 1000


def test_evaluation_section_quick() -> None:
    from echoes.eval.highs import highs_section, render_highs

    res = highs_section([sloped(4.0)], quick=True, cutoffs=(4000.0,))
    m = res["cutoffs"]["4000"]["methods"]
    assert set(m) == {"band-limited input", "band-replication (given cutoff)", "band-replication (blind cutoff)",
                      "learned (given cutoff)", "learned (blind cutoff)"}
    assert m["band-replication (given cutoff)"]["lsd_missing"] < m["band-limited input"]["lsd_missing"]
    assert m["learned (given cutoff)"]["lsd_missing"] < m["band-limited input"]["lsd_missing"]
    assert abs(m["learned (given cutoff)"]["lsd_kept"] - m["band-limited input"]["lsd_kept"]) < 0.05
    assert abs(m["band-replication (given cutoff)"]["lsd_kept"] - m["band-limited input"]["lsd_kept"]) < 0.05
    md = "\n".join(render_highs(res, "test"))
    assert "| 4 kHz | band-replication (given cutoff) |" in md and "baseline" in md


def test_training_examples_and_a_smoke_run(tmp_path: Path, monkeypatch) -> None:
    """Examples are reproducible, low-passed at the corner they name, levelled together; two
    optimiser steps on synthetic full-band clips write loadable weights with their record."""
    import torch

    from echoes.core.checkpoint import load_model
    from echoes.train import highs as T
    from echoes.train.common import CLIP_SAMPLES, SR as TSR

    clips = np.stack([sloped(CLIP_SAMPLES / TSR, TSR, seed=s) for s in range(3)])
    x1, t1, corner, told = T.make_example(clips[0], np.random.default_rng([0, 5]))
    x2, t2, *_ = T.make_example(clips[0], np.random.default_rng([0, 5]))
    assert np.array_equal(x1, x2) and np.array_equal(t1, t2) and x1.shape == (T.CROP,)
    assert T.CUTOFF_RANGE[0] <= corner <= T.CUTOFF_RANGE[1] and told > 0
    p_x, f = long_term_power(x1, TSR)
    p_t, _ = long_term_power(t1, TSR)
    hi = f > min(1.6 * corner, 10_000.0)
    assert p_x[hi].sum() < 1e-2 * p_t[hi].sum()  # the band above the corner is gone from the input only
    monkeypatch.setattr(T, "load_clips", lambda data, split, **kw: (["a"] * 3, clips, [{}] * 3))
    torch.set_num_threads(1)
    rec = T.train(data=[tmp_path], out=tmp_path / "w", seed=0, steps=2, batch_size=2, val_count=2, val_every=1,
                  model_kwargs={"hidden": 16, "dilations": [1, 2]})
    assert rec["steps"] == 2 and rec["train_clips"] == 3 and len(rec["history"]) == 2
    net, cfg = load_model(tmp_path / "w", "highs")
    assert cfg["kwargs"]["hidden"] == 16 and "model_missing_4000" in cfg["metrics"]["val"]
    assert cfg["stft"]["n_fft"] == 1024 and cfg["training"]["seed"] == 0


def test_shipped_highs_weights_carry_their_record() -> None:
    cfg = json.loads((ROOT / "weights" / "highs.json").read_text())
    t = cfg["training"]
    assert {"data", "seed", "steps", "commit", "command", "history"} <= set(t)
    v = cfg["metrics"]["val"]
    # validation (held-out clips, given corner): the model well under the empty band, kept band as it was
    assert v["model_missing_4000"] < 0.6 * v["input_missing_4000"]
    assert abs(v["model_kept_4000"] - v["input_kept_4000"]) < 0.05
