"""``similarity``: fill long gaps from a matching passage elsewhere in the recording.

For gaps of 150 ms and more every AR model decays to silence, but music repeats. The passage
whose surroundings best match the gap's surroundings is found by normalised cross-correlation
of the waveform (coarse at ~11 kHz on :func:`sim_features`, refined to the sample; windows
touching any unfilled gap excluded), checked on guard bands beside the gap that the search did
not see, gain-matched and transplanted; what the donor does not explain in the surroundings
is filled by :func:`~.lsar.joint_lsar` and added, so the edges join. Falls back to ``lsar``
when nothing matches well enough, or when ``lsar`` predicts the guard bands better.

Contract: :mod:`.base`, except that :func:`fill_similarity` returns ``(samples, method used)``
(``"similarity"`` or ``"lsar"``) and needs ``Ctx.feats`` from :func:`sim_features` (without
them it falls back). Measurements behind the checks: docs/GAPS.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from echoes.restore.gaps.ar import scipy_signal as _signal
from echoes.restore.gaps.methods.base import LONG_GAP_S, Ctx, gap_snr, usable_context
from echoes.restore.gaps.methods.lsar import fill_lsar, joint_lsar

log = logging.getLogger(__name__)

#: Context each side used to match (ms): max(SIM_MIN_CONTEXT_MS, gap) capped at
#: SIM_MAX_CONTEXT_MS, plus the guard band.
SIM_MIN_CONTEXT_MS = 100.0
SIM_MAX_CONTEXT_MS = 400.0
#: Guard band next to the gap, left out of the search and used to check the donor:
#: a quarter of the gap, within [SIM_GUARD_MIN_MS, SIM_GUARD_MAX_MS].
SIM_GUARD_MIN_MS = 20.0
SIM_GUARD_MAX_MS = 60.0
#: A donor must predict the guard bands to this SNR (dB) to be used: 8 dB for long gaps
#: (AR reaches 3-8 dB there), 20 dB for short ones (AR reaches 12-25 dB there).
SIM_MIN_GUARD_SNR_DB = 8.0
SIM_MIN_GUARD_SNR_SHORT_DB = 20.0
#: Cheap first filter: normalised cross-correlation of the outer surroundings.
SIM_THRESHOLD_SHORT = 0.7
SIM_THRESHOLD_LONG = 0.5
#: AR order (ms) for the residual between the gap's surroundings and the donor's.
SIM_RESIDUAL_ORDER_MS = 10.0
SIM_SEARCH_RATE = 11_025
SIM_CANDIDATES = 5


@dataclass(frozen=True)
class _SimFeatures:
    """The recording decimated for the coarse donor search (one per channel)."""

    q: int  # decimation factor of the coarse search
    xd: np.ndarray  # (samples // q,) decimated signal, float64


def sim_features(x: np.ndarray, sr: int) -> _SimFeatures:
    """Features of a float64 ``(samples,)`` channel for :func:`find_donor` (computed once per channel)."""
    q = max(1, int(sr // SIM_SEARCH_RATE))
    xd = _signal().resample_poly(x, 1, q) if q > 1 else x.copy()
    return _SimFeatures(q, np.asarray(xd, dtype=np.float64))


def find_donor(c: Ctx, s: int, e: int, cl: int, cr: int, guard: int = 0) -> tuple[int, float]:
    """Best donor window start ``t`` (full-rate samples) for the template ``x[s-cl : e+cr]``
    with the gap and ``guard`` samples on each side of it masked, and its masked normalised
    cross-correlation. ``(-1, -1.0)`` if none. The guard bands are left out of the search so
    that they can check the donor without selection bias."""
    f: _SimFeatures = c.feats
    q, xd = f.q, f.xd
    x = c.x
    tlen = cl + (e - s) + cr
    # coarse search on the decimated signal
    t0d = (s - cl) // q
    tld = -(-tlen // q)
    if xd.size < tld + 1:
        return -1, -1.0
    tmpl = xd[t0d : t0d + tld].copy()
    if tmpl.size < tld:
        return -1, -1.0
    w = np.ones(tld)
    g0d, g1d = (cl - guard) // q, -(-(cl + (e - s) + guard) // q)
    w[max(0, g0d - 1) : g1d + 1] = 0.0
    tmpl *= w
    et = np.dot(tmpl, tmpl)
    if et <= 1e-20:
        return -1, -1.0
    num = _signal().fftconvolve(xd, tmpl[::-1], mode="valid")
    den = _signal().fftconvolve(xd * xd, w[::-1], mode="valid")
    ncc = num / np.sqrt(np.maximum(den, 1e-20) * et)
    # windows (at full rate) must not touch unknown samples, the gap itself included
    cum = np.concatenate([[0], np.cumsum(c.unknown)])
    starts = np.arange(ncc.size) * q
    ends = np.minimum(starts + tlen + 2 * q, x.size)
    lo = np.maximum(starts - 2 * q, 0)
    bad = (cum[ends] - cum[lo]) > 0
    bad |= starts + tlen + 2 * q > x.size
    ncc[bad] = -np.inf
    if not np.isfinite(ncc).any():
        return -1, -1.0
    # a few separated candidates, refined at full rate
    order = np.argsort(ncc)[::-1]
    cands: list[int] = []
    for i in order:
        if not np.isfinite(ncc[i]) or len(cands) >= SIM_CANDIDATES:
            break
        if all(abs(int(i) - j) > 4 for j in cands):
            cands.append(int(i))
    full = x[s - cl : e + cr].copy()
    wf = np.ones(tlen)
    wf[cl - guard : cl + e - s + guard] = 0.0
    full *= wf
    ef = np.dot(full, full)
    best_t, best_v = -1, -1.0
    for i in cands:
        for t in range(max(0, i * q - 2 * q), min(x.size - tlen, i * q + 2 * q) + 1):
            d = x[t : t + tlen] * wf
            v = np.dot(d, full) / np.sqrt(max(np.dot(d, d) * ef, 1e-30))
            if v > best_v and not (cum[t + tlen] - cum[t]) > 0:
                best_t, best_v = t, float(v)
    return best_t, best_v


def _fallback(c: Ctx, s: int, e: int) -> tuple[np.ndarray, str]:
    """AR fill where no donor passes: ``lsar`` at every length (why not Janssen's method:
    docs/GAPS.md)."""
    return fill_lsar(c, s, e), "lsar"


def _lsar_guard_snr(c: Ctx, s: int, e: int, guard: int, truth: np.ndarray) -> float:
    """How well ``lsar`` predicts the ``guard`` samples each side of the gap ``[s, e)``: the
    gap SNR (dB) of its fill of the gap widened by the guard bands, against ``truth`` (the
    known guard samples, left band then right). The guard bands lie at the widened gap's
    edges, where AR does best, so a donor that beats this is clearly better than AR."""
    lo, hi = s - guard, e + guard
    saved = c.unknown[lo:hi].copy()
    c.unknown[lo:hi] = True
    try:
        fill = fill_lsar(c, lo, hi)
    finally:
        c.unknown[lo:hi] = saved
    return gap_snr(truth, np.concatenate([fill[:guard], fill[-guard:]]))


def fill_similarity(c: Ctx, s: int, e: int, *, threshold: float | None = None
                     ) -> tuple[np.ndarray, str]:
    """Donor passage + AR fill of what the donor does not explain.

    The donor is searched on the gap's outer surroundings (``guard`` samples next to the gap
    on each side are left out), then checked on those guard bands: it is used only if it
    predicts them (gain-matched by least squares on the outer surroundings) to at least
    ``SIM_MIN_GUARD_SNR_DB`` (long gaps) or ``SIM_MIN_GUARD_SNR_SHORT_DB`` (short ones), and
    at least as well as ``lsar`` predicts them when it fills the gap widened by the guard
    bands (:func:`_lsar_guard_snr`; why: docs/GAPS.md). The residual (surroundings minus
    donor) is inpainted by :func:`joint_lsar` and added back, so the edges join the real
    signal continuously.
    Returns the fill and the method used (``"similarity"``, or ``"lsar"``, the AR fallback,
    when no donor passes).
    """
    glen = e - s
    long_gap = glen >= LONG_GAP_S * c.sr
    thr = threshold if threshold is not None else (
        SIM_THRESHOLD_LONG if long_gap else SIM_THRESHOLD_SHORT)
    ms = c.sr / 1000
    guard = int(min(max(0.25 * glen, SIM_GUARD_MIN_MS * ms), SIM_GUARD_MAX_MS * ms))
    want = int(min(max(SIM_MIN_CONTEXT_MS * ms, glen), SIM_MAX_CONTEXT_MS * ms)) + guard
    cl, cr = usable_context(c, s, e, want)
    if c.feats is None or min(cl, cr) < guard + (want - guard) // 2:
        return _fallback(c, s, e)
    t, v = find_donor(c, s, e, cl, cr, guard)
    if t < 0 or v < thr:
        log.debug("gap %d-%d: best donor at %d, ncc %.3f: not used", s, e, t, v)
        return _fallback(c, s, e)
    seg = c.x[s - cl : e + cr]
    donor = c.x[t : t + seg.size]
    outer = np.ones(seg.size, dtype=bool)
    outer[cl - guard : cl + glen + guard] = False
    dd = np.dot(donor[outer], donor[outer])
    gain = np.dot(donor[outer], seg[outer]) / dd if dd > 0 else 0.0
    bands = np.zeros(seg.size, dtype=bool)
    bands[cl - guard : cl] = True
    bands[cl + glen : cl + glen + guard] = True
    guard_snr = gap_snr(seg[bands], gain * donor[bands])
    log.debug("gap %d-%d: donor at %d, ncc %.3f, guard SNR %.1f dB", s, e, t, v, guard_snr)
    if guard_snr < (SIM_MIN_GUARD_SNR_DB if long_gap else SIM_MIN_GUARD_SNR_SHORT_DB):
        return _fallback(c, s, e)
    ar_snr = _lsar_guard_snr(c, s, e, guard, seg[bands])
    if guard_snr < ar_snr:
        log.debug("gap %d-%d: donor loses to lsar on the guard bands (%.1f dB)", s, e, ar_snr)
        return _fallback(c, s, e)
    known = np.ones(seg.size, dtype=bool)
    known[cl : cl + glen] = False
    dd = np.dot(donor[known], donor[known])
    gain = np.dot(donor[known], seg[known]) / dd if dd > 0 else 0.0
    resid = seg - gain * donor
    resid[~known] = 0.0
    order = max(2, int(round(SIM_RESIDUAL_ORDER_MS * c.sr / 1000)))
    fill_r = joint_lsar(resid, cl, glen, order)
    return gain * donor[cl : cl + glen] + fill_r, "similarity"
