"""Restore whole folders: planning, manifest, local process pool and Ray.

``plan`` (which files, where each goes), ``manifest`` (the JSONL record and resuming),
``worker`` (one restorer per process or actor), ``local`` (process pool), ``ray_pool`` (Ray
actors), ``run`` (:func:`run_batch`, the driver). docs/BATCH.md has usage and measurements.
"""

from echoes.batch.manifest import read_manifest  # noqa: F401  (public API)
from echoes.batch.run import BatchSummary, run_batch  # noqa: F401  (public API)
from echoes.batch.worker import RESTORER_ENV  # noqa: F401  (public API)
