"""The paper's noisy/clean classifier: a small CNN over a 5-second log-magnitude spectrogram.

Architecture (Echoes Reborn, "spectrogram CNN"): log-magnitude STFT input of 1025 bins x 216
frames (5 s at 22,050 Hz, n_fft 2048, hop 512), three convolutional layers, dropout 0.3, fully
connected layers, and a softmax over the two classes ``(clean, noisy)``.

What differs from the original code, and why:

* Every layer is created in ``__init__`` and trained. The original built its last linear layer
  inside ``forward``, so that layer was never trained and was re-randomised on every call.
* The input is normalised inside the model (:meth:`SpectrogramCNN.normalise`): the log
  spectrogram minus its own energy-weighted mean level (the log of the spectrogram's RMS
  magnitude). A gain ``g`` adds ``log g`` to every bin and to that level alike, so the network
  sees the same input at any playback level (apart from the ``eps`` floor of digital silence).
* Speed and size: the first convolution strides by 4 in frequency and 2 in time, each
  convolution is followed by 2x2 max-pooling, and the last feature map is pooled over time
  (mean and max, so a single click still counts) before the fully connected layers. The
  original flattened the whole map into a dense layer of tens of millions of weights; here the
  model has about 72 k parameters (under 300 kB as float32) and classifies a 5-s window in a
  couple of milliseconds on one CPU core. Batch normalisation after each convolution (optional,
  on by default) makes training converge in a few epochs.

The network returns logits ``(batch, 2)``; :meth:`SpectrogramCNN.probabilities` applies the
softmax. Class index 0 is ``clean`` and 1 is ``noisy`` (:data:`CLASSES`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from echoes.core.spectral import PAPER_STFT, STFTConfig, log_magnitude, stft

#: Output order of the classifier's two classes.
CLASSES = ("clean", "noisy")


def features(audio: torch.Tensor, cfg: STFTConfig = PAPER_STFT) -> torch.Tensor:
    """Log-magnitude spectrogram, the classifier's input.

    Parameters
    ----------
    audio : float tensor ``(..., samples)`` at ``cfg.sample_rate`` (22,050 Hz), in [-1, 1].
        A 5-s window (110,250 samples) gives 216 frames.
    cfg : STFT settings (the paper's by default).

    Returns
    -------
    Tensor ``(..., n_bins, frames)``: ``log(|STFT| + 1e-5)`` (natural log).
    """
    return log_magnitude(stft(audio, cfg))


class SpectrogramCNN(nn.Module):
    """Three-convolution spectrogram classifier with softmax over ``(clean, noisy)``.

    Parameters
    ----------
    n_bins : frequency bins of the input (1025 for n_fft 2048).
    channels : output channels of the three convolutions.
    hidden : width of the hidden fully connected layer.
    dropout : dropout rate before each fully connected layer (the paper's 0.3).
    batchnorm : batch normalisation after each convolution.
    floor : normalised log-magnitudes are clamped below at ``-floor`` (nats under the level),
        so digital silence and a -100 dB floor look alike.

    Input ``(batch, n_bins, frames)`` or ``(batch, 1, n_bins, frames)`` log-magnitudes (any
    number of frames >= 16; trained on 216); output ``(batch, 2)`` logits.
    """

    def __init__(
        self,
        *,
        n_bins: int = 1025,
        channels: tuple[int, int, int] | list[int] = (8, 16, 32),
        hidden: int = 32,
        dropout: float = 0.3,
        batchnorm: bool = True,
        floor: float = 12.0,
    ) -> None:
        """Build the paper's CNN: three conv blocks over the log spectrogram, then a small head.

        The arguments are kept in ``self.kwargs`` so that checkpoints rebuild the same network."""
        super().__init__()
        channels = [int(c) for c in channels]
        if len(channels) != 3:
            raise ValueError("channels must hold three numbers, one per convolution")
        self.kwargs = {
            "n_bins": int(n_bins),
            "channels": channels,
            "hidden": int(hidden),
            "dropout": float(dropout),
            "batchnorm": bool(batchnorm),
            "floor": float(floor),
        }
        c1, c2, c3 = channels
        norm = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
        # Conv 1 strides early (4 in frequency, 2 in time) so the rest runs on a small map.
        self.conv1 = nn.Conv2d(1, c1, kernel_size=(7, 5), stride=(4, 2), padding=(3, 2))
        self.bn1 = norm(c1)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.bn2 = norm(c2)
        self.conv3 = nn.Conv2d(c2, c3, kernel_size=3, padding=1)
        self.bn3 = norm(c3)
        self.pool = nn.MaxPool2d(2)
        self.act = nn.ReLU()
        f = n_bins
        f = (f + 2 * 3 - 7) // 4 + 1  # conv1
        for _ in range(3):  # three 2x2 poolings
            f //= 2
        self.freq_out = f
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(2 * c3 * f, hidden)
        self.fc2 = nn.Linear(hidden, len(CLASSES))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Level-normalise log-magnitudes ``(batch, 1, bins, frames)``: subtract the log RMS.

        ``level = 0.5 * log(mean(|X|^2))`` over bins and frames, computed from the log
        magnitudes with ``logsumexp`` (no overflow); the result is clamped at ``-floor`` and
        scaled by 1/4 so typical values lie in [-3, 1].
        """
        flat = x.flatten(1)
        level = 0.5 * (torch.logsumexp(2.0 * flat, dim=1) - math.log(flat.shape[1]))
        y = x - level[:, None, None, None]
        return y.clamp_min(-self.kwargs["floor"]) / 4.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, 2)`` for log-magnitudes ``(batch, [1,] bins, frames)``."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        x = self.normalise(x)
        x = self.pool(self.act(self.bn1(self.conv1(x))))
        x = self.pool(self.act(self.bn2(self.conv2(x))))
        x = self.pool(self.act(self.bn3(self.conv3(x))))
        # (batch, c3, f, t): pool over time, keep frequency.
        x = torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1).flatten(1)
        x = self.act(self.fc1(self.dropout(x)))
        return self.fc2(self.dropout(x))

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over ``(clean, noisy)``: ``(batch, 2)``, rows sum to 1."""
        return torch.softmax(self.forward(x), dim=-1)
