"""Oracle masks: what spectrogram masking could reach if it knew the clean signal.

These are not de-noisers (they need the clean reference, which no method has); they are the
ceilings that put a measured figure in context. Each one goes the way
:class:`echoes.restore.denoise.Denoiser` goes (resampled to the models' internal rate, 22,050 Hz, the
paper's STFT grid, back to the input's rate and exact length; the band above 11,025 Hz is
dropped), so it meets the same noise in the same band as the models:

- ``oracle Wiener mask``: ``|S|^2 / (|S|^2 + |N|^2)`` per bin, with ``N = X - S`` the true
  noise (the "oracle Wiener mask" of the issue tracker's de-noising goal);
- ``oracle magnitude, noisy phase``: ``|S|`` with the phase of ``X``: the paper's autoencoder's
  training target exactly (a perfect CAE outputs this);
- ``oracle phase-sensitive mask``: ``max(0, |S| cos(phase(S) - phase(X)))`` with the phase of
  ``X`` (Erdogan et al., ICASSP 2015): the magnitude with the noisy phase that is nearest to
  ``S`` in every bin, so no method that keeps the noisy phase does better on this grid (up to
  the overlap-add of the inverse STFT). This is the ceiling of the paper's method class;
- the same phase-sensitive mask on a four times longer window (n_fft 8192, hop 2048): a finer
  frequency grid, to show how much the grid itself limits masking.

``S``, ``X`` are the STFTs of the clean reference and the noisy input at the internal rate.

    >>> est = oracle_estimates(clean, noisy, 44100)   # float32 (samples,) each
    >>> est["oracle phase-sensitive mask"].shape == clean.shape
"""

from __future__ import annotations

import numpy as np
import torch

from echoes.core.audio import fit_length, resample
from echoes.errors import ParameterError
from echoes.core.spectral import PAPER_STFT, STFTConfig, istft, stft

#: The rows :func:`oracle_estimates` returns, in order.
ORACLES = (
    "oracle Wiener mask",
    "oracle magnitude, noisy phase",
    "oracle phase-sensitive mask",
    "oracle phase-sensitive mask, n_fft 8192",
)


def masks(S: torch.Tensor, X: torch.Tensor) -> dict[str, torch.Tensor]:
    """The masked spectra of the first three :data:`ORACLES` from the clean STFT ``S`` and the
    noisy ``X`` (complex, same shape, any grid)."""
    mag_x = X.abs()
    unit = torch.where(mag_x > 0, X / mag_x.clamp_min(1e-30), torch.ones_like(X))  # noisy phase
    mag_s = S.abs()
    N = X - S
    wiener = mag_s**2 / (mag_s**2 + N.abs() ** 2).clamp_min(1e-30)
    psm = (S * X.conj()).real / mag_x.clamp_min(1e-30)  # |S| cos(phase(S) - phase(X))
    return {
        "oracle Wiener mask": wiener * X,
        "oracle magnitude, noisy phase": mag_s * unit,
        "oracle phase-sensitive mask": psm.clamp_min(0.0) * unit,
    }


def oracle_estimates(clean: np.ndarray, noisy: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """The oracle estimates of :data:`ORACLES` for one mono signal.

    ``clean`` (the reference) and ``noisy`` (the input): float ``(samples,)`` of the same
    length at ``sample_rate`` Hz. Returns float32 ``(samples,)`` arrays at ``sample_rate``.
    """
    c = np.asarray(clean, dtype=np.float32)
    x = np.asarray(noisy, dtype=np.float32)
    if c.ndim != 1 or c.shape != x.shape or c.size == 0:
        raise ParameterError(f"clean and noisy must be non-empty (samples,) arrays of one length, "
                             f"got {c.shape} and {x.shape}")
    sr, inner = int(sample_rate), PAPER_STFT.sample_rate
    ci, xi = resample(c, sr, inner), resample(x, sr, inner)  # no-ops at the internal rate
    n = ci.shape[-1]
    fine = STFTConfig(sample_rate=inner, n_fft=8192, hop_length=2048, win_length=8192)
    with torch.no_grad():
        tc, tx = torch.from_numpy(np.ascontiguousarray(ci)), torch.from_numpy(np.ascontiguousarray(xi))
        out = {k: istft(Y, PAPER_STFT, length=n).numpy()
               for k, Y in masks(stft(tc, PAPER_STFT), stft(tx, PAPER_STFT)).items()}
        psm_fine = masks(stft(tc, fine), stft(tx, fine))["oracle phase-sensitive mask"]
        out["oracle phase-sensitive mask, n_fft 8192"] = istft(psm_fine, fine, length=n).numpy()
    return {key: fit_length(resample(out[key], inner, sr), c.shape[-1]) for key in ORACLES}
