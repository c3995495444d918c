"""Gap filling on real recordings: gap SNR and gap LSD per method and gap length (seeded).

Protocol (``echoes evaluate --real``): every recording is mixed to mono and resampled to
:data:`RATE` (44.1 kHz). For each gap length of :data:`SHORT_MS` and :data:`LONG_MS`, gaps are
placed at seeded places inside music (:func:`echoes.eval.gaps.place_gaps`: the gap's RMS at
least -30 dB re the loud level, 4 gap lengths + 0.2 s from the ends and from each other),
zeroed together and filled by each method of :data:`METHODS` in one
:func:`~echoes.restore.gaps.fill.fill_gaps` call per recording (``copy-previous``, the baseline
implemented here, copies the gap-long stretch just before each gap into it). Scores per gap:

- gap SNR (dB, waveform, inside the gap; capped at :data:`~echoes.eval.gaps.SNR_CAP_DB`);
- gap LSD (:func:`gap_lsd`): log-spectral distance of the frames centred in the gap
  (log10 power, n_fft 2048, hop 512, Hann; RMS over bins, mean over frames); a gap shorter
  than a hop is scored on the one frame centred nearest its centre.

Means carry 95 % percentile-bootstrap intervals that resample whole pieces
(:func:`echoes.eval.stats.paired_difference`); ``auto`` is compared with ``janssen`` (paired SNR
difference, dB) and with ``copy-previous`` (ratio of mean LSDs, with its interval). The same
seed gives the same gaps and numbers.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

import numpy as np

from echoes.core.audio import resample
from echoes.eval.gaps import SNR_CAP_DB, damage
from echoes.eval.stats import paired_difference
from echoes.restore.gaps.fill import fill_gaps
from echoes.restore.gaps.methods.base import gap_snr
from echoes.restore.gaps.spans import Gap

__all__ = ["LONG_MS", "METHODS", "RATE", "SHORT_MS", "copy_previous", "gap_lsd", "real_gaps_section",
           "render_real_gaps"]

log = logging.getLogger(__name__)

RATE = 44_100
SHORT_MS = (10, 20, 50, 80)
LONG_MS = (150, 200, 300, 500, 1000)
#: Compared methods: ours (``auto``), Janssen, the paper's LPC, ``lsar``, and the naive copy.
METHODS = ("auto", "janssen", "lpc", "lsar", "copy-previous")
#: LSD's STFT (at 44.1 kHz) and the power floor added before the log (re full scale, -120 dB).
LSD_NFFT, LSD_HOP, LSD_FLOOR = 2048, 512, 1e-12
#: Gaps per recording and length: (short, long), full run and quick run; quick runs use only
#: the first QUICK_SECONDS of each recording.
GAPS_FULL = (12, 5)
GAPS_QUICK = (2, 1)
QUICK_SECONDS = 60.0


def copy_previous(x: np.ndarray, gaps: Sequence[Gap]) -> np.ndarray:
    """The baseline: each gap gets the gap-long stretch just before it (repeated where the
    recording starts sooner than that; silence at sample 0)."""
    y = np.array(x, dtype=np.float64, copy=True)
    for g in sorted(gaps, key=lambda g: g.start):
        n = g.length
        src = y[max(0, g.start - n) : g.start]
        if src.size:
            y[g.start : g.end] = np.resize(src, n) if src.size < n else src
    return y


def _frame_power(x: np.ndarray, centres: Sequence[int]) -> np.ndarray:
    """Power spectra ``(frames, LSD_NFFT // 2 + 1)`` of Hann frames centred at ``centres`` (zero padded)."""
    half = LSD_NFFT // 2
    xp = np.pad(np.asarray(x, dtype=np.float64), half)
    win = np.hanning(LSD_NFFT + 1)[:-1]
    frames = np.stack([xp[c : c + LSD_NFFT] for c in centres]) * win
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2 / np.sum(win**2)


def gap_lsd(clean: np.ndarray, filled: np.ndarray, gap: Gap) -> float:
    """Log-spectral distance of one gap (see the module docstring), both ``(samples,)`` at 44.1 kHz."""
    first = -(-gap.start // LSD_HOP) * LSD_HOP
    centres = list(range(first, gap.end, LSD_HOP)) or [
        int(round((gap.start + gap.end) / 2 / LSD_HOP)) * LSD_HOP]
    a = np.log10(_frame_power(clean, centres) + LSD_FLOOR)
    b = np.log10(_frame_power(filled, centres) + LSD_FLOOR)
    return float(np.mean(np.sqrt(np.mean((a - b) ** 2, axis=1))))


def _mono44(rec) -> np.ndarray:
    x = np.asarray(rec.audio, dtype=np.float32)
    x = x.mean(axis=0) if x.ndim == 2 else x
    if int(rec.sample_rate) != RATE:
        x = resample(x, int(rec.sample_rate), RATE)
    return np.ascontiguousarray(x, dtype=np.float32)


def _ci(values: list[float], groups: list[int], seed: int) -> list[float] | None:
    r = paired_difference(values, [0.0] * len(values), groups=groups, seed=seed)
    return r["ci95_db"]


def _ratio(a: list[float], b: list[float], groups: list[int], seed: int, n_boot: int = 10_000) -> dict:
    """Ratio of means ``mean(a) / mean(b)`` with a 95 % interval resampling whole pieces."""
    a_, b_, g = np.asarray(a), np.asarray(b), np.asarray(groups)
    if a_.size == 0:
        return {"ratio": None, "ci95": None, "n": 0}
    keys, idx = np.unique(g, return_inverse=True)
    sa, sb = np.bincount(idx, weights=a_), np.bincount(idx, weights=b_)
    pick = np.random.default_rng(seed).integers(0, keys.size, size=(n_boot, keys.size))
    boots = sa[pick].sum(axis=1) / np.maximum(sb[pick].sum(axis=1), 1e-12)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"ratio": float(a_.sum() / max(b_.sum(), 1e-12)), "ci95": [float(lo), float(hi)],
            "n": int(a_.size), "pieces": int(keys.size)}


def real_gaps_section(recordings: Sequence, *, quick: bool, seed: int = 0,
                      methods: Sequence[str] = METHODS, gap_ms: Sequence[float] | None = None,
                      gaps_per_length: tuple[int, int] | None = None) -> dict[str, Any]:
    """Gap SNR and gap LSD of each method at each length on real recordings (module docstring).

    ``recordings``: objects with ``.name``, ``.audio`` ``(channels, samples)`` and
    ``.sample_rate`` (:class:`echoes.eval.real_material.Recording`). ``quick``: 2 short and 1
    long gap per recording and length in its first 60 s (about a minute on 2 cores).
    ``methods``, ``gap_ms``, ``gaps_per_length`` (short, long) override the defaults (studies).

    Returns ``{"per_length": {ms: {method: {"snr_db", "snr_ci95", "lsd", "lsd_ci95", "n",
    "seconds_per_gap", "per_gap_snr", "per_gap_lsd", "per_gap_piece", "methods_used"}}},
    "auto_vs_janssen_snr": {ms: paired}, "auto_vs_copy_lsd_ratio": {ms: ratio}, "pieces": [...],
    "settings": {...}}``.
    """
    gap_ms = tuple(gap_ms or SHORT_MS + LONG_MS)
    short_n, long_n = gaps_per_length or (GAPS_QUICK if quick else GAPS_FULL)
    signals = []
    for rec in recordings:
        x = _mono44(rec)
        signals.append(x[: int(QUICK_SECONDS * RATE)] if quick else x)
    per_length: dict[str, dict] = {}
    vs_j: dict[str, Any] = {}
    vs_c: dict[str, Any] = {}
    for ms in gap_ms:
        key = str(int(ms)) if float(ms).is_integer() else str(ms)
        length = int(round(ms * RATE / 1000))
        margin = 4 * length + int(0.2 * RATE)
        count = short_n if ms < 150 else long_n
        acc = {m: {"snr": [], "lsd": [], "piece": [], "t": 0.0, "used": {}} for m in methods}
        for k, x in enumerate(signals):
            rng = np.random.default_rng([seed, int(ms * 1000), k])
            gaps, damaged = damage(x, RATE, length, count, margin=margin, rng=rng)
            if not gaps:
                continue
            for m in methods:
                t = time.perf_counter()
                if m == "copy-previous":
                    filled, done = copy_previous(damaged, gaps), [Gap(g.start, g.end, RATE, method=m) for g in gaps]
                else:
                    filled, done = fill_gaps(damaged, RATE, gaps, method=m)
                acc[m]["t"] += time.perf_counter() - t
                for g in done:
                    acc[m]["snr"].append(min(gap_snr(x[g.start : g.end], filled[g.start : g.end]), SNR_CAP_DB))
                    acc[m]["lsd"].append(gap_lsd(x, filled, g))
                    acc[m]["piece"].append(k)
                    name = str(g.method)
                    acc[m]["used"][name] = acc[m]["used"].get(name, 0) + 1
        row = {}
        for m in methods:
            a = acc[m]
            n = len(a["snr"])
            row[m] = {
                "snr_db": float(np.mean(a["snr"])) if n else None,
                "snr_ci95": _ci(a["snr"], a["piece"], seed) if n else None,
                "lsd": float(np.mean(a["lsd"])) if n else None,
                "lsd_ci95": _ci(a["lsd"], a["piece"], seed) if n else None,
                "n": n, "seconds_per_gap": a["t"] / n if n else None,
                "per_gap_snr": [round(v, 3) for v in a["snr"]], "per_gap_lsd": [round(v, 4) for v in a["lsd"]],
                "per_gap_piece": a["piece"], "methods_used": a["used"],
            }
        per_length[key] = row
        if "auto" in acc and "janssen" in acc:
            vs_j[key] = paired_difference(acc["auto"]["snr"], acc["janssen"]["snr"], groups=acc["auto"]["piece"],
                                          seed=seed)
        if "auto" in acc and "copy-previous" in acc:
            vs_c[key] = _ratio(acc["auto"]["lsd"], acc["copy-previous"]["lsd"], acc["auto"]["piece"], seed)
        log.info("real gaps %s ms: %s", key, ", ".join(
            f"{m} {row[m]['snr_db']:.2f} dB / LSD {row[m]['lsd']:.3f}" for m in methods if row[m]["n"]))
    return {"per_length": per_length, "auto_vs_janssen_snr": vs_j, "auto_vs_copy_lsd_ratio": vs_c,
            "pieces": [getattr(r, "name", str(i)) for i, r in enumerate(recordings)],
            "settings": {"quick": quick, "seed": seed, "rate": RATE, "gap_ms": list(gap_ms),
                         "gaps_per_length": [short_n, long_n], "methods": list(methods),
                         "lsd": {"n_fft": LSD_NFFT, "hop": LSD_HOP, "floor": LSD_FLOOR}}}


def _fmt(v, ci, digits: int) -> str:
    if v is None:
        return "–"
    s = f"{v:.{digits}f}"
    return s + (f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else "")


def render_real_gaps(d: dict[str, Any]) -> list[str]:
    """Markdown lines: gap SNR and gap LSD per method and length, and ours against the baselines."""
    rows = d["per_length"]
    lengths = list(rows)
    methods = list(next(iter(rows.values()))) if rows else []
    st = d["settings"]
    out = [f"Real recordings ({len(d['pieces'])} pieces, 44.1 kHz mono, seed {st['seed']}"
           f"{', quick' if st['quick'] else ''}): gaps inside music, mean over gaps with a 95 % "
           "interval over pieces.", ""]
    for title, key, ci, digits in (("Gap SNR (dB, higher is better)", "snr_db", "snr_ci95", 2),
                                   ("Gap LSD (log10 power, lower is better)", "lsd", "lsd_ci95", 3)):
        out += [f"**{title}**", "", "| method | " + " | ".join(f"{ms} ms" for ms in lengths) + " |",
                "|---|" + "---|" * len(lengths)]
        for m in methods:
            out.append(f"| {m} | " + " | ".join(_fmt(rows[ms][m][key], rows[ms][m][ci], digits)
                                                 for ms in lengths) + " |")
        out.append("")
    if d.get("auto_vs_janssen_snr") or d.get("auto_vs_copy_lsd_ratio"):
        out += ["| length | auto − janssen, SNR dB | auto / copy-previous, LSD | gaps |", "|---|---|---|---|"]
        for ms in lengths:
            j = d["auto_vs_janssen_snr"].get(ms, {})
            c = d["auto_vs_copy_lsd_ratio"].get(ms, {})
            out.append(f"| {ms} ms | {_fmt(j.get('mean_db'), j.get('ci95_db'), 2)} | "
                       f"{_fmt(c.get('ratio'), c.get('ci95'), 2)} | {rows[ms]['auto']['n'] if 'auto' in rows[ms] else ''} |")
        out.append("")
    return out
