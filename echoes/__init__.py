"""Echoes: restore historic piano recordings.

Time-domain signals are float32 in [-1, 1] with shape ``(channels, samples)`` unless a
docstring says ``(samples,)``; sample rates are in Hz, durations in seconds.
"""

from __future__ import annotations

__version__ = "0.1.0"

from echoes.errors import (  # noqa: F401  (re-exported)
    EchoesError,
    EmptyAudioError,
    NonFiniteError,
    OutputPathError,
    ParameterError,
    TooLongError,
    TooShortError,
    UnreadableAudioError,
    WeightsError,
)
