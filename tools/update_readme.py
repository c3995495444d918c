"""Copy results.md (from `python -m echoes evaluate`) into README.md between a section's markers.

Usage: python tools/update_readme.py [results/results.md] [--section NAME]
The section ``results`` (default) sits between ``<!-- results:start -->`` and
``<!-- results:end -->`` and its files are kept in docs/results/; another section NAME (e.g.
``real``, made by `evaluate --real DIR --real-only`) between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``, with its files in docs/results/NAME/. The README's result tables are
never typed by hand: they are these copies, with image links pointing at the committed plots.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", nargs="?", default=str(ROOT / "results" / "results.md"))
    ap.add_argument("--section", default="results")
    args = ap.parse_args()
    src = Path(args.src)
    start, end = f"<!-- {args.section}:start -->", f"<!-- {args.section}:end -->"
    text = src.read_text()
    docs = ROOT / "docs" / "results" if args.section == "results" else ROOT / "docs" / "results" / args.section
    docs.mkdir(parents=True, exist_ok=True)
    for png in src.parent.glob("*.png"):
        shutil.copy2(png, docs / png.name)
    shutil.copy2(src, docs / "results.md")
    json_src = src.parent / "results.json"
    if json_src.exists():
        shutil.copy2(json_src, docs / "results.json")
    rel = docs.relative_to(ROOT).as_posix()
    text = re.sub(r"!\[([^\]]*)\]\(([^)/]+\.png)\)", rf"![\1]({rel}/\2)", text)
    readme = ROOT / "README.md"
    body = readme.read_text()
    if start not in body or end not in body:
        raise SystemExit(f"README.md lacks the markers {start} … {end}")
    new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: f"{start}\n{text.strip()}\n{end}", body,
                 flags=re.S)
    readme.write_text(new)
    print(f"README.md section {args.section!r} updated from {src}")


if __name__ == "__main__":
    main()
