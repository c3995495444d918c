"""A tiny model built in code, for offline tests of checkpoints, the Hub path and chunking."""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    """One 1-D convolution over ``(batch, 1, samples)``; ``identity=True`` starts as the identity."""

    def __init__(self, kernel: int = 3, identity: bool = False) -> None:
        super().__init__()
        self.kwargs = {"kernel": kernel, "identity": identity}
        self.conv = nn.Conv1d(1, 1, kernel, padding=kernel // 2, bias=True)
        if identity:
            with torch.no_grad():
                self.conv.weight.zero_()
                self.conv.weight[0, 0, kernel // 2] = 1.0
                self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
