"""Damage applied last: dropouts (spans set to zero) and level drops (spans 30 to 50 dB down).

These effects only record spans on the state (``state.gaps``: ``[start, stop)`` in samples;
``state.drops``: ``(start, stop, gain_db, ramp)``); :func:`echoes.data.degrade.degrade`
applies them after every other effect, whatever their place in the chain, so the gap mask
marks exactly the samples set to zero in the output. :func:`drop_gain` is the per-sample gain
``(samples,)`` of the level drops, with cosine ramps.
"""

from __future__ import annotations

import numpy as np

from echoes.data.degrade.base import Effect
from echoes.data.degrade.dsp import loguniform, uniform
from echoes.data.degrade.labels import Label, register


def _draw_spans(rng: np.random.Generator, n: int, sr: int, count: int, length_ms: tuple[float, float],
                max_fraction: float) -> list[tuple[int, int]]:
    """Up to ``count`` random spans ``[start, stop)`` of log-uniform length, ``max_fraction`` of ``n`` in all."""
    spans: list[tuple[int, int]] = []
    budget = int(max_fraction * n)
    for _ in range(count):
        m = max(1, int(round(loguniform(rng, *length_ms) * 1e-3 * sr)))
        m = min(m, budget)
        if m <= 0:
            break
        s = int(rng.integers(0, max(1, n - m + 1)))
        spans.append((s, min(n, s + m)))
        budget -= m
    return spans


@register(Label.DAMAGE)
class Dropouts(Effect):
    """Dropouts: ``count`` spans of 5 to 500 ms set to zero (at most ``max_fraction`` in all).

    The spans are applied after every other effect, so the gap mask is exact.
    """

    name = "dropouts"

    def __init__(self, count: tuple[int, int] = (1, 4), length_ms: tuple[float, float] = (5.0, 500.0),
                 max_fraction: float = 0.25):
        self.count, self.length, self.max_fraction = count, length_ms, max_fraction

    def process(self, state, rng):
        k = int(rng.integers(self.count[0], self.count[1] + 1))
        spans = _draw_spans(rng, state.n, state.sample_rate, k, self.length, self.max_fraction)
        state.gaps.extend(spans)
        self._record(state, {"spans": [list(s) for s in spans],
                             "lengths_ms": [1000 * (b - a) / state.sample_rate for a, b in spans]})


@register(Label.DAMAGE)
class LevelDrops(Effect):
    """Spans of 20 to 500 ms where the level falls by 30 to 50 dB (1 ms cosine ramps).

    Applied last, like :class:`Dropouts`; the ``drop_mask`` marks each whole span.
    """

    name = "level_drops"

    def __init__(self, count: tuple[int, int] = (1, 2), length_ms: tuple[float, float] = (20.0, 500.0),
                 depth_db: tuple[float, float] = (30.0, 50.0), max_fraction: float = 0.25):
        self.count, self.length, self.depth, self.max_fraction = count, length_ms, depth_db, max_fraction

    def process(self, state, rng):
        k = int(rng.integers(self.count[0], self.count[1] + 1))
        spans = _draw_spans(rng, state.n, state.sample_rate, k, self.length, self.max_fraction)
        ramp = max(1, int(0.001 * state.sample_rate))
        depths = [uniform(rng, self.depth) for _ in spans]
        state.drops.extend((a, b, -d, ramp) for (a, b), d in zip(spans, depths))
        self._record(state, {"spans": [list(s) for s in spans], "depth_db": depths})


def drop_gain(n: int, drops: list[tuple[int, int, float, int]]) -> np.ndarray:
    """Per-sample gain ``(n,)`` of level drops ``(start, stop, gain_db, ramp)``, overlaps taking the lower."""
    g = np.ones(n)
    for a, b, gdb, ramp in drops:
        low = 10 ** (gdb / 20)
        env = np.full(b - a, low)
        r = min(ramp, (b - a) // 2)
        if r > 0:
            w = np.cos(np.linspace(0, np.pi / 2, r)) ** 2  # 1 -> 0
            env[:r] = low + (1 - low) * w
            env[-r:] = low + (1 - low) * w[::-1]
        g[a:b] = np.minimum(g[a:b], env)
    return g
