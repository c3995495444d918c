"""The inpainting part of ``echoes evaluate``: gap SNR by method and gap length, on whole pieces.

Contract: ``pieces`` are mono float32 ``(samples,)`` at :data:`~echoes.eval.material.EVAL_RATE`.
Gaps of 10-500 ms are placed at random non-silent places (seeded; :data:`INPAINT_GAPS_PER_PIECE`
long and :data:`INPAINT_SHORT_GAPS_PER_PIECE` short ones per piece and length), every method
fills the same gaps, and the gap SNR (signal over error energy inside each gap, capped at 60 dB)
is averaged per method and length (:func:`echoes.eval.gaps.evaluate_inpainting`).
The methods of :data:`PAIRED_VS_JANSSEN` are also compared with Janssen's on the same gaps:
mean difference with a 95 % bootstrap interval over whole pieces
(:func:`echoes.eval.stats.paired_difference`). The section's markdown is returned ready made
in ``table_md``; ``summary`` holds the 20-ms figures of the claims table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from echoes.eval.material import EVAL_RATE
from echoes.eval.report import fmt
from echoes.eval.stats import paired_difference, same_gaps
from echoes.eval.gaps import evaluate_inpainting

#: Row labels of the gap-filling methods.
INPAINT_NAMES = {"zero": "zero-fill", "linear": "linear", "lpc": "paper LPC (Burg, cos²)", "janssen": "Janssen",
                 "lsar": "two-sided Burg LSAR",
                 "lsar-ensemble": "mean of four LSAR fills", "similarity": "similarity (long gaps)", "auto": "automatic choice"}

#: Methods compared with Janssen's on the same gaps (paired differences).
PAIRED_VS_JANSSEN = ("lsar", "auto")

#: Gaps per piece and length in ``evaluate``: long gaps (slow to fill) and short ones.
INPAINT_GAPS_PER_PIECE = 4
INPAINT_SHORT_GAPS_PER_PIECE = 12


def inpaint_section(pieces: list[np.ndarray], quick: bool, seed: int,
                    gaps_per_signal: int = INPAINT_GAPS_PER_PIECE,
                    short_gaps_per_signal: int = INPAINT_SHORT_GAPS_PER_PIECE,
                    detection: bool = True, **kwargs: Any) -> dict[str, Any]:
    """Gap SNR by method and length, detection scores (``detection``), and the markdown table;
    ``kwargs`` go to :func:`echoes.eval.gaps.evaluate_inpainting` (``gap_ms``, ``methods``)."""
    res = evaluate_inpainting(pieces, EVAL_RATE, quick=quick, seed=seed, gaps_per_signal=gaps_per_signal,
                              short_gaps_per_signal=short_gaps_per_signal, detection=detection, **kwargs)
    snr = res["gap_snr"]
    lengths = sorted({ms for per in snr.values() for ms in per}, key=float)
    rows = ["| method | " + " | ".join(f"{float(ms):g} ms" for ms in lengths) + " |",
            "|---|" + "---:|" * len(lengths)]
    for m, per in snr.items():
        rows.append(f"| {INPAINT_NAMES.get(m, m)} | " + " | ".join(
            fmt(per.get(ms, {}).get("mean_db"), 1) for ms in lengths) + " |")
    n = {ms: next(iter(snr.values())).get(ms, {}).get("n") for ms in lengths}
    rows.append("\nMean gap SNR in dB over " + ", ".join(f"{n[ms]} gaps of {float(ms):g} ms" for ms in lengths)
                + " (signal energy over error energy inside each gap, capped at 60 dB).")
    # the same gaps filled by two methods: the mean difference and its 95 % bootstrap interval
    res["paired_vs_janssen"] = {}
    if "janssen" in snr:
        diffs = []
        for m in PAIRED_VS_JANSSEN:
            if m not in snr:
                continue
            res["paired_vs_janssen"][m] = {
                ms: paired_difference(snr[m][ms]["per_gap_db"], snr["janssen"][ms]["per_gap_db"],
                                      groups=same_gaps(snr[m][ms], snr["janssen"][ms]), seed=seed)
                for ms in lengths if ms in snr[m] and ms in snr["janssen"]}
            cells = []
            for ms in lengths:
                pdiff = res["paired_vs_janssen"][m].get(ms)
                cells.append("–" if not pdiff or pdiff["mean_db"] is None else
                             f"{pdiff['mean_db']:+.1f} [{pdiff['ci95_db'][0]:+.1f}, {pdiff['ci95_db'][1]:+.1f}]")
            diffs.append(f"| {INPAINT_NAMES.get(m, m)} − Janssen | " + " | ".join(cells) + " |")
        if diffs:
            rows.append("\nPaired difference from Janssen on the same gaps (dB; mean and 95 % bootstrap interval "
                        "resampling whole pieces, so it speaks for other pieces):\n")
            rows.append("| method | " + " | ".join(f"{float(ms):g} ms" for ms in lengths) + " |")
            rows.append("|---|" + "---:|" * len(lengths))
            rows.extend(diffs)
    det = res.get("detection")
    if det:
        rows.append(f"\nGap detection on {det['dropouts_planted']} planted dropouts of 5–100 ms: precision "
                    f"{100 * det['precision']:.2f}%, recall {100 * det['recall']:.2f}%; false gaps on clean music "
                    f"(as is, faded out, with silent ends, 30 dB quieter): {det['false_gaps_clean']}; recall of "
                    f"40 dB level drops {fmt(det.get('level_drop_recall_40dB'), 3)}.")
    res["table_md"] = "\n".join(rows)
    k20 = next((ms for ms in lengths if float(ms) == 20.0), lengths[0] if lengths else None)
    if k20 is not None:
        get = lambda m: snr.get(m, {}).get(k20, {}).get("mean_db")  # noqa: E731
        best = max((m for m in snr if m != "zero"), key=lambda m: get(m) if get(m) is not None else -1e9)
        res["summary"] = {"gap_ms": float(k20), "paper_lpc": fmt(get("lpc"), 1), "zero": fmt(get("zero"), 1),
                          "best": f"{fmt(get(best), 1)} ({INPAINT_NAMES.get(best, best)})"}
    return res
