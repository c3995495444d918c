"""Train the high-frequency extension: ``python -m echoes train highs --data DIR [DIR ...] --out DIR``.

Material: the ``train`` clips (5 s, 22,050 Hz) of every folder given (corpus packs, real
recording packs of ``data pack-real``), keeping only clips that reach the top of the band
(:func:`echoes.restore.highs.effective_bandwidth_hz` at 11,025 Hz: a target must have highs).
Example ``i`` (seeded by ``(seed, i)``, :class:`HighsExamples`) is a random 3-s crop, its
polarity and level drawn, shaped by 0 to 2 horn-like resonances (peaking biquads, 300 Hz to
the cutoff, +3 to +12 dB, Q 2 to 8: applied to input *and* target, the model extends what it is
given) and then low-passed at a cutoff drawn log-uniformly from 2.5 to 8 kHz by one of
:data:`FILTERS` (Butterworth orders 4 to 16, Chebyshev I, elliptic; causal or zero-phase).
The model is told the filter's corner (half the examples) or what the blind estimate finds
(the other half, as ``--extend-highs auto`` does); both levelled to RMS 0.1 by one gain.

Loss (:func:`highs_loss`): on the output ``input + generated`` (the generated band faded in
over 250 Hz, as :func:`echoes.restore.highs.extend_highs` does), the log-spectral distance to
the target in the missing band (the corner to 11,025 Hz; log10 power, RMS over bins, mean over
frames within 40 dB of the loudest: the issue's measure on the model's grid) plus the same in
the kept band (0 to the corner: what the model adds below the corner is penalised), plus a
tenth of the missing band's at n_fft 512 and 2048 (the output must hold at other resolutions).
Validation (fixed): held-out clips low-passed by an 8th-order Butterworth at 4 and 7 kHz, the
corner given; the best state by mean missing-band LSD is saved as ``OUT/highs.*`` with the
recipe, seed, steps, commit and metrics. Results of recorded runs: docs/MODELS.md.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import signal as ss

from echoes.core.checkpoint import git_commit, save_model
from echoes.core.signal import level_gain
from echoes.core.spectral import STFTConfig, istft, stft
from echoes.errors import ParameterError
from echoes.models.highs_net import HIGHS_STFT, HighsNet
from echoes.restore.highs import RAMP_HZ, TOP_HZ, effective_bandwidth_hz
from echoes.train.common import SR, SeededExamples, example_rng, load_clips, seed_run, worker_init

log = logging.getLogger(__name__)

#: Weights stem of the learned model.
STEM = "highs"
#: Crop length of a training example (samples: 3 s).
CROP = 3 * SR
#: Cutoff range (Hz) of the training examples.
CUTOFF_RANGE = (2_500.0, 8_000.0)
#: Low-pass families and their share.
FILTERS = {"butter": 0.6, "cheby1": 0.2, "ellip": 0.2}
#: Clips whose effective bandwidth ends below this (Hz) are not trained on.
MIN_BANDWIDTH_HZ = 10_500.0
#: Validation cutoffs (Hz; 8th-order Butterworth, causal), as in ``echoes evaluate``'s highs.
VAL_CUTOFFS = (4_000.0, 7_000.0)


def lowpass_sos(rng: np.random.Generator, cutoff_hz: float) -> tuple[np.ndarray, str]:
    """A random low-pass at ``cutoff_hz`` (second-order sections at :data:`SR`) and its name."""
    fam = list(FILTERS)[int(rng.choice(len(FILTERS), p=np.array(list(FILTERS.values()))))]
    if fam == "butter":
        order = int(rng.integers(4, 17))
        return ss.butter(order, cutoff_hz, fs=SR, output="sos"), f"butter{order}"
    if fam == "cheby1":
        order, rp = int(rng.integers(4, 11)), float(rng.uniform(0.1, 1.0))
        return ss.cheby1(order, rp, cutoff_hz, fs=SR, output="sos"), f"cheby1-{order}"
    order, rp, rs = int(rng.integers(4, 9)), float(rng.uniform(0.1, 1.0)), float(rng.uniform(40, 80))
    return ss.ellip(order, rp, rs, cutoff_hz, fs=SR, output="sos"), f"ellip{order}"


def resonances(rng: np.random.Generator, x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """``x`` through 0 to 2 peaking biquads (RBJ cookbook) between 300 Hz and the cutoff."""
    for _ in range(int(rng.integers(0, 3))):
        f0 = float(np.exp(rng.uniform(np.log(300.0), np.log(cutoff_hz))))
        gain_db, q = float(rng.uniform(3, 12)), float(rng.uniform(2, 8))
        a, w = 10 ** (gain_db / 40), 2 * np.pi * f0 / SR
        alpha = np.sin(w) / (2 * q)
        b = np.array([1 + alpha * a, -2 * np.cos(w), 1 - alpha * a])
        den = np.array([1 + alpha / a, -2 * np.cos(w), 1 - alpha / a])
        x = ss.lfilter(b / den[0], den / den[0], x)
    return x


def make_example(clip: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(input, target, corner_hz, told_hz)``: float32 ``(CROP,)`` arrays levelled by one gain."""
    o = int(rng.integers(0, clip.size - CROP + 1))
    t = clip[o : o + CROP].astype(np.float64) * (-1.0 if rng.random() < 0.5 else 1.0)
    corner = float(np.exp(rng.uniform(*np.log(CUTOFF_RANGE))))
    t = resonances(rng, t, corner)
    sos, _name = lowpass_sos(rng, corner)
    y = ss.sosfiltfilt(sos, t) if rng.random() < 0.3 else ss.sosfilt(sos, t)
    told = corner
    if rng.random() < 0.5:
        est = effective_bandwidth_hz(y.astype(np.float32), SR)
        told = est if est < TOP_HZ - 300 else corner
    g = level_gain(t) * float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    return (y * g).astype(np.float32), (t * g).astype(np.float32), corner, float(told)


class HighsExamples(SeededExamples):
    """Example ``i`` is made from ``(seed, i)`` alone (:func:`make_example`)."""

    def __getitem__(self, i: int):
        rng = self.rng(i)
        x, t, corner, told = make_example(self.clips[int(rng.integers(len(self.clips)))], rng)
        return torch.from_numpy(x), torch.from_numpy(t), torch.tensor(corner), torch.tensor(told)


def ramp(kc_hz: torch.Tensor, cfg: STFTConfig, n_bins: int) -> torch.Tensor:
    """``(B, n_bins, 1)``: the raised-cosine fade-in over :data:`RAMP_HZ` above each cutoff."""
    f = torch.arange(n_bins, device=kc_hz.device, dtype=torch.float32) * cfg.sample_rate / cfg.n_fft
    u = ((f[None, :] - kc_hz[:, None]) / RAMP_HZ).clamp(0.0, 1.0)
    return (0.5 - 0.5 * torch.cos(math.pi * u))[:, :, None]


def extend(net: HighsNet, x: torch.Tensor, told_hz: torch.Tensor) -> torch.Tensor:
    """``x + generated band`` (faded in) for levelled ``(B, samples)`` audio at :data:`SR`."""
    cfg = HIGHS_STFT
    X = stft(x, cfg)
    kc = torch.clamp(torch.ceil(told_hz * cfg.n_fft / cfg.sample_rate).long(), 16, net.n_bins - 1)
    G = net(X, kc) * ramp(told_hz, cfg, net.n_bins)
    return x + istft(G, cfg, length=x.shape[-1])


def _lsd(P_ref: torch.Tensor, P_est: torch.Tensor, sel: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Per-example LSD: RMS over the selected bins ``sel`` (B, K, 1) of the log10 power
    difference, mean over ``frames`` (B, 1, T)."""
    d = (torch.log10(P_ref + 1e-10) - torch.log10(P_est + 1e-10)).square()
    per = torch.sqrt((d * sel).sum(1) / sel.sum(1).clamp(min=1) + 1e-8)  # (B, T)
    f = frames[:, 0]
    return (per * f).sum(-1) / f.sum(-1).clamp(min=1)


def band_lsd(ref: torch.Tensor, est: torch.Tensor, corner_hz: torch.Tensor, n_fft: int = 1024,
             frames_from: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example (missing-band LSD, kept-band LSD) of ``est`` against ``ref`` (both ``(B, samples)``
    at :data:`SR`), bands split at ``corner_hz``; frames within 40 dB of the loudest of ``ref``."""
    cfg = STFTConfig(n_fft=n_fft, hop_length=n_fft // 4, win_length=n_fft)
    Pr, Pe = stft(ref, cfg).abs().square(), stft(est, cfg).abs().square()
    f = torch.arange(Pr.shape[1], device=ref.device, dtype=torch.float32) * SR / n_fft
    miss = ((f[None, :] >= corner_hz[:, None]) & (f[None, :] < TOP_HZ))[:, :, None].float()
    kept = (f[None, :] < corner_hz[:, None])[:, :, None].float()
    level = 10 * torch.log10(Pr.sum(1, keepdim=True) + 1e-20)
    frames = (level > level.amax(-1, keepdim=True) - 40.0).float()
    return _lsd(Pr, Pe, miss, frames), _lsd(Pr, Pe, kept, frames)


def highs_loss(net: HighsNet, x, t, corner, told) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss (module docstring) and its parts."""
    y = extend(net, x, told)
    miss, kept = band_lsd(t, y, corner)
    extra = sum(band_lsd(t, y, corner, n_fft=n)[0].mean() for n in (512, 2048))
    loss = miss.mean() + kept.mean() + 0.1 * extra
    return loss, {"missing": float(miss.detach().mean()), "kept": float(kept.detach().mean())}


def validation_set(clips: np.ndarray, seed: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed rows: every chosen clip (its first 3 s) low-passed at each of :data:`VAL_CUTOFFS`
    (8th-order Butterworth, causal), levelled: ``(inputs, targets, corners)``."""
    idx = example_rng(seed, 9999).choice(len(clips), size=min(count, len(clips)), replace=False)
    xs, ts, cs = [], [], []
    for i in idx:
        t = clips[i][:CROP].astype(np.float64)
        for c in VAL_CUTOFFS:
            y = ss.sosfilt(ss.butter(8, c, fs=SR, output="sos"), t)
            g = level_gain(t)
            xs.append(y * g)
            ts.append(t * g)
            cs.append(c)
    return np.stack(xs).astype(np.float32), np.stack(ts).astype(np.float32), np.array(cs, np.float32)


def full_band(clips: np.ndarray) -> np.ndarray:
    """The clips whose effective bandwidth reaches :data:`MIN_BANDWIDTH_HZ`."""
    keep = [effective_bandwidth_hz(c, SR) >= MIN_BANDWIDTH_HZ for c in clips]
    return clips[np.asarray(keep, bool)]


@torch.no_grad()
def validate(net: HighsNet, vx, vt, vc, dev, batch: int = 32) -> dict[str, float]:
    net.eval()
    res: dict[str, list] = {}
    for b in range(0, len(vx), batch):
        x, t = torch.from_numpy(vx[b:b + batch]).to(dev), torch.from_numpy(vt[b:b + batch]).to(dev)
        c = torch.from_numpy(vc[b:b + batch]).to(dev)
        y = extend(net, x, c)
        for name, est in (("input", x), ("model", y)):
            miss, kept = band_lsd(t, est, c)
            for cut in VAL_CUTOFFS:
                sel = (c == cut).cpu().numpy()
                res.setdefault(f"{name}_missing_{int(cut)}", []).extend(miss.cpu().numpy()[sel].tolist())
                res.setdefault(f"{name}_kept_{int(cut)}", []).extend(kept.cpu().numpy()[sel].tolist())
    net.train()
    out = {k: float(np.mean(v)) for k, v in res.items()}
    out["score"] = float(np.mean([out[f"model_missing_{int(c)}"] for c in VAL_CUTOFFS]))
    return out


def train(*, data: list[str | Path], out: str | Path, seed: int = 0, steps: int | None = None,
          minutes: float | None = None, batch_size: int = 32, lr: float = 1e-3, workers: int = 0,
          device: str = "cpu", val_count: int = 48, val_every: int = 250, limit_clips: int | None = None,
          model_kwargs: dict[str, Any] | None = None, init: str | Path | None = None) -> dict[str, Any]:
    """Train :class:`HighsNet` on the ``train`` clips of ``data`` (validating on their ``val``
    clips where there are some, otherwise the last 5 % of each folder's) and save the best state
    as ``out/highs.*`` (float16). ``init``: start from the ``highs`` weights in that folder (their
    sizes; ``model_kwargs`` is then ignored). Returns the training record."""
    if steps is None and minutes is None:
        raise ParameterError("give --steps or --minutes (or both)")
    t0 = time.time()
    seed_run(seed, numpy_global=False)
    dev = torch.device(device)
    tr, va = [], []
    for d in data:
        clips = load_clips(d, "train", min_rms_dbfs=-50.0, exact=True, limit=limit_clips)[1]
        try:
            va.append(load_clips(d, "val", min_rms_dbfs=-50.0, exact=True, limit=limit_clips)[1])
        except ParameterError:
            cut = max(1, len(clips) // 20)
            clips, held = clips[:-cut], clips[-cut:]
            va.append(held)
        tr.append(clips)
    n_all = sum(len(c) for c in tr)
    train_clips = full_band(np.concatenate(tr))
    val_clips = full_band(np.concatenate(va))
    log.info("train clips %d of %d full band; val clips %d", len(train_clips), n_all, len(val_clips))
    vx, vt, vc = validation_set(val_clips, seed, val_count)
    init_rec = None
    if init is not None:
        from echoes.core.checkpoint import load_model

        net0, cfg0 = load_model(init, STEM, map_location="cpu")
        net = net0.float().to(dev)
        tr0 = cfg0.get("training", {})
        init_rec = {"from": str(init), "sha256": cfg0.get("sha256"), "steps": tr0.get("steps"),
                    "training": {k: v for k, v in tr0.items() if k not in ("history", "init")}}
    else:
        net = HighsNet(**(model_kwargs or {})).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-5)
    ds = HighsExamples(train_clips, seed=seed, size=2**31 - 1, noise_dir=None)
    total = steps if steps is not None else 10**9
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, sampler=range(total * batch_size),
                                         num_workers=workers, worker_init_fn=worker_init, drop_last=True,
                                         pin_memory=dev.type == "cuda", persistent_workers=workers > 0,
                                         prefetch_factor=4 if workers else None)
    budget = minutes * 60 if minutes is not None else None
    best: tuple[float, dict, dict] | None = None
    history: list[dict] = []
    t_start, step, run = time.time(), 0, {"loss": 0.0, "missing": 0.0, "kept": 0.0}
    first = validate(net, vx, vt, vc, dev)
    log.info("step 0: %s", " ".join(f"{k}={v:.3f}" for k, v in first.items()))
    for x, t, corner, told in loader:
        frac = step / steps if steps is not None else 0.0
        if budget is not None:
            frac = max(frac, (time.time() - t_start) / budget)
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * frac))
        x, t, corner, told = (v.to(dev, non_blocking=True) for v in (x, t, corner, told))
        loss, parts = highs_loss(net, x, t, corner, told)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        run["loss"] += float(loss.detach())
        run["missing"] += parts["missing"]
        run["kept"] += parts["kept"]
        step += 1
        if step % val_every == 0:
            best = _check(net, vx, vt, vc, dev, step, best, history, run, val_every, t_start)
    if step % val_every or best is None:
        best = _check(net, vx, vt, vc, dev, step, best, history, run, max(1, step % val_every), t_start)
    _score, state, metrics = best
    net.load_state_dict(state)
    rec = {"data": [str(d) for d in data], "train_clips": len(train_clips), "clips_before_full_band_rule": n_all,
           "val_clips": len(val_clips), "seed": seed, "steps": step, "best_step": metrics["step"],
           "batch_size": batch_size, "lr": lr, "minutes_budget": minutes, "crop_s": CROP / SR,
           "cutoff_range_hz": list(CUTOFF_RANGE), "filters": FILTERS, "device": str(dev), "commit": git_commit(),
           "wall_s": round(time.time() - t0, 1), "history": history, "weights_dtype": "float16",
           "init": init_rec,
           "recipe": "echoes.train.highs (random low-passes and horn resonances over full-band clean piano)",
           "loss": "missing-band LSD + kept-band LSD + 0.1 x missing-band LSD at n_fft 512 and 2048"}
    save_model(net.cpu().half(), out, STEM, extra={"stft": HIGHS_STFT.to_dict(), "sample_rate": SR,
                                                   "training": rec, "metrics": {"val": metrics}})
    log.info("saved %s: val %s", STEM, metrics)
    return rec


def _check(net, vx, vt, vc, dev, step, best, history, run, n, t_start):
    v = validate(net, vx, vt, vc, dev)
    v["step"] = step
    v.update({f"train_{k}": val / n for k, val in run.items()})
    for k in run:
        run[k] = 0.0
    history.append({k: round(float(x), 4) for k, x in v.items()})
    log.info("step %d %.0fs: %s", step, time.time() - t_start,
             " ".join(f"{k}={x:.3f}" for k, x in v.items() if k != "step"))
    if best is None or v["score"] < best[0]:
        best = (v["score"], {k: x.detach().cpu().clone() for k, x in net.state_dict().items()}, v)
    return best
