"""Training: the classifier and the de-noisers, rebuilt from the corpus recipe (docs/RETRAIN.md).

Modules: :mod:`.common` (clip format and loading, seeded example sets, workers, seeds),
:mod:`.classifier_examples` and :mod:`.classifier` (the noisy/clean classifier),
:mod:`.denoiser_examples`, :mod:`.losses` and :mod:`.denoiser` (the de-noisers). Imports data,
models and core, and the runtime's :class:`echoes.restore.classify.Classifier` (validation judges
windows exactly as inference does). The CLI is :mod:`echoes.commands.train`.
"""
