"""Audio I/O: round trips over formats, subtypes, rates and channels; named errors; safe saving."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from echoes.core import audio
from echoes.errors import (
    EmptyAudioError,
    NonFiniteError,
    OutputPathError,
    TooLongError,
    TooShortError,
    UnreadableAudioError,
)


def _signal(channels: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.5 * rng.uniform(-1, 1, (channels, n))).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("rate", [8000, 22050, 44100, 192000])
def test_pcm16_wav_round_trip_is_bit_exact(tmp_path: Path, channels: int, rate: int) -> None:
    rng = np.random.default_rng(1)
    ints = rng.integers(-32768, 32768, size=(rate // 10, channels), dtype=np.int16)
    src = tmp_path / "in.wav"
    sf.write(src, ints, rate, subtype="PCM_16")
    x, sr = audio.load(src)
    assert sr == rate and x.shape == (channels, rate // 10) and x.dtype == np.float32
    out = tmp_path / "out.wav"
    audio.save(out, x, sr, subtype="PCM_16")
    back, _ = sf.read(out, dtype="int16", always_2d=True)
    assert np.array_equal(back, ints)
    assert sf.info(out).subtype == "PCM_16"


@pytest.mark.parametrize(
    "ext,subtype,tol",
    [
        (".wav", "PCM_24", 2.0**-22),
        (".wav", "PCM_32", 2.0**-30),
        (".wav", "FLOAT", 0.0),
        (".wav", "PCM_U8", 2.0**-6),
        (".flac", "PCM_16", 2.0**-15),
        (".flac", "PCM_24", 2.0**-22),
        (".aiff", "PCM_16", 2.0**-15),
    ],
)
def test_lossless_round_trip(tmp_path: Path, ext: str, subtype: str, tol: float) -> None:
    x = _signal(2, 4410)
    p = tmp_path / f"a{ext}"
    audio.save(p, x, 44100, subtype=subtype)
    y, sr = audio.load(p)
    assert sr == 44100 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= tol + 1e-9


@pytest.mark.parametrize("ext", [".ogg", ".mp3"])
def test_lossy_formats_load_with_shape_and_rate(tmp_path: Path, ext: str, tone) -> None:
    x = np.stack([tone(220, 1.0, 44100), tone(330, 1.0, 44100)])
    p = tmp_path / f"a{ext}"
    audio.save(p, x, 44100)
    y, sr = audio.load(p)
    assert sr == 44100 and y.shape[0] == 2
    # mp3 adds encoder delay/padding; ogg keeps the length. Both keep the content.
    assert abs(y.shape[1] - x.shape[1]) <= 2 * 1152 + 576
    if ext == ".ogg":
        assert y.shape == x.shape
        err = np.sqrt(np.mean((y - x) ** 2)) / np.sqrt(np.mean(x**2))
        assert err < 0.3


def test_mono_and_resample() -> None:
    x = _signal(2, 44100)
    m = audio.to_mono(x)
    assert m.shape == (1, 44100)
    np.testing.assert_allclose(m[0], x.mean(0), atol=1e-7)
    r = audio.resample(x, 44100, 22050)
    assert r.shape == (2, 22050) and r.dtype == np.float32
    t = np.arange(44100) / 44100
    s = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    rs = audio.resample(s, 44100, 22050)
    ref = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    assert np.max(np.abs(rs[500:-500] - ref[500:-500])) < 1e-3


def test_save_never_clips_and_scales_only_above_one(tmp_path: Path) -> None:
    x = np.array([[0.0, 0.5, -2.0, 1.5]], dtype=np.float32)
    p = tmp_path / "loud.wav"
    audio.save(p, x, 8000, subtype="FLOAT")
    y, _ = audio.load(p)
    np.testing.assert_allclose(y, x / 2.0, atol=1e-7)
    quiet = np.array([[0.0, 0.25, -0.5]], dtype=np.float32)
    audio.save(p, quiet, 8000, subtype="FLOAT")
    np.testing.assert_array_equal(audio.load(p)[0], quiet)


def test_save_leaves_no_partial_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    x = _signal(1, 1000)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audio.sf, "write", boom)
    target = tmp_path / "out.wav"
    with pytest.raises(OutputPathError, match="disk full"):
        audio.save(target, x, 8000)
    assert list(tmp_path.iterdir()) == []


def test_save_failure_keeps_previous_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.wav"
    audio.save(target, _signal(1, 1000), 8000)
    before = target.read_bytes()
    monkeypatch.setattr(audio.sf, "write", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(OutputPathError):
        audio.save(target, _signal(1, 1000, seed=3), 8000)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_save_refuses_to_overwrite_input(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    audio.save(src, _signal(1, 1000), 8000)
    before = src.read_bytes()
    with pytest.raises(OutputPathError, match="overwrite the input"):
        audio.save(tmp_path / "." / "in.wav", _signal(1, 1000, 5), 8000, protect=[src])
    assert src.read_bytes() == before


def test_save_rejects_unwritable_folder_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match="does not exist"):
        audio.save(tmp_path / "missing" / "a.wav", _signal(1, 100), 8000)
    with pytest.raises(OutputPathError, match="unknown extension"):
        audio.save(tmp_path / "a.xyz", _signal(1, 100), 8000)
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(OutputPathError, match="not writable"):
            audio.save(ro / "a.wav", _signal(1, 100), 8000)


def test_errors_are_named_and_readable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableAudioError, match="does not exist"):
        audio.load(tmp_path / "nope.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="empty"):
        audio.load(empty)
    text = tmp_path / "text.wav"
    text.write_text("this is not audio at all\n" * 20)
    with pytest.raises(UnreadableAudioError, match="not a readable audio file"):
        audio.load(text)
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros((0, 1), dtype=np.float32), 8000)
    with pytest.raises(EmptyAudioError, match="no audio"):
        audio.load(zero)
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(80, dtype=np.float32), 8000)
    with pytest.raises(TooShortError, match="10.0 ms"):
        audio.load(short, min_seconds=0.1)
    with pytest.raises(TooLongError, match="minutes"):
        audio.load(short, max_seconds=0.005)
    bad = tmp_path / "nan.wav"
    data = np.zeros(100, dtype=np.float32)
    data[10] = np.nan
    sf.write(bad, data, 8000, subtype="FLOAT")
    with pytest.raises(NonFiniteError, match="NaN"):
        audio.load(bad)
    lowrate = tmp_path / "low.wav"
    sf.write(lowrate, np.zeros(100, dtype=np.float32), 4000)
    with pytest.raises(UnreadableAudioError, match="4000 Hz"):
        audio.load(lowrate)
    with pytest.raises(UnreadableAudioError, match="folder"):
        audio.load(tmp_path)


def test_truncated_file_loads_what_is_there_or_fails_clearly(tmp_path: Path) -> None:
    p = tmp_path / "t.wav"
    audio.save(p, _signal(1, 8000), 8000, subtype="PCM_16")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    try:
        y, sr = audio.load(p)
    except UnreadableAudioError:
        return
    assert sr == 8000 and 0 < y.shape[1] <= 8000 and np.all(np.isfinite(y))


def test_saved_files_follow_the_umask(tmp_path) -> None:
    import os
    import stat

    from echoes.core.files import publish, umask

    for mask in (0o022, 0o002):
        old = os.umask(mask)
        try:
            assert umask() == mask
            p = audio.save(tmp_path / f"m{mask:o}.wav", np.zeros(100, np.float32), 8000)
            assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask
            t = tmp_path / "t.tmp"
            t.write_text("x")
            os.chmod(t, 0o600)
            publish(t, tmp_path / "r.json")
            assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o666 & ~mask
        finally:
            os.umask(old)


def test_fft_resampling_keeps_the_top_of_the_band_and_the_length():
    """quality="fft" is a brick wall at the lower Nyquist frequency: a 10.9 kHz tone keeps its
    level at 22,050 Hz (soxr HQ's pass band ends near 10.1 kHz and takes most of it away)."""
    from echoes.core.audio import resample

    sr = 44_100
    t = np.arange(3 * sr) / sr
    x = (0.5 * np.sin(2 * np.pi * 10_900 * t)).astype(np.float32)
    y = resample(x, sr, 22_050, quality="fft")
    assert y.dtype == np.float32 and y.size == 3 * 22_050
    mid = slice(2205, -2205)
    assert abs(np.sqrt(np.mean(y[mid] ** 2)) / np.sqrt(np.mean(x ** 2)) - 1.0) < 0.01
    hq = resample(x, sr, 22_050)
    assert np.sqrt(np.mean(hq[mid] ** 2)) < 0.5 * np.sqrt(np.mean(x ** 2))
    z = resample(x[: 100 * 147 + 13], 44_100, 48_000, quality="fft")  # any ratio: the length rule holds
    assert z.size == round((100 * 147 + 13) * 48_000 / 44_100)


def test_allocator_settings_apply_on_linux():
    import sys

    from echoes.core.allocator import keep_freed_memory

    ok = keep_freed_memory()
    assert isinstance(ok, bool)
    if sys.platform.startswith("linux"):
        import platform

        assert ok or platform.libc_ver()[0] != "glibc"
