"""Spectral core: the STFT configuration and torch.stft / torch.istft helpers.

Echoes works internally at 22,050 Hz with n_fft 2048 and hop 512: 1025 frequency bins, and
216 frames for a 5-second window (``1 + 110250 // 512``), the paper's 1025×216 input. The
paper's original code used 44.1 kHz with hop 1024, which gives the same grid; we chose 22.05 kHz
because (a) the frame hop is the same 23.2 ms in both, (b) 78 rpm discs and cylinders carry
almost no music above 8–10 kHz (the acoustic era rolls off at 3–8 kHz), so the band above
11 kHz is noise, and (c) every model costs half as much. Output is resampled back to the
input's rate by the pipeline.

Every helper keeps leading dimensions: ``(..., samples) -> (..., bins, frames)`` and back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

INTERNAL_RATE = 22_050


@dataclass(frozen=True)
class STFTConfig:
    """STFT settings. ``sample_rate`` in Hz; ``n_fft``, ``hop_length``, ``win_length`` in samples."""

    sample_rate: int = INTERNAL_RATE
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int = 2048
    window: str = "hann"
    center: bool = True

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    def n_frames(self, n_samples: int) -> int:
        """Frames ``torch.stft`` makes for ``n_samples`` (with ``center=True``)."""
        if self.center:
            return 1 + n_samples // self.hop_length
        return 1 + (n_samples - self.n_fft) // self.hop_length

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "STFTConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


#: The paper's grid: 5 s at 22.05 kHz -> 1025 x 216.
PAPER_STFT = STFTConfig()
#: The archival de-noiser's grid: 44.1 kHz, the same window and hop in seconds as the paper's
#: (93 ms, 23 ms) and the same 10.8-Hz bins, twice as many (2049, up to 22,050 Hz).
ARCHIVAL_STFT = STFTConfig(sample_rate=44_100, n_fft=4096, hop_length=1024, win_length=4096)

_windows: dict[tuple, torch.Tensor] = {}


def window(cfg: STFTConfig, device=None, dtype=torch.float32) -> torch.Tensor:
    key = (cfg.window, cfg.win_length, str(device), dtype)
    if key not in _windows:
        if cfg.window != "hann":
            raise ValueError(f"unsupported window {cfg.window!r}")
        # made outside inference mode: a window cached by inference (Denoiser) must still serve
        # autograd later in the same process (training), which refuses inference tensors
        with torch.inference_mode(False):
            _windows[key] = torch.hann_window(cfg.win_length, periodic=True, device=device, dtype=dtype)
    return _windows[key]


def stft(x: torch.Tensor, cfg: STFTConfig = PAPER_STFT) -> torch.Tensor:
    """Complex STFT of ``(..., samples)`` real signal -> ``(..., n_bins, frames)`` complex64."""
    x = torch.as_tensor(x)
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1]).to(torch.float32)
    X = torch.stft(
        flat,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=window(cfg, flat.device),
        center=cfg.center,
        pad_mode="constant",
        return_complex=True,
    )
    return X.reshape(*lead, X.shape[-2], X.shape[-1])


def istft(X: torch.Tensor, cfg: STFTConfig = PAPER_STFT, length: int | None = None) -> torch.Tensor:
    """Inverse of :func:`stft`: ``(..., n_bins, frames)`` complex -> ``(..., samples)`` float32.

    Pass ``length`` (samples) to get exactly the original length back.
    """
    lead = X.shape[:-2]
    flat = X.reshape(-1, X.shape[-2], X.shape[-1])
    y = torch.istft(
        flat,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=window(cfg, flat.device),
        center=cfg.center,
        length=length,
    )
    return y.reshape(*lead, y.shape[-1])


def magnitude(X: torch.Tensor) -> torch.Tensor:
    return X.abs()


def log_magnitude(X: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``log(|X| + eps)`` of a complex spectrogram (natural log), the models' input feature."""
    return torch.log(X.abs() + eps)


def db(X: torch.Tensor, ref: float = 1.0, floor_db: float = -100.0) -> torch.Tensor:
    """Magnitude in dB relative to ``ref``, floored at ``floor_db`` (for plots)."""
    return (20 * torch.log10(X.abs().clamp_min(1e-12) / ref)).clamp_min(floor_db)
