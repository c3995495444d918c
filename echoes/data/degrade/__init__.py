"""Gramophone degradation simulator: composable effects with exact ground truth.

``degrade(audio, sample_rate, preset=..., seed=...) -> (degraded, info)``: clean piano in, a
degraded copy out with a record of what was done, so training targets and metrics are exact.
Audio is float ``(samples,)`` or ``(channels, samples)`` at any rate; effect parameters are in
physical units (Hz, ms, dB, rpm); the same seed gives the same output. Effects, ranges and
presets: docs/DATA.md, "The degradation simulator".

Modules: ``dsp`` (numeric helpers, SNR scaling), ``base`` (state, effect bases, combinators),
``labels`` (the registry of effects and :func:`is_noisy`), ``noise`` (synthetic additive
noises), ``recorded`` (recorded noise clips and splits), ``filters`` (band-limiting,
wow/flutter, soft clipping), ``damage`` (dropouts, level drops), ``presets`` (named chains),
``simulator`` (:func:`degrade` and its record).
"""

from echoes.data.degrade.base import (AdditiveEffect, Chain, Combinator, DegradeState, Effect, LinearEffect, Maybe,
                                      NonLinearEffect, OneOf, Shuffle)
from echoes.data.degrade.damage import Dropouts, LevelDrops
from echoes.data.degrade.dsp import add_noise_at_snr, measure_snr
from echoes.data.degrade.filters import BandLimit, SoftClip, WowFlutter
from echoes.data.degrade.labels import NOISY_SNR_DB, REGISTRY, Label, effect_names, is_noisy, label_of, register
from echoes.data.degrade.noise import Clicks, Crackle, Hiss, Hum, Rumble, Thumps, WhiteNoise
from echoes.data.degrade.presets import PRESETS, build_preset, single_effects
from echoes.data.degrade.recorded import (NOISE_PORTIONS, NOISE_SPLITS, RecordedNoise, default_noise_dir, loop_noise,
                                          noise_files)
from echoes.data.degrade.simulator import degrade, info_to_json

__all__ = [
    "AdditiveEffect", "BandLimit", "Chain", "Clicks", "Combinator", "Crackle", "DegradeState", "Dropouts",
    "Effect", "Hiss", "Hum", "Label", "LevelDrops", "LinearEffect", "Maybe", "NOISE_PORTIONS", "NOISE_SPLITS",
    "NOISY_SNR_DB", "NonLinearEffect", "OneOf", "PRESETS", "REGISTRY", "RecordedNoise", "Rumble", "Shuffle",
    "SoftClip", "Thumps", "WhiteNoise", "WowFlutter", "add_noise_at_snr", "build_preset", "default_noise_dir",
    "degrade", "effect_names", "info_to_json", "is_noisy", "label_of", "loop_noise", "measure_snr",
    "noise_files", "register", "single_effects",
]
