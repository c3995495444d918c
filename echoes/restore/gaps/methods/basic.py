"""The two trivial methods: ``zero`` (silence, the floor every method must beat) and
``linear`` (a straight line from the last known sample before the gap to the first after it;
0 where that side is the signal's end or another unfilled gap). Contract: :mod:`.base`.
"""

from __future__ import annotations

import numpy as np

from echoes.restore.gaps.methods.base import Ctx


def fill_zero(c: Ctx, s: int, e: int) -> np.ndarray:
    """Silence."""
    return np.zeros(e - s)


def fill_linear(c: Ctx, s: int, e: int) -> np.ndarray:
    """A straight line between the known samples beside the gap (0 where there is none)."""
    left = c.x[s - 1] if s > 0 and not c.unknown[s - 1] else 0.0
    right = c.x[e] if e < c.x.size and not c.unknown[e] else 0.0
    t = (np.arange(e - s) + 1.0) / (e - s + 1.0)
    return (1.0 - t) * left + t * right
