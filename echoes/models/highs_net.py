"""Echoes' learned high-frequency extension: a spectral-envelope network over a shifted copy.

* grid: 22,050 Hz, n_fft 1024, hop 256 (:data:`HIGHS_STFT`: 21.5 Hz bins, 11.6 ms hops, the
  resolution of the issue's measure at 44.1 kHz with n_fft 2048, hop 512);
* *fine structure*: every bin ``k`` at or above the cutoff bin ``kc`` takes, frame by frame,
  the complex value of bin ``k - s * ceil((k - kc + 1) / s)`` (the band ``[kc - s, kc)`` tiled
  upwards), with ``s`` a multiple of 4 bins near ``kc / 2``. A shift by a multiple of
  ``n_fft / hop = 4`` bins is a frequency shift whose STFT is the shifted STFT itself (the phase
  advance per hop differs by a whole turn), so the copy is a consistent spectrogram: it keeps
  the partials, their onsets and decays, and survives resynthesis unchanged. Each copied value is
  whitened by the local level of its source (power averaged over 17 bins, about 370 Hz) and
  raised to a learned contrast ``gamma`` (0 to 1.5: 0 flattens the partials into the band's
  mean, 1 keeps them as they were);
* *envelope*: a 1-D convolutional network over frames (input: the log power of every kept bin,
  the cutoff as a mask; dilated residual blocks, about +-0.4 s of context) gives, per frame, the
  log power of :data:`N_BANDS` bands relative to the source band's mean level, and ``gamma`` per
  band; both are interpolated to bins.

The generated spectrogram is ``envelope * |whitened copy| ** gamma * phase of the copy`` above
``kc`` and zero below it. :meth:`HighsNet.generate` maps float ``(batch, samples)`` audio at
22,050 Hz levelled to RMS 0.1 and the cutoff in Hz to the generated band only (same shape);
:mod:`echoes.restore.highs` adds it to the input. The model keeps its constructor arguments in
``self.kwargs``. Training: :mod:`echoes.train.highs`; measurements: docs/MODELS.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from echoes.core.spectral import STFTConfig, istft, stft

#: The model's grid (22,050 Hz, n_fft 1024, hop 256).
HIGHS_STFT = STFTConfig(n_fft=1024, hop_length=256, win_length=1024)
#: Envelope bands over the whole spectrum (4 bins, 86 Hz, each).
N_BANDS = 128
#: Floor of the log10 power features (levelled audio: RMS 0.1).
LOG_FLOOR = -10.0


class _Block(nn.Module):
    def __init__(self, ch: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(ch, ch, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.conv2(F.gelu(self.conv1(h)))


class HighsNet(nn.Module):
    """Generates the band above a cutoff (see the module docstring)."""

    def __init__(self, hidden: int = 192, dilations: tuple[int, ...] | list[int] = (1, 2, 4, 8, 16, 1),
                 n_bins: int = 513) -> None:
        super().__init__()
        self.kwargs = {"hidden": hidden, "dilations": list(dilations), "n_bins": n_bins}
        self.n_bins = n_bins
        self.inp = nn.Conv1d(2 * n_bins + 1, hidden, 1)
        self.blocks = nn.Sequential(*[_Block(hidden, d) for d in dilations])
        self.out = nn.Conv1d(hidden, 2 * N_BANDS, 1)
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():
            self.out.bias[:N_BANDS] = -1.0  # start 10 dB under the source band
            self.out.bias[N_BANDS:] = 0.0  # gamma = 1.5 * sigmoid(0) = 0.75

    @staticmethod
    def shift_bins(kc: torch.Tensor) -> torch.Tensor:
        """The copy's shift (bins, a multiple of 4, at least 8) for cutoff bins ``kc`` ``(B,)``."""
        return torch.clamp(torch.div(kc, 8, rounding_mode="floor") * 4, min=8)

    def source_index(self, kc: torch.Tensor) -> torch.Tensor:
        """``(B, n_bins)`` long: the source bin of every bin (itself below the cutoff)."""
        k = torch.arange(self.n_bins, device=kc.device)[None, :]
        kc_, s = kc[:, None], self.shift_bins(kc)[:, None]
        steps = torch.div(k - kc_ + s, s, rounding_mode="floor")  # ceil((k - kc + 1) / s) for k >= kc
        return torch.where(k >= kc_, k - s * steps, k)

    def forward(self, X: torch.Tensor, kc: torch.Tensor) -> torch.Tensor:
        """Complex ``(B, n_bins, T)`` spectrogram and cutoff bins ``(B,)`` -> the generated band
        (complex, same shape, zero below each cutoff)."""
        B, K, T = X.shape
        k = torch.arange(K, device=X.device)[None, :, None]
        above = (k >= kc[:, None, None])  # (B, K, 1)
        power = X.real.square() + X.imag.square()
        logp = torch.log10(power + 1e-10).clamp(min=LOG_FLOOR)
        feats = torch.cat([torch.where(above, torch.full_like(logp, LOG_FLOOR), logp),
                           above.expand(B, K, T).to(logp.dtype),
                           (kc.to(logp.dtype) / K)[:, None, None].expand(B, 1, T)], dim=1)
        h = self.out(self.blocks(F.gelu(self.inp(feats))))
        env, gam = h[:, :N_BANDS], 1.5 * torch.sigmoid(h[:, N_BANDS:])
        env = F.interpolate(env.transpose(1, 2), size=K, mode="linear", align_corners=True).transpose(1, 2)
        gam = F.interpolate(gam.transpose(1, 2), size=K, mode="linear", align_corners=True).transpose(1, 2)
        idx = self.source_index(kc)[:, :, None].expand(B, K, T)
        src = torch.gather(X, 1, idx)
        local = F.avg_pool1d(power.transpose(1, 2), 17, stride=1, padding=8, count_include_pad=False).transpose(1, 2)
        src_local = torch.gather(local, 1, idx)
        # the source band's mean level per frame: the reference of the envelope
        s = self.shift_bins(kc)[:, None, None]
        in_src = (k >= kc[:, None, None] - s) & (k < kc[:, None, None])
        ref = torch.log10((power * in_src).sum(1, keepdim=True) / in_src.sum(1, keepdim=True) + 1e-10)
        white_p = (src.real.square() + src.imag.square()) / (src_local + 1e-10)  # |whitened|^2
        mag = torch.pow(10.0, 0.5 * (env + ref)) * torch.pow(white_p + 1e-12, 0.5 * gam)
        phase = src / (src.abs() + 1e-12)
        return torch.where(above, mag * phase, torch.zeros_like(src))

    def generate(self, x: torch.Tensor, cutoff_hz: torch.Tensor | float, sample_rate: int = 22_050) -> torch.Tensor:
        """The generated band of float ``(batch, samples)`` audio (levelled to RMS 0.1) above
        ``cutoff_hz`` (one value or ``(batch,)``): float32, same shape. ``sample_rate``: 22,050
        Hz (the model's grid) or 44,100 Hz, analysed with twice the n_fft and hop, so that the
        bins up to 11,025 Hz and the frames are the same as at 22,050 Hz (magnitudes halved for
        the model, doubled after): no resampling, whose pass band would end near 10 kHz."""
        r = grid_ratio(sample_rate)
        cfg = STFTConfig(sample_rate=sample_rate, n_fft=HIGHS_STFT.n_fft * r, hop_length=HIGHS_STFT.hop_length * r,
                         win_length=HIGHS_STFT.win_length * r)
        X = stft(x, cfg)
        c = torch.as_tensor(cutoff_hz, dtype=torch.float32, device=x.device).reshape(-1).expand(x.shape[0])
        kc = torch.clamp(torch.ceil(c * HIGHS_STFT.n_fft / HIGHS_STFT.sample_rate).long(), 16, self.n_bins - 1)
        G = self.forward(X[:, : self.n_bins] / r, kc) * r
        if r > 1:
            G = F.pad(G, (0, 0, 0, X.shape[1] - self.n_bins))
        return istft(G, cfg, length=x.shape[-1])


def grid_ratio(sample_rate: int) -> int:
    """1 at 22,050 Hz, 2 at 44,100 Hz: the rates :meth:`HighsNet.generate` takes as they are."""
    if sample_rate not in (22_050, 44_100):
        raise ValueError(f"HighsNet generates at 22,050 or 44,100 Hz, not {sample_rate}")
    return sample_rate // 22_050
