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
