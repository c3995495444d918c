"""Small signal helpers shared by every layer.

Contracts: masks are 1-D boolean arrays over samples (or frames); runs are half-open
``[start, end)`` index pairs in increasing order; levels are in dB relative to full scale
(a sine of peak 1 is -3.01 dBFS RMS). Nothing here allocates more than a copy of its input.
"""

from __future__ import annotations

import numpy as np


def run_bounds(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (exclusive) of the runs of True in a 1-D boolean array, as int arrays."""
    d = np.diff(np.concatenate([[0], np.asarray(mask).astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` runs of True in a 1-D boolean array, as a list of Python int pairs."""
    starts, ends = run_bounds(mask)
    return list(zip(starts.tolist(), ends.tolist()))


def rms(v: np.ndarray) -> float:
    """Root mean square of an array (0.0 for an empty one), computed in float64."""
    v = np.asarray(v, dtype=np.float64)
    return float(np.sqrt(np.mean(v * v))) if v.size else 0.0


def db(ratio: float, *, floor: float = 1e-12) -> float:
    """An amplitude ratio in dB (``20 log10``), with ``floor`` keeping silence finite."""
    return float(20.0 * np.log10(max(float(ratio), floor)))


#: The RMS (full scale 1) that the de-noisers level their input to (in training and at run time).
TARGET_RMS = 0.1
#: Below this RMS an input is treated as silence and returned unchanged.
SILENCE_RMS = 1e-6


def level_gain(audio) -> float:
    """Gain that brings ``audio`` (a numpy array or torch tensor, any shape) to :data:`TARGET_RMS`.

    1.0 for silence. Torch is not imported here: a tensor is recognised by its ``detach``.
    """
    if hasattr(audio, "detach"):  # a torch.Tensor
        rms = float(audio.detach().double().pow(2).mean().sqrt())
    else:
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 1.0 if rms < SILENCE_RMS else TARGET_RMS / rms
