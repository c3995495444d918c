"""Local mode: a ``spawn`` process pool of batch workers fed through a bounded window.

:func:`run_local` hands every task of ``todo`` (in order) to ``workers`` processes, each with
one :class:`~echoes.batch.worker.Worker` (models loaded once), keeping at most
``workers * in_flight`` tasks submitted, so memory stays flat whatever the archive's size.
Every finished task's manifest entry goes to ``record`` in the driver, in completion order.
A worker that dies takes the pool down; the tasks it held are retried one at a time in a fresh
pool, so only a file that kills its worker alone is recorded as an error.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing as mp
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from echoes.batch.plan import Task
from echoes.batch.worker import WorkerConfig, WorkerStartError, crash_entry, pool_init, pool_run
from echoes.errors import EchoesError

log = logging.getLogger(__name__)


def run_local(todo: list[Task], cfg: WorkerConfig, record: Callable[[dict], None], *, workers: int,
              in_flight: int, started: Callable[[], None] = lambda: None) -> None:
    """Process pool with a bounded window of submitted tasks.

    When a worker process dies (out of memory, a crash inside a library) the pool breaks and
    every task in flight fails with it; those tasks become suspects and are retried one at a
    time in a fresh pool, so a file that kills its worker alone is recorded as an error and the
    innocent ones complete.
    """
    queue: list[Task] = list(reversed(todo))
    suspects: list[Task] = []
    ctx = mp.get_context("spawn")
    first = True
    while queue or suspects:
        ex = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=pool_init, initargs=(cfg,))
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
                        pending[ex.submit(pool_run, t)] = (t, True)
                    elif not suspects:
                        while queue and len(pending) < workers * in_flight:
                            t = queue.pop()
                            pending[ex.submit(pool_run, t)] = (t, False)
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
                            record(crash_entry(task, "the worker process died while restoring this file"))
                        else:
                            suspects.append(task)
                    except EchoesError as exc:
                        record(crash_entry(task, str(exc)))
                    except Exception as exc:
                        record(crash_entry(task, f"unexpected {type(exc).__name__}: {exc}"))
                if broken and not pending:
                    log.warning("a worker process died; restarting the pool")
                    break
        except BaseException:
            for f in pending:
                f.cancel()
            ex.shutdown(wait=True, cancel_futures=True)
            raise
        ex.shutdown(wait=True)
