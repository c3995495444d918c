"""Effective bandwidth: where a recording's spectrum stops, and whether it stops too soon.

An acoustic 78 or cylinder holds little above 3 to 8 kHz; a transfer that was low-passed (and
often de-noised) on the way keeps a cliff there: the spectrum falls tens of dB within a few
hundred hertz and stays down. Real piano decays smoothly (about 10 to 20 dB per kilohertz at
most in the 2 to 11 kHz range), and the low-pass of a lossy codec or of the file's own sample
rate lies at or above the top of what is analysed here.

Contract: :func:`band_cliff_hz` takes a mean power spectrum (linear power per bin, ``(bins,)``)
with its bin frequencies in Hz and returns the lowest cutoff in
[:data:`MIN_CUTOFF_HZ`, min(:data:`MAX_CUTOFF_HZ`, ``top_hz`` - :data:`ABOVE_HZ`)] where the mean level of the
:data:`BELOW_HZ` below it exceeds every band of the :data:`ABOVE_HZ` above it (and every band
above that up to ``top_hz``) by :data:`CLIFF_DB` or more; None when there is no such cliff.
:func:`analysis_top_hz` says how high to look for an input sampled at ``rate`` Hz: never above
:data:`TOP_FRACTION` of its Nyquist frequency (a file's own anti-alias filter is no cliff) nor
above 11,025 Hz (the classifier's analysis rate is 22,050 Hz).
"""

from __future__ import annotations

import numpy as np

#: Bands are this wide (Hz) when levels are compared.
BAND_HZ = 250.0
#: Cutoffs below this (Hz) are not searched: every recording has its body lower down.
MIN_CUTOFF_HZ = 2_500.0
#: Cutoffs above this (Hz) are not searched: a lossy codec at 64 kbit/s low-passes at 9 to 10 kHz,
#: and such a file is clean.
MAX_CUTOFF_HZ = 8_000.0
#: The reference level is the mean over this much (Hz) below a candidate cutoff.
BELOW_HZ = 1_000.0
#: Every band this far (Hz) above the cutoff (and higher, up to the top) must be that much lower.
ABOVE_HZ = 1_000.0
#: How far (dB) the spectrum must fall at the cutoff and stay down.
CLIFF_DB = 30.0
#: The search stops at this fraction of the input's own Nyquist frequency.
TOP_FRACTION = 0.85
#: The highest frequency analysed (Hz): the Nyquist frequency of the 22,050 Hz analysis rate.
MAX_TOP_HZ = 11_025.0


def analysis_top_hz(rate: int) -> float:
    """The highest frequency (Hz) worth searching for a cliff in audio sampled at ``rate`` Hz."""
    return min(MAX_TOP_HZ, TOP_FRACTION * rate / 2.0)


def band_levels_db(power: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean power (dB) in :data:`BAND_HZ` bands from ``lo`` to ``hi`` Hz: (band starts in Hz, levels)."""
    edges = np.arange(lo, hi - BAND_HZ / 2, BAND_HZ)
    levels = np.empty(edges.size)
    for i, e in enumerate(edges):
        sel = (freqs >= e) & (freqs < e + BAND_HZ)
        levels[i] = 10.0 * np.log10(float(np.mean(power[sel])) + 1e-30) if sel.any() else -300.0
    return edges, levels


def band_cliff_hz(power: np.ndarray, freqs: np.ndarray, top_hz: float) -> float | None:
    """The lowest spectral cliff (Hz) below ``top_hz``, or None (see the module docstring)."""
    lo = MIN_CUTOFF_HZ - BELOW_HZ
    if top_hz - ABOVE_HZ <= MIN_CUTOFF_HZ:
        return None
    starts, levels = band_levels_db(np.asarray(power, dtype=np.float64), np.asarray(freqs), lo, top_hz)
    nb, na = int(round(BELOW_HZ / BAND_HZ)), int(round(ABOVE_HZ / BAND_HZ))
    for k in range(nb, starts.size - na + 1):
        cutoff = starts[k]
        if cutoff < MIN_CUTOFF_HZ:
            continue
        if cutoff > MAX_CUTOFF_HZ:
            break
        below = 10.0 * np.log10(np.mean(10.0 ** (levels[k - nb : k] / 10.0)))
        if below - levels[k:].max() >= CLIFF_DB:
            return float(cutoff)
    return None
