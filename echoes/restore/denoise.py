"""De-noising inference: any length, any sample rate, mono or stereo, CPU or GPU.

``Denoiser.load(name)`` loads a de-noiser of :mod:`echoes.models.registry` (``fast``, alias
``default``: the complex U-Net at 22,050 Hz; ``archival``: the same network over the whole band
at 44,100 Hz; ``paper``: the paper's autoencoder) from a weights folder, the
registry naming its weights stem and chunking. ``Denoiser.denoise(audio, sample_rate)`` takes
float ``(channels, samples)`` or ``(samples,)`` audio at any rate and returns float32 audio of
the same shape, rate and exact length, never NaN.

Path of a signal: resampled (soxr HQ) to the model's internal rate (the weights' ``stft``:
22,050 Hz, or 44,100 Hz for ``archival``; no resampling when the input has it); levelled by one
gain for the whole input to an RMS of 0.1 (undone at the end; silence passes unchanged); cut
into overlapping chunks (:mod:`echoes.core.chunking`: the spec's ``core_s``/``margin_s`` rounded
to the STFT hop, 0.25 s crossfades), so the output equals one pass over the whole input to
float rounding; each channel on its own, chunks batched; resampled back and trimmed/padded.
The band above the model's Nyquist frequency (11,025 Hz; 22,050 Hz for ``archival``) of faster
inputs is dropped unless ``high_band_db`` is set (it keeps the input's own band, attenuated by
that many dB). Measurements: docs/RESTORE.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from echoes.core.audio import fit_length, resample
from echoes.core.checkpoint import load_model
from echoes.core.chunking import overlap_add
from echoes.core.hub import bundled_weights
from echoes.core.signal import SILENCE_RMS, TARGET_RMS, level_gain  # noqa: F401  (re-exported)
from echoes.core.spectral import STFTConfig
from echoes.errors import NonFiniteError, ParameterError, WeightsError
from echoes.models.registry import DEFAULT_DENOISER, DENOISERS, ModelSpec, denoiser_spec
from echoes.restore.declick import declick as declick_clicks

log = logging.getLogger(__name__)


def spec_of(model: torch.nn.Module) -> ModelSpec | None:
    """The registry entry whose class is ``model``'s (None for a network the registry lacks)."""
    path = f"{type(model).__module__}.{type(model).__qualname__}"
    return next((spec for spec in DENOISERS.values() if spec.cls == path), None)


class Denoiser:
    """A loaded de-noising model with its chunked, any-rate inference.

    Parameters
    ----------
    model : a ``torch.nn.Module`` with ``enhance(audio (batch, samples)) -> (batch, samples)``
        at :attr:`sample_rate` (both Echoes de-noisers have it).
    config : the weights' JSON config (``stft`` is read from it).
    device : ``"cpu"`` or ``"cuda"``.
    batch_size : chunks per model call (default 2 on CPU, 16 on GPU).
    declick : remove clicks in the time domain first (:mod:`echoes.restore.declick`; off by default:
        it helps records with isolated clicks, not the full gramophone chain).
    high_band_db : ``None`` drops the band above the model's Nyquist frequency of inputs sampled higher; a number
        keeps the input's own band attenuated by that many dB (see the module docstring).
    spec : the model's registry entry, whose ``core_s``/``margin_s`` set the chunking (default:
        the entry of ``model``'s class; a network the registry lacks chunks as the default one).
    """

    #: Crossfade between chunks, in seconds at the internal rate.
    CROSSFADE_S = 0.25

    def __init__(
        self,
        model: torch.nn.Module,
        config: dict[str, Any] | None = None,
        *,
        device: str = "cpu",
        batch_size: int | None = None,
        high_band_db: float | None = None,
        declick: bool = False,
        spec: ModelSpec | None = None,
    ) -> None:
        self.config = dict(config or {})
        self.stft = STFTConfig.from_dict(self.config.get("stft", {}))
        self.sample_rate = self.stft.sample_rate
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.batch_size = batch_size or (16 if self.device.type == "cuda" else 2)
        self.high_band_db = high_band_db
        self.declick = bool(declick)
        self.name = self.config.get("name", type(model).__name__)
        spec = spec or spec_of(model) or DENOISERS[DEFAULT_DENOISER]
        self.core_s, self.margin_s = spec.core_s, spec.margin_s

    @classmethod
    def load(
        cls,
        model: str = DEFAULT_DENOISER,
        weights_dir: str | Path | None = None,
        *,
        device: str = "cpu",
        **kwargs: Any,
    ) -> Denoiser:
        """Load the de-noiser named ``model`` (a name or alias of :mod:`echoes.models.registry`)
        from ``weights_dir``.

        ``weights_dir`` defaults to the bundled ``weights/`` folder. Extra keyword arguments go
        to the constructor (``batch_size``, ``high_band_db``, ``declick``).
        """
        spec = denoiser_spec(model)
        if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
            raise ParameterError(f"device must be 'cpu' or 'cuda', got {device!r}")
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ParameterError("device 'cuda' was asked for, but no CUDA GPU is available")
        folder = Path(weights_dir) if weights_dir is not None else bundled_weights()
        net, config = load_model(folder, spec.weights, map_location=device)
        if not hasattr(net, "enhance"):
            raise WeightsError(f"{config.get('class')} is not a de-noiser (it has no enhance())")
        return cls(net, config, device=device, spec=spec, **kwargs)

    # ------------------------------------------------------------------------------------
    def _run(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
            y = self.model.enhance(x, self.stft)
            y = torch.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
            return y.float().cpu().numpy()

    def denoise_internal(self, audio: np.ndarray) -> np.ndarray:
        """De-noise float ``(rows, samples)`` or ``(samples,)`` audio already at :attr:`sample_rate` Hz."""
        x = np.asarray(audio, dtype=np.float32)
        gain = level_gain(x)
        if gain == 1.0 and float(np.max(np.abs(x), initial=0.0)) < SILENCE_RMS:
            return x.copy()
        hop = self.stft.hop_length
        core = round(self.core_s * self.sample_rate / hop) * hop
        margin = round(self.margin_s * self.sample_rate / hop) * hop
        fade = round(self.CROSSFADE_S * self.sample_rate)
        y = overlap_add(
            x * np.float32(gain), self._run, hop=core, crossfade=fade, margin=margin,
            align=hop, batch_size=self.batch_size,
        )
        return (y / np.float32(gain)).astype(np.float32)

    def denoise(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """De-noise ``audio`` (float ``(channels, samples)`` or ``(samples,)``) at ``sample_rate`` Hz.

        Returns float32 audio of the same shape, at the same rate, never NaN. Inputs sampled
        above the model's rate lose the band above its Nyquist frequency unless ``high_band_db``
        was set.
        """
        x = np.asarray(audio)
        if x.ndim not in (1, 2) or x.shape[-1] == 0:
            raise ParameterError(f"audio must be (samples,) or (channels, samples) and non-empty, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            raise ParameterError(f"audio must be a float array, got dtype {x.dtype}")
        if not np.all(np.isfinite(x)):
            raise NonFiniteError("the audio contains NaN or infinite samples")
        if not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1000:
            raise ParameterError(f"sample_rate must be an integer number of Hz, got {sample_rate!r}")
        x = x.astype(np.float32, copy=False)
        if self.declick:
            x, mask = declick_clicks(x, int(sample_rate))
            log.info("declick: %.3f%% of samples replaced", 100 * float(mask.mean()))
        n = x.shape[-1]
        sr = int(sample_rate)
        inner = resample(x, sr, self.sample_rate) if sr != self.sample_rate else x
        if inner.shape[-1] == 0:
            return np.zeros_like(x)
        y = self.denoise_internal(inner)
        if sr != self.sample_rate:
            y = fit_length(resample(y, self.sample_rate, sr), n)
            if self.high_band_db is not None and sr > self.sample_rate:
                high = x - fit_length(resample(inner, self.sample_rate, sr), n)
                y = y + np.float32(10 ** (-self.high_band_db / 20)) * high
        return np.nan_to_num(y.astype(np.float32, copy=False)).reshape(x.shape)
