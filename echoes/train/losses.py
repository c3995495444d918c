"""The de-noisers' training losses.

Inputs are ``(B, samples)`` float waveforms at the model's rate (``noisy``, ``clean``), analysed
on the model's registry grid (:data:`echoes.core.spectral.PAPER_STFT` at 22,050 Hz; ``archival``:
``ARCHIVAL_STFT`` at 44,100 Hz); each loss is a scalar tensor to minimise, averaged over
the batch. The paper's CAE (:data:`PAPER_MODEL`) maps magnitudes to magnitudes and is trained
with the paper's L1 distance between magnitude spectrograms; every other de-noiser of
:mod:`echoes.models.registry` maps the complex STFT to a complex STFT and is trained with
``-SNR/10`` (:func:`snr_loss`) plus :func:`compressed_loss` on the re-analysis of its output
waveform (so the loss sees the STFT that the waveform really has).
"""

from __future__ import annotations

import torch

from echoes.core.spectral import istft, stft
from echoes.models.registry import canonical, denoiser_spec

#: The registry's name of the paper's convolutional autoencoder (its own loss and learning rate).
PAPER_MODEL = "paper"


def snr_loss(target: torch.Tensor, est: torch.Tensor) -> torch.Tensor:
    """``-SNR/10`` (SNR in dB), averaged over the batch; ``(B, samples)`` inputs."""
    num = target.pow(2).sum(-1) + 1e-8
    den = (target - est).pow(2).sum(-1) + 1e-8
    return -(10 * torch.log10(num / den)).mean() / 10


def compressed_loss(S: torch.Tensor, Y: torch.Tensor, c: float = 0.3) -> torch.Tensor:
    """MSE of power-``c`` compressed complex spectra (0.3) and magnitudes (0.7)."""
    ms, my = S.abs().clamp_min(1e-8), Y.abs().clamp_min(1e-8)
    cs, cy = ms**c, my**c
    lc = (torch.view_as_real(S * (cs / ms)) - torch.view_as_real(Y * (cy / my))).pow(2).mean()
    lm = (cs - cy).pow(2).mean()
    return 0.3 * lc + 0.7 * lm


def model_loss(name: str, model: torch.nn.Module, noisy: torch.Tensor,
               clean: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The training loss of de-noiser ``name`` (a registry name or alias) on one batch, and its
    parts as floats (``l1``; or ``snr`` in dB and ``spec``). The STFT is the registry's grid of
    that model (``archival``: 44.1 kHz, n_fft 4096)."""
    cfg = denoiser_spec(name).stft
    X, S = stft(noisy, cfg), stft(clean, cfg)
    if canonical(name) == PAPER_MODEL:
        mag = model(X.abs().unsqueeze(1)).squeeze(1)
        loss = (mag - S.abs()).abs().mean()
        return loss, {"l1": float(loss.detach())}
    Yhat = model(X)
    y = istft(Yhat, cfg, length=noisy.shape[-1])
    ls = snr_loss(clean, y)
    lc = compressed_loss(S, stft(y, cfg))
    return ls + lc, {"snr": float(-10 * ls.detach()), "spec": float(lc.detach())}


def loss_description(name: str) -> str:
    """The loss of de-noiser ``name`` in words, for the training record."""
    if canonical(name) == PAPER_MODEL:
        return "L1 on magnitude spectrograms (the paper)"
    return "-SNR/10 + compressed (0.3) complex and magnitude MSE"
