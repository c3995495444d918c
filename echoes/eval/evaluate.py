"""``echoes evaluate``: every claim of the paper, and ours, measured by one command.

It rebuilds the held-out test material from the documented recipe (the corpus's *test* split:
pieces never seen in training; see docs/DATA.md), runs every method on it in the same run, and
writes ``results.json`` (every number), ``results.md`` (the tables the README shows) and PNG
plots to ``--out``.

Protocols (stated again beside every number in results.md):

- **paper**: white Gaussian noise at 0 dB SNR added to clean piano at 44.1 kHz (the noise covers
  the full 0–22 kHz band, as in the paper's code); metrics on the 44.1 kHz waveform.
- **gramophone**: the ``gramophone`` preset (band-limiting, hiss, crackle, clicks, thumps, hum,
  rumble, wow) with *held-out* recorded noise clips (``noise_split="test"``). The reference is the
  simulator's signal path (the clean music after band-limiting and wow, which no de-noiser should
  undo), so the metrics score noise removal only. Draws whose chain includes soft clipping have no
  exact reference and are replaced by the next seed (their count is in results.json).
- The classifier is scored per 5-second window on every clip of the test split with music in
  it: clean (plain, quiet, and after a lossy ogg round trip) and through every preset,
  labelled by :func:`echoes.data.degrade.is_noisy`. Draws whose dropouts or level drops fall where
  the clip is silent (nothing audible changed) are replaced by the next seed, as in training.
- De-noising metrics: waveform SNR, SI-SDR, MAE, the paper's STFT L1 loss, ViSQOL v3 MOS-LQO
  (optional package ``visqol-python``, audio mode, both signals resampled to 48 kHz and scaled
  by one gain that brings the reference's peak to -1 dBFS; see
  :func:`echoes.core.metrics.visqol_moslqo`), and speed. Beside the methods, on the same clips, the
  ceilings of masking (:mod:`echoes.eval.oracle`: oracle masks computed from the reference, which no
  method has), among them the ceiling of the paper's method class (a magnitude with the noisy
  phase on the paper's grid).
- Inpainting: gaps of 10–500 ms at random non-silent places in test pieces (6 renders of the
  training pianos, and every render of the held-out piano); gap SNR inside the
  gaps (:func:`echoes.restore.gaps.inpaint.evaluate_inpainting`); paired differences between methods with
  95 % intervals from a bootstrap over pieces (:func:`paired_difference`).

``--quick`` uses a few synthetic piano-like clips instead (no corpus, no downloads, under a
minute): it checks the machinery end to end; its numbers are not claims.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from echoes import __version__
from echoes.core import audio as eaudio
from echoes.api import json_default

log = logging.getLogger(__name__)

#: The paper's claims, verbatim figures.
PAPER_CLAIMS = {
    "classifier_accuracy_pct": 99.92,
    "denoise_snr_db": 21.21,
    "denoise_mae": 0.0834,
    "denoise_val_loss": 0.0491,
    "inpainting": "seamless",
}
EVAL_RATE = 44_100


# ------------------------------------------------------------------------------------------
# Test material
# ------------------------------------------------------------------------------------------


#: ``n_clips`` that takes every clip of the split.
ALL_CLIPS = 10**9


def test_material(*, corpus: str | Path | None, quick: bool, n_clips: int, n_pieces: int, seed: int = 0,
                  heldout_piano: bool = False) -> dict[str, Any]:
    """5-second clips and whole renders of the corpus's *test* split at 44.1 kHz, each mono
    float32 ``(samples,)``. ``heldout_piano`` picks the piano never used in training instead of
    the training pianos (the harder test)."""
    if quick:
        from echoes.eval.bench import synthetic_piano

        clips = [synthetic_piano(5.0, EVAL_RATE, seed=100 + i) for i in range(n_clips)]
        pieces = [synthetic_piano(20.0, EVAL_RATE, seed=200 + i) for i in range(n_pieces)]
        return {"source": "synthetic piano-like tones (quick run: not a claim)", "clips": clips,
                "pieces": pieces, "clip_ids": [f"synthetic-{i}" for i in range(n_clips)]}
    from echoes.data import corpus as ecorpus

    folder = Path(corpus) if corpus else None
    if folder is None or not (folder / "manifest.json").is_file():
        raise FileNotFoundError(
            f"no corpus at '{folder}': build it with `python -m echoes data build --out {folder or 'DIR'}` "
            "(see docs/DATA.md), or pass --quick")
    manifest = ecorpus.load_manifest(folder)
    # only the pianos that play test pieces (an extra training piano plays training pieces only)
    playing = {r["piano"] for r in manifest["renders"] if r["split"] == "test"}
    pianos = [p for p in ecorpus.pianos_playing(manifest, "test" if heldout_piano else None) if p in playing]
    rng = np.random.default_rng(seed)
    all_clips = []
    for piano in pianos:
        all_clips += list(ecorpus.iter_clips(folder, "test", sample_rate=EVAL_RATE, seconds=5.0, piano=piano,
                                             min_rms_dbfs=-50.0))
    order = rng.permutation(len(all_clips))[:n_clips]
    chosen = [all_clips[i] for i in sorted(order)]
    renders = [r for r in ecorpus.list_renders(folder, "test") if r["piano"] in pianos]
    pieces = []
    for r in renders[:n_pieces]:
        x, sr = eaudio.load(folder / r["file"])
        pieces.append(eaudio.resample(eaudio.to_mono(x)[0], sr, EVAL_RATE))
    return {"source": f"corpus test split (pieces never seen in training), pianos {', '.join(pianos)}; "
                      f"{len(chosen)} of {len(all_clips)} clips with music (RMS above -50 dBFS)",
            "clips": [c[1] for c in chosen], "clip_ids": [c[0] for c in chosen], "pieces": pieces}


# ------------------------------------------------------------------------------------------
# Classifier
# ------------------------------------------------------------------------------------------


def _ogg_round_trip(x: np.ndarray, sr: int) -> np.ndarray:
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, x, sr, format="OGG", subtype="VORBIS")
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    return eaudio.fit_length(y, len(x)).astype(np.float32)


def eval_classifier(clips: list[np.ndarray], *, weights=None, noise_dir=None, noise_split="train",
                    seed: int = 0, clip_ids: list[str] | None = None, threshold: float | None = None,
                    keep_windows: bool = False) -> dict[str, Any]:
    """Accuracy, false-noisy rate and confusion matrix over clean and degraded 5-second clips.

    ``noise_split`` picks the recorded noise clips the presets use: ``train`` (seen in training)
    for the main test on unseen pieces, ``test`` (never seen) for the harder test.
    ``threshold`` replaces the weights' own decision threshold (``float("inf")``: the network
    never decides, the dropout and click searches run on every window). ``keep_windows`` adds
    ``window_rows``: ``[condition, truly noisy, p_noisy, verdict noisy]`` per window, in order.
    """
    from echoes.restore.classify import Classifier
    from echoes.data.degrade import PRESETS, degrade, is_noisy
    from echoes.train.classifier import audible_gaps

    clf = Classifier.load(weights)
    if threshold is not None:
        clf.threshold = float(threshold)
    thr = clf.threshold
    redrawn: dict[str, int] = {}
    rows: list[tuple[str, bool, float, bool]] = []  # (condition, truly noisy, p_noisy, verdict noisy)
    t0 = time.perf_counter()

    errors: list[dict[str, Any]] = []  # every window the verdict got wrong, and what it held

    def judge(name: str, truth: bool, v: np.ndarray, i: int, info: dict | None = None) -> None:
        res = clf.classify(v.astype(np.float32), EVAL_RATE)
        rows.append((name, truth, res.p_noisy, res.verdict == "noisy"))
        if truth != res.noisy:
            e: dict[str, Any] = {"condition": name, "clip": clip_ids[i] if clip_ids else i,
                                 "truth": "noisy" if truth else "clean", "p_noisy": round(float(res.p_noisy), 4)}
            if info is not None:
                e["seed"] = info.get("seed")
                e["snr_db"] = None if info.get("snr_db") is None else round(float(info["snr_db"]), 2)
                e["effects"] = [x["name"] for x in info.get("effects", [])]
                clicks = [x["params"].get("count") for x in info.get("effects", []) if x["name"] == "clicks"]
                if clicks:
                    e["clicks"] = clicks[0]
            errors.append(e)

    for i, x in enumerate(clips):
        variants = {"clean": x, "clean quiet (-30 dB)": x * 10 ** (-30 / 20),
                    "clean ogg round trip": _ogg_round_trip(x, EVAL_RATE)}
        for name, v in variants.items():
            judge(name, False, v, i)
        for k, preset in enumerate(PRESETS):
            # Dropouts or level drops that fall where the clip is silent change nothing: no
            # listener (or classifier) can hear them, so such draws are replaced by the next
            # seed, as in training (counted in ``redrawn``). Seeds never repeat across clips,
            # presets, attempts and the three tests (seed, seed + 1, seed + 2) up to 10,000 clips.
            for attempt in range(20):
                draw = seed * 10_000_000 + attempt * 100_000 + i * 10 + k
                y, info = degrade(x, EVAL_RATE, preset=preset, seed=draw, noise_dir=noise_dir,
                                  noise_split=noise_split)
                if audible_gaps(x, info):
                    break
                redrawn[preset] = redrawn.get(preset, 0) + 1
            judge(preset, bool(is_noisy(info)), eaudio.peak_safe(y.astype(np.float32)), i, info)  # as a file holds it
    secs = time.perf_counter() - t0
    truth = np.array([r[1] for r in rows])
    net = np.array([r[2] >= thr for r in rows])
    pred = np.array([r[3] for r in rows])

    def scores(pr: np.ndarray) -> dict[str, Any]:
        clean = ~truth
        return {
            "accuracy_pct": round(100 * float(np.mean(pr == truth)), 3),
            "false_noisy_pct": round(100 * float(np.mean(pr[clean])) if clean.any() else 0.0, 3),
            "missed_noisy_pct": round(100 * float(np.mean(~pr[truth])) if truth.any() else 0.0, 3),
            "confusion": {"clean_called_clean": int(np.sum(clean & ~pr)), "clean_called_noisy": int(np.sum(clean & pr)),
                          "noisy_called_clean": int(np.sum(truth & ~pr)), "noisy_called_noisy": int(np.sum(truth & pr))},
        }

    by: dict[str, dict[str, Any]] = {}
    for cond in dict.fromkeys(r[0] for r in rows):
        sel = np.array([r[0] == cond for r in rows])
        by[cond] = {"n": int(sel.sum()), "accuracy_pct": round(100 * float(np.mean(pred[sel] == truth[sel])), 3),
                    "called_noisy_pct": round(100 * float(np.mean(pred[sel])), 3),
                    "network_accuracy_pct": round(100 * float(np.mean(net[sel] == truth[sel])), 3)}
    return {
        "windows": len(rows), "threshold": thr,
        "verdict": "the classifier's verdict: the network's p_noisy >= threshold, or dropouts found by the gap "
                   "detector, or isolated clicks found by the AR-residual search",
        **scores(pred),
        "network": scores(net),
        "by_condition": by,
        "redrawn_inaudible_gaps": redrawn,
        "errors": errors,
        "seconds_per_window": round(secs / max(1, len(rows)), 4),
        **({"window_rows": [[c, bool(t), round(float(p), 6), bool(v)] for c, t, p, v in rows]} if keep_windows else {}),
    }


# ------------------------------------------------------------------------------------------
# De-noising
# ------------------------------------------------------------------------------------------


def _mag_snr(clean: np.ndarray, est: np.ndarray) -> float:
    """SNR of magnitude spectrograms (one way the paper's figure could have been computed)."""
    import torch

    from echoes.core.spectral import STFTConfig, stft

    cfg = STFTConfig(sample_rate=EVAL_RATE, n_fft=2048, hop_length=512, win_length=2048)
    a = stft(torch.from_numpy(clean.astype(np.float32)), cfg).abs()
    b = stft(torch.from_numpy(est.astype(np.float32)), cfg).abs()
    return float(10 * torch.log10((a ** 2).sum() / ((a - b) ** 2).sum().clamp_min(1e-20)))


def _methods(weights, device: str) -> dict[str, Any]:
    from echoes.restore.denoise import Denoiser

    out: dict[str, Any] = {"do-nothing": lambda y: y}
    try:
        import noisereduce

        # its defaults (non-stationary gating: what most people call) and stationary gating (a
        # noise profile from the whole clip: kinder to sustained piano notes)
        out["noisereduce"] = lambda y: noisereduce.reduce_noise(y=y, sr=EVAL_RATE).astype(np.float32)
        out["noisereduce (stationary)"] = lambda y: noisereduce.reduce_noise(
            y=y, sr=EVAL_RATE, stationary=True).astype(np.float32)
    except ImportError:
        log.warning("noisereduce is not installed: its column stays empty (pip install noisereduce)")
    paper = Denoiser.load("paper", weights, device=device)
    default = Denoiser.load("default", weights, device=device)
    out["paper CAE"] = lambda y: paper.denoise(y, EVAL_RATE)
    out["default"] = lambda y: default.denoise(y, EVAL_RATE)
    return out


def eval_denoise(clips: list[np.ndarray], *, weights=None, noise_dir=None, device="cpu", seed: int = 0,
                 input_snrs: tuple[float, ...] = (-5.0, 0.0, 5.0, 10.0, 20.0),
                 visqol_clips: int | None = None) -> dict[str, Any]:
    """Metrics per protocol and method; SNR gain against input SNR (white noise).

    ``clips``: clean mono float32 ``(samples,)`` at 44.1 kHz. ``visqol_clips`` caps how many of
    them ViSQOL scores (about 0.3 s per clip and method); ``None`` scores all. Without
    ``visqol-python`` installed, ``visqol_moslqo`` is ``None`` for every method (a warning says
    so).
    """
    from echoes.core import metrics
    from echoes.data.degrade import degrade

    methods = _methods(weights, device)
    use_visqol = metrics.visqol_available()
    if not use_visqol:
        log.warning("visqol-python is not installed: the ViSQOL column stays empty (pip install visqol-python)")
    n_visqol = len(clips) if visqol_clips is None else min(len(clips), visqol_clips)
    res: dict[str, Any] = {"protocols": {}, "snr_sweep": {}}
    from echoes.eval.oracle import ORACLES, oracle_estimates

    for proto in ("paper", "gramophone"):
        per: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
        ceil: dict[str, list[dict[str, float]]] = {m: [] for m in ORACLES}
        secs = {m: 0.0 for m in methods}
        audio_s = 0.0
        redrawn = 0
        for i, x in enumerate(clips):
            # A chain with soft clipping mixes music and noise: it has no exact reference, so
            # such draws are replaced by the next seed (counted in the results).
            for k in range(20):
                y, info = degrade(x, EVAL_RATE, preset=proto, seed=seed * 1000 + i + 7919 * k,
                                  noise_dir=noise_dir if proto == "gramophone" else None, noise_split="test")
                if info.get("reference") is not None:
                    break
                redrawn += 1
            ref = np.asarray(info["reference"], dtype=np.float32).reshape(-1)
            y = y.astype(np.float32)
            audio_s += len(x) / EVAL_RATE
            for name, fn in methods.items():
                t = time.perf_counter()
                est = np.asarray(fn(y), dtype=np.float32).reshape(-1)
                secs[name] += time.perf_counter() - t
                m = metrics.all_metrics(ref, est, sample_rate=EVAL_RATE)
                m["mag_snr_db"] = _mag_snr(ref, est)
                m["visqol_moslqo"] = (metrics.visqol_moslqo(ref, est, sample_rate=EVAL_RATE)
                                      if use_visqol and i < n_visqol else None)
                per[name].append(m)
            for name, est in oracle_estimates(ref, y, EVAL_RATE).items():
                ceil[name].append({"snr_db": metrics.snr_db(ref, est), "si_sdr_db": metrics.si_sdr_db(ref, est)})
        table = {}
        for name, rows in per.items():
            keys = rows[0].keys()
            table[name] = {}
            for k in keys:
                vals = [r[k] for r in rows if r[k] is not None]
                table[name][k] = round(float(np.mean(vals)), 4) if vals else None
            table[name]["realtime_factor"] = (None if name == "do-nothing"
                                              else round(audio_s / max(secs[name], 1e-9), 1))
        base = table["do-nothing"]["si_sdr_db"]
        for name in table:
            table[name]["si_sdr_improvement_db"] = round(table[name]["si_sdr_db"] - base, 3)
        oracles = {name: {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
                   for name, rows in ceil.items()}
        for name in oracles:
            oracles[name]["si_sdr_improvement_db"] = round(oracles[name]["si_sdr_db"] - base, 3)
        res["protocols"][proto] = {"clips": len(clips), "methods": table, "oracles": oracles,
                                   "redrawn_nonlinear": redrawn,
                                   "visqol_clips": n_visqol if use_visqol else 0,
                                   "reference": "clean" if proto == "paper" else
                                   "signal path (clean after band-limiting and wow)"}
    # SNR gain against input SNR, white noise
    for snr in input_snrs:
        row = {}
        for name, fn in methods.items():
            if name == "do-nothing":
                continue
            gains = []
            for i, x in enumerate(clips[: max(2, len(clips) // 4)]):
                y, _ = degrade(x, EVAL_RATE, preset="paper", seed=seed * 1000 + 500 + i, snr_db=snr)
                est = np.asarray(fn(y.astype(np.float32)), dtype=np.float32).reshape(-1)
                gains.append(metrics.snr_db(x, est) - metrics.snr_db(x, y))
            row[name] = round(float(np.mean(gains)), 3)
        res["snr_sweep"][str(snr)] = row
    return res


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------


def _plots(results: dict[str, Any], out: Path) -> list[str]:
    from matplotlib.figure import Figure

    made = []
    sweep = results.get("denoise", {}).get("snr_sweep")
    if sweep:
        fig = Figure(figsize=(5.5, 3.5))
        ax = fig.add_subplot()
        xs = [float(k) for k in sweep]
        for name in next(iter(sweep.values())):
            ax.plot(xs, [sweep[k][name] for k in sweep], marker="o", label=name)
        ax.set_xlabel("input SNR (dB), white Gaussian noise, 44.1 kHz")
        ax.set_ylabel("SNR gain (dB)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.savefig(out / "denoise_snr_gain.png", dpi=110, bbox_inches="tight")
        made.append("denoise_snr_gain.png")
    per = results.get("inpaint", {}).get("gap_snr")
    if isinstance(per, dict) and per:
        fig = Figure(figsize=(5.5, 3.5))
        ax = fig.add_subplot()
        for method, by_len in per.items():
            if not isinstance(by_len, dict):
                continue
            ls = sorted(by_len, key=float)
            ax.plot([float(v) for v in ls], [by_len[k]["mean_db"] for k in ls], marker="o",
                    label=INPAINT_NAMES.get(method, method))
        ax.set_xscale("log")
        ax.set_xlabel("gap length (ms)")
        ax.set_ylabel("gap SNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.savefig(out / "inpaint_gap_snr.png", dpi=110, bbox_inches="tight")
        made.append("inpaint_gap_snr.png")
    return made


def _fmt(v: Any, nd: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _errors_md(errors: list[dict[str, Any]]) -> str:
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
    for proto, title in (("paper", "Paper protocol: 0 dB white Gaussian noise, 44.1 kHz"),
                         ("gramophone", "Gramophone protocol: realistic chains, held-out noise clips")):
        m = d.get(proto, {}).get("methods")
        if not m:
            continue
        L.append(f"\n### De-noising{where}, {title} ({d[proto]['clips']} clips of 5 s; reference: "
                 f"{d[proto].get('reference', 'clean')})\n")
        if material and proto == "paper":
            L.append(f"Material: {material}; the first 24 of that seeded sample, as above. No training saw this "
                     "piano (no de-noiser's, no classifier's).\n")
        L.append("| method | SNR (dB) | SI-SDR (dB) | SI-SDR gain (dB) | MAE | STFT L1 | ViSQOL MOS-LQO | × realtime (CPU) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, v in m.items():
            L.append(f"| {name} | {_fmt(v.get('snr_db'))} | {_fmt(v.get('si_sdr_db'))} | {_fmt(v.get('si_sdr_improvement_db'))} "
                     f"| {_fmt(v.get('mae'), 4)} | {_fmt(v.get('stft_l1'), 4)} | {_fmt(v.get('visqol_moslqo'))} "
                     f"| {_fmt(v.get('realtime_factor'), 0)} |")
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
                L.append(f"| {name} | {_fmt(v.get('snr_db'))} | {_fmt(v.get('si_sdr_db'))} "
                         f"| {_fmt(v.get('si_sdr_improvement_db'))} |")


def render_markdown(r: dict[str, Any]) -> str:
    """The tables of results.md (the README's Results section is made from this text)."""
    L: list[str] = []
    L.append(f"_Made by `python -m echoes evaluate{' --quick' if r['quick'] else ''}` on {r['date']} at commit "
             f"`{r['commit']}`; test material: {r['material']}. Every figure below is in `results.json`._")
    if r["quick"]:
        L.append("\n**Quick run: synthetic material, a check of the machinery, not a claim.**")
    d = r.get("denoise", {}).get("protocols", {})
    c = r.get("classifier", {})
    inp = r.get("inpaint", {})
    L.append("\n### The paper's claims beside what Echoes measures\n")
    L.append("| claim | paper | Echoes, paper-faithful model | Echoes, default model | do-nothing | noisereduce | protocol |")
    L.append("|---|---:|---:|---:|---:|---:|---|")
    if c:
        cn = c.get("network", {})
        L.append(f"| classifier accuracy (%) | {PAPER_CLAIMS['classifier_accuracy_pct']} | {_fmt(cn.get('accuracy_pct'))} "
                 f"(paper architecture, network alone) | {_fmt(c.get('accuracy_pct'))} (network + dropout and click search) "
                 f"| – | – | {c.get('windows')} test windows (5 s), clean + every preset; false-noisy "
                 f"{_fmt(cn.get('false_noisy_pct'), 3)}% / {_fmt(c.get('false_noisy_pct'), 3)}% |")
    p = d.get("paper", {}).get("methods", {})
    if p:
        def g(m, k, nd=2):
            return _fmt(p.get(m, {}).get(k), nd)
        L.append(f"| de-noising SNR (dB) | {PAPER_CLAIMS['denoise_snr_db']} | {g('paper CAE', 'snr_db')} | {g('default', 'snr_db')} "
                 f"| {g('do-nothing', 'snr_db')} | {g('noisereduce', 'snr_db')} | 0 dB white Gaussian noise, 44.1 kHz, waveform SNR |")
        L.append(f"| … same, on magnitude spectrograms (dB) | {PAPER_CLAIMS['denoise_snr_db']} | {g('paper CAE', 'mag_snr_db')} | "
                 f"{g('default', 'mag_snr_db')} | {g('do-nothing', 'mag_snr_db')} | {g('noisereduce', 'mag_snr_db')} | "
                 "as above, SNR of |STFT| (one way the paper's figure could have been computed) |")
        L.append(f"| MAE | {PAPER_CLAIMS['denoise_mae']} | {g('paper CAE', 'mae', 4)} | {g('default', 'mae', 4)} | "
                 f"{g('do-nothing', 'mae', 4)} | {g('noisereduce', 'mae', 4)} | waveform mean absolute error, same protocol |")
        L.append(f"| validation loss (STFT L1) | {PAPER_CLAIMS['denoise_val_loss']} | {g('paper CAE', 'stft_l1', 4)} | "
                 f"{g('default', 'stft_l1', 4)} | {g('do-nothing', 'stft_l1', 4)} | {g('noisereduce', 'stft_l1', 4)} | "
                 "L1 of magnitude spectrograms (the paper's loss), same protocol |")
    if inp:
        s = inp.get("summary", {})
        if s:
            L.append(f"| LPC inpainting is \"seamless\" | seamless | {s.get('paper_lpc', '–')} | {s.get('best', '–')} | "
                     f"{s.get('zero', '–')} (zero-fill) | – | gap SNR (dB) in {s['gap_ms']:g} ms gaps of test piano |")
    _denoise_tables(L, d)
    hdn = r.get("denoise_heldout_piano", {}).get("protocols")
    if hdn:
        _denoise_tables(L, hdn, where=", held-out piano", material=r.get("denoise_heldout_piano_material"))
    if any(v.get("visqol_moslqo") is not None for p_ in d.values() for v in p_.get("methods", {}).values()):
        L.append("\nViSQOL MOS-LQO: ViSQOL v3 (`visqol-python`), audio mode, 1 (bad) to 5 (excellent), both signals "
                 "resampled to 48 kHz and scaled by one gain that brings the reference's peak to -1 dBFS "
                 "(`echoes.core.metrics.visqol_moslqo`).")
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
            L.append(f"| {cond} | {v['n']} | {_fmt(v['accuracy_pct'], 2)} | {_fmt(v['called_noisy_pct'], 2)} "
                     f"| {_fmt(v.get('network_accuracy_pct'), 2)} |")
        if c.get("errors") is not None:
            L.append(f"\nWindows the verdict got wrong: {_errors_md(c['errors'])}.")
        for key, title in (("harder_piano", "held-out piano"), ("harder_noise", "held-out noise clips")):
            h = r.get("classifier_" + key)
            if h:
                hn = h.get("network", {})
                L.append(f"\nHarder test, {title}: accuracy {_fmt(h['accuracy_pct'], 3)}%, false-noisy "
                         f"{_fmt(h['false_noisy_pct'], 3)}% over {h['windows']} windows (network alone: "
                         f"{_fmt(hn.get('accuracy_pct'), 3)}%, false-noisy {_fmt(hn.get('false_noisy_pct'), 3)}%)"
                         + (f"; wrong: {_errors_md(h['errors'])}." if h.get("errors") is not None else "."))
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
    if r.get("plots"):
        L.append("\n" + " ".join(f"![{p}]({p})" for p in r["plots"]))
    L.append(f"\nThe whole run took {r['seconds']:.0f} s.")
    return "\n".join(L) + "\n"


INPAINT_NAMES = {"zero": "zero-fill", "linear": "linear", "lpc": "paper LPC (Burg, cos²)", "janssen": "Janssen",
                 "burg2": "two-sided Burg LSAR", "similarity": "similarity (long gaps)", "auto": "automatic choice"}


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


def _same_gaps(x: dict[str, Any], y: dict[str, Any]) -> list[int]:
    """The piece of each gap, checked to be the same list for two methods' results."""
    if x["per_gap_signal"] != y["per_gap_signal"]:
        raise ValueError("two methods were scored on different gaps")
    return x["per_gap_signal"]


#: Gaps per piece and length in ``evaluate``: long gaps (slow to fill) and short ones.
INPAINT_GAPS_PER_PIECE = 4
INPAINT_SHORT_GAPS_PER_PIECE = 12


def _inpaint_section(pieces: list[np.ndarray], quick: bool, seed: int,
                     gaps_per_signal: int = INPAINT_GAPS_PER_PIECE,
                     short_gaps_per_signal: int = INPAINT_SHORT_GAPS_PER_PIECE,
                     detection: bool = True, **kwargs: Any) -> dict[str, Any]:
    """Gap SNR by method and length, detection scores (``detection``), and the markdown table;
    ``kwargs`` go to :func:`echoes.restore.gaps.inpaint.evaluate_inpainting` (``gap_ms``, ``methods``)."""
    from echoes.restore.gaps import inpaint

    res = inpaint.evaluate_inpainting(pieces, EVAL_RATE, quick=quick, seed=seed, gaps_per_signal=gaps_per_signal,
                                      short_gaps_per_signal=short_gaps_per_signal, detection=detection, **kwargs)
    snr = res["gap_snr"]
    lengths = sorted({ms for per in snr.values() for ms in per}, key=float)
    rows = ["| method | " + " | ".join(f"{float(ms):g} ms" for ms in lengths) + " |",
            "|---|" + "---:|" * len(lengths)]
    for m, per in snr.items():
        rows.append(f"| {INPAINT_NAMES.get(m, m)} | " + " | ".join(
            _fmt(per.get(ms, {}).get("mean_db"), 1) for ms in lengths) + " |")
    n = {ms: next(iter(snr.values())).get(ms, {}).get("n") for ms in lengths}
    rows.append("\nMean gap SNR in dB over " + ", ".join(f"{n[ms]} gaps of {float(ms):g} ms" for ms in lengths)
                + " (signal energy over error energy inside each gap, capped at 60 dB).")
    # the same gaps filled by two methods: the mean difference and its 95 % bootstrap interval
    res["paired_vs_janssen"] = {}
    if "janssen" in snr:
        diffs = []
        for m in ("burg2", "auto"):
            if m not in snr:
                continue
            res["paired_vs_janssen"][m] = {
                ms: paired_difference(snr[m][ms]["per_gap_db"], snr["janssen"][ms]["per_gap_db"],
                                      groups=_same_gaps(snr[m][ms], snr["janssen"][ms]), seed=seed)
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
                    f"40 dB level drops {_fmt(det.get('level_drop_recall_40dB'), 3)}.")
    res["table_md"] = "\n".join(rows)
    k20 = next((ms for ms in lengths if float(ms) == 20.0), lengths[0] if lengths else None)
    if k20 is not None:
        get = lambda m: snr.get(m, {}).get(k20, {}).get("mean_db")  # noqa: E731
        best = max((m for m in snr if m != "zero"), key=lambda m: get(m) if get(m) is not None else -1e9)
        res["summary"] = {"gap_ms": float(k20), "paper_lpc": _fmt(get("lpc"), 1), "zero": _fmt(get("zero"), 1),
                          "best": f"{_fmt(get(best), 1)} ({INPAINT_NAMES.get(best, best)})"}
    return res


def run(*, out: str | Path, quick: bool = False, corpus: str | Path | None = None, noise_dir=None,
        weights=None, device: str = "cpu", seed: int = 0, n_clips: int | None = None) -> dict[str, Any]:
    from echoes.core.checkpoint import git_commit

    from echoes.core.hub import resolve_weights, verify_folder

    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = resolve_weights(weights)
    n_clips = n_clips or (3 if quick else 100)
    mat = test_material(corpus=corpus, quick=quick, n_clips=n_clips, n_pieces=2 if quick else 6, seed=seed)
    results: dict[str, Any] = {
        "quick": quick, "date": _dt.date.today().isoformat(), "commit": git_commit() or "unknown",
        "echoes_version": __version__, "material": mat["source"], "paper_claims": PAPER_CLAIMS,
        "noise_dir": str(noise_dir) if noise_dir else None, "seed": seed,
        "weights": {"folder": str(weights), "sha256": verify_folder(weights)},
    }
    # The classifier is scored on every clip of the test split (a 0.08 % error rate needs
    # more than 1,250 windows to be measurable at all); the de-noiser on the first 24 of the
    # seeded sample of ``n_clips``.
    cmat = mat if quick else test_material(corpus=corpus, quick=False, n_clips=ALL_CLIPS, n_pieces=0, seed=seed)
    results["classifier_material"] = cmat["source"]
    log.info("classifier on %d clips", len(cmat["clips"]))
    results["classifier"] = eval_classifier(cmat["clips"], weights=weights, noise_dir=noise_dir,
                                            noise_split="train", seed=seed, clip_ids=cmat["clip_ids"])
    hp = None
    if not quick:
        try:
            hp = test_material(corpus=corpus, quick=False, n_clips=ALL_CLIPS, n_pieces=ALL_CLIPS, seed=seed,
                               heldout_piano=True)
            results["classifier_harder_piano_material"] = hp["source"]
            results["classifier_harder_piano"] = eval_classifier(hp["clips"], weights=weights, noise_dir=noise_dir,
                                                                 noise_split="train", seed=seed + 1,
                                                                 clip_ids=hp["clip_ids"])
        except Exception as exc:  # the corpus may have no held-out-piano split
            log.warning("harder test (held-out piano) skipped: %s", exc)
        if noise_dir:
            results["classifier_harder_noise"] = eval_classifier(cmat["clips"], weights=weights, noise_dir=noise_dir,
                                                                 noise_split="test", seed=seed + 2,
                                                                 clip_ids=cmat["clip_ids"])
    log.info("de-noising on %d clips", len(mat["clips"]))
    dn_clips = mat["clips"][: (3 if quick else 24)]
    results["denoise"] = eval_denoise(dn_clips, weights=weights, noise_dir=noise_dir, device=device, seed=seed,
                                      input_snrs=(0.0, 10.0) if quick else (-5.0, 0.0, 5.0, 10.0, 20.0))
    if not quick and hp is not None:
        # the same protocols on the piano that no training saw (a seeded sample, as above)
        hmat = test_material(corpus=corpus, quick=False, n_clips=n_clips, n_pieces=0, seed=seed, heldout_piano=True)
        if hmat["clips"]:
            log.info("de-noising on %d held-out-piano clips", min(24, len(hmat["clips"])))
            results["denoise_heldout_piano_material"] = hmat["source"]
            results["denoise_heldout_piano"] = eval_denoise(hmat["clips"][:24], weights=weights, noise_dir=noise_dir,
                                                            device=device, seed=seed, input_snrs=())
    log.info("inpainting on %d pieces", len(mat["pieces"]))
    results["inpaint"] = _inpaint_section(mat["pieces"], quick, seed)
    # the same short gaps in band-limited audio: the pieces through 22.05 kHz and back, as a
    # transfer made at that rate, or the de-noiser's output (the gaps are filled after it)
    log.info("inpainting on %d band-limited pieces", len(mat["pieces"]))
    narrow = [eaudio.resample(eaudio.resample(p, EVAL_RATE, 22_050), 22_050, EVAL_RATE) for p in mat["pieces"]]
    results["inpaint_band_limited"] = _inpaint_section(
        narrow, quick, seed, detection=False, gap_ms=(10, 20, 50, 80),
        methods=("zero", "lpc", "janssen", "burg2", "auto"))
    if not quick and hp is not None and hp["pieces"]:
        log.info("inpainting on %d held-out-piano pieces", len(hp["pieces"]))
        results["inpaint_heldout_piano"] = _inpaint_section(hp["pieces"], quick, seed, detection=False)
    results["plots"] = _plots(results, out)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=json_default) + "\n")
    (out / "results.md").write_text(render_markdown(results))
    return results
