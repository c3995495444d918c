"""Oracle masks (echoes.eval.oracle): exact on clean input, ordered as theory says on noisy input."""

from __future__ import annotations

import numpy as np
import pytest

from echoes.eval.bench import synthetic_piano
from echoes.errors import ParameterError
from echoes.core.metrics import snr_db
from echoes.eval.oracle import ORACLES, oracle_estimates


def test_clean_input_comes_back() -> None:
    """With nothing to remove every oracle returns the input (at the internal rate: no resampling)."""
    x = synthetic_piano(2.0, 22_050, seed=1)
    est = oracle_estimates(x, x.copy(), 22_050)
    assert list(est) == list(ORACLES)
    for name, y in est.items():
        assert y.dtype == np.float32 and y.shape == x.shape
        assert snr_db(x, y) > 60.0, name


def test_ceilings_ordered_on_white_noise() -> None:
    """0 dB white noise on piano-like notes: every oracle gains > 10 dB; the phase-sensitive mask, the
    best magnitude with the noisy phase per bin, beats the clean magnitude and the Wiener mask."""
    rng = np.random.default_rng(0)
    x = synthetic_piano(4.0, 22_050, seed=2)
    noise = rng.standard_normal(x.shape).astype(np.float32) * np.float32(np.sqrt(np.mean(x**2)))
    y = x + noise
    est = {k: snr_db(x, v) for k, v in oracle_estimates(x, y, 22_050).items()}
    assert abs(snr_db(x, y)) < 0.1
    assert min(est.values()) > 10.0
    psm = est["oracle phase-sensitive mask"]
    assert psm > est["oracle magnitude, noisy phase"] + 0.5
    assert psm > est["oracle Wiener mask"] + 0.5


def test_other_rates_keep_shape_and_drop_the_high_band() -> None:
    """At 44.1 kHz the oracles go the models' way: back at the input's length, nothing above 11 kHz."""
    sr, n = 44_100, 44_100 + 37
    t = np.arange(n) / sr
    low = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    high = (0.3 * np.sin(2 * np.pi * 15_000 * t)).astype(np.float32)
    est = oracle_estimates(low + high, low + high, sr)
    for name, y in est.items():
        assert y.shape == (n,) and y.dtype == np.float32
        core = slice(2000, n - 2000)
        assert snr_db(low[core], y[core]) > 40.0, name  # the 15 kHz tone is gone, the 440 Hz one kept


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ParameterError):
        oracle_estimates(np.zeros(100, np.float32), np.zeros(101, np.float32), 22_050)
    with pytest.raises(ParameterError):
        oracle_estimates(np.zeros((2, 100), np.float32), np.zeros((2, 100), np.float32), 22_050)
