"""A batch worker: loads the models once, then restores one :class:`~echoes.batch.plan.Task` at a time.

The same :class:`Worker` runs in a local pool process (made by :func:`pool_init`, used by
:func:`pool_run`) and as a Ray actor. It never raises for a bad file: :meth:`Worker.run` returns
a manifest entry (:func:`base_entry` plus the outcome) with ``status`` ``"ok"`` or ``"error"``.
A worker that cannot build its restorer (weights, device) makes every task raise
:class:`WorkerStartError`, which stops the whole batch.

Threads: the worker sets ``OMP/OPENBLAS/MKL_NUM_THREADS`` to ``threads`` before numpy and torch
load (they are imported on first use in this package) and pins torch to ``threads`` threads, so
results do not depend on the pool size.

Hook for tests and benchmarks: ``restorer="module:attr"`` or ``"path/to/file.py:attr"`` (or the
environment variable :data:`RESTORER_ENV`) names a callable ``f(*, weights, device)`` used instead
of :class:`echoes.api.Restorer`; it returns an object with ``restore_file(src, dst, options)``
and a ``weights_hashes`` dict.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import socket
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from echoes import __version__
from echoes.batch.plan import Task
from echoes.core.files import sha256_file
from echoes.errors import EchoesError, ParameterError

log = logging.getLogger(__name__)

#: Environment variable naming a restorer factory (``module:attr`` or ``file.py:attr``).
RESTORER_ENV = "ECHOES_BATCH_RESTORER"


def load_factory(spec: str | None) -> Callable[..., Any]:
    """The restorer factory named by ``spec`` (``module:attr`` or ``file.py:attr``), or
    :class:`echoes.api.Restorer` when ``spec`` is empty."""
    if not spec:
        from echoes.restore.pipeline import Restorer

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
        from echoes.restore.pipeline import RestoreOptions

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
        """Restore one task; never raises for a bad file (the entry says ``status: error``).

        The entry carries both sha256 hashes, the restorer's report and per-step timings."""
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


def crash_entry(task: Task, why: str) -> dict[str, Any]:
    """The entry of a task whose worker died or whose future failed (the driver writes it)."""
    e = base_entry(task)
    e.update(status="error", error=why, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return e


# One restorer per pool process, made by the pool's initializer (the standard pattern for
# per-process state in a process pool; nothing else uses it).
_POOL_WORKER: Worker | None = None
_POOL_ERROR: str | None = None


def pool_init(cfg: WorkerConfig) -> None:
    """Process-pool initializer: build this process's :class:`Worker` (or remember why not)."""
    global _POOL_WORKER, _POOL_ERROR
    try:
        _POOL_WORKER = Worker(cfg)
    except Exception as exc:  # reported on every task, so the user sees why
        _POOL_ERROR = str(exc) if isinstance(exc, EchoesError) else f"{type(exc).__name__}: {exc}"


class WorkerStartError(EchoesError):
    """A worker could not build its restorer (weights, device): the whole batch stops."""


def pool_run(task: Task) -> dict[str, Any]:
    """Process-pool task: restore ``task`` on this process's worker."""
    if _POOL_WORKER is None:
        raise WorkerStartError(f"a worker could not load the models: {_POOL_ERROR}")
    return _POOL_WORKER.run(task)
