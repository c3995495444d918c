"""Autoregressive (AR) maths shared by the gap-filling methods and the de-clicker.

Contract: signals are float64 ``(samples,)`` arrays (converted where needed); an AR model of
order ``p`` is its prediction-error filter ``a``, float64 ``(p + 1,)`` with ``a[0] = 1``, so
``e[n] = sum_k a[k] x[n - k]`` (the convention of ``librosa.lpc``). Fitting: :func:`burg`
(Burg's method from correlations, jointly over segments, with a white-noise floor) and
:func:`autocorrelation_ar` (Yule-Walker); :func:`levinson_durbin` fits many rows of
autocorrelations at once. Solving: :func:`solve_toeplitz` (Levinson recursion for symmetric
positive definite Toeplitz systems), :func:`lsar_solve` (least-squares AR interpolation of a
gap), :func:`extrapolate` (AR prediction past the end of a context).

:func:`submit` runs a fit on one helper thread where a second core may be used; results are
the same bit for bit either way (the compiled kernels release the GIL; :mod:`.ar_kernels`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np

from echoes.core.chunking import second_thread_allowed
from echoes.errors import ParameterError, TooShortError


def scipy_signal():
    """scipy.signal, imported on first use (with numba and scipy.linalg, 0.7 s of start-up that
    a restore without gaps to fill or clicks to repair never needs; the gap methods use it too)."""
    import scipy.signal

    return scipy.signal



def _solve_toeplitz():
    from scipy.linalg import solve_toeplitz

    return solve_toeplitz


def kernels():
    """:mod:`.ar_kernels` (numba-compiled where numba is installed), imported on first use."""
    from echoes.restore.gaps import ar_kernels

    return ar_kernels

#: Burg's noise floor: the zero-lag correlation of the data is raised by this fraction of
#: itself (-60 dB) before the fit, as white noise of that power would raise it in expectation
#: (a ridge on the covariance the reflection coefficients are computed from). It keeps
#: high-order models of band-limited audio from collapsing (measurements: docs/GAPS.md).
BURG_FLOOR = 1e-6


def autocorrelation(x: np.ndarray, lags: int) -> np.ndarray:
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
    r = sum(autocorrelation(s, order) for s in segs)
    data = np.concatenate(segs)
    bounds = np.cumsum([0] + [s.size for s in segs]).astype(np.int64)
    k = kernels()
    core = k.burg_core if k.HAVE_NUMBA else k.burg_core_numpy
    return core(data, bounds, r, order, float(floor))


def solve_toeplitz(col: np.ndarray, rhs: np.ndarray, p: int) -> np.ndarray:
    """Solve ``T x = rhs`` for the symmetric positive definite Toeplitz ``T`` with first column
    ``col`` (``(n,)``, zero beyond lag ``p``)."""
    if kernels().HAVE_NUMBA:
        return kernels().levinson(np.ascontiguousarray(col, dtype=np.float64),
                         np.ascontiguousarray(rhs, dtype=np.float64), int(p))
    return _solve_toeplitz()(col, rhs)


def autocorrelation_ar(x: np.ndarray, order: int) -> np.ndarray:
    """AR coefficients by the autocorrelation (Yule-Walker) method on a ``(samples,)`` array.

    The segment is used unwindowed, as in Janssen et al.; a relative ridge of 1e-9 keeps the
    Toeplitz system positive definite. Returns ``a`` with ``a[0] = 1`` as :func:`burg`.
    """
    x = np.asarray(x, dtype=np.float64)
    r = autocorrelation(x, order) / x.size
    if r[0] <= 0:
        a = np.zeros(order + 1)
        a[0] = 1.0
        return a
    r[0] *= 1.0 + 1e-9
    coef = _solve_toeplitz()(r[:order], -r[1 : order + 1])
    return np.concatenate([[1.0], coef])


def extrapolate(context: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    """Continue ``context`` (``(samples,)``, at least ``p`` long) by ``n`` samples of AR prediction."""
    p = a.size - 1
    past = context[-p:][::-1]  # y[-1], y[-2], ..., y[-p]
    zi = scipy_signal().lfiltic([1.0], a, past)
    y, _ = scipy_signal().lfilter([1.0], a, np.zeros(n), zi=zi)
    return y


def lsar_solve(seg: np.ndarray, g0: int, glen: int, models: list[np.ndarray]) -> np.ndarray:
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
        ra = scipy_signal().fftconvolve(a, a[::-1])[p:]  # autocorrelation, lags 0..p
        m = min(p + 1, glen)
        col[:m] += ra[:m]
        # prediction errors e[n] = sum_k a[k] y[n-k] of the rows that touch the gap,
        # n in [g0, g0+glen+p), all inside seg (p known samples on each side)
        lo = max(0, g0 - p)
        hi = min(seg.size, g0 + glen + p)
        e = scipy_signal().fftconvolve(y[lo:hi], a, mode="full")[g0 - lo : hi - lo]
        ew = np.zeros(glen + p)
        ew[: e.size] = e
        rhs -= scipy_signal().fftconvolve(ew, a[::-1], mode="valid")[:glen]
    col[0] *= 1.0 + 1e-10
    return solve_toeplitz(col, rhs, max(a.size - 1 for a in models))


def levinson_durbin(r: np.ndarray, order: int) -> np.ndarray:
    """Levinson-Durbin on each row of ``r`` (``(blocks, order + 1)`` autocorrelations):
    ``(blocks, order + 1)`` coefficients ``[1, a1, ..., ap]`` (the Yule-Walker solution, as
    :mod:`echoes.restore.declick` fits per block; rows that are silent or ill-conditioned get ``[1, 0, ..., 0]``)."""
    nb = r.shape[0]
    a = np.zeros((nb, order + 1))
    a[:, 0] = 1.0
    ok = r[:, 0] > 1e-12
    err = np.where(ok, r[:, 0], 1.0)
    for i in range(1, order + 1):
        acc = np.einsum("bj,bj->b", a[:, :i], r[:, i:0:-1])
        k = -acc / err
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + k[:, None] * a[:, i - 1 :: -1]
        err = err * (1.0 - k * k)
        ok &= err > 0
        err = np.where(err > 0, err, 1.0)
    ok &= np.all(np.isfinite(a), axis=1)
    a[~ok] = 0.0
    a[~ok, 0] = 1.0
    return a


_POOL: dict = {}  # process id -> the helper thread's executor (a forked child makes its own)


class _Now:
    """A finished result with the interface of a future (for the one-thread case)."""

    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value


def submit(fn: Callable, *args):
    """Run ``fn(*args)`` on a helper thread where there are two cores and ``OMP_NUM_THREADS``
    does not ask for one thread (the compiled recursions release the GIL), else at once;
    returns an object with ``.result()``. Tasks on the helper run one after another, in the
    order submitted, and compute the same numbers bit for bit either way."""
    if not kernels().HAVE_NUMBA or not second_thread_allowed():
        return _Now(fn(*args))
    pool = _POOL.get(os.getpid())
    if pool is None:
        pool = _POOL[os.getpid()] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="echoes-burg")
    return pool.submit(fn, *args)

