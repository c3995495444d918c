"""``results.md``: the tables of ``echoes evaluate`` rendered from its results dict.

Contract: :func:`render_markdown` takes the dict :func:`echoes.eval.run.run` writes to
``results.json`` (or that file read back) and returns markdown text ending in a newline; it
reads only, and a section whose results are missing is left out. Every figure comes from the
dict except :data:`PAPER_CLAIMS`, the paper's own figures, printed beside Echoes' in the first
table. Cells are made by :func:`fmt` ("–" for a missing value). Inpainting tables come ready
made (``table_md``, see :mod:`echoes.eval.inpaint`).
"""

from __future__ import annotations

from typing import Any

from echoes.eval.denoise import DENOISER_LABELS, GRAMOPHONE_PROTOCOL, PAPER_MODEL, PAPER_PROTOCOL
from echoes.eval.highs import render_highs
from echoes.eval.real_report import render_real
from echoes.models.registry import DEFAULT_DENOISER, DENOISERS

#: The paper's claims, verbatim figures.
PAPER_CLAIMS = {
    "classifier_accuracy_pct": 99.92,
    "denoise_snr_db": 21.21,
    "denoise_mae": 0.0834,
    "denoise_val_loss": 0.0491,
    "inpainting": "seamless",
}


def fmt(v: Any, nd: int = 2) -> str:
    """A table cell: "–" for ``None``, floats with ``nd`` decimals, anything else as ``str``."""
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def errors_md(errors: list[dict[str, Any]]) -> str:
    """One line on the windows the classifier's verdict got wrong (condition, what it held)."""
    if not errors:
        return "none"
    out = []
    for e in errors:
        what = [f"{e['snr_db']} dB SNR"] if e.get("snr_db") is not None and e["truth"] == "noisy" else []
        if e.get("clicks") is not None:
            what.append(f"{e['clicks']} click{'s' if e['clicks'] != 1 else ''}")
        if e["truth"] == "noisy" and e.get("snr_db") is None and e.get("effects"):
            what.append(" + ".join(e["effects"]))
        what.append(f"p_noisy {e['p_noisy']:.3f}")
        out.append(f"`{e['condition']}` ({', '.join(what)}; {e['clip']})")
    return "; ".join(out)


def _denoise_tables(L: list[str], d: dict[str, Any], *, where: str = "", material: str | None = None) -> None:
    """Append the two de-noising tables (paper and gramophone protocols) of ``d`` to ``L``."""
    for proto, title in ((PAPER_PROTOCOL, "Paper protocol: 0 dB white Gaussian noise, 44.1 kHz"),
                         (GRAMOPHONE_PROTOCOL, "Gramophone protocol: realistic chains, held-out noise clips")):
        m = d.get(proto, {}).get("methods")
        if not m:
            continue
        L.append(f"\n### De-noising{where}, {title} ({d[proto]['clips']} clips of 5 s; reference: "
                 f"{d[proto].get('reference', 'clean')})\n")
        if material and proto == PAPER_PROTOCOL:
            L.append(f"Material: {material}; the first 24 of that seeded sample, as above. No training saw this "
                     "piano (no de-noiser's, no classifier's).\n")
        L.append("| method | SNR (dB) | SI-SDR (dB) | SI-SDR gain (dB) | MAE | STFT L1 | ViSQOL MOS-LQO | × realtime (CPU) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, v in m.items():
            L.append(f"| {name} | {fmt(v.get('snr_db'))} | {fmt(v.get('si_sdr_db'))} | {fmt(v.get('si_sdr_improvement_db'))} "
                     f"| {fmt(v.get('mae'), 4)} | {fmt(v.get('stft_l1'), 4)} | {fmt(v.get('visqol_moslqo'))} "
                     f"| {fmt(v.get('realtime_factor'), 0)} |")
        nv = d[proto].get("visqol_clips")
        if nv and nv < d[proto]["clips"]:
            L.append(f"\nViSQOL scored the first {nv} of the {d[proto]['clips']} clips.")
        o = d[proto].get("oracles")
        if o:
            L.append("\nCeilings of masking on the same clips: oracle masks computed from the reference, which no "
                     "method has (`echoes.eval.oracle`; on the models' grid, 22.05 kHz, n_fft 2048, hop 512, unless "
                     "named). The phase-sensitive mask gives, in every bin, the magnitude nearest the reference "
                     "under the noisy phase: up to the overlap-add of the inverse STFT, no method that keeps the "
                     "noisy phase on that grid (the paper's autoencoder among them) does better.\n")
            L.append("| ceiling | SNR (dB) | SI-SDR (dB) | SI-SDR gain (dB) |\n|---|---:|---:|---:|")
            for name, v in o.items():
                L.append(f"| {name} | {fmt(v.get('snr_db'))} | {fmt(v.get('si_sdr_db'))} "
                         f"| {fmt(v.get('si_sdr_improvement_db'))} |")


def _claims_table(L: list[str], r: dict[str, Any]) -> None:
    """Append the table of the paper's claims beside Echoes' figures to ``L``: the classifier,
    de-noising on the paper's protocol (the paper's model, the default model, baselines) and inpainting."""
    d = r.get("denoise", {}).get("protocols", {})
    c = r.get("classifier", {})
    inp = r.get("inpaint", {})
    paper = DENOISER_LABELS[PAPER_MODEL]
    fast = DENOISER_LABELS[DEFAULT_DENOISER]
    L.append("\n### The paper's claims beside what Echoes measures\n")
    L.append("| claim | paper | Echoes, paper-faithful model | Echoes, default model | do-nothing | noisereduce | protocol |")
    L.append("|---|---:|---:|---:|---:|---:|---|")
    if c:
        cn = c.get("network", {})
        L.append(f"| classifier accuracy (%) | {PAPER_CLAIMS['classifier_accuracy_pct']} | {fmt(cn.get('accuracy_pct'))} "
                 f"(paper architecture, network alone) | {fmt(c.get('accuracy_pct'))} (network + dropout and click search) "
                 f"| – | – | {c.get('windows')} test windows (5 s), clean + every preset; false-noisy "
                 f"{fmt(cn.get('false_noisy_pct'), 3)}% / {fmt(c.get('false_noisy_pct'), 3)}% |")
    p = d.get(PAPER_PROTOCOL, {}).get("methods", {})
    if fast not in p:  # results written before the registry: the default model under an alias
        fast = next((a for a in DENOISERS[DEFAULT_DENOISER].aliases if a in p), fast)
    if p:
        def g(m, k, nd=2):
            return fmt(p.get(m, {}).get(k), nd)
        L.append(f"| de-noising SNR (dB) | {PAPER_CLAIMS['denoise_snr_db']} | {g(paper, 'snr_db')} | {g(fast, 'snr_db')} "
                 f"| {g('do-nothing', 'snr_db')} | {g('noisereduce', 'snr_db')} | 0 dB white Gaussian noise, 44.1 kHz, waveform SNR |")
        L.append(f"| … same, on magnitude spectrograms (dB) | {PAPER_CLAIMS['denoise_snr_db']} | {g(paper, 'mag_snr_db')} | "
                 f"{g(fast, 'mag_snr_db')} | {g('do-nothing', 'mag_snr_db')} | {g('noisereduce', 'mag_snr_db')} | "
                 "as above, SNR of |STFT| (one way the paper's figure could have been computed) |")
        L.append(f"| MAE | {PAPER_CLAIMS['denoise_mae']} | {g(paper, 'mae', 4)} | {g(fast, 'mae', 4)} | "
                 f"{g('do-nothing', 'mae', 4)} | {g('noisereduce', 'mae', 4)} | waveform mean absolute error, same protocol |")
        L.append(f"| validation loss (STFT L1) | {PAPER_CLAIMS['denoise_val_loss']} | {g(paper, 'stft_l1', 4)} | "
                 f"{g(fast, 'stft_l1', 4)} | {g('do-nothing', 'stft_l1', 4)} | {g('noisereduce', 'stft_l1', 4)} | "
                 "L1 of magnitude spectrograms (the paper's loss), same protocol |")
    if inp:
        s = inp.get("summary", {})
        if s:
            L.append(f"| LPC inpainting is \"seamless\" | seamless | {s.get('paper_lpc', '–')} | {s.get('best', '–')} | "
                     f"{s.get('zero', '–')} (zero-fill) | – | gap SNR (dB) in {s['gap_ms']:g} ms gaps of test piano |")


def _classifier_section(L: list[str], r: dict[str, Any]) -> None:
    """Append the classifier's section to ``L``: confusion matrix, accuracy per condition,
    the windows it got wrong and the harder tests (held-out piano, held-out noise clips)."""
    c = r.get("classifier", {})
    if c:
        L.append(f"\n### Classifier ({c['windows']} windows of 5 s, threshold {c['threshold']})\n")
        if r.get("classifier_material"):
            L.append(f"Material: {r['classifier_material']}, each clean (plain, 30 dB quieter, ogg round trip) "
                     "and through every preset.\n")
        L.append("The verdict: the network's p_noisy at or above the threshold, or dropouts found by the gap "
                 "detector, or isolated clicks found by the AR-residual search (a few-millisecond dropout or "
                 "a 0.1-ms click hardly changes a 5-s spectrogram). Confusion matrix of the verdict:\n")
        cm = c["confusion"]
        L.append("| | called clean | called noisy |\n|---|---:|---:|")
        L.append(f"| clean | {cm['clean_called_clean']} | {cm['clean_called_noisy']} |")
        L.append(f"| noisy | {cm['noisy_called_clean']} | {cm['noisy_called_noisy']} |")
        L.append("\n| condition | windows | accuracy (%) | called noisy (%) | network alone: accuracy (%) |"
                 "\n|---|---:|---:|---:|---:|")
        for cond, v in c["by_condition"].items():
            L.append(f"| {cond} | {v['n']} | {fmt(v['accuracy_pct'], 2)} | {fmt(v['called_noisy_pct'], 2)} "
                     f"| {fmt(v.get('network_accuracy_pct'), 2)} |")
        if c.get("errors") is not None:
            L.append(f"\nWindows the verdict got wrong: {errors_md(c['errors'])}.")
        for key, title in (("harder_piano", "held-out piano"), ("harder_noise", "held-out noise clips")):
            h = r.get("classifier_" + key)
            if h:
                hn = h.get("network", {})
                L.append(f"\nHarder test, {title}: accuracy {fmt(h['accuracy_pct'], 3)}%, false-noisy "
                         f"{fmt(h['false_noisy_pct'], 3)}% over {h['windows']} windows (network alone: "
                         f"{fmt(hn.get('accuracy_pct'), 3)}%, false-noisy {fmt(hn.get('false_noisy_pct'), 3)}%)"
                         + (f"; wrong: {errors_md(h['errors'])}." if h.get("errors") is not None else "."))


def _inpaint_tables(L: list[str], r: dict[str, Any]) -> None:
    """Append the inpainting tables (test pieces, held-out piano, band-limited) to ``L``."""
    inp = r.get("inpaint", {})
    if inp and inp.get("table_md"):
        L.append("\n### Inpainting: gap SNR (dB) by gap length\n")
        L.append(inp["table_md"])
    hpi = r.get("inpaint_heldout_piano")
    if hpi and hpi.get("table_md"):
        n_hp = hpi.get("settings", {}).get("signals")
        L.append("\nThe same on the held-out piano (" + (f"all {n_hp} " if n_hp else "") + "test pieces played on "
                 "the piano no training piece was played on; same seed and placement rule):\n")
        L.append(hpi["table_md"])
    bl = r.get("inpaint_band_limited")
    if bl and bl.get("table_md"):
        L.append("\nThe same short gaps in band-limited audio (the test pieces through 22.05 kHz and back: "
                 "a transfer made at that rate, or what the de-noiser returns, which the gaps are filled after):\n")
        L.append(bl["table_md"])


def render_markdown(r: dict[str, Any]) -> str:
    """The tables of results.md (the README's Results section is made from this text)."""
    L: list[str] = []
    flags = (" --quick" if r["quick"] else "") + (" --real DIR" if r.get("real") else "") + \
        ("" if r.get("corpus_sections", True) else " --real-only") + \
        (f" --sections {','.join(r['corpus_sections'])}" if isinstance(r.get("corpus_sections"), list)
         and len(r["corpus_sections"]) < 4 else "")
    L.append(f"_Made by `python -m echoes evaluate{flags}` on {r['date']} at commit "
             f"`{r['commit']}`; test material: {r['material']}. Every figure below is in `results.json`._")
    if r["quick"]:
        L.append("\n**Quick run: synthetic material, a check of the machinery, not a claim.**")
    if r.get("real"):
        L.append("")
        L += render_real(r["real"])
    if not r.get("corpus_sections", True):
        L.append(f"\nThe whole run took {r['seconds']:.0f} s.")
        return "\n".join(L) + "\n"
    L.append("## Rendered corpus")
    d = r.get("denoise", {}).get("protocols", {})
    _claims_table(L, r)
    _denoise_tables(L, d)
    hdn = r.get("denoise_heldout_piano", {}).get("protocols")
    if hdn:
        _denoise_tables(L, hdn, where=", held-out piano", material=r.get("denoise_heldout_piano_material"))
    if any(v.get("visqol_moslqo") is not None for p_ in d.values() for v in p_.get("methods", {}).values()):
        L.append("\nViSQOL MOS-LQO: ViSQOL v3 (`visqol-python`), audio mode, 1 (bad) to 5 (excellent), both signals "
                 "resampled to 48 kHz and scaled by one gain that brings the reference's peak to -1 dBFS "
                 "(`echoes.core.metrics.visqol_moslqo`).")
    _classifier_section(L, r)
    _inpaint_tables(L, r)
    if r.get("highs"):
        L += render_highs(r["highs"], "rendered corpus, test pieces")
    if r.get("plots"):
        L.append("\n" + " ".join(f"![{p}]({p})" for p in r["plots"]))
    L.append(f"\nThe whole run took {r['seconds']:.0f} s.")
    return "\n".join(L) + "\n"
