"""Judge whole recordings noisy or clean, window by window.

Input: float ``(channels, samples)`` or ``(samples,)`` at any rate, at least
:data:`MIN_SECONDS` long. It is resampled to 22,050 Hz, mixed to mono (or, with
``channels="max"``, judged per channel keeping the larger probability); only its sound span
(:func:`sound_span`: fades from and to near-silence at the ends are left out) is cut into
5-second windows every ``hop_s`` seconds (the last window aligned with the end); each window gets
``p_noisy`` in [0, 1] from :class:`echoes.models.classifier.SpectrogramCNN` and, where its
spectrum falls off a cliff below 8 kHz (:mod:`echoes.restore.bandwidth`), ``band_limit_hz``. An input shorter
than one window is one window of its own length (at least :data:`MIN_FRAMES` frames); windows
quieter than :data:`SILENCE_DBFS` get ``p_noisy = 0``. One STFT per block of
:data:`BLOCK_WINDOWS` windows keeps memory flat.

Output (:class:`ClassifierResult`): the recording's ``p_noisy`` is the upper quartile of the
window probabilities; the verdict is ``"noisy"`` when it reaches the threshold, when a quarter of
the windows or more are band-limited (then every window with sound is marked), or when dropouts
(:func:`echoes.restore.gaps.detect.detect_gaps`) or, failing all else, isolated clicks
(:func:`echoes.restore.declick.find_clicks`) are found; those two never change ``p_noisy`` or the
segments. Times are in seconds of the input. Why each rule, with measurements: docs/RESTORE.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from echoes.core import audio as eaudio
from echoes.core.checkpoint import load_model, read_config
from echoes.core.hub import bundled_weights, resolve_weights
from echoes.core.spectral import PAPER_STFT, STFTConfig, window as stft_window
from echoes.errors import ParameterError, WeightsError
from echoes.models.classifier import CLASSES, SpectrogramCNN, features
from echoes.restore.bandwidth import analysis_top_hz, band_cliff_hz
from echoes.restore.declick import find_clicks
from echoes.restore.gaps.detect import detect_gaps

log = logging.getLogger(__name__)

#: Checkpoint name inside a weights folder.
WEIGHTS_NAME = "classifier"
#: The shortest input accepted, in seconds.
MIN_SECONDS = 0.25
#: Inputs shorter than one window are judged as one window of their own length (the network
#: pools over time), mirrored up to this many STFT frames (0.35 s) if shorter. Measured with
#: the shipped weights on 44 loud clips of the val split, clean and degraded, cut to 1.5 / 2.5 /
#: 3.5 / 4.5 s (``experiments/eval_short_inputs.py``): clean cuts called noisy 0 / 1 / 0 / 0 of 44
#: at their own length, against 22 / 25 / 17 / 7 mirrored up to 5 s (the earlier rule:
#: reversed piano looks noisy to the network) and 8 / 3 / 8 / 6 looped; degraded cuts called
#: clean (network alone) 10 / 4 / 3 / 0 against 4 / 2 / 3 / 0 mirrored.
MIN_FRAMES = 16
#: Windows quieter than this (RMS, dBFS) are silence: p_noisy 0 (see :class:`Classifier`).
SILENCE_DBFS = -65.0
#: Windows processed per STFT block (bounds memory on long recordings).
BLOCK_WINDOWS = 64
#: Fades from (or to) near-silence at the ends are not judged: windows tile only the span from
#: the first to the last 20-ms frame within this many dB of the recording's loud level (its
#: 95th-percentile frame level), and never below :data:`SILENCE_DBFS`.
SOUND_SPAN_DB = 40.0
#: The lowest input rate (Hz) searched for isolated clicks: below it a click's impulse and a
#: piano attack look too much alike in the AR residual (the search was tuned at 44.1 kHz).
CLICK_MIN_RATE = 32_000


@dataclass(frozen=True)
class Segment:
    """One analysis window: ``start``/``end`` in seconds of the input, ``p_noisy`` in [0, 1] (the
    network's), and ``band_limit_hz``: the frequency (Hz) where its spectrum falls off a cliff
    (a low-passed transfer, :mod:`echoes.restore.bandwidth`), or None."""

    start: float
    end: float
    p_noisy: float
    band_limit_hz: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": round(self.start, 3), "end": round(self.end, 3), "p_noisy": round(self.p_noisy, 6)}
        if self.band_limit_hz is not None:
            d["band_limit_hz"] = self.band_limit_hz
        return d


@dataclass(frozen=True)
class ClassifierResult:
    """A recording's verdict (``"noisy"`` or ``"clean"``), the network's overall ``p_noisy``,
    its windows, the dropouts found (``{"start", "end"}`` in seconds, ``"kind"``) and the
    isolated clicks found (``{"start", "end"}`` in seconds, ``"score"``; searched only when
    nothing else made the verdict noisy)."""

    verdict: str
    p_noisy: float
    segments: list[Segment] = field(default_factory=list)
    dropouts: list[dict[str, Any]] = field(default_factory=list)
    clicks: list[dict[str, Any]] = field(default_factory=list)
    band_limit_hz: float | None = None

    @property
    def noisy(self) -> bool:
        return self.verdict == "noisy"

    def noisy_windows(self, threshold: float) -> list[bool]:
        """Per window: judged noisy (the network's ``p_noisy`` reaches ``threshold``, or the
        window's spectrum stops at a band limit)."""
        return [s.p_noisy >= threshold or s.band_limit_hz is not None for s in self.segments]

    def to_dict(self) -> dict[str, Any]:
        """``{"verdict", "p_noisy", "segments": [{"start", "end", "p_noisy"}, ...],
        "dropouts": [{"start", "end", "kind"}, ...], "clicks": [{"start", "end", "score"}, ...],
        "band_limit_hz"}``
        (JSON-ready, times in seconds)."""
        return {
            "verdict": self.verdict,
            "p_noisy": round(float(self.p_noisy), 6),
            "segments": [s.to_dict() for s in self.segments],
            "dropouts": [dict(d) for d in self.dropouts],
            "clicks": [dict(c) for c in self.clicks],
            "band_limit_hz": self.band_limit_hz,
        }


def sound_span(mono: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """``[start, end)`` in samples of the part of ``(samples,)`` audio that is judged: from the
    first to the last 20-ms frame within :data:`SOUND_SPAN_DB` of the loud level (see there)."""
    f = max(1, int(0.02 * sample_rate))
    n = mono.size // f
    if n < 2:
        return 0, mono.size
    ms = (mono[: n * f].astype(np.float64) ** 2).reshape(n, f).mean(axis=1)
    level = 10.0 * np.log10(ms + 1e-20)
    floor = max(float(np.percentile(level, 95)) - SOUND_SPAN_DB, SILENCE_DBFS)
    idx = np.flatnonzero(level >= floor)
    if idx.size == 0:
        return 0, mono.size
    end = mono.size if idx[-1] == n - 1 else (idx[-1] + 1) * f
    return int(idx[0] * f), int(end)


class Classifier:
    """Noisy/clean judge over whole recordings.

    Parameters
    ----------
    model : a :class:`SpectrogramCNN` (put in eval mode here).
    config : the checkpoint config it came from (``{}`` for an untrained model).
    threshold : ``p_noisy`` at or above which a window or recording is called noisy.
    quantile : which quantile of the window probabilities is the recording's ``p_noisy``.
    silence_dbfs : windows whose RMS is under this level (dBFS) get ``p_noisy = 0``: nothing
        in them is audible, so nothing needs restoring (and the network, which sees only
        level-normalised spectra, would judge the 16-bit grain of a fading tail). None: off.
    device : torch device for the network.
    """

    def __init__(
        self,
        model: SpectrogramCNN,
        *,
        config: dict[str, Any] | None = None,
        threshold: float = 0.5,
        quantile: float = 0.75,
        silence_dbfs: float | None = SILENCE_DBFS,
        device: str | torch.device = "cpu",
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ParameterError(f"threshold must be between 0 and 1, got {threshold}")
        if not 0.0 <= quantile <= 1.0:
            raise ParameterError(f"quantile must be between 0 and 1, got {quantile}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.config = dict(config or {})
        self.threshold = float(threshold)
        self.quantile = float(quantile)
        self.silence_dbfs = None if silence_dbfs is None else float(silence_dbfs)
        self.stft_cfg = STFTConfig.from_dict(self.config["stft"]) if "stft" in self.config else PAPER_STFT
        self.sample_rate = self.stft_cfg.sample_rate

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        weights_dir: str | Path | None = None,
        *,
        device: str | torch.device = "cpu",
        name: str = WEIGHTS_NAME,
    ) -> "Classifier":
        """Load ``classifier.{safetensors,json}`` from ``weights_dir``.

        ``weights_dir`` is any source :func:`echoes.core.hub.resolve_weights` accepts: a folder,
        ``hf://owner/repo@revision``, or None for ``$ECHOES_WEIGHTS`` or else the bundled
        ``weights/`` folder.

        The threshold is read from the config (``"threshold"``, default 0.5). Raises
        :class:`echoes.errors.WeightsError` when the files are missing, corrupt or do not fit.
        """
        folder = resolve_weights(weights_dir)
        if not (folder / f"{name}.json").is_file():
            raise WeightsError(
                f"no classifier weights in '{folder}' ({name}.json is missing); "
                "train them with 'python -m echoes train classifier' or pass --weights"
            )
        model, config = load_model(folder, name, map_location=device)
        if not isinstance(model, SpectrogramCNN):
            raise WeightsError(f"'{folder / name}.json' holds a {config['class']}, not a classifier")
        return cls(model, config=config, threshold=float(config.get("threshold", 0.5)),
                   silence_dbfs=config.get("silence_dbfs", SILENCE_DBFS), device=device)

    @classmethod
    def untrained(cls, *, seed: int = 0, **model_kwargs: Any) -> "Classifier":
        """A randomly initialised classifier (for tests and for training from scratch)."""
        torch.manual_seed(seed)
        return cls(SpectrogramCNN(**model_kwargs))

    @staticmethod
    def config_of(weights_dir: str | Path | None = None, name: str = WEIGHTS_NAME) -> dict[str, Any]:
        """The JSON config of a weights folder (hyper-parameters, training record, metrics)."""
        return read_config(Path(weights_dir) if weights_dir is not None else bundled_weights(), name)

    # -- core -----------------------------------------------------------------------------
    @torch.no_grad()
    def window_probabilities(self, windows: np.ndarray | torch.Tensor) -> np.ndarray:
        """``p_noisy`` of each of ``(n, samples)`` windows at 22,050 Hz (5 s = 110,250 samples).

        Each window gets its own centred STFT, exactly as in training. Returns float64 ``(n,)``.
        """
        x = torch.as_tensor(np.asarray(windows, dtype=np.float32))
        if x.dim() == 1:
            x = x[None]
        out = []
        for i in range(0, x.shape[0], BLOCK_WINDOWS):
            F = features(x[i : i + BLOCK_WINDOWS].to(self.device), self.stft_cfg)
            out.append(self.model.probabilities(F)[:, 1].double().cpu())
        p = torch.cat(out).numpy() if out else np.zeros(0)
        if self.silence_dbfs is not None and p.size:
            ms = x.double().pow(2).mean(dim=-1).numpy()
            p[ms < 10 ** (self.silence_dbfs / 10)] = 0.0
        return p

    @torch.no_grad()
    def _frame_probabilities(self, mono: np.ndarray, starts: list[int], wf: int) -> tuple[np.ndarray, np.ndarray]:
        """p_noisy and the mean power spectrum of windows of ``wf`` frames beginning at STFT frames ``starts``.

        ``mono`` is ``(samples,)`` at 22,050 Hz. Frame ``j`` is centred on sample ``j * hop``
        (zero padding of ``n_fft // 2`` at both ends, as ``torch.stft(center=True)``). Returns
        float64 ``(n,)`` probabilities and float64 ``(n, bins)`` power spectra.
        """
        cfg = self.stft_cfg
        half = cfg.n_fft // 2
        padded = torch.from_numpy(np.pad(mono.astype(np.float32, copy=False), (half, half)))
        win = stft_window(cfg, self.device)
        probs: list[torch.Tensor] = []
        spectra: list[torch.Tensor] = []
        for b in range(0, len(starts), BLOCK_WINDOWS):
            block = starts[b : b + BLOCK_WINDOWS]
            j0, j1 = block[0], block[-1] + wf  # frames [j0, j1)
            seg = padded[j0 * cfg.hop_length : (j1 - 1) * cfg.hop_length + cfg.n_fft].to(self.device)
            X = torch.stft(seg, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                           window=win, center=False, return_complex=True)
            A = X.abs()
            L = torch.log(A + 1e-5)  # (bins, j1 - j0)
            batch = torch.stack([L[:, j - j0 : j - j0 + wf] for j in block])
            probs.append(self.model.probabilities(batch)[:, 1].double().cpu())
            P = A.double().pow(2)
            spectra.append(torch.stack([P[:, j - j0 : j - j0 + wf].mean(dim=1) for j in block]).cpu())
        return torch.cat(probs).numpy(), torch.cat(spectra).numpy()

    def classify(
        self,
        audio: np.ndarray,
        sample_rate: int,
        *,
        window_s: float = 5.0,
        hop_s: float = 2.5,
        channels: str = "mix",
        dropouts: bool = True,
        clicks: bool = True,
        band_limits: bool = True,
    ) -> ClassifierResult:
        """Judge a recording.

        Parameters
        ----------
        audio : float ``(channels, samples)`` or ``(samples,)`` in [-1, 1], any rate.
        sample_rate : in Hz.
        window_s : analysis window in seconds (the model was trained on 5 s).
        hop_s : seconds between window starts (rounded to whole STFT frames of 23.2 ms).
        channels : ``"mix"`` averages the channels to mono (historic sources are mono);
            ``"max"`` judges each channel and keeps the larger ``p_noisy`` per window.
        dropouts : also search for dropouts, level drops and onset cuts
            (:func:`echoes.restore.gaps.detect.detect_gaps` at the input's rate); any found makes the verdict
            ``"noisy"``.
        clicks : when nothing else made the verdict noisy and the rate is at least
            :data:`CLICK_MIN_RATE`, search for isolated clicks
            (:func:`echoes.restore.declick.find_clicks`); any found makes the verdict ``"noisy"``.
        band_limits : look for a spectral cliff below 8 kHz in each window (a low-passed transfer,
            :mod:`echoes.restore.bandwidth`); when a quarter of the windows or more have one, the
            recording is band-limited (verdict ``"noisy"``, ``band_limit_hz`` the median cutoff)
            and every window with sound is marked with it.

        Returns
        -------
        :class:`ClassifierResult`; segment times in seconds of the input.
        """
        a = np.asarray(audio, dtype=np.float32)
        if a.ndim == 1:
            a = a[None, :]
        eaudio.check_audio(a, int(sample_rate), min_seconds=MIN_SECONDS)
        if not 1.0 <= window_s <= 30.0:
            raise ParameterError(f"window_s must be between 1 and 30 seconds, got {window_s}")
        if not 0.0 < hop_s <= window_s:
            raise ParameterError(f"hop_s must be in (0, window_s], got {hop_s}")
        if channels not in ("mix", "max"):
            raise ParameterError(f"channels must be 'mix' or 'max', got {channels!r}")
        sr = self.sample_rate
        duration = a.shape[-1] / sample_rate
        rows = eaudio.to_mono(a) if channels == "mix" or a.shape[0] == 1 else a
        rows = eaudio.resample(rows, int(sample_rate), sr)
        s0, s1 = sound_span(rows.mean(axis=0), sr)
        rows, offset = rows[:, s0:s1], s0 / sr
        n_win = int(round(window_s * sr))
        if rows.shape[-1] < n_win:
            # A short input is one window of its own length (the network pools over time; no
            # padding to 5 s: mirrored or looped audio looked noisy to it, see MIN_FRAMES).
            # Below MIN_FRAMES frames it is mirrored up to that.
            least = (MIN_FRAMES - 1) * self.stft_cfg.hop_length
            if rows.shape[-1] < least:
                rows = np.pad(rows, [(0, 0), (0, least - rows.shape[-1])], mode="symmetric")
            n_win = rows.shape[-1]
        hop = self.stft_cfg.hop_length
        wf = self.stft_cfg.n_frames(n_win)
        total = self.stft_cfg.n_frames(rows.shape[-1])
        hop_frames = max(1, int(round(hop_s * sr / hop)))
        last = total - wf
        starts = list(range(0, last + 1, hop_frames))
        if starts[-1] != last:
            starts.append(last)
        results = [self._frame_probabilities(r, starts, wf) for r in rows]
        p = np.max([r[0] for r in results], axis=0)
        power = np.mean([r[1] for r in results], axis=0)
        silent = np.zeros(len(starts), dtype=bool)
        if self.silence_dbfs is not None:
            c = np.concatenate([[0.0], np.cumsum(np.mean(rows.astype(np.float64) ** 2, axis=0))])
            ms = np.array([(c[min(j * hop + n_win, c.size - 1)] - c[j * hop]) / n_win for j in starts])
            silent = ms < 10 ** (self.silence_dbfs / 10)
            p = np.where(silent, 0.0, p)
        freqs = np.fft.rfftfreq(self.stft_cfg.n_fft, 1.0 / sr)
        top = analysis_top_hz(int(sample_rate))
        cliffs = [None if quiet or not band_limits else band_cliff_hz(s, freqs, top) for s, quiet in zip(power, silent)]
        limited = np.array([c is not None for c in cliffs], dtype=float)
        band_limit = (float(np.median([c for c in cliffs if c is not None]))
                      if limited.size and float(np.quantile(limited, self.quantile)) >= 0.5 else None)
        if band_limit is not None:
            # the low-pass belongs to the recording chain: every window with sound is marked,
            # also the quiet ones where the cliff sinks into what remains of the noise floor
            cliffs = [None if quiet else (c if c is not None else band_limit) for c, quiet in zip(cliffs, silent)]
        end = min(duration, offset + rows.shape[-1] / sr)
        segments = [
            Segment(start=min(offset + j * hop / sr, duration),
                    end=end if k == len(starts) - 1 else min(offset + j * hop / sr + window_s, end),
                    p_noisy=float(pj), band_limit_hz=cj)
            for k, (j, pj, cj) in enumerate(zip(starts, p, cliffs))
        ]
        overall = float(np.quantile(p, self.quantile))
        found: list[dict[str, Any]] = []
        if dropouts:
            found = [{"start": round(g.start / sample_rate, 6), "end": round(g.end / sample_rate, 6), "kind": g.kind}
                     for g in detect_gaps(a, int(sample_rate), onset_cuts=True)]
        noisy = overall >= self.threshold or bool(found) or band_limit is not None
        found_clicks: list[dict[str, Any]] = []
        if clicks and not noisy and sample_rate >= CLICK_MIN_RATE:
            found_clicks = find_clicks(a, int(sample_rate))
            noisy = bool(found_clicks)
        return ClassifierResult(verdict=CLASSES[1] if noisy else CLASSES[0], p_noisy=overall, segments=segments,
                                dropouts=found, clicks=found_clicks, band_limit_hz=band_limit)

    def classify_file(self, path: str | Path, **kwargs: Any) -> ClassifierResult:
        """Load ``path`` (any format :func:`echoes.core.audio.load` reads) and :meth:`classify` it."""
        a, sr = eaudio.load(path, min_seconds=MIN_SECONDS)
        return self.classify(a, sr, **kwargs)


__all__ = ["Classifier", "ClassifierResult", "Segment", "sound_span"]
