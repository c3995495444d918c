"""``transplant``: fill a long gap with plausible music from elsewhere in the recording.

Every AR model fades towards silence across a long gap; music does not. The donor is the
passage whose surroundings sound most like the gap's surroundings, both sides at once: the
recording's log band energies (:func:`transplant_features`, :data:`TP_BANDS` log-spaced bands
at a hop of about 23 ms, computed once per channel) are compared with those of
:data:`TP_CONTEXT_S` on each side of the gap, up to a level offset, at every shift of the
recording (one FFT correlation, so the search costs O(frames log frames) per gap, with
frames touching a gap still unfilled excluded). The :data:`TP_CANDIDATES` best separated
shifts are aligned to the sample on the waveform beside the gap, and the best-joining one
is used. It is then matched to the gap's surroundings: an equaliser (the ratio of the
context's band spectrum to the donor context's, smoothed, within ±:data:`TP_MAX_EQ_DB`) and a
level that runs in dB from the left side's ratio to the right side's. The seams are
:data:`TP_BRIDGE_MS` AR bridges (:func:`~.lsar.fill_lsar` between the real audio and the
donor) and, below :data:`TP_BLEND_BELOW_MS`, the donor is cross-faded with the two-sided AR
fill, which is accurate near the edges. Above :data:`TP_HIGH_HZ` (the noise floor of a historic
recording, not the music) the donor's band is replaced by noise shaped to the log spectrum
expected in the gap (:func:`_noise_band`: the sides' and the best candidates' mean), which
beats any one realisation of it. It never fades to silence: a donor quieter than
:data:`TP_MIN_DONOR_DB` below the gap's surroundings is not used, and where no donor exists
the stretch before the gap is the donor.

Contract: :mod:`.base`, except that :func:`fill_transplant` returns ``(samples, method used,
info)`` where ``info`` is ``{"donor": (start, end)}`` in samples of the channel (or ``{}``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from echoes.restore.gaps.ar import scipy_signal as _signal
from echoes.restore.gaps.methods.base import Ctx, usable_context
from echoes.restore.gaps.methods.lsar import fill_lsar

#: Feature frames: hop of about TP_HOP_S (a power of two in samples), frame twice as long,
#: TP_BANDS log-spaced bands from TP_FMIN Hz to min(TP_FMAX, Nyquist).
TP_HOP_S = 0.023
TP_BANDS = 32
TP_FMIN, TP_FMAX = 50.0, 16_000.0
#: Context compared on each side of the gap (seconds; less where the recording or another
#: gap stops it).
TP_CONTEXT_S = 1.0
#: Separated candidates refined on the waveform, and the lag range of that refinement (hops).
TP_CANDIDATES = 8
#: Equaliser bound (dB) and the donor's lowest level re the gap's surroundings (dB).
TP_MAX_EQ_DB = 12.0
TP_MIN_DONOR_DB = -20.0
#: AR bridge at each seam (ms), and the length below which the donor is cross-faded with lsar.
TP_BRIDGE_MS = 20.0
TP_BLEND_BELOW_MS = 0.0
#: Waveform stretch beside the gap that aligns a candidate to the sample (ms).
TP_ALIGN_MS = 40.0
#: Equaliser: "ramp" (band gains that run from the left side's ratio to the right side's
#: across the gap, in the STFT domain) or "fir" (one gain curve for both sides).
TP_EQ = "ramp"
#: Stretch each side used to measure the ramp's band gains (s).
TP_EQ_SIDE_S = 0.15
#: How many of the best candidates (by band energies) are aligned and compared on the waveform.
TP_ALIGN_TOP = 8
#: The noise band (issue 30, docs/GAPS.md "Long gaps: the noise band"): above TP_HIGH_HZ (a
#: raised-cosine cross-over TP_HIGH_OCT octaves wide centred there) the donor is replaced by
#: noise whose mean log spectrum is the one expected in the gap, frame by frame: the sides'
#: (TP_FLOOR_SIDE_S each side) interpolated from the left to the right, averaged with weight
#: TP_KNN_W with the mean over the TP_KNN_N best candidates' own (equalised) spectra. False:
#: the donor's own band, equalised like the rest (before issue 30's noise band).
TP_NOISE_BAND = True
TP_HIGH_HZ = 4000.0
TP_HIGH_OCT = 0.5
TP_FLOOR_SIDE_S = 0.3
TP_KNN_W = 0.5
TP_KNN_N = 8
#: STFT of the noise band (at 44.1 kHz; scaled with the rate) and its smoothing across bins.
TP_HIGH_NFFT = 2048
TP_HIGH_SMOOTH_HZ = 50.0
#: Power floor of those mean log spectra (re full scale, per bin of the normalised STFT):
#: below anything audible, and low enough that a codec's empty bins stay nearly empty.
TP_LOG_FLOOR = 1e-20


@dataclass(frozen=True)
class TransplantFeatures:
    """Log band energies of one channel: ``feats`` float32 ``(frames, TP_BANDS)``; frame ``i``
    covers samples ``[i*hop, i*hop + 2*hop)``."""

    hop: int
    feats: np.ndarray


def _hop(sr: int) -> int:
    return int(2 ** round(np.log2(TP_HOP_S * sr)))


def _bands(sr: int, nfft: int) -> np.ndarray:
    """Band index of each rfft bin (-1: unused), TP_BANDS log-spaced bands, none empty."""
    f = np.fft.rfftfreq(nfft, 1.0 / sr)
    edges = np.geomspace(TP_FMIN, min(TP_FMAX, sr / 2), TP_BANDS + 1)
    idx = np.searchsorted(edges, f, side="right") - 1
    idx[(f < edges[0]) | (f >= edges[-1])] = -1
    used = np.unique(idx[idx >= 0])  # renumber so no band is empty
    out = np.full(f.size, -1)
    for k, b in enumerate(used):
        out[idx == b] = k
    return out


def _band_power(frames: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Mean power per band of windowed frames ``(n, nfft)`` -> ``(n, bands)``."""
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    nb = int(band.max()) + 1
    out = np.zeros((p.shape[0], nb))
    for b in range(nb):
        out[:, b] = p[:, band == b].mean(axis=1)
    return out


def transplant_features(x: np.ndarray, sr: int) -> TransplantFeatures:
    """Log10 band energies of a float64 ``(samples,)`` channel (computed once per channel, in
    blocks of frames so memory stays small on an hour-long file)."""
    hop = _hop(sr)
    nfft = 2 * hop
    band = _bands(sr, nfft)
    n = max(0, (x.size - nfft) // hop + 1)
    win = np.hanning(nfft).astype(np.float32)
    nb = int(band.max()) + 1
    feats = np.zeros((n, nb), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=np.float32), nfft)[::hop]
    for i in range(0, n, 4096):
        fr = view[i : i + 4096] * win
        feats[i : i + fr.shape[0]] = np.log10(_band_power(fr, band) + 1e-10)
    return TransplantFeatures(hop, feats)


def _search(c: Ctx, f: TransplantFeatures, s: int, e: int, nl: int, nr: int) -> list[int]:
    """Donor starts (samples), best first: shifts of the recording whose log band energies
    beside the donor match those beside the gap (level offset removed), frames touching an
    unfilled gap excluded, separated by at least a gap length."""
    hop, F = f.hop, f.feats
    nf = F.shape[0]
    il1 = s // hop - 2 + 1  # frames fully before s: i*hop + 2*hop <= s
    il0 = il1 - max(1, nl // hop - 1)
    ir0 = -(-e // hop)  # frames from e on
    ir1 = min(nf, ir0 + max(1, nr // hop - 1))
    il0 = max(0, il0)
    if il1 - il0 < 2 or ir1 - ir0 < 2:
        return []
    tlen = ir1 - il0
    w = np.zeros(tlen)
    w[: il1 - il0] = 1.0
    w[ir0 - il0 :] = 1.0
    T = F[il0:ir1].astype(np.float64) * w[:, None]
    if nf < tlen + 1:
        return []
    sw = w.sum() * F.shape[1]
    cross = _signal().oaconvolve(F, T[::-1], mode="valid", axes=0).sum(axis=1)
    rows = F.astype(np.float64).sum(axis=1)
    sq = (F.astype(np.float64) ** 2).sum(axis=1)
    sum_f = np.convolve(rows, w[::-1], mode="valid")
    sum_f2 = np.convolve(sq, w[::-1], mode="valid")
    sum_t, sum_t2 = T.sum(), (T * T).sum()
    diff = sum_f - sum_t
    dist = (sum_f2 - 2 * cross + sum_t2 - diff * diff / sw) / sw  # level offset removed
    # a candidate window (template and donor span) must not touch unknown samples
    bad = np.zeros(nf + 1, dtype=bool)
    fr = np.flatnonzero(c.unknown) // hop  # sample u lies in frames u // hop - 1 and u // hop
    bad[np.minimum(fr, nf)] = True
    bad[np.clip(fr - 1, 0, nf)] = True
    bad = bad[:nf]
    bcum = np.concatenate([[0], np.cumsum(bad)])
    k = np.arange(dist.size)
    badw = (bcum[k + tlen] - bcum[k]) > 0
    # the donor must be loud enough: its span's mean level against the template's sides
    lvl = np.convolve(rows, np.ones(ir0 - il1 + 1), mode="valid") / (ir0 - il1 + 1) / F.shape[1]
    ctx_lvl = sum_t / sw
    shift = il1 - il0
    donor_lvl = lvl[np.minimum(k + shift, lvl.size - 1)]
    quiet = 10 * (donor_lvl - (sum_f / sw)) < TP_MIN_DONOR_DB  # re the donor's own surroundings
    quiet |= 10 * (donor_lvl - ctx_lvl) < TP_MIN_DONOR_DB - 20.0
    dist[badw | quiet] = np.inf
    order = np.argsort(dist, kind="stable")
    sep = max(1, (e - s) // hop)
    out: list[int] = []
    for i in order:
        if not np.isfinite(dist[i]) or len(out) >= TP_CANDIDATES:
            break
        if all(abs(int(i) - j) > sep for j in out):
            out.append(int(i))
    # frame shift -> donor sample start: the gap sits (s - il0*hop) into the template
    return [int(i * hop + (s - il0 * hop)) for i in out]


def _align(c: Ctx, s: int, e: int, t: int, nl: int, nr: int, hop: int) -> tuple[int, float]:
    """Donor start within ``t ± hop`` whose waveform beside the donor best matches the gap's
    sides (normalised cross-correlation of TP_ALIGN_MS each side); ``(t, ncc)``."""
    x, glen = c.x, e - s
    a = min(int(TP_ALIGN_MS * c.sr / 1000), nl, nr)
    tmpl = np.concatenate([x[s - a : s], x[e : e + a]])
    et = float(tmpl @ tmpl)
    best_t, best_v = t, -np.inf
    lo, hi = max(a, t - hop), min(x.size - glen - a, t + hop)
    if hi < lo or et <= 0:
        return t, -1.0
    seg = x[lo - a : hi + glen + a]
    l_part = _signal().correlate(seg[: hi - lo + a], x[s - a : s], mode="valid")
    r_part = _signal().correlate(seg[glen + a :], x[e : e + a], mode="valid")
    num = l_part + r_part
    cs = np.concatenate([[0.0], np.cumsum(seg * seg)])
    m = np.arange(num.size)
    den = (cs[m + a] - cs[m]) + (cs[m + glen + 2 * a] - cs[m + glen + a])
    ucum = np.concatenate([[0], np.cumsum(c.unknown[lo - a : hi + glen + a])])
    m = np.arange(num.size)
    ok = (ucum[m + glen + 2 * a] - ucum[m]) == 0
    v = np.where(ok, num / np.sqrt(np.maximum(den * et, 1e-30)), -np.inf)
    if np.isfinite(v).any():
        j = int(np.argmax(v))
        best_t, best_v = lo + j, float(v[j])
    return best_t, best_v


def _eq_gain(c: Ctx, s: int, e: int, t: int, a: int) -> tuple[np.ndarray, float, float]:
    """FIR equaliser (taps) matching the donor's surroundings' band spectrum to the gap's, and
    the broadband gains (left, right) that match each side's level."""
    x, glen, sr = c.x, e - s, c.sr
    nfft = 2048 if sr >= 32_000 else 1024
    def psd(y):
        if y.size < nfft:
            y = np.pad(y, (0, nfft - y.size))
        return _signal().welch(y, sr, nperseg=nfft)[1]
    left_g, right_g = x[s - a : s], x[e : e + a]
    left_d, right_d = x[t - a : t], x[t + glen : t + glen + a]
    pg, pd = psd(np.concatenate([left_g, right_g])), psd(np.concatenate([left_d, right_d]))
    # smooth over third-octave-ish neighbourhoods, then bound
    f = np.fft.rfftfreq(nfft, 1.0 / sr)
    ratio = np.ones_like(f)
    for i, fi in enumerate(f):
        sel = (f >= fi / 1.12) & (f <= fi * 1.12) if fi > 0 else (f <= f[1])
        ratio[i] = (pg[sel].sum() + 1e-20) / (pd[sel].sum() + 1e-20)
    gdb = np.clip(10 * np.log10(ratio), -TP_MAX_EQ_DB, TP_MAX_EQ_DB)
    gdb -= np.average(gdb, weights=pg + 1e-20)  # the EQ shapes, the gains below set the level
    taps = _signal().firwin2(513, f / (sr / 2), 10 ** (gdb / 20))

    def gain(g, d):
        eg, ed = float(g @ g), float(d @ d)
        return np.sqrt(eg / ed) if ed > 0 and eg > 0 else 1.0
    lim = 10 ** (-TP_MIN_DONOR_DB / 20)
    return taps, min(gain(left_g, left_d), lim), min(gain(right_g, right_d), lim)


def _ramp_eq(c: Ctx, s: int, e: int, t: int, donor: np.ndarray) -> np.ndarray:
    """``donor`` (the raw ``x[t:t+glen]``) with band gains that run, frame by frame, from the
    ratio of the gap's left side to the donor's left side (band powers of TP_EQ_SIDE_S) to the
    same ratio on the right, each within ±TP_MAX_EQ_DB of the broadband ratio and at most
    -TP_MIN_DONOR_DB of boost."""
    x, glen, sr = c.x, e - s, c.sr
    nfft = 1024 if sr >= 32_000 else 512
    hop = nfft // 4
    a = max(nfft, min(int(TP_EQ_SIDE_S * sr), s, t, x.size - t - glen, x.size - e))
    band = _bands(sr, nfft)
    win = np.hanning(nfft)

    def bp(y):
        fr = np.lib.stride_tricks.sliding_window_view(y, nfft)[:: nfft // 2] * win
        return _band_power(fr, band).mean(axis=0) + 1e-20
    gl = 10 * np.log10(bp(x[s - a : s]) / bp(x[t - a : t]))
    gr = 10 * np.log10(bp(x[e : e + a]) / bp(x[t + glen : t + glen + a]))
    for g in (gl, gr):
        mid = np.median(g)
        np.clip(g, mid - TP_MAX_EQ_DB, mid + TP_MAX_EQ_DB, out=g)
        np.clip(g, None, -TP_MIN_DONOR_DB, out=g)
    pad = nfft
    if t >= pad and t + glen + pad <= x.size:
        seg = np.asarray(x[t - pad : t + glen + pad], dtype=np.float64)
    else:
        seg = np.pad(donor, pad)
    nfr = (seg.size - nfft) // hop + 1
    starts = np.arange(nfr) * hop
    fr = np.lib.stride_tricks.sliding_window_view(seg, nfft)[::hop][:nfr] * win
    r = np.clip((starts + nfft / 2 - pad) / max(glen, 1), 0.0, 1.0)
    gdb = (1 - r)[:, None] * gl[None, :] + r[:, None] * gr[None, :]  # (frames, bands)
    first = int(np.argmax(band >= 0))
    bins = np.where(band >= 0, band, np.where(np.arange(band.size) < first, 0, band.max()))
    spec = np.fft.rfft(fr, axis=1) * 10 ** (gdb[:, bins] / 20)
    y = np.zeros(seg.size)
    norm = np.zeros(seg.size)
    frames = np.fft.irfft(spec, nfft, axis=1) * win
    for i, st in enumerate(starts):  # overlap-add, window-square normalised
        y[st : st + nfft] += frames[i]
        norm[st : st + nfft] += win * win
    y = y / np.maximum(norm, 1e-3)
    return y[pad : pad + glen]


def _stft(y: np.ndarray, nfft: int, hop: int, win: np.ndarray) -> np.ndarray:
    fr = np.lib.stride_tricks.sliding_window_view(y, nfft)[::hop] * win
    return np.fft.rfft(fr, axis=1)


def _istft(spec: np.ndarray, n: int, nfft: int, hop: int, win: np.ndarray) -> np.ndarray:
    frames = np.fft.irfft(spec, nfft, axis=1) * win
    y, norm = np.zeros(n), np.zeros(n)
    for i in range(frames.shape[0]):  # overlap-add, window-square normalised
        y[i * hop : i * hop + nfft] += frames[i]
        norm[i * hop : i * hop + nfft] += win * win
    return y / np.maximum(norm, 1e-3)


def _smooth(v: np.ndarray, k: int) -> np.ndarray:
    """Moving average over ``2k + 1`` values along the last axis (edges repeated)."""
    padded = np.pad(v, [(0, 0)] * (v.ndim - 1) + [(k, k)], mode="edge")
    cs = np.concatenate([np.zeros(v.shape[:-1] + (1,)), np.cumsum(padded, axis=-1)], axis=-1)
    return (cs[..., 2 * k + 1 :] - cs[..., : -2 * k - 1]) / (2 * k + 1)


def _log_power(y: np.ndarray, nfft: int, hop: int, win: np.ndarray) -> np.ndarray:
    """log10 power ``(frames, bins)`` of the STFT, normalised to full scale, floored."""
    return np.log10(np.abs(_stft(y, nfft, hop, win)) ** 2 / np.sum(win * win) + TP_LOG_FLOOR)


def _noise_band(c: Ctx, s: int, e: int, donor: np.ndarray, others: list[np.ndarray]) -> np.ndarray | None:
    """``donor`` (the equalised fill, ``(e - s,)``) with its band above TP_HIGH_HZ replaced by
    Gaussian noise shaped to the mean log spectrum expected in the gap (module constants);
    ``None`` where neither side has enough audio to estimate it (the donor then stays whole).

    Above a few kHz a historic recording is mostly its noise floor (hiss, a codec's noise and
    empty bins, faint partials) 80-100 dB down. The donor's realisation of it differs from the
    gap's in level and fine shape as well as in its randomness; the expected log spectrum is
    estimated instead, per frame and bin: the sides' mean (``TP_FLOOR_SIDE_S`` each side,
    interpolated across the gap) averaged with the mean over ``others`` (the best candidates,
    equalised: passages whose surroundings sound like the gap's, so their mean is what such
    surroundings are usually followed by). A Gaussian bin's mean log10 power lies 0.2507
    (Euler's constant / ln 10) under the log10 of its mean power, which sets the noise level.
    The band below stays the donor's (the music)."""
    sr, glen = c.sr, e - s
    nfft = max(256, int(2 ** round(np.log2(TP_HIGH_NFFT * sr / 44_100))))
    hop = nfft // 4
    win = np.hanning(nfft + 1)[:-1]
    k = max(1, int(round(TP_HIGH_SMOOTH_HZ / (sr / nfft))))
    nl, nr = usable_context(c, s, e, int(TP_FLOOR_SIDE_S * sr))
    sides = [_smooth(_log_power(np.asarray(c.x[lo:hi], dtype=np.float64), nfft, hop, win).mean(axis=0), k)
             for lo, hi in ((s - nl, s), (e, e + nr)) if hi - lo >= nfft]
    if not sides:
        return None
    ml, mr = sides[0], sides[-1]
    pad = nfft
    n = glen + 2 * pad
    n_fr = (n - nfft) // hop + 1
    r = np.clip((np.arange(n_fr) * hop + nfft / 2 - pad) / max(glen, 1), 0.0, 1.0)[:, None]
    target = (1 - r) * ml[None, :] + r * mr[None, :]  # expected log10 power per frame and bin
    first, last = -(-pad // hop), (pad + glen - nfft) // hop  # frames [first, last] inside the gap
    if TP_KNN_W > 0 and others and last >= first:
        knn = np.zeros((last - first + 1, target.shape[1]))
        for d in others:
            p = _log_power(d[first * hop - pad : last * hop - pad + nfft], nfft, hop, win)
            knn += _smooth(p, k)
        knn /= len(others)
        target[first : last + 1] = TP_KNN_W * knn + (1 - TP_KNN_W) * target[first : last + 1]
    f = np.fft.rfftfreq(nfft, 1.0 / sr)
    lo_f, hi_f = TP_HIGH_HZ * 2 ** (-TP_HIGH_OCT / 2), TP_HIGH_HZ * 2 ** (TP_HIGH_OCT / 2)
    wh = np.sin(0.5 * np.pi * np.clip(np.log2(np.maximum(f, 1.0) / lo_f) / np.log2(hi_f / lo_f), 0.0, 1.0)) ** 2
    # deterministic: seeded by the gap and the channel's last samples before it (so the
    # channels of a stereo recording get their own noise, and identical channels the same)
    key = np.frombuffer(np.asarray(c.x[max(0, s - 8) : s], dtype=np.float64).tobytes(), dtype=np.uint32)
    noise = np.random.default_rng([s, e, 30, *key.tolist()]).standard_normal(n)
    # unit white noise has E|X|^2 = sum(win^2) per bin: scaled to 10^(target + 0.2507) re full scale
    amp = np.sqrt(10 ** (target + 0.2507))
    spec = _stft(np.pad(donor, pad), nfft, hop, win) * (1 - wh) + _stft(noise, nfft, hop, win) * amp * wh
    return _istft(spec, n, nfft, hop, win)[pad : pad + glen]


def fill_transplant(c: Ctx, s: int, e: int) -> tuple[np.ndarray, str, dict]:
    """A long gap filled from the best-matching passage (see the module docstring)."""
    glen, sr = e - s, c.sr
    f: TransplantFeatures | None = c.feats if isinstance(c.feats, TransplantFeatures) else None
    want = int(TP_CONTEXT_S * sr)
    nl, nr = usable_context(c, s, e, want)
    a = min(int(0.3 * sr), nl, nr)
    t, hop = -1, _hop(sr)
    donor, others = None, []
    if f is not None and min(nl, nr) >= 4 * hop:
        best, j = -np.inf, -1
        found = _search(c, f, s, e, nl, nr)
        cands = []
        for i, cand in enumerate(found[:TP_ALIGN_TOP]):
            tt, v = _align(c, s, e, cand, nl, nr, hop)
            cands.append(tt)
            if v > best:
                t, best, j = tt, v, i
        if TP_NOISE_BAND and TP_KNN_W > 0 and TP_EQ == "ramp" and cands:
            pool = cands + found[len(cands) : TP_KNN_N]  # the aligned ones first
            others = [_ramp_eq(c, s, e, tt, np.asarray(c.x[tt : tt + glen], dtype=np.float64)) for tt in pool]
            if j >= 0:
                donor = others[j]  # the chosen donor, equalised (the same call as below)
    if t >= 0 and donor is None:
        a = max(8, min(a, t, c.x.size - (t + glen)))
        if TP_EQ == "ramp":
            donor = _ramp_eq(c, s, e, t, np.asarray(c.x[t : t + glen], dtype=np.float64))
        else:
            taps, gl, gr = _eq_gain(c, s, e, t, a)
            pad = taps.size // 2
            lo, hi = max(0, t - pad), min(c.x.size, t + glen + pad)
            src = np.asarray(c.x[lo:hi], dtype=np.float64)
            donor = _signal().fftconvolve(src, taps, mode="same")[t - lo : t - lo + glen]
            ramp = np.linspace(0.0, 1.0, glen)
            donor = donor * 10 ** (((1 - ramp) * 20 * np.log10(gl) + ramp * 20 * np.log10(gr)) / 20)
    elif t < 0:  # no donor found (a short recording): the stretch just before the gap, else just after
        nl2, nr2 = usable_context(c, s, e, glen + 8)
        if nl2 >= glen + 8:
            t = s - glen
        elif nr2 >= glen + 8:
            t = e
        else:
            return fill_lsar(c, s, e), "lsar", {}
        donor = np.asarray(c.x[t : t + glen], dtype=np.float64)
    shaped = _noise_band(c, s, e, donor, others) if TP_NOISE_BAND else None
    if shaped is not None:
        donor = shaped
    b = min(int(TP_BRIDGE_MS * sr / 1000), glen // 4)
    w0, w1 = max(0, s - sr), min(c.x.size, e + sr)  # a local copy: never the whole recording
    x2 = c.x[w0:w1].copy()
    x2[s - w0 : e - w0] = donor
    unk = c.unknown[w0:w1].copy()
    unk[s - w0 : e - w0] = False
    out = donor.copy()
    if b >= 8:
        for lo_b in (s - w0, e - w0 - b):
            unk[lo_b : lo_b + b] = True
            out[lo_b + w0 - s : lo_b + w0 - s + b] = fill_lsar(Ctx(x2, sr, unk), lo_b, lo_b + b)
            unk[lo_b : lo_b + b] = False
    if glen < TP_BLEND_BELOW_MS * sr / 1000:
        ar = fill_lsar(c, s, e)
        w = np.sin(np.pi * (np.arange(glen) + 0.5) / glen) ** 2  # donor weight, 0 at the seams
        out = np.sqrt(1 - w) * ar + np.sqrt(w) * out
    return out, "transplant", {"donor": (int(t), int(t + glen)), "noise_above_hz": None if shaped is None else TP_HIGH_HZ}
