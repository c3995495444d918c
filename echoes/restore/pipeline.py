"""The restoration chain on arrays: options, result, and :class:`Restorer`.

classify every window → de-noise only the windows judged noisy (clean windows pass through
bit-exact; raised-cosine ramps where processing starts and stops, placed inside the noisy
span) → detect and fill gaps → (optionally) extend the highs → playback curve → output, plus a report (per-window verdicts,
gaps and how each was filled, the de-noiser that ran, timings).

Arrays are float32 ``(channels, samples)`` (``(samples,)`` is accepted and given back as such)
at any rate from 8 to 192 kHz; the output has the input's shape and rate and never clips
(it is scaled down when its peak exceeds 1). ``RestoreResult.removed`` is the prepared input
(after channel choice and playback-tuning correction) minus the output before the curve and
before any generated high band (``extend_highs``).
Files, of any length, go through :mod:`echoes.restore.files` (:meth:`Restorer.restore_file`).
De-noisers are named by :mod:`echoes.models.registry` (``fast``, alias ``default``; ``archival``;
``paper``).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from echoes import __version__
from echoes.core import audio as eaudio
from echoes.core.hub import resolve_weights, verify_folder
from echoes.core.signal import runs
from echoes.errors import ParameterError
from echoes.models.registry import DEFAULT_DENOISER, canonical, denoiser_names
from echoes.restore import files
from echoes.restore.archivist.channels import CHANNEL_MODES, select_channels
from echoes.restore.archivist.eq import apply_eq, get_curve
from echoes.restore.archivist.tuning import correct_speed, estimate_speed, parse_speed
from echoes.restore.classify import Classifier
from echoes.restore.declick import repair_clicks
from echoes.restore.denoise import Denoiser
from echoes.restore.gaps.detect import detect_gaps
from echoes.restore.gaps.fill import fill_gaps, warm_up as warm_up_gaps
from echoes.restore.gaps.spans import merge_gaps, parse_gaps
from echoes.restore.highs import AUTO_BELOW_HZ, DEFAULT_METHOD as HIGHS_METHOD, effective_bandwidth_hz, extend_highs

log = logging.getLogger(__name__)

DENOISE_MODES = ("auto", "always", "never")
HIGHS_MODES = ("never", "auto", "always")
INPAINT_MODES = ("auto", "never")
#: The shortest input restored, in seconds (one classifier window needs some music to judge).
MIN_SECONDS = 0.25
#: Seconds between classifier windows under ``denoise="always"`` (5-s windows side by side: the
#: verdict is only reported there; ``classify`` and ``auto`` keep half-overlapping windows).
ALWAYS_HOP_S = 5.0

Progress = Callable[[float, str], None]


@dataclass
class RestoreOptions:
    """What to do. All fields have safe defaults; see the CLI's ``restore --help``.

    denoise : ``auto`` (only windows the classifier calls noisy), ``always`` or ``never``.
    inpaint : ``auto`` (detect gaps and fill them) or ``never``.
    gaps : user gaps in seconds, ``"1.20-1.25,3.00-3.10"``; added to the detected ones, or
        replacing them when ``gaps_replace`` is true.
    gap_sensitivity : 0..1, higher finds fainter gaps (see :func:`echoes.restore.gaps.detect.detect_gaps`).
    model : de-noiser, a name of :mod:`echoes.models.registry`: ``fast`` (phase-aware, 22.05 kHz
        inside; alias ``default``), ``archival`` (the same at 44.1 kHz over the whole band, slower)
        or ``paper`` (the paper's autoencoder).
    strength : 0..1, how much of the de-noiser's output is used: 0 gives the input, 1 the model's output.
    ramp_ms : length of the fades where de-noising starts and stops, in milliseconds.
    inpaint_method : ``auto`` or one method of :data:`echoes.restore.gaps.fill.METHODS`.
    channels : ``keep`` (default: restore every channel, layout kept), ``mono``, ``left``,
        ``right`` or ``best`` (the cleaner channel, or a blend); see :mod:`echoes.restore.archivist.channels`.
    speed : ``None``/``"none"`` (default: nothing), ``"estimate"`` (report the speed error
        from the piano's tuning), ``"auto"`` (estimate and correct) or a ratio (playback /
        recording speed) to correct; correcting changes the length by that ratio. See
        :mod:`echoes.restore.archivist.tuning`.
    eq : playback recording curve, ``flat`` (default: none) or a preset of :mod:`echoes.restore.archivist.eq`.
    extend_highs : ``never`` (default), ``auto`` (only audio whose effective bandwidth ends below
        8 kHz after de-noising and gap filling; other audio comes back bit-exact) or ``always``:
        generate the band from the effective bandwidth up to 11.025 kHz with the learned model
        (:data:`echoes.restore.highs.DEFAULT_METHOD`; :mod:`echoes.restore.highs_model`).
    """

    denoise: str = "auto"
    inpaint: str = "auto"
    gaps: str | None = None
    gaps_replace: bool = False
    gap_sensitivity: float = 0.5
    model: str = DEFAULT_DENOISER
    strength: float = 1.0
    ramp_ms: float = 50.0
    inpaint_method: str = "auto"
    channels: str = "keep"
    speed: str | float | None = None
    eq: str = "flat"
    extend_highs: str = "never"

    def validate(self) -> "RestoreOptions":
        if self.denoise not in DENOISE_MODES:
            raise ParameterError(f"--denoise must be one of {', '.join(DENOISE_MODES)}, not '{self.denoise}'")
        if self.inpaint not in INPAINT_MODES:
            raise ParameterError(f"--inpaint must be one of {', '.join(INPAINT_MODES)}, not '{self.inpaint}'")
        if self.model not in denoiser_names():
            raise ParameterError(f"--model must be one of {', '.join(denoiser_names())}, not '{self.model}'")
        if not 0.0 <= float(self.strength) <= 1.0:
            raise ParameterError(f"strength must be between 0 and 1, not {self.strength}")
        if not 0.0 <= float(self.gap_sensitivity) <= 1.0:
            raise ParameterError(f"gap sensitivity must be between 0 and 1, not {self.gap_sensitivity}")
        if not 0.0 <= float(self.ramp_ms) <= 1000.0:
            raise ParameterError(f"ramp must be between 0 and 1000 ms, not {self.ramp_ms}")
        if self.channels not in CHANNEL_MODES:
            raise ParameterError(f"--channels must be one of {', '.join(CHANNEL_MODES)}, not '{self.channels}'")
        if self.extend_highs not in HIGHS_MODES:
            raise ParameterError(f"--extend-highs must be one of {', '.join(HIGHS_MODES)}, not '{self.extend_highs}'")
        parse_speed(self.speed)
        get_curve(self.eq)
        return self

    def settings_text(self) -> str:
        """One line describing the settings, for the output file's metadata."""
        return (f"echoes {__version__}: denoise={self.denoise} strength={self.strength:g} model={self.model} "
                f"inpaint={self.inpaint} channels={self.channels} speed={self.speed or 'none'} eq={self.eq}"
                + (f" extend_highs={self.extend_highs}" if self.extend_highs != "never" else ""))


@dataclass
class RestoreResult:
    """``audio``: restored, same shape as the input; ``removed``: input − output; ``report``."""

    audio: np.ndarray
    removed: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


def wet_curve(noisy: np.ndarray, ramp: int) -> np.ndarray:
    """Per-sample de-noising weight from a per-sample noisy mask.

    1 inside noisy runs, 0 outside; each run fades in and out over ``ramp`` samples with a
    raised cosine *inside* the run (at the signal's ends there is no fade), so samples outside
    noisy runs get exactly 0 and pass through bit-exact.
    """
    n = noisy.shape[0]
    w = noisy.astype(np.float32)
    for a, b in runs(noisy):
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
            self._classifier = Classifier.load(self.weights_dir, device=self.device)
        return self._classifier

    def denoiser(self, model: str = DEFAULT_DENOISER):
        """The de-noiser named ``model`` (a registry name or alias), loaded on first use."""
        name = canonical(model)
        if name not in self._denoisers:
            self._denoisers[name] = Denoiser.load(name, self.weights_dir, device=self.device)
        return self._denoisers[name]

    def warm_up(self) -> None:
        """Load the classifier and the default de-noiser and compile the inpainting kernels,
        so that a first request does not wait for them (the app runs this in the background
        at start)."""
        _ = self.classifier
        self.denoiser(DEFAULT_DENOISER)
        warm_up_gaps()

    # -- steps ----------------------------------------------------------------------------
    def classify(self, audio: np.ndarray, sample_rate: int, **kwargs):
        """Per-window verdicts for ``(channels, samples)`` audio: a ``ClassifierResult``
        (``kwargs`` go to :meth:`echoes.restore.classify.Classifier.classify`)."""
        return self.classifier.classify(audio, sample_rate, **kwargs)

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

        ``user_gaps`` (:class:`echoes.restore.gaps.spans.Gap` list, samples of this array) replaces the
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
        # with --denoise always the verdict only feeds the report (and, through it, whether isolated
        # clicks are searched): windows side by side (ALWAYS_HOP_S) halve the network's work
        verdict = self.classify(x2, sample_rate, **({"hop_s": ALWAYS_HOP_S} if opts.denoise == "always" else {}))
        timings["classify_s"] = time.perf_counter() - t

        # 1b. isolated clicks in audio that nothing else made noisy (the classifier lists them
        # only then): repaired in the time domain, every other sample left as it was
        src = x2
        clicks_repaired = 0
        if verdict.clicks and opts.denoise != "never" and opts.strength > 0:
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
        spans = runs(w > 0)
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
        if user_gaps is None:
            user_gaps = parse_gaps(opts.gaps, sample_rate, n_samples=n) if opts.gaps else []
        if opts.inpaint != "never" or user_gaps:
            say(0.7, "filling gaps")
            gaps = []
            if opts.inpaint != "never" and not (user_gaps and opts.gaps_replace):
                gaps = detect_gaps(x2, sample_rate, sensitivity=float(opts.gap_sensitivity))
            gaps = merge_gaps(gaps, user_gaps)
            if gaps:
                out, filled = fill_gaps(out, sample_rate, gaps, method=opts.inpaint_method)
                gaps_report = [g.to_dict() for g in filled]
        timings["inpaint_s"] = time.perf_counter() - t

        # 3b. high-frequency extension (baseline band replication) of what de-noising and gap filling left
        highs, restored = None, out  # ``removed`` leaves the generated band out
        if opts.extend_highs != "never":
            t = time.perf_counter()
            say(0.85, "extending the highs")
            extended, highs = _extend(out, sample_rate, opts.extend_highs)
            out = out if extended is None else extended
            timings["highs_s"] = time.perf_counter() - t

        # 4. playback curve, then never clip
        if opts.eq != "flat":
            out = apply_eq(out, sample_rate, opts.eq)
        peak = float(np.max(np.abs(out)))
        if peak > 1.0:
            out = (out / peak).astype(np.float32)
        # what de-noising and gap filling removed (before the curve when one is applied)
        generated = bool(highs and highs["generated"])
        removed = (x2 - (out if opts.eq == "flat" and not generated else restored)).astype(np.float32)
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
            "model": canonical(opts.model) if spans else None,
            "clicks_repaired_samples": clicks_repaired,
            "gaps": gaps_report,
            "highs": highs,
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
        stream_above_s: float = files.STREAM_ABOVE_S,
    ) -> dict[str, Any]:
        """Restore the file ``src`` into ``dst``; see :func:`echoes.restore.files.restore_file`."""
        opts = (options or RestoreOptions()).validate()
        return files.restore_file(self, src, dst, opts, residual=residual, progress=progress,
                                  stream_above_s=stream_above_s)


def _prepare(x: np.ndarray, sample_rate: int, opts: RestoreOptions) -> tuple[np.ndarray, dict]:
    """Channel selection and speed estimate/correction before restoration; says what was done."""
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


def _extend(out: np.ndarray, sample_rate: int, mode: str) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Extend the highs of ``out`` under ``mode`` (``auto``/``always``): (the new audio, or None
    when nothing was generated, and the report's ``highs`` entry)."""
    bw = effective_bandwidth_hz(out, sample_rate)
    info: dict[str, Any] = {"mode": mode, "effective_bandwidth_hz": round(bw, 1), "method": HIGHS_METHOD,
                            "generated": False, "from_hz": None, "to_hz": None, "energy_db": None}
    if mode == "auto" and bw >= AUTO_BELOW_HZ:
        info["reason"] = f"full band (the spectrum reaches {bw / 1000:.2f} kHz)"
        return None, info
    y, done = extend_highs(out, sample_rate, cutoff_hz=bw, method=HIGHS_METHOD)
    info.update(done)
    if not done["generated"]:
        info["reason"] = "nothing to generate below the top of the band"
        return None, info
    return y, info


def _merge_spans(spans: list[tuple[int, int]], gap: int, n: int) -> list[tuple[int, int]]:
    """Merge spans closer than ``gap`` samples (they share the de-noiser's context)."""
    out: list[list[int]] = []
    for a, b in spans:
        if out and a - out[-1][1] <= 2 * gap:
            out[-1][1] = b
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]
