"""What both trainers share: the clip format, reading clips, seeded example sets, workers, seeds.

Contract: training clips are mono float32 ``(n, CLIP_SAMPLES)`` arrays at :data:`SR` Hz (5 s =
110,250 samples = 216 frames of :data:`echoes.core.spectral.PAPER_STFT`), read from a corpus
folder (``manifest.json``: :func:`echoes.data.corpus.iter_clips`) or a training pack
(``pack.json``: :func:`echoes.data.corpus.load_pack`, numpy only). Example ``key`` of a
:class:`SeededExamples` is made from :func:`example_rng` ``(seed, *key)`` alone, so it is the same
in any worker process and in any order; :func:`worker_init` gives each data worker one thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from echoes.core.spectral import INTERNAL_RATE
from echoes.data import corpus
from echoes.errors import ParameterError

#: Sample rate of every training clip (Hz): the models' internal rate.
SR = INTERNAL_RATE
#: Samples in one training clip (5 s).
CLIP_SAMPLES = 5 * SR


def load_clips(data: str | Path, split: str, *, piano: str | None = None, exclude_piano: str | None = None,
               limit: int | None = None, min_rms_dbfs: float | None = None,
               exact: bool = False, rate: int = SR) -> tuple[list[str], np.ndarray, list[dict]]:
    """Clean 5-s clips of a corpus folder (``manifest.json``) or a training pack (``pack.json``,
    see :func:`echoes.data.corpus.pack_corpus`): ids, ``(n, 5 * rate)`` float32 at ``rate`` Hz
    (default 22,050: ``(n, 110250)``), metas. A pack of another rate is refused.

    ``piano`` keeps one piano, ``exclude_piano`` leaves one out, ``limit`` stops after that many
    clips; ``min_rms_dbfs`` leaves out quieter clips (RMS, dBFS); ``exact`` refuses a pack whose
    clips are not :data:`CLIP_SAMPLES` long (otherwise every clip is cut or padded to that length).
    """
    clip_samples = 5 * int(rate)
    if (Path(data) / "pack.json").is_file():
        if corpus.pack_rate(data) != rate:
            raise ParameterError(f"'{data}' holds clips at {corpus.pack_rate(data)} Hz, this model trains at {rate} Hz "
                                 f"(make a pack with 'echoes data pack --rate {rate}')")
        audio, metas_all = corpus.load_pack(data, split)
        if exact and audio.shape[-1] != clip_samples:
            raise ParameterError(f"pack clips have {audio.shape[-1]} samples, expected {clip_samples}")
        keep: Iterable[bool] = [True] * len(audio)
        if min_rms_dbfs is not None:
            rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2, axis=-1))
            keep = 20 * np.log10(np.maximum(rms, 1e-10)) >= min_rms_dbfs
        source = ((c["id"], a, c) for a, c, k in zip(audio, metas_all, keep)
                  if k and (piano is None or c.get("piano") == piano))
    else:
        source = corpus.iter_clips(data, split, sample_rate=rate, seconds=5.0, piano=piano, min_rms_dbfs=min_rms_dbfs)
    ids, clips, metas = [], [], []
    for cid, audio, meta in source:
        if exclude_piano is not None and meta.get("piano") == exclude_piano:
            continue
        a = np.asarray(audio, dtype=np.float32)
        if a.ndim > 1:
            a = a.mean(axis=0)
        a = a[:clip_samples] if a.size >= clip_samples else np.pad(a, (0, clip_samples - a.size))
        ids.append(cid)
        clips.append(a)
        metas.append(dict(meta))
        if limit is not None and len(ids) >= limit:
            break
    if not ids:
        raise ParameterError(f"no {split} clips in '{data}'" + (f" for piano {piano!r}" if piano else ""))
    return ids, np.stack(clips), metas


def example_rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of one example: ``numpy.random.default_rng([seed, *key])``."""
    return np.random.default_rng([int(seed), *(int(k) for k in key)])


class SeededExamples(torch.utils.data.Dataset):
    """Base of the trainers' example sets: ``size`` examples made on the fly from ``clips``
    ``(n, samples)``, each from its own :meth:`rng`; subclasses define ``__getitem__``."""

    def __init__(self, clips: np.ndarray, *, seed: int, size: int, noise_dir: str | None,
                 noise_split: str = "train") -> None:
        self.clips, self.seed, self.size = clips, int(seed), int(size)
        self.noise_dir, self.noise_split = noise_dir, noise_split

    def __len__(self) -> int:
        return self.size

    def rng(self, *key: int) -> np.random.Generator:
        """The generator of the example named by ``key`` (:func:`example_rng` with this set's seed)."""
        return example_rng(self.seed, *key)


def worker_init(_: int) -> None:
    """One thread per data worker: BLAS thread pools in every worker oversubscribe the CPUs
    (measured: 4x slower examples with 2 workers on 2 cores)."""
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn/scipy stacks
        pass


def seed_run(seed: int, *, numpy_global: bool = True) -> None:
    """Seed torch (weight initialisation, shuffling) and, with ``numpy_global``, numpy's global
    generator; examples never use either (they draw from :func:`example_rng`)."""
    torch.manual_seed(seed)
    if numpy_global:
        np.random.seed(seed)
