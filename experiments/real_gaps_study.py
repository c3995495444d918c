"""Study of gap filling on the real development recordings (issue 30; docs/GAPS.md).

    python experiments/real_gaps_study.py --real ../shared/data/real [--quick] [--ms 20,50,80]
        [--methods auto,janssen] [--gaps 12,5] [--seed 0]

Prints the tables of :func:`echoes.eval.real_gaps.render_real_gaps` and writes the JSON to
``--out``. Chooses nothing by itself: the settings in docs/GAPS.md were chosen from its output
on clean/dev only.
"""
from __future__ import annotations

import argparse
import json
import logging
import time

from echoes.eval.real_gaps import METHODS, real_gaps_section, render_real_gaps
from echoes.eval.real_material import load_role


def _register_studies() -> None:
    """Extra methods for the study only (not in the package): averages of two fills."""
    from echoes.restore.gaps.fill import REGISTRY, Method
    from echoes.restore.gaps.methods.janssen import fill_janssen
    from echoes.restore.gaps.methods.lsar import fill_lsar

    def mix(c, s, e):
        return 0.5 * (fill_lsar(c, s, e) + fill_janssen(c, s, e)), "mix"

    REGISTRY["mix"] = Method("mix", mix, "study: mean of lsar and janssen")
    import functools
    for ctx in (1.5, 3.0, 4.0, 6.0):
        for order in (20.0, 30.0, 40.0, 50.0, 60.0):
            name = f"lsar_c{ctx:g}_o{order:g}"
            fn = functools.partial(fill_lsar, order_ms=order, context_gaps=ctx)
            REGISTRY[name] = Method(name, (lambda f, n: lambda c, s, e: (f(c, s, e), n))(fn, name), "study")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", default="../shared/data/real")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--ms", default=None)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--gaps", default=None, help="short,long gaps per recording and length")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _register_studies()
    recs = load_role(a.real, "dev")
    t = time.perf_counter()
    d = real_gaps_section(recs, quick=a.quick, seed=a.seed, methods=a.methods.split(","),
                          gap_ms=[float(v) for v in a.ms.split(",")] if a.ms else None,
                          gaps_per_length=tuple(int(v) for v in a.gaps.split(",")) if a.gaps else None)
    print("\n".join(render_real_gaps(d)))
    print(f"{time.perf_counter() - t:.0f} s")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(d, f)


if __name__ == "__main__":
    main()
