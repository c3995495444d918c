"""Gap inpainting: fill dropouts and user-marked gaps in piano recordings.

Signals are float32 in [-1, 1], shape ``(samples,)`` or ``(channels, samples)``; gap
positions are integer sample indices (``end`` exclusive) with seconds derived from the rate
in Hz. Detection lives in :mod:`echoes.restore.gaps.detect`; this module fills.

Methods (``fill_gaps(method=...)``):

``zero``
    Silence. The floor every method must beat.
``linear``
    A straight line from the last sample before the gap to the first after it.
``lpc``
    The paper's method, done right: Burg AR models fitted (mean removed, real arithmetic) to
    a context several times the gap on each side, forward prediction from the left, backward
    prediction from the right, blended with cos² weights.
``janssen``
    Janssen, Veldhuis & Vries (1986), gap-wise: an AR model of the gap's neighbourhood
    (autocorrelation method) and the gap's samples that minimise the model's prediction
    error (least squares), alternated for a few iterations.
``burg2``
    The better short-gap method: one high-order AR model (50 ms of taps for gaps under 65 ms,
    40 ms from there) fitted by Burg's method jointly to both contexts (never to the unknown
    gap), the gap solved as the least-squares minimiser of the model's prediction error
    across it (the LSAR step of Janssen); the normal equations are Toeplitz and solved in
    O(gap²) by Levinson recursion.
    Below 160 ms that fill is averaged with Etter's (1996) two-model one (a left-context and a
    right-context Burg model whose errors are minimised together): the two err differently,
    and their mean beats both. Then one refinement: the fill is put in place, a model of left
    context + fill and one of fill + right context are fitted, and their two-model fill is the
    answer (below 160 ms, averaged with the fill of one model of the whole stretch). All of
    this runs on the stretch with its level trend taken out (a straight line in dB over time,
    fitted to both contexts; piano notes decay, AR models are stationary) and put back after.
``similarity``
    For long gaps (150 ms and more), where every AR model decays to silence: the passage
    elsewhere in the recording whose surroundings best match the gap's surroundings (music
    repeats) is located by normalised cross-correlation of the waveform (coarse at ~11 kHz,
    refined to the sample), checked on guard bands beside the gap that the search did not see,
    gain-matched and transplanted; what the donor does not explain in the surroundings is
    filled by AR and added, so the edges join. Falls back to ``burg2`` when nothing in the
    recording matches well enough, or when ``burg2`` predicts those guard bands better than
    the donor does.
``auto``
    ``burg2`` below 150 ms; ``similarity`` (with its fallback) from 150 ms (see
    :func:`choose_method`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

import numpy as np
import scipy.linalg
import scipy.signal

from echoes.core.chunking import second_thread_allowed
from echoes.errors import ParameterError, TooShortError

log = logging.getLogger(__name__)

METHODS = ("zero", "linear", "lpc", "janssen", "burg2", "similarity", "auto")
#: Gaps at least this long (seconds) go to the long-gap method under ``auto``.
LONG_GAP_S = 0.150


# ---------------------------------------------------------------------------------------------
# Gaps
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """A span of missing or damaged audio.

    Attributes
    ----------
    start, end : sample indices, ``end`` exclusive (``start < end``).
    sample_rate : rate in Hz the indices refer to.
    kind : ``"dropout"`` (a run of near-zero samples), ``"level-drop"`` (a sudden dip of the
        level inside sound) or ``"user"`` (given by the user or the caller).
    method : the method that filled it (set by :func:`fill_gaps`), else ``None``.
    """

    start: int
    end: int
    sample_rate: int
    kind: str = "user"
    method: str | None = None

    @property
    def length(self) -> int:
        """Length in samples."""
        return self.end - self.start

    @property
    def start_s(self) -> float:
        """Start in seconds."""
        return self.start / self.sample_rate

    @property
    def end_s(self) -> float:
        """End in seconds (exclusive)."""
        return self.end / self.sample_rate

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.length / self.sample_rate

    def to_dict(self) -> dict:
        """Plain dict for JSON reports (samples and seconds)."""
        return {
            "start": self.start,
            "end": self.end,
            "start_s": round(self.start_s, 6),
            "end_s": round(self.end_s, 6),
            "kind": self.kind,
            "method": self.method,
        }


_SPAN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*-\s*(\d+(?:\.\d*)?|\.\d+)\s*$")


def parse_gaps(text: str, sample_rate: int, *, n_samples: int | None = None) -> list[Gap]:
    """Parse the CLI's ``--gaps`` text, e.g. ``"1.20-1.25,3.00-3.10"`` (seconds).

    Parameters
    ----------
    text : comma-separated ``start-end`` spans in seconds, start < end.
    sample_rate : rate in Hz used to convert to samples.
    n_samples : length of the signal in samples; when given, spans past its end are refused.

    Returns
    -------
    Sorted, non-overlapping :class:`Gap` objects of kind ``"user"``.

    Raises
    ------
    ParameterError : unreadable text, empty or reversed spans, overlaps, or spans outside
        the signal.
    """
    _check_rate(sample_rate)
    if not isinstance(text, str) or not text.strip():
        raise ParameterError("--gaps is empty; give spans in seconds like 1.20-1.25,3.00-3.10")
    gaps = []
    for part in text.split(","):
        m = _SPAN.match(part)
        if not m:
            raise ParameterError(
                f"cannot read the gap '{part.strip()}'; write each gap as start-end in seconds, "
                "e.g. 1.20-1.25, separated by commas"
            )
        a, b = float(m.group(1)), float(m.group(2))
        if not b > a:
            raise ParameterError(f"the gap '{part.strip()}' ends before it starts")
        start, end = int(round(a * sample_rate)), int(round(b * sample_rate))
        if end <= start:
            raise ParameterError(f"the gap '{part.strip()}' is shorter than one sample")
        if n_samples is not None and end > n_samples:
            raise ParameterError(
                f"the gap '{part.strip()}' ends after the audio, which is "
                f"{n_samples / sample_rate:.3f} s long"
            )
        gaps.append(Gap(start, end, int(sample_rate), kind="user"))
    return normalise_gaps(gaps, n_samples=n_samples)


def normalise_gaps(gaps: Iterable[Gap], *, n_samples: int | None = None) -> list[Gap]:
    """Sort gaps and refuse overlapping, empty or out-of-range ones (``ParameterError``)."""
    out = sorted(gaps, key=lambda g: (g.start, g.end))
    for g in out:
        if not isinstance(g, Gap):
            raise ParameterError(f"expected Gap objects, got {type(g).__name__}")
        if g.start < 0 or g.end <= g.start:
            raise ParameterError(f"the gap {g.start_s:.3f}-{g.end_s:.3f} s is empty or negative")
        if n_samples is not None and g.end > n_samples:
            raise ParameterError(
                f"the gap {g.start_s:.3f}-{g.end_s:.3f} s lies outside the audio "
                f"({n_samples / g.sample_rate:.3f} s)"
            )
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            raise ParameterError(
                f"the gaps {a.start_s:.3f}-{a.end_s:.3f} s and {b.start_s:.3f}-{b.end_s:.3f} s "
                "overlap; merge them into one"
            )
    return out


def merge_gaps(*lists: Iterable[Gap]) -> list[Gap]:
    """Union of gap lists (e.g. detected gaps plus the user's ``--gaps``), sorted, with
    overlapping or touching spans merged into one. A merged span keeps kind ``"user"`` if any
    part came from the user, else the kind of its first part."""
    spans = sorted((g for lst in lists for g in lst), key=lambda g: (g.start, g.end))
    out: list[Gap] = []
    for g in spans:
        if out and g.start <= out[-1].end:
            last = out[-1]
            kind = "user" if "user" in (last.kind, g.kind) else last.kind
            out[-1] = replace(last, end=max(last.end, g.end), kind=kind)
        else:
            out.append(replace(g, method=None))
    return out


def _check_rate(sample_rate) -> None:
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")


# ---------------------------------------------------------------------------------------------
# AR models
# ---------------------------------------------------------------------------------------------


#: Burg's noise floor: the zero-lag correlation of the data is raised by this fraction of
#: itself (-60 dB) before the fit, as white noise of that power would raise it in expectation
#: (a ridge on the covariance the reflection coefficients are computed from). Without it a
#: high-order model of band-limited audio (an empty band above 11 kHz: a transfer made at
#: 22.05 kHz, or what the de-noiser returns) drives its prediction error down to rounding noise
#: and the fill collapses: ``burg2`` reached 0.1 dB gap SNR at 10 ms on 20 validation clips
#: low-passed at 11 kHz, 22.7 dB with a floor (full band: 22.7 dB with or without it).
#: A floor added to the error energies instead (a white-noise correction of the reflection
#: coefficients) did not help (0.1 dB at 1e-8; at 1e-4 it cost 4.5 dB on full-band audio).
BURG_FLOOR = 1e-6


def _autocorrelation(x: np.ndarray, lags: int) -> np.ndarray:
    """``sum_n x[n] x[n+k]`` for ``k = 0..lags`` of a float64 ``(samples,)`` array (by FFT)."""
    nfft = 1 << int(np.ceil(np.log2(2 * x.size)))
    spec = np.fft.rfft(x, nfft)
    return np.fft.irfft(spec.real**2 + spec.imag**2, nfft)[: lags + 1]


def burg(x: np.ndarray | Sequence[np.ndarray], order: int, *, floor: float = BURG_FLOOR) -> np.ndarray:
    """AR coefficients by Burg's method, fitted jointly to one or several segments.

    Computed from correlations (Vos, "A fast implementation of Burg's method", 2013): the
    segments' summed autocorrelation (by FFT) and their first and last ``order`` samples give
    the same reflection coefficients as the classic error recursion in O(order²) per segment
    instead of O(order × samples); a 1,764-tap model of 2 × 7,056 samples takes about 5 ms.

    Parameters
    ----------
    x : a ``(samples,)`` array, or a list of them (the reflection coefficients then
        minimise the forward and backward errors summed over all segments; no error term
        spans two segments). Means are *not* removed here.
    order : model order ``p`` (>= 1); every segment must be longer than ``p``.
    floor : the white noise floor (:data:`BURG_FLOOR`), a fraction of the mean power;
        0: none (the plain method).

    Returns
    -------
    a : float64 ``(p + 1,)`` with ``a[0] = 1``, the prediction-error filter
        ``e[n] = sum_k a[k] x[n - k]`` (the convention of ``librosa.lpc``).
    """
    segs = [np.asarray(x, dtype=np.float64)] if isinstance(x, np.ndarray) else [
        np.asarray(s, dtype=np.float64) for s in x
    ]
    if order < 1:
        raise ParameterError(f"the AR order must be at least 1, got {order}")
    segs = [s for s in segs if s.size > order]
    if not segs:
        raise TooShortError(f"Burg's method needs more than {order} samples of context")
    if not floor >= 0:
        raise ParameterError(f"floor must be >= 0, got {floor}")
    order = int(order)
    r = sum(_autocorrelation(s, order) for s in segs)
    data = np.concatenate(segs)
    bounds = np.cumsum([0] + [s.size for s in segs]).astype(np.int64)
    core = _burg_core if _HAVE_NUMBA else _burg_core_numpy
    return core(data, bounds, r, order, float(floor))


def _burg_core_numpy(x: np.ndarray, bounds: np.ndarray, r: np.ndarray, order: int,
                     floor: float) -> np.ndarray:
    """Burg from correlations (see :func:`burg`), the inner loops as numpy vector operations.

    ``r[0..order]`` is the autocorrelation summed over the segments ``x[bounds[s]:bounds[s+1]]``.
    Keeps, for the current predictor ``af`` (``a[1:]``): ``first``/``last``, the lag-1..p
    correlations less the products that the first/last ``n`` samples of each segment no longer
    take part in, and ``cf``/``cb``, the correlation matrix times the forward/backward error
    filters, from which each reflection coefficient follows in O(n).
    """
    p = order
    first = r[1 : p + 1].copy()
    last = r[1 : p + 1].copy()
    cf = np.zeros(p + 1)
    cb = np.zeros(p + 1)
    cf[0] = cb[0] = r[0] * (1.0 + floor)
    af = np.zeros(p)
    for n in range(p):
        for s in range(bounds.size - 1):
            seg = x[bounds[s] : bounds[s + 1]]
            size = seg.size
            head, tail = seg[n], seg[size - n - 1]
            before = seg[n - 1 :: -1][:n] if n else seg[:0]  # seg[n-1], ..., seg[0]
            after = seg[size - n : size]  # seg[L-n], ..., seg[L-1]
            first[:n] -= head * before
            last[:n] -= tail * after
            t1 = head + before @ af[:n]
            t2 = tail + after @ af[:n]
            cf[: n + 1] -= t1 * seg[n::-1][: n + 1]
            cb[: n + 1] -= t2 * seg[size - n - 1 : size]
        cf[n + 1] = first[n] + last[n - 1 :: -1][:n] @ af[:n] if n else first[n]
        cb[n + 1] = last[n] + first[n - 1 :: -1][:n] @ af[:n] if n else last[n]
        num = cb[n + 1] + cb[n:0:-1] @ af[:n]
        den = cb[0] + cb[1 : n + 1] @ af[:n] + cf[0] + cf[1 : n + 1] @ af[:n]
        k = min(max(-2.0 * num / den if den > 0 else 0.0, -0.999999), 0.999999)
        af[:n] = af[:n] + k * af[n - 1 :: -1][:n] if n else af[:n]
        af[n] = k
        old = cf[: n + 2].copy()
        cf[: n + 2] += k * cb[n + 1 :: -1][: n + 2]
        cb[: n + 2] += k * old[::-1]
    return np.concatenate([[1.0], af])


try:  # numba comes with librosa; the O(order²) loops are much faster compiled
    import numba

    #: fast-math without reassociation: sums keep their order, so results never depend on
    #: how the arrays happen to be aligned in memory (with it on whole functions, repeated
    #: runs differed in the last bits and evaluations were not bit-for-bit repeatable). Only
    #: the two inner-product kernels below (``_dot``, ``_axpy_dot``) reassociate, on views of
    #: separate arrays; a test checks that their results do not depend on placement.
    _FAST = {"nnan", "ninf", "nsz", "arcp", "contract", "afn"}

    # The kernels below work on contiguous views with indices counting up from 0, so that the
    # compiler can vectorise them (an index such as ``x[o + n - k - 1]`` may be negative as far
    # as it knows, and its wrap-around check kept every loop scalar); arrays that the
    # recursions read backwards are kept reversed as well. Against the loops they replaced: a
    # Burg fit of order 1,764 on 2 x 7,056 samples 12.7 -> 5.3 ms, a Toeplitz solve of 3,528
    # unknowns (band 1,764) 8.8 -> 4.6 ms on this project's 2-core machine.

    @numba.njit(cache=True, fastmath=_FAST | {"reassoc"}, nogil=True)
    def _dot(u, v):  # pragma: no cover - compiled
        # sum_j u[j] v[j] over the shorter length. Reassociation lets the compiler keep
        # partial sums in vector lanes; their order depends only on the length (the
        # vectoriser does not peel loops for alignment on x86: the result is the same for
        # any placement of the arrays in memory, which a test checks)
        s = 0.0
        for j in range(min(u.size, v.size)):
            s += u[j] * v[j]
        return s

    @numba.njit(cache=True, fastmath=_FAST | {"reassoc"}, nogil=True)
    def _axpy_dot(y, a, x, w):  # pragma: no cover - compiled
        # y -= a x (views of one length), and return sum_j x[j] w[j]
        s = 0.0
        for j in range(y.size):
            b = x[j]
            y[j] -= a * b
            s += b * w[j]
        return s

    @numba.njit(cache=True, fastmath=_FAST, nogil=True)
    def _axpy(y, a, x):  # pragma: no cover - compiled
        # y += a x (views of one length)
        for j in range(y.size):
            y[j] += a * x[j]

    @numba.njit(cache=True, fastmath=_FAST, nogil=True)
    def _rot(u, v, c):  # pragma: no cover - compiled
        # (u, v) <- (u + c v, v + c u), element by element (views of one length)
        for j in range(u.size):
            a = u[j]
            b = v[j]
            u[j] = a + c * b
            v[j] = b + c * a

    @numba.njit(cache=True, fastmath=_FAST, nogil=True)
    def _burg_core(x, bounds, r, order, floor):  # pragma: no cover - compiled
        # the same recursion as _burg_core_numpy, with cb and af also kept reversed
        # (cb[i] at cbr[p + 1 - i], af[i] at afr[p - 1 - i]) and x read backwards through xr
        p = order
        size = x.size
        xr = x[::-1].copy()
        first = r[1 : p + 1].copy()
        last = r[1 : p + 1].copy()
        cf = np.zeros(p + 2)
        cbr = np.zeros(p + 2)
        af = np.zeros(p + 1)
        afr = np.zeros(p + 1)
        cf[0] = r[0] * (1.0 + floor)
        cbr[p + 1] = cf[0]
        for n in range(p):
            afn = af[:n]
            for s in range(bounds.size - 1):
                o = bounds[s]
                e = bounds[s + 1]
                head = x[o + n]
                tail = x[e - n - 1]
                # first[k] -= head x[o+n-1-k], last[k] -= tail x[e-n+k] (k < n)
                t1 = head + _axpy_dot(first[:n], head, xr[size - o - n : size - o], afn)
                t2 = tail + _axpy_dot(last[:n], tail, x[e - n : e], afn)
                # cf[k] -= t1 x[o+n-k], cb[k] -= t2 x[e-n+k-1] (k <= n)
                _axpy(cf[: n + 1], -t1, xr[size - 1 - o - n : size - o])
                _axpy(cbr[p + 1 - n : p + 2], -t2, xr[size - e : size - e + n + 1])
            afrn = afr[p - n : p]
            cfn = first[n] + _dot(last[:n], afrn)
            cbn = last[n] + _dot(first[:n], afrn)
            cf[n + 1] = cfn
            cbr[p - n] = cbn
            cbv = cbr[p + 1 - n : p + 1]  # cb[n], ..., cb[1]
            num = cbn + _dot(cbv, afn)
            den = cbr[p + 1] + cf[0] + _dot(cf[1 : n + 1], afn) + _dot(cbv, afrn)
            rc = -2.0 * num / den if den > 0.0 else 0.0
            rc = min(max(rc, -0.999999), 0.999999)
            _rot(af[:n], afr[p - n : p], rc)  # af[k] += rc af[n-1-k]
            af[n] = rc
            afr[p - 1 - n] = rc
            _rot(cf[: n + 2], cbr[p - n : p + 2], rc)  # cf[k] += rc cb[n+1-k] and back
        out = np.empty(p + 1)
        out[0] = 1.0
        out[1:] = af[:p]
        return out

    @numba.njit(cache=True, fastmath=_FAST, nogil=True)
    def _levinson_step(x, y, yb, mu, alpha):  # pragma: no cover - compiled
        # x += mu yb; (y, yb) <- (y + alpha yb, yb + alpha y)
        for j in range(x.size):
            b = yb[j]
            a = y[j]
            x[j] += mu * b
            y[j] = a + alpha * b
            yb[j] = b + alpha * a

    @numba.njit(cache=True, fastmath=_FAST, nogil=True)
    def _levinson(t, b, p):  # pragma: no cover - compiled
        # T x = b, T symmetric positive definite Toeplitz with first column t, t[k] = 0 for
        # k > p (Golub & Van Loan, Algorithm 4.7.2; the inner products stop at lag p). The
        # Durbin vector y (length k at step k) is also kept reversed, y[k-1-j] at yb[n-k+j],
        # and r[i] = t[i+1] / t[0] reversed, at rr[n-1-i].
        n = b.size
        x = np.zeros(n)
        y = np.zeros(n)
        yb = np.zeros(n)
        rr = np.zeros(n)
        for k in range(1, min(n, p + 1)):
            rr[n - k] = t[k] / t[0]
        bb = b / t[0]
        x[0] = bb[0]
        if n == 1:
            return x
        y[0] = -rr[n - 1]
        yb[n - 1] = y[0]
        beta = 1.0
        alpha = y[0]
        for k in range(1, n):
            beta = (1.0 - alpha * alpha) * beta
            m = min(k, p)
            rv = rr[n - m : n]  # r[m-1], ..., r[0]
            mu = (bb[k] - _dot(rv, x[k - m : k])) / beta
            if k < n - 1:
                alpha = (-rr[n - 1 - k] - _dot(rv, y[k - m : k])) / beta
                _levinson_step(x[:k], y[:k], yb[n - k : n], mu, alpha)
                y[k] = alpha
                yb[n - k - 1] = alpha
            else:
                _axpy(x[:k], mu, yb[n - k : n])
            x[k] = mu
        return x

    _HAVE_NUMBA = True
except Exception:  # pragma: no cover - numba missing
    _HAVE_NUMBA = False


def _solve_toeplitz(col: np.ndarray, rhs: np.ndarray, p: int) -> np.ndarray:
    """Solve ``T x = rhs`` for the symmetric positive definite Toeplitz ``T`` with first column
    ``col`` (``(n,)``, zero beyond lag ``p``)."""
    if _HAVE_NUMBA:
        return _levinson(np.ascontiguousarray(col, dtype=np.float64),
                         np.ascontiguousarray(rhs, dtype=np.float64), int(p))
    return scipy.linalg.solve_toeplitz(col, rhs)


def autocorrelation_ar(x: np.ndarray, order: int) -> np.ndarray:
    """AR coefficients by the autocorrelation (Yule-Walker) method on a ``(samples,)`` array.

    The segment is used unwindowed, as in Janssen et al.; a relative ridge of 1e-9 keeps the
    Toeplitz system positive definite. Returns ``a`` with ``a[0] = 1`` as :func:`burg`.
    """
    x = np.asarray(x, dtype=np.float64)
    r = _autocorrelation(x, order) / x.size
    if r[0] <= 0:
        a = np.zeros(order + 1)
        a[0] = 1.0
        return a
    r[0] *= 1.0 + 1e-9
    coef = scipy.linalg.solve_toeplitz(r[:order], -r[1 : order + 1])
    return np.concatenate([[1.0], coef])


def _extrapolate(context: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    """Continue ``context`` (``(samples,)``, at least ``p`` long) by ``n`` samples of AR prediction."""
    p = a.size - 1
    past = context[-p:][::-1]  # y[-1], y[-2], ..., y[-p]
    zi = scipy.signal.lfiltic([1.0], a, past)
    y, _ = scipy.signal.lfilter([1.0], a, np.zeros(n), zi=zi)
    return y


def _lsar_solve(seg: np.ndarray, g0: int, glen: int, models: list[np.ndarray]) -> np.ndarray:
    """Least-squares AR interpolation of ``seg[g0:g0+glen]`` (``(samples,)`` float64).

    Minimises the summed squared prediction error ``sum_n (sum_k a[k] x[n-k])^2`` of every
    model in ``models`` over all rows that lie fully inside ``seg``. With at least ``p``
    known samples on each side the normal matrix is symmetric Toeplitz with first column
    the autocorrelation of the coefficients, solved by Levinson recursion.
    """
    col = np.zeros(glen)
    rhs = np.zeros(glen)
    y = seg.copy()
    y[g0 : g0 + glen] = 0.0
    for a in models:
        p = a.size - 1
        ra = scipy.signal.fftconvolve(a, a[::-1])[p:]  # autocorrelation, lags 0..p
        m = min(p + 1, glen)
        col[:m] += ra[:m]
        # prediction errors e[n] = sum_k a[k] y[n-k] of the rows that touch the gap,
        # n in [g0, g0+glen+p), all inside seg (p known samples on each side)
        lo = max(0, g0 - p)
        hi = min(seg.size, g0 + glen + p)
        e = scipy.signal.fftconvolve(y[lo:hi], a, mode="full")[g0 - lo : hi - lo]
        ew = np.zeros(glen + p)
        ew[: e.size] = e
        rhs -= scipy.signal.fftconvolve(ew, a[::-1], mode="valid")[:glen]
    col[0] *= 1.0 + 1e-10
    return _solve_toeplitz(col, rhs, max(a.size - 1 for a in models))


# ---------------------------------------------------------------------------------------------
# Fill methods on one channel: each gets the full (samples,) float64 signal, the gap, the set
# of samples that are unknown (every gap, so contexts never read missing audio), and returns
# the gap's new samples.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    x: np.ndarray  # (samples,) float64, unknown samples are whatever they were
    sr: int
    unknown: np.ndarray  # bool (samples,), True inside any not-yet-filled gap
    feats: object = None  # cached features for the similarity search


def _context(c: _Ctx, start: int, end: int, want: int) -> tuple[int, int]:
    """Usable context lengths (samples) left and right of ``[start, end)``, at most ``want``.

    Stops at the signal's ends and at other gaps not filled yet.
    """
    lo = max(0, start - want)
    left_unknown = np.flatnonzero(c.unknown[lo:start])
    if left_unknown.size:
        lo = lo + left_unknown[-1] + 1
    hi = min(c.x.size, end + want)
    right_unknown = np.flatnonzero(c.unknown[end:hi])
    if right_unknown.size:
        hi = end + right_unknown[0]
    return start - lo, hi - end


def _fill_zero(c: _Ctx, s: int, e: int) -> np.ndarray:
    return np.zeros(e - s)


def _fill_linear(c: _Ctx, s: int, e: int) -> np.ndarray:
    left = c.x[s - 1] if s > 0 and not c.unknown[s - 1] else 0.0
    right = c.x[e] if e < c.x.size and not c.unknown[e] else 0.0
    t = (np.arange(e - s) + 1.0) / (e - s + 1.0)
    return (1.0 - t) * left + t * right


def _cos2_weights(n: int) -> np.ndarray:
    """Weight of the forward (left) prediction: 1 -> 0 as cos² over ``n`` samples."""
    t = (np.arange(n) + 0.5) / n
    return np.cos(0.5 * np.pi * t) ** 2


#: Paper-LPC settings, tuned on a development piece (a Bach chorale, not in the reported
#: table): order in ms of samples (48 ms = 2117 taps at 44.1 kHz; piano partials need long
#: models), context 6 gaps a side (at most LPC_MAX_CONTEXT_S).
LPC_ORDER_MS = 48.0
LPC_CONTEXT_GAPS = 6.0
LPC_MAX_CONTEXT_S = 1.5
LPC_MIN_CONTEXT_MS = 20.0


def _fill_lpc(c: _Ctx, s: int, e: int) -> np.ndarray:
    glen = e - s
    order = max(2, int(round(LPC_ORDER_MS * c.sr / 1000)))
    want = max(int(LPC_CONTEXT_GAPS * glen), int(LPC_MIN_CONTEXT_MS * c.sr / 1000), 3 * order)
    want = min(want, int(LPC_MAX_CONTEXT_S * c.sr))
    nl, nr = _context(c, s, e, want)
    order = max(2, min(order, max(nl, nr) // 3))
    preds, weights = [], []
    w = _cos2_weights(glen)
    if nl > 2 * order:
        left = c.x[s - nl : s]
        mu = left.mean()
        a = burg(left - mu, order)
        preds.append(_extrapolate(left - mu, a, glen) + mu)
        weights.append(w)
    if nr > 2 * order:
        right = c.x[e : e + nr][::-1]
        mu = right.mean()
        a = burg(right - mu, order)
        preds.append((_extrapolate(right - mu, a, glen) + mu)[::-1])
        weights.append(1.0 - w)
    if not preds:
        return _fill_linear(c, s, e)
    if len(preds) == 1:
        return preds[0]
    return weights[0] * preds[0] + weights[1] * preds[1]


#: Janssen settings, tuned like LPC's (orders 3-96 ms, contexts 3-10 gaps, 3-10 iterations
#: were tried; this was best at 50 and 80 ms and near-best at 20 ms).
JANSSEN_ORDER_MS = 48.0
JANSSEN_CONTEXT_GAPS = 6.0
JANSSEN_MIN_CONTEXT_MS = 20.0
JANSSEN_MAX_CONTEXT_S = 1.5
JANSSEN_ITERATIONS = 5


def _fill_janssen(c: _Ctx, s: int, e: int) -> np.ndarray:
    glen = e - s
    order = max(2, int(round(JANSSEN_ORDER_MS * c.sr / 1000)))
    want = max(int(JANSSEN_CONTEXT_GAPS * glen), int(JANSSEN_MIN_CONTEXT_MS * c.sr / 1000))
    want = min(max(want, 2 * order), int(JANSSEN_MAX_CONTEXT_S * c.sr))
    nl, nr = _context(c, s, e, want)
    if nl < order or nr < order:
        return _fill_lpc(c, s, e)
    seg = c.x[s - nl : e + nr].copy()
    mu = np.concatenate([seg[:nl], seg[nl + glen :]]).mean()
    seg -= mu
    seg[nl : nl + glen] = 0.0
    order = min(order, (seg.size - 1) // 2)
    for _ in range(JANSSEN_ITERATIONS):
        a = autocorrelation_ar(seg, order)
        seg[nl : nl + glen] = _lsar_solve(seg, nl, glen, [a])
    return seg[nl : nl + glen] + mu


#: burg2 settings: order 40 ms (1764 taps at 44.1 kHz) for gaps of 65 ms and more, context 2
#: gaps (at least 150 ms) a side, at most LPC_MAX_CONTEXT_S. Chosen on development renders
#: (corpus train/val split).
BURG2_ORDER_MS = 40.0
#: Below BURG2_SHORT_BELOW_MS the order is BURG2_SHORT_ORDER_MS (2205 taps at 44.1 kHz). 50 ms
#: against 40, both halves of the pair in use (``scripts/compare_burg2.py --compare order``,
#: 264 gaps of the train split, seeds 7 / 8): +0.14 / +0.12 dB at 10 ms, +0.18 / +0.03 at
#: 20 ms, +0.13 / +0.22 at 50 ms, +0.08 / +0.16 at 80 ms, for about 30 % more time. An 80 ms
#: gap keeps 40 ms, to stay within its 50 ms budget on the 2-core machine.
BURG2_SHORT_ORDER_MS = 50.0
BURG2_SHORT_BELOW_MS = 65.0
BURG2_CONTEXT_GAPS = 2.0
BURG2_MIN_CONTEXT_MS = 150.0
#: Below this gap length (ms) burg2's first fill is the mean of two: the one-model fill and a
#: fill that minimises the errors of a left-context model and a right-context model together
#: (Etter's two-model LSAR); their errors differ enough for the mean to beat both (on 264 gaps
#: per length in the corpus's train split, ``scripts/compare_burg2.py --compare pair``, before
#: the refinement existed: +0.62 / +0.49 / +0.19 dB over the one-model fill at 10 / 20 /
#: 50 ms). The refinement (below) is then the mean of a one-model and a two-model refit as
#: well. With both halves, against the one-model fill and refit alone (both refined, same
#: script, seeds 7 / 8): +0.16 / +0.21 dB at 80 ms and +0.13 / +0.05 dB at 150 ms (the length
#: where ``similarity`` falls back to burg2); an 80 ms gap then takes about 40 ms on the
#: 2-core machine with the side fits on the helper thread (41 ms in ``echoes bench``; 26 ms
#: with one half). Not measured at 300 ms and more, where every AR fill fades out and the
#: pair would only double the time. With both halves, a context of 3 gaps instead of 2 lost
#: 0.25 / 0.10 dB at 80 ms (1.5 gaps: -0.05 / -0.03; ``--compare context``).
BURG2_PAIR_BELOW_MS = 160.0
#: Level trend: burg2 fits and fills the segment (contexts and gap) with its level trend taken
#: out, then puts the trend back (:func:`_level_trend`). A piano note decays (and a crescendo
#: grows) across the 0.3 s or more that a fill sees, while an AR model is stationary. The trend
#: is a straight line in dB over time, fitted to the 10-ms frame energies of both contexts,
#: each frame weighted by its energy (so the sounding notes set it, not quiet frames), at most
#: 60 dB/s and at most 30 dB of gain at the segment's ends. Against burg2 without it
#: (``scripts/compare_burg2.py --compare trend``; train split, 264 gaps per length, seed 7):
#: +0.20 / +0.29 / +0.19 / +0.26 dB at 10 / 20 / 50 / 80 ms (80 ms, seed 8: +0.25 ± 0.13), 88
#: gaps per length: +0.30 / +0.28 / +0.05 dB at 150 / 300 / 500 ms; val split, 33 gaps:
#: +0.20 / +0.67 / +0.22 dB at 20 / 50 / 80 ms. An unweighted fit gained about half as much
#: (+0.11 at 80 ms); 30 or 120 dB/s, 20-ms frames or a 20 dB bound changed the gain by 0.01 dB
#: or less. It costs no measurable time.
BURG2_TREND_FRAME_MS = 10.0
BURG2_TREND_MAX_DB_PER_S = 60.0
BURG2_TREND_MAX_SWING_DB = 30.0


_POOL: dict = {}  # process id -> the helper thread's executor (a forked child makes its own)


class _Now:
    """A finished result with the interface of a future (for the one-thread case)."""

    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value


def _submit(fn: Callable, *args):
    """Run ``fn(*args)`` on a helper thread where there are two cores and ``OMP_NUM_THREADS``
    does not ask for one thread (the compiled recursions release the GIL), else at once;
    returns an object with ``.result()``. Tasks on the helper run one after another, in the
    order submitted, and compute the same numbers bit for bit either way."""
    if not _HAVE_NUMBA or not second_thread_allowed():
        return _Now(fn(*args))
    pool = _POOL.get(os.getpid())
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = _POOL[os.getpid()] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="echoes-burg")
    return pool.submit(fn, *args)


def burg2_order_ms(glen: int, sample_rate: int) -> float:
    """burg2's model order (ms) for a gap of ``glen`` samples at ``sample_rate`` Hz."""
    return BURG2_SHORT_ORDER_MS if glen < BURG2_SHORT_BELOW_MS * sample_rate / 1000 else BURG2_ORDER_MS


def _fill_burg2(c: _Ctx, s: int, e: int, *, order_ms: float | None = None,
                context_gaps: float | None = None, refine: bool = True) -> np.ndarray:
    """Least-squares AR interpolation from high-order Burg models of both contexts (never of
    the unknown gap), then one refinement by models that see the first fill (see
    :func:`_joint_lsar`; ``refine=False`` stops at the first fill, for comparisons); all of it
    on the segment with its level trend taken out (:func:`_level_trend`), put back after."""
    glen = e - s
    order_ms = burg2_order_ms(glen, c.sr) if order_ms is None else order_ms
    context_gaps = BURG2_CONTEXT_GAPS if context_gaps is None else context_gaps
    order = max(2, int(round(order_ms * c.sr / 1000)))
    want = max(int(context_gaps * glen), int(BURG2_MIN_CONTEXT_MS * c.sr / 1000))
    want = min(want, int(LPC_MAX_CONTEXT_S * c.sr))
    nl, nr = _context(c, s, e, want)
    if min(nl, nr) < 8:
        return _fill_lpc(c, s, e)
    pair = glen < BURG2_PAIR_BELOW_MS * c.sr / 1000 and min(nl, nr) // 3 >= order
    seg = c.x[s - nl : e + nr]
    g = _level_trend(seg, nl, glen, c.sr)
    return _joint_lsar(seg * g, nl, glen, order, pair=pair, refine=refine) / g[nl : nl + glen]


def _level_trend(seg: np.ndarray, nl: int, glen: int, sr: int) -> np.ndarray:
    """Gain ``(samples,)`` (float64, 1 at the gap's centre) that takes the level trend out of
    ``seg``, whose samples ``[nl, nl+glen)`` are unknown: ``10 ** (-slope * t / 20)`` for ``t``
    in seconds from the gap's centre and ``slope`` (dB/s) the energy-weighted least-squares
    line through the dB energies of the whole 10-ms frames of both contexts (see
    BURG2_TREND_FRAME_MS). All ones when the contexts hold fewer than 3 frames or no sound."""
    fl = max(1, int(round(BURG2_TREND_FRAME_MS * sr / 1000)))
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
    lim = min(BURG2_TREND_MAX_DB_PER_S, BURG2_TREND_MAX_SWING_DB / max(abs(t[0]), abs(t[-1]), 1e-9))
    slope = float(np.clip(slope, -lim, lim))
    return 10.0 ** (-slope * t / 20.0)


def _joint_lsar(seg: np.ndarray, nl: int, glen: int, order: int, *, pair: bool = False,
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
    it. Measured against no refinement on 264 gaps per length of the corpus's train split,
    two placements (seeds 7 and 8): +0.36 / +0.26 dB at 80 ms (one-model first fill,
    two-model refit), +0.20 / +0.24 at 50 ms, +0.10 / +0.17 at 20 ms (``pair``), +0.05 at
    10 ms; on 88 gaps of 80 ms of the val split -0.09 / +0.73. A second refinement lost 0.05
    to 0.08 dB; a refit of order 30 ms instead of 40 lost 0.17 dB at 80 ms.
    """
    left, right = seg[:nl], seg[nl + glen :]
    mu = np.concatenate([left, right]).mean()
    x = seg - mu
    p = max(1, min(order, max(left.size, right.size) // 3, min(left.size, right.size)))
    if pair:  # the side models on the helper thread while this one fits both sides
        q = max(1, min(order, left.size // 3, right.size // 3))
        side_l = _submit(burg, left - mu, q)
        side_r = _submit(burg, right - mu, q)
    fill = _lsar_solve(x, nl, glen, [burg([left - mu, right - mu], p)])
    if pair:
        fill = 0.5 * (fill + _lsar_solve(x, nl, glen, [side_l.result(), side_r.result()]))
    if refine:
        x[nl : nl + glen] = fill  # x is not written again below: the helper may read it
        q = max(1, min(order, (nl + glen) // 3, (glen + right.size) // 3))
        after = _submit(burg, x[nl:], q)
        if pair:
            one = _submit(lambda: _lsar_solve(x, nl, glen, [burg(x, max(1, min(order, x.size // 3)))]))
        fill = _lsar_solve(x, nl, glen, [burg(x[: nl + glen], q), after.result()])
        if pair:
            fill = 0.5 * (fill + one.result())
    return fill + mu


# ---------------------------------------------------------------------------------------------
# Similarity: transplant a matching passage from elsewhere in the recording
# ---------------------------------------------------------------------------------------------

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
    q: int  # decimation factor of the coarse search
    xd: np.ndarray  # (samples // q,) decimated signal, float64


def _sim_features(x: np.ndarray, sr: int) -> _SimFeatures:
    q = max(1, int(sr // SIM_SEARCH_RATE))
    xd = scipy.signal.resample_poly(x, 1, q) if q > 1 else x.copy()
    return _SimFeatures(q, np.asarray(xd, dtype=np.float64))


def _find_donor(c: _Ctx, s: int, e: int, cl: int, cr: int, guard: int = 0) -> tuple[int, float]:
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
    num = scipy.signal.fftconvolve(xd, tmpl[::-1], mode="valid")
    den = scipy.signal.fftconvolve(xd * xd, w[::-1], mode="valid")
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


def _fallback(c: _Ctx, s: int, e: int) -> tuple[np.ndarray, str]:
    """AR fill where no donor passes: ``burg2`` at every length. (Janssen's method was the
    long-gap fallback while ``burg2`` had no refinement; refined, ``burg2`` measured +1.57 /
    +0.48 / -0.08 dB against it at 150 / 300 / 500 ms, 176 gaps each of the corpus's train
    split: ``scripts/compare_burg2.py --compare refine --gap-ms 150,300,500 --per-piece 2
    --seed 8``; and it is the cheaper of the two.)"""
    return _fill_burg2(c, s, e), "burg2"


def _burg2_guard_snr(c: _Ctx, s: int, e: int, guard: int, truth: np.ndarray) -> float:
    """How well ``burg2`` predicts the ``guard`` samples each side of the gap ``[s, e)``: the
    gap SNR (dB) of its fill of the gap widened by the guard bands, against ``truth`` (the
    known guard samples, left band then right). The guard bands lie at the widened gap's
    edges, where AR does best, so a donor that beats this is clearly better than AR."""
    lo, hi = s - guard, e + guard
    saved = c.unknown[lo:hi].copy()
    c.unknown[lo:hi] = True
    try:
        fill = _fill_burg2(c, lo, hi)
    finally:
        c.unknown[lo:hi] = saved
    return gap_snr(truth, np.concatenate([fill[:guard], fill[-guard:]]))


def _fill_similarity(c: _Ctx, s: int, e: int, *, threshold: float | None = None
                     ) -> tuple[np.ndarray, str]:
    """Donor passage + AR fill of what the donor does not explain.

    The donor is searched on the gap's outer surroundings (``guard`` samples next to the gap
    on each side are left out), then checked on those guard bands: it is used only if it
    predicts them (gain-matched by least squares on the outer surroundings) to at least
    ``SIM_MIN_GUARD_SNR_DB`` (long gaps) or ``SIM_MIN_GUARD_SNR_SHORT_DB`` (short ones), and
    at least as well as ``burg2`` predicts them when it fills the gap widened by the guard
    bands (:func:`_burg2_guard_snr`). That second check was added after measuring the first
    alone on humanised renders, where repeats are never sample for sample: on long gaps in
    music that repeats (``scripts/eval_long_gaps_repeats.py`` selection, seed 11, 573 gaps of
    the train split) the accepted donors cost 0.26 / 0.08 / 0.02 dB of the mean gap SNR at
    200 / 300 / 500 ms against ``burg2`` alone; with the check they gain 0.11 / 0.07 / 0.00
    (4 donors used: +21.9 dB on one gap at 200 ms; +12.3, +1.1 and -0.5 at 300 ms), and on
    the val split's 73 gaps 0 / 0 / 0 instead of -0.45 / +0.21 / 0 (measured before burg2
    took out the level trend). A 2-6 dB margin on the check changed none of this by more than
    0.01 dB. The residual (surroundings minus donor) is inpainted by :func:`_joint_lsar` and
    added back, so the edges join the real signal continuously.
    Returns the fill and the method used (``"similarity"``, or ``"burg2"``, the AR fallback,
    when no donor passes).
    """
    glen = e - s
    long_gap = glen >= LONG_GAP_S * c.sr
    thr = threshold if threshold is not None else (
        SIM_THRESHOLD_LONG if long_gap else SIM_THRESHOLD_SHORT)
    ms = c.sr / 1000
    guard = int(min(max(0.25 * glen, SIM_GUARD_MIN_MS * ms), SIM_GUARD_MAX_MS * ms))
    want = int(min(max(SIM_MIN_CONTEXT_MS * ms, glen), SIM_MAX_CONTEXT_MS * ms)) + guard
    cl, cr = _context(c, s, e, want)
    if c.feats is None or min(cl, cr) < guard + (want - guard) // 2:
        return _fallback(c, s, e)
    t, v = _find_donor(c, s, e, cl, cr, guard)
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
    ar_snr = _burg2_guard_snr(c, s, e, guard, seg[bands])
    if guard_snr < ar_snr:
        log.debug("gap %d-%d: donor loses to burg2 on the guard bands (%.1f dB)", s, e, ar_snr)
        return _fallback(c, s, e)
    known = np.ones(seg.size, dtype=bool)
    known[cl : cl + glen] = False
    dd = np.dot(donor[known], donor[known])
    gain = np.dot(donor[known], seg[known]) / dd if dd > 0 else 0.0
    resid = seg - gain * donor
    resid[~known] = 0.0
    order = max(2, int(round(SIM_RESIDUAL_ORDER_MS * c.sr / 1000)))
    fill_r = _joint_lsar(resid, cl, glen, order)
    return gain * donor[cl : cl + glen] + fill_r, "similarity"


_FILLERS = {
    "zero": _fill_zero,
    "linear": _fill_linear,
    "lpc": _fill_lpc,
    "janssen": _fill_janssen,
    "burg2": _fill_burg2,
}


# ---------------------------------------------------------------------------------------------
# Public filling API
# ---------------------------------------------------------------------------------------------


def choose_method(gap: Gap) -> str:
    """The method ``auto`` uses for a gap: ``burg2`` below 150 ms, else ``similarity``.

    Below 150 ms a transplanted passage helped only where the recording repeats itself
    sample for sample (identical synthetic renders); on humanised renders it never beat
    ``burg2`` on average, so ``auto`` does not spend the search there. From 150 ms every AR
    model fades to silence and ``similarity`` is tried (it falls back to ``burg2`` when no
    passage's outer surroundings match the gap's and predict the 20-60 ms right beside the
    gap to 8 dB or better and at least as well as ``burg2`` does).
    """
    return "similarity" if gap.duration_s >= LONG_GAP_S else "burg2"


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
    method : one of ``zero``, ``linear``, ``lpc``, ``janssen``, ``burg2``, ``similarity``,
        ``auto`` (see the module docstring).

    Returns
    -------
    filled : a copy of ``audio`` with the same shape and dtype; only samples inside gaps differ.
    gaps : the gaps, sorted, with ``method`` set to the method actually used (``similarity``
        reports ``burg2`` where it fell back).
    """
    _check_rate(sample_rate)
    if method not in METHODS:
        raise ParameterError(f"unknown inpainting method '{method}'; choose one of {', '.join(METHODS)}")
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
    for ch in range(x2.shape[0]):
        x = x2[ch].astype(np.float64)
        unknown = unknown_all.copy()
        feats = None
        for i, g in enumerate(gaps):
            m = choose_method(g) if method == "auto" else method
            c = _Ctx(x, int(sample_rate), unknown, feats)
            if m == "similarity":
                if feats is None:
                    feats = _sim_features(x, int(sample_rate))
                    c = _Ctx(x, int(sample_rate), unknown, feats)
                vals, m_used = _fill_similarity(c, g.start, g.end)
            else:
                vals, m_used = _FILLERS[m](c, g.start, g.end), m
            x[g.start : g.end] = vals
            unknown[g.start : g.end] = False
            if used[i] is None or used[i] == m_used:
                used[i] = m_used
            else:
                used[i] = f"{used[i]}+{m_used}"
        out[ch, :] = np.clip(x, -1.0, 1.0) if np.abs(x2[ch]).max() <= 1.0 else x
    # only gap samples may change (clipping above only touches filled samples: the rest was in range)
    done = [replace(g, method=used[i]) for i, g in enumerate(gaps)]
    return (out[0] if arr.ndim == 1 else out), done



def warm_up() -> None:
    """Compile the numba kernels by filling one 10 ms gap of a synthetic tone (all of
    ``burg2``'s paths). The first compile takes several seconds (about 8 on the 2-core machine);
    numba caches the result on disk beside the module where it may write, and later processes
    load it in well under a second. A no-op without numba."""
    if not _HAVE_NUMBA:
        return
    sr = 8000
    t = np.arange(sr) / sr
    x = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    fill_gaps(x, sr, [Gap(sr // 2, sr // 2 + sr // 100, sr)], method="burg2")


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def _loud(x: np.ndarray, sr: int) -> float:
    """RMS of the loudest 10% of 10-ms frames of a ``(samples,)`` signal."""
    f = max(1, int(0.01 * sr))
    n = x.size // f
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(x[: n * f].reshape(n, f).astype(np.float64) ** 2, axis=1))
    return float(np.mean(np.sort(rms)[-max(1, n // 10) :]))


def place_gaps(
    x: np.ndarray, sample_rate: int, length: int, count: int, *, margin: int, rng: np.random.Generator
) -> list[int]:
    """Random gap starts (samples) for evaluation, on a ``(samples,)`` signal.

    Rule: a gap of ``length`` samples is accepted where its RMS is at least -30 dB re the
    signal's loud level (the RMS of its loudest 10% of 10-ms frames), ``margin`` samples of
    signal exist on both sides, and it lies at least ``margin`` away from every other gap, so
    no method's context reaches another gap. Up to ``count`` gaps; fewer if the signal is short.
    """
    n = x.size
    loud = _loud(x, sample_rate)
    thr = loud * 10 ** (-30 / 20)
    starts: list[int] = []
    if n < length + 2 * margin + 1 or loud <= 0:
        return starts
    for _ in range(200 * count):
        if len(starts) >= count:
            break
        s = int(rng.integers(margin, n - margin - length))
        if np.sqrt(np.mean(x[s : s + length].astype(np.float64) ** 2)) < thr:
            continue
        if any(abs(s - t) < length + margin for t in starts):
            continue
        starts.append(s)
    return sorted(starts)


#: Per-gap SNRs are capped here in evaluation means (an exact copy has an infinite SNR).
SNR_CAP_DB = 60.0


def _rms64(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=np.float64)
    return float(np.sqrt(np.mean(v * v))) if v.size else 0.0


def gap_snr(clean: np.ndarray, filled: np.ndarray) -> float:
    """Gap SNR in dB: ``10 log10(sum clean² / sum (clean - filled)²)`` over the given samples."""
    clean = np.asarray(clean, dtype=np.float64)
    err = np.sum((clean - np.asarray(filled, dtype=np.float64)) ** 2)
    sig = np.sum(clean**2)
    if err <= 0:
        return float("inf")
    return float(10 * np.log10(max(sig, 1e-30) / err))


def evaluate_detection(
    signals: Sequence[np.ndarray], sample_rate: int, *, dropouts_per_signal: int = 20,
    seed: int = 0, min_ms: float = 5.0, max_ms: float = 100.0,
) -> dict:
    """Precision and recall of :func:`detect_gaps` on planted dropouts, and false gaps on clean audio.

    Dropouts (zero runs of ``min_ms`` to ``max_ms``, uniform) are planted at random inside
    sound: the 20 ms around them and the removed audio above -30 dB re the loud level, and the
    5 ms beside each edge above -40 dB (a zero run in near-silence changes nothing). The same
    spans attenuated by 40 dB instead of zeroed measure level-drop recall; a detection matches a planted
    dropout when its span overlaps it by at least half of the larger of the two (IoU-like).
    Clean variants checked for false gaps: the signal itself, a cubic fade-out over its last
    third, one second of digital silence at both ends, and the whole signal 30 dB quieter.
    """
    rng = np.random.default_rng(seed)
    tp = fp = fn = 0
    false_clean: dict[str, int] = {"clean": 0, "fade_out": 0, "silence_ends": 0, "quiet": 0}
    level_tp = level_n = 0
    for sig in signals:
        x = np.asarray(sig, dtype=np.float32)
        x = x.mean(axis=0) if x.ndim == 2 else x
        n = x.size
        fade = x.copy()
        k = n // 3
        fade[-k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32) ** 3
        pad = np.zeros(sample_rate, dtype=np.float32)
        variants = {
            "clean": x,
            "fade_out": fade,
            "silence_ends": np.concatenate([pad, x, pad]),
            "quiet": x * np.float32(10 ** (-30 / 20)),
        }
        for name, v in variants.items():
            false_clean[name] += len(detect_gaps(v, sample_rate, min_ms=min_ms))
        loud = _loud(x, sample_rate)
        w = int(0.02 * sample_rate)
        planted: list[tuple[int, int]] = []
        y = x.copy()
        z = x.copy()
        for _ in range(100 * dropouts_per_signal):
            if len(planted) >= dropouts_per_signal:
                break
            length = int(rng.uniform(min_ms, max_ms) * sample_rate / 1000)
            s = int(rng.integers(w, max(w + 1, n - w - length)))
            e = s + length
            if e + w > n:
                continue
            if any(s < b + w and e + w > a for a, b in planted):
                continue
            around = np.concatenate([x[s - w : s], x[e : e + w]]).astype(np.float64)
            if np.sqrt(np.mean(around**2)) < loud * 10 ** (-30 / 20):
                continue
            # inside sound: what is removed, and the 5 ms beside each edge, must be audible
            if np.sqrt(np.mean(x[s:e].astype(np.float64) ** 2)) < loud * 10 ** (-30 / 20):
                continue
            if min(_rms64(x[s - w // 4 : s]), _rms64(x[e : e + w // 4])) < loud * 10 ** (-40 / 20):
                continue
            planted.append((s, e))
            y[s:e] = 0.0
            z[s:e] *= np.float32(10 ** (-40 / 20))
        for sig_, store in ((y, "dropout"), (z, "level")):
            found = [(g.start, g.end) for g in detect_gaps(sig_, sample_rate, min_ms=min_ms)]
            matched_f = set()
            hits = 0
            for a, b in planted:
                for j, (c, d) in enumerate(found):
                    ov = min(b, d) - max(a, c)
                    if ov > 0 and ov >= 0.5 * max(b - a, d - c):
                        matched_f.add(j)
                        hits += 1
                        break
            if store == "dropout":
                tp += hits
                fn += len(planted) - hits
                fp += len(found) - len(matched_f)
            else:
                level_tp += hits
                level_n += len(planted)
    return {
        "dropouts_planted": tp + fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "false_gaps_clean": false_clean,
        "level_drop_recall_40dB": level_tp / level_n if level_n else None,
    }


def evaluate_inpainting(
    signals: Sequence[np.ndarray],
    sample_rate: int,
    *,
    gap_ms: Sequence[float] = (10, 20, 50, 80, 150, 300, 500),
    gaps_per_signal: int = 10,
    short_gaps_per_signal: int | None = None,
    methods: Sequence[str] = ("zero", "linear", "lpc", "janssen", "burg2", "similarity", "auto"),
    seed: int = 0,
    quick: bool = False,
    detection: bool = True,
) -> dict:
    """Gap SNR of each method at each gap length, and gap-detection scores.

    Parameters
    ----------
    signals : clean recordings, each ``(samples,)`` or ``(channels, samples)`` (mixed to mono).
    sample_rate : their common rate in Hz.
    gap_ms : gap lengths in milliseconds.
    gaps_per_signal : gaps placed per signal and length (see :func:`place_gaps`: non-silent
        places, at least 4 gap lengths + 0.2 s from each other and from the ends). All gaps of
        one length are zeroed together and filled in one :func:`fill_gaps` call per method.
    short_gaps_per_signal : the same for lengths under :data:`LONG_GAP_S` (cheap to fill, and
        where methods differ by about a decibel: more gaps narrow the comparison); default
        ``gaps_per_signal``.
    methods : methods to compare.
    seed : seed of the gap placement (the placement for a length does not depend on methods).
    quick : 3 gaps per signal, lengths 20/80/300 ms, only the first 30 s of each signal, and
        fewer planted dropouts: a smoke run of a few seconds per method.
    detection : also run :func:`evaluate_detection`.

    Returns
    -------
    ``{"gap_snr": {method: {str(ms): {"mean_db", "pooled_db", "per_gap_db", "per_gap_signal", "n"}}},
    "time_per_gap_s": {method: {str(ms): seconds}}, "methods_used": {method: {str(ms): {name: count}}},
    "detection": {...}, "settings": {...}}``. ``mean_db`` averages per-gap SNRs in dB (each capped at 60 dB);
    ``pooled_db`` is the SNR of all gaps' samples together; ``per_gap_signal`` is the index of
    the signal each gap of ``per_gap_db`` lies in (for intervals that resample whole pieces).
    """
    for m in methods:
        if m not in METHODS:
            raise ParameterError(f"unknown inpainting method '{m}'; choose from {', '.join(METHODS)}")
    _check_rate(sample_rate)
    if quick:
        gap_ms = tuple(ms for ms in gap_ms if ms in (20, 80, 300)) or tuple(gap_ms)[:3]
        gaps_per_signal = min(gaps_per_signal, 3)
        short_gaps_per_signal = None
    if short_gaps_per_signal is None:
        short_gaps_per_signal = gaps_per_signal
    mono = []
    for sig in signals:
        x = np.asarray(sig, dtype=np.float32)
        x = x.mean(axis=0) if x.ndim == 2 else x
        if quick:
            x = x[: 30 * sample_rate]
        mono.append(x)
    res: dict = {"gap_snr": {m: {} for m in methods}, "time_per_gap_s": {m: {} for m in methods},
                 "methods_used": {m: {} for m in methods}}
    for ms in gap_ms:
        length = int(round(ms * sample_rate / 1000))
        margin = 4 * length + int(0.2 * sample_rate)
        per_method: dict[str, list[float]] = {m: [] for m in methods}
        where: dict[str, list[int]] = {m: [] for m in methods}
        pooled: dict[str, list[float]] = {m: [0.0, 0.0] for m in methods}
        times: dict[str, float] = {m: 0.0 for m in methods}
        used: dict[str, dict[str, int]] = {m: {} for m in methods}
        n_gaps = 0
        for k, x in enumerate(mono):
            rng = np.random.default_rng([seed, int(ms * 1000), k])
            count = short_gaps_per_signal if ms < 1000 * LONG_GAP_S else gaps_per_signal
            starts = place_gaps(x, sample_rate, length, count, margin=margin, rng=rng)
            if not starts:
                continue
            gaps = [Gap(s, s + length, sample_rate) for s in starts]
            damaged = x.copy()
            for g in gaps:
                damaged[g.start : g.end] = 0.0
            n_gaps += len(gaps)
            for m in methods:
                t = time.perf_counter()
                filled, done = fill_gaps(damaged, sample_rate, gaps, method=m)
                times[m] += time.perf_counter() - t
                for g in done:
                    c, f = x[g.start : g.end], filled[g.start : g.end]
                    per_method[m].append(min(gap_snr(c, f), SNR_CAP_DB))
                    where[m].append(k)
                    pooled[m][0] += float(np.sum(c.astype(np.float64) ** 2))
                    pooled[m][1] += float(np.sum((c.astype(np.float64) - f) ** 2))
                    used[m][g.method] = used[m].get(g.method, 0) + 1
        key = str(int(ms)) if float(ms).is_integer() else str(ms)
        for m in methods:
            v = per_method[m]
            res["gap_snr"][m][key] = {
                "mean_db": float(np.mean(v)) if v else None,
                "pooled_db": float(min(SNR_CAP_DB, 10 * np.log10(pooled[m][0] / pooled[m][1])))
                if pooled[m][1] > 0 else SNR_CAP_DB,
                "per_gap_db": [round(s, 3) for s in v],
                "per_gap_signal": where[m],
                "n": len(v),
            }
            res["time_per_gap_s"][m][key] = times[m] / n_gaps if n_gaps else None
            res["methods_used"][m][key] = used[m]
        log.info("gap %s ms: %s", key, ", ".join(
            f"{m} {res['gap_snr'][m][key]['mean_db']:.2f} dB" for m in methods if per_method[m]))
    if detection:
        res["detection"] = evaluate_detection(
            mono, sample_rate, dropouts_per_signal=5 if quick else 20, seed=seed)
    res["settings"] = {"gap_ms": list(gap_ms), "gaps_per_signal": gaps_per_signal,
                       "short_gaps_per_signal": short_gaps_per_signal, "seed": seed,
                       "quick": quick, "sample_rate": sample_rate, "signals": len(mono)}
    return res


def detect_gaps(audio: np.ndarray, sample_rate: int, *, sensitivity: float = 0.5,
                min_ms: float = 5.0, onset_cuts: bool = False) -> list[Gap]:
    """Find dropouts and sudden level drops inside sound; see :func:`echoes.restore.gaps.detect.detect_gaps`."""
    from echoes.restore.gaps.detect import detect_gaps as _detect  # noqa: PLC0415 (gaps imports this module)

    return _detect(audio, sample_rate, sensitivity=sensitivity, min_ms=min_ms, onset_cuts=onset_cuts)
