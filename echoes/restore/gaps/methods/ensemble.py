"""``lsar-ensemble``: the mean of four ``lsar`` fills of one gap (the short-gap method of ``auto``).

Candidates (:data:`CANDIDATES`): :func:`~.lsar.fill_lsar` with its own settings, with a 60-ms
model on 4 gaps of context, with a 25-ms model, and with an 80-ms model on 4 gaps of context.
The gap gets the plain mean of their fills. Averaging fills whose errors differ lowers the
error of the mean (its squared error is at most the mean of theirs); it also smooths the fill's
fine structure a little (a slightly higher gap LSD than one ``lsar`` fill at 50 ms, still lower
than Janssen's). Weighting the fills by how well each filled probe gaps of the same length
beside the real one gained nothing over equal weights on the real development recordings, at
three times the cost (docs/GAPS.md). The cost: four ``lsar`` fills.

Contract: :mod:`.base`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from echoes.restore.gaps.methods.base import Ctx
from echoes.restore.gaps.methods.lsar import fill_lsar

#: name -> fill: the candidates whose fills are averaged.
CANDIDATES: dict[str, Callable[[Ctx, int, int], np.ndarray]] = {
    "lsar": lambda c, s, e: fill_lsar(c, s, e),
    "lsar-60ms-4gaps": lambda c, s, e: fill_lsar(c, s, e, order_ms=60.0, context_gaps=4.0),
    "lsar-25ms": lambda c, s, e: fill_lsar(c, s, e, order_ms=25.0),
    "lsar-80ms-4gaps": lambda c, s, e: fill_lsar(c, s, e, order_ms=80.0, context_gaps=4.0),
}


def fill_ensemble(c: Ctx, s: int, e: int) -> np.ndarray:
    """The mean of the candidates' fills of ``[s, e)`` (float64 ``(e - s,)``)."""
    return sum(fill(c, s, e) for fill in CANDIDATES.values()) / len(CANDIDATES)
