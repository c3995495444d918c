"""Named exceptions. Every error a user can cause is an :class:`EchoesError`.

The CLI prints ``str(error)`` as one line on stderr and exits non-zero; the app turns it
into ``gr.Error``. Messages are written for the person who gave the input.
"""

from __future__ import annotations


class EchoesError(Exception):
    """Base class of every error Echoes raises on purpose."""


class UnreadableAudioError(EchoesError):
    """The file does not exist, is not audio, or is truncated or corrupt."""


class EmptyAudioError(EchoesError):
    """The file is audio but holds no samples."""


class TooShortError(EchoesError):
    """The audio is shorter than the minimum the operation needs."""


class TooLongError(EchoesError):
    """The audio is longer than the limit set for this use (e.g. the web app)."""


class NonFiniteError(EchoesError):
    """The audio contains NaN or infinite samples."""


class OutputPathError(EchoesError):
    """The output path is not acceptable (equal to an input, or not writable)."""


class WeightsError(EchoesError):
    """Weights are missing, corrupt, or do not match their config."""


class ParameterError(EchoesError, ValueError):
    """An argument has an invalid value."""
