"""Compiled kernels of :mod:`echoes.restore.gaps.ar`: Burg's recursion and Levinson's solve.

Contract: every array is float64 and contiguous; ``burg_core(x, bounds, r, order, floor)``
returns the ``(order + 1,)`` prediction-error filter (``a[0] = 1``) of the segments
``x[bounds[s]:bounds[s+1]]`` from their summed autocorrelation ``r[0..order]``;
``levinson(t, b, p)`` solves ``T x = b`` for the symmetric positive definite Toeplitz ``T``
with first column ``t`` (zero beyond lag ``p``). :func:`burg_core_numpy` is the same
recursion in numpy, used where numba is missing (:data:`HAVE_NUMBA` False; ``burg_core``,
``levinson`` and ``dot`` are then ``None``).

Results are bit-for-bit repeatable: fast-math without reassociation everywhere except the two
inner-product kernels (``dot``, ``_axpy_dot``), whose summation order depends on the length
only, never on where the arrays lie in memory (a test checks it). Numba caches the compiled
code beside this module where it may write. Timings: docs/GAPS.md.
"""

from __future__ import annotations

import numpy as np


def burg_core_numpy(x: np.ndarray, bounds: np.ndarray, r: np.ndarray, order: int,
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
    #: the two inner-product kernels below (``dot``, ``_axpy_dot``) reassociate, on views of
    #: separate arrays; a test checks that their results do not depend on placement.
    _FAST = {"nnan", "ninf", "nsz", "arcp", "contract", "afn"}

    @numba.njit(cache=True, fastmath=_FAST | {"reassoc"}, nogil=True)
    def dot(u, v):  # pragma: no cover - compiled
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
    def burg_core(x, bounds, r, order, floor):  # pragma: no cover - compiled
        """The same recursion as :func:`burg_core_numpy`, with cb and af also kept reversed
        (cb[i] at cbr[p + 1 - i], af[i] at afr[p - 1 - i]) and x read backwards through xr."""
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
            cfn = first[n] + dot(last[:n], afrn)
            cbn = last[n] + dot(first[:n], afrn)
            cf[n + 1] = cfn
            cbr[p - n] = cbn
            cbv = cbr[p + 1 - n : p + 1]  # cb[n], ..., cb[1]
            num = cbn + dot(cbv, afn)
            den = cbr[p + 1] + cf[0] + dot(cf[1 : n + 1], afn) + dot(cbv, afrn)
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
    def levinson(t, b, p):  # pragma: no cover - compiled
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
            mu = (bb[k] - dot(rv, x[k - m : k])) / beta
            if k < n - 1:
                alpha = (-rr[n - 1 - k] - dot(rv, y[k - m : k])) / beta
                _levinson_step(x[:k], y[:k], yb[n - k : n], mu, alpha)
                y[k] = alpha
                yb[n - k - 1] = alpha
            else:
                _axpy(x[:k], mu, yb[n - k : n])
            x[k] = mu
        return x

    HAVE_NUMBA = True
    HAVE_NUMBA = True
except Exception:  # pragma: no cover - numba missing
    HAVE_NUMBA = False
    burg_core = levinson = dot = None
