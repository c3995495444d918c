"""``lsar`` (formerly ``burg2``): two-sided least-squares AR interpolation, the short-gap method.

One high-order AR model (:func:`lsar_order_ms`: 50 ms of taps under 65 ms, 40 ms from there)
fitted by Burg's method jointly to both contexts (never to the unknown gap); the gap is the
least-squares minimiser of the model's prediction error across it (the LSAR step of
Janssen), its Toeplitz normal equations solved by Levinson recursion. Below
:data:`LSAR_PAIR_BELOW_MS` that fill is averaged with Etter's two-model one (left- and
right-context models). Then one refinement: models of left context + fill and fill + right
context give the answer (:func:`joint_lsar`). All of it runs on the stretch with its level
trend taken out (:func:`level_trend`, a straight line in dB) and put back after.

Contract: :mod:`.base`; with fewer than 8 usable context samples on a side it falls back to
:func:`~.lpc.fill_lpc`. Measurements behind the settings: docs/GAPS.md.
"""

from __future__ import annotations

import numpy as np

from echoes.restore.gaps.ar import burg, lsar_solve, submit
from echoes.restore.gaps.methods.base import Ctx, usable_context
from echoes.restore.gaps.methods.lpc import LPC_MAX_CONTEXT_S, fill_lpc

#: Model order (ms of taps) for gaps of :data:`LSAR_SHORT_BELOW_MS` and more (1764 taps at
#: 44.1 kHz); context :data:`LSAR_CONTEXT_GAPS` gaps a side, at least
#: :data:`LSAR_MIN_CONTEXT_MS`, at most :data:`~.lpc.LPC_MAX_CONTEXT_S`. Chosen on development
#: renders (corpus train/val split; docs/GAPS.md).
LSAR_ORDER_MS = 40.0
#: Below LSAR_SHORT_BELOW_MS the order is LSAR_SHORT_ORDER_MS (2205 taps at 44.1 kHz).
LSAR_SHORT_ORDER_MS = 50.0
LSAR_SHORT_BELOW_MS = 65.0
LSAR_CONTEXT_GAPS = 2.0
LSAR_MIN_CONTEXT_MS = 150.0
#: Below this gap length (ms) the first fill and the refinement are each the mean of a
#: one-model and a two-model (Etter's left/right) fill.
LSAR_PAIR_BELOW_MS = 160.0
#: Level trend (:func:`level_trend`): 10-ms frames, at most 60 dB/s and 30 dB of gain at the
#: segment's ends.
LSAR_TREND_FRAME_MS = 10.0
LSAR_TREND_MAX_DB_PER_S = 60.0
LSAR_TREND_MAX_SWING_DB = 30.0


def lsar_order_ms(glen: int, sample_rate: int) -> float:
    """lsar's model order (ms) for a gap of ``glen`` samples at ``sample_rate`` Hz."""
    return LSAR_SHORT_ORDER_MS if glen < LSAR_SHORT_BELOW_MS * sample_rate / 1000 else LSAR_ORDER_MS


def fill_lsar(c: Ctx, s: int, e: int, *, order_ms: float | None = None,
              context_gaps: float | None = None, refine: bool = True) -> np.ndarray:
    """Least-squares AR interpolation from high-order Burg models of both contexts (never of
    the unknown gap), then one refinement by models that see the first fill (see
    :func:`joint_lsar`; ``refine=False`` stops at the first fill, for comparisons); all of it
    on the segment with its level trend taken out (:func:`level_trend`), put back after."""
    glen = e - s
    order_ms = lsar_order_ms(glen, c.sr) if order_ms is None else order_ms
    context_gaps = LSAR_CONTEXT_GAPS if context_gaps is None else context_gaps
    order = max(2, int(round(order_ms * c.sr / 1000)))
    want = max(int(context_gaps * glen), int(LSAR_MIN_CONTEXT_MS * c.sr / 1000))
    want = min(want, int(LPC_MAX_CONTEXT_S * c.sr))
    nl, nr = usable_context(c, s, e, want)
    if min(nl, nr) < 8:
        return fill_lpc(c, s, e)
    pair = glen < LSAR_PAIR_BELOW_MS * c.sr / 1000 and min(nl, nr) // 3 >= order
    seg = c.x[s - nl : e + nr]
    g = level_trend(seg, nl, glen, c.sr)
    return joint_lsar(seg * g, nl, glen, order, pair=pair, refine=refine) / g[nl : nl + glen]


def level_trend(seg: np.ndarray, nl: int, glen: int, sr: int) -> np.ndarray:
    """Gain ``(samples,)`` (float64, 1 at the gap's centre) that takes the level trend out of
    ``seg``, whose samples ``[nl, nl+glen)`` are unknown: ``10 ** (-slope * t / 20)`` for ``t``
    in seconds from the gap's centre and ``slope`` (dB/s) the energy-weighted least-squares
    line through the dB energies of the whole 10-ms frames of both contexts (see
    LSAR_TREND_FRAME_MS). All ones when the contexts hold fewer than 3 frames or no sound."""
    fl = max(1, int(round(LSAR_TREND_FRAME_MS * sr / 1000)))
    nr = seg.size - nl - glen
    t = (np.arange(seg.size) - (nl + glen / 2)) / sr
    times, energies = [], []
    for lo, n in ((nl % fl, nl // fl), (nl + glen, nr // fl)):  # whole frames, flush with the gap
        if n:
            energies.append(np.mean(np.square(seg[lo : lo + n * fl]).reshape(n, fl), axis=1))
            times.append(t[lo + fl // 2 : lo + n * fl : fl])
    if not energies or sum(v.size for v in energies) < 3:
        return np.ones(seg.size)
    e = np.concatenate(energies)
    tf = np.concatenate(times)
    if not e.max() > 0:
        return np.ones(seg.size)
    w = e / e.max()
    db = 10 * np.log10(e + e.max() * 1e-12)
    sw, st, sd = w.sum(), w @ tf, w @ db
    var = w @ (tf * tf) - st * st / sw
    if var <= 0:
        return np.ones(seg.size)
    slope = (w @ (tf * db) - st * sd / sw) / var
    lim = min(LSAR_TREND_MAX_DB_PER_S, LSAR_TREND_MAX_SWING_DB / max(abs(t[0]), abs(t[-1]), 1e-9))
    slope = float(np.clip(slope, -lim, lim))
    return 10.0 ** (-slope * t / 20.0)


def joint_lsar(seg: np.ndarray, nl: int, glen: int, order: int, *, pair: bool = False,
               refine: bool = False) -> np.ndarray:
    """Fill ``seg[nl:nl+glen]`` (``(samples,)``): one Burg model of both sides (mean removed,
    order at most a third of the longer side and no more than the shorter side), then the
    least-squares interpolation (Toeplitz normal equations). With ``pair``, the mean of that
    fill and the one minimising the errors of a left-side and a right-side model together
    (each of order at most a third of its side).

    With ``refine``, the fill is put in place and replaced by the two-model fill of models
    fitted to left context + fill and fill + right context (with ``pair``: the mean of that and
    the one-model fill of a model of the whole segment). The models then see the gap's own
    stretch, as in Janssen's iteration, and each side's model can follow what changes across
    it (measured: docs/GAPS.md).
    """
    left, right = seg[:nl], seg[nl + glen :]
    mu = np.concatenate([left, right]).mean()
    x = seg - mu
    p = max(1, min(order, max(left.size, right.size) // 3, min(left.size, right.size)))
    if pair:  # the side models on the helper thread while this one fits both sides
        q = max(1, min(order, left.size // 3, right.size // 3))
        side_l = submit(burg, left - mu, q)
        side_r = submit(burg, right - mu, q)
    fill = lsar_solve(x, nl, glen, [burg([left - mu, right - mu], p)])
    if pair:
        fill = 0.5 * (fill + lsar_solve(x, nl, glen, [side_l.result(), side_r.result()]))
    if refine:
        x[nl : nl + glen] = fill  # x is not written again below: the helper may read it
        q = max(1, min(order, (nl + glen) // 3, (glen + right.size) // 3))
        after = submit(burg, x[nl:], q)
        if pair:
            one = submit(lambda: lsar_solve(x, nl, glen, [burg(x, max(1, min(order, x.size // 3)))]))
        fill = lsar_solve(x, nl, glen, [burg(x[: nl + glen], q), after.result()])
        if pair:
            fill = 0.5 * (fill + one.result())
    return fill + mu
