"""Gaps: spans (:mod:`.spans`), detection (:mod:`.detect`), AR maths (:mod:`.ar`), filling
(:mod:`.fill`, the registry of :mod:`.methods`). Evaluation lives in :mod:`echoes.eval.gaps`."""
