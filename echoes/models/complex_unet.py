"""Echoes' de-noisers ``fast`` and ``archival``: a complex-spectrogram U-Net with a deep-filter output.

* input: the complex STFT ``X`` (22,050 Hz, n_fft 2048, hop 512: the paper's grid), as three
  feature maps over (bins, frames): the real and imaginary parts of the *compressed* spectrum
  ``X |X|^(c-1)`` (``c = 0.3``) and ``|X|^c``;
* a U-Net whose encoder halves the frequency axis at each level (1025 -> 513 -> 257 -> 129
  -> 65 bins) with 3x3 convolutions; its bottleneck flattens (channels x bins) into one vector
  per frame and mixes it with dilated 1-D convolutions over time (about +-0.7 s of context);
* output: a *deep filter* per bin: ``taps`` complex coefficients applied to ``X`` at frames
  ``t - taps//2 .. t + taps//2`` of the same bin (DeepFilterNet, Schroeter et al., 2022).
The decoder mirrors the encoder with sub-pixel convolutions and additive skips.

``archival`` is the same network over the 44.1-kHz grid (n_fft 4096, hop 1024: the same bins in
Hz, twice as many), grown from ``fast`` by :meth:`ComplexUNet.with_bins` and trained on.

Contract: :meth:`ComplexUNet.enhance` maps float ``(batch, samples)`` audio at the grid's rate
(22,050 Hz for ``fast``, 44,100 Hz for ``archival``) to the same shape; the model keeps its
constructor arguments in ``self.kwargs`` (checkpoints carry them). Why phase-aware, sizes, speed
and measured quality: docs/MODELS.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from echoes.core.spectral import PAPER_STFT, STFTConfig, istft, stft


def _subpixel(h: torch.Tensor, target: int, skip: torch.Tensor | None = None) -> torch.Tensor:
    """Sub-pixel upsampling along frequency: ``(B, 2C, F, T)`` -> ``(B, C, target, T)`` with
    output channel ``k`` at bin ``2f + j`` taken from input channel ``2k + j`` at bin ``f``
    (``target`` <= 2F), plus ``skip`` (``(B, C, target, T)``) if given. Written into a
    channels-last tensor, read from one without copies. At inference the skip is added in the
    same pass (one write of the output instead of a copy and then a sum; the same numbers): the
    step 1.8 to 2.2 times faster, the whole model on one 22-s chunk 0.393 -> 0.366 s and on a
    batch of two 0.843 -> 0.737 s (medians of 6 interleaved runs on the 2-core machine); end to
    end, 60 s through :class:`echoes.restore.denoise.Denoiser`, the change was lost in that machine's
    noise (paired ratios 1.09 and 0.99 over 8 runs each). With autograd: a sum, then the write."""
    b, c2, f, t = h.shape
    c = c2 // 2
    out = torch.empty((b, c, target, t), dtype=h.dtype, device=h.device, memory_format=torch.channels_last)
    o = out.permute(0, 2, 3, 1)  # (B, target, T, C): the memory order of ``out``
    hp = h.permute(0, 2, 3, 1).reshape(b, f, t, c, 2)
    even, odd = hp[:, : (target + 1) // 2, :, :, 0], hp[:, : target // 2, :, :, 1]
    if skip is None:
        o[:, 0::2] = even
        o[:, 1::2] = odd
    elif torch.is_grad_enabled() and (h.requires_grad or skip.requires_grad):  # training: no out=
        s = skip.permute(0, 2, 3, 1)
        o[:, 0::2] = even + s[:, 0::2]
        o[:, 1::2] = odd + s[:, 1::2]
    else:
        s = skip.permute(0, 2, 3, 1)
        torch.add(even, s[:, 0::2], out=o[:, 0::2])
        torch.add(odd, s[:, 1::2], out=o[:, 1::2])
    return out


class ComplexUNet(nn.Module):
    """Complex U-Net de-noiser; ``forward`` maps a complex STFT to a complex STFT.

    Parameters
    ----------
    channels : feature maps at each encoder level (each level halves the bins).
    bottleneck : width of the per-frame vector in the temporal bottleneck.
    dilations : dilations of the bottleneck's 1-D convolutions (kernel 3, residual).
    taps : frames of the deep filter (odd; 1 = complex mask).
    compress : magnitude compression exponent of the input features.
    n_bins : number of STFT bins the model is built for (1025 for n_fft 2048).
    feature_gain : the STFT is scaled by this before the features are taken (not before the
        filter): 0.5 makes a 4096-point STFT of a tone look like a 2048-point one.
    residual_gate : ``None``, or a post-filter of :meth:`enhance` (not of ``forward``, so not of
        training) for the residual noise in high bands: ``{"from_hz", "band_hz", "threshold_db",
        "ratio"}``; see :meth:`gate_residual`.
    """

    def __init__(
        self,
        *,
        channels: tuple[int, ...] | list[int] = (12, 16, 24, 32),
        bottleneck: int = 256,
        dilations: tuple[int, ...] | list[int] = (1, 2, 4, 8, 1),
        taps: int = 3,
        compress: float = 0.3,
        n_bins: int = 1025,
        feature_gain: float = 1.0,
        residual_gate: dict | None = None,
    ) -> None:
        """Build the U-Net: encoder levels of ``channels``, a ``bottleneck``-wide temporal mixer, a deep filter.

        The arguments are kept in ``self.kwargs`` so that checkpoints rebuild the same network."""
        super().__init__()
        if taps < 1 or taps % 2 == 0:
            raise ValueError(f"taps must be odd and >= 1, got {taps}")
        channels = [int(c) for c in channels]
        dilations = [int(d) for d in dilations]
        self.kwargs = {
            "channels": channels,
            "bottleneck": bottleneck,
            "dilations": dilations,
            "taps": taps,
            "compress": compress,
            "n_bins": n_bins,
        }
        if feature_gain != 1.0:  # only when set: older checkpoints keep their kwargs
            self.kwargs["feature_gain"] = float(feature_gain)
        self.feature_gain = float(feature_gain)
        if residual_gate is not None:
            residual_gate = {k: float(residual_gate[k]) for k in ("from_hz", "band_hz", "threshold_db", "ratio")}
            self.kwargs["residual_gate"] = residual_gate
        self.residual_gate = residual_gate
        self.taps = taps
        self.compress = compress
        self.n_bins = n_bins
        # frequency sizes per level: 1025 -> 513 -> 257 -> 129 -> 65
        sizes = [n_bins]
        for _ in channels:
            sizes.append((sizes[-1] - 1) // 2 + 1)
        self.sizes = sizes
        c_in = 3
        self.enc = nn.ModuleList()
        for c in channels:
            self.enc.append(nn.Conv2d(c_in, c, (3, 3), stride=(2, 1), padding=(1, 1)))
            c_in = c
        flat = channels[-1] * sizes[-1]
        self.squeeze = nn.Conv1d(flat, bottleneck, 1)
        self.tcn = nn.ModuleList(
            nn.Conv1d(bottleneck, bottleneck, 3, padding=d, dilation=d) for d in dilations
        )
        self.expand = nn.Conv1d(bottleneck, flat, 1)
        self.dec = nn.ModuleList()
        # the last level makes the deep-filter coefficients directly at full resolution
        outs = [*channels[:-1][::-1], 2 * taps]
        c_in = channels[-1]
        for i, c in enumerate(outs):
            # sub-pixel upsampling along frequency: a conv at the coarse size makes 2x the
            # channels, which are interleaved into twice the bins (cheaper than ConvTranspose2d)
            self.dec.append(nn.Conv2d(c_in, 2 * c, (3, 3), padding=(1, 1)))
            c_in = c
        with torch.no_grad():  # start near the identity filter (centre tap 1)
            last = self.dec[-1]
            last.weight.mul_(0.1)
            last.bias.zero_()
            last.bias.view(2 * taps, 2)[taps // 2].fill_(1.0)

    def with_taps(self, taps: int) -> "ComplexUNet":
        """A copy with a longer deep filter (``taps`` >= the current, odd) that computes the same
        function: the new outer taps start at zero (weights and bias of the last decoder
        convolution), the existing taps keep their coefficients. For fine-tuning a trained model
        into a longer filter."""
        if taps < self.taps or (taps - self.taps) % 2:
            raise ValueError(f"taps must be >= {self.taps} and odd, got {taps}")
        new = ComplexUNet(**dict(self.kwargs, taps=taps)).to(next(self.parameters()).device)
        state = dict(self.state_dict())
        last = f"dec.{len(self.dec) - 1}"
        w, b = state[f"{last}.weight"], state[f"{last}.bias"]
        nw = w.new_zeros((4 * taps, *w.shape[1:]))
        nb = b.new_zeros(4 * taps)
        d = (taps - self.taps) // 2
        for p in range(2):  # real parts, then imaginary
            for j in range(self.taps):
                for par in range(2):  # the two sub-pixel bins
                    src, dst = 2 * (p * self.taps + j) + par, 2 * (p * taps + j + d) + par
                    nw[dst], nb[dst] = w[src], b[src]
        state[f"{last}.weight"], state[f"{last}.bias"] = nw, nb
        new.load_state_dict(state)
        return new

    def with_dilations(self, dilations: tuple[int, ...] | list[int]) -> "ComplexUNet":
        """A copy with a deeper temporal bottleneck that computes the same function: ``dilations``
        must begin with the current ones; each new residual block (``z + leaky(conv(z))``) starts
        with zero weights and bias, so it adds nothing until trained. For fine-tuning a trained
        model into a longer temporal context (kernel 3: each block of dilation ``d`` widens the
        receptive field by ``2 d`` frames)."""
        dilations = [int(d) for d in dilations]
        old = self.kwargs["dilations"]
        if dilations[: len(old)] != old or len(dilations) < len(old) or min(dilations) < 1:
            raise ValueError(f"dilations must begin with {old} (all >= 1), got {dilations}")
        new = ComplexUNet(**dict(self.kwargs, dilations=dilations)).to(next(self.parameters()).device)
        state = dict(new.state_dict())
        state.update(self.state_dict())
        for i in range(len(old), len(dilations)):
            state[f"tcn.{i}.weight"] = torch.zeros_like(state[f"tcn.{i}.weight"])
            state[f"tcn.{i}.bias"] = torch.zeros_like(state[f"tcn.{i}.bias"])
        new.load_state_dict(state)
        return new

    def with_bins(self, n_bins: int, *, feature_gain: float = 1.0) -> "ComplexUNet":
        """A copy over a wider grid of the same bin spacing (``n_bins`` >= the current, the same
        number of levels; e.g. 1025 -> 2049 bins for 22.05 -> 44.1 kHz with twice the n_fft): the
        convolutions are shared over frequency and keep their weights; the bottleneck's 1x1
        convolutions keep theirs for the old bins and start at zero for the new ones, so the new
        high band starts with the local filters alone. For growing ``fast`` into ``archival``."""
        if n_bins < self.n_bins:
            raise ValueError(f"n_bins must be >= {self.n_bins}, got {n_bins}")
        new = ComplexUNet(**dict(self.kwargs, n_bins=n_bins, feature_gain=feature_gain))
        new = new.to(next(self.parameters()).device)
        state = dict(self.state_dict())
        c, f_old, f_new = self.kwargs["channels"][-1], self.sizes[-1], new.sizes[-1]
        sq = state["squeeze.weight"]  # (bottleneck, c * f, 1), input index = channel * f + bin
        nsq = sq.new_zeros((sq.shape[0], c, f_new, 1))
        nsq[:, :, :f_old] = sq.reshape(sq.shape[0], c, f_old, 1)
        state["squeeze.weight"] = nsq.reshape(sq.shape[0], c * f_new, 1)
        ex, eb = state["expand.weight"], state["expand.bias"]  # (c * f, bottleneck, 1), (c * f,)
        nex = ex.new_zeros((c, f_new, *ex.shape[1:]))
        nex[:, :f_old] = ex.reshape(c, f_old, *ex.shape[1:])
        neb = eb.new_zeros((c, f_new))
        neb[:, :f_old] = eb.reshape(c, f_old)
        state["expand.weight"], state["expand.bias"] = nex.reshape(c * f_new, *ex.shape[1:]), neb.reshape(-1)
        new.load_state_dict(state)
        return new

    def macs_per_frame(self) -> int:
        """Multiply-accumulates per STFT frame (convolutions only)."""
        total = 0
        c_in = 3
        for i, conv in enumerate(self.enc):
            total += self.sizes[i + 1] * c_in * conv.out_channels * 9
            c_in = conv.out_channels
        total += self.squeeze.in_channels * self.squeeze.out_channels * 2
        total += sum(c.in_channels * c.out_channels * 3 for c in self.tcn)
        for i, conv in enumerate(self.dec):
            total += self.sizes[-1 - i] * conv.in_channels * conv.out_channels * 9
        return int(total)

    def features(self, X: torch.Tensor) -> torch.Tensor:
        """Complex ``(B, F, T)`` -> real ``(B, 3, F, T)``: compressed real, imaginary, magnitude.

        The result is laid out channels-last in memory (see :meth:`filters`)."""
        if self.feature_gain != 1.0:
            X = X * self.feature_gain
        mag = X.abs()
        comp = mag.clamp_min(1e-8) ** self.compress
        gain = comp / mag.clamp_min(1e-8)
        return torch.stack([X.real * gain, X.imag * gain, comp], dim=-1).permute(0, 3, 1, 2)

    def filters(self, X: torch.Tensor) -> torch.Tensor:
        """Deep-filter coefficients ``(B, 2 * taps, F, T)`` (real parts, then imaginary).

        The 2-D feature maps are kept channels-last in memory (``torch.channels_last``): with
        this model's few channels over many bins, oneDNN's full-resolution convolutions run 2 to 3
        times faster on that layout than on NCHW. The whole model on the project's 2-core CPU,
        2 threads: one 22-s chunk 0.36 -> 0.30 s, a batch of two 1.27 -> 0.75 s. Outputs and
        gradients agree with the NCHW layout to float rounding (relative 1e-6)."""
        if X.dim() != 3 or X.shape[1] != self.n_bins:
            raise ValueError(f"expected complex (batch, {self.n_bins}, frames), got {tuple(X.shape)}")
        h = self.features(X)
        skips = []
        for conv in self.enc:
            h = F.leaky_relu(conv(h), 0.1, inplace=True)
            skips.append(h)
        b, c, f, t = h.shape
        z = F.leaky_relu(self.squeeze(h.contiguous().reshape(b, c * f, t)), 0.1, inplace=True)
        for conv in self.tcn:
            z = z + F.leaky_relu(conv(z), 0.1, inplace=True)
        h = h + self.expand(z).reshape(b, c, f, t)
        last = len(self.dec) - 1
        for i, conv in enumerate(self.dec):
            h = conv(h)
            if i < last:
                h = F.leaky_relu(h, 0.1, inplace=True)
            h = _subpixel(h, self.sizes[-2 - i], skips[-2 - i] if i < last else None)
        return h

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Noisy complex STFT ``(B, F, T)`` -> de-noised complex STFT, same shape."""
        coef = self.filters(X)
        k = self.taps
        re, im = coef[:, :k], coef[:, k:]
        half = k // 2
        if half:
            Xp = F.pad(torch.view_as_real(X), (0, 0, half, half))  # pad frames
            Xp = torch.view_as_complex(Xp.contiguous())
        else:
            Xp = X
        t = X.shape[-1]
        out = torch.zeros_like(X)
        for j in range(k):
            out = out + torch.complex(re[:, j], im[:, j]) * Xp[..., j : j + t]
        return out

    def enhance(self, audio: torch.Tensor, cfg: STFTConfig = PAPER_STFT) -> torch.Tensor:
        """De-noise ``(batch, samples)`` float audio at ``cfg.sample_rate``; same shape out."""
        X = stft(audio, cfg)
        y = istft(self(X), cfg, length=audio.shape[-1])
        return y if self.residual_gate is None else self.gate_residual(X, y, cfg)

    def gate_residual(self, X: torch.Tensor, y: torch.Tensor, cfg: STFTConfig) -> torch.Tensor:
        """Push down what is left of the noise in high bands: in every band of ``band_hz`` from
        ``from_hz`` up and every frame where the output ``y`` (re-analysed: the network's own STFT
        is not consistent there, its overlap-add cancels much of it) keeps less than
        ``threshold_db`` of the input's energy ``X``, the band is attenuated ``ratio - 1`` times
        further for every dB below (a downward expander). Bands with music, which the model keeps
        near 0 dB, pass unchanged. ``y``: ``(batch, samples)``; same shape out."""
        g = self.residual_gate
        Y = stft(y, cfg)
        hz = cfg.sample_rate / cfg.n_fft
        b0, width = int(round(g["from_hz"] / hz)), max(1, int(round(g["band_hz"] / hz)))
        gain = torch.ones(Y.shape, dtype=Y.real.dtype, device=Y.device)
        for lo in range(b0, Y.shape[-2], width):
            hi = min(lo + width, Y.shape[-2])
            ey = Y[..., lo:hi, :].abs().pow(2).mean(-2, keepdim=True)
            ex = X[..., lo:hi, :].abs().pow(2).mean(-2, keepdim=True)
            r_db = 10 * torch.log10(ey.clamp_min(1e-20) / ex.clamp_min(1e-20))
            gain[..., lo:hi, :] = 10 ** ((r_db - g["threshold_db"]).clamp(max=0.0) * (g["ratio"] - 1) / 20)
        return istft(Y * gain, cfg, length=y.shape[-1])
