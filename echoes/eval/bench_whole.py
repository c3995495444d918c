"""Whole processes against noisereduce: ``echoes bench --whole`` (issue 31's speed measure).

A ``minutes``-long 44.1 kHz PCM_16 WAV of synthetic piano with hiss (mono, and stereo with the
right channel at 0.9 times the left) is restored by fresh processes, each timed from its start
to its exit (interpreter, imports, weights, reading, restoring, writing): ``python -m echoes -q
restore SRC -o DST --denoise always --model M`` for every de-noiser of the registry, and a
noisereduce script that reads the file with soundfile, runs ``noisereduce.reduce_noise`` on each
channel and writes PCM_16. Every round runs each process once, in an order rotated round by
round; the table gives medians of wall time and CPU time (user + system, the child's own from
``os.wait4``) and the realtime factor. No peak memory: on Linux a child's ``ru_maxrss`` starts
from its parent's size at the fork, and this parent has just run the in-process benchmarks. No result is kept from a
process that failed or wrote the wrong number of frames.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from echoes.models.registry import DENOISERS

#: The reference: noisereduce as a whole process, channel by channel (its defaults).
NOISEREDUCE = (
    "import sys, soundfile as sf, noisereduce as nr, numpy as np\n"
    "x, sr = sf.read(sys.argv[1], dtype='float32', always_2d=True)\n"
    "y = np.stack([nr.reduce_noise(y=c, sr=sr) for c in x.T]).T\n"
    "sf.write(sys.argv[2], y, sr, subtype='PCM_16')\n"
)


def _write_source(path: Path, minutes: float, channels: int, sr: int = 44_100) -> None:
    import soundfile as sf

    from echoes.eval.bench import synthetic_piano

    piece = synthetic_piano(60.0, sr, seed=2)
    rng = np.random.default_rng(1)
    left = np.tile(piece, int(np.ceil(minutes)))[: int(minutes * 60 * sr)]
    x = np.stack([left, 0.9 * left])[:channels] if channels == 2 else left[None, :]
    x = x + 0.01 * rng.standard_normal(x.shape).astype(np.float32)
    sf.write(path, x.T, sr, subtype="PCM_16")


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, CPU s, return code) of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr is not None:
        proc.stderr.close()
    return wall, ru.ru_utime + ru.ru_stime, proc.returncode


def bench_whole(*, minutes: float = 5.0, repeats: int = 3, channels: tuple[int, ...] = (1, 2),
                models: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Time whole processes (module docstring); returns ``{"minutes", "repeats", "rows": [...]}``
    with one row per (channels, process)."""
    import soundfile as sf

    models = tuple(models or DENOISERS)
    try:
        import noisereduce  # noqa: F401

        have_nr = True
    except ImportError:
        have_nr = False
    env = {**os.environ}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="echoes-whole-") as tmp:
        for ch in channels:
            src = Path(tmp) / f"src_{ch}.wav"
            _write_source(src, minutes, ch)
            frames = sf.info(src).frames
            procs: dict[str, list[str]] = {
                f"echoes restore --denoise always --model {m}":
                    [sys.executable, "-m", "echoes", "-q", "restore", str(src), "-o", str(Path(tmp) / f"o_{m}.wav"),
                     "--denoise", "always", "--model", m] for m in models}
            if have_nr:
                procs["noisereduce (reduce_noise per channel)"] = [sys.executable, "-c", NOISEREDUCE, str(src),
                                                                   str(Path(tmp) / "o_nr.wav")]
            got: dict[str, list[tuple[float, float]]] = {k: [] for k in procs}
            failed: dict[str, str] = {}
            names = list(procs)
            for r in range(repeats):
                for k in names[r % len(names):] + names[: r % len(names)]:
                    wall, cpu, rc = _run(procs[k], env)
                    out = Path(procs[k][-1] if k.startswith("noisereduce") else procs[k][procs[k].index("-o") + 1])
                    if rc != 0 or not out.exists() or sf.info(out).frames != frames:
                        failed[k] = f"exit {rc}"
                        continue
                    got[k].append((wall, cpu))
                    out.unlink()
            for k in names:
                if k in failed and not got[k]:
                    rows.append({"process": k, "channels": ch, "error": failed[k]})
                    continue
                w = statistics.median(g[0] for g in got[k])
                rows.append({"process": k, "channels": ch, "wall_s": round(w, 2),
                             "cpu_s": round(statistics.median(g[1] for g in got[k]), 2),
                             "rtf": round(minutes * 60 / w, 1), "runs": len(got[k])})
            if not have_nr:
                rows.append({"process": "noisereduce", "channels": ch, "error": "not installed"})
    return {"minutes": minutes, "repeats": repeats, "sample_rate": 44_100, "rows": rows}


def format_whole(res: dict[str, Any]) -> list[str]:
    """Markdown table of :func:`bench_whole`'s result."""
    lines = ["", f"Whole processes on {res['minutes']:g} min of 44.1 kHz PCM_16 (median of {res['repeats']} "
                 "rounds, order rotated; start-up, reading and writing included)", "",
             "| channels | process | wall s | CPU s | × realtime |", "|---|---|---:|---:|---:|"]
    for r in res["rows"]:
        if "error" in r:
            lines.append(f"| {r['channels']} | {r['process']} | error: {r['error']} | | |")
        else:
            lines.append(f"| {r['channels']} | {r['process']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['rtf']:.1f} |")
    return lines
