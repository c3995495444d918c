"""Where the default de-noiser's error lies: magnitude or phase (development data, never test).

The val-split examples of ``experiments/compare_denoisers.py`` (seed 99: even rows 0 dB white noise
at 22,050 Hz, odd rows the gramophone chain with the ``dev`` part of the training noise clips).
The model's output is analysed again on the paper's grid (its STFT as the waveform really has
it), and its magnitude and phase are swapped one at a time for the clean signal's, beside the
noisy phase and the oracle phase-sensitive mask (:mod:`echoes.eval.oracle`). Prints mean output SNR
(dB) per protocol, and the phase error (radians, weighted by the clean signal's energy per
bin) of the noisy input and of the model, overall and by the bin's own SNR.

    python experiments/denoise_error_budget.py --noise-dir ../shared/data/noise [--weights weights] [--rows 160]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from echoes.data import corpus as C
from echoes.train import denoiser as T
from echoes.core.checkpoint import load_model
from echoes.core.metrics import snr_db
from echoes.eval.oracle import masks
from echoes.core.spectral import PAPER_STFT, istft, stft


def _unit(Z: torch.Tensor) -> torch.Tensor:
    return Z / Z.abs().clamp_min(1e-12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--noise-dir", required=True)
    ap.add_argument("--weights", default="weights")
    ap.add_argument("--rows", type=int, default=160, help="first N validation rows (half per protocol)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    clips = np.stack([audio for _, audio, _ in C.iter_clips(a.corpus, "val", sample_rate=T.SR,
                                                            min_rms_dbfs=T.MIN_RMS_DBFS)])
    vx, vt = T.validation_set(clips, seed=99, noise_dir=a.noise_dir, count=len(clips), noise_split="dev")
    vx, vt = vx[: a.rows], vt[: a.rows]
    n = vx.shape[-1]
    net, _ = load_model(a.weights, "denoiser")
    net = net.float().eval()
    with torch.inference_mode():
        y = torch.cat([net.enhance(torch.from_numpy(vx[b:b + 8])) for b in range(0, len(vx), 8)])
    Y, S, X = stft(y, PAPER_STFT), stft(torch.from_numpy(vt), PAPER_STFT), stft(torch.from_numpy(vx), PAPER_STFT)
    oracle = masks(S, X)
    rows = {
        "model": Y,
        "model magnitude, clean phase": Y.abs() * _unit(S),
        "clean magnitude, model phase": S.abs() * _unit(Y),
        "clean magnitude, noisy phase": oracle["oracle magnitude, noisy phase"],
        "oracle phase-sensitive mask": oracle["oracle phase-sensitive mask"],
    }
    print(f"{len(vx)} val rows ({len(vx[0::2])} at 0 dB white noise, {len(vx[1::2])} gramophone), "
          f"weights {a.weights}")
    print(f"{'output SNR (dB)':32s} {'white':>7s} {'gramophone':>11s}")
    for name, Z in rows.items():
        est = istft(Z, PAPER_STFT, length=n).numpy()
        s = np.array([snr_db(c, e) for c, e in zip(vt, est)])
        print(f"{name:32s} {s[0::2].mean():7.2f} {s[1::2].mean():11.2f}")
    w = S.abs() ** 2
    err = {"noisy": torch.angle(X * S.conj()).abs(), "model": torch.angle(Y * S.conj()).abs()}
    local = 10 * torch.log10(w / ((X - S).abs() ** 2).clamp_min(1e-20))
    for proto, sl in (("white", slice(0, None, 2)), ("gramophone", slice(1, None, 2))):
        ws = w[sl]
        print(f"\n{proto}: phase error (rad, energy-weighted) noisy "
              f"{float((err['noisy'][sl] * ws).sum() / ws.sum()):.3f}, model "
              f"{float((err['model'][sl] * ws).sum() / ws.sum()):.3f}")
        for lo, hi in ((-99, 0), (0, 5), (5, 10), (10, 20), (20, 99)):
            sel = (local[sl] >= lo) & (local[sl] < hi)
            wb = ws[sel]
            if float(wb.sum()) <= 0:
                continue
            print(f"  bins at {lo:>3d}..{hi:<3d} dB SNR: {float(wb.sum() / ws.sum()):6.1%} of the energy, "
                  f"phase error noisy {float((err['noisy'][sl][sel] * wb).sum() / wb.sum()):.3f} "
                  f"model {float((err['model'][sl][sel] * wb).sum() / wb.sum()):.3f}")


if __name__ == "__main__":
    main()
