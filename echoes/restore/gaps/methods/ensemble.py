"""``lsar-ensemble``: four ``lsar`` fills of one gap, weighted by how well each fills probe
gaps of the same length beside it (the short-gap method of ``auto``).

Candidates (:data:`CANDIDATES`): :func:`~.lsar.fill_lsar` with its own settings, with a 60-ms
model on 4 gaps of context, with a 25-ms model, and with an 80-ms model on 4 gaps of context. Probes: a gap of the same length placed in
the audio on each side of the real one, with :func:`probe_context` samples between them (the
context a fill of that length reads: twice the gap, at least 150 ms) and as much again
beyond, where every sample is known. Each candidate fills each probe (the probe marked
unknown, the real gap staying unknown); its error is the probe's residual energy over the
probe's energy, summed over the probes. The gap gets the mean of the candidates' fills with
weights ``1 / (error + 1e-6)``; with no room for a probe, the weights are equal. Averaging
fills whose errors differ lowers the error of the mean (measured on the real development
recordings: docs/GAPS.md); it also smooths the fill's fine structure a little (a higher gap LSD
than one ``lsar`` fill, still lower than Janssen's). The cost: (1 + probes) x 4 ``lsar`` fills.

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
#: Added to each probe error before it is inverted into a weight.
WEIGHT_EPS = 1e-6
#: The least context a probe keeps from the gap and from its other side (seconds).
PROBE_MIN_CONTEXT_S = 0.150


def probe_context(glen: int, sr: int) -> int:
    """Samples of context between a probe and the gap (and beyond the probe): twice the gap, at least 150 ms."""
    return max(2 * glen, int(PROBE_MIN_CONTEXT_S * sr))


def probe_errors(c: Ctx, s: int, e: int) -> dict[str, float] | None:
    """Each candidate's summed relative error on the probes beside ``[s, e)``; None without room for one."""
    glen = e - s
    gap_ctx = probe_context(glen, c.sr)
    errs = {k: 0.0 for k in CANDIDATES}
    probes = 0
    for ps in (s - gap_ctx - glen, e + gap_ctx):
        pe = ps + glen
        if ps - gap_ctx < 0 or pe + gap_ctx > c.x.size or c.unknown[ps - gap_ctx : pe + gap_ctx].any():
            continue
        unknown = c.unknown.copy()
        unknown[ps:pe] = True
        pc = Ctx(c.x, c.sr, unknown, c.feats)
        ref = c.x[ps:pe]
        energy = float(np.sum(ref * ref)) + 1e-20
        for k, fill in CANDIDATES.items():
            d = ref - fill(pc, ps, pe)
            errs[k] += float(np.sum(d * d)) / energy
        probes += 1
    return errs if probes else None


def fill_ensemble(c: Ctx, s: int, e: int) -> np.ndarray:
    """The weighted mean of the candidates' fills of ``[s, e)`` (see the module docstring)."""
    errs = probe_errors(c, s, e)
    w = {k: 1.0 / (v + WEIGHT_EPS) for k, v in errs.items()} if errs else {k: 1.0 for k in CANDIDATES}
    total = sum(w.values())
    return sum(w[k] / total * CANDIDATES[k](c, s, e) for k in CANDIDATES)
