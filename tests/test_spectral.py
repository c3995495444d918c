"""STFT core: perfect reconstruction, shapes with leading dims, the paper's grid."""

from __future__ import annotations

import numpy as np
import torch

from echoes.core.spectral import PAPER_STFT, STFTConfig, istft, log_magnitude, stft


def test_paper_grid_is_1025_by_216_for_five_seconds() -> None:
    x = torch.zeros(5 * 22050)
    X = stft(x)
    assert X.shape == (1025, 216)
    assert PAPER_STFT.n_bins == 1025 and PAPER_STFT.n_frames(5 * 22050) == 216


def test_reconstruction_of_noise_within_1e5() -> None:
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(3, 2, 40_000, generator=g) * 2 - 1) * 0.9
    X = stft(x)
    assert X.shape[:2] == (3, 2) and X.shape[2] == 1025
    y = istft(X, length=x.shape[-1])
    assert y.shape == x.shape
    assert (y - x).abs().max().item() < 1e-5


def test_reconstruction_of_piano_like_tone(tone) -> None:
    x = torch.from_numpy(tone(110.0, 2.0, 22050))
    y = istft(stft(x), length=len(x))
    assert (y - x).abs().max().item() < 1e-5


def test_other_grid_and_round_trip_config() -> None:
    cfg = STFTConfig(sample_rate=44100, n_fft=2048, hop_length=1024, win_length=2048)
    X = stft(torch.zeros(5 * 44100), cfg)
    assert X.shape == (1025, 216)
    assert STFTConfig.from_dict(cfg.to_dict()) == cfg


def test_log_magnitude_is_finite_and_monotonic() -> None:
    X = torch.tensor([0.0, 1e-3, 1.0, 10.0], dtype=torch.complex64)
    L = log_magnitude(X)
    assert torch.all(torch.isfinite(L))
    assert torch.all(L[1:] > L[:-1])
    np.testing.assert_allclose(L[2].item(), np.log(1 + 1e-5), atol=1e-7)


def test_a_window_cached_under_inference_mode_serves_autograd():
    """The STFT window cache is shared: a window first made inside ``torch.inference_mode``
    (inference) must not break a later STFT that autograd tracks (training)."""
    import torch

    from echoes.core.spectral import STFTConfig, istft, stft

    cfg = STFTConfig(sample_rate=8000, n_fft=384, hop_length=96, win_length=384)  # a size no other test uses
    with torch.inference_mode():
        stft(torch.zeros(1, 2000), cfg)
    x = torch.randn(1, 2000, requires_grad=True)
    istft(stft(x, cfg), cfg, length=2000).pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
