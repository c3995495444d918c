"""Fill gaps: the registry of methods, the ``auto`` choice, and :func:`fill_gaps`.

Contract: :func:`fill_gaps` takes float audio ``(samples,)`` or ``(channels, samples)`` at
``sample_rate`` Hz and :class:`~echoes.restore.gaps.spans.Gap` spans (samples, ``end``
exclusive), and returns a copy of the same shape and dtype in which only samples inside gaps
differ, plus the gaps (sorted) with ``method`` set to the method actually used. Every channel
is filled independently over the same spans, gaps left to right, each using the gaps already
filled as context but never one still unfilled. Output is clipped to [-1, 1] where the input
channel was within it. Same input, same output, bit for bit, on one thread or two.

:data:`REGISTRY` is the one list of methods (name -> :class:`Method`); :data:`METHODS` follows
from it; :data:`ALIASES` maps old names (``burg2``) to current ones. What each method does and
how it was measured: docs/GAPS.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from echoes.errors import ParameterError
from echoes.restore.gaps.ar import kernels
from echoes.restore.gaps.methods.base import LONG_GAP_S, Ctx
from echoes.restore.gaps.methods.basic import fill_linear, fill_zero
from echoes.restore.gaps.methods.ensemble import fill_ensemble
from echoes.restore.gaps.methods.janssen import fill_janssen
from echoes.restore.gaps.methods.lpc import fill_lpc
from echoes.restore.gaps.methods.lsar import fill_lsar
from echoes.restore.gaps.methods.similarity import fill_similarity, sim_features
from echoes.restore.gaps.methods.transplant import fill_transplant, transplant_features
from echoes.restore.gaps.spans import Gap, check_rate, normalise_gaps

__all__ = ["ALIASES", "LONG_GAP_S", "METHODS", "REGISTRY", "Method", "canonical_method", "choose_method",
           "fill_gaps", "warm_up"]


@dataclass(frozen=True)
class Method:
    """A gap-filling method: ``fill(ctx, start, end) -> (samples, method used)`` on one channel
    (or ``(samples, method used, info)``, ``info`` a dict that may hold ``"donor": (start, end)``
    and ``"noise_above_hz"``; ``None`` for ``auto``, which picks a method per gap), a one-line
    description, and ``prepare(x, sample_rate)``, per-channel features computed once before the
    first gap that needs them (handed over as ``Ctx.feats``), or ``None``."""

    name: str
    fill: Callable[[Ctx, int, int], tuple[np.ndarray, str]] | None
    description: str
    prepare: Callable[[np.ndarray, int], object] | None = None


def _named(fn: Callable[[Ctx, int, int], np.ndarray], name: str) -> Callable[[Ctx, int, int], tuple[np.ndarray, str]]:
    """``fn`` returning ``(samples, name)``: the shape :class:`Method` expects."""
    return lambda c, s, e: (fn(c, s, e), name)


#: name -> method, in the order reports list them.
REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("zero", _named(fill_zero, "zero"), "Silence: the floor every method must beat."),
    Method("linear", _named(fill_linear, "linear"), "A straight line between the samples beside the gap."),
    Method("lpc", _named(fill_lpc, "lpc"),
           "The paper's method: Burg AR prediction from both sides, blended with cos² weights."),
    Method("janssen", _named(fill_janssen, "janssen"),
           "Janssen et al. (1986): AR fit of the neighbourhood and least-squares fill, alternated."),
    Method("lsar", _named(fill_lsar, "lsar"),
           "Two-sided least-squares AR interpolation from high-order Burg models (short gaps)."),
    Method("lsar-ensemble", _named(fill_ensemble, "lsar-ensemble"),
           "Short gaps: the mean of four lsar fills (different model orders and contexts)."),
    Method("similarity", fill_similarity,
           "Long gaps: transplant the best-matching passage of the recording, else lsar.",
           prepare=sim_features),
    Method("transplant", fill_transplant,
           "Long gaps: the passage whose surroundings sound most like the gap's, level- and "
           "spectrum-matched, joined by AR bridges; its noise floor above 4 kHz is shaped to the gap's.",
           prepare=transplant_features),
    Method("auto", None, "lsar-ensemble below 150 ms, transplant from 150 ms."),
)}
#: Every method name :func:`fill_gaps` accepts (besides :data:`ALIASES`).
METHODS = tuple(REGISTRY)
#: Old names still accepted: ``burg2`` is ``lsar``.
ALIASES = {"burg2": "lsar"}


def canonical_method(name: str) -> str:
    """The registry's name for ``name`` (an alias resolved); ``ParameterError`` if unknown."""
    name = ALIASES.get(name, name)
    if name not in REGISTRY:
        raise ParameterError(f"unknown inpainting method '{name}'; choose one of {', '.join(METHODS)}")
    return name


def choose_method(gap: Gap) -> str:
    """The method ``auto`` uses for a gap: ``lsar-ensemble`` below 150 ms, else ``transplant``.

    Below 150 ms the mean of four ``lsar`` fills (:mod:`.methods.ensemble`) beats one ``lsar``
    fill on the real development recordings by 0.2 to 0.7 dB of gap SNR (10 to 80 ms;
    docs/GAPS.md), at a slightly higher gap LSD at 50 ms.

    From 150 ms every AR model fades towards silence; a passage of the recording whose
    surroundings sound like the gap's (level and spectrum matched, AR bridges at the seams, the
    noise floor above 4 kHz shaped to the one expected in the gap) keeps the music going: on the
    real development recordings its gap LSD is 0.55 to 0.73 times that of copying the audio
    before the gap (150 ms to 1 s), where ``lsar``'s is 1.0 to 1.8 times
    (docs/GAPS.md). ``similarity`` (exact repeats only) found no donor on those recordings.
    """
    return "transplant" if gap.duration_s >= LONG_GAP_S else "lsar-ensemble"



def fill_gaps(
    audio: np.ndarray,
    sample_rate: int,
    gaps: Sequence[Gap],
    *,
    method: str = "auto",
) -> tuple[np.ndarray, list[Gap]]:
    """Fill gaps in a copy of ``audio``.

    Parameters
    ----------
    audio : float ``(samples,)`` or ``(channels, samples)``; every channel is filled
        independently over the same gap spans.
    sample_rate : rate in Hz.
    gaps : :class:`Gap` spans (samples); overlaps or spans outside the audio raise
        :class:`ParameterError`. Gaps are filled left to right, each using the already filled
        ones as context but never reading a gap that is still unfilled.
    method : a name of :data:`METHODS` (or of :data:`ALIASES`); see :data:`REGISTRY`.

    Returns
    -------
    filled : a copy of ``audio`` with the same shape and dtype; only samples inside gaps differ.
    gaps : the gaps, sorted, with ``method`` set to the method actually used (``similarity``
        and ``transplant`` report ``lsar`` where they fell back) and, for a transplanted gap,
        ``donor_start``/``donor_end``: where its fill came from (samples, first channel's donor).
    """
    check_rate(sample_rate)
    method = canonical_method(method)
    arr = np.asarray(audio)
    if arr.ndim not in (1, 2):
        raise ParameterError(f"expected audio of shape (samples,) or (channels, samples), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError("the audio contains NaN or infinite samples")
    x2 = arr[None, :] if arr.ndim == 1 else arr
    n = x2.shape[-1]
    gaps = normalise_gaps(gaps, n_samples=n)
    out = np.array(x2, dtype=arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32, copy=True)
    done: list[Gap] = []
    if not gaps:
        return (out[0] if arr.ndim == 1 else out), done
    unknown_all = np.zeros(n, dtype=bool)
    for g in gaps:
        unknown_all[g.start : g.end] = True
    used = [None] * len(gaps)
    donors: list = [None] * len(gaps)
    noise_hz: list = [None] * len(gaps)
    for ch in range(x2.shape[0]):
        x = x2[ch].astype(np.float64)
        unknown = unknown_all.copy()
        feats: dict = {}  # method name -> its prepared features for this channel
        for i, g in enumerate(gaps):
            spec = REGISTRY[choose_method(g) if method == "auto" else method]
            if spec.prepare is not None and spec.name not in feats:
                feats[spec.name] = spec.prepare(x, int(sample_rate))
            c = Ctx(x, int(sample_rate), unknown, feats.get(spec.name))
            res = spec.fill(c, g.start, g.end)
            vals, m_used = res[0], res[1]
            if len(res) > 2 and res[2].get("donor") is not None and donors[i] is None:
                donors[i] = res[2]["donor"]
                noise_hz[i] = res[2].get("noise_above_hz")
            x[g.start : g.end] = vals
            unknown[g.start : g.end] = False
            if used[i] is None or used[i] == m_used:
                used[i] = m_used
            else:
                used[i] = f"{used[i]}+{m_used}"
        out[ch, :] = np.clip(x, -1.0, 1.0) if np.abs(x2[ch]).max() <= 1.0 else x
    # only gap samples may change (clipping above only touches filled samples: the rest was in range)
    done = [replace(g, method=used[i], donor_start=None if donors[i] is None else donors[i][0],
                    donor_end=None if donors[i] is None else donors[i][1], noise_above_hz=noise_hz[i])
            for i, g in enumerate(gaps)]
    return (out[0] if arr.ndim == 1 else out), done


def warm_up() -> None:
    """Compile the numba kernels by filling one 10 ms gap of a synthetic tone (all of
    ``lsar``'s paths). The first compile takes several seconds (about 8 on the 2-core machine);
    numba caches the result on disk beside the module where it may write, and later processes
    load it in well under a second. A no-op without numba."""
    if not kernels().HAVE_NUMBA:
        return
    sr = 8000
    t = np.arange(sr) / sr
    x = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    fill_gaps(x, sr, [Gap(sr // 2, sr // 2 + sr // 100, sr)], method="lsar")
