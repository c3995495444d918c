"""The public library API: one facade that the CLI, the app, batch work and evaluation share.

:class:`Restorer` loads the models once and restores arrays (:meth:`Restorer.restore`) or files
of any length (:meth:`Restorer.restore_file`); :class:`RestoreOptions` says what to do and
:class:`RestoreResult` holds the audio, what was removed, and a report. The chain and its
contract are in :mod:`echoes.restore.pipeline`, file handling in :mod:`echoes.restore.files`.

Example
-------
>>> from echoes.api import Restorer, RestoreOptions
>>> r = Restorer()                                   # bundled weights, CPU
>>> result = r.restore(audio, 44100)                 # doctest: +SKIP
>>> result.audio, result.report["verdict"]           # doctest: +SKIP
"""

from echoes.restore.files import json_default, tag_file, write_report
from echoes.restore.pipeline import RestoreOptions, Restorer, RestoreResult

__all__ = ["Restorer", "RestoreOptions", "RestoreResult", "tag_file", "write_report", "json_default"]
