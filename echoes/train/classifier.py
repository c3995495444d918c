"""Train the noisy/clean classifier: ``python -m echoes train classifier --data DIR --out DIR``.

Examples (:mod:`echoes.train.classifier_examples`) are 5-second clips of clean piano at 22,050 Hz
(the corpus's ``train`` split, both training pianos), made fresh every epoch from
``(seed, epoch, index)``: half clean after clean augmentations that must not read as noise
(:mod:`echoes.data.augment`), half degraded by a preset of :mod:`echoes.data.degrade` and
labelled by :func:`echoes.data.degrade.is_noisy`. Between 30 and 40 dB SNR lies a grey zone
that is not trained on either way: clean examples carry noise floors of 40 dB or more under the
music, the presets' noise is under 30 dB.

The network is :class:`echoes.models.classifier.SpectrogramCNN` on the features of
:data:`echoes.core.spectral.PAPER_STFT`, trained with AdamW and a one-cycle schedule. The best
epoch by validation errors (clean windows called noisy weigh 4 times) is kept, and its
threshold is chosen on validation (:func:`choose_threshold`, with the runtime's own
:class:`echoes.restore.classify.Classifier` judging the windows); the checkpoint's
JSON records the model's hyper-parameters, the STFT, this recipe, the seed, the epochs, the
commit, and the validation metrics. Results of recorded runs: docs/RETRAIN.md.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from echoes.core.checkpoint import git_commit, load_model, read_config, save_model
from echoes.core.spectral import PAPER_STFT
from echoes.data.augment import CLEAN_AUG, PEAK_DBFS
from echoes.data.degrade import default_noise_dir
from echoes.errors import ParameterError
from echoes.models.classifier import SpectrogramCNN, features
from echoes.restore.classify import Classifier
from echoes.train.classifier_examples import (MIN_DEGRADE_RMS_DBFS, P_CODEC_AFTER, P_DIGITAL_SILENCE, ExampleSet,
                                              parse_preset_weights)
from echoes.train.common import SR, load_clips, seed_run, worker_init

log = logging.getLogger(__name__)


def error_metrics(p_noisy: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Accuracy, false-noisy rate (clean called noisy), missed-noisy rate, confusion counts."""
    pred = np.asarray(p_noisy) >= threshold
    y = np.asarray(labels).astype(bool)
    tn, fp = int(np.sum(~y & ~pred)), int(np.sum(~y & pred))
    fn, tp = int(np.sum(y & ~pred)), int(np.sum(y & pred))
    n = tn + fp + fn + tp
    return {
        "windows": n, "clean_windows": tn + fp, "noisy_windows": fn + tp,
        "accuracy": (tn + tp) / n if n else float("nan"),
        "false_noisy_rate": fp / (tn + fp) if tn + fp else float("nan"),
        "missed_noisy_rate": fn / (fn + tp) if fn + tp else float("nan"),
        "confusion": {"clean_as_clean": tn, "clean_as_noisy": fp, "noisy_as_clean": fn, "noisy_as_noisy": tp},
    }


def choose_threshold(p_noisy: np.ndarray, labels: np.ndarray, *, false_weight: float = 4.0,
                     grid: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)) -> float:
    """The threshold of ``grid`` with the fewest validation errors, a clean window called noisy
    counting ``false_weight`` times; ties go to the value nearest 0.5."""
    p, y = np.asarray(p_noisy), np.asarray(labels).astype(bool)
    cost = [(float(np.sum(y & (p < t)) + false_weight * np.sum(~y & (p >= t))), abs(t - 0.5), t) for t in grid]
    return min(cost)[2]


def calibrate(weights: str | Path, data: str | Path, *, seed: int, val_examples: int, workers: int = 0,
              noise_dir: str | Path | None = None) -> dict[str, Any]:
    """Choose the threshold on the training run's validation set (same seed, same examples) and
    store it in ``weights/classifier.json``; returns the validation metrics at that threshold."""
    _, val_clips, _ = load_clips(data, "val")
    if noise_dir is None and (Path(data) / "noise").is_dir():
        noise_dir = Path(data) / "noise"
    ds = ExampleSet(val_clips, seed=seed + 1_000_003, n_examples=val_examples,
                    noise_dir=str(noise_dir) if noise_dir else None)
    xs, ys = [], []
    for xb, yb in torch.utils.data.DataLoader(ds, batch_size=64, num_workers=workers,
                                              worker_init_fn=worker_init if workers else None):
        xs.append(xb)
        ys.append(yb)
    clf = Classifier.load(weights)
    p = clf.window_probabilities(torch.cat(xs))
    y = torch.cat(ys).numpy()
    t = choose_threshold(p, y)
    m = error_metrics(p, y, t) | {"threshold": t, "at_0.5": error_metrics(p, y, 0.5)}
    cfg = read_config(weights, "classifier")
    cfg["threshold"] = t
    cfg.setdefault("metrics", {})["validation_calibrated"] = m
    (Path(weights) / "classifier.json").write_text(json.dumps(cfg, indent=2) + "\n")
    log.info("threshold %.2f: val accuracy %.5f false-noisy %.5f missed %.5f", t, m["accuracy"],
             m["false_noisy_rate"], m["missed_noisy_rate"])
    return m


def train(
    *,
    data: str | Path,
    out: str | Path,
    seed: int = 0,
    epochs: int = 12,
    examples_per_epoch: int = 16384,
    val_examples: int = 2048,
    batch_size: int = 64,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    workers: int = 0,
    device: str = "cpu",
    noise_dir: str | Path | None = None,
    holdout_piano: str | None = None,
    limit_clips: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    init: str | Path | None = None,
    max_seconds: float | None = None,
    timbre: float = 0.0,
    preset_weights: dict[str, float] | None = None,
    extra_data: list[str | Path] | None = None,
) -> dict[str, Any]:
    """Train and save ``out/classifier.{safetensors,json}``; returns the training record.

    ``extra_data``: more packs (e.g. real recordings, :func:`echoes.data.real.pack_real`) whose
    ``train`` clips join the training clips.

    The best epoch so far is saved after every epoch that improves on it, so an interrupted
    run leaves usable weights. ``max_seconds`` stops after the epoch that passes it (the
    record says how many epochs were done). With ``workers`` > 1, set ``OPENBLAS_NUM_THREADS=1``
    (and ``OMP_NUM_THREADS=1``) in the environment: every worker would otherwise start a
    thread per core and the example making slows down several times.
    """
    t0 = time.time()
    seed_run(seed)
    dev = torch.device(device)
    data = Path(data)
    if noise_dir is None:
        noise_dir = default_noise_dir(data)
    _, train_clips, train_meta = load_clips(data, "train", exclude_piano=holdout_piano, limit=limit_clips)
    _, val_clips, _ = load_clips(data, "val", exclude_piano=holdout_piano, limit=limit_clips)
    extra_counts = {}
    for extra in extra_data or []:
        _, more, more_meta = load_clips(extra, "train", limit=limit_clips)
        train_clips = np.concatenate([train_clips, more]) if len(more) else train_clips
        train_meta = [*train_meta, *more_meta]
        extra_counts[str(extra)] = int(len(more))
    pianos = sorted({str(m.get("piano")) for m in train_meta})
    log.info("train clips %d (pianos %s), val clips %d, noise %s", len(train_clips), pianos, len(val_clips), noise_dir)

    if init is not None:  # continue from saved weights (fine-tuning)
        model = load_model(init, "classifier")[0].to(dev)
        log.info("starting from %s", init)
    else:
        model = SpectrogramCNN(**(model_kwargs or {})).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * math.ceil(examples_per_epoch / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    loss_fn = torch.nn.CrossEntropyLoss()
    if not 0.0 <= timbre <= 1.0:
        raise ParameterError(f"timbre must be a probability in [0, 1], got {timbre}")
    probs = {**CLEAN_AUG, "timbre": float(timbre)}
    pw = parse_preset_weights(preset_weights)
    ds = ExampleSet(train_clips, seed=seed, n_examples=examples_per_epoch, probs=probs, preset_weights=pw,
                    noise_dir=str(noise_dir) if noise_dir else None)
    # validation keeps the default preset weights, so runs with different --preset-weights compare
    val_ds = ExampleSet(val_clips, seed=seed + 1_000_003, n_examples=val_examples, probs=probs,
                        noise_dir=str(noise_dir) if noise_dir else None)
    loader_kw: dict[str, Any] = dict(batch_size=batch_size, num_workers=workers,
                                     worker_init_fn=worker_init if workers else None,
                                     persistent_workers=False, pin_memory=dev.type == "cuda")
    # The validation set is fixed: make it once.
    vx, vy = [], []
    for xb, yb in torch.utils.data.DataLoader(val_ds, shuffle=False, **loader_kw):
        vx.append(xb)
        vy.append(yb)
    val_x, val_y = torch.cat(vx), torch.cat(vy).numpy()
    log.info("validation set: %d examples (%d noisy) in %.0f s", len(val_y), int(val_y.sum()), time.time() - t0)

    history: list[dict] = []
    best: tuple[float, dict, dict] | None = None

    def record(done: int) -> dict[str, Any]:
        return {
            "data": {
                "source": str(data), "extra_train_clips": extra_counts,
                "train_clips": int(len(train_clips)), "val_clips": int(len(val_clips)),
                "pianos": pianos, "holdout_piano": holdout_piano, "clip_seconds": 5.0, "sample_rate": SR,
                "noise_dir": str(noise_dir) if noise_dir else None, "noise_split": "train",
                "examples_per_epoch": examples_per_epoch, "clean_share": 0.5,
                "preset_weights": pw, "clean_augmentations": probs,
                "codec_after_degrade": P_CODEC_AFTER, "digital_silence": P_DIGITAL_SILENCE,
                "peak_dbfs": list(PEAK_DBFS), "min_degrade_rms_dbfs": MIN_DEGRADE_RMS_DBFS,
                "label": "echoes.data.degrade.is_noisy (SNR < 30 dB, impulsive noise, band-limiting, dropouts, "
                         "level drops)",
            },
            "command": " ".join(["python -m echoes", *sys.argv[1:]]) if sys.argv and "echoes" in sys.argv[0] else None,
            "seed": seed, "epochs": epochs, "epochs_done": done, "init": str(init) if init else None,
            "best_epoch": best[2]["epoch"] if best else None, "batch_size": batch_size,
            "optimizer": {"name": "AdamW", "lr": lr, "weight_decay": weight_decay, "schedule": "one-cycle"},
            "device": str(dev), "commit": git_commit(), "seconds": round(time.time() - t0, 1),
            "history": list(history),
        }

    for epoch in range(epochs):
        ds.epoch = epoch
        model.train()
        te = time.time()
        total, n_seen = 0.0, 0
        g = torch.Generator().manual_seed(seed * 1000 + epoch)
        for xb, yb in torch.utils.data.DataLoader(ds, shuffle=True, generator=g, drop_last=True, **loader_kw):
            xb, yb = xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)
            with torch.no_grad():
                F = features(xb, PAPER_STFT)
            loss = loss_fn(model(F), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(yb)
            n_seen += len(yb)
        model.eval()
        clf = Classifier(model, device=dev)
        p = clf.window_probabilities(val_x)
        m = error_metrics(p, val_y)
        score = m["confusion"]["noisy_as_clean"] + 4 * m["confusion"]["clean_as_noisy"]
        rec = {"epoch": epoch + 1, "train_loss": total / max(n_seen, 1), "val_accuracy": m["accuracy"],
               "val_false_noisy_rate": m["false_noisy_rate"], "val_missed_noisy_rate": m["missed_noisy_rate"],
               "seconds": time.time() - te}
        history.append(rec)
        log.info("epoch %d: loss %.4f val acc %.5f false-noisy %.5f missed %.5f (%.0f s)", epoch + 1,
                 rec["train_loss"], m["accuracy"], m["false_noisy_rate"], m["missed_noisy_rate"], rec["seconds"])
        if best is None or score <= best[0]:
            state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            best = (score, state, m | {"epoch": epoch + 1})
            _save(model, best, out=out, record=record(epoch + 1))
        if max_seconds is not None and time.time() - t0 > max_seconds and epoch + 1 < epochs:
            log.warning("stopping after epoch %d of %d: %.0f s time budget spent", epoch + 1, epochs, max_seconds)
            _finish(model, best, val_x, val_y, out=out, record=record(epoch + 1), dev=dev)
            return record(epoch + 1)
    log.info("saved %s (best epoch %d)", Path(out) / "classifier.json", best[2]["epoch"])
    _finish(model, best, val_x, val_y, out=out, record=record(epochs), dev=dev)
    return record(epochs)


def _finish(model, best, val_x, val_y, *, out, record, dev) -> None:
    """Reload the best epoch, choose the threshold on validation, save once more."""
    model.load_state_dict(best[1])
    p = Classifier(model.eval(), device=dev).window_probabilities(val_x)
    t = choose_threshold(p, val_y)
    metrics = error_metrics(p, val_y, t) | {"threshold": t, "epoch": best[2]["epoch"]}
    _save(model, (best[0], best[1], metrics), out=out, record=record, threshold=t)
    log.info("threshold %.2f chosen on validation: accuracy %.5f false-noisy %.5f", t, metrics["accuracy"],
             metrics["false_noisy_rate"])


def _save(model, best, *, out, record, threshold: float = 0.5) -> None:
    """Save the state ``best[1]`` as ``out/classifier.*`` with the STFT, threshold, record and metrics."""
    snapshot = SpectrogramCNN(**model.kwargs)
    snapshot.load_state_dict(best[1])
    save_model(snapshot.eval(), out, "classifier", extra={
        "stft": PAPER_STFT.to_dict(), "threshold": threshold, "aggregate": "quantile 0.75 of window p_noisy",
        "training": record, "metrics": {"validation": best[2]},
    })
