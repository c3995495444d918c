"""Echoes in the browser: a thin Gradio adapter over :mod:`echoes` (no signal processing here).

Run ``python app.py [--host H] [--port P] [--concurrency N] [--max-minutes M]``; on a Hugging
Face Space it runs with the Space's defaults. ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT`` are
honoured. The API endpoint ``/restore`` takes one audio file (other inputs optional) and returns
the restored file first, then (named by their labels) the account of what changed, the JSON
report, the figures, the original, the removed part, the download and the timing.
``python app.py --precompute`` stores the examples' results in examples/results/ (the page opens
on one of them and shows the others when an example is clicked, without computing).
"""

from __future__ import annotations

import argparse
import atexit
import json
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
from echoes.plots import words
from echoes.restore.files import json_default
from echoes.core import audio as eaudio
from echoes.errors import EchoesError
from echoes.models.registry import DEFAULT_DENOISER, DENOISERS
from echoes.restore.archivist.eq import CURVES

log = logging.getLogger("echoes.app")

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
RESULTS = EXAMPLES / "results"
#: The example whose precomputed result the page opens on.
LANDING = "worn78_joplin_maple_leaf.ogg"
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


OUTPUT_NAMES = ("restored", "account", "report", "timeline", "spectrograms", "waveform", "original",
                "removed", "download", "timing")


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
    extend_highs: bool = False,
    progress=gr.Progress(),
):
    """Restore one uploaded or recorded clip. Returns, in order (:data:`OUTPUT_NAMES`): the
    restored file, the account of what changed (Markdown), the JSON report, the verdict
    timeline, the spectrograms before/after, the waveform with gaps, the original, the removed
    noise, a download of the restored file, and the processing time."""
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
                              channels=channels, speed=speed, eq=eq,
                              extend_highs="auto" if extend_highs else "never")
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
    rep["metadata"] = rep_meta
    rep["input"] = src.name
    rep["bands"] = words.band_changes(x, result.audio, result.removed, sr, rep["gaps"])
    elapsed = time.perf_counter() - t0
    rep["app_elapsed_s"] = round(elapsed, 3)
    return present(x, result.audio, sr, rep, work, restored=out, original=original, removed=removed)


def present(x, y, sr: int, rep: dict, work: Path, *, restored: Path, original: Path | None,
            removed: Path | None, precomputed: bool = False) -> tuple:
    """The outputs (:data:`OUTPUT_NAMES`) of a result: figures drawn into ``work``, words from
    the report (its ``bands`` included); shared by fresh and precomputed results."""
    thr = _threshold()
    spec = plots.spectrograms(x, y, sr, work / "spectrograms.png", generated=rep.get("highs"))
    tl = plots.timeline(rep["segments"], rep["duration_s"], thr, work / "timeline.png")
    wf = plots.waveform(x, y, sr, rep["gaps"], work / "waveform.png")
    account = words.account(rep, thr)
    if precomputed:
        account = ("*A result computed ahead for this example (restored audio stored as Ogg Vorbis); "
                   "press Restore to run it again.*\n\n" + account)
    t = rep["timings"]
    elapsed = rep.get("app_elapsed_s", t.get("total_s", 0.0))
    timing = (f"Processed {rep['duration_s']:.1f} s of audio in {elapsed:.2f} s "
              f"({rep['duration_s'] / max(elapsed, 1e-9):.0f}× realtime): classify "
              f"{t['classify_s']:.2f} s, de-noise {t['denoise_s']:.2f} s, gaps {t['inpaint_s']:.2f} s.")
    report = json.loads(json.dumps(rep, default=json_default))
    return (str(restored), account, report, tl, spec, wf, str(original) if original else None,
            str(removed) if removed else None, str(restored), timing)


def _threshold() -> float:
    """The classifier's threshold (no model load just to draw a precomputed example)."""
    if _restorer is not None:
        try:
            return float(getattr(_restorer.classifier, "threshold", 0.5))
        except EchoesError:
            pass
    return _stored_threshold()


def _stored_threshold() -> float:
    """The classifier's threshold from the bundled weights' config, without loading the model."""
    try:
        folder = Path(os.environ.get("ECHOES_WEIGHTS") or HERE / "weights")
        cfg = json.loads((folder / "classifier.json").read_text())
        return float(cfg.get("threshold", 0.5))
    except (OSError, ValueError, TypeError):
        return 0.5


# ---- examples computed ahead (examples/results/, made by `python app.py --precompute`) ----

def example_meta() -> dict:
    try:
        return json.loads((EXAMPLES / "EXAMPLES.json").read_text())
    except (OSError, ValueError):
        return {}


def example_label(name: str, meta: dict) -> str:
    return meta.get(name, {}).get("label") or Path(name).stem.replace("_", " ")


def show_example(audio_file: str | None):
    """The precomputed result of a bundled example (or a fresh restoration of anything else)."""
    name = Path(audio_file or "").name
    res = RESULTS / f"{Path(name).stem}.json"
    if not audio_file or not res.is_file():
        return restore(audio_file)
    rep = json.loads(res.read_text())
    x, sr = eaudio.load(EXAMPLES / name)
    y, _ = eaudio.load(RESULTS / rep["stored"]["restored"])
    y = eaudio.fit_length(y, x.shape[-1]) if y.shape[-1] != x.shape[-1] else y
    return present(x, y, sr, rep, _workdir(), restored=RESULTS / rep["stored"]["restored"],
                   original=EXAMPLES / name, removed=RESULTS / rep["stored"]["removed"], precomputed=True)


def precompute() -> None:
    """Restore every bundled example with the default settings and store the result (restored
    and removed audio as Ogg Vorbis, the report with its per-band changes) in examples/results/."""
    RESULTS.mkdir(exist_ok=True)
    for p in _example_files():
        out = restore(str(p), progress=lambda *a, **k: None)
        rep = dict(out[2])
        rec, rem = f"{p.stem}.restored.ogg", f"{p.stem}.removed.ogg"
        y, sr = eaudio.load(out[0])
        eaudio.save(RESULTS / rec, y, sr)
        r, _ = eaudio.load(out[7])
        eaudio.save(RESULTS / rem, r, sr)
        rep["stored"] = {"restored": rec, "removed": rem, "note": "Ogg Vorbis copies; the report is exact"}
        (RESULTS / f"{p.stem}.json").write_text(json.dumps(rep, indent=1) + "\n")
        log.info("stored the result of %s", p.name)


def _example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*") if p.suffix.lower() in eaudio.EXTENSIONS)


def build_demo() -> gr.Blocks:
    """The Gradio page: the clip, its settings and the examples on the left, the account of what
    changed on the right, the figures full width below. It opens on the precomputed result of
    :data:`LANDING` (or of the first example that has one). The Restore button calls
    :func:`restore` (API name ``/restore``)."""
    files = _example_files()
    meta = example_meta()
    landing = next((p for p in files if p.name == LANDING and (RESULTS / f"{p.stem}.json").is_file()),
                   next((p for p in files if (RESULTS / f"{p.stem}.json").is_file()), None))
    first = show_example(str(landing)) if landing else (None,) * len(OUTPUT_NAMES)
    v = dict(zip(OUTPUT_NAMES, first))
    with gr.Blocks(title="Echoes: restore historic piano recordings", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# Echoes\nRestore historic piano recordings (78s, cylinders, early transfers). "
            "Echoes judges every 5-second window noisy or clean, de-noises only the noisy ones "
            "(clean audio comes back bit-exact), then finds dropouts and fills them. "
            + ("The page opens on an example's result computed ahead; click another example, or upload "
               "your own clip and press Restore." if landing else "")
        )
        with gr.Row():
            with gr.Column(scale=2):
                inp = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Your clip",
                               value=str(landing) if landing else None)
                btn = gr.Button("Restore", variant="primary", elem_id="restore-btn")
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
                    eq = gr.Dropdown([(f"{k}: {c.note}", k) for k, c in CURVES.items()], value="flat",
                                     label="Recording curve (playback EQ)",
                                     info="the disc's turnover and treble roll-off at 10 kHz; flat: none")
                    highs = gr.Checkbox(value=False, label="Extend the highs (learned model; generated, not restored)",
                                        info="audio that ends below 8 kHz: the missing band up to 11 kHz is "
                                             "generated by a model trained on clean piano (marked in the spectrogram)")
            with gr.Column(scale=3):
                account = gr.Markdown(v["account"], label="What changed", elem_id="verdict")
                restored = gr.Audio(v["restored"], label="Restored", type="filepath", interactive=False,
                                    elem_id="restored-audio")
                with gr.Row():
                    original = gr.Audio(v["original"], label="Original", type="filepath", interactive=False)
                    removed = gr.Audio(v["removed"], label="Removed (noise)", type="filepath", interactive=False)
        ex_holder = gr.Column()
        gr.Markdown("### Spectrograms, before and after")
        spec = gr.Image(v["spectrograms"], type="filepath", show_label=False, label="Spectrograms",
                        buttons=["fullscreen"], elem_id="spectrograms")
        gr.Markdown("### Verdict per window")
        timeline = gr.Image(v["timeline"], type="filepath", show_label=False, label="Verdict timeline",
                            buttons=["fullscreen"], elem_id="timeline")
        gr.Markdown("### Waveform and gaps")
        wave = gr.Image(v["waveform"], type="filepath", show_label=False, label="Waveform and gaps",
                        buttons=["fullscreen"], elem_id="waveform")
        with gr.Row():
            download = gr.File(v["download"], label="Download the restored file")
            timing = gr.Markdown(v["timing"], label="Processing time", elem_id="timing")
        with gr.Accordion("JSON report", open=False):
            report = gr.JSON(v["report"], label="Report", elem_id="report")
        outputs = [restored, account, report, timeline, spec, wave, original, removed, download, timing]
        btn.click(
            restore,
            inputs=[inp, denoise, inpaint, sens, model, strength, channels, speed, eq, highs],
            outputs=outputs,
            api_name="restore",
            concurrency_limit=CONCURRENCY,
        )
        if files:
            with ex_holder:
                gr.Examples([[str(p)] for p in files], inputs=[inp], outputs=outputs, fn=show_example,
                            run_on_click=True, cache_examples=False, api_visibility="private",
                            label="Examples (click one to see its result, computed ahead)",
                            example_labels=[example_label(p.name, meta) for p in files])
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
    ap.add_argument("--precompute", action="store_true",
                    help="restore the bundled examples and store their results in examples/results/, then exit")
    args = ap.parse_args(argv)
    if args.precompute:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        precompute()
        return
    CONCURRENCY, MAX_MINUTES = args.concurrency, args.max_minutes
    if os.environ.get("SPACE_ID"):  # on a Hugging Face Space: listen on all interfaces
        args.host = os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    threading.Thread(target=_warm_up, name="echoes-warm-up", daemon=True).start()
    build_demo().launch(server_name=args.host, server_port=args.port, share=args.share)


if __name__ == "__main__":
    main()
