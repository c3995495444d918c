"""``janssen``: Janssen, Veldhuis & Vries (1986), gap by gap.

An AR model of the gap's neighbourhood (autocorrelation method, the gap zeroed at first) and
the gap's samples that minimise that model's prediction error (least squares), alternated for
:data:`JANSSEN_ITERATIONS` iterations. Falls back to :func:`~.lpc.fill_lpc` when either side
has less usable context than the model order. Contract: :mod:`.base`.
"""

from __future__ import annotations

import numpy as np

from echoes.restore.gaps.ar import autocorrelation_ar, lsar_solve
from echoes.restore.gaps.methods.base import Ctx, usable_context
from echoes.restore.gaps.methods.lpc import fill_lpc


#: Janssen settings, tuned like LPC's (orders 3-96 ms, contexts 3-10 gaps, 3-10 iterations
#: were tried; this was best at 50 and 80 ms and near-best at 20 ms).
JANSSEN_ORDER_MS = 48.0
JANSSEN_CONTEXT_GAPS = 6.0
JANSSEN_MIN_CONTEXT_MS = 20.0
JANSSEN_MAX_CONTEXT_S = 1.5
JANSSEN_ITERATIONS = 5


def fill_janssen(c: Ctx, s: int, e: int) -> np.ndarray:
    """Janssen's alternation of AR fit and least-squares fill (see the module docstring)."""
    glen = e - s
    order = max(2, int(round(JANSSEN_ORDER_MS * c.sr / 1000)))
    want = max(int(JANSSEN_CONTEXT_GAPS * glen), int(JANSSEN_MIN_CONTEXT_MS * c.sr / 1000))
    want = min(max(want, 2 * order), int(JANSSEN_MAX_CONTEXT_S * c.sr))
    nl, nr = usable_context(c, s, e, want)
    if nl < order or nr < order:
        return fill_lpc(c, s, e)
    seg = c.x[s - nl : e + nr].copy()
    mu = np.concatenate([seg[:nl], seg[nl + glen :]]).mean()
    seg -= mu
    seg[nl : nl + glen] = 0.0
    order = min(order, (seg.size - 1) // 2)
    for _ in range(JANSSEN_ITERATIONS):
        a = autocorrelation_ar(seg, order)
        seg[nl : nl + glen] = lsar_solve(seg, nl, glen, [a])
    return seg[nl : nl + glen] + mu
