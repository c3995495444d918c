"""Overlap-add over long inputs: any length through a model that sees a few seconds at a time.

The signal is cut into *cores* of ``hop + crossfade`` samples that start every ``hop``
samples; each core is processed with ``margin`` samples of real context on both sides (clipped
at the ends of the signal), the context is thrown away, and consecutive cores are blended
with complementary ``sin^2`` / ``cos^2`` ramps over ``crossfade`` samples (the ramps sum to
exactly one). Memory stays flat whatever the length.

When the model's receptive field is at most ``margin`` samples each side, every output sample
that the blend uses was computed from the same input as in one pass over the whole signal, so
chunked and one-pass outputs agree to float rounding. With ``align`` (e.g. the STFT hop), every
chunk starts on a multiple of it, so frame-based models see the same frame grid as in one pass.
The first chunk starts at sample 0 and the last one ends at the last sample (no zero padding
is added at either end), so the ends match one pass too.

Chunks of the full length are processed in batches of ``batch_size`` (one call of ``fn`` per
batch, e.g. on a GPU); the shorter first and last chunks are processed on their own.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable

import numpy as np

from echoes.errors import ParameterError

log = logging.getLogger(__name__)

def second_thread_allowed() -> bool:
    """Whether a CPU step may run a second thread beside this one: there are two cores or more,
    and ``OMP_NUM_THREADS`` does not ask for one thread (as batch workers and tests set it)."""
    return (os.cpu_count() or 1) >= 2 and os.environ.get("OMP_NUM_THREADS") != "1"


#: ``fn(batch)``: float32 ``(batch, samples)`` -> float ``(batch, samples)`` (same shape).
ChunkFn = Callable[[np.ndarray], np.ndarray]


def plan(
    n: int, *, hop: int, crossfade: int, margin: int, align: int = 1
) -> list[tuple[int, int, int, int]]:
    """Chunk spans for a signal of ``n`` samples.

    Returns a list of ``(in_start, in_stop, core_start, core_stop)`` in samples: the input span
    a chunk reads and the core it contributes to the output (with crossfades at its ends).
    A single ``(0, n, 0, n)`` when one pass covers the signal.
    """
    for name, v in (("hop", hop), ("crossfade", crossfade), ("margin", margin), ("align", align)):
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise ParameterError(f"{name} must be a non-negative integer of samples, got {v!r}")
    if hop <= 0 or align <= 0:
        raise ParameterError("hop and align must be positive")
    if crossfade > hop:
        raise ParameterError(f"crossfade ({crossfade}) must not exceed hop ({hop})")
    if hop % align or margin % align:
        raise ParameterError(f"hop ({hop}) and margin ({margin}) must be multiples of align ({align})")
    length = hop + crossfade + 2 * margin
    if n <= length:
        return [(0, n, 0, n)]
    count = max(1, math.ceil((n - crossfade) / hop))
    spans = []
    for k in range(count):
        c0 = k * hop
        c1 = n if k == count - 1 else min(n, c0 + hop + crossfade)
        spans.append((max(0, c0 - margin), min(n, c1 + margin), c0, c1))
    return spans


def _ramps(crossfade: int) -> tuple[np.ndarray, np.ndarray]:
    t = (np.arange(crossfade, dtype=np.float64) + 0.5) / max(crossfade, 1)
    fade_in = np.sin(0.5 * np.pi * t) ** 2
    return fade_in, 1.0 - fade_in


def overlap_add(
    audio: np.ndarray,
    fn: ChunkFn,
    *,
    hop: int,
    crossfade: int,
    margin: int,
    align: int = 1,
    batch_size: int = 1,
) -> np.ndarray:
    """Apply ``fn`` to ``audio`` chunk by chunk and blend the chunks back together.

    Parameters
    ----------
    audio : float array ``(samples,)`` or ``(rows, samples)`` (rows = channels, processed
        independently and batched together).
    fn : maps a float32 ``(batch, samples)`` array to an array of the same shape.
    hop : samples between chunk starts (each chunk contributes ``hop`` new samples).
    crossfade : samples over which consecutive chunks are blended (``<= hop``).
    margin : context samples each side of a core that ``fn`` sees and whose output is dropped;
        set it to at least the model's receptive field for results equal to one pass.
    align : chunk starts are multiples of this (e.g. the STFT hop, 512).
    batch_size : full-length chunks per call of ``fn``.

    Returns
    -------
    float32 array with the shape of ``audio``.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ParameterError(f"audio must be (samples,) or (rows, samples) and non-empty, got {x.shape}")
    if batch_size < 1:
        raise ParameterError(f"batch_size must be >= 1, got {batch_size}")
    rows = x.reshape(-1, x.shape[-1])
    n = rows.shape[-1]
    spans = plan(n, hop=hop, crossfade=crossfade, margin=margin, align=align)
    if len(spans) == 1:
        out = np.asarray(fn(rows), dtype=np.float32)
        _check(out, rows.shape)
        return out.reshape(x.shape)

    fade_in, fade_out = _ramps(crossfade)
    acc = np.zeros(rows.shape, dtype=np.float64)
    wsum = np.zeros(n, dtype=np.float64)
    last = len(spans) - 1

    def weight(k: int, c0: int, c1: int) -> np.ndarray:
        w = np.ones(c1 - c0, dtype=np.float64)
        if k > 0 and crossfade:
            w[:crossfade] = fade_in[: c1 - c0]
        if k < last and crossfade:
            w[c1 - c0 - crossfade:] *= fade_out
        return w

    # group (chunk, row) jobs by input length, so equal-length chunks share a batch
    jobs: dict[int, list[tuple[int, int]]] = {}
    for k, (i0, i1, _, _) in enumerate(spans):
        for r in range(rows.shape[0]):
            jobs.setdefault(i1 - i0, []).append((k, r))
    for items in jobs.values():
        for b in range(0, len(items), batch_size):
            group = items[b:b + batch_size]
            batch = np.stack([rows[r, spans[k][0]:spans[k][1]] for k, r in group])
            y = np.asarray(fn(batch), dtype=np.float32)
            _check(y, batch.shape)
            for (k, r), yk in zip(group, y):
                i0, _, c0, c1 = spans[k]
                w = weight(k, c0, c1)
                acc[r, c0:c1] += w * yk[c0 - i0:c1 - i0]
                if r == 0:
                    wsum[c0:c1] += w
    out = acc / wsum
    return out.astype(np.float32).reshape(x.shape)


def _check(y: np.ndarray, shape: tuple[int, ...]) -> None:
    if y.shape != tuple(shape):
        raise ParameterError(f"chunk function returned shape {y.shape}, expected {tuple(shape)}")
