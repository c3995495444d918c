"""Overlap-add: identity is exact, local models match one pass, seams stay below -60 dB."""

from __future__ import annotations

import numpy as np
import pytest

from echoes.core.chunking import overlap_add, plan
from echoes.errors import ParameterError


def _err_db(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum((ref - est) ** 2) / np.sum(ref**2) + 1e-30))


@pytest.mark.parametrize("n", [1, 999, 5000, 5001, 12_345, 40_000])
def test_identity_is_exact(n):
    x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32)
    y = overlap_add(x, lambda b: b.copy(), hop=2048, crossfade=512, margin=1024, align=512, batch_size=3)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=1e-6)


def test_mono_shape_kept():
    x = np.random.default_rng(0).standard_normal(20_000).astype(np.float32)
    y = overlap_add(x, lambda b: 0.5 * b, hop=4096, crossfade=1024, margin=0)
    assert y.shape == (20_000,)
    np.testing.assert_allclose(y, 0.5 * x, atol=1e-6)


def test_local_model_matches_one_pass():
    """A non-causal FIR of half-length 300 with margin >= 300: seams add < -60 dB."""
    rng = np.random.default_rng(1)
    h = rng.standard_normal(601) / 25

    def fir(b: np.ndarray) -> np.ndarray:
        return np.stack([np.convolve(r, h, mode="same") for r in b]).astype(np.float32)

    x = rng.standard_normal((1, 30_000)).astype(np.float32)
    one = fir(x)
    chunked = overlap_add(x, fir, hop=3072, crossfade=1024, margin=512, align=512, batch_size=4)
    assert _err_db(one, chunked) < -60
    # with too little context the seams are visible: the test can fail
    bad = overlap_add(x, fir, hop=3072, crossfade=0, margin=0, batch_size=4)
    assert _err_db(one, bad) > -40


def test_batches_see_equal_lengths_and_align():
    seen = []

    def spy(b):
        seen.append(b.shape)
        return b

    x = np.zeros((1, 50_000), dtype=np.float32)
    overlap_add(x, spy, hop=4096, crossfade=512, margin=1024, align=512, batch_size=8)
    spans = plan(50_000, hop=4096, crossfade=512, margin=1024, align=512)
    assert all(i0 % 512 == 0 for i0, _, _, _ in spans)
    assert spans[0][0] == 0 and spans[-1][1] == 50_000
    assert max(s[0] for s in seen) <= 8
    assert sum(s[0] for s in seen) == len(spans)
    assert max(s[1] for s in seen) == 4096 + 512 + 2 * 1024  # full chunks batched together
    assert sum(s[0] for s in seen if s[1] == 4096 + 512 + 2048) > 1


def test_bad_arguments_raise():
    x = np.zeros(100, dtype=np.float32)
    with pytest.raises(ParameterError):
        overlap_add(x, lambda b: b, hop=100, crossfade=200, margin=0)
    with pytest.raises(ParameterError):
        overlap_add(x, lambda b: b, hop=100, crossfade=10, margin=7, align=4)
    with pytest.raises(ParameterError):
        overlap_add(np.zeros((1, 5000), np.float32), lambda b: b[:, :-1], hop=1000, crossfade=10, margin=0)
