"""Gap spans: the :class:`Gap` record, the CLI's ``--gaps`` parser, sorting and merging.

Contract: a gap is ``[start, end)`` in integer samples at ``sample_rate`` Hz
(``0 <= start < end``, ``end`` exclusive), with seconds derived from the rate. Lists returned
here are sorted by ``(start, end)``; :func:`normalise_gaps` and :func:`parse_gaps` refuse
overlapping, empty or out-of-range spans with :class:`~echoes.errors.ParameterError`, while
:func:`merge_gaps` unions overlapping or touching spans. ``kind`` says where a gap came from
(``"dropout"``, ``"level-drop"``, ``"onset-cut"``, ``"click"``, ``"user"``); ``method`` is
set by :func:`echoes.restore.gaps.fill.fill_gaps` to the method that filled it.

This module imports nothing else of :mod:`echoes.restore.gaps`: detection and filling both
build on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np

from echoes.errors import ParameterError


@dataclass(frozen=True)
class Gap:
    """A span of missing or damaged audio.

    Attributes
    ----------
    start, end : sample indices, ``end`` exclusive (``start < end``).
    sample_rate : rate in Hz the indices refer to.
    kind : ``"dropout"`` (a run of near-zero samples), ``"level-drop"`` (a sudden dip of the
        level inside sound) or ``"user"`` (given by the user or the caller).
    method : the method that filled it (set by :func:`fill_gaps`), else ``None``.
    donor_start, donor_end : where a transplanted fill came from (samples of the same audio,
        ``end`` exclusive; the first channel's donor), else ``None``.
    noise_above_hz : a transplanted fill whose band above this frequency (Hz) is generated noise
        shaped to the gap's expected spectrum, not the donor's; else ``None``.
    """

    start: int
    end: int
    sample_rate: int
    kind: str = "user"
    method: str | None = None
    donor_start: int | None = None
    donor_end: int | None = None
    noise_above_hz: float | None = None

    @property
    def length(self) -> int:
        """Length in samples."""
        return self.end - self.start

    @property
    def start_s(self) -> float:
        """Start in seconds."""
        return self.start / self.sample_rate

    @property
    def end_s(self) -> float:
        """End in seconds (exclusive)."""
        return self.end / self.sample_rate

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.length / self.sample_rate

    def to_dict(self) -> dict:
        """Plain dict for JSON reports (samples and seconds)."""
        return {
            "start": self.start,
            "end": self.end,
            "start_s": round(self.start_s, 6),
            "end_s": round(self.end_s, 6),
            "kind": self.kind,
            "method": self.method,
            "transplanted": self.donor_start is not None,
            "donor_start_s": None if self.donor_start is None else round(self.donor_start / self.sample_rate, 6),
            "donor_end_s": None if self.donor_end is None else round(self.donor_end / self.sample_rate, 6),
            "noise_above_hz": self.noise_above_hz,
        }


_SPAN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*-\s*(\d+(?:\.\d*)?|\.\d+)\s*$")


def parse_gaps(text: str, sample_rate: int, *, n_samples: int | None = None) -> list[Gap]:
    """Parse the CLI's ``--gaps`` text, e.g. ``"1.20-1.25,3.00-3.10"`` (seconds).

    Parameters
    ----------
    text : comma-separated ``start-end`` spans in seconds, start < end.
    sample_rate : rate in Hz used to convert to samples.
    n_samples : length of the signal in samples; when given, spans past its end are refused.

    Returns
    -------
    Sorted, non-overlapping :class:`Gap` objects of kind ``"user"``.

    Raises
    ------
    ParameterError : unreadable text, empty or reversed spans, overlaps, or spans outside
        the signal.
    """
    check_rate(sample_rate)
    if not isinstance(text, str) or not text.strip():
        raise ParameterError("--gaps is empty; give spans in seconds like 1.20-1.25,3.00-3.10")
    gaps = []
    for part in text.split(","):
        m = _SPAN.match(part)
        if not m:
            raise ParameterError(
                f"cannot read the gap '{part.strip()}'; write each gap as start-end in seconds, "
                "e.g. 1.20-1.25, separated by commas"
            )
        a, b = float(m.group(1)), float(m.group(2))
        if not b > a:
            raise ParameterError(f"the gap '{part.strip()}' ends before it starts")
        start, end = int(round(a * sample_rate)), int(round(b * sample_rate))
        if end <= start:
            raise ParameterError(f"the gap '{part.strip()}' is shorter than one sample")
        if n_samples is not None and end > n_samples:
            raise ParameterError(
                f"the gap '{part.strip()}' ends after the audio, which is "
                f"{n_samples / sample_rate:.3f} s long"
            )
        gaps.append(Gap(start, end, int(sample_rate), kind="user"))
    return normalise_gaps(gaps, n_samples=n_samples)


def normalise_gaps(gaps: Iterable[Gap], *, n_samples: int | None = None) -> list[Gap]:
    """Sort gaps and refuse overlapping, empty or out-of-range ones (``ParameterError``)."""
    out = sorted(gaps, key=lambda g: (g.start, g.end))
    for g in out:
        if not isinstance(g, Gap):
            raise ParameterError(f"expected Gap objects, got {type(g).__name__}")
        if g.start < 0 or g.end <= g.start:
            raise ParameterError(f"the gap {g.start_s:.3f}-{g.end_s:.3f} s is empty or negative")
        if n_samples is not None and g.end > n_samples:
            raise ParameterError(
                f"the gap {g.start_s:.3f}-{g.end_s:.3f} s lies outside the audio "
                f"({n_samples / g.sample_rate:.3f} s)"
            )
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            raise ParameterError(
                f"the gaps {a.start_s:.3f}-{a.end_s:.3f} s and {b.start_s:.3f}-{b.end_s:.3f} s "
                "overlap; merge them into one"
            )
    return out


def merge_gaps(*lists: Iterable[Gap]) -> list[Gap]:
    """Union of gap lists (e.g. detected gaps plus the user's ``--gaps``), sorted, with
    overlapping or touching spans merged into one. A merged span keeps kind ``"user"`` if any
    part came from the user, else the kind of its first part."""
    spans = sorted((g for lst in lists for g in lst), key=lambda g: (g.start, g.end))
    out: list[Gap] = []
    for g in spans:
        if out and g.start <= out[-1].end:
            last = out[-1]
            kind = "user" if "user" in (last.kind, g.kind) else last.kind
            out[-1] = replace(last, end=max(last.end, g.end), kind=kind)
        else:
            out.append(replace(g, method=None))
    return out


def check_rate(sample_rate) -> None:
    """Refuse a sample rate that is not a positive integer (Hz) with ``ParameterError``."""
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")
