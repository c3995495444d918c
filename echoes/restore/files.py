"""Restoring files: format and subtype kept, inputs never overwritten, no partial outputs.

:func:`restore_file` reads ``src`` whole when it lasts up to ``stream_above_s`` seconds
(:data:`STREAM_ABOVE_S`) and restores it with :meth:`echoes.restore.pipeline.Restorer.restore`;
longer files are restored in blocks of :data:`BLOCK_S` seconds, each with :data:`MARGIN_S`
seconds of context on both sides (only the block's own samples are kept), streamed through a
float WAV beside ``dst`` and copied into ``dst``'s format at the end with one scaling for the
whole file, so memory stays flat. The block-wise report has the one-pass report's keys, with
times in seconds of the whole file, plus ``blocks``.

Outputs are written atomically (a temporary file in ``dst``'s folder, then renamed). The
settings are recorded in the output's ``comment`` tag where the format allows it
(:func:`tag_file`); reports are JSON (:func:`write_report`, :func:`json_default`).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import soundfile as sf

from echoes import __version__
from echoes.core import audio as eaudio
from echoes.core.files import publish
from echoes.errors import OutputPathError, ParameterError
from echoes.restore.archivist.eq import apply_eq
from echoes.restore.archivist.tuning import parse_speed
from echoes.restore.gaps.spans import Gap, parse_gaps

if TYPE_CHECKING:  # pipeline imports this module
    from echoes.restore.pipeline import RestoreOptions, Restorer

log = logging.getLogger(__name__)

#: Files longer than this (seconds) are restored block by block.
STREAM_ABOVE_S = 300.0
#: Block length and context margin (seconds) for block-wise restoration of long files.
BLOCK_S = 60.0
MARGIN_S = 10.0

Progress = Callable[[float, str], None]


def restore_file(
    restorer: "Restorer",
    src: str | os.PathLike,
    dst: str | os.PathLike,
    opts: "RestoreOptions",
    *,
    residual: str | os.PathLike | None = None,
    progress: Progress | None = None,
    stream_above_s: float = STREAM_ABOVE_S,
) -> dict[str, Any]:
    """Restore the file ``src`` into ``dst`` (format from ``dst``'s extension; the input's
    subtype where that format allows it). Never writes over ``src``; no partial files.

    Files longer than ``stream_above_s`` seconds are restored in blocks of
    :data:`BLOCK_S` seconds with :data:`MARGIN_S` seconds of context on each side.
    Returns the report (with ``input`` and ``output`` paths added).
    """
    opts = opts.validate()
    src, dst = Path(src), Path(dst)
    protect = [src]
    eaudio.format_for(dst)
    if residual is not None:
        eaudio.format_for(residual)
        if Path(residual).resolve() == dst.resolve():
            raise OutputPathError("the residual and the output must be different files")
    for p in [dst] + ([Path(residual)] if residual else []):
        if p.exists() and src.exists() and os.path.samefile(p, src):
            raise OutputPathError(f"refusing to overwrite the input '{src}': choose another output path")
    info = eaudio.info(src)
    subtype = info.subtype if Path(src).suffix.lower() == dst.suffix.lower() else None
    if info.duration <= stream_above_s:
        x, sr = eaudio.load(src)
        res = restorer.restore(x, sr, opts, progress=progress)
        eaudio.save(dst, res.audio, sr, subtype=subtype, protect=protect)
        if residual is not None:
            eaudio.save(residual, res.removed, sr, subtype=subtype, protect=protect)
        report = res.report
    else:
        if parse_speed(opts.speed) is not None:
            raise ParameterError(f"--speed works on files up to {stream_above_s:.0f} s for now; "
                                 f"'{src}' lasts {info.duration:.0f} s: split it first")
        report = restore_blocks(restorer, src, dst, info, opts, subtype=subtype, residual=residual,
                                progress=progress)
    report["metadata"] = tag_file(dst, opts.settings_text())
    report["input"] = str(src)
    report["output"] = str(dst)
    if residual is not None:
        report["residual"] = str(residual)
    return report


def restore_blocks(restorer: "Restorer", src: Path, dst: Path, info, opts: "RestoreOptions", *, subtype,
                   residual, progress: Progress | None) -> dict[str, Any]:
    """Restore a long file block by block (see the module docstring) into ``dst`` (and ``residual``).

    ``info`` is the input's :func:`echoes.core.audio.info`; user gaps are parsed once for the
    whole file and handed to each block in its own samples. Returns the merged report.
    """
    sr, n = info.sample_rate, info.frames
    out_ch = info.channels if opts.channels == "keep" else 1
    blk_opts = replace(opts, eq="flat")
    block, margin = int(BLOCK_S * sr), int(MARGIN_S * sr)
    starts = list(range(0, n, block))
    say = progress or (lambda f, d: None)
    all_user = parse_gaps(opts.gaps, sr, n_samples=n) if opts.gaps else []
    segments: list[dict] = []
    gaps: list[dict] = []
    dropouts: list[dict] = []
    clicks: list[dict] = []
    denoised: list[dict] = []
    timings: dict[str, float] = {}
    models: set[str] = set()
    highs: list[dict] = []
    peak_out = peak_res = 0.0
    t0 = time.perf_counter()
    tmpdir = tempfile.mkdtemp(prefix="echoes-", dir=str(dst.parent))
    tmp_out = Path(tmpdir) / "out.wav"
    tmp_res = Path(tmpdir) / "res.wav"
    try:
        with sf.SoundFile(tmp_out, "w", sr, out_ch, subtype="FLOAT", format="WAV") as fo, \
             (sf.SoundFile(tmp_res, "w", sr, out_ch, subtype="FLOAT", format="WAV")
              if residual is not None else _Null()) as fr:
            for k, s in enumerate(starts):
                e = min(n, s + block)
                lo, hi = max(0, s - margin), min(n, e + margin)
                x, _ = eaudio.load(src, start=lo, frames=hi - lo)
                ug = [Gap(max(g.start, lo) - lo, min(g.end, hi) - lo, sr, kind=g.kind)
                      for g in all_user if g.end > lo and g.start < hi]
                res = restorer.restore(x, sr, blk_opts, user_gaps=ug)
                core = slice(s - lo, e - lo)
                y, r = res.audio[:, core], res.removed[:, core]
                if opts.eq != "flat":  # the curve on block + context; one scaling for the file
                    y = apply_eq(res.audio, sr, opts.eq)[:, core]
                fo.write(y.T)
                fr.write(r.T)
                peak_out = max(peak_out, float(np.max(np.abs(y))))
                peak_res = max(peak_res, float(np.max(np.abs(r))) if r.size else 0.0)
                off = lo / sr
                for seg in res.report["segments"]:
                    c = off + (seg["start"] + seg["end"]) / 2
                    if s / sr <= c < e / sr:
                        segments.append({**seg, "start": round(seg["start"] + off, 3),
                                         "end": round(seg["end"] + off, 3)})
                for d in res.report.get("dropouts", []):
                    if s / sr <= d["start"] + off < e / sr:
                        dropouts.append({**d, "start": round(d["start"] + off, 6),
                                         "end": round(d["end"] + off, 6)})
                for d in res.report.get("clicks", []):
                    if s / sr <= d["start"] + off < e / sr:
                        clicks.append({**d, "start": round(d["start"] + off, 6),
                                       "end": round(d["end"] + off, 6)})
                for g in res.report["gaps"]:
                    if s <= g["start"] + lo < e:
                        gaps.append({**g, "start": g["start"] + lo, "end": g["end"] + lo,
                                     "start_s": round(g["start_s"] + off, 6),
                                     "end_s": round(g["end_s"] + off, 6),
                                     **({"donor_start_s": round(g["donor_start_s"] + off, 6),
                                         "donor_end_s": round(g["donor_end_s"] + off, 6)}
                                        if g.get("donor_start_s") is not None else {})})
                for d in res.report["denoised"]:
                    a, b = max(d["start"] + off, s / sr), min(d["end"] + off, e / sr)
                    if b > a:
                        denoised.append({"start": a, "end": b})
                if res.report.get("model"):
                    models.add(res.report["model"])
                if res.report.get("highs"):
                    highs.append({"start_s": round(s / sr, 3), "end_s": round(e / sr, 3), **res.report["highs"]})
                for key, v in res.report["timings"].items():
                    if key.endswith("_s"):
                        timings[key] = timings.get(key, 0.0) + v
                say((k + 1) / len(starts), f"block {k + 1}/{len(starts)}")
        _finalise(tmp_out, dst, sr, subtype, peak_out)
        if residual is not None:
            _finalise(tmp_res, Path(residual), sr, subtype, peak_res)
    finally:
        for f in (tmp_out, tmp_res):
            if f.exists():
                f.unlink()
        os.rmdir(tmpdir)
    thr = float(getattr(restorer.classifier, "threshold", 0.5))
    ps = np.array([sg["p_noisy"] for sg in segments]) if segments else np.zeros(1)
    p_all = float(np.percentile(ps, 75))
    total = time.perf_counter() - t0
    timings["total_s"] = total
    timings["realtime_factor"] = (n / sr) / max(total, 1e-9)
    return {
        "sample_rate": sr, "channels": out_ch, "samples": n, "duration_s": n / sr,
        "input_channels": info.channels, "input_samples": n,
        "archivist": {"channels": {"mode": opts.channels, "chosen": "per block" if opts.channels == "best"
                                   else opts.channels},
                      "speed": None, "eq": {"name": opts.eq}},
        "verdict": "noisy" if p_all >= thr or dropouts or clicks else "clean", "p_noisy": round(p_all, 6),
        "segments": segments, "dropouts": dropouts, "clicks": clicks, "denoised": merge_spans(denoised),
        "gaps": gaps,
        "denoised_fraction": sum(d["end"] - d["start"] for d in denoised) / (n / sr),
        "model": next(iter(models)) if models else None,
        "scaled_down_db": round(20 * np.log10(peak_out), 3) if peak_out > 1 else 0.0,
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "options": asdict(opts), "weights": restorer.weights_hashes, "echoes_version": __version__,
        "blocks": len(starts),
        "highs": _merge_highs(highs) if highs else None,
    }


def _merge_highs(blocks: list[dict]) -> dict:
    """The file's ``highs`` entry from the blocks' (each block decides for itself under ``auto``)."""
    done = [b for b in blocks if b["generated"]]
    return {"mode": blocks[0]["mode"], "method": blocks[0]["method"], "generated": bool(done),
            "from_hz": min(b["from_hz"] for b in done) if done else None,
            "to_hz": done[0]["to_hz"] if done else None,
            "energy_db": round(max(b["energy_db"] for b in done), 2) if done else None,
            "effective_bandwidth_hz": min(b["effective_bandwidth_hz"] for b in blocks),
            "blocks": blocks}


def tag_file(path: str | os.PathLike, text: str) -> str:
    """Record ``text`` in the file's ``comment`` tag (and ``software``) where the format allows it
    without re-encoding: WAV and AIFF in place, FLAC by a lossless rewrite. Returns where the
    settings were recorded (``comment tag`` or ``report only``)."""
    p = Path(path)
    ext = p.suffix.lower()
    try:
        if ext in (".wav", ".aiff", ".aif"):
            with sf.SoundFile(p, "r+") as f:
                f.comment = text
                f.software = f"echoes {__version__}"
            return "comment tag"
        if ext == ".flac":
            fd, part = tempfile.mkstemp(prefix=".echoes-", suffix=".flac", dir=str(p.parent))
            os.close(fd)
            try:
                with sf.SoundFile(p) as fi, sf.SoundFile(part, "w", fi.samplerate, fi.channels,
                                                         subtype=fi.subtype, format="FLAC") as fo:
                    fo.comment = text
                    fo.software = f"echoes {__version__}"
                    dtype = "int32" if fi.subtype in ("PCM_16", "PCM_24", "PCM_S8") else "float32"
                    for blk in fi.blocks(blocksize=fi.samplerate * 30, dtype=dtype, always_2d=True):
                        fo.write(blk)
                publish(part, p)
            finally:
                if os.path.exists(part):
                    os.unlink(part)
            return "comment tag"
    except (OSError, RuntimeError, ValueError, TypeError) as exc:  # tags are a courtesy; the audio is written
        log.warning("could not tag '%s': %s", p, exc)
    return "report only"


class _Null:
    """Stands in for the residual file when none is asked for: writes nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def write(self, _):
        pass


def _finalise(tmp: Path, dst: Path, sr: int, subtype: str | None, peak: float) -> None:
    """Copy a float WAV into ``dst``'s format block by block, scaling down if the peak exceeds 1."""
    fmt = eaudio.format_for(dst)
    if subtype is not None and not sf.check_format(fmt, subtype):
        subtype = None
    subtype = subtype or sf.default_subtype(fmt)
    scale = 1.0 / peak if peak > 1.0 else 1.0
    fd, part = tempfile.mkstemp(prefix=".echoes-", suffix=dst.suffix, dir=str(dst.parent))
    os.close(fd)
    try:
        with sf.SoundFile(tmp) as fi, sf.SoundFile(part, "w", sr, fi.channels, subtype=subtype, format=fmt) as fo:
            for blk in fi.blocks(blocksize=sr * 30, dtype="float32", always_2d=True):
                fo.write(blk * np.float32(scale) if scale != 1.0 else blk)
        publish(part, dst)
    except Exception as exc:
        if os.path.exists(part):
            os.unlink(part)
        raise OutputPathError(f"cannot write '{dst}': {exc}") from None


def merge_spans(spans: list[dict]) -> list[dict]:
    """Merge ``{"start", "end"}`` spans (seconds) that overlap or touch, in order of start."""
    out: list[dict] = []
    for d in sorted(spans, key=lambda d: d["start"]):
        if out and d["start"] <= out[-1]["end"] + 1e-9:
            out[-1]["end"] = max(out[-1]["end"], d["end"])
        else:
            out.append(dict(d))
    return out


def write_report(reports: list[dict], path: str | os.PathLike) -> None:
    """Write reports (one per input) as JSON, atomically."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise OutputPathError(f"cannot write the report '{p}': it is a folder; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".echoes-", suffix=".json", dir=str(folder))
    except OSError as exc:
        raise OutputPathError(f"cannot write the report '{p}': {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(reports, f, indent=2, default=json_default)
            f.write("\n")
        publish(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def json_default(o):
    """``json.dumps`` default for numpy scalars and arrays (anything else becomes a string)."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
