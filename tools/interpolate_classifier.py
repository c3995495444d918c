#!/usr/bin/env python
"""Interpolate two classifier checkpoints of one lineage (weight averaging, a "model soup").

``OUT = (1 - alpha) * A + alpha * B`` for every floating-point tensor (weights, biases and the
batch-norm running statistics); integer tensors (batch-norm step counts) are taken from B. A
and B must share the architecture, and B should be a fine-tune of A (or both of one parent):
averaging unrelated networks gives nonsense. The config is B's, with both parents recorded
under ``training`` and the threshold given by ``--threshold`` (default: B's).

    python tools/interpolate_classifier.py A_DIR B_DIR --alpha 0.5 --out OUT_DIR [--threshold 0.8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def interpolate(a_dir: str, b_dir: str, alpha: float, out: str, threshold: float | None = None) -> Path:
    import torch

    from echoes.core.checkpoint import load_model, save_model

    if not 0.0 <= alpha <= 1.0:
        raise SystemExit(f"alpha must be in [0, 1], got {alpha}")
    ma, ca = load_model(a_dir, "classifier")
    mb, cb = load_model(b_dir, "classifier")
    if ma.kwargs != mb.kwargs:
        raise SystemExit(f"the two checkpoints differ in architecture: {ma.kwargs} vs {mb.kwargs}")
    sa, sb = ma.state_dict(), mb.state_dict()
    mixed = {k: torch.lerp(sa[k], sb[k], alpha) if sb[k].is_floating_point() else sb[k] for k in sb}
    mb.load_state_dict(mixed)
    extra = {k: v for k, v in cb.items() if k not in ("name", "class", "kwargs", "parameters", "sha256", "versions")}
    extra["threshold"] = cb.get("threshold", 0.5) if threshold is None else float(threshold)
    extra["training"] = {
        "method": f"weight interpolation (1 - alpha) * A + alpha * B, alpha {alpha} "
                  "(tools/interpolate_classifier.py)",
        "alpha": alpha,
        "A": {"sha256": ca.get("sha256"), "training": ca.get("training")},
        "B": {"sha256": cb.get("sha256"), "training": cb.get("training")},
    }
    extra.pop("metrics", None)  # the parents' validation figures do not describe the mixture
    return save_model(mb.eval(), out, "classifier", extra=extra)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", help="folder of checkpoint A (alpha 0)")
    ap.add_argument("b", help="folder of checkpoint B (alpha 1)")
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threshold", type=float, default=None)
    args = ap.parse_args(argv)
    print(interpolate(args.a, args.b, args.alpha, args.out, args.threshold))
    return 0


if __name__ == "__main__":
    sys.exit(main())
