"""Variants of ``transplant``'s settings on the real dev recordings (issue 30; docs/GAPS.md).

    python experiments/transplant_variants.py --real ../shared/data/real --ms 300,1000 --gaps 3
"""
from __future__ import annotations

import argparse
import itertools

import numpy as np

import echoes.restore.gaps.methods.transplant as tp
from echoes.eval.real_gaps import real_gaps_section
from echoes.eval.real_material import load_role

VARIANTS = {
    "base": {},
    "fir": {"TP_EQ": "fir"},
    "side0.3": {"TP_EQ_SIDE_S": 0.3},
    "side0.08": {"TP_EQ_SIDE_S": 0.08},
    "eq24": {"TP_MAX_EQ_DB": 24.0},
    "top1": {"TP_ALIGN_TOP": 1},
    "top3": {"TP_ALIGN_TOP": 3},
    "ctx2": {"TP_CONTEXT_S": 2.0},
    "ctx0.5": {"TP_CONTEXT_S": 0.5},
    "blend300": {"TP_BLEND_BELOW_MS": 300.0},
    "blend1000": {"TP_BLEND_BELOW_MS": 1001.0},
    "bridge50": {"TP_BRIDGE_MS": 50.0},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", default="../shared/data/real")
    ap.add_argument("--ms", default="300,1000")
    ap.add_argument("--gaps", type=int, default=3)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    recs = load_role(a.real, "dev")
    ms = [float(v) for v in a.ms.split(",")]
    base = real_gaps_section(recs, quick=False, seed=a.seed, methods=["copy-previous"], gap_ms=ms,
                             gaps_per_length=(1, a.gaps))
    defaults = {k: getattr(tp, k) for k in set(itertools.chain(*[v.keys() for v in VARIANTS.values()]))}
    for name in a.variants.split(","):
        for k, v in defaults.items():
            setattr(tp, k, v)
        for k, v in VARIANTS[name].items():
            setattr(tp, k, v)
        d = real_gaps_section(recs, quick=False, seed=a.seed, methods=["transplant"], gap_ms=ms,
                              gaps_per_length=(1, a.gaps))
        cells = []
        for key in d["per_length"]:
            r, c = d["per_length"][key]["transplant"], base["per_length"][key]["copy-previous"]
            cells.append(f"{key} ms: LSD {r['lsd']:.3f} (x{r['lsd'] / c['lsd']:.2f}) SNR {r['snr_db']:.2f}")
        print(f"{name:10s} " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
