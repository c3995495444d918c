"""Statistics for comparing methods on the same material: paired differences, bootstrap intervals.

Contract: two methods scored on the same items (gaps) give two equally long lists of dB
values; :func:`paired_difference` returns the mean of their differences (float64) and a 95 %
percentile-bootstrap interval drawn from ``numpy.random.default_rng(seed)``, so a seed gives
the same interval every run. With ``groups`` (the piece of each item) whole pieces are
resampled, the honest interval for "on other pieces". :func:`same_gaps` checks that two
methods' results were scored on the same gaps and returns those groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def paired_difference(a: list[float], b: list[float], *, groups: list[int] | None = None, seed: int = 0,
                      n_boot: int = 10_000) -> dict[str, Any]:
    """Mean of ``a[i] - b[i]`` (dB, the same gaps filled two ways) with a 95 % bootstrap
    interval (percentile, seeded). Without ``groups`` the gaps are resampled with replacement;
    with ``groups`` (the piece each gap lies in) whole pieces are, and each draw averages all
    the gaps of the pieces drawn: gaps of one piece are alike, so this interval is the honest
    one for "on other pieces" (and the wider one)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size == 0:
        return {"mean_db": None, "ci95_db": None, "n": 0}
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"mean_db": float(d.mean()), "n": int(d.size)}
    if groups is None:
        boots = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    else:
        g = np.asarray(groups)
        if g.shape != d.shape:
            raise ValueError(f"groups has {g.size} entries for {d.size} differences")
        keys, idx = np.unique(g, return_inverse=True)
        sums, counts = np.bincount(idx, weights=d), np.bincount(idx).astype(np.float64)
        pick = rng.integers(0, keys.size, size=(n_boot, keys.size))
        boots = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
        out["pieces"] = int(keys.size)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {**out, "ci95_db": [float(lo), float(hi)]}


def same_gaps(x: dict[str, Any], y: dict[str, Any]) -> list[int]:
    """The piece of each gap, checked to be the same list for two methods' results."""
    if x["per_gap_signal"] != y["per_gap_signal"]:
        raise ValueError("two methods were scored on different gaps")
    return x["per_gap_signal"]
