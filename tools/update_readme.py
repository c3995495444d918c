"""Copy results.md (from `python -m echoes evaluate`) into README.md between the results markers.

Usage: python tools/update_readme.py [results/results.md]
The README's Results section is never typed by hand: it is this copy, with image links
rewritten to point at the committed plots in docs/results/.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "results.md"
    text = src.read_text()
    docs = ROOT / "docs" / "results"
    docs.mkdir(parents=True, exist_ok=True)
    for png in src.parent.glob("*.png"):
        shutil.copy2(png, docs / png.name)
    shutil.copy2(src, docs / "results.md")
    json_src = src.parent / "results.json"
    if json_src.exists():
        shutil.copy2(json_src, docs / "results.json")
    text = re.sub(r"!\[([^\]]*)\]\(([^)/]+\.png)\)", r"![\1](docs/results/\2)", text)
    readme = ROOT / "README.md"
    body = readme.read_text()
    if START not in body or END not in body:
        raise SystemExit(f"README.md lacks the markers {START} … {END}")
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda m: f"{START}\n{text.strip()}\n{END}", body,
                 flags=re.S)
    readme.write_text(new)
    print(f"README.md results section updated from {src}")


if __name__ == "__main__":
    main()
