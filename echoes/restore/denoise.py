"""De-noising inference: any length, any sample rate, mono or stereo, CPU or GPU.

``Denoiser.load("default" | "paper")`` loads a trained de-noiser from a weights folder (the
bundled ``weights/`` by default: ``denoiser.*`` is the default complex U-Net,
:class:`echoes.models.complex_unet.ComplexUNet`; ``cae.*`` is the paper's 28,353-parameter
autoencoder, :class:`echoes.models.autoencoder.PaperCAE`). ``Denoiser.denoise(audio,
sample_rate)`` returns the de-noised audio with the input's shape, rate and exact length.

How a signal goes through
-------------------------
1. Resampled (soxr, HQ) to the models' internal rate, 22,050 Hz, unless it is already there.
2. Levelled: divided by its RMS (over all channels and the whole input) and scaled to an RMS of
   0.1, the level the models were trained at; the gain is undone at the end. One gain for the
   whole input, so chunking cannot change it.
3. Cut into overlapping chunks (:mod:`echoes.core.chunking`): 20 s cores, 1 s of context each side,
   0.25 s sin^2 crossfades, chunk starts on the STFT hop (512 samples), so the output equals a
   single pass over the whole input to float rounding (the default model's receptive field is
   about +-0.6 s). The paper's CAE gets 4 s cores with 0.5 s context (5-s windows, as trained). Each channel is de-noised on its own;
   chunks are batched (``batch_size``, larger on a GPU).
4. Resampled back to the input's rate and trimmed/padded to its exact length.

The band above 11,025 Hz
------------------------
The internal rate keeps 0 to 11,025 Hz. For 78 rpm discs and cylinders that upper band is
almost all noise (acoustic recordings roll off at 3 to 8 kHz, electrical ones by about 10 kHz),
so by default it is **dropped**: the output of a 44.1 kHz input has nothing above 11,025 Hz.
``high_band_db=G`` keeps the input's own content above 11,025 Hz instead, attenuated by ``G``
dB (0 keeps it as is). On our test protocols dropping it scores best (see
``scripts/eval_denoise.py``): with 0 dB white noise at 44.1 kHz half the noise power lies up
there, and the piano's own energy above 11 kHz is tiny.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from echoes.core.audio import fit_length, resample
from echoes.core.chunking import overlap_add
from echoes.core.hub import bundled_weights
from echoes.core.signal import SILENCE_RMS, TARGET_RMS, level_gain  # noqa: F401  (re-exported)
from echoes.errors import NonFiniteError, ParameterError, WeightsError
from echoes.core.spectral import STFTConfig

log = logging.getLogger(__name__)

#: Weights file names (``NAME.safetensors`` + ``NAME.json``) per model choice.
MODEL_FILES = {"default": "denoiser", "paper": "cae"}
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
    high_band_db : ``None`` drops the band above 11,025 Hz of inputs sampled higher; a number
        keeps the input's own band attenuated by that many dB (see the module docstring).
    """

    #: Chunking, in seconds at the internal rate (rounded to the STFT hop).
    CORE_S = 20.0
    MARGIN_S = 1.0
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
        self.core_s, self.margin_s = self.CORE_S, self.MARGIN_S
        if type(model).__name__ == "PaperCAE":
            # the paper's model sees 5-s windows (216 frames) and levels each by its own peak
            self.core_s, self.margin_s = 4.0, 0.5

    @classmethod
    def load(
        cls,
        model: str = "default",
        weights_dir: str | Path | None = None,
        *,
        device: str = "cpu",
        **kwargs: Any,
    ) -> Denoiser:
        """Load ``"default"`` (the complex U-Net) or ``"paper"`` (the CAE) from ``weights_dir``.

        ``weights_dir`` defaults to the bundled ``weights/`` folder. Extra keyword arguments go
        to the constructor (``batch_size``, ``high_band_db``, ``declick``).
        """
        from echoes.core.checkpoint import load_model

        if model not in MODEL_FILES:
            raise ParameterError(f"unknown de-noiser {model!r}: choose one of {', '.join(MODEL_FILES)}")
        if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
            raise ParameterError(f"device must be 'cpu' or 'cuda', got {device!r}")
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ParameterError("device 'cuda' was asked for, but no CUDA GPU is available")
        folder = Path(weights_dir) if weights_dir is not None else bundled_weights()
        net, config = load_model(folder, MODEL_FILES[model], map_location=device)
        if not hasattr(net, "enhance"):
            raise WeightsError(f"{config.get('class')} is not a de-noiser (it has no enhance())")
        return cls(net, config, device=device, **kwargs)

    # ------------------------------------------------------------------------------------
    def _run(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
            y = self.model.enhance(x, self.stft)
            y = torch.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
            return y.float().cpu().numpy()

    def denoise_internal(self, audio: np.ndarray) -> np.ndarray:
        """De-noise float ``(rows, samples)`` or ``(samples,)`` audio already at 22,050 Hz."""
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

        Returns float32 audio of the same shape, at the same rate, never NaN. Inputs above
        22,050 Hz lose the band above 11,025 Hz unless ``high_band_db`` was set.
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
            from echoes.restore.declick import declick

            x, mask = declick(x, int(sample_rate))
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
