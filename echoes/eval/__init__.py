"""``echoes evaluate`` and ``echoes bench``: material, per-task sections (classifier, denoise,
inpaint), oracle ceilings, stats, report, figures; :mod:`echoes.eval.run` ties them. May import every layer."""
