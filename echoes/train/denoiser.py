"""Train the de-noisers: ``python -m echoes train denoiser --data DIR --out DIR --model both``.

Examples are 5-second clips of the corpus's ``train`` split (or a training pack's) at 22,050 Hz
(216 STFT frames: the paper's 1025 x 216 grid), degraded on the fly in worker processes with
:mod:`echoes.data.degrade`; example ``i`` is seeded by ``(seed, i)``, so a run with ``--steps`` is
reproducible. The mixture (:data:`MIX`):

* ``paper``: white Gaussian noise at an SNR drawn from -5 to +15 dB (the paper's protocol is
  0 dB; at a 44.1 kHz input half of that noise lies above 11 kHz and is dropped by the
  resampling, so the model meets about +3 dB in its band);
* ``gramophone``: the realistic chain of :func:`echoes.data.degrade.build_preset` with the training
  noise clips (``NOISE_SPLITS['train']``), *without* its soft-clipping step (a non-linear
  effect leaves no exact target; a de-noiser does not undo it anyway). The target is the
  chain's signal path (``info['reference']``: the music after band-limiting and wow), so
  the model learns to remove noise, not to undo the recording's colour (with
  ``--noise-split fit``, only the first four fifths of each noise clip; the last fifth is
  left for validation);
* ``mild`` (hiss 20 to 29 dB under the music) and ``clean`` (no noise: the output should equal
  the input), so light noise is treated lightly and clean audio is left alone.

Every example is levelled to an RMS of 0.1 (input and target by the same gain), as
:class:`echoes.restore.denoise.Denoiser` does at inference. Losses:

* ``paper`` (the CAE): the paper's L1 distance between magnitude spectrograms;
* ``default`` (the complex U-Net): ``-SNR/10`` (waveform SNR in dB, per example) plus the
  mean squared error of power-0.3-compressed complex and magnitude spectra of the output's
  re-analysis (so the loss sees the STFT that the waveform really has).

``--model both`` trains both on the same batches (the data is the slow part). Each model is
checked every ``--val-every`` steps on fixed validation examples (the ``val`` split, 0 dB
white noise and the gramophone chain); the best state by mean output SNR is saved as
``OUT/denoiser.*`` and ``OUT/cae.*`` with the recipe, seed, steps, commit and metrics.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from echoes.errors import ParameterError

log = logging.getLogger(__name__)

SR = 22_050
CLIP_SAMPLES = 5 * SR
#: Share of each kind of example.
MIX = {"paper": 0.4, "gramophone": 0.45, "mild": 0.08, "clean": 0.07}
#: SNR range (dB) of the paper-protocol examples.
PAPER_SNR_DB = (-5.0, 15.0)
#: Quieter clips than this (RMS, dBFS) are not trained on.
MIN_RMS_DBFS = -50.0
#: Model name -> weights file name.
FILES = {"default": "denoiser", "paper": "cae"}


# --------------------------------------------------------------------------------------------
# examples
# --------------------------------------------------------------------------------------------


def gramophone_chain(noise_dir: str | None, noise_split: str = "train"):
    """The ``gramophone`` preset of :mod:`echoes.data.degrade` without soft clipping (see above)."""
    from echoes.data import degrade as D

    full = D.build_preset("gramophone", noise_dir=noise_dir, noise_split=noise_split)
    steps = [e for e in full.effects if not (isinstance(e, D.Maybe) and isinstance(e.effect, D.SoftClip))]
    return D.Chain(steps)


def make_example(clip: np.ndarray, rng: np.random.Generator, kind: str, *, noise_dir: str | None,
                 chain=None, noise_split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """One ``(noisy, target)`` pair of float32 ``(samples,)`` arrays, levelled to RMS 0.1.
    ``noise_split``: the recorded noise's split (:func:`echoes.data.degrade.noise_files`)."""
    from echoes.data import degrade as D
    from echoes.restore.denoise import level_gain

    x = clip.astype(np.float32)
    if rng.random() < 0.5:
        x = -x
    seed = int(rng.integers(2**31))
    if kind == "paper":
        y, info = D.degrade(x, SR, preset="paper", seed=seed, snr_db=float(rng.uniform(*PAPER_SNR_DB)))
        target = x
    elif kind == "gramophone":
        y, info = D.degrade(x, SR, preset=chain if chain is not None else gramophone_chain(noise_dir, noise_split),
                            seed=seed)
        target = info["reference"]
        if target is None:  # cannot happen without soft clipping; stay safe
            target = x
    elif kind == "mild":
        y, info = D.degrade(x, SR, preset="mild", seed=seed, noise_dir=noise_dir, noise_split=noise_split)
        target = info["reference"] if info["reference"] is not None else x
    elif kind == "clean":
        y, target = x, x
    else:
        raise ParameterError(f"unknown example kind {kind!r}")
    g = level_gain(y)
    return (np.asarray(y, np.float32) * g, np.asarray(target, np.float32) * g)


class ExampleSet(torch.utils.data.Dataset):
    """Example ``i`` (any non-negative integer) is made from ``(seed, i)``: kind, clip, noise."""

    def __init__(self, clips: np.ndarray, *, seed: int, noise_dir: str | None, size: int = 2**31 - 1,
                 kinds: dict[str, float] | None = None, pitch_cents: float = 0.0, noise_split: str = "train") -> None:
        self.clips, self.seed, self.noise_dir, self.size = clips, int(seed), noise_dir, int(size)
        self.noise_split = noise_split
        self.pitch_cents = float(pitch_cents)
        mix = kinds or MIX
        self.kinds = list(mix)
        p = np.array([mix[k] for k in self.kinds], dtype=np.float64)
        self.p = p / p.sum()
        self._chain = None

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int):
        rng = np.random.default_rng([self.seed, int(i)])
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.p))]
        clip = self.clips[int(rng.integers(len(self.clips)))]
        if self.pitch_cents > 0:
            clip = repitch(clip, float(rng.uniform(-self.pitch_cents, self.pitch_cents)), rng)
        if kind == "gramophone" and self._chain is None:
            self._chain = gramophone_chain(self.noise_dir, self.noise_split)
        y, t = make_example(clip, rng, kind, noise_dir=self.noise_dir, chain=self._chain, noise_split=self.noise_split)
        return torch.from_numpy(y), torch.from_numpy(t)


def repitch(clip: np.ndarray, cents: float, rng: np.random.Generator) -> np.ndarray:
    """The clip played ``cents`` higher (and as much faster), by resampling: float32
    ``(samples,)`` of the same length. A longer result is cropped at a random place; a shorter
    one ends with a 10-ms fade and silence (at 100 cents, 5.6 % of the clip)."""
    import soxr

    n = clip.size
    f = 2.0 ** (cents / 1200.0)
    y = soxr.resample(clip.astype(np.float32), SR, SR / f, quality="HQ").astype(np.float32)
    if y.size >= n:
        o = int(rng.integers(y.size - n + 1))
        return np.ascontiguousarray(y[o : o + n])
    fade = min(y.size, int(0.010 * SR))
    y[y.size - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return np.concatenate([y, np.zeros(n - y.size, np.float32)])


def _worker_init(_: int) -> None:
    """One thread per data worker: BLAS thread pools in every worker oversubscribe the CPUs
    (measured: 4x slower examples with 2 workers on 2 cores)."""
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn/scipy stacks
        pass


def load_clips(data: str | Path, split: str, *, limit: int | None = None) -> np.ndarray:
    """Clean 5-s clips ``(n, 110250)`` float32 at 22,050 Hz of a corpus or pack ``split``.

    A training pack (``pack.json``, :func:`echoes.data.corpus.load_pack`) needs numpy only; a corpus
    folder is read with :func:`echoes.data.corpus.iter_clips`. Clips quieter than
    :data:`MIN_RMS_DBFS` are left out.
    """
    from echoes.data import corpus

    if (Path(data) / "pack.json").is_file():
        audio, _ = corpus.load_pack(data, split)
        if audio.shape[-1] != CLIP_SAMPLES:
            raise ParameterError(f"pack clips have {audio.shape[-1]} samples, expected {CLIP_SAMPLES}")
        rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2, axis=-1))
        out = list(audio[20 * np.log10(np.maximum(rms, 1e-10)) >= MIN_RMS_DBFS])
    else:
        out = [a for _, a, _ in corpus.iter_clips(data, split, sample_rate=SR, seconds=5.0,
                                                  min_rms_dbfs=MIN_RMS_DBFS)]
    if limit is not None:
        out = out[:limit]
    if not out:
        raise ParameterError(f"no {split} clips in '{data}'")
    return np.stack(out).astype(np.float32)


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------


def snr_loss(target: torch.Tensor, est: torch.Tensor) -> torch.Tensor:
    """``-SNR/10`` (SNR in dB), averaged over the batch; ``(B, samples)`` inputs."""
    num = target.pow(2).sum(-1) + 1e-8
    den = (target - est).pow(2).sum(-1) + 1e-8
    return -(10 * torch.log10(num / den)).mean() / 10


def compressed_loss(S: torch.Tensor, Y: torch.Tensor, c: float = 0.3) -> torch.Tensor:
    """MSE of power-``c`` compressed complex spectra (0.3) and magnitudes (0.7)."""
    ms, my = S.abs().clamp_min(1e-8), Y.abs().clamp_min(1e-8)
    cs, cy = ms**c, my**c
    lc = (torch.view_as_real(S * (cs / ms)) - torch.view_as_real(Y * (cy / my))).pow(2).mean()
    lm = (cs - cy).pow(2).mean()
    return 0.3 * lc + 0.7 * lm


def model_loss(name: str, model: torch.nn.Module, noisy: torch.Tensor, clean: torch.Tensor) -> tuple[torch.Tensor, dict]:
    from echoes.core.spectral import PAPER_STFT, istft, stft

    X, S = stft(noisy, PAPER_STFT), stft(clean, PAPER_STFT)
    if name == "paper":
        mag = model(X.abs().unsqueeze(1)).squeeze(1)
        loss = (mag - S.abs()).abs().mean()
        return loss, {"l1": float(loss.detach())}
    Yhat = model(X)
    y = istft(Yhat, PAPER_STFT, length=noisy.shape[-1])
    ls = snr_loss(clean, y)
    lc = compressed_loss(S, stft(y, PAPER_STFT))
    return ls + lc, {"snr": float(-10 * ls.detach()), "spec": float(lc.detach())}


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def validation_order(n_clips: int, *, seed: int, count: int) -> np.ndarray:
    """The clip indices :func:`validation_set` uses, in its row order (row ``j`` is made from clip
    ``validation_order(...)[j]``; even rows white noise, odd rows the gramophone chain)."""
    return np.random.default_rng([seed, 7777]).choice(n_clips, size=min(count, n_clips), replace=False)


def validation_set(clips: np.ndarray, *, seed: int, noise_dir: str | None, count: int,
                   noise_split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fixed examples: half 0 dB white noise, half the gramophone chain (with the recorded noise
    of ``noise_split``)."""
    ys, ts = [], []
    chain = gramophone_chain(noise_dir, noise_split)
    idx = validation_order(len(clips), seed=seed, count=count)
    for j, i in enumerate(idx):
        r = np.random.default_rng([seed, 7777, int(i)])
        if j % 2 == 0:
            from echoes.data import degrade as D
            from echoes.restore.denoise import level_gain

            x = clips[i]
            y, _ = D.degrade(x, SR, preset="paper", seed=int(r.integers(2**31)), snr_db=0.0)
            g = level_gain(y)
            y, t = y * g, x * g
        else:
            y, t = make_example(clips[i], r, "gramophone", noise_dir=noise_dir, chain=chain, noise_split=noise_split)
        ys.append(y)
        ts.append(t)
    return np.stack(ys).astype(np.float32), np.stack(ts).astype(np.float32)


@torch.no_grad()
def validate(model: torch.nn.Module, noisy: np.ndarray, clean: np.ndarray, *, device: torch.device,
             batch: int = 16) -> dict[str, float]:
    from echoes.core.metrics import si_sdr_db, snr_db

    model.eval()
    outs = []
    for b in range(0, len(noisy), batch):
        x = torch.from_numpy(noisy[b:b + batch]).to(device)
        outs.append(model.enhance(x).float().cpu().numpy())
    model.train()
    y = np.concatenate(outs)
    half = {"paper": slice(0, None, 2), "gramophone": slice(1, None, 2)}
    res = {}
    for k, s in half.items():
        res[f"{k}_snr_db"] = float(np.mean([snr_db(c, e) for c, e in zip(clean[s], y[s])]))
        res[f"{k}_si_sdr_db"] = float(np.mean([si_sdr_db(c, e) for c, e in zip(clean[s], y[s])]))
        res[f"{k}_input_snr_db"] = float(np.mean([snr_db(c, e) for c, e in zip(clean[s], noisy[s])]))
    res["snr_db"] = 0.5 * (res["paper_snr_db"] + res["gramophone_snr_db"])
    return res


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------


def build(name: str, kwargs: dict | None = None) -> torch.nn.Module:
    if name == "paper":
        from echoes.models.autoencoder import PaperCAE

        return PaperCAE(**(kwargs or {}))
    if name == "default":
        from echoes.models.complex_unet import ComplexUNet

        return ComplexUNet(**(kwargs or {}))
    raise ParameterError(f"unknown de-noiser {name!r}: choose paper, default or both")


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
) -> dict[str, Any]:
    """Train the named de-noisers (``"paper"``, ``"default"``) and save them into ``out``.

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
    """
    from echoes.core.checkpoint import git_commit, save_model
    from echoes.core.spectral import PAPER_STFT

    if steps is None and minutes is None:
        raise ParameterError("give --steps or --minutes (or both)")
    t0 = time.time()
    torch.manual_seed(seed)
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if noise_split not in ("train", "fit"):
        raise ParameterError(f"noise_split must be 'train' or 'fit', got {noise_split!r}")
    folders = [Path(d) for d in (data if isinstance(data, (list, tuple)) else [data])]
    data = folders[0]
    if noise_dir is None:
        from echoes.data.degrade import default_noise_dir

        noise_dir = default_noise_dir(data)
    nd = str(noise_dir) if noise_dir else None
    train_clips = np.concatenate([load_clips(d, "train") for d in folders])[:limit_clips]
    try:
        val_clips = load_clips(data, "val", limit=limit_clips)
    except ParameterError:
        log.warning("no val split in '%s': validating on the last 10%% of the train clips", data)
        cut = max(1, len(train_clips) // 10)
        train_clips, val_clips = train_clips[:-cut], train_clips[-cut:]
    log.info("train clips %d, val clips %d, noise %s", len(train_clips), len(val_clips), nd)
    val_noise = "dev" if noise_split == "fit" else "train"
    vx, vt = validation_set(val_clips, seed=seed, noise_dir=nd, count=val_count, noise_split=val_noise)

    from_init = [m for m in models if init and (Path(init) / f"{FILES[m]}.json").is_file()]
    if init and not from_init:
        raise ParameterError(f"--init '{init}' holds none of {', '.join(FILES[m] + '.json' for m in models)}")
    nets = {m: build(m, model_kwargs if m == "default" else None).to(dev) for m in models}
    inits: dict[str, dict] = {}
    for m in from_init:
        from echoes.core.checkpoint import load_model

        net0, cfg0 = load_model(init, FILES[m], map_location=dev)
        net0 = net0.float()
        grow = (model_kwargs or {}).get("taps") if m == "default" else None
        if grow and grow != getattr(net0, "taps", grow):
            log.info("%s: deep filter grown from %d to %d taps (new taps start at zero)", m, net0.taps, grow)
            net0 = net0.with_taps(int(grow))
        deeper = (model_kwargs or {}).get("dilations") if m == "default" else None
        if deeper and list(deeper) != net0.kwargs["dilations"]:
            log.info("%s: temporal bottleneck grown from dilations %s to %s (new blocks start at zero)",
                     m, net0.kwargs["dilations"], list(deeper))
            net0 = net0.with_dilations(deeper)
        nets[m] = net0.to(dev).train()  # the checkpoint's own sizes (taps grown if asked)
        tr0 = cfg0.get("training", {})
        prev_total = tr0.get("total_steps") or (tr0.get("steps") or 0) + ((tr0.get("init") or {}).get("steps") or 0)
        inits[m] = {"from": f"{init}/{FILES[m]}", "sha256": cfg0.get("sha256"), "total_steps": prev_total,
                    "steps": tr0.get("steps"), "kwargs": cfg0.get("kwargs"),
                    "training": {k: v for k, v in tr0.items() if k not in ("history", "init")}}
        log.info("%s starts from %s (%s steps)", m, init, inits[m]["steps"])
    lrs = {m: (lr_paper if m == "paper" and lr_paper is not None else lr) for m in models}
    opts = {m: torch.optim.AdamW(n.parameters(), lr=lrs[m], weight_decay=1e-5) for m, n in nets.items()}
    best: dict[str, tuple[float, dict, dict]] = {}
    history: dict[str, list] = {m: [] for m in models}

    ds = ExampleSet(train_clips, seed=seed, noise_dir=nd, kinds=mix, pitch_cents=pitch_cents, noise_split=noise_split)
    total = steps if steps is not None else 10**9
    sampler = range(total * batch_size)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=batch_size, sampler=sampler, num_workers=workers, worker_init_fn=_worker_init,
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
            _check(nets, vx, vt, dev, step, best, history, run_loss, val_every, t_start, select)
        t_mark = time.time()
    if step % val_every:
        _check(nets, vx, vt, dev, step, best, history, run_loss, max(1, step % val_every), t_start, select)

    commit = git_commit()
    record_common = {
        "data": str(data) if len(folders) == 1 else [str(d) for d in folders], "noise_dir": nd,
        "noise_split": noise_split, "val_noise_split": val_noise,
        "train_clips": len(train_clips), "val_clips": len(val_clips),
        "seed": seed, "select": select, "pitch_cents": pitch_cents, "steps": step, "batch_size": batch_size,
        "lr": lr, "minutes_budget": minutes,
        "mix": mix or MIX, "paper_snr_db": PAPER_SNR_DB, "clip_seconds": CLIP_SAMPLES / SR, "device": str(dev),
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
                   loss="L1 on magnitude spectrograms (the paper)" if m == "paper"
                   else "-SNR/10 + compressed (0.3) complex and magnitude MSE")
        save_model(net.cpu().half() if half else net.cpu(), out, FILES[m], extra={
            "stft": PAPER_STFT.to_dict(), "sample_rate": SR, "training": rec, "metrics": {"val": metrics},
        })
        log.info("saved %s (%s): val %s", m, FILES[m], metrics)
        result[m] = rec
    return result


def _check(nets, vx, vt, dev, step, best, history, run_loss, n, t_start, select="mean") -> None:
    for m, net in nets.items():
        v = validate(net, vx, vt, device=dev)
        v["step"] = step
        v["train_loss"] = run_loss[m] / n
        run_loss[m] = 0.0
        history[m].append({k: round(float(x), 4) for k, x in v.items()})
        log.info("step %d %.0fs %s: %s", step, time.time() - t_start, m,
                 " ".join(f"{k}={x:.3f}" for k, x in v.items() if k != "step"))
        score = v["paper_snr_db"] if select == "paper" else v["snr_db"]
        if m not in best or score > best[m][0]:
            best[m] = (score, {k: x.detach().cpu().clone() for k, x in net.state_dict().items()}, v)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def register(sub) -> None:
    p = sub.add_parser("denoiser", help="train the de-noisers (the paper's CAE and/or the default model)")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR",
                   help="corpus or training-pack folder; or several packs with disjoint clips "
                        "(their train clips together; val clips and noise from the first)")
    p.add_argument("--out", required=True, metavar="DIR", help="weights folder to write")
    p.add_argument("--model", default="both", choices=["paper", "default", "both"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (reproducible)")
    p.add_argument("--minutes", type=float, default=None, help="wall-clock budget for the training loop")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=0, help="data worker processes")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--noise-dir", default=None, help="recorded noise clips (default: DATA/noise)")
    p.add_argument("--val-count", type=int, default=64)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--limit-clips", type=int, default=None, help="use at most this many clips (smoke tests)")
    p.add_argument("--init", default=None, metavar="DIR", help="start from the weights in DIR (fine-tuning)")
    p.add_argument("--lr-paper", type=float, default=5e-4, help="learning rate of the CAE")
    p.add_argument("--float32", action="store_true", help="save float32 weights (default float16: half the size)")
    p.add_argument("--mix", default=None, metavar="K=W,...",
                   help="shares of example kinds, e.g. paper=0.3,gramophone=0.6,mild=0.05,clean=0.05")
    p.add_argument("--channels", type=int, nargs="+", default=None, metavar="C",
                   help="default model: feature maps per encoder level "
                        "(default 12 16 24 32; the shipped weights: 16 24 32 48)")
    p.add_argument("--bottleneck", type=int, default=None,
                   help="default model: width of the temporal bottleneck (default 256; the shipped weights: 384)")
    p.add_argument("--taps", type=int, default=None,
                   help="default model: frames of the deep filter (odd; default 3); with --init, "
                        "grows the checkpoint's filter, the new taps starting at zero")
    p.add_argument("--dilations", type=int, nargs="+", default=None, metavar="D",
                   help="default model: dilations of the temporal bottleneck (default 1 2 4 8 1); with --init, "
                        "must begin with the checkpoint's and grows it, the new blocks starting at zero")
    p.add_argument("--select", default="mean", choices=["mean", "paper"],
                   help="keep the best state by mean validation SNR (default) or by the 0 dB white-noise SNR alone")
    p.add_argument("--pitch-cents", type=float, default=0.0,
                   help="play each training clip up to this many cents higher or lower first (default 0: off)")
    p.add_argument("--noise-split", default="train", choices=["train", "fit"],
                   help="recorded noise to train on: the training clips whole (default), or their first four "
                        "fifths ('fit'), validating on the last fifth, which the run never hears")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    models = ["paper", "default"] if args.model == "both" else [args.model]
    mix = None
    if args.mix:
        try:
            mix = {k.strip(): float(v) for k, v in (item.split("=") for item in args.mix.split(","))}
        except ValueError:
            raise ParameterError(f"--mix must look like paper=0.3,gramophone=0.6, got {args.mix!r}") from None
        if not set(mix) <= set(MIX) or min(mix.values()) < 0 or sum(mix.values()) <= 0:
            raise ParameterError(f"--mix kinds are {', '.join(MIX)} with non-negative weights")
    train(data=args.data, out=args.out, models=models, seed=args.seed, steps=args.steps, minutes=args.minutes,
          batch_size=args.batch_size, lr=args.lr, workers=args.workers, device=args.device,
          noise_dir=args.noise_dir, val_count=args.val_count, val_every=args.val_every,
          limit_clips=args.limit_clips, init=args.init, lr_paper=args.lr_paper, half=not args.float32, mix=mix,
          select=args.select, pitch_cents=args.pitch_cents, noise_split=args.noise_split,
          model_kwargs={k: v for k, v in (("channels", args.channels), ("bottleneck", args.bottleneck),
                                          ("taps", args.taps), ("dilations", args.dilations)) if v} or None)
    return 0
