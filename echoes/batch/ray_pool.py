"""Ray mode: one Ray actor per worker (models loaded once each), fed through a bounded window.

:func:`run_ray` starts Ray (``address="local"``: a local instance of ``workers * threads`` CPUs;
else a running cluster, checked for reachability first) unless it is already initialised, ships
the ``echoes`` package folder to the workers (``runtime_env`` ``py_modules``), and runs one
:class:`~echoes.batch.worker.Worker` actor per worker, with ``gpus_per_worker`` GPUs each (1 by
default when the cluster has GPUs and the device is not ``cpu``). At most ``in_flight`` tasks
are queued per actor. Audio never travels through Ray: workers read and write the files
themselves, so ``src_dir`` and ``out_dir`` must be on a file system every node sees at the same
path. An actor that dies is replaced once; its tasks are retried alone on an idle actor, so only
a file that kills its actor alone is recorded as an error. Ray is imported on first use
(``pip install 'echoes[cluster]'``).
"""

from __future__ import annotations

import logging
import os
import re
import socket
from pathlib import Path
from typing import Any, Callable

from echoes.batch.plan import Task
from echoes.batch.worker import Worker, WorkerConfig, crash_entry
from echoes.errors import EchoesError, ParameterError

log = logging.getLogger(__name__)


def import_ray():
    """Import ray, or explain how to install it."""
    try:
        import ray
    except ImportError:
        raise EchoesError(
            "--ray needs Ray, which is not installed: pip install 'echoes[cluster]' (or pip install 'ray[data]')"
        ) from None
    return ray


def run_ray(todo: list[Task], cfg: WorkerConfig, record: Callable[[dict], None], *, address: str,
            workers: int | None, gpus_per_worker: float | None, in_flight: int,
            started: Callable[[], None] = lambda: None) -> int:
    """Ray actors (one per worker, models loaded once each) fed through a bounded window.

    Returns the number of actors; refuses worker counts the cluster's CPUs or GPUs cannot hold."""
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
            check_reachable(address)
            try:
                ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING,
                         log_to_driver=False)
            except Exception as exc:  # ConnectionError, RuntimeError, ValueError by Ray version
                raise EchoesError(f"cannot reach the Ray cluster at '{address}': {ray_cause(exc)}") from None
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
            raise EchoesError(f"the Ray workers could not load the models: {ray_cause(exc)}") from None
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
                        log.warning("Ray worker %d died (%s); starting another", k, ray_cause(exc))
                        actors[k] = actor_cls.remote(cfg)
                    if solo:
                        record(crash_entry(task, f"the Ray worker died while restoring this file: {ray_cause(exc)}"))
                    else:
                        suspects.append(task)
                except Exception as exc:
                    record(crash_entry(task, f"Ray task failed: {ray_cause(exc)}"))
        return n
    finally:
        if owns_ray:
            ray.shutdown()


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
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


def ray_cause(exc: BaseException) -> str:
    """The last line of a Ray exception's message (the cause a user can act on)."""
    msg = str(exc).strip().splitlines()
    return msg[-1] if msg else type(exc).__name__
