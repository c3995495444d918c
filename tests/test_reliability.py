"""Bad, odd and long inputs through the CLI, the Python API and the app: a clear, specific error or a
correct output; never a traceback, a partial output file or a changed input. Plus property tests."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from echoes.core import audio
from echoes.api import Restorer, RestoreOptions
from echoes.errors import EchoesError, NonFiniteError, TooShortError

ROOT = Path(__file__).resolve().parent.parent


def _tone(seconds: float, sr: int, channels: int = 1, f: float = 330.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = amp * np.sin(2 * np.pi * f * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    return np.repeat(x[None, :], channels, axis=0).astype(np.float32)


def _write(path: Path, x: np.ndarray, sr: int, subtype: str | None = None) -> Path:
    sf.write(path, x.T, sr, subtype=subtype)
    return path


def _truncate(path: Path, keep: float = 0.5) -> Path:
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    return path


def _bad_header_wav(path: Path) -> Path:
    _write(path, _tone(1.0, 8000), 8000, "PCM_16")
    raw = bytearray(path.read_bytes())
    i = raw.find(b"data")
    raw[i + 4 : i + 8] = (10 * len(raw)).to_bytes(4, "little")  # claims ten times the data
    path.write_bytes(bytes(raw))
    return path


def _nan_wav(path: Path, value: float) -> Path:
    x = _tone(1.0, 8000)
    x[0, 100] = value
    return _write(path, x, 8000, "FLOAT")


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# name -> (maker(tmp_path) -> input file, expected: "ok" or a substring of the one-line error)
CASES = {
    "empty file": (lambda d: _bytes(d / "empty.wav", b""), "empty file"),
    "zero frames": (lambda d: _write(d / "zero.wav", np.zeros((1, 0), np.float32), 8000), "no audio"),
    "one sample": (lambda d: _write(d / "one.wav", np.full((1, 1), 0.1, np.float32), 8000), "long; at least"),
    "10 ms clip": (lambda d: _write(d / "ten.wav", _tone(0.01, 44100), 44100), "long; at least"),
    "truncated wav": (lambda d: _truncate(_write(d / "t.wav", _tone(2.0, 22050), 22050, "PCM_16")), "ok"),
    "truncated flac": (lambda d: _truncate(_write(d / "t.flac", _tone(2.0, 22050), 22050)), "ok|could not be decoded|not a readable"),
    "truncated mp3": (lambda d: _truncate(_write(d / "t.mp3", _tone(2.0, 44100), 44100)), "ok|could not be decoded|not a readable"),
    "text renamed .wav": (lambda d: _bytes(d / "notes.wav", b"hello\n" * 100), "not a readable audio file"),
    "image renamed .wav": (lambda d: _bytes(d / "pic.wav", b"\x89PNG\r\n\x1a\n" + bytes(300)),
                           "not a readable audio file"),
    "header claims more data": (lambda d: _bad_header_wav(d / "liar.wav"), "ok"),
    "NaN samples": (lambda d: _nan_wav(d / "nan.wav", np.nan), "NaN or infinite"),
    "Inf samples": (lambda d: _nan_wav(d / "inf.wav", np.inf), "NaN or infinite"),
    "DC offset": (lambda d: _write(d / "dc.wav", (_tone(2.0, 22050) * 0.5 + 0.4).astype(np.float32), 22050), "ok"),
    "clipped square wave": (lambda d: _write(d / "sq.wav", np.sign(_tone(2.0, 22050)).astype(np.float32), 22050, "PCM_16"), "ok"),
    "8 channels": (lambda d: _write(d / "eight.wav", _tone(1.0, 16000, channels=8), 16000), "ok"),
    "8 kHz": (lambda d: _write(d / "low.wav", _tone(2.0, 8000), 8000), "ok"),
    "192 kHz": (lambda d: _write(d / "high.flac", _tone(1.0, 192000), 192000, "PCM_24"), "ok"),
    "8-bit": (lambda d: _write(d / "u8.wav", _tone(1.0, 11025), 11025, "PCM_U8"), "ok"),
    "24-bit": (lambda d: _write(d / "s24.wav", _tone(1.0, 44100), 44100, "PCM_24"), "ok"),
    "32-bit float": (lambda d: _write(d / "f32.wav", _tone(1.0, 48000), 48000, "FLOAT"), "ok"),
    "spaces and non-ASCII name": (lambda d: _write(d / "Chopin – Nocturne é ü 1929.wav", _tone(1.0, 22050), 22050), "ok"),
}


def _sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "echoes", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", list(CASES))
def test_cli_bad_and_odd_inputs(tmp_path: Path, name: str) -> None:
    maker, expected = CASES[name]
    src = Path(maker(tmp_path))
    before = _sha(src)
    out = tmp_path / "out" / f"restored{src.suffix}"
    out.parent.mkdir()
    r = _run_cli("restore", str(src), "-o", str(out))
    assert "Traceback" not in r.stderr, r.stderr
    assert _sha(src) == before, "the input file changed"
    leftovers = [p.name for p in out.parent.iterdir() if p.name != out.name]
    assert leftovers == [], f"partial files left: {leftovers}"
    if r.returncode == 0:
        assert "ok" in expected.split("|"), f"expected an error with {expected!r}, got success"
        info_in, info_out = audio.info(src), sf.info(out)
        assert info_out.samplerate == info_in.sample_rate and info_out.channels == info_in.channels
        y, _ = audio.load(out)
        assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0
        assert y.shape[1] == audio.load(src)[0].shape[1]
    else:
        assert not out.exists()
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("echoes: error")]
        assert lines, r.stderr
        assert any(e in r.stderr for e in expected.split("|") if e != "ok"), (expected, r.stderr)


def test_cli_refuses_output_equal_to_input_and_unwritable_folder(tmp_path: Path) -> None:
    src = _write(tmp_path / "a.wav", _tone(1.0, 8000), 8000)
    before = _sha(src)
    r = _run_cli("restore", str(src), "-o", str(src))
    assert r.returncode != 0 and "overwrite the input" in r.stderr and "Traceback" not in r.stderr
    assert _sha(src) == before
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _run_cli("restore", str(src), "-o", str(blocker / "sub" / "out.wav"))
    # one line naming the folder that cannot be made
    assert r.returncode != 0 and "Traceback" not in r.stderr and str(blocker / "sub") in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def restorer() -> Restorer:
    return Restorer()


def test_api_errors_are_named(restorer: Restorer) -> None:
    x = _tone(1.0, 8000)
    x[0, 5] = np.nan
    with pytest.raises(NonFiniteError):
        restorer.restore(x, 8000)
    with pytest.raises(TooShortError):
        restorer.restore(_tone(0.01, 8000), 8000)
    with pytest.raises(EchoesError):
        restorer.restore(_tone(1.0, 8000), 4000)


def test_ten_minute_file_is_restored_in_blocks(tmp_path: Path) -> None:
    sr = 8000
    src = tmp_path / "long.flac"
    with sf.SoundFile(src, "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(10):
            f.write(_tone(60.0, sr)[0] * 0.5)
    out = tmp_path / "long.restored.flac"
    r = _run_cli("restore", str(src), "-o", str(out), "--report", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    assert sf.info(out).frames == sf.info(src).frames == 600 * sr


def test_app_refuses_two_hour_file_clearly(tmp_path: Path) -> None:
    gr = pytest.importorskip("gradio")
    sys.path.insert(0, str(ROOT))
    import app

    src = tmp_path / "two hours.wav"
    with sf.SoundFile(src, "w", 8000, 1, subtype="PCM_U8") as f:
        block = np.zeros(8000 * 600, dtype=np.float32)
        for _ in range(12):
            f.write(block)
    with pytest.raises(gr.Error, match="120.0 minutes"):
        app.restore(str(src), progress=lambda *a, **k: None)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(
    seconds=st.floats(0.3, 3.0),
    sr=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
    channels=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    denoise=st.sampled_from(["auto", "always"]),
)
def test_pipeline_properties(restorer: Restorer, seconds: float, sr: int, channels: int, seed: int,
                             denoise: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = (rng.uniform(-1, 1) * _tone(seconds, sr, channels)[:, :n]
         + rng.uniform(0, 0.2) * rng.standard_normal((channels, n))).astype(np.float32)
    x = np.clip(x, -1, 1)
    opts = RestoreOptions(denoise=denoise)
    a = restorer.restore(x, sr, opts)
    b = restorer.restore(x, sr, opts)
    assert a.audio.shape == x.shape and a.audio.dtype == np.float32
    assert np.all(np.isfinite(a.audio)) and np.max(np.abs(a.audio)) <= 1.0
    assert np.array_equal(a.audio, b.audio)
