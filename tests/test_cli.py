"""The command line: --version, --help, logging flags, and errors as one stderr line."""

from __future__ import annotations

import subprocess
import sys

from echoes import __version__
from echoes.cli import main


def test_version_and_help(capsys) -> None:
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out
    assert main([]) == 0
    assert "restore historic piano" in capsys.readouterr().out.lower()


def test_python_dash_m_runs_in_a_subprocess() -> None:
    r = subprocess.run([sys.executable, "-m", "echoes", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"echoes {__version__}"
    r = subprocess.run([sys.executable, "-m", "echoes", "-q", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--verbose" in r.stdout


# ---- restore and batch as a user runs them: real subprocesses, never a traceback ----

import json  # noqa: E402
import os  # noqa: E402
import stat  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from echoes.core import audio  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def echoes(*args: str, cwd: Path, umask: int = 0o022) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "echoes", *args], cwd=cwd, capture_output=True, text=True,
                       timeout=300, env=env, umask=umask)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    t = np.arange(int(2.0 * 22050)) / 22050
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return audio.save(tmp_path / "one.wav", x, 22050, subtype="PCM_16")


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_restore_into_a_new_folder_with_a_report_there(tmp_path: Path, clip: Path, umask: int) -> None:
    r = echoes("restore", "one.wav", "-o", "newdir", "--report", "newdir/report.json", "--residual",
               cwd=tmp_path, umask=umask)
    assert r.returncode == 0, r.stderr
    out, res, rep = tmp_path / "newdir" / "one.wav", tmp_path / "newdir" / "one.residual.wav", \
        tmp_path / "newdir" / "report.json"
    for f in (out, res, rep):
        assert f.is_file() and mode(f) == 0o666 & ~umask, (f, oct(mode(f)))
    assert json.loads(rep.read_text())[0]["status"] == "ok"
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("one.wav -> newdir/one.wav: ") and "realtime" in lines[0]
    assert "de-noised" in lines[0] and "click(s) repaired" in lines[0]


def test_output_rules_for_one_input_and_quiet(tmp_path: Path, clip: Path) -> None:
    (tmp_path / "existing").mkdir()
    cases = [(["-o", "existing"], "existing/one.wav"), (["-o", "slash/"], "slash/one.wav"),
             (["-o", "deep/er/out.flac"], "deep/er/out.flac"), (["-o", "plain.wav"], "plain.wav")]
    for args, expect in cases:
        r = echoes("-q", "restore", "one.wav", *args, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout == "", (args, r.stdout, r.stderr)
        assert (tmp_path / expect).is_file(), args
    r = echoes("restore", "one.wav", "-o", "after", "-q", "--report", "r/rep.json", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "" and (tmp_path / "after" / "one.wav").is_file()
    assert (tmp_path / "r" / "rep.json").is_file()
    assert "no audio extension" in " ".join(echoes("restore", "--help", cwd=tmp_path).stdout.split())


def test_errors_are_one_line_and_a_non_zero_status(tmp_path: Path, clip: Path) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    for args in (["-o", "afile/out.wav"], ["-o", "x.wav", "--report", "adir"], ["-o", "one.wav"],
                 ["-o", "x.wav", "--report", "afile/rep.json"]):
        r = echoes("restore", "one.wav", *args, cwd=tmp_path)
        assert r.returncode != 0, args
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("echoes: error:"), (args, r.stderr)
    r = echoes("restore", "missing.wav", "-o", "out", cwd=tmp_path)
    assert r.returncode == 1 and "missing.wav" in r.stderr


def test_batch_outputs_follow_the_umask(tmp_path: Path, clip: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    clip.rename(src / "one.wav")
    r = echoes("batch", "src", "-o", "out", "--workers", "1", cwd=tmp_path, umask=0o002)
    assert r.returncode == 0, r.stderr
    assert mode(tmp_path / "out" / "one.wav") == 0o664
    assert mode(tmp_path / "out" / "manifest.jsonl") == 0o664
