"""Training loops for the classifier and the de-noisers (imports data, models, core)."""
