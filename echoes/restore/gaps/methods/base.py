"""What every gap-filling method is handed, and what the methods share.

Contract: a method fills one gap ``[start, end)`` (samples) of one channel. It gets a
:class:`Ctx`: ``x``, the whole channel as float64 ``(samples,)`` (earlier gaps already filled,
unfilled ones holding whatever they held), ``sr`` in Hz, and ``unknown``, a bool
``(samples,)`` mask that is True inside every gap not yet filled (the current one included),
which no method may read as context (:func:`usable_context` stops at it). It returns the gap's
new samples, float64 ``(end - start,)``, and never writes ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Gaps at least this long (seconds) are long: ``auto`` gives them to ``similarity``, which
#: also judges its donors more leniently there.
LONG_GAP_S = 0.150


@dataclass(frozen=True)
class Ctx:
    """One channel as a method sees it (see the module docstring)."""

    x: np.ndarray  # (samples,) float64, unknown samples are whatever they were
    sr: int
    unknown: np.ndarray  # bool (samples,), True inside any not-yet-filled gap
    feats: object = None  # cached features for the similarity search


def usable_context(c: Ctx, start: int, end: int, want: int) -> tuple[int, int]:
    """Usable context lengths (samples) left and right of ``[start, end)``, at most ``want``.

    Stops at the signal's ends and at other gaps not filled yet.
    """
    lo = max(0, start - want)
    left_unknown = np.flatnonzero(c.unknown[lo:start])
    if left_unknown.size:
        lo = lo + left_unknown[-1] + 1
    hi = min(c.x.size, end + want)
    right_unknown = np.flatnonzero(c.unknown[end:hi])
    if right_unknown.size:
        hi = end + right_unknown[0]
    return start - lo, hi - end


def gap_snr(clean: np.ndarray, filled: np.ndarray) -> float:
    """Gap SNR in dB: ``10 log10(sum clean² / sum (clean - filled)²)`` over the given samples."""
    clean = np.asarray(clean, dtype=np.float64)
    err = np.sum((clean - np.asarray(filled, dtype=np.float64)) ** 2)
    sig = np.sum(clean**2)
    if err <= 0:
        return float("inf")
    return float(10 * np.log10(max(sig, 1e-30) / err))
