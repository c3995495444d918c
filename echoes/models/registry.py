"""The one list of de-noising models: name -> class, weights stem, internal rate, chunking.

Every place that names a de-noiser (the CLI's ``--model``, :class:`echoes.api.RestoreOptions`,
the app, ``echoes bench``/``evaluate``, training) reads it from :data:`DENOISERS` through
:func:`denoiser_spec`; adding a model is one entry here plus its weights in ``weights/``.

Contract: ``ModelSpec.weights`` names ``weights/NAME.safetensors`` + ``NAME.json``;
``stft`` is the grid a fresh model of that name is trained on (a checkpoint's JSON carries its
own), ``rate`` its internal sample rate in Hz; ``core_s``/``margin_s`` are the chunk core
and the context each side, in seconds at that rate (rounded to the STFT hop when used).
Aliases resolve to the canonical name (``"default"`` is today's ``"fast"``).
"""

from __future__ import annotations

from dataclasses import dataclass

from echoes.core.spectral import ARCHIVAL_STFT, PAPER_STFT, STFTConfig
from echoes.errors import ParameterError


@dataclass(frozen=True)
class ModelSpec:
    """What the runtime needs to know about one de-noising model (see the module docstring)."""

    name: str
    cls: str
    weights: str
    summary: str
    stft: STFTConfig = PAPER_STFT
    core_s: float = 20.0
    margin_s: float = 1.0
    aliases: tuple[str, ...] = ()

    @property
    def rate(self) -> int:
        """The model's internal sample rate (Hz)."""
        return self.stft.sample_rate


DENOISERS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("fast", "echoes.models.complex_unet.ComplexUNet", "denoiser",
                  "phase-aware complex U-Net (the default)", aliases=("default",)),
        # the same U-Net at 44.1 kHz over the whole band (2049 bins), a longer deep filter
        ModelSpec("archival", "echoes.models.complex_unet.ComplexUNet", "archival",
                  "full-band phase-aware complex U-Net at 44.1 kHz (slower, for archives)",
                  stft=ARCHIVAL_STFT, core_s=15.0),
        # the paper's model sees 5-s windows (216 frames) and levels each by its own peak
        ModelSpec("paper", "echoes.models.autoencoder.PaperCAE", "cae",
                  "the paper's 28,353-parameter convolutional autoencoder", core_s=4.0, margin_s=0.5),
    )
}

#: The de-noiser used when none is named.
DEFAULT_DENOISER = "fast"

_ALIASES = {alias: spec.name for spec in DENOISERS.values() for alias in spec.aliases}


def denoiser_names(*, aliases: bool = True) -> tuple[str, ...]:
    """Names ``--model`` accepts: canonical names first, then aliases (if ``aliases``)."""
    return tuple(DENOISERS) + (tuple(_ALIASES) if aliases else ())


def canonical(name: str) -> str:
    """The canonical name of a de-noiser given by name or alias; :class:`ParameterError` if unknown."""
    name = _ALIASES.get(name, name)
    if name not in DENOISERS:
        raise ParameterError(f"unknown de-noiser {name!r}: choose one of {', '.join(denoiser_names())}")
    return name


def denoiser_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of a de-noiser given by name or alias."""
    return DENOISERS[canonical(name)]
