"""Choose classifier weights and threshold on the real development recordings (never on test data).

For each weights folder: every window of every development recording (``REAL/clean/dev``) in
every variant of :mod:`echoes.eval.codecs` gets the network's ``p_noisy`` (band limits counted as
in :meth:`echoes.restore.classify.ClassifierResult.noisy_windows`), and every window with sound
of the historic transfers too. Printed per threshold: the worst variant's share of clean windows
judged noisy, the files judged noisy, and the lowest share of noisy windows over the historic
transfers. The acceptance of issue 29: at most 0.5 % and no file on every variant, at least 95 %
on every transfer.

    python experiments/choose_classifier_threshold.py --real ../shared/data/real weights CAND [...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from echoes.eval.codecs import VARIANTS, variant  # noqa: E402
from echoes.eval.real import _window_sound  # noqa: E402
from echoes.eval.real_material import load_role  # noqa: E402
from echoes.restore.classify import Classifier  # noqa: E402

THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99)


def collect(clf: Classifier, dev, historic, variants) -> dict:
    """Per variant and recording: window p_noisy and band flags; per transfer: the same, with sound."""
    out = {"dev": {}, "historic": {}}
    for name in variants:
        for rec in dev:
            x, sr = variant(rec.audio, rec.sample_rate, name)
            r = clf.classify(x, sr, dropouts=False, clicks=False)
            out["dev"].setdefault(name, {})[rec.name] = [(s.p_noisy, s.band_limit_hz is not None) for s in r.segments]
    for rec in historic:
        r = clf.classify(rec.audio, rec.sample_rate, dropouts=False, clicks=False)
        sound = _window_sound(rec.mono, rec.sample_rate, r.segments)
        out["historic"][rec.name] = [(s.p_noisy, s.band_limit_hz is not None) for s, w in zip(r.segments, sound) if w]
    return out


def table(raw: dict) -> list[str]:
    lines = ["threshold | worst variant false-noisy % (variant) | files noisy (any variant) | worst historic % (file)"]
    for t in THRESHOLDS:
        worst, wv, files = 0.0, "", set()
        for v, recs in raw["dev"].items():
            flags = [(p >= t or b) for w in recs.values() for p, b in w]
            pct = 100.0 * sum(flags) / max(len(flags), 1)
            if pct > worst:
                worst, wv = pct, v
            for name, w in recs.items():
                if np.quantile([float(p >= t) for p, _ in w], 0.75) >= 0.5:
                    files.add(f"{name}@{v}")
        hist = {n: 100.0 * sum((p >= t or b) for p, b in w) / max(len(w), 1) for n, w in raw["historic"].items()}
        hn = min(hist, key=hist.get)
        lines.append(f"{t:.2f} | {worst:.2f} ({wv}) | {len(files)} {sorted(files)[:3]} | {hist[hn]:.1f} ({hn})")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default=None, help="save the raw window figures as JSON")
    ap.add_argument("weights", nargs="+")
    args = ap.parse_args()
    dev, historic = load_role(args.real, "dev"), load_role(args.real, "historic")
    raws = {}
    for w in args.weights:
        raw = collect(Classifier.load(w), dev, historic, args.variants.split(","))
        raws[w] = raw
        print(f"== {w}")
        print("\n".join(table(raw)), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(raws))


if __name__ == "__main__":
    main()
