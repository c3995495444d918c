"""``echoes evaluate``: every claim of the paper, and ours, measured by one command.

:func:`run` rebuilds the held-out test material (:mod:`echoes.eval.material`: the corpus's
*test* split, pieces never seen in training; docs/DATA.md), runs every method on it in the same
run and writes to ``out``: ``results.json`` (every number, keys in the order below),
``results.md`` (:func:`echoes.eval.report.render_markdown`, the tables the README shows) and
PNG plots (:mod:`echoes.eval.figures`). The sections, each stating its protocol:

- the classifier on every test clip, plus harder tests (:mod:`echoes.eval.classifier`);
- de-noising on the paper's and the gramophone protocol, with oracle ceilings
  (:mod:`echoes.eval.denoise`, :mod:`echoes.eval.oracle`);
- inpainting on whole pieces, band-limited pieces and the held-out piano (:mod:`echoes.eval.inpaint`);
- high-frequency extension of the pieces low-passed at 4 and 7 kHz (:mod:`echoes.eval.highs`).

Every draw is seeded from ``seed``: a run is reproducible. ``quick`` uses a few synthetic
piano-like clips instead (no corpus, no downloads, under a minute): it checks the machinery end
to end; its numbers are not claims.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
from pathlib import Path
from typing import Any

from echoes import __version__
from echoes.restore.files import json_default
from echoes.core import audio as eaudio
from echoes.core.checkpoint import git_commit
from echoes.core.hub import resolve_weights, verify_folder
from echoes.eval.classifier import eval_classifier
from echoes.eval.denoise import eval_denoise
from echoes.eval.figures import plots
from echoes.eval.highs import highs_section
from echoes.eval.inpaint import inpaint_section
from echoes.eval.material import ALL_CLIPS, EVAL_RATE, test_material
from echoes.eval.real_report import run_real
from echoes.eval.report import PAPER_CLAIMS, render_markdown

log = logging.getLogger(__name__)

#: The sections on the rendered corpus, in the order they run.
CORPUS_SECTIONS = ("classifier", "denoise", "inpaint", "highs")
#: The gap-filling methods compared on band-limited pieces (short gaps only).
BAND_LIMITED_METHODS = ("zero", "lpc", "janssen", "lsar", "auto")


def run(*, out: str | Path, quick: bool = False, corpus: str | Path | None = None, noise_dir=None,
        weights=None, device: str = "cpu", seed: int = 0, n_clips: int | None = None,
        real: str | Path | None = None, corpus_sections: bool | tuple[str, ...] = True,
        real_sections: tuple[str, ...] = ("classifier", "denoise", "historic", "gaps", "highs")) -> dict[str, Any]:
    """The whole evaluation (see the module docstring): writes results.json, results.md and the
    plots to ``out`` and returns the results dict. ``n_clips``: the de-noiser's seeded sample.
    ``real``: a folder of real recordings (:mod:`echoes.eval.real_report`), whose tables come
    first; ``corpus_sections=False`` runs those alone, a tuple of ``"classifier"``, ``"denoise"``,
    ``"inpaint"``, ``"highs"`` only those corpus sections."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = resolve_weights(weights)
    n_clips = n_clips or (3 if quick else 100)
    results_head = {"real": run_real(real, weights=weights, device=device, quick=quick, seed=seed,
                                     sections=real_sections)} if real else {}
    if not corpus_sections:
        return _write(out, {"quick": quick, "date": _dt.date.today().isoformat(), "commit": git_commit() or "unknown",
                            "echoes_version": __version__, "material": "real recordings only",
                            "weights": {"folder": str(weights), "sha256": verify_folder(weights)},
                            "corpus_sections": False, **results_head}, t0)
    mat = test_material(corpus=corpus, quick=quick, n_clips=n_clips, n_pieces=2 if quick else 6, seed=seed)
    results: dict[str, Any] = {
        "quick": quick, "date": _dt.date.today().isoformat(), "commit": git_commit() or "unknown",
        "echoes_version": __version__, "material": mat["source"], "paper_claims": PAPER_CLAIMS,
        "noise_dir": str(noise_dir) if noise_dir else None, "seed": seed,
        "weights": {"folder": str(weights), "sha256": verify_folder(weights)}, **results_head,
    }
    wanted = CORPUS_SECTIONS if corpus_sections is True else tuple(corpus_sections)
    results["corpus_sections"] = list(wanted)
    hp = None
    if "classifier" in wanted:
        hp = _classifier_results(results, mat, quick=quick, corpus=corpus, noise_dir=noise_dir, weights=weights,
                                 seed=seed)
    if "denoise" in wanted:
        _denoise_results(results, mat, hp, quick=quick, corpus=corpus, noise_dir=noise_dir, weights=weights,
                         device=device, seed=seed, n_clips=n_clips)
    if "inpaint" in wanted:
        _inpaint_results(results, mat, hp, quick=quick, seed=seed)
    if "highs" in wanted:
        log.info("high-frequency extension on %d band-limited pieces", len(mat["pieces"]))
        results["highs"] = highs_section(mat["pieces"], quick=quick)
    results["plots"] = plots(results, out)
    return _write(out, results, t0)


def _write(out: Path, results: dict[str, Any], t0: float) -> dict[str, Any]:
    """Time the run and write results.json and results.md into ``out``."""
    results["seconds"] = round(time.perf_counter() - t0, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=json_default) + "\n")
    (out / "results.md").write_text(render_markdown(results))
    return results


def _classifier_results(results: dict[str, Any], mat: dict[str, Any], *, quick: bool, corpus, noise_dir,
                        weights, seed: int) -> dict[str, Any] | None:
    """Add the classifier's sections to ``results``: every test clip, then (not ``quick``) the
    held-out piano and the held-out noise clips. Returns the held-out piano's material, or ``None``."""
    # The classifier is scored on every clip of the test split (a 0.08 % error rate needs
    # more than 1,250 windows to be measurable at all); the de-noiser on the first 24 of the
    # seeded sample of ``n_clips``.
    cmat = mat if quick else test_material(corpus=corpus, quick=False, n_clips=ALL_CLIPS, n_pieces=0, seed=seed)
    results["classifier_material"] = cmat["source"]
    log.info("classifier on %d clips", len(cmat["clips"]))
    results["classifier"] = eval_classifier(cmat["clips"], weights=weights, noise_dir=noise_dir,
                                            noise_split="train", seed=seed, clip_ids=cmat["clip_ids"])
    hp = None
    if not quick:
        try:
            hp = test_material(corpus=corpus, quick=False, n_clips=ALL_CLIPS, n_pieces=ALL_CLIPS, seed=seed,
                               heldout_piano=True)
            results["classifier_harder_piano_material"] = hp["source"]
            results["classifier_harder_piano"] = eval_classifier(hp["clips"], weights=weights, noise_dir=noise_dir,
                                                                 noise_split="train", seed=seed + 1,
                                                                 clip_ids=hp["clip_ids"])
        except Exception as exc:  # the corpus may have no held-out-piano split
            log.warning("harder test (held-out piano) skipped: %s", exc)
        if noise_dir:
            results["classifier_harder_noise"] = eval_classifier(cmat["clips"], weights=weights, noise_dir=noise_dir,
                                                                 noise_split="test", seed=seed + 2,
                                                                 clip_ids=cmat["clip_ids"])
    return hp


def _denoise_results(results: dict[str, Any], mat: dict[str, Any], hp: dict[str, Any] | None, *, quick: bool,
                     corpus, noise_dir, weights, device: str, seed: int, n_clips: int) -> None:
    """Add the de-noising sections to ``results``: the first 24 clips of ``mat`` (3 if ``quick``),
    then a seeded sample of the held-out piano's clips where ``hp`` found that piano."""
    log.info("de-noising on %d clips", len(mat["clips"]))
    dn_clips = mat["clips"][: (3 if quick else 24)]
    results["denoise"] = eval_denoise(dn_clips, weights=weights, noise_dir=noise_dir, device=device, seed=seed,
                                      input_snrs=(0.0, 10.0) if quick else (-5.0, 0.0, 5.0, 10.0, 20.0))
    if not quick and hp is not None:
        # the same protocols on the piano that no training saw (a seeded sample, as above)
        hmat = test_material(corpus=corpus, quick=False, n_clips=n_clips, n_pieces=0, seed=seed, heldout_piano=True)
        if hmat["clips"]:
            log.info("de-noising on %d held-out-piano clips", min(24, len(hmat["clips"])))
            results["denoise_heldout_piano_material"] = hmat["source"]
            results["denoise_heldout_piano"] = eval_denoise(hmat["clips"][:24], weights=weights, noise_dir=noise_dir,
                                                            device=device, seed=seed, input_snrs=())


def _inpaint_results(results: dict[str, Any], mat: dict[str, Any], hp: dict[str, Any] | None, *, quick: bool,
                     seed: int) -> None:
    """Add the inpainting sections to ``results``: the test pieces, the same band-limited, and
    the held-out piano's pieces where ``hp`` holds them."""
    log.info("inpainting on %d pieces", len(mat["pieces"]))
    results["inpaint"] = inpaint_section(mat["pieces"], quick, seed)
    # the same short gaps in band-limited audio: the pieces through 22.05 kHz and back, as a
    # transfer made at that rate, or the de-noiser's output (the gaps are filled after it)
    log.info("inpainting on %d band-limited pieces", len(mat["pieces"]))
    narrow = [eaudio.resample(eaudio.resample(p, EVAL_RATE, 22_050), 22_050, EVAL_RATE) for p in mat["pieces"]]
    results["inpaint_band_limited"] = inpaint_section(
        narrow, quick, seed, detection=False, gap_ms=(10, 20, 50, 80), methods=BAND_LIMITED_METHODS)
    if not quick and hp is not None and hp["pieces"]:
        log.info("inpainting on %d held-out-piano pieces", len(hp["pieces"]))
        results["inpaint_heldout_piano"] = inpaint_section(hp["pieces"], quick, seed, detection=False)
