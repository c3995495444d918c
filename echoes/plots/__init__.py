"""What the app (and the CLI) show of a restoration: figures and a plain-words account.

:mod:`echoes.plots.figures`: the PNGs (spectrograms before/after up to the input's Nyquist
frequency, the verdict timeline with its labelled threshold, the waveform scaled to the audio).
:mod:`echoes.plots.words`: what changed, in plain words (per band levels, de-noised spans, each
filled gap and how, archivist controls) and the CLI's one-line summary; no Matplotlib there.
The figure functions are importable from here too (``plots.spectrograms``...), loaded on first use.
"""

from __future__ import annotations

_FIGURES = ("spectrograms", "timeline", "waveform")


def __getattr__(name: str):
    if name in _FIGURES:
        from echoes.plots import figures

        return getattr(figures, name)
    raise AttributeError(name)
