"""What a restoration did, in plain words: the app's account and the CLI's one-line summary.

:func:`band_changes` measures, per frequency band, how much the level changed and how far below
the input the removed part lies (from the arrays; the app stores the result in the report under
``bands``). :func:`account` turns a report into Markdown; :func:`summary_line` into one line.
Method and curve names come out in words (``lsar`` -> "predicted from the music on both sides").
"""

from __future__ import annotations

import numpy as np

#: The bands of the account: (label, low Hz, high Hz).
BANDS = (("below 500 Hz", 0.0, 500.0), ("0.5-4 kHz", 500.0, 4000.0),
         ("4-11 kHz", 4000.0, 11025.0), ("above 11 kHz", 11025.0, float("inf")))

#: How each gap-filling method fills, in words (names from echoes.restore.gaps.fill.REGISTRY).
METHOD_WORDS = {
    "lsar": "predicted from the music on both sides (least-squares)",
    "burg2": "predicted from the music on both sides (least-squares)",
    "lsar-ensemble": "predicted from the music on both sides (four least-squares models, averaged)",
    "lpc": "predicted from each side and cross-faded",
    "janssen": "predicted from both sides by repeated fitting",
    "similarity": "copied from a matching passage elsewhere in the recording",
    "transplant": "copied from a matching passage elsewhere in the recording",
    "linear": "bridged with a straight line",
    "zero": "left silent",
}
KIND_WORDS = {"dropout": "dropout", "level-drop": "level drop", "user": "given by you"}


def method_words(name: str) -> str:
    return METHOD_WORDS.get(name, name)


def _db(p: float) -> float:
    return 10 * np.log10(max(p, 1e-20))


def band_changes(before: np.ndarray, after: np.ndarray, removed: np.ndarray | None, sample_rate: int,
                 gaps: list[dict] = ()) -> list[dict]:
    """Per band below the Nyquist frequency: ``change_db`` (after vs before, energy) and
    ``removed_db`` (the removed part vs the input outside the filled ``gaps``, whose
    ``start``/``end`` are samples; None without it). Channels are mixed; after and before must
    have the same length (skipped otherwise: speed changes the length)."""
    keep = np.ones(np.shape(before)[-1], dtype=bool)
    for g in gaps:
        keep[int(g["start"]):int(g["end"])] = False

    def spec(x, outside=False):
        x = np.asarray(x, dtype=np.float64)
        m = x.mean(0) if x.ndim == 2 else x
        return np.abs(np.fft.rfft(m * keep if outside else m)) ** 2

    if np.shape(before)[-1] != np.shape(after)[-1]:
        return []
    pb, pa = spec(before), spec(after)
    pr = spec(removed, True) if removed is not None and np.shape(removed)[-1] == np.shape(before)[-1] else None
    pk = spec(before, True)
    f = np.fft.rfftfreq(np.shape(before)[-1], 1 / sample_rate)
    out = []
    for label, lo, hi in BANDS:
        if lo >= sample_rate / 2:
            break
        k = (f >= lo) & (f < hi)
        eb, ea = float(pb[k].sum()), float(pa[k].sum())
        if eb <= 0 and ea <= 0:
            continue
        out.append({"band": label, "change_db": round(_db(ea) - _db(eb), 1),
                    "removed_db": None if pr is None else round(_db(float(pr[k].sum())) - _db(float(pk[k].sum())), 1)})
    return out


def _spans(spans: list[dict], limit: int = 6) -> str:
    s = ", ".join(f"{d['start']:.1f}-{d['end']:.1f} s" for d in spans[:limit])
    return s + (f" and {len(spans) - limit} more" if len(spans) > limit else "")


def _band_sentence(b: dict) -> str:
    c = b["change_db"]
    how = "unchanged" if abs(c) < 0.05 else f"{'down' if c < 0 else 'up'} {abs(c):.1f} dB"
    rem = b.get("removed_db")
    if rem is None or rem < -150:
        return f"| {b['band']} | {how} | nothing |"
    if rem > -1:
        return f"| {b['band']} | {how} | nearly all of it (what was there was noise) |"
    return f"| {b['band']} | {how} | {-rem:.0f} dB under the input |"


def speed_words(sp: dict | None) -> list[str]:
    """The playback-speed estimate and correction in words."""
    if not sp:
        return []
    parts = []
    est = sp.get("estimate")
    if est:
        r = est["speed_ratio"]
        fast = "fast" if r > 1 else "slow"
        sharp = "sharp" if est["cents"] > 0 else "flat"
        parts.append(f"the piano is tuned {abs(est['cents']):.0f} cents {sharp} of A = 440 Hz, so the transfer "
                     f"probably runs {abs(r - 1) * 100:.1f}% too {fast}"
                     + (" (a semitone the other way is as likely: check by ear)" if est.get("ambiguous") else ""))
    ar = sp.get("applied_ratio", 1.0)
    if ar != 1.0:
        parts.append(f"{'slowed down' if ar > 1 else 'sped up'} by {abs(ar - 1) * 100:.1f}% to correct it "
                     f"(pitch {'lower' if ar > 1 else 'higher'}, length ×{ar:.3f})")
    else:
        parts.append("speed left as it was")
    return parts


def eq_words(eq: dict) -> str | None:
    """The playback curve in words, or None for flat."""
    if not eq or eq.get("name", "flat") == "flat":
        return None
    t, r = eq.get("turnover_hz"), eq.get("rolloff_db_10k", 0.0)
    what = [f"bass below {t:.0f} Hz raised" if t else None,
            f"treble lowered, {r:g} dB at 10 kHz" if r else "treble unchanged"]
    return (f"playback equalisation for the recording curve '{eq['name']}' ({eq.get('note', '')}): "
            + ", ".join(w for w in what if w))


#: How each high-frequency method works, in a phrase (:data:`echoes.restore.highs.METHODS`).
HIGHS_HOW = {
    "learned": "the learned model (a network that shapes a shifted copy of the band below the cutoff "
               "to the level and contrast it predicts)",
    "band-replication": "band-replication, a baseline that copies the octave below upwards with random phase "
                        "(not a learned model)",
}


def highs_words(h: dict | None) -> str | None:
    """What high-frequency extension did, in words (None when it was not asked for)."""
    if not h:
        return None
    if not h.get("generated"):
        return f"nothing generated ({h.get('reason', 'no band missing')})"
    how = (HIGHS_HOW.get(h["method"], h["method"]))
    return (f"the band from {h['from_hz'] / 1000:.2f} to {h['to_hz'] / 1000:.2f} kHz was generated by "
            f"{how} (not in the original recording), {h['energy_db']:.1f} dB relative to the kept band")


def account(rep: dict, threshold: float | None = None) -> str:
    """Markdown: the verdict and what changed (bands, de-noised spans, gaps, clicks, archivist)."""
    segs = rep.get("segments", [])
    n_noisy = sum(s["p_noisy"] >= threshold for s in segs) if threshold is not None else None
    finds = []
    if rep.get("dropouts"):
        finds.append(f"{len(rep['dropouts'])} dropout(s) found")
    if rep.get("clicks"):
        finds.append(f"{len(rep['clicks'])} click(s) found")
    windows = f"{n_noisy} of {len(segs)} five-second windows judged noisy; " if n_noisy is not None else ""
    lines = [f"**Verdict: {rep['verdict'].upper()}** ({windows}p(noisy) = {rep['p_noisy']:.2f}"
             + "".join(f"; {f}" for f in finds) + ")", ""]
    den = rep.get("denoised", [])
    frac = rep.get("denoised_fraction", 0.0)
    if den:
        lines.append(f"- **De-noised** {_spans(den)} ({100 * frac:.0f}% of the clip) with the "
                     f"*{rep.get('model')}* model; the rest passes through untouched.")
    elif (rep.get("options") or {}).get("denoise") == "never":
        lines.append("- **Nothing was de-noised**: de-noising was switched off.")
    elif any(s.get("band_limit_hz") for s in rep.get("segments", [])) and not any(
            s.get("p_noisy", 0) >= rep.get("threshold", 1.0) for s in rep.get("segments", [])):
        lines.append("- **Nothing was de-noised**: the windows are noisy only through a band limit, "
                     "which de-noising cannot give back.")
    else:
        lines.append("- **Nothing was de-noised**: the classifier judged every window clean.")
    gaps = rep.get("gaps", [])
    if gaps:
        lines.append(f"- **{len(gaps)} gap(s) filled:**")
        for g in gaps[:10]:
            ms = 1000 * (g["end_s"] - g["start_s"])
            src = (f" ({g['donor_start_s']:.2f}-{g['donor_end_s']:.2f} s)" if g.get("donor_start_s") is not None else "")
            gen = (f"; above {g['noise_above_hz'] / 1000:g} kHz generated noise shaped to the sides' spectrum"
                   if g.get("noise_above_hz") else "")
            lines.append(f"  - {g['start_s']:.2f}-{g['end_s']:.2f} s ({ms:.0f} ms, "
                         f"{KIND_WORDS.get(g.get('kind'), g.get('kind', 'gap'))}): {method_words(g['method'])}{src}{gen}")
        if len(gaps) > 10:
            lines.append(f"  - and {len(gaps) - 10} more (see the JSON report)")
    else:
        lines.append("- **No gaps** found or filled.")
    clicks = rep.get("clicks_repaired_samples", 0)
    if clicks:
        lines.append(f"- **Clicks repaired:** {len(rep.get('clicks', []))} ({clicks} samples).")
    arch = rep.get("archivist") or {}
    ch = arch.get("channels") or {}
    if ch.get("mode", "keep") != "keep" and rep.get("input_channels", 1) > 1:
        lines.append(f"- **Channels:** {ch['mode']} (used: {ch.get('chosen')}); the output is mono.")
    sp = speed_words(arch.get("speed"))
    if sp:
        lines.append("- **Speed:** " + "; ".join(sp) + ".")
    eq = eq_words(arch.get("eq") or {})
    if eq:
        lines.append(f"- **Tone:** {eq}.")
    hw = highs_words(rep.get("highs"))
    if hw:
        lines.append(f"- **Highs:** {hw}.")
    st = rep.get("options", {}).get("strength", 1.0)
    if st < 1.0 and den:
        lines.append(f"- **Strength** {st:g}: a blend of the input and the de-noiser's output.")
    if rep.get("scaled_down_db"):
        lines.append(f"- The output was scaled down {rep['scaled_down_db']:.1f} dB to avoid clipping.")
    bands = rep.get("bands")
    if bands:
        lines += ["", "**What changed, per band** (level after vs before; what was removed outside the filled gaps, "
                  "against the input there):", "", "| band | level | removed |", "|---|---|---|"] + [_band_sentence(b) for b in bands]
    return "\n".join(lines)


def summary_line(src: str, dst: str, rep: dict) -> str:
    """One line for the CLI: input -> output, verdict, what was done, time and realtime factor."""
    den = rep.get("denoised_fraction", 0.0)
    done = [f"de-noised {100 * den:.0f}% ({rep.get('model')})" if den else "not de-noised"]
    gaps = rep.get("gaps", [])
    if gaps:
        how: dict[str, int] = {}
        for g in gaps:
            how[g["method"]] = how.get(g["method"], 0) + 1
        done.append(f"{len(gaps)} gap(s) filled (" + ", ".join(
            f"{n} {method_words(m)}" for m, n in how.items()) + ")")
    else:
        done.append("no gaps")
    done.append(f"{len(rep.get('clicks', [])) if rep.get('clicks_repaired_samples') else 0} click(s) repaired")
    t = rep.get("timings", {})
    return (f"{src} -> {dst}: {rep['verdict']}; " + "; ".join(done)
            + f"; {rep.get('duration_s', 0):.1f} s of audio in {t.get('total_s', 0):.2f} s "
              f"({t.get('realtime_factor', 0):.0f}x realtime)")
