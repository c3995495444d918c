"""The restoration chain: one library API that the CLI, the app, batch work and evaluation share.

classify every window → de-noise only the windows judged noisy (clean windows pass through
bit-exact; raised-cosine ramps where processing starts and stops, placed inside the noisy
span) → detect and fill gaps → output, plus a report (per-window verdicts, gaps and how each
was filled, timings).

Arrays are float32 ``(channels, samples)`` (``(samples,)`` is accepted and given back as such)
at any rate from 8 to 192 kHz; the output has the input's shape and rate and never clips.
Files of any length are restored block by block (:meth:`Restorer.restore_file`), so memory stays
flat.

Example
-------
>>> from echoes.api import Restorer, RestoreOptions
>>> r = Restorer()                                   # bundled weights, CPU
>>> result = r.restore(audio, 44100)                 # doctest: +SKIP
>>> result.audio, result.report["verdict"]           # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile as sf

from echoes import __version__
from echoes.core import audio as eaudio
from echoes.errors import OutputPathError, ParameterError
from echoes.core.hub import resolve_weights, verify_folder
from echoes.restore.archivist.tuning import parse_speed

log = logging.getLogger(__name__)

DENOISE_MODES = ("auto", "always", "never")
INPAINT_MODES = ("auto", "never")
MODELS = ("default", "paper")
#: The shortest input restored, in seconds (one classifier window needs some music to judge).
MIN_SECONDS = 0.25
#: Files longer than this (seconds) are restored block by block.
STREAM_ABOVE_S = 300.0
#: Block length and context margin (seconds) for block-wise restoration of long files.
BLOCK_S = 60.0
MARGIN_S = 10.0

Progress = Callable[[float, str], None]


@dataclass
class RestoreOptions:
    """What to do. All fields have safe defaults; see the CLI's ``restore --help``.

    denoise : ``auto`` (only windows the classifier calls noisy), ``always`` or ``never``.
    inpaint : ``auto`` (detect gaps and fill them) or ``never``.
    gaps : user gaps in seconds, ``"1.20-1.25,3.00-3.10"``; added to the detected ones, or
        replacing them when ``gaps_replace`` is true.
    gap_sensitivity : 0..1, higher finds fainter gaps (see :func:`echoes.restore.gaps.inpaint.detect_gaps`).
    model : de-noiser, ``default`` (phase-aware) or ``paper`` (the paper's autoencoder).
    strength : 0..1 dry/wet of de-noising: 0 gives the input, 1 the model's output.
    ramp_ms : length of the fades where de-noising starts and stops, in milliseconds.
    inpaint_method : ``auto`` or one method of :data:`echoes.restore.gaps.inpaint.METHODS`.
    channels : ``keep`` (default: restore every channel, layout kept), ``mono``, ``left``,
        ``right`` or ``best`` (the cleaner channel, or a blend); see :mod:`echoes.restore.archivist.channels`.
    speed : ``None``/``"none"`` (default: nothing), ``"estimate"`` (report the speed error
        from the piano's tuning), ``"auto"`` (estimate and correct) or a ratio (playback /
        recording speed) to correct; correcting changes the length by that ratio. See
        :mod:`echoes.restore.archivist.tuning`.
    eq : playback recording curve, ``flat`` (default: none) or a preset of :mod:`echoes.restore.archivist.eq`.
    """

    denoise: str = "auto"
    inpaint: str = "auto"
    gaps: str | None = None
    gaps_replace: bool = False
    gap_sensitivity: float = 0.5
    model: str = "default"
    strength: float = 1.0
    ramp_ms: float = 50.0
    inpaint_method: str = "auto"
    channels: str = "keep"
    speed: str | float | None = None
    eq: str = "flat"

    def validate(self) -> "RestoreOptions":
        if self.denoise not in DENOISE_MODES:
            raise ParameterError(f"--denoise must be one of {', '.join(DENOISE_MODES)}, not '{self.denoise}'")
        if self.inpaint not in INPAINT_MODES:
            raise ParameterError(f"--inpaint must be one of {', '.join(INPAINT_MODES)}, not '{self.inpaint}'")
        if self.model not in MODELS:
            raise ParameterError(f"--model must be one of {', '.join(MODELS)}, not '{self.model}'")
        if not 0.0 <= float(self.strength) <= 1.0:
            raise ParameterError(f"strength must be between 0 and 1, not {self.strength}")
        if not 0.0 <= float(self.gap_sensitivity) <= 1.0:
            raise ParameterError(f"gap sensitivity must be between 0 and 1, not {self.gap_sensitivity}")
        if not 0.0 <= float(self.ramp_ms) <= 1000.0:
            raise ParameterError(f"ramp must be between 0 and 1000 ms, not {self.ramp_ms}")
        from echoes.restore.archivist.channels import CHANNEL_MODES
        from echoes.restore.archivist.eq import get_curve

        if self.channels not in CHANNEL_MODES:
            raise ParameterError(f"--channels must be one of {', '.join(CHANNEL_MODES)}, not '{self.channels}'")
        parse_speed(self.speed)
        get_curve(self.eq)
        return self

    def settings_text(self) -> str:
        """One line describing the settings, for the output file's metadata."""
        return (f"echoes {__version__}: denoise={self.denoise} strength={self.strength:g} model={self.model} "
                f"inpaint={self.inpaint} channels={self.channels} speed={self.speed or 'none'} eq={self.eq}")


@dataclass
class RestoreResult:
    """``audio``: restored, same shape as the input; ``removed``: input − output; ``report``."""

    audio: np.ndarray
    removed: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` runs of True in a 1-D bool array."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def wet_curve(noisy: np.ndarray, ramp: int) -> np.ndarray:
    """Per-sample de-noising weight from a per-sample noisy mask.

    1 inside noisy runs, 0 outside; each run fades in and out over ``ramp`` samples with a
    raised cosine *inside* the run (at the signal's ends there is no fade), so samples outside
    noisy runs get exactly 0 and pass through bit-exact.
    """
    n = noisy.shape[0]
    w = noisy.astype(np.float32)
    for a, b in _runs(noisy):
        r = min(ramp, (b - a) // 2)
        if r <= 0:
            continue
        fade = (0.5 - 0.5 * np.cos(np.pi * (np.arange(r) + 0.5) / r)).astype(np.float32)
        if a > 0:
            w[a : a + r] = fade
        if b < n:
            w[b - r : b] = fade[::-1]
    return w


class Restorer:
    """Loads the models once and restores arrays or files.

    Parameters
    ----------
    weights : weights source (``None``: ``ECHOES_WEIGHTS`` or the bundled folder; a folder;
        ``hf://owner/repo@revision``). See :mod:`echoes.core.hub`.
    device : ``cpu`` or ``cuda``.
    """

    def __init__(self, *, weights: str | os.PathLike | None = None, device: str = "cpu") -> None:
        if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
            raise ParameterError(f"--device must be cpu or cuda, not '{device}'")
        if str(device).startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ParameterError("--device cuda was asked for, but no CUDA GPU is available")
        self.weights_dir = resolve_weights(weights)
        self.weights_hashes = verify_folder(self.weights_dir)
        self.device = device
        self._classifier = None
        self._denoisers: dict[str, Any] = {}

    # -- models ---------------------------------------------------------------------------
    @property
    def classifier(self):
        if self._classifier is None:
            from echoes.restore.classify import Classifier

            self._classifier = Classifier.load(self.weights_dir, device=self.device)
        return self._classifier

    def denoiser(self, model: str = "default"):
        if model not in self._denoisers:
            from echoes.restore.denoise import Denoiser

            self._denoisers[model] = Denoiser.load(model, self.weights_dir, device=self.device)
        return self._denoisers[model]

    def warm_up(self) -> None:
        """Load the classifier and the default de-noiser and compile the inpainting kernels,
        so that a first request does not wait for them (the app runs this in the background
        at start)."""
        from echoes.restore.gaps import inpaint

        _ = self.classifier
        self.denoiser("default")
        inpaint.warm_up()

    # -- steps ----------------------------------------------------------------------------
    def classify(self, audio: np.ndarray, sample_rate: int):
        """Per-window verdicts for ``(channels, samples)`` audio: a ``ClassifierResult``."""
        return self.classifier.classify(audio, sample_rate)

    def noisy_mask(self, result, n: int, sample_rate: int) -> np.ndarray:
        """Per-sample bool: True where the nearest window's ``p_noisy`` reaches the threshold."""
        segs = result.segments
        thr = float(getattr(self.classifier, "threshold", 0.5))
        if not segs:  # the network's p_noisy, not the verdict (a dropout alone needs no de-noising)
            return np.full(n, float(result.p_noisy) >= thr)
        centres = np.array([(s.start + s.end) / 2 for s in segs]) * sample_rate
        noisy = np.array([s.p_noisy >= thr for s in segs])
        order = np.argsort(centres)
        centres, noisy = centres[order], noisy[order]
        if len(centres) == 1:
            return np.full(n, bool(noisy[0]))
        bounds = (centres[1:] + centres[:-1]) / 2  # sample where the nearest centre changes
        idx = np.searchsorted(bounds, np.arange(n) + 0.5)
        return noisy[idx]

    def restore(
        self,
        audio: np.ndarray,
        sample_rate: int,
        options: RestoreOptions | None = None,
        *,
        progress: Progress | None = None,
        user_gaps: list | None = None,
    ) -> RestoreResult:
        """Restore one array; see the module docstring. Returns audio, what was removed, a report.

        ``user_gaps`` (:class:`echoes.restore.gaps.inpaint.Gap` list, samples of this array) replaces the
        parsing of ``options.gaps`` (used for block-wise restoration of long files).
        """
        opts = (options or RestoreOptions()).validate()
        x = np.asarray(audio)
        one_d = x.ndim == 1
        x2 = np.ascontiguousarray(x[None, :] if one_d else x, dtype=np.float32)
        eaudio.check_audio(x2, sample_rate, min_seconds=MIN_SECONDS)
        if not eaudio.MIN_RATE <= sample_rate <= eaudio.MAX_RATE:
            raise ParameterError(f"sample rate {sample_rate} Hz is outside {eaudio.MIN_RATE}–{eaudio.MAX_RATE} Hz")
        say = progress or (lambda f, d: None)
        timings: dict[str, float] = {}
        t_all = time.perf_counter()
        in_channels, in_samples = x2.shape
        x2, archivist = _prepare(x2, sample_rate, opts)
        n = x2.shape[-1]

        # 1. classify every window
        t = time.perf_counter()
        say(0.05, "classifying")
        verdict = self.classify(x2, sample_rate)
        timings["classify_s"] = time.perf_counter() - t

        # 1b. isolated clicks in audio that nothing else made noisy (the classifier lists them
        # only then): repaired in the time domain, every other sample left as it was
        src = x2
        clicks_repaired = 0
        if verdict.clicks and opts.denoise != "never" and opts.strength > 0:
            from echoes.restore.declick import repair_clicks

            rep, clicks_repaired = repair_clicks(x2, sample_rate, verdict.clicks)
            src = x2 + np.float32(opts.strength) * (rep - x2) if opts.strength < 1 else rep

        # 2. de-noise only what needs it
        t = time.perf_counter()
        if opts.denoise == "always":
            noisy = np.ones(n, dtype=bool)
        elif opts.denoise == "never":
            noisy = np.zeros(n, dtype=bool)
        else:
            noisy = self.noisy_mask(verdict, n, sample_rate)
        w = wet_curve(noisy, int(round(opts.ramp_ms * 1e-3 * sample_rate))) * np.float32(opts.strength)
        out = src.copy()
        spans = _runs(w > 0)
        if spans:
            say(0.2, "de-noising")
            den = self.denoiser(opts.model)
            margin = int(2.0 * sample_rate)
            for a, b in _merge_spans(spans, margin, n):
                lo, hi = max(0, a - margin), min(n, b + margin)
                y = den.denoise(src[:, lo:hi], sample_rate)
                seg_w = w[a:b]
                mix = src[:, a:b] + seg_w * (y[:, a - lo : b - lo] - src[:, a:b])
                out[:, a:b] = np.where(seg_w > 0, mix, src[:, a:b])
        timings["denoise_s"] = time.perf_counter() - t

        # 3. find and fill gaps (detected on the input, filled on the de-noised signal)
        t = time.perf_counter()
        gaps_report: list[dict] = []
        from echoes.restore.gaps import inpaint

        if user_gaps is None:
            user_gaps = inpaint.parse_gaps(opts.gaps, sample_rate, n_samples=n) if opts.gaps else []
        if opts.inpaint != "never" or user_gaps:
            say(0.7, "filling gaps")
            gaps = []
            if opts.inpaint != "never" and not (user_gaps and opts.gaps_replace):
                gaps = inpaint.detect_gaps(x2, sample_rate, sensitivity=float(opts.gap_sensitivity))
            gaps = inpaint.merge_gaps(gaps, user_gaps)
            if gaps:
                out, filled = inpaint.fill_gaps(out, sample_rate, gaps, method=opts.inpaint_method)
                gaps_report = [g.to_dict() for g in filled]
        timings["inpaint_s"] = time.perf_counter() - t

        # 4. playback curve, then never clip
        restored = out
        if opts.eq != "flat":
            from echoes.restore.archivist.eq import apply_eq

            out = apply_eq(out, sample_rate, opts.eq)
        peak = float(np.max(np.abs(out)))
        if peak > 1.0:
            out = (out / peak).astype(np.float32)
        # what de-noising and gap filling removed (before the curve when one is applied)
        removed = (x2 - (out if opts.eq == "flat" else restored)).astype(np.float32)
        timings["total_s"] = time.perf_counter() - t_all
        timings["realtime_factor"] = (n / sample_rate) / max(timings["total_s"], 1e-9)
        say(1.0, "done")
        report = {
            "sample_rate": int(sample_rate),
            "channels": int(x2.shape[0]),
            "samples": int(n),
            "duration_s": n / sample_rate,
            **verdict.to_dict(),
            "denoised": [
                {"start": a / sample_rate, "end": b / sample_rate} for a, b in spans
            ],
            "denoised_fraction": float(np.mean(w > 0)),
            "clicks_repaired_samples": clicks_repaired,
            "gaps": gaps_report,
            "scaled_down_db": round(20 * np.log10(peak), 3) if peak > 1.0 else 0.0,
            "timings": {k: round(v, 4) for k, v in timings.items()},
            "options": asdict(opts),
            "weights": self.weights_hashes,
            "echoes_version": __version__,
            "input_channels": int(in_channels),
            "input_samples": int(in_samples),
            "archivist": archivist,
        }
        if one_d:
            return RestoreResult(out[0], removed[0], report)
        return RestoreResult(out, removed, report)

    # -- files ----------------------------------------------------------------------------
    def restore_file(
        self,
        src: str | os.PathLike,
        dst: str | os.PathLike,
        options: RestoreOptions | None = None,
        *,
        residual: str | os.PathLike | None = None,
        progress: Progress | None = None,
        stream_above_s: float = STREAM_ABOVE_S,
    ) -> dict[str, Any]:
        """Restore the file ``src`` into ``dst`` (format from ``dst``'s extension; the input's
        subtype where that format allows it). Never writes over ``src``; no partial files.

        Files longer than ``stream_above_s`` seconds are restored in blocks of
        :data:`BLOCK_S` seconds with :data:`MARGIN_S` seconds of context on each side.
        Returns the report (with ``input`` and ``output`` paths added).
        """
        opts = (options or RestoreOptions()).validate()
        src, dst = Path(src), Path(dst)
        protect = [src]
        eaudio.format_for(dst)
        if residual is not None:
            eaudio.format_for(residual)
            if Path(residual).resolve() == dst.resolve():
                raise OutputPathError("the residual and the output must be different files")
        for p in [dst] + ([Path(residual)] if residual else []):
            if p.exists() and src.exists() and os.path.samefile(p, src):
                raise OutputPathError(f"refusing to overwrite the input '{src}': choose another output path")
        info = eaudio.info(src)
        subtype = info.subtype if Path(src).suffix.lower() == dst.suffix.lower() else None
        if info.duration <= stream_above_s:
            x, sr = eaudio.load(src)
            res = self.restore(x, sr, opts, progress=progress)
            eaudio.save(dst, res.audio, sr, subtype=subtype, protect=protect)
            if residual is not None:
                eaudio.save(residual, res.removed, sr, subtype=subtype, protect=protect)
            report = res.report
        else:
            if parse_speed(opts.speed) is not None:
                raise ParameterError(f"--speed works on files up to {stream_above_s:.0f} s for now; "
                                     f"'{src}' lasts {info.duration:.0f} s: split it first")
            report = self._restore_blocks(src, dst, info, opts, subtype=subtype, residual=residual,
                                          progress=progress)
        report["metadata"] = tag_file(dst, opts.settings_text())
        report["input"] = str(src)
        report["output"] = str(dst)
        if residual is not None:
            report["residual"] = str(residual)
        return report

    def _restore_blocks(self, src: Path, dst: Path, info, opts: RestoreOptions, *, subtype,
                        residual, progress: Progress | None) -> dict[str, Any]:
        sr, n = info.sample_rate, info.frames
        out_ch = info.channels if opts.channels == "keep" else 1
        from dataclasses import replace

        from echoes.restore.archivist.eq import apply_eq

        blk_opts = replace(opts, eq="flat")
        block, margin = int(BLOCK_S * sr), int(MARGIN_S * sr)
        starts = list(range(0, n, block))
        say = progress or (lambda f, d: None)
        from echoes.restore.gaps.inpaint import Gap, parse_gaps

        all_user = parse_gaps(opts.gaps, sr, n_samples=n) if opts.gaps else []
        segments: list[dict] = []
        gaps: list[dict] = []
        dropouts: list[dict] = []
        clicks: list[dict] = []
        denoised: list[dict] = []
        timings: dict[str, float] = {}
        peak_out = peak_res = 0.0
        t0 = time.perf_counter()
        tmpdir = tempfile.mkdtemp(prefix="echoes-", dir=str(dst.parent))
        tmp_out = Path(tmpdir) / "out.wav"
        tmp_res = Path(tmpdir) / "res.wav"
        try:
            with sf.SoundFile(tmp_out, "w", sr, out_ch, subtype="FLOAT", format="WAV") as fo, \
                 (sf.SoundFile(tmp_res, "w", sr, out_ch, subtype="FLOAT", format="WAV")
                  if residual is not None else _Null()) as fr:
                for k, s in enumerate(starts):
                    e = min(n, s + block)
                    lo, hi = max(0, s - margin), min(n, e + margin)
                    x, _ = eaudio.load(src, start=lo, frames=hi - lo)
                    ug = [Gap(max(g.start, lo) - lo, min(g.end, hi) - lo, sr, kind=g.kind)
                          for g in all_user if g.end > lo and g.start < hi]
                    res = self.restore(x, sr, blk_opts, user_gaps=ug)
                    core = slice(s - lo, e - lo)
                    y, r = res.audio[:, core], res.removed[:, core]
                    if opts.eq != "flat":  # the curve on block + context; one scaling for the file
                        y = apply_eq(res.audio, sr, opts.eq)[:, core]
                    fo.write(y.T)
                    fr.write(r.T)
                    peak_out = max(peak_out, float(np.max(np.abs(y))))
                    peak_res = max(peak_res, float(np.max(np.abs(r))) if r.size else 0.0)
                    off = lo / sr
                    for seg in res.report["segments"]:
                        c = off + (seg["start"] + seg["end"]) / 2
                        if s / sr <= c < e / sr:
                            segments.append({**seg, "start": round(seg["start"] + off, 3),
                                             "end": round(seg["end"] + off, 3)})
                    for d in res.report.get("dropouts", []):
                        if s / sr <= d["start"] + off < e / sr:
                            dropouts.append({**d, "start": round(d["start"] + off, 6),
                                             "end": round(d["end"] + off, 6)})
                    for d in res.report.get("clicks", []):
                        if s / sr <= d["start"] + off < e / sr:
                            clicks.append({**d, "start": round(d["start"] + off, 6),
                                           "end": round(d["end"] + off, 6)})
                    for g in res.report["gaps"]:
                        if s <= g["start"] + lo < e:
                            gaps.append({**g, "start": g["start"] + lo, "end": g["end"] + lo,
                                         "start_s": round(g["start_s"] + off, 6),
                                         "end_s": round(g["end_s"] + off, 6)})
                    for d in res.report["denoised"]:
                        a, b = max(d["start"] + off, s / sr), min(d["end"] + off, e / sr)
                        if b > a:
                            denoised.append({"start": a, "end": b})
                    for key, v in res.report["timings"].items():
                        if key.endswith("_s"):
                            timings[key] = timings.get(key, 0.0) + v
                    say((k + 1) / len(starts), f"block {k + 1}/{len(starts)}")
            _finalise(tmp_out, dst, sr, subtype, peak_out)
            if residual is not None:
                _finalise(tmp_res, Path(residual), sr, subtype, peak_res)
        finally:
            for f in (tmp_out, tmp_res):
                if f.exists():
                    f.unlink()
            os.rmdir(tmpdir)
        thr = float(getattr(self.classifier, "threshold", 0.5))
        ps = np.array([sg["p_noisy"] for sg in segments]) if segments else np.zeros(1)
        p_all = float(np.percentile(ps, 75))
        total = time.perf_counter() - t0
        timings["total_s"] = total
        timings["realtime_factor"] = (n / sr) / max(total, 1e-9)
        return {
            "sample_rate": sr, "channels": out_ch, "samples": n, "duration_s": n / sr,
            "input_channels": info.channels, "input_samples": n,
            "archivist": {"channels": {"mode": opts.channels, "chosen": "per block" if opts.channels == "best"
                                       else opts.channels},
                          "speed": None, "eq": {"name": opts.eq}},
            "verdict": "noisy" if p_all >= thr or dropouts or clicks else "clean", "p_noisy": round(p_all, 6),
            "segments": segments, "dropouts": dropouts, "clicks": clicks, "denoised": _merge_dicts(denoised),
            "gaps": gaps,
            "denoised_fraction": sum(d["end"] - d["start"] for d in denoised) / (n / sr),
            "scaled_down_db": round(20 * np.log10(peak_out), 3) if peak_out > 1 else 0.0,
            "timings": {k: round(v, 4) for k, v in timings.items()},
            "options": asdict(opts), "weights": self.weights_hashes, "echoes_version": __version__,
            "blocks": len(starts),
        }


def _prepare(x: np.ndarray, sample_rate: int, opts: RestoreOptions) -> tuple[np.ndarray, dict]:
    """Channel selection and speed estimate/correction before restoration; says what was done."""
    from echoes.restore.archivist.channels import select_channels
    from echoes.restore.archivist.eq import get_curve
    from echoes.restore.archivist.tuning import correct_speed, estimate_speed, parse_speed

    x, ch_info = select_channels(x, sample_rate, opts.channels)
    sp = parse_speed(opts.speed)
    speed: dict[str, Any] | None = None
    if sp is not None:
        speed = {"mode": "ratio" if isinstance(sp, float) else sp}
        ratio = 1.0
        if sp in ("auto", "estimate"):
            est = estimate_speed(x, sample_rate)
            speed["estimate"] = est.to_dict()
            ratio = est.speed_ratio if sp == "auto" else 1.0
        else:
            ratio = float(sp)
        speed["applied_ratio"] = round(ratio, 6)
        if ratio != 1.0:
            n0 = x.shape[-1]
            x = correct_speed(x, sample_rate, ratio)
            speed["length_change"] = f"{n0} -> {x.shape[-1]} samples (x{ratio:.4f})"
            log.info("speed corrected by %.4f: %d -> %d samples", ratio, n0, x.shape[-1])
    c = get_curve(opts.eq)
    return x, {"channels": ch_info, "speed": speed,
               "eq": {"name": opts.eq, "turnover_hz": c.turnover_hz, "rolloff_db_10k": round(c.rolloff_db, 2),
                      "note": c.note}}


def tag_file(path: str | os.PathLike, text: str) -> str:
    """Record ``text`` in the file's ``comment`` tag (and ``software``) where the format allows it
    without re-encoding: WAV and AIFF in place, FLAC by a lossless rewrite. Returns where the
    settings were recorded (``comment tag`` or ``report only``)."""
    p = Path(path)
    ext = p.suffix.lower()
    try:
        if ext in (".wav", ".aiff", ".aif"):
            with sf.SoundFile(p, "r+") as f:
                f.comment = text
                f.software = f"echoes {__version__}"
            return "comment tag"
        if ext == ".flac":
            fd, part = tempfile.mkstemp(prefix=".echoes-", suffix=".flac", dir=str(p.parent))
            os.close(fd)
            try:
                with sf.SoundFile(p) as fi, sf.SoundFile(part, "w", fi.samplerate, fi.channels,
                                                         subtype=fi.subtype, format="FLAC") as fo:
                    fo.comment = text
                    fo.software = f"echoes {__version__}"
                    dtype = "int32" if fi.subtype in ("PCM_16", "PCM_24", "PCM_S8") else "float32"
                    for blk in fi.blocks(blocksize=fi.samplerate * 30, dtype=dtype, always_2d=True):
                        fo.write(blk)
                os.replace(part, p)
            finally:
                if os.path.exists(part):
                    os.unlink(part)
            return "comment tag"
    except (OSError, RuntimeError, ValueError, TypeError) as exc:  # tags are a courtesy; the audio is written
        log.warning("could not tag '%s': %s", p, exc)
    return "report only"


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def write(self, _):
        pass


def _finalise(tmp: Path, dst: Path, sr: int, subtype: str | None, peak: float) -> None:
    """Copy a float WAV into ``dst``'s format block by block, scaling down if the peak exceeds 1."""
    fmt = eaudio.format_for(dst)
    if subtype is not None and not sf.check_format(fmt, subtype):
        subtype = None
    subtype = subtype or sf.default_subtype(fmt)
    scale = 1.0 / peak if peak > 1.0 else 1.0
    fd, part = tempfile.mkstemp(prefix=".echoes-", suffix=dst.suffix, dir=str(dst.parent))
    os.close(fd)
    try:
        with sf.SoundFile(tmp) as fi, sf.SoundFile(part, "w", sr, fi.channels, subtype=subtype, format=fmt) as fo:
            for blk in fi.blocks(blocksize=sr * 30, dtype="float32", always_2d=True):
                fo.write(blk * np.float32(scale) if scale != 1.0 else blk)
        os.replace(part, dst)
    except Exception as exc:
        if os.path.exists(part):
            os.unlink(part)
        raise OutputPathError(f"cannot write '{dst}': {exc}") from None


def _merge_spans(spans: list[tuple[int, int]], gap: int, n: int) -> list[tuple[int, int]]:
    """Merge spans closer than ``gap`` samples (they share the de-noiser's context)."""
    out: list[list[int]] = []
    for a, b in spans:
        if out and a - out[-1][1] <= 2 * gap:
            out[-1][1] = b
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _merge_dicts(spans: list[dict]) -> list[dict]:
    out: list[dict] = []
    for d in sorted(spans, key=lambda d: d["start"]):
        if out and d["start"] <= out[-1]["end"] + 1e-9:
            out[-1]["end"] = max(out[-1]["end"], d["end"])
        else:
            out.append(dict(d))
    return out


def write_report(reports: list[dict], path: str | os.PathLike) -> None:
    """Write reports (one per input) as JSON, atomically."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".echoes-", suffix=".json", dir=str(p.parent if str(p.parent) else "."))
    with os.fdopen(fd, "w") as f:
        json.dump(reports, f, indent=2, default=json_default)
        f.write("\n")
    os.replace(tmp, p)


def json_default(o):
    """``json.dumps`` default for numpy scalars and arrays (anything else becomes a string)."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
