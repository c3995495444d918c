"""Gap detection: dropouts and sudden level drops inside sound, never musical rests.

A gap must be *inside sound*: clearly audible audio just before and after it, not fading, with
a sudden fall into it and rise out of it (a few milliseconds: no decay, damper or fade does
that). Three kinds, on float ``(samples,)`` or ``(channels, samples)`` audio at any rate:

``dropout``    a run of at least ``min_ms`` of (near-)zero samples inside sound, or a *cut*:
               sounding audio that stops dead at such a run.
``onset-cut``  (with ``onset_cuts=True``) digital silence after a rest that ends with the music
               resuming at full level at once: a dropout that cut a note's attack. Restoration
               does not fill it (where the note began is unknown).
``level-drop`` a dip of at least ``min_ms`` (at most 1 s) where the 1-ms level falls 30 dB or
               more (sensitivity 0.5) below the sound on both sides and comes back as fast.

Returns :class:`echoes.restore.gaps.spans.Gap` spans in samples. Channels are searched apart and
the spans merged: a gap in any channel is a gap of the recording. The rules' thresholds and
how they were measured: docs/GAPS.md ("Detection").
"""

from __future__ import annotations

import logging

import numpy as np

from echoes.errors import ParameterError
from echoes.restore.gaps.spans import Gap

log = logging.getLogger(__name__)

#: Near-zero samples: below this many dB under the recording's loud level.
ZERO_DB = -72.0
#: Longest level drop (seconds) still called a gap; longer dips are left alone.
MAX_LEVEL_DROP_S = 1.0


#: Every frame inside a level drop (but its edge frames) is at least this far (dB) under the
#: level on both sides of it; its edges fall and rise by the full depth.
DIP_MARGIN_DB = 10.0

#: The sound beside a gap may be at most this far (dB) below the sound 10-20 ms further out.
FADE_DB = 15.0
_FADE = 10 ** (-FADE_DB / 20)

#: A dropout may run on into a rest (faint sound after it) when the sound before it is at
#: least this far (dB) above the "audible" level: clearly sounding, not a tail's last units.
CUT_DB = 20.0
_CUT = 10 ** (CUT_DB / 20)

#: Sound beside a gap must reach at least this level (dBFS, RMS over 2 ms) whatever the
#: recording's loud level: one 16-bit step is -90.3 dBFS, and in a very quiet recording the
#: runs of exact zeros where 16-bit rounding meets a near-silent tail are not dropouts.
AUDIBLE_FLOOR_DBFS = -90.0

#: An onset cut (see the module docstring): the RMS of the first 0.1 ms after a silent run is at
#: least this share of the RMS of the first 10 ms. Natural onsets of the corpus: 0.04 at most.
ONSET_STEP = 0.12


def _rms(v: np.ndarray) -> float:
    return float(np.sqrt(np.mean(v * v))) if v.size else 0.0


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of a boolean array (the places where
    it changes, found on the boolean array itself: no integer copy, no ``diff`` of it)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1  # first index of each new run
    bounds = np.concatenate([[0], edges, [mask.size]])
    first = 0 if mask[0] else 1  # runs alternate: True runs are every other one
    return bounds[first:-1:2], bounds[first + 1 :: 2]


def _loud_level(x: np.ndarray, frame: int) -> float:
    """RMS of the loudest 10% of ``frame``-long frames (the recording's "loud" level)."""
    n = x.size // frame
    if n == 0:
        return float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    f = x[: n * frame].reshape(n, frame)
    rms = np.sqrt(np.einsum("ij,ij->i", f, f) / frame)
    k = max(1, n // 10)
    return float(np.mean(np.sort(np.partition(rms, n - k)[n - k :])))


def onset_step(x: np.ndarray, b: int, sr: int) -> float:
    """The step ratio of the sound starting at sample ``b``: RMS of its first 0.1 ms over RMS
    of its first 10 ms (0 where those 10 ms are silent). An onset cut has it at
    :data:`ONSET_STEP` or more."""
    ref = _rms(x[b : b + max(4, int(round(0.010 * sr)))])
    return _rms(x[b : b + max(2, int(round(0.0001 * sr)))]) / ref if ref > 0 else 0.0


def _detect_channel(x: np.ndarray, sr: int, sensitivity: float, min_len: int,
                    onset_cuts: bool = False) -> list[tuple[int, int, str]]:
    """Gaps of one float ``(samples,)`` channel as ``(start, end, kind)`` sample spans
    (kinds and rules: the module docstring); ``min_len`` is ``min_ms`` in samples."""
    n = x.size
    loud = _loud_level(x, max(1, int(0.010 * sr)))
    if loud <= 0:
        return []
    # audible sound beside a gap: -40 dB (sensitivity 0) to -60 dB (sensitivity 1) re loud,
    # and never under AUDIBLE_FLOOR_DBFS (a recording's faintest, quantised sound is not music)
    audible = max(loud * 10 ** (-(40.0 + 20.0 * sensitivity) / 20), 10 ** (AUDIBLE_FLOOR_DBFS / 20))
    eps = max(loud * 10 ** (ZERO_DB / 20), 1e-7)
    side = max(2, int(0.002 * sr))
    found: list[tuple[int, int, str]] = []

    # dropouts: near-zero runs inside sound
    starts, ends = _runs(np.abs(x) <= eps)
    keep = (ends - starts >= min_len) & (starts > 0) & (ends < n)
    near, far0, far1 = side, int(0.010 * sr), int(0.020 * sr)
    for a, b in zip(starts[keep], ends[keep]):
        pre = _rms(x[max(0, a - near) : a])
        post = _rms(x[b : b + near])
        # not the end of a fade or a damped note: the 2 ms beside the run are no more than
        # FADE_DB below the sound 10-20 ms further out
        pre_far = _rms(x[max(0, a - far1) : max(0, a - far0)])
        post_far = _rms(x[b + far0 : b + far1])
        if pre < audible or pre < pre_far * _FADE:
            # a rest or a note's end before the run: an onset cut when clearly sounding music
            # (not fading in) resumes at full level after it
            if onset_cuts and post >= audible * _CUT and post >= post_far * _FADE \
                    and onset_step(x, int(b), sr) >= ONSET_STEP:
                found.append((int(a), int(b), "onset-cut"))
            continue
        if post < audible:
            # a cut: sound that was clearly sounding (CUT_DB above "audible") and not fading
            # stops dead, and only faint sound (a rest's tail, the surface noise) comes back
            # after the run. No decay, damper or fade drops to exact zero from that level (a
            # 16-bit tail ends in a step of one unit, far under it); a dropout that runs on
            # into a rest does.
            if pre >= audible * _CUT:
                found.append((int(a), int(b), "dropout"))
            continue
        if post < post_far * _FADE:
            continue
        found.append((int(a), int(b), "dropout"))

    dropouts = list(found)
    # level drops: 1-ms RMS frames
    fl = max(1, int(0.001 * sr))
    nf = n // fl
    if nf < 16:
        return found
    env = np.sqrt(np.mean(x[: nf * fl].reshape(nf, fl) ** 2, axis=1))
    db = 20 * np.log10(np.maximum(env, 1e-12))
    depth = 30.0 - 10.0 * (sensitivity - 0.5)  # 35 dB at 0 .. 25 dB at 1
    audible_db = 20 * np.log10(audible)
    zero_db = 20 * np.log10(eps)
    # level before frame i: the loudest of frames i-6..i-2 (frame i-1 may straddle the edge);
    # level after frame i: the loudest of frames i+2..i+6
    win = np.lib.stride_tricks.sliding_window_view(db, 5).max(axis=1)
    pre_lvl = np.full(nf, -np.inf)
    pre_lvl[6:] = win[: nf - 6]
    post_lvl = np.full(nf, -np.inf)
    post_lvl[: nf - 6] = win[2:]
    down = db <= pre_lvl - depth  # `depth` under the level just before: a sudden fall
    up = db <= post_lvl - depth  # `depth` under the level just after: a sudden rise
    falls = np.flatnonzero(down & ~np.concatenate([[False], down[:-1]]))
    rise_ends = np.flatnonzero(up & ~np.concatenate([up[1:], [False]]))
    min_frames = max(1, min_len // fl - 1)  # the edge frames are partly inside the dip
    max_frames = int(MAX_LEVEL_DROP_S * 1000)
    for a in falls:
        pre = pre_lvl[a]
        if pre < audible_db or a < 20:
            continue
        # the dip ends with the first sudden rise after the fall (the music inside the dip
        # may get louder than `depth` under the level before it: only the edges are sudden)
        j = int(np.searchsorted(rise_ends, a))
        if j == rise_ends.size:
            continue
        r = int(rise_ends[j])
        b = r + 1
        if b - a < min_frames or b - a > max_frames or b + 20 > nf:
            continue
        # it stays down for the shortest gap's length (a note's release running into the next
        # note's attack dips for a frame or two only); later, the music inside may rise
        if db[a : a + min_frames].max() > pre - depth:
            continue
        # the dip's level: its frames but the first and last, which may hold part of a ramp
        inside = (db[a + 1 : b - 1] if b - a >= 3 else db[a:b]).max()
        if inside <= zero_db and pre < audible_db + 10.0:
            # near-zero throughout after faint sound: a rest cut to digital silence (a
            # renderer's or a noise gate's), unless the sound before it was clearly audible
            continue
        post = post_lvl[r]
        # inside sound on both sides, and the whole dip clearly under both
        if post < audible_db or inside > min(pre, post) - DIP_MARGIN_DB:
            continue
        # sudden: the two frames just outside the straddling ones already reach the outer level
        # (one 1-ms frame alone may catch a quiet part of a low note's cycle); into digital
        # silence the frame right before the fall must, or a damper's release cut to zero
        # between notes would count
        if max(db[a - 3], db[a - 2]) < pre - 12.0 or max(db[b + 1], db[b + 2]) < post - 12.0:
            continue
        if inside <= zero_db and (db[a - 2] < pre - 12.0 or db[b] < post - 12.0):
            continue
        # not the end of a fade or a damped note (nor the start of a fade-in)
        if pre < db[a - 20 : a - 10].max() - FADE_DB:
            continue
        if post < db[b + 10 : b + 20].max() - FADE_DB:
            continue
        s0, s1 = max(0, (a - 1) * fl), min(n, (b + 1) * fl)
        # a dip that holds a dropout is that dropout, whose sample-exact span is kept
        if any(d0 < s1 and s0 < d1 for d0, d1, _ in dropouts):
            continue
        found.append((int(s0), int(s1), "level-drop"))
    return found


def detect_gaps(
    audio: np.ndarray,
    sample_rate: int,
    *,
    sensitivity: float = 0.5,
    min_ms: float = 5.0,
    onset_cuts: bool = False,
) -> list[Gap]:
    """Find dropouts and sudden level drops inside sound.

    Parameters
    ----------
    audio : float ``(samples,)`` or ``(channels, samples)`` in [-1, 1].
    sample_rate : rate in Hz.
    sensitivity : 0 (only blatant gaps) to 1 (fainter surroundings and shallower dips count).
        At 0.5 the sound beside a gap must be above -50 dB re the recording's loud level and
        a level drop must be 30 dB deep.
    min_ms : shortest gap reported, in milliseconds.
    onset_cuts : also report ``onset-cut`` runs (digital silence that cuts off a note's attack;
        see the module docstring). For a verdict, not for filling: the span is the whole run.

    Returns
    -------
    Sorted, non-overlapping :class:`~echoes.restore.gaps.spans.Gap` spans (union over channels), each
    with ``kind`` ``"dropout"``, ``"level-drop"`` or ``"onset-cut"``.
    """
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")
    if not 0.0 <= float(sensitivity) <= 1.0:
        raise ParameterError(f"sensitivity must be between 0 and 1, got {sensitivity}")
    if not float(min_ms) > 0:
        raise ParameterError(f"min_ms must be positive, got {min_ms}")
    arr = np.asarray(audio)
    if arr.ndim not in (1, 2):
        raise ParameterError(f"expected audio of shape (samples,) or (channels, samples), got {arr.shape}")
    x2 = arr[None, :] if arr.ndim == 1 else arr
    min_len = max(1, int(round(min_ms * sample_rate / 1000)))
    spans: list[tuple[int, int, str]] = []
    for ch in x2:
        spans += _detect_channel(np.asarray(ch, dtype=np.float64), int(sample_rate), float(sensitivity), min_len,
                                 onset_cuts=bool(onset_cuts))
    spans.sort()
    merged: list[list] = []
    for a, b, k in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
            if k == "dropout":
                merged[-1][2] = "dropout"
        else:
            merged.append([a, b, k])
    gaps = [Gap(a, b, int(sample_rate), kind=k) for a, b, k in merged]
    log.info("found %d gap(s)", len(gaps))
    return gaps
