"""Render notes with real piano samples: note events, humanising, a numpy sampler, reverb.

A performance is a :class:`Performance`: note events (onset and offset in seconds, MIDI pitch,
velocity 1 to 127) and sustain-pedal events (time in seconds, down or up). It renders with

* :class:`SamplePiano`: one recorded note per key (or fewer keys, pitch-shifted by
  resampling); softer velocities are quieter and darker (cross-faded low-pass layers of the
  recorded note), key release or pedal release damps the note;
* :func:`render_fluidsynth`: the ``fluidsynth`` command-line synthesiser with a SoundFont
  (FluidR3's "Yamaha Grand Piano" by default).

Audio is float32 mono ``(samples,)`` at ``sample_rate`` Hz (44,100 by default).
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from echoes.errors import EchoesError, ParameterError

log = logging.getLogger(__name__)

RATE = 44_100
NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def note_number(name: str) -> int:
    """MIDI number of a note name such as ``'A0'``, ``'Ab4'``, ``'D#1'``, ``'Gb7'`` (C4 = 60)."""
    m = re.fullmatch(r"([A-Ga-g])([#b]?)(-?\d)", name)
    if not m:
        raise ParameterError(f"not a note name: {name!r}")
    pc = NOTE_NAMES[m.group(1).upper()] + {"#": 1, "b": -1, "": 0}[m.group(2)]
    return 12 * (int(m.group(3)) + 1) + pc


@dataclass
class Performance:
    """Notes ``(onset_s, offset_s, pitch, velocity)`` and pedal ``(time_s, down)`` events.

    Notes are float64 ``(n, 4)``; the constructors here sort them by onset and keep the pedal
    events alternating down and up."""

    notes: np.ndarray  # float64 (n, 4): onset s, offset s, pitch, velocity
    pedal: list[tuple[float, bool]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return float(self.notes[:, 1].max()) if len(self.notes) else 0.0

    @classmethod
    def from_pretty_midi(cls, pm) -> Performance:
        rows, pedal = [], []
        for inst in pm.instruments:
            if inst.is_drum:
                continue
            rows += [(n.start, n.end, n.pitch, n.velocity) for n in inst.notes]
            pedal += [(c.time, c.value >= 64) for c in inst.control_changes if c.number == 64]
        notes = np.array(sorted(rows), dtype=np.float64).reshape(-1, 4)
        return cls(notes, _clean_pedal(sorted(pedal)))

    def to_pretty_midi(self):
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        inst = pretty_midi.Instrument(program=0, name="piano")
        for on, off, p, v in self.notes:
            inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=float(on), end=float(off)))
        for t, down in self.pedal:
            inst.control_changes.append(pretty_midi.ControlChange(number=64, value=127 if down else 0, time=float(t)))
        pm.instruments.append(inst)
        return pm

    def sounding_offsets(self) -> np.ndarray:
        """Each note's damping time (s): its key release, or the next pedal release after it."""
        offs = self.notes[:, 1].copy()
        if not self.pedal:
            return offs
        times = np.array([t for t, _ in self.pedal])
        downs = np.array([d for _, d in self.pedal])
        for i, off in enumerate(offs):
            k = np.searchsorted(times, off, side="right") - 1
            if k >= 0 and downs[k]:
                ups = np.flatnonzero(~downs[k + 1 :])
                offs[i] = times[k + 1 + ups[0]] if ups.size else max(off, times[-1]) + 2.0
        return offs


def _clean_pedal(ev: list[tuple[float, bool]]) -> list[tuple[float, bool]]:
    out: list[tuple[float, bool]] = []
    for t, d in ev:
        if not out or out[-1][1] != d:
            out.append((float(t), bool(d)))
    return out


def humanise(
    perf: Performance,
    rng: np.random.Generator,
    *,
    tempo: float = 1.0,
    timing_ms: float = 12.0,
    velocity_jitter: float = 8.0,
    velocity_offset: float = 0.0,
    velocity_scale: float = 1.0,
    lead_in: float = 0.5,
) -> Performance:
    """A played version: tempo factor ``tempo`` (>1 slower), Gaussian timing jitter (ms),
    velocities scaled about 64 then offset and jittered, clipped to 1..127."""
    n = perf.notes.copy()
    if len(n) == 0:
        return Performance(n, list(perf.pedal))
    t0 = n[:, 0].min()
    n[:, :2] = (n[:, :2] - t0) * tempo + lead_in
    jit = rng.normal(0, timing_ms / 1000.0, len(n))
    n[:, 0] = np.maximum(0.0, n[:, 0] + jit)
    n[:, 1] = np.maximum(n[:, 0] + 0.03, n[:, 1] + jit * 0.5)
    v = 64 + (n[:, 3] - 64) * velocity_scale + velocity_offset + rng.normal(0, velocity_jitter, len(n))
    n[:, 3] = np.clip(np.round(v), 1, 127)
    pedal = [((t - t0) * tempo + lead_in, d) for t, d in perf.pedal]
    order = np.argsort(n[:, 0], kind="stable")
    return Performance(n[order], pedal)


# ------------------------------------------------------------------------------------------


def _lowpass_fft(x: np.ndarray, sr: int, fc: float, order: int = 2) -> np.ndarray:
    L = 1 << (x.size - 1).bit_length()
    f = np.fft.rfftfreq(L, 1 / sr)
    g = 1 / np.sqrt(1 + (f / fc) ** (2 * order))
    return np.fft.irfft(np.fft.rfft(x, L) * g, L)[: x.size].astype(np.float32)


class SamplePiano:
    """A sampler over one recording per key (float32 mono at ``sample_rate`` Hz).

    Parameters
    ----------
    notes : MIDI pitch -> recorded note (float32 ``(samples,)``), recorded loud (ff).
    name : the piano's name, for manifests.
    dynamic_range_db : level difference between velocity 127 and velocity 1.
    """

    #: Low-pass cut-offs, in harmonics of the note, of the darker layers (velocity 127 -> layer 0).
    LAYERS = (None, 24.0, 10.0, 4.5)

    def __init__(self, notes: dict[int, np.ndarray], *, name: str, sample_rate: int = RATE,
                 dynamic_range_db: float = 36.0):
        if not notes:
            raise ParameterError("a SamplePiano needs at least one note")
        self.name, self.sample_rate, self.range_db = name, int(sample_rate), float(dynamic_range_db)
        self.raw = {int(k): np.asarray(v, np.float32) for k, v in notes.items()}
        self._layers: dict[tuple[int, int], np.ndarray] = {}
        peak = max(float(np.max(np.abs(v))) for v in self.raw.values())
        self.norm = 0.5 / peak

    # -- construction from the registries' sample sets --
    @classmethod
    def from_folder(cls, folder: str | Path, *, name: str, pattern: str, sample_rate: int = RATE,
                    fill: bool = True, **kw) -> SamplePiano:
        """Load files whose names match ``pattern`` (a regex with a group ``note``) as keys.

        Missing keys (A0..C8) are made by resampling the nearest recorded key when ``fill``.
        """
        import soundfile as sf

        from echoes.core.audio import resample

        folder = Path(folder)
        rx = re.compile(pattern)
        notes: dict[int, np.ndarray] = {}
        for p in sorted(folder.iterdir()):
            m = rx.fullmatch(p.name)
            if not m:
                continue
            x, sr = sf.read(str(p), dtype="float32", always_2d=True)
            x = x.mean(axis=1)
            if sr != sample_rate:
                x = resample(x, sr, sample_rate)
            x = _trim_onset(x)
            notes[note_number(m.group("note"))] = _fade_end(x, sample_rate)
        if not notes:
            raise EchoesError(f"no piano samples matching {pattern!r} in '{folder}'")
        if fill:
            notes = _fill_keys(notes, sample_rate)
        return cls(notes, name=name, sample_rate=sample_rate, **kw)

    def layer(self, pitch: int, k: int) -> np.ndarray:
        key = (pitch, k)
        if key not in self._layers:
            x = self.raw[pitch]
            h = self.LAYERS[k]
            if h is not None:
                f0 = 440.0 * 2 ** ((pitch - 69) / 12)
                fc = min(max(h * f0, 250.0), 0.45 * self.sample_rate)
                x = _lowpass_fft(x, self.sample_rate, fc)
            self._layers[key] = x
        return self._layers[key]

    def note(self, pitch: int, velocity: float, length: int, *, release_s: float = 0.12) -> np.ndarray:
        """One note: ``length`` samples held, then damped over about ``5 * release_s``."""
        pitch = int(min(max(pitch, min(self.raw)), max(self.raw)))
        b = min(max(velocity / 127.0, 0.0), 1.0)
        pos = (1.0 - b) * (len(self.LAYERS) - 1)
        k0 = int(math.floor(pos))
        k1 = min(k0 + 1, len(self.LAYERS) - 1)
        w = pos - k0
        src0 = self.layer(pitch, k0)
        rel = int(5 * release_s * self.sample_rate) if pitch < 89 else src0.size  # top keys: no damper
        m = min(src0.size, length + rel)
        x = src0[:m] * (1 - w)
        if w > 0:
            x = x + self.layer(pitch, k1)[:m] * w
        if m > length:
            t = np.arange(m - length) / self.sample_rate
            x[length:] *= np.exp(-t / release_s).astype(np.float32)
        gain = 10 ** (-self.range_db * (1 - b) ** 1.5 / 20) * self.norm
        return x * np.float32(gain)

    def render(self, perf: Performance, *, tail_s: float = 3.0) -> np.ndarray:
        """Render a performance to float32 mono ``(samples,)`` at ``self.sample_rate``."""
        sr = self.sample_rate
        offs = perf.sounding_offsets()
        total = int((max(offs.max(), perf.duration) + tail_s) * sr) + 1 if len(offs) else int(tail_s * sr)
        out = np.zeros(total, dtype=np.float32)
        for (on, _, p, v), off in zip(perf.notes, offs):
            a = int(on * sr)
            length = max(1, int((off - on) * sr))
            x = self.note(int(p), float(v), length)
            m = min(x.size, total - a)
            if m > 0:
                out[a : a + m] += x[:m]
        return out


def _trim_onset(x: np.ndarray, rel: float = 0.02, pre_s: float = 0.002, sr: int = RATE) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= 0:
        return x
    i = int(np.argmax(np.abs(x) > rel * peak))
    return x[max(0, i - int(pre_s * sr)) :]


def _fade_end(x: np.ndarray, sr: int, fade_s: float = 0.05) -> np.ndarray:
    x = x.copy()
    m = min(x.size, int(fade_s * sr))
    x[x.size - m :] *= np.linspace(1, 0, m, dtype=np.float32)
    return x


def _fill_keys(notes: dict[int, np.ndarray], sr: int, lo: int = 21, hi: int = 108) -> dict[int, np.ndarray]:
    from echoes.core.audio import resample

    have = np.array(sorted(notes))
    out = dict(notes)
    for p in range(lo, hi + 1):
        if p in out:
            continue
        src = int(have[np.argmin(np.abs(have - p))])
        ratio = 2 ** ((p - src) / 12)  # play faster by ratio: resample to sr / ratio
        y = resample(notes[src], int(round(sr * 1000)), int(round(sr * 1000 / ratio)))
        out[p] = _fade_end(y, sr)
    return out


def render_fluidsynth(perf: Performance, *, soundfont: str | Path, sample_rate: int = RATE,
                      gain: float = 0.5, program: int = 0) -> np.ndarray:
    """Render with the ``fluidsynth`` CLI (its reverb and chorus off): float32 mono ``(samples,)``."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise EchoesError("the fluidsynth program is not installed (Debian: apt-get install fluidsynth fluid-soundfont-gm)")
    if not Path(soundfont).exists():
        raise EchoesError(f"SoundFont '{soundfont}' not found (Debian: apt-get install fluid-soundfont-gm)")
    import soundfile as sf

    pm = perf.to_pretty_midi()
    pm.instruments[0].program = program
    with tempfile.TemporaryDirectory(prefix="echoes-fs-") as d:
        mid, wav = Path(d) / "in.mid", Path(d) / "out.wav"
        pm.write(str(mid))
        cmd = [exe, "-ni", "-o", "audio.file.format=float", "-R", "0", "-C", "0", "-g", str(gain), "-r", str(sample_rate), "-F", str(wav),
               str(soundfont), str(mid)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if res.returncode != 0 or not wav.exists():
            raise EchoesError(f"fluidsynth failed: {res.stderr.strip()[-300:]}")
        x, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    return x.mean(axis=1).astype(np.float32)


# ------------------------------------------------------------------------------------------


def room_impulse(rng: np.random.Generator, *, rt60: float, sample_rate: int = RATE,
                 predelay_ms: float = 10.0) -> np.ndarray:
    """A synthetic room response (float32): early reflections, then decaying noise whose highs
    decay twice as fast as its lows; ``rt60`` in seconds."""
    sr = sample_rate
    n = int((rt60 * 1.2 + predelay_ms / 1000) * sr)
    t = np.arange(n) / sr
    low = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    high = rng.standard_normal(n) * np.exp(-6.9 * t / (0.5 * rt60))
    low = _lowpass_fft(low.astype(np.float32), sr, 1500.0, 2)
    ir = low + 0.5 * (high - _lowpass_fft(high.astype(np.float32), sr, 1500.0, 2))
    ir *= np.clip(t / 0.02, 0, 1)  # diffuse build-up
    d = int(predelay_ms / 1000 * sr)
    ir = np.concatenate([np.zeros(d), ir])[:n]
    for _ in range(6):  # early reflections
        k = d + int(rng.uniform(0.002, 0.03) * sr)
        if k < n:
            ir[k] += rng.uniform(0.2, 0.6) * rng.choice([-1, 1])
    ir /= np.sqrt(np.sum(ir**2))
    return ir.astype(np.float32)


def add_reverb(x: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    """Mix ``x`` with its convolution by ``ir`` (energy ``wet`` relative to dry), same length."""
    n = x.size + ir.size - 1
    L = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, L) * np.fft.rfft(ir, L), L)[: x.size]
    return (x + math.sqrt(wet) * y).astype(np.float32)
