"""Gap-filling methods, one module per family; :mod:`echoes.restore.gaps.fill` registers them.

Each method is ``fill(c: Ctx, start, end) -> (end - start,)`` float64 samples for one gap of one
channel (see :mod:`.base`); the similarity method also returns the name of the method used.
"""
