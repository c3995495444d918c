"""Train the de-noisers: ``python -m echoes train denoiser --data DIR --out DIR --model both``.

Examples (:mod:`echoes.train.denoiser_examples`) are 5-second clips of the corpus's ``train``
split (or a training pack's) at the model's rate: 22,050 Hz (216 STFT frames: the paper's
1025 x 216 grid), or 44,100 Hz for ``archival`` (2049 x 216; packs made with ``--rate 44100``),
degraded on the fly in worker processes; example ``i`` is seeded by ``(seed, i)``, so a run with
``--steps`` is reproducible. Every example is levelled to an RMS of 0.1 (input and target by the
same gain), as :class:`echoes.restore.denoise.Denoiser` does at inference. Losses:
:mod:`echoes.train.losses`. Models are named as in :mod:`echoes.models.registry` (``"paper"``,
``"fast"`` alias ``"default"``); each is saved under its registry weights stem.

``--model both`` trains both on the same batches (the data is the slow part). Each model is
checked every ``--val-every`` steps on fixed validation examples (the ``val`` split, 0 dB
white noise and the gramophone chain); the best state by mean output SNR is saved as
``OUT/denoiser.*`` and ``OUT/cae.*`` with the recipe, seed, steps, commit and metrics.
Results of recorded runs: docs/RETRAIN.md.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from echoes.core.checkpoint import git_commit, load_model, save_model
from echoes.core.metrics import si_sdr_db, snr_db
from echoes.core.spectral import PAPER_STFT, STFTConfig
from echoes.data.degrade import default_noise_dir
from echoes.errors import ParameterError
from echoes.models.registry import canonical, denoiser_spec
from echoes.train.common import CLIP_SAMPLES, SR, seed_run, worker_init
from echoes.train.denoiser_examples import (MIX, PAPER_PROTOCOL, PAPER_PROTOCOL_SNR_DB, ExampleSet, load_clip_array,
                                            validation_set)
from echoes.train.losses import PAPER_MODEL, loss_description, model_loss

log = logging.getLogger(__name__)


@torch.no_grad()
def validate(model: torch.nn.Module, noisy: np.ndarray, clean: np.ndarray, *, device: torch.device,
             batch: int = 16, cfg: STFTConfig = PAPER_STFT) -> dict[str, float]:
    """Output SNR, SI-SDR and input SNR (dB, means) of ``model`` on :func:`validation_set` rows,
    per half (``paper_*``: even rows, the paper's protocol; ``gramophone_*``: odd rows) and
    ``snr_db``, the mean of the two output SNRs."""
    model.eval()
    outs = []
    for b in range(0, len(noisy), batch):
        x = torch.from_numpy(noisy[b:b + batch]).to(device)
        outs.append(model.enhance(x, cfg).float().cpu().numpy())
    model.train()
    y = np.concatenate(outs)
    half = {PAPER_PROTOCOL: slice(0, None, 2), "gramophone": slice(1, None, 2)}
    res = {}
    for k, s in half.items():
        res[f"{k}_snr_db"] = float(np.mean([snr_db(c, e) for c, e in zip(clean[s], y[s])]))
        res[f"{k}_si_sdr_db"] = float(np.mean([si_sdr_db(c, e) for c, e in zip(clean[s], y[s])]))
        res[f"{k}_input_snr_db"] = float(np.mean([snr_db(c, e) for c, e in zip(clean[s], noisy[s])]))
    res["snr_db"] = 0.5 * (res["paper_snr_db"] + res["gramophone_snr_db"])
    return res


def build(name: str, kwargs: dict | None = None) -> torch.nn.Module:
    """A fresh de-noiser ``name`` (a name or alias of :mod:`echoes.models.registry`), sized by ``kwargs``."""
    module, _, cls = denoiser_spec(name).cls.rpartition(".")
    return getattr(importlib.import_module(module), cls)(**(kwargs or {}))


def train(
    *,
    data: str | Path | list[str | Path],
    out: str | Path,
    models: list[str],
    seed: int = 0,
    steps: int | None = None,
    minutes: float | None = None,
    batch_size: int = 32,
    lr: float = 2e-3,
    workers: int = 0,
    device: str = "cpu",
    noise_dir: str | Path | None = None,
    val_count: int = 64,
    val_every: int = 250,
    limit_clips: int | None = None,
    init: str | Path | None = None,
    lr_paper: float | None = 5e-4,
    half: bool = True,
    mix: dict[str, float] | None = None,
    model_kwargs: dict[str, Any] | None = None,
    select: str = "mean",
    pitch_cents: float = 0.0,
    noise_split: str = "train",
    init_model: str | None = None,
) -> dict[str, Any]:
    """Train the named de-noisers (registry names or aliases: ``"paper"``, ``"default"``) and save
    them into ``out`` under their registry weights stems; the result is keyed by the names given.

    ``model_kwargs`` sizes the default model (:class:`echoes.models.complex_unet.ComplexUNet`'s
    arguments); with ``init`` the sizes of the starting checkpoint are kept, except ``taps``,
    which grows the checkpoint's deep filter (:meth:`ComplexUNet.with_taps`), and ``dilations``,
    which deepens its temporal bottleneck (:meth:`ComplexUNet.with_dilations`). ``select``: the
    state kept is the best by mean validation SNR of both protocols (``"mean"``) or by the
    0 dB white-noise SNR alone (``"paper"``, for studies of that protocol). ``pitch_cents``:
    each training clip is first played up to that many cents higher or lower (uniform; by
    resampling, :func:`repitch`), a cheap way to more distinct training material. ``data``: one
    folder, or several (packs of one corpus with disjoint clips, ``data pack --exclude-pack``):
    the train clips of all of them, the val clips and the noise folder of the first.
    ``noise_split``: ``"train"`` (every training noise clip, whole; validation on the same clips)
    or ``"fit"`` (their first four fifths; validation on the last fifth, ``"dev"``, which the run
    never hears: see :data:`echoes.data.degrade.NOISE_PORTIONS`).
    ``init_model``: start from the weights of that registry model in ``init`` instead of the
    model's own (``archival`` from ``fast``: the checkpoint is grown to the wider grid by
    :meth:`ComplexUNet.with_bins`). Models trained together must share one rate.
    """
    if steps is None and minutes is None:
        raise ParameterError("give --steps or --minutes (or both)")
    t0 = time.time()
    seed_run(seed, numpy_global=False)
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if noise_split not in ("train", "fit"):
        raise ParameterError(f"noise_split must be 'train' or 'fit', got {noise_split!r}")
    folders = [Path(d) for d in (data if isinstance(data, (list, tuple)) else [data])]
    data = folders[0]
    grids = {m: denoiser_spec(m).stft for m in models}
    rates = {g.sample_rate for m, g in grids.items() if canonical(m) != PAPER_MODEL} or {PAPER_STFT.sample_rate}
    if len(rates) > 1:
        raise ParameterError(f"models of different rates cannot train together: {', '.join(models)}")
    rate = rates.pop()
    if noise_dir is None:
        noise_dir = default_noise_dir(data)
    nd = str(noise_dir) if noise_dir else None
    train_clips = np.concatenate([load_clip_array(d, "train", rate=rate) for d in folders])[:limit_clips]
    try:
        val_clips = load_clip_array(data, "val", limit=limit_clips, rate=rate)
    except ParameterError:
        log.warning("no val split in '%s': validating on the last 10%% of the train clips", data)
        cut = max(1, len(train_clips) // 10)
        train_clips, val_clips = train_clips[:-cut], train_clips[-cut:]
    log.info("train clips %d, val clips %d, noise %s", len(train_clips), len(val_clips), nd)
    val_noise = "dev" if noise_split == "fit" else "train"
    vx, vt = validation_set(val_clips, seed=seed, noise_dir=nd, count=val_count, noise_split=val_noise, rate=rate)

    stems = {m: denoiser_spec(m).weights for m in models}  # weights file stem of each model
    is_cae = {m: canonical(m) == PAPER_MODEL for m in models}
    init_stems = {m: denoiser_spec(init_model).weights if init_model else stems[m] for m in models}
    from_init = [m for m in models if init and (Path(init) / f"{init_stems[m]}.json").is_file()]
    if init and not from_init:
        raise ParameterError(f"--init '{init}' holds none of {', '.join(init_stems[m] + '.json' for m in models)}")
    # a U-Net on another grid than the paper's: its bins, and features scaled to look alike
    sizing = {m: {"n_bins": grids[m].n_bins, "feature_gain": PAPER_STFT.n_fft / grids[m].n_fft} for m in models}
    nets = {m: build(m, None if is_cae[m] else {**sizing[m], **(model_kwargs or {})}).to(dev) for m in models}
    inits: dict[str, dict] = {}
    for m in from_init:
        net0, cfg0 = load_model(init, init_stems[m], map_location=dev)
        net0 = net0.float()
        if not is_cae[m] and net0.n_bins != grids[m].n_bins:
            log.info("%s: grown from %d to %d bins (%s's weights)", m, net0.n_bins, grids[m].n_bins, init_stems[m])
            net0 = net0.with_bins(**sizing[m])
        grow = None if is_cae[m] else (model_kwargs or {}).get("taps")
        if grow and grow != getattr(net0, "taps", grow):
            log.info("%s: deep filter grown from %d to %d taps (new taps start at zero)", m, net0.taps, grow)
            net0 = net0.with_taps(int(grow))
        deeper = None if is_cae[m] else (model_kwargs or {}).get("dilations")
        if deeper and list(deeper) != net0.kwargs["dilations"]:
            log.info("%s: temporal bottleneck grown from dilations %s to %s (new blocks start at zero)",
                     m, net0.kwargs["dilations"], list(deeper))
            net0 = net0.with_dilations(deeper)
        nets[m] = net0.to(dev).train()  # the checkpoint's own sizes (taps grown if asked)
        tr0 = cfg0.get("training", {})
        prev_total = tr0.get("total_steps") or (tr0.get("steps") or 0) + ((tr0.get("init") or {}).get("steps") or 0)
        inits[m] = {"from": f"{init}/{init_stems[m]}", "sha256": cfg0.get("sha256"), "total_steps": prev_total,
                    "steps": tr0.get("steps"), "kwargs": cfg0.get("kwargs"),
                    "training": {k: v for k, v in tr0.items() if k not in ("history", "init")}}
        log.info("%s starts from %s (%s steps)", m, init, inits[m]["steps"])
    lrs = {m: (lr_paper if is_cae[m] and lr_paper is not None else lr) for m in models}
    opts = {m: torch.optim.AdamW(n.parameters(), lr=lrs[m], weight_decay=1e-5) for m, n in nets.items()}
    best: dict[str, tuple[float, dict, dict]] = {}
    history: dict[str, list] = {m: [] for m in models}

    ds = ExampleSet(train_clips, seed=seed, noise_dir=nd, kinds=mix, pitch_cents=pitch_cents, noise_split=noise_split,
                    rate=rate)
    total = steps if steps is not None else 10**9
    sampler = range(total * batch_size)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=batch_size, sampler=sampler, num_workers=workers, worker_init_fn=worker_init,
        pin_memory=dev.type == "cuda", persistent_workers=workers > 0, prefetch_factor=4 if workers else None,
        drop_last=True,
    )
    budget = minutes * 60 if minutes is not None else None
    t_start = time.time()
    step = 0
    run_loss = {m: 0.0 for m in models}
    t_wait = 0.0
    t_mark = time.time()
    for noisy, clean in loader:
        t_wait += time.time() - t_mark
        elapsed = time.time() - t_start
        frac = step / steps if steps is not None else 0.0
        if budget is not None:
            frac = max(frac, elapsed / budget)
        if frac >= 1.0:
            break
        scale = min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * frac))
        noisy = noisy.to(dev, non_blocking=True)
        clean = clean.to(dev, non_blocking=True)
        for m, net in nets.items():
            for g in opts[m].param_groups:
                g["lr"] = lrs[m] * scale
            loss, _parts = model_loss(m, net, noisy, clean)
            opts[m].zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opts[m].step()
            run_loss[m] += float(loss.detach())
        step += 1
        if step % 50 == 0:
            log.info("step %d: %.1f steps/s, waiting for data %.0f%% of the time", step,
                     step / (time.time() - t_start), 100 * t_wait / (time.time() - t_start))
        if step % val_every == 0:
            _check(nets, vx, vt, dev, step, best, history, run_loss, val_every, t_start, select, grids)
        t_mark = time.time()
    if step % val_every:
        _check(nets, vx, vt, dev, step, best, history, run_loss, max(1, step % val_every), t_start, select, grids)

    commit = git_commit()
    record_common = {
        "data": str(data) if len(folders) == 1 else [str(d) for d in folders], "noise_dir": nd,
        "noise_split": noise_split, "val_noise_split": val_noise,
        "train_clips": len(train_clips), "val_clips": len(val_clips),
        "seed": seed, "select": select, "pitch_cents": pitch_cents, "steps": step, "batch_size": batch_size,
        "lr": lr, "minutes_budget": minutes,
        "mix": mix or MIX, "paper_snr_db": PAPER_PROTOCOL_SNR_DB, "clip_seconds": CLIP_SAMPLES / SR, "sample_rate": rate,
        "device": str(dev),
        "commit": commit, "wall_s": round(time.time() - t0, 1),
        "recipe": "echoes.train.denoiser (gramophone chain without soft clipping; target = signal path)",
    }
    result = {}
    for m, net in nets.items():
        _score, state, metrics = best[m]
        net.load_state_dict(state)
        rec = dict(record_common, best_step=metrics["step"], history=history[m], lr=lrs[m], init=inits.get(m),
                   total_steps=step + (inits[m]["total_steps"] if m in inits else 0),
                   weights_dtype="float16" if half else "float32",
                   loss=loss_description(m))
        save_model(net.cpu().half() if half else net.cpu(), out, stems[m], extra={
            "stft": grids[m].to_dict(), "sample_rate": grids[m].sample_rate, "training": rec,
            "metrics": {"val": metrics},
        })
        log.info("saved %s (%s): val %s", m, stems[m], metrics)
        result[m] = rec
    return result


def _check(nets, vx, vt, dev, step, best, history, run_loss, n, t_start, select="mean", grids=None) -> None:
    """Validate every model at ``step``, log and record it, and keep its best state in ``best``
    (by mean validation SNR, or with ``select="paper"`` by the paper protocol's alone)."""
    for m, net in nets.items():
        v = validate(net, vx, vt, device=dev, cfg=(grids or {}).get(m, PAPER_STFT))
        v["step"] = step
        v["train_loss"] = run_loss[m] / n
        run_loss[m] = 0.0
        history[m].append({k: round(float(x), 4) for k, x in v.items()})
        log.info("step %d %.0fs %s: %s", step, time.time() - t_start, m,
                 " ".join(f"{k}={x:.3f}" for k, x in v.items() if k != "step"))
        score = v["paper_snr_db"] if select == "paper" else v["snr_db"]
        if m not in best or score > best[m][0]:
            best[m] = (score, {k: x.detach().cpu().clone() for k, x in net.state_dict().items()}, v)
