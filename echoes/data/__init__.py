"""Training and evaluation material: the clean piano corpus, degradations, augmentation. Never imported by :mod:`echoes.restore`."""
