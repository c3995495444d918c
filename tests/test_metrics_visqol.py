"""ViSQOL MOS-LQO (echoes.core.metrics.visqol_moslqo) on synthetic piano-like clips: order and range.

The properties need ``visqol-python`` (the ``test`` extra installs it); without it they are
skipped, and only the "not installed" behaviour is checked. Each score takes about 0.3 s.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from echoes.core import metrics
from echoes.core.audio import resample
from echoes.eval.bench import synthetic_piano
from echoes.errors import ParameterError

RATE = 44_100


def _with_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``x`` plus white Gaussian noise at ``snr_db`` (dB, against the whole clip's power)."""
    n = np.random.default_rng(seed).standard_normal(len(x))
    n *= np.sqrt(np.mean(x.astype(np.float64) ** 2) / np.mean(n**2)) * 10 ** (-snr_db / 20)
    return (x + n).astype(np.float32)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """3 s of synthetic piano at 44.1 kHz, float32 ``(samples,)``, peak 0.7."""
    pytest.importorskip("visqol")
    return synthetic_piano(3.0, RATE, seed=100)


def test_order_and_range(clip: np.ndarray) -> None:
    same = metrics.visqol_moslqo(clip, clip, sample_rate=RATE)
    light = metrics.visqol_moslqo(clip, _with_noise(clip, 40.0), sample_rate=RATE)
    heavy = metrics.visqol_moslqo(clip, _with_noise(clip, 10.0), sample_rate=RATE)
    for s in (same, light, heavy):
        assert 1.0 <= s <= 5.0
    assert same >= 4.0  # identical signals: near the top of the scale (4.73 when measured)
    assert same > light + 1.0  # 40 dB SNR white noise is audible in the decays and rests
    assert light > heavy + 0.2  # more noise scores lower (about 2.2 against 1.3 when measured)


def test_resamples_to_48k_and_ignores_dtype(clip: np.ndarray) -> None:
    """A 44.1 kHz pair scores as the same pair resampled to 48 kHz by the caller, whatever the dtype."""
    y = _with_noise(clip, 20.0)
    at_441 = metrics.visqol_moslqo(clip, y, sample_rate=RATE)
    at_48 = metrics.visqol_moslqo(resample(clip, RATE, 48_000), resample(y, RATE, 48_000), sample_rate=48_000)
    assert at_441 == pytest.approx(at_48, abs=1e-6)
    as_f64 = metrics.visqol_moslqo(clip.astype(np.float64), y.astype(np.float64), sample_rate=RATE)
    assert as_f64 == pytest.approx(at_441, abs=1e-3)


def test_level_does_not_change_the_score(clip: np.ndarray) -> None:
    """Quiet clips would hide their noise under ViSQOL's absolute floor; normalize evens that out."""
    y = _with_noise(clip, 30.0)
    loud = metrics.visqol_moslqo(clip, y, sample_rate=RATE)
    g = np.float32(10 ** (-40 / 20))
    quiet = metrics.visqol_moslqo(clip * g, y * g, sample_rate=RATE)
    assert quiet == pytest.approx(loud, abs=0.05)
    raw_quiet = metrics.visqol_moslqo(clip * g, y * g, sample_rate=RATE, normalize=False)
    assert raw_quiet > loud + 1.0  # what ViSQOL alone gives: the noise vanishes under its floor


def test_bad_input(clip: np.ndarray) -> None:
    with pytest.raises(ParameterError):
        metrics.visqol_moslqo(np.zeros(RATE, np.float32), clip[:RATE], sample_rate=RATE)
    with pytest.raises(ParameterError):
        metrics.visqol_moslqo(clip, clip[:-1], sample_rate=RATE)


def test_missing_package_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "visqol", None)  # import visqol now raises ImportError
    assert metrics.visqol_available() is False
    x = synthetic_piano(1.0, RATE, seed=1)
    with pytest.raises(ImportError, match="visqol-python"):
        metrics.visqol_moslqo(x, x, sample_rate=RATE)
