"""Whole archives: restore every audio file under a folder, resumably, with a JSONL manifest.

``run_batch(src_dir, out_dir)`` walks ``src_dir`` for audio (:data:`echoes.core.audio.EXTENSIONS`,
hidden files and folders skipped, symbolic links to folders not followed), restores each file
with :meth:`echoes.api.Restorer.restore_file` and the same :class:`~echoes.api.RestoreOptions` as
``echoes restore``, and writes it into ``out_dir`` under the same relative path. Every finished
file (restored or failed) appends one JSON line to the manifest (``out_dir/manifest.jsonl`` by
default), written by the driver alone, flushed and fsync'ed line by line.

Safety
------
- ``out_dir`` may not be ``src_dir``, inside it, or hold it; every output path is resolved and
  must stay inside ``out_dir`` (a symbolic link out of it is refused); inputs are never written.
- Outputs are written atomically (temporary file, then rename, by :func:`echoes.core.audio.save`), so
  a killed run leaves no partial file under a final name. A later run removes the hidden
  temporary files a killed one left behind. A lock file stops two runs writing into one folder.
- The batch goes on past failures; each failure is a manifest line with ``status: "error"``.

Resuming
--------
A rerun skips a file when its latest manifest entry has ``status: "ok"``, the same options and
weights hashes, its output exists, and the sha256 of both the input and the output match the
entry. Everything else is (re)done. A torn last manifest line (a run killed mid-write) is
dropped. Only the latest entry of each input counts.

Execution
---------
Local mode (default): a process pool (``spawn``) of ``workers`` processes, each loading the models
once and running torch on ``threads`` threads (1 by default, so results do not depend on the
pool size). Ray mode (``ray_address="local"`` or a cluster address; ``pip install
echoes[cluster]``): one Ray actor per worker, each loading the models once, with a GPU each when
the cluster has GPUs; at most ``in_flight`` tasks per actor are queued, so memory stays flat
whatever the archive's size. Audio never travels through Ray: workers read and write the files
themselves, so on a cluster ``src_dir`` and ``out_dir`` must be on a file system every node sees
at the same path.

Hook for tests and benchmarks
-----------------------------
``restorer="module:attr"`` or ``"path/to/file.py:attr"`` (or the environment variable
:data:`RESTORER_ENV`) names a callable ``f(*, weights, device)`` used instead of
:class:`~echoes.api.Restorer`; it must return an object with ``restore_file(src, dst, options)``
and a ``weights_hashes`` dict.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import importlib
import importlib.util
import json
import logging
import multiprocessing as mp
import os
import re
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from echoes import __version__
from echoes.errors import EchoesError, OutputPathError, ParameterError

log = logging.getLogger(__name__)

# numpy, soundfile and torch are imported inside functions: a pool worker then sets its thread
# counts (OMP/OpenBLAS/MKL) before any of them loads.

MANIFEST_NAME = "manifest.jsonl"
LOCK_NAME = ".echoes-batch.lock"
#: Environment variable naming a restorer factory (``module:attr`` or ``file.py:attr``).
RESTORER_ENV = "ECHOES_BATCH_RESTORER"
#: Tasks queued per worker at most (backpressure).
IN_FLIGHT = 2
_TEMP_FILE = re.compile(r"^\.echoes-[A-Za-z0-9_]+\.[A-Za-z0-9]+$")
_TEMP_DIR = re.compile(r"^echoes-[a-z0-9_]{8}$")


# -- planning ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One file to restore. ``rel``: POSIX path relative to the source folder (the manifest key);
    ``src``/``dst``: absolute paths; ``duration_s``: from the header (0 when unreadable)."""

    rel: str
    src: str
    dst: str
    duration_s: float = 0.0


def check_roots(src_dir: str | os.PathLike, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Resolve both folders and refuse overlapping ones. Returns ``(src, out)``, absolute."""
    src = Path(src_dir).expanduser().resolve()
    out = Path(out_dir).expanduser().resolve()
    if not src.exists():
        raise ParameterError(f"the source folder '{src_dir}' does not exist")
    if not src.is_dir():
        raise ParameterError(f"'{src_dir}' is a file; batch takes a folder (use 'echoes restore' for files)")
    if out == src:
        raise OutputPathError("the output folder is the source folder: choose another one (inputs are never overwritten)")
    if out.is_relative_to(src):
        raise OutputPathError(f"the output folder '{out_dir}' is inside the source folder '{src_dir}': choose one outside it")
    if src.is_relative_to(out):
        raise OutputPathError(f"the source folder '{src_dir}' is inside the output folder '{out_dir}': choose folders apart")
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"'{out_dir}' is a file; the output must be a folder")
    return src, out


def find_audio(src: Path) -> list[Path]:
    """Audio files under ``src``, sorted; hidden names skipped, folder links not followed."""
    found: list[Path] = []
    from echoes.core.audio import EXTENSIONS

    exts = {e.lower() for e in EXTENSIONS}
    for root, dirs, files in os.walk(src, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in exts:
                continue
            found.append(Path(root) / name)
    return found


def output_path(src: Path, out: Path, file: Path, *, suffix: str | None = None) -> Path:
    """Where ``file`` (under ``src``) goes under ``out``; refuses paths that leave ``out``."""
    rel = file.relative_to(src)
    if rel.is_absolute() or ".." in rel.parts:
        raise OutputPathError(f"'{file}' is not inside the source folder")
    dst = out / rel
    if suffix:
        dst = dst.with_suffix(suffix)
    real = dst.resolve()  # follows any link already in OUT_DIR
    if not real.is_relative_to(out):
        raise OutputPathError(f"the output for '{rel}' would be written outside the output folder ('{real}')")
    return dst


def plan(src: Path, out: Path, *, suffix: str | None = None) -> list[Task]:
    """Tasks for every audio file under ``src`` (see :func:`check_roots`, :func:`find_audio`)."""
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for f in find_audio(src):
        dst = output_path(src, out, f, suffix=suffix)
        rel = f.relative_to(src).as_posix()
        if str(dst) in seen:
            raise OutputPathError(
                f"'{seen[str(dst)]}' and '{rel}' would both be written to '{dst.relative_to(out)}'"
            )
        seen[str(dst)] = rel
        try:
            dur = audio_info(f).duration
        except EchoesError:
            dur = 0.0
        tasks.append(Task(rel, str(f), str(dst), dur))
    return tasks


def audio_info(path: str | os.PathLike):
    """:func:`echoes.core.audio.info` (imported on first use)."""
    from echoes.core.audio import info

    return info(path)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- manifest ---------------------------------------------------------------------------------
#: The fields resuming needs (``read_manifest(slim=True)`` keeps only these).
RESUME_FIELDS = ("status", "input_sha256", "output", "output_sha256", "options", "weights")


def read_manifest(path: str | os.PathLike, *, slim: bool = False) -> dict[str, dict[str, Any]]:
    """The latest entry of each input (key ``rel``). Lines that do not parse (a torn last line
    of a killed run) are skipped with a warning. ``slim`` keeps only :data:`RESUME_FIELDS`, with
    equal ``options``/``weights`` dicts shared, so a manifest of a million files fits in memory."""
    p = Path(path)
    entries: dict[str, dict[str, Any]] = {}
    if not p.exists():
        return entries
    shared: dict[str, Any] = {}
    with open(p, "rb") as f:
        for k, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                e = json.loads(raw)
                rel = str(e["rel"])
            except (ValueError, KeyError, TypeError):
                log.warning("%s line %d is not a complete entry (an interrupted run?): ignored", p, k)
                continue
            if slim:
                e = {key: e.get(key) for key in RESUME_FIELDS}
                for key in ("options", "weights"):
                    j = json.dumps(e[key], sort_keys=True)
                    e[key] = shared.setdefault(j, e[key])
            entries[rel] = e
    return entries


class ManifestWriter:
    """Append-only JSONL writer: one line per entry, flushed and fsync'ed each time.

    On opening, a torn last line (no final newline and not valid JSON) is cut off; a valid
    last line without its newline gets one.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self._f = open(self.path, "ab")

    def _repair(self) -> None:
        if not self.path.exists():
            return
        size = self.path.stat().st_size
        if size == 0:
            return
        with open(self.path, "r+b") as f:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            # find the start of the last line, reading backwards (the file may be large)
            cut, pos, chunk = 0, size, 1 << 16
            while pos > 0:
                lo = max(0, pos - chunk)
                f.seek(lo)
                i = f.read(pos - lo).rfind(b"\n")
                if i >= 0:
                    cut = lo + i + 1
                    break
                pos = lo
            f.seek(cut)
            try:
                json.loads(f.read())
                f.seek(size)
                f.write(b"\n")
            except ValueError:
                log.warning("%s ends with a torn line (an interrupted run): removing it", self.path)
                f.truncate(cut)
            f.flush()
            os.fsync(f.fileno())

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, default=_json_default, separators=(",", ":")) + "\n"
        self._f.write(line.encode())
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "ManifestWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


# -- workers ----------------------------------------------------------------------------------
def load_factory(spec: str | None) -> Callable[..., Any]:
    """The restorer factory named by ``spec`` (``module:attr`` or ``file.py:attr``), or
    :class:`echoes.api.Restorer` when ``spec`` is empty."""
    if not spec:
        from echoes.api import Restorer

        return Restorer
    mod_name, sep, attr = str(spec).rpartition(":")
    if not sep or not mod_name or not attr:
        raise ParameterError(f"restorer '{spec}' must look like module:attr or path/file.py:attr")
    try:
        if mod_name.endswith(".py"):
            name = "_echoes_restorer_" + re.sub(r"\W", "_", str(Path(mod_name).resolve()))
            if name in sys.modules:
                mod = sys.modules[name]
            else:
                s = importlib.util.spec_from_file_location(name, mod_name)
                if s is None or s.loader is None:
                    raise ImportError(mod_name)
                mod = importlib.util.module_from_spec(s)
                sys.modules[name] = mod
                s.loader.exec_module(mod)
        else:
            mod = importlib.import_module(mod_name)
        return getattr(mod, attr)
    except (ImportError, AttributeError, OSError) as exc:
        raise ParameterError(f"cannot load the restorer '{spec}': {exc}") from None


@dataclass
class WorkerConfig:
    """What a worker needs to build its restorer (picklable)."""

    options: dict[str, Any]
    weights: str | None = None
    device: str = "cpu"
    threads: int = 1
    restorer: str | None = None
    expect_weights: dict[str, str] | None = None


class Worker:
    """Loads the models once and restores tasks one after another (a pool process or a Ray actor)."""

    def __init__(self, cfg: WorkerConfig) -> None:
        self.threads = max(1, int(cfg.threads))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # read when they load
            os.environ[var] = str(self.threads)
        self._set_torch_threads()
        from echoes.api import RestoreOptions

        self.options = RestoreOptions(**cfg.options).validate()
        self.restorer = load_factory(cfg.restorer)(weights=cfg.weights, device=cfg.device)
        if isinstance(getattr(type(self.restorer), "classifier", None), property):
            _ = self.restorer.classifier  # load it now: a weights problem stops the batch at once
        self._set_torch_threads()
        self.weights = dict(getattr(self.restorer, "weights_hashes", {}) or {})
        if cfg.expect_weights is not None and self.weights != cfg.expect_weights:
            raise EchoesError(
                f"this worker ({socket.gethostname()}) sees other weights than the driver: "
                f"{self.weights} instead of {cfg.expect_weights}; give every node the same --weights"
            )
        self.host = socket.gethostname()

    def _set_torch_threads(self) -> None:
        """Pin torch to ``threads`` threads once torch is imported (results then do not depend
        on how many workers share the machine)."""
        torch = sys.modules.get("torch")
        if torch is not None and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

    def ready(self) -> bool:
        return True

    def run(self, task: Task) -> dict[str, Any]:
        """Restore one task; never raises for a bad file (the entry says ``status: error``)."""
        t0 = time.perf_counter()
        entry = base_entry(task)
        entry.update(weights=self.weights, options=asdict(self.options), host=self.host, pid=os.getpid())
        try:
            entry["input_sha256"] = sha256_file(task.src)
            t_hash = time.perf_counter() - t0
            dst = Path(task.dst)
            dst.parent.mkdir(parents=True, exist_ok=True)
            self._set_torch_threads()
            rep = self.restorer.restore_file(task.src, dst, self.options)
            entry["output_sha256"] = sha256_file(dst)
            entry.update(
                status="ok",
                verdict=rep.get("verdict"),
                p_noisy=rep.get("p_noisy"),
                duration_s=rep.get("duration_s", task.duration_s),
                sample_rate=rep.get("sample_rate"),
                channels=rep.get("channels"),
                denoised_fraction=rep.get("denoised_fraction"),
                gaps=rep.get("gaps", []),
                scaled_down_db=rep.get("scaled_down_db", 0.0),
                timings={**rep.get("timings", {}), "hash_s": round(t_hash, 4)},
            )
        except EchoesError as exc:
            entry.update(status="error", error=str(exc))
        except Exception as exc:  # a bug on one file must not stop the archive
            log.debug("unexpected failure on %s", task.src, exc_info=True)
            entry.update(status="error", error=f"unexpected {type(exc).__name__}: {exc}")
        entry.setdefault("timings", {})["wall_s"] = round(time.perf_counter() - t0, 4)
        entry["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return entry


def base_entry(task: Task) -> dict[str, Any]:
    """The manifest fields every entry has, before the outcome is known."""
    return {
        "rel": task.rel, "input": task.src, "input_sha256": None, "output": task.dst,
        "output_sha256": None, "status": "error", "error": None, "verdict": None, "p_noisy": None,
        "duration_s": task.duration_s, "gaps": [], "timings": {}, "weights": None, "options": None,
        "echoes_version": __version__,
    }


# One restorer per pool process, made by the pool's initializer (the standard pattern for
# per-process state in a process pool; nothing else uses it).
_POOL_WORKER: Worker | None = None
_POOL_ERROR: str | None = None


def _pool_init(cfg: WorkerConfig) -> None:
    global _POOL_WORKER, _POOL_ERROR
    try:
        _POOL_WORKER = Worker(cfg)
    except Exception as exc:  # reported on every task, so the user sees why
        _POOL_ERROR = str(exc) if isinstance(exc, EchoesError) else f"{type(exc).__name__}: {exc}"


class WorkerStartError(EchoesError):
    """A worker could not build its restorer (weights, device): the whole batch stops."""


def _pool_run(task: Task) -> dict[str, Any]:
    if _POOL_WORKER is None:
        raise WorkerStartError(f"a worker could not load the models: {_POOL_ERROR}")
    return _POOL_WORKER.run(task)


# -- the batch --------------------------------------------------------------------------------
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


def is_done(task: Task, entry: dict[str, Any] | None, *, options: dict, weights: dict) -> bool:
    """Whether ``entry`` proves ``task`` was restored with these options and weights and that
    neither the input nor the output changed since (hashes both files)."""
    if not entry or entry.get("status") != "ok":
        return False
    if entry.get("options") != options or entry.get("weights") != weights:
        return False
    if not entry.get("output_sha256") or not entry.get("input_sha256"):
        return False
    dst = Path(task.dst)
    if not dst.is_file():
        return False
    try:
        return sha256_file(dst) == entry["output_sha256"] and sha256_file(task.src) == entry["input_sha256"]
    except OSError:
        return False


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
    from echoes.api import RestoreOptions

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
                    summary.workers = _run_ray(todo, cfg, record, address=ray_address, workers=workers,
                                               gpus_per_worker=gpus_per_worker, in_flight=in_flight,
                                               started=bar.start)
                else:
                    n = int(workers or os.cpu_count() or 1)
                    if cfg.device == "auto":
                        cfg.device = "cuda" if _cuda_available() else "cpu"
                    summary.workers = min(n, len(todo))
                    _run_local(todo, cfg, record, workers=summary.workers, in_flight=in_flight,
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


def _crash_entry(task: Task, why: str) -> dict[str, Any]:
    e = base_entry(task)
    e.update(status="error", error=why, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return e


def _run_local(todo: list[Task], cfg: WorkerConfig, record: Callable[[dict], None], *, workers: int,
               in_flight: int, started: Callable[[], None] = lambda: None) -> None:
    """Process pool with a bounded window of submitted tasks.

    When a worker process dies (out of memory, a crash inside a library) the pool breaks and
    every task in flight fails with it; those tasks become suspects and are retried one at a
    time in a fresh pool, so a file that kills its worker alone is recorded as an error and the
    innocent ones complete.
    """
    from concurrent.futures.process import BrokenProcessPool

    queue: list[Task] = list(reversed(todo))
    suspects: list[Task] = []
    ctx = mp.get_context("spawn")
    first = True
    while queue or suspects:
        ex = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_pool_init, initargs=(cfg,))
        pending: dict[cf.Future, tuple[Task, bool]] = {}  # future -> (task, running alone)
        broken = False
        if first:
            started()
            first = False
        try:
            while True:
                if not broken:
                    if suspects and not pending:
                        t = suspects.pop()
                        pending[ex.submit(_pool_run, t)] = (t, True)
                    elif not suspects:
                        while queue and len(pending) < workers * in_flight:
                            t = queue.pop()
                            pending[ex.submit(_pool_run, t)] = (t, False)
                if not pending:
                    break
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    task, alone = pending.pop(fut)
                    try:
                        record(fut.result())
                    except WorkerStartError:
                        raise
                    except BrokenProcessPool:
                        broken = True
                        if alone:
                            record(_crash_entry(task, "the worker process died while restoring this file"))
                        else:
                            suspects.append(task)
                    except EchoesError as exc:
                        record(_crash_entry(task, str(exc)))
                    except Exception as exc:
                        record(_crash_entry(task, f"unexpected {type(exc).__name__}: {exc}"))
                if broken and not pending:
                    log.warning("a worker process died; restarting the pool")
                    break
        except BaseException:
            for f in pending:
                f.cancel()
            ex.shutdown(wait=True, cancel_futures=True)
            raise
        ex.shutdown(wait=True)


def import_ray():
    """Import ray, or explain how to install it."""
    try:
        import ray
    except ImportError:
        raise EchoesError(
            "--ray needs Ray, which is not installed: pip install 'echoes[cluster]' (or pip install 'ray[data]')"
        ) from None
    return ray


def _run_ray(todo: list[Task], cfg: WorkerConfig, record: Callable[[dict], None], *, address: str,
             workers: int | None, gpus_per_worker: float | None, in_flight: int,
             started: Callable[[], None] = lambda: None) -> int:
    """Ray actors (one per worker, models loaded once each) fed through a bounded window."""
    ray = import_ray()
    owns_ray = False
    if not ray.is_initialized():
        pkg = str(Path(__file__).resolve().parents[1])  # the echoes package
        runtime_env = {"py_modules": [pkg], "env_vars": {"OMP_NUM_THREADS": str(cfg.threads)}}
        if address == "local":
            n = int(workers) * cfg.threads if workers else int(os.cpu_count() or 1)
            ray.init(address="local", num_cpus=n, include_dashboard=False, runtime_env=runtime_env,
                     logging_level=logging.WARNING, log_to_driver=False)
        else:
            _check_reachable(address)
            try:
                ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING,
                         log_to_driver=False)
            except Exception as exc:  # ConnectionError, RuntimeError, ValueError by Ray version
                raise EchoesError(f"cannot reach the Ray cluster at '{address}': {_ray_cause(exc)}") from None
        owns_ray = True
    try:
        res = ray.cluster_resources()
        cpus, gpus = float(res.get("CPU", 1)), float(res.get("GPU", 0))
        gpw = gpus_per_worker
        if gpw is None:
            gpw = 1.0 if gpus > 0 and cfg.device != "cpu" else 0.0
        if gpw > 0 and gpus <= 0:
            raise ParameterError("GPU workers were asked for, but the Ray cluster has no GPUs")
        if cfg.device == "auto":
            cfg.device = "cuda" if gpw > 0 else "cpu"
        n = int(workers) if workers else max(1, int(gpus // gpw) if gpw > 0 else int(cpus // max(cfg.threads, 1)))
        n = min(n, len(todo))
        if gpw > 0 and n * gpw > gpus + 1e-9:
            raise ParameterError(
                f"{n} workers with {gpw:g} GPU each need {n * gpw:g} GPUs; the Ray cluster has {gpus:g}: "
                "give fewer --workers or a fraction such as --gpus-per-worker 0.25"
            )
        if n * cfg.threads > cpus + 1e-9:
            raise ParameterError(
                f"{n} workers with {cfg.threads} CPU each need {n * cfg.threads} CPUs; the Ray cluster has "
                f"{cpus:g}: give fewer --workers"
            )
        actor_cls = ray.remote(num_cpus=cfg.threads, num_gpus=gpw)(Worker)
        log.info("Ray: %d actor(s) on %g CPU(s), %g GPU(s) (%g GPU each)", n, cpus, gpus, gpw)
        actors = [actor_cls.remote(cfg) for _ in range(n)]
        try:
            ray.get([a.ready.remote() for a in actors])
        except Exception as exc:
            raise EchoesError(f"the Ray workers could not load the models: {_ray_cause(exc)}") from None
        started()
        queue: list[Task] = list(reversed(todo))
        suspects: list[Task] = []  # tasks on an actor that died: retried alone on an idle actor
        load = [0] * n
        alone = [False] * n
        pending: dict[Any, tuple[Task, int, Any, bool]] = {}
        while queue or suspects or pending:
            while suspects:
                idle = [k for k in range(n) if load[k] == 0]
                if not idle:
                    break
                t, k = suspects.pop(), idle[0]
                pending[actors[k].run.remote(t)] = (t, k, actors[k], True)
                load[k], alone[k] = 1, True
            while queue:
                free = [k for k in range(n) if not alone[k] and load[k] < in_flight]
                if not free or (suspects and all(load[k] > 0 for k in range(n))):
                    break
                k = min(free, key=load.__getitem__)
                t = queue.pop()
                pending[actors[k].run.remote(t)] = (t, k, actors[k], False)
                load[k] += 1
            if not pending:
                continue
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task, k, actor, solo = pending.pop(ref)
                load[k] -= 1
                if solo:
                    alone[k] = False
                try:
                    record(ray.get(ref))
                except ray.exceptions.RayActorError as exc:
                    if actors[k] is actor:  # replace it once, however many of its tasks failed
                        log.warning("Ray worker %d died (%s); starting another", k, _ray_cause(exc))
                        actors[k] = actor_cls.remote(cfg)
                    if solo:
                        record(_crash_entry(task, f"the Ray worker died while restoring this file: {_ray_cause(exc)}"))
                    else:
                        suspects.append(task)
                except Exception as exc:
                    record(_crash_entry(task, f"Ray task failed: {_ray_cause(exc)}"))
        return n
    finally:
        if owns_ray:
            ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a ``host:port`` (or ``ray://host:port``) that does not answer: Ray itself
    retries for minutes. Other forms (``auto``, ``local``) are left to Ray."""
    m = re.match(r"^(?:ray://)?\[?([^\]\s/]+?)\]?:(\d+)$", address.strip())
    if not m:
        return
    host, port = m.group(1), int(m.group(2))
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise EchoesError(
            f"cannot reach the Ray cluster at '{address}' ({exc.strerror or exc}); is 'ray start --head' "
            f"running there, and is port {port} open?"
        ) from None


def _ray_cause(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return msg[-1] if msg else type(exc).__name__
