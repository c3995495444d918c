"""Echoes in the browser: a thin Gradio adapter over :mod:`echoes` (no signal processing here).

Run ``python app.py [--host H] [--port P] [--concurrency N] [--max-minutes M]``; on a Hugging
Face Space it runs with the Space's defaults. ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT`` are
honoured. The API endpoint ``/restore`` takes one audio file (other inputs optional) and returns
the restored file first.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr

from echoes import plots
from echoes.api import Restorer, RestoreOptions, tag_file
from echoes.core import audio as eaudio
from echoes.errors import EchoesError
from echoes.models.registry import DEFAULT_DENOISER, DENOISERS
from echoes.restore.archivist.eq import CURVES

log = logging.getLogger("echoes.app")

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
MAX_MINUTES = float(os.environ.get("ECHOES_MAX_MINUTES", "10"))
CONCURRENCY = int(os.environ.get("ECHOES_CONCURRENCY", "2"))
KEEP_OUTPUTS_S = 3600

_restorer: Restorer | None = None
_lock = threading.Lock()
_tmp_root = Path(tempfile.mkdtemp(prefix="echoes-app-"))
atexit.register(shutil.rmtree, _tmp_root, ignore_errors=True)


def restorer() -> Restorer:
    """The shared restorer (models load once, on first use)."""
    global _restorer
    with _lock:
        if _restorer is None:
            _restorer = Restorer(weights=os.environ.get("ECHOES_WEIGHTS") or None)
        return _restorer


def _workdir() -> Path:
    """A fresh folder for one request; folders older than an hour are removed."""
    now = time.time()
    for d in _tmp_root.iterdir():
        try:
            if now - d.stat().st_mtime > KEEP_OUTPUTS_S:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(dir=_tmp_root))


def restore(
    audio_file: str | None,
    denoise: str = "auto",
    inpaint: bool = True,
    gap_sensitivity: float = 0.5,
    model: str = DEFAULT_DENOISER,
    strength: float = 1.0,
    channels: str = "keep",
    speed: str = "none",
    eq: str = "flat",
    progress=gr.Progress(),
):
    """Restore one uploaded or recorded clip. Returns, in order: the restored file, the verdict,
    the verdict timeline, spectrograms before and after, the waveform with gaps, the original,
    the removed noise, a download of the restored file, and the processing time."""
    if not audio_file:
        raise gr.Error("Upload or record a clip first (wav, flac, ogg or mp3).")
    t0 = time.perf_counter()
    src = Path(audio_file)
    try:
        info = eaudio.info(src)
        if info.duration > MAX_MINUTES * 60:
            raise gr.Error(
                f"This clip is {info.duration / 60:.1f} minutes long; the web app takes up to "
                f"{MAX_MINUTES:.0f} minutes. Use the command line (echoes restore) for longer files."
            )
        x, sr = eaudio.load(src)
        opts = RestoreOptions(denoise=denoise, inpaint="auto" if inpaint else "never",
                              gap_sensitivity=float(gap_sensitivity), model=model, strength=float(strength),
                              channels=channels, speed=speed, eq=eq)
        progress(0.0, desc="loading models")
        r = restorer()
        result = r.restore(x, sr, opts, progress=lambda f, d: progress(f, desc=d))
    except EchoesError as exc:
        raise gr.Error(str(exc)) from None
    work = _workdir()
    ext = src.suffix.lower() if src.suffix.lower() in eaudio.EXTENSIONS else ".wav"
    stem = src.stem or "clip"
    out = work / f"{stem}.restored{ext}"
    subtype = info.subtype if ext == src.suffix.lower() else None
    try:
        eaudio.save(out, result.audio, sr, subtype=subtype, protect=[src])
        removed = eaudio.save(work / f"{stem}.removed.wav", result.removed, sr)
        original = eaudio.save(work / f"{stem}.original.wav", x, sr)
        rep_meta = tag_file(out, opts.settings_text())
    except EchoesError as exc:
        raise gr.Error(str(exc)) from None
    progress(0.9, desc="drawing")
    rep = result.report
    thr = float(getattr(r.classifier, "threshold", 0.5))
    spec_b, spec_a = plots.spectrogram_pair(x, result.audio, sr, work / "before.png", work / "after.png")
    tl = plots.timeline(rep["segments"], rep["duration_s"], thr, work / "timeline.png")
    wf = plots.waveform(x, result.audio, sr, rep["gaps"], work / "waveform.png")
    rep["metadata"] = rep_meta
    verdict = _verdict_text(rep)
    elapsed = time.perf_counter() - t0
    timing = (f"Processed {rep['duration_s']:.1f} s of audio in {elapsed:.2f} s "
              f"({rep['duration_s'] / max(elapsed, 1e-9):.0f}× realtime): classify "
              f"{rep['timings']['classify_s']:.2f} s, de-noise {rep['timings']['denoise_s']:.2f} s, "
              f"gaps {rep['timings']['inpaint_s']:.2f} s.")
    return (str(out), verdict, tl, spec_b, spec_a, wf, str(original), str(removed), str(out), timing)


def _verdict_text(rep: dict) -> str:
    p = rep["p_noisy"]
    n_drop = len(rep.get("dropouts", []))
    n_click = len(rep.get("clicks", []))
    why = (f"; {n_drop} dropout(s) found" if n_drop else "") + (f"; {n_click} click(s) found" if n_click else "")
    head = f"**Verdict: {rep['verdict'].upper()}** (p(noisy) = {p:.3f}{why})"
    frac = rep.get("denoised_fraction", 0.0)
    fixed = [w for w, k in (("the filled gaps", rep["gaps"]), ("the repaired clicks", rep.get("clicks_repaired_samples")))
             if k]
    if frac == 0:
        what = "Nothing was de-noised: the audio passes through unchanged" + (
            f" apart from {' and '.join(fixed)}." if fixed else " (bit-exact).")
    else:
        what = f"De-noised {100 * frac:.0f}% of the clip (the windows judged noisy)."
    gaps = rep["gaps"]
    g = f" {len(gaps)} gap(s) filled: " + ", ".join(
        f"{d['start_s']:.2f}–{d['end_s']:.2f} s ({d['method']})" for d in gaps[:8]) if gaps else " No gaps found."
    return f"{head}\n\n{what}{g}{_archivist_text(rep)}"


def _archivist_text(rep: dict) -> str:
    """What the archivist controls did (channels, speed, curve), from the report."""
    a = rep.get("archivist")
    if not a:
        return ""
    parts = []
    ch = a["channels"]
    if ch["mode"] != "keep" and rep.get("input_channels", 1) > 1:
        noise = f" (noise {', '.join(f'{v:.1f}' for v in ch['noise_db'])} dB)" if "noise_db" in ch else ""
        parts.append(f"channels: {ch['mode']} → {ch['chosen']}{noise}")
    sp = a.get("speed")
    if sp:
        est = sp.get("estimate")
        if est:
            parts.append(f"tuning {est['cents']:+.1f} cents from A4 = 440 Hz → speed ratio "
                         f"{est['speed_ratio']:.4f} ({est['playback_rpm']:.2f} rpm for a 78.26 rpm disc)"
                         + (" — ambiguous: a semitone the other way is as likely, check by ear"
                            if est.get("ambiguous") else ""))
        if sp["applied_ratio"] != 1.0:
            parts.append(f"speed corrected by ×{sp['applied_ratio']:.4f} (length ×{sp['applied_ratio']:.4f})")
        else:
            parts.append("speed not changed")
    if a["eq"]["name"] != "flat":
        parts.append(f"recording curve: {a['eq']['name']} ({a['eq']['note']})")
    st = rep.get("options", {}).get("strength", 1.0)
    if st < 1.0:
        parts.append(f"de-noising strength {st:g} (0: input, 1: model output)")
    if not parts:
        return ""
    return "\n\nApplied: " + "; ".join(parts) + f". Settings recorded in the file: {rep.get('metadata', 'no')}."


def build_demo() -> gr.Blocks:
    """The Gradio page: the clip and its settings on the left, what came back on the right.

    The Restore button calls :func:`restore` (API name ``/restore``)."""
    examples = sorted(str(p) for p in EXAMPLES.glob("*") if p.suffix.lower() in eaudio.EXTENSIONS)
    with gr.Blocks(title="Echoes: restore historic piano recordings", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# Echoes\nRestore historic piano recordings (78s, cylinders, early transfers). "
            "Echoes first judges every 5-second window noisy or clean, de-noises only the noisy ones "
            "(clean audio comes back bit-exact), then finds dropouts and fills them."
        )
        with gr.Row():
            with gr.Column(scale=1):
                inp = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Your clip")
                with gr.Accordion("Settings", open=False):
                    denoise = gr.Radio(["auto", "always", "never"], value="auto", label="De-noise",
                                       info="auto: only windows the classifier calls noisy")
                    inpaint = gr.Checkbox(value=True, label="Fill gaps and dropouts")
                    sens = gr.Slider(0, 1, value=0.5, step=0.05, label="Gap sensitivity")
                    model = gr.Radio(list(DENOISERS), value=DEFAULT_DENOISER, label="De-noiser model",
                                     info="; ".join(f"{s.name}: {s.summary}" for s in DENOISERS.values()))
                    strength = gr.Slider(0, 1, value=1.0, step=0.05, label="De-noising strength",
                                         info="0: the input, 1: the model's output")
                    channels = gr.Radio(["keep", "mono", "left", "right", "best"], value="keep", label="Channels",
                                        info="best: the groove wall with less noise (or a blend); "
                                             "all but keep give mono")
                    speed = gr.Radio(["none", "estimate", "auto"], value="none", label="Playback speed",
                                     info="from the piano's tuning (A4 = 440 Hz, ±50 cents); "
                                          "auto corrects it (the length changes)")
                    eq = gr.Dropdown(list(CURVES), value="flat", label="Recording curve (playback EQ)",
                                     info="turnover / roll-off at 10 kHz; flat: none")
                btn = gr.Button("Restore", variant="primary", elem_id="restore-btn")
                if examples:
                    gr.Examples(examples, inputs=[inp], label="Examples (made by Echoes from public-domain scores)")
            with gr.Column(scale=2):
                verdict = gr.Markdown(elem_id="verdict")
                restored = gr.Audio(label="Restored", type="filepath", interactive=False, elem_id="restored-audio")
                timeline = gr.Image(label="Verdict per window", type="filepath", elem_id="timeline")
                with gr.Row():
                    spec_b = gr.Image(label="Spectrogram before", type="filepath", elem_id="spec-before")
                    spec_a = gr.Image(label="Spectrogram after", type="filepath", elem_id="spec-after")
                wave = gr.Image(label="Waveform and gaps", type="filepath", elem_id="waveform")
                with gr.Row():
                    original = gr.Audio(label="Original", type="filepath", interactive=False)
                    removed = gr.Audio(label="Removed (noise)", type="filepath", interactive=False)
                download = gr.File(label="Download the restored file")
                timing = gr.Markdown(elem_id="timing")
        btn.click(
            restore,
            inputs=[inp, denoise, inpaint, sens, model, strength, channels, speed, eq],
            outputs=[restored, verdict, timeline, spec_b, spec_a, wave, original, removed, download, timing],
            api_name="restore",
            concurrency_limit=CONCURRENCY,
        )
    demo.queue(max_size=64)
    return demo


def _warm_up() -> None:
    """Load the models and compile the kernels while the server starts (a request that comes
    first loads what it needs itself; a failure here is logged and shown by that request)."""
    t0 = time.perf_counter()
    try:
        restorer().warm_up()
    except Exception as exc:  # noqa: BLE001 - reported again, properly, by the first request
        log.warning("warm-up failed: %s", exc)
        return
    log.info("models loaded and kernels compiled in %.1f s", time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    global CONCURRENCY, MAX_MINUTES
    ap = argparse.ArgumentParser(description="Echoes web app")
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    ap.add_argument("--concurrency", type=int, default=CONCURRENCY, help="requests processed at once")
    ap.add_argument("--max-minutes", type=float, default=MAX_MINUTES, help="longest clip accepted")
    ap.add_argument("--share", action="store_true")
    args = ap.parse_args(argv)
    CONCURRENCY, MAX_MINUTES = args.concurrency, args.max_minutes
    if os.environ.get("SPACE_ID"):  # on a Hugging Face Space: listen on all interfaces
        args.host = os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    threading.Thread(target=_warm_up, name="echoes-warm-up", daemon=True).start()
    build_demo().launch(server_name=args.host, server_port=args.port, share=args.share)


if __name__ == "__main__":
    main()
