"""``run_batch``: restore every audio file under a folder into another, resumably.

``run_batch(src_dir, out_dir)`` plans the files (:mod:`echoes.batch.plan`), skips those the
manifest proves done (:mod:`echoes.batch.manifest`), and restores the rest with the same
:class:`~echoes.api.RestoreOptions` as ``echoes restore``, on a local process pool
(:mod:`echoes.batch.local`) or Ray actors (:mod:`echoes.batch.ray_pool`), each running a
:class:`~echoes.batch.worker.Worker`. Outputs mirror the inputs' relative paths under ``out_dir``.

Invariants: inputs are never written; outputs are written atomically (temporary file, then
rename, by :func:`echoes.core.audio.save`) and the hidden temporaries a killed run left are
removed by the next one (:func:`clean_stale_temps`); a lock file (:data:`LOCK_NAME`) stops two
runs writing into one folder; the batch goes on past failures (each is a manifest line with
``status: "error"``; ``exit_status`` 1). numpy, soundfile and torch are imported inside
functions, so a pool worker sets its thread counts before any of them loads. Usage, the
manifest's fields, Ray cluster set-up and measured throughput: docs/BATCH.md.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from echoes.batch.local import run_local
from echoes.batch.manifest import MANIFEST_NAME, ManifestWriter, is_done, read_manifest
from echoes.batch.plan import Task, check_roots, plan
from echoes.batch.ray_pool import run_ray
from echoes.batch.worker import RESTORER_ENV, WorkerConfig, load_factory
from echoes.errors import OutputPathError, ParameterError

log = logging.getLogger(__name__)

LOCK_NAME = ".echoes-batch.lock"
#: Tasks queued per worker at most (backpressure).
IN_FLIGHT = 2
_TEMP_FILE = re.compile(r"^\.echoes-[A-Za-z0-9_]+\.[A-Za-z0-9]+$")
_TEMP_DIR = re.compile(r"^echoes-[a-z0-9_]{8}$")


@dataclass
class BatchSummary:
    """Counts of one run; ``throughput`` in hours of audio per hour of wall time."""

    files: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    audio_s: float = 0.0
    wall_s: float = 0.0
    manifest: str = ""
    mode: str = "local"
    workers: int = 1
    failures: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.audio_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def exit_status(self) -> int:
        return 1 if self.failed else 0


def run_batch(
    src_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    options=None,
    weights: str | os.PathLike | None = None,
    device: str = "cpu",
    workers: int | None = None,
    ray_address: str | None = None,
    manifest: str | os.PathLike | None = None,
    suffix: str | None = None,
    force: bool = False,
    threads: int = 1,
    gpus_per_worker: float | None = None,
    in_flight: int = IN_FLIGHT,
    restorer: str | None = None,
    progress: bool = True,
) -> BatchSummary:
    """Restore every audio file under ``src_dir`` into ``out_dir``; see the module docstring.

    Parameters
    ----------
    options : :class:`echoes.api.RestoreOptions` (defaults when None).
    weights : weights source, as for :class:`echoes.api.Restorer`.
    device : ``cpu``, ``cuda`` or ``auto`` (CUDA when available; in Ray mode, when the cluster
        has GPUs).
    workers : pool processes or Ray actors (default: the cores, or the GPUs in Ray mode).
    ray_address : None for local mode; ``"local"`` to start a local Ray instance of ``workers``
        CPUs; else the address of a running cluster (``"auto"``, ``"ray://host:10001"``, ...).
    manifest : JSONL manifest path (default ``out_dir/manifest.jsonl``).
    suffix : output extension such as ``".flac"`` (default: the input's).
    force : redo every file even when the manifest says it is done.
    threads : torch threads per worker.
    gpus_per_worker : Ray GPUs per actor (default 1 when the cluster has GPUs and ``device`` is
        not ``cpu``; fractions share a GPU).
    in_flight : tasks queued per worker at most.
    restorer : restorer factory hook (``module:attr`` or ``file.py:attr``); default the
        environment variable :data:`RESTORER_ENV`, else :class:`echoes.api.Restorer`.
    progress : show a tqdm bar on stderr.

    Returns
    -------
    BatchSummary ; ``exit_status`` is 1 when any file failed in this run.
    """
    from echoes.restore.pipeline import RestoreOptions

    opts = (options or RestoreOptions()).validate()
    if workers is not None and int(workers) < 1:
        raise ParameterError(f"--workers must be at least 1, not {workers}")
    if int(threads) < 1:
        raise ParameterError(f"threads must be at least 1, not {threads}")
    if int(in_flight) < 1:
        raise ParameterError(f"in_flight must be at least 1, not {in_flight}")
    if device not in ("cpu", "cuda", "auto") and not str(device).startswith("cuda:"):
        raise ParameterError(f"--device must be cpu, cuda or auto, not '{device}'")
    if suffix is not None:
        suffix = suffix if suffix.startswith(".") else "." + suffix
        from echoes.core.audio import format_for

        format_for("x" + suffix)
    spec = restorer if restorer is not None else (os.environ.get(RESTORER_ENV) or None)
    src, out = check_roots(src_dir, out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"cannot make the output folder '{out_dir}': {exc.strerror}") from None
    man_path = Path(manifest).expanduser().resolve() if manifest else out / MANIFEST_NAME
    if man_path.is_relative_to(src):
        raise OutputPathError("the manifest may not be written inside the source folder")

    t_start = time.perf_counter()
    with _Lock(out / LOCK_NAME):
        stale = clean_stale_temps(out)
        if stale:
            log.warning("removed %d temporary file(s) left by an interrupted run", stale)
        # The driver's view of the weights: every worker must see the same hashes.
        wsrc = _weights_for_workers(weights)
        driver = load_factory(spec)(weights=wsrc, device="cpu")
        wh = dict(getattr(driver, "weights_hashes", {}) or {})
        del driver
        opt_dict = json.loads(json.dumps(asdict(opts)))
        tasks = plan(src, out, suffix=suffix)
        previous = {} if force else read_manifest(man_path, slim=True)
        todo = _pending(tasks, previous, options=opt_dict, weights=wh)
        summary = BatchSummary(files=len(tasks), skipped=len(tasks) - len(todo), manifest=str(man_path))
        log.info("%d audio file(s) under %s: %d to do, %d already done", len(tasks), src, len(todo), summary.skipped)
        if not todo:
            summary.wall_s = time.perf_counter() - t_start
            return summary
        cfg = WorkerConfig(options=asdict(opts), weights=wsrc, device=device, threads=threads,
                           restorer=spec, expect_weights=wh)
        bar = _Progress(sum(t.duration_s for t in todo), len(todo), progress)
        t_work = time.perf_counter()
        try:
            with ManifestWriter(man_path) as writer:
                def record(entry: dict[str, Any]) -> None:
                    writer.write(entry)
                    ok = entry.get("status") == "ok"
                    if ok:
                        summary.ok += 1
                        summary.audio_s += float(entry.get("duration_s") or 0.0)
                    else:
                        summary.failed += 1
                        summary.failures.append(f"{entry['rel']}: {entry.get('error')}")
                        log.info("%s failed: %s", entry["rel"], entry.get("error"))
                    bar.update(float(entry.get("duration_s") or 0.0), ok)

                if ray_address:
                    summary.mode = "ray"
                    summary.workers = run_ray(todo, cfg, record, address=ray_address, workers=workers,
                                              gpus_per_worker=gpus_per_worker, in_flight=in_flight,
                                              started=bar.start)
                else:
                    n = int(workers or os.cpu_count() or 1)
                    if cfg.device == "auto":
                        cfg.device = "cuda" if _cuda_available() else "cpu"
                    summary.workers = min(n, len(todo))
                    run_local(todo, cfg, record, workers=summary.workers, in_flight=in_flight,
                              started=bar.start)
        finally:
            bar.close()
        summary.wall_s = time.perf_counter() - t_work
    log.info("done: %d ok, %d failed, %d skipped; %.3f h of audio in %.1f s (%.1f h/h)", summary.ok,
             summary.failed, summary.skipped, summary.audio_s / 3600, summary.wall_s, summary.throughput)
    return summary


def _weights_for_workers(weights: str | os.PathLike | None) -> str | None:
    """A weights source every worker resolves the same way: a Hub source as given, else the
    absolute folder the driver sees (workers may run from a copy of the package)."""
    if weights is not None and str(weights).startswith("hf://"):
        return str(weights)
    from echoes.core.hub import resolve_weights

    return str(resolve_weights(weights).resolve())


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # pragma: no cover
        return False


def _pending(tasks: list[Task], previous: dict[str, dict], *, options: dict, weights: dict) -> list[Task]:
    """Tasks not proven done by the manifest (inputs and outputs hashed on a few threads)."""
    cand = [t for t in tasks if previous.get(t.rel, {}).get("status") == "ok"]
    if not cand:
        return list(tasks)
    with cf.ThreadPoolExecutor(max_workers=4) as ex:
        flags = list(ex.map(lambda t: is_done(t, previous[t.rel], options=options, weights=weights), cand))
    done = {t.rel: f for t, f in zip(cand, flags, strict=True)}
    return [t for t in tasks if not done.get(t.rel, False)]


def clean_stale_temps(out: Path) -> int:
    """Remove the temporary files and folders a killed run left in ``out``; returns the count."""
    from echoes.core.audio import EXTENSIONS

    n = 0
    for root, dirs, files in os.walk(out, followlinks=False):
        for name in files:
            if _TEMP_FILE.match(name) and name != LOCK_NAME and Path(name).suffix.lower() in EXTENSIONS:
                try:
                    os.unlink(Path(root) / name)
                    n += 1
                except OSError:
                    pass
        for d in list(dirs):
            p = Path(root) / d
            if _TEMP_DIR.match(d) and not p.is_symlink():
                inside = os.listdir(p)
                if set(inside) <= {"out.wav", "res.wav"}:
                    for f in inside:
                        os.unlink(p / f)
                    os.rmdir(p)
                    dirs.remove(d)
                    n += 1
    return n


class _Lock:
    """An exclusive lock file in the output folder (POSIX ``flock``; a no-op elsewhere)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = None

    def __enter__(self) -> "_Lock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        self._f = open(self.path, "a")
        try:
            fcntl.flock(self._f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._f.close()
            self._f = None
            raise OutputPathError(
                f"another 'echoes batch' is writing into '{self.path.parent}'; wait for it or choose another folder"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        if self._f is not None:
            self._f.close()


class _Progress:
    """tqdm bar in hours of audio (so the time left follows audio, not file counts)."""

    def __init__(self, total_s: float, files: int, enabled: bool) -> None:
        self.files, self.done, self.failed = files, 0, 0
        self.bar = None
        if enabled and files:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total_s / 3600, unit="h", desc="starting workers", file=sys.stderr,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.3f}/{total:.3f} h of audio "
                           "[{elapsed}<{remaining}]{postfix}",
            )
            self._post()

    def start(self) -> None:
        """Restart the clock once the workers are up, so the time left ignores start-up."""
        if self.bar is not None:
            self.bar.set_description_str("restoring", refresh=False)
            self.bar.reset(total=self.bar.total)
            self._post()

    def _post(self) -> None:
        if self.bar is not None:
            extra = f", {self.failed} failed" if self.failed else ""
            self.bar.set_postfix_str(f"files {self.done}/{self.files}{extra}", refresh=False)

    def update(self, seconds: float, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if self.bar is not None:
            self.bar.update(min(seconds / 3600, self.bar.total - self.bar.n))
            self._post()
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
