"""Recording-curve (turnover / roll-off) playback equalisation for pre-1955 discs.

Electrical recordings were cut with the bass attenuated below a *turnover* frequency and often
the treble boosted; playback *de-emphasis* undoes that: a bass boost below the turnover and a
treble cut given as the attenuation at 10 kHz (*roll-off*). Exact target response (``f`` in Hz)::

    H(f) = (1 + j f/f_t) / ((1 + j f/f_s) (1 + j f/f_r))      then normalised to 0 dB at 1 kHz

``f_t``: turnover (None: no bass factor); ``f_s``: bass shelf, 50 Hz for every curve (as RIAA's
3180 µs), so the boost is bounded; ``f_r = 10000 / sqrt(10**(rolloff/10) - 1)``, so the treble
factor alone is ``-rolloff`` dB at 10 kHz (roll-off 0: no treble factor). Presets are
:data:`CURVES` (``flat`` returns the input bit-exact; the table with responses is in
docs/ARCHIVIST.md). Applied in the frequency domain with the exact complex (minimum-phase,
analog) response at every FFT bin, zero padded so its decay does not wrap around; audio is
float ``(..., samples)``, shape and rate kept. Which curve a disc needs: label, year, and ear.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from echoes.errors import ParameterError

log = logging.getLogger(__name__)

BASS_SHELF_HZ = 50.0


@dataclass(frozen=True)
class Curve:
    """One playback curve: turnover ``turnover_hz`` (None: none), treble ``rolloff_db`` at 10 kHz
    (0: none), bass shelf ``shelf_hz``; ``note`` says what it is."""

    turnover_hz: float | None
    rolloff_db: float
    shelf_hz: float = BASS_SHELF_HZ
    note: str = ""

    @property
    def rolloff_pole_hz(self) -> float | None:
        if self.rolloff_db <= 0:
            return None
        return 10000.0 / float(np.sqrt(10 ** (self.rolloff_db / 10) - 1))


_US = 1e-6
CURVES: dict[str, Curve] = {
    "flat": Curve(None, 0.0, note="no change"),
    "250_0": Curve(250.0, 0.0, note="250 Hz turnover, no roll-off"),
    "300_5": Curve(300.0, 5.0, note="300 Hz turnover, -5 dB at 10 kHz"),
    "400_8": Curve(400.0, 8.0, note="400 Hz turnover, -8 dB at 10 kHz"),
    "aes": Curve(400.0, 12.0, note="AES 1951: 400 Hz turnover, -12 dB at 10 kHz"),
    "500_13.7": Curve(500.0, 13.7, note="500 Hz turnover, -13.7 dB at 10 kHz"),
    "nab": Curve(500.0, 16.0, note="NAB / Columbia LP: 500 Hz turnover, -16 dB at 10 kHz"),
    "800_0": Curve(800.0, 0.0, note="800 Hz turnover, no roll-off"),
    "riaa": Curve(1 / (2 * np.pi * 318 * _US), float(10 * np.log10(1 + (2 * np.pi * 1e4 * 75 * _US) ** 2)),
                  shelf_hz=1 / (2 * np.pi * 3180 * _US), note="RIAA (3180/318/75 µs), for reference"),
}
EQ_NAMES = tuple(CURVES)


def get_curve(name: str) -> Curve:
    if name not in CURVES:
        raise ParameterError(f"--eq must be one of {', '.join(EQ_NAMES)}, not '{name}'")
    return CURVES[name]


def _raw(curve: Curve, f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    h = np.ones(f.shape, dtype=np.complex128)
    if curve.turnover_hz is not None:
        h *= (1 + 1j * f / curve.turnover_hz) / (1 + 1j * f / curve.shelf_hz)
    fr = curve.rolloff_pole_hz
    if fr is not None:
        h /= 1 + 1j * f / fr
    return h


def response(name: str, freqs) -> np.ndarray:
    """Complex target response of curve ``name`` at ``freqs`` (Hz), 0 dB at 1 kHz."""
    c = get_curve(name)
    return _raw(c, np.asarray(freqs, dtype=np.float64)) / np.abs(_raw(c, np.array(1000.0)))


def response_db(name: str, freqs) -> np.ndarray:
    """Target magnitude response (dB, 0 at 1 kHz) of curve ``name`` at ``freqs`` (Hz)."""
    return 20 * np.log10(np.abs(response(name, freqs)))


def apply_eq(audio: np.ndarray, sample_rate: int, name: str) -> np.ndarray:
    """Apply the playback curve ``name`` to ``(..., samples)`` float audio; same shape, float32.

    ``flat`` returns the input unchanged. The output may exceed ±1 (bass boost up to about
    +20 dB); the caller scales down if needed.
    """
    c = get_curve(name)
    x = np.asarray(audio, dtype=np.float32)
    if c.turnover_hz is None and c.rolloff_pole_hz is None:
        return x
    n = x.shape[-1]
    pad = int(0.25 * sample_rate)  # the slowest pole (50 Hz) decays by 1e-30 well within this
    nfft = 1 << int(np.ceil(np.log2(n + pad)))
    spec = np.fft.rfft(x.astype(np.float64), n=nfft, axis=-1)
    h = response(name, np.fft.rfftfreq(nfft, 1.0 / sample_rate))
    h[-1] = np.abs(h[-1])  # the Nyquist bin must be real
    y = np.fft.irfft(spec * h, n=nfft, axis=-1)[..., :n]
    return y.astype(np.float32)
