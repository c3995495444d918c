"""Shared fixtures: synthetic signals only (tests never need ../shared or the corpus)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def piano_tone(f0: float = 220.0, seconds: float = 1.0, sr: int = 22050, *, seed: int = 0) -> np.ndarray:
    """A decaying harmonic tone with slight inharmonicity, shape (samples,), peak about 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros_like(t)
    B = 1e-4
    for k in range(1, 12):
        fk = k * f0 * np.sqrt(1 + B * k * k)
        if fk >= sr / 2:
            break
        x += (0.6 ** k) * np.exp(-t * (1.5 + 0.7 * k)) * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi))
    x *= 0.5 / np.max(np.abs(x))
    return x.astype(np.float32)


@pytest.fixture
def tone():
    return piano_tone
