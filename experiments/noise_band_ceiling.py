"""Ceilings of a noise-band fill (issue 30; docs/GAPS.md, "Long gaps: the noise band").

For the long gaps of the real dev recordings (seed 0, the placement of ``echoes evaluate
--real``), simulates in the evaluator's own frames (n_fft 2048, hop 512) a Gaussian fill around
a target log spectrum and prints its mean squared log10 error per bin at 4-16 kHz, for targets:
the sides' mean (300 ms each side, interpolated across the gap), the mean of the two sides, the
clean gap's own mean over its frames (an oracle) and the clean gap smoothed over ±4 frames (an
oracle); ``noise_vs_noise`` is the error if the truth were itself Gaussian around the sides' target.

    python experiments/noise_band_ceiling.py --real ../shared/data/real
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy.ndimage import uniform_filter1d

from echoes.eval.gaps import damage
from echoes.eval.real_gaps import LSD_FLOOR, RATE, _frame_power, _mono44
from echoes.eval.real_material import load_role


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", default="../shared/data/real")
    ap.add_argument("--ms", default="500,1000")
    a = ap.parse_args()
    recs = load_role(a.real, "dev")
    f = np.fft.rfftfreq(2048, 1 / RATE)
    sel = (f >= 4000) & (f < 16000)
    rng0 = np.random.default_rng(5)
    for ms in [int(v) for v in a.ms.split(",")]:
        length = int(round(ms * RATE / 1000))
        margin = 4 * length + int(0.2 * RATE)
        res: dict[str, list] = {k: [] for k in ("sides", "sides_mean", "truth_mean", "truth_smooth_t",
                                                "noise_vs_noise")}
        for k, r in enumerate(recs):
            x = _mono44(r)
            gaps, _ = damage(x, RATE, length, 5, margin=margin, rng=np.random.default_rng([0, ms * 1000, k]))
            for g in gaps:
                cen = np.arange(-(-g.start // 512) * 512, g.end, 512)
                t = np.log10(_frame_power(x, cen) + LSD_FLOOR)[:, sel]
                side = int(0.3 * RATE)
                ml = np.log10(_frame_power(x, np.arange(g.start - side + 1024, g.start - 1024, 512)) + 1e-20)[:, sel].mean(0)
                mr = np.log10(_frame_power(x, np.arange(g.end + 1024, g.end + side - 1024, 512)) + 1e-20)[:, sel].mean(0)
                rr = np.clip((cen - g.start) / length, 0, 1)[:, None]
                target = (1 - rr) * ml + rr * mr
                gum = np.log10(rng0.exponential(size=t.shape))

                def err(tg: np.ndarray) -> float:
                    return float(np.mean((t - np.maximum(tg + 0.2507 + gum, -12)) ** 2))
                res["sides"].append(err(target))
                res["sides_mean"].append(err(np.broadcast_to((ml + mr) / 2, t.shape)))
                res["truth_mean"].append(err(np.broadcast_to(t.mean(0), t.shape)))
                res["truth_smooth_t"].append(err(uniform_filter1d(t, 9, axis=0)))
                other = target + 0.2507 + np.log10(rng0.exponential(size=t.shape))
                res["noise_vs_noise"].append(float(np.mean((other - np.maximum(target + 0.2507 + gum, -12)) ** 2)))
        print(ms, {k: round(float(np.mean(v)), 3) for k, v in res.items()}, flush=True)


if __name__ == "__main__":
    main()
