"""Copy the classifier's test figures from an ``echoes evaluate`` run into its weights' config.

Reads ``results.json`` (default ``docs/results/results.json``) and rewrites ``metrics.test`` of
``weights/classifier.json`` (the main test on unseen pieces and the two harder tests), naming
the commit and date the evaluation ran at; nothing else in the config changes.

    python tools/update_classifier_metrics.py docs/results/results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "results" / "results.json"
    r = json.loads(src.read_text())
    if r.get("quick"):
        raise SystemExit(f"{src} is a --quick run: its figures do not belong in the weights' config")
    cfg_path = ROOT / "weights" / "classifier.json"
    cfg = json.loads(cfg_path.read_text())
    commit = str(r.get("commit", "?"))
    test = {"source": f"python -m echoes evaluate at commit {commit[:7]}{commit[40:]} ({r.get('date', '?')[:10]}); "
                      "docs/results/results.json",
            "verdict": r["classifier"]["verdict"]}
    for key in ("classifier", "classifier_harder_piano", "classifier_harder_noise"):
        c = r[key]
        test[key] = {"windows": c["windows"], "accuracy_pct": c["accuracy_pct"],
                     "false_noisy_pct": c["false_noisy_pct"], "missed_noisy_pct": c["missed_noisy_pct"],
                     "network_accuracy_pct": c["network"]["accuracy_pct"]}
    cfg.setdefault("metrics", {})["test"] = test
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    print(f"{cfg_path} metrics.test updated from {src}")


if __name__ == "__main__":
    main()
