"""The paper's convolutional autoencoder (CAE): 28,353 parameters on magnitude spectrograms.

"Echoes Reborn" de-noises a 5-second magnitude spectrogram (1025 bins x 216 frames, STFT with
n_fft 2048 and hop 512; see :mod:`echoes.core.spectral`) with a small convolutional autoencoder and
puts the noisy phase back. The layer sizes are fixed by the paper's description (two
convolutions with max-pooling in the encoder, a 513 x 108 x 32 latent, convolution and
upsampling in the decoder, cropping to align, a final convolution) and its parameter count,
28,353, which this layout gives exactly::

    layer                         output (C x F x T)   parameters
    conv 3x3, 1 -> 32, ReLU         32 x 1025 x 216       320
    max-pool 2x2 (ceil)             32 x  513 x 108         0
    conv 3x3, 32 -> 32, ReLU        32 x  513 x 108     9,248   <- latent 513 x 108 x 32
    conv 3x3, 32 -> 32, ReLU        32 x  513 x 108     9,248
    upsample x2 (nearest)           32 x 1026 x 216         0
    conv 3x3, 32 -> 32, ReLU        32 x 1026 x 216     9,248
    crop to the input's size        32 x 1025 x 216         0
    conv 3x3, 32 -> 1, ReLU          1 x 1025 x 216       289
                                                  total 28,353

"Same" padding everywhere. The network maps a magnitude to a magnitude (ReLU output, so never
negative); it was trained with the paper's loss, the L1 distance between magnitude
spectrograms (while training, the output ReLU leaks 0.01 so that it cannot die; see
``forward``). One addition that has no parameters: each input is divided by its own peak
magnitude and the output multiplied back, so the model sees the same range whatever the
recording's level (the paper normalised its spectrograms; the exact recipe is not given).
It works on any number of frames (the 216 of 5 s is the training size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from echoes.core.spectral import PAPER_STFT, STFTConfig, istft, stft

#: The paper's parameter count, checked by the tests.
PAPER_PARAMETERS = 28_353


class PaperCAE(nn.Module):
    """The paper's autoencoder: ``(batch, 1, bins, frames)`` magnitude in, same shape out.

    Parameters
    ----------
    channels : feature maps of every hidden convolution (32 in the paper).
    kernel : square kernel size (3 in the paper).
    """

    def __init__(self, *, channels: int = 32, kernel: int = 3) -> None:
        super().__init__()
        self.kwargs = {"channels": channels, "kernel": kernel}
        pad = kernel // 2
        c = channels
        self.enc1 = nn.Conv2d(1, c, kernel, padding=pad)
        self.enc2 = nn.Conv2d(c, c, kernel, padding=pad)
        self.dec1 = nn.Conv2d(c, c, kernel, padding=pad)
        self.dec2 = nn.Conv2d(c, c, kernel, padding=pad)
        self.out = nn.Conv2d(c, 1, kernel, padding=pad)
        with torch.no_grad():
            self.out.bias.fill_(0.01)

    def encode(self, mag: torch.Tensor) -> torch.Tensor:
        """``(B, 1, F, T)`` normalised magnitude -> latent ``(B, C, ceil(F/2), ceil(T/2))``."""
        h = F.relu(self.enc1(mag))
        h = F.max_pool2d(h, 2, ceil_mode=True)
        return F.relu(self.enc2(h))

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        """Noisy magnitude ``(B, 1, F, T)`` (linear, >= 0) -> de-noised magnitude, same shape."""
        if mag.dim() != 4 or mag.shape[1] != 1:
            raise ValueError(f"expected (batch, 1, bins, frames), got {tuple(mag.shape)}")
        n_f, n_t = mag.shape[-2:]
        scale = mag.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-8)
        h = self.encode(mag / scale)
        h = F.relu(self.dec1(h))
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        h = F.relu(self.dec2(h))
        h = h[..., :n_f, :n_t]
        z = self.out(h)
        # ReLU output (a magnitude); while training a 0.01 leak keeps the last layer from dying
        # (with a plain ReLU our first run collapsed to an all-zero output, a local minimum of
        # the L1 loss on sparse piano spectra). Inference is the plain ReLU.
        z = F.leaky_relu(z, 0.01) if self.training else F.relu(z)
        return z * scale

    def enhance(self, audio: torch.Tensor, cfg: STFTConfig = PAPER_STFT) -> torch.Tensor:
        """De-noise ``(batch, samples)`` float audio at ``cfg.sample_rate``; same shape out.

        The de-noised magnitude is combined with the noisy phase and inverted.
        """
        X = stft(audio, cfg)
        mag = self(X.abs().unsqueeze(1)).squeeze(1)
        Y = torch.polar(mag, X.angle())
        return istft(Y, cfg, length=audio.shape[-1])
