"""`echoes evaluate --quick` end to end: every section runs and lands in results.json/.md (not claims)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from echoes.core import metrics
from echoes.eval import denoise
from echoes.eval.bench import synthetic_piano
from echoes.eval.classifier import eval_classifier
from echoes.eval.denoise import DENOISER_LABELS, PAPER_MODEL, eval_denoise
from echoes.eval.material import EVAL_RATE
from echoes.eval.oracle import ORACLES
from echoes.eval.report import PAPER_CLAIMS, render_markdown
from echoes.eval.run import run
from echoes.eval.stats import paired_difference
from echoes.models.registry import DEFAULT_DENOISER


def test_quick_evaluation_writes_every_section(tmp_path: Path) -> None:
    res = run(out=tmp_path, quick=True, seed=0)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["quick"] is True and data["paper_claims"] == PAPER_CLAIMS
    for proto in ("paper", "gramophone"):
        methods = data["denoise"]["protocols"][proto]["methods"]
        assert set(methods) >= {"do-nothing", "paper CAE", "fast"}
        assert DENOISER_LABELS[PAPER_MODEL] == "paper CAE" and DENOISER_LABELS[DEFAULT_DENOISER] == "fast"
        for v in methods.values():
            assert all(k in v for k in ("snr_db", "si_sdr_db", "mae", "stft_l1", "mag_snr_db"))
        assert methods["do-nothing"]["si_sdr_improvement_db"] == 0.0
        assert "visqol_moslqo" in methods["fast"]
        oracles = data["denoise"]["protocols"][proto]["oracles"]
        assert list(oracles) == list(ORACLES)
        # the ceiling of noisy-phase masking lies above the input on every protocol
        assert oracles["oracle phase-sensitive mask"]["snr_db"] > methods["do-nothing"]["snr_db"] + 3.0
        if metrics.visqol_available():
            assert all(1.0 <= v["visqol_moslqo"] <= 5.0 for v in methods.values())
    c = data["classifier"]
    assert c["windows"] == sum(v["n"] for v in c["by_condition"].values())
    assert sum(c["confusion"].values()) == c["windows"]
    assert 0.0 <= c["accuracy_pct"] <= 100.0
    assert "lpc" in data["inpaint"]["gap_snr"] and "janssen" in data["inpaint"]["gap_snr"]
    md = (tmp_path / "results.md").read_text()
    assert "Quick run" in md and "21.21" in md and "99.92" in md
    assert "ViSQOL MOS-LQO" in md
    assert "| oracle phase-sensitive mask |" in md
    for png in res["plots"]:
        assert (tmp_path / png).stat().st_size > 1000


def test_denoise_table_without_visqol(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without visqol-python the column is there, empty ("–"), and the other metrics still come."""
    monkeypatch.setattr(metrics, "visqol_available", lambda: False)
    monkeypatch.setattr(denoise, "denoise_methods", lambda weights, device: {"do-nothing": lambda y: y})
    res = eval_denoise([synthetic_piano(2.0, EVAL_RATE, seed=3)], input_snrs=())
    row = res["protocols"]["paper"]["methods"]["do-nothing"]
    assert row["visqol_moslqo"] is None and np.isfinite(row["snr_db"])
    md = render_markdown({"quick": True, "date": "today", "commit": "x", "material": "synthetic",
                          "denoise": res, "seconds": 1.0})
    line = next(ln for ln in md.splitlines() if ln.startswith("| do-nothing |"))
    assert line.split("|")[7].strip() == "–"
    assert "held-out piano" not in md
    # the held-out piano's tables follow the main ones, with their material named once
    md2 = render_markdown({"quick": True, "date": "today", "commit": "x", "material": "synthetic",
                           "denoise": res, "denoise_heldout_piano": res,
                           "denoise_heldout_piano_material": "piano Z", "seconds": 1.0})
    heads = [ln for ln in md2.splitlines() if ln.startswith("### De-noising")]
    assert [h.startswith("### De-noising, held-out piano") for h in heads] == [False, False, True, True]
    assert md2.count("Material: piano Z") == 1


def test_claims_table_reads_the_default_model_under_its_old_name() -> None:
    """results.json written before the registry keyed the default model "default": the claims
    table finds it there as under its name ("fast"), and prints the same row."""
    row = {"snr_db": 12.5, "mag_snr_db": 14.0, "mae": 0.01, "stft_l1": 0.05}
    paper = {"snr_db": 9.0, "mag_snr_db": 10.0, "mae": 0.02, "stft_l1": 0.07}

    def md(key: str) -> str:
        methods = {"do-nothing": paper, "paper CAE": paper, key: row}
        return render_markdown({"quick": True, "date": "today", "commit": "x", "material": "synthetic",
                                "denoise": {"protocols": {"paper": {"clips": 1, "methods": methods}}},
                                "seconds": 1.0})

    claim = lambda text: next(ln for ln in text.splitlines() if ln.startswith("| de-noising SNR"))  # noqa: E731
    assert claim(md("fast")) == claim(md("default"))
    assert "| 9.00 | 12.50 |" in claim(md("fast"))


def test_paired_difference_resamples_whole_pieces() -> None:
    """Gaps of one piece move together: resampling pieces gives a wider, honest interval."""
    rng = np.random.default_rng(5)
    piece_effect = rng.normal(1.0, 1.5, 8)  # each piece gains differently
    groups = np.repeat(np.arange(8), 12)
    d = piece_effect[groups] + rng.normal(0.0, 0.2, groups.size)
    zeros = [0.0] * groups.size
    by_gap = paired_difference(list(d), zeros, seed=1)
    by_piece = paired_difference(list(d), zeros, groups=list(groups), seed=1)
    assert by_piece["mean_db"] == pytest.approx(by_gap["mean_db"]) and by_piece["pieces"] == 8
    width = lambda r: r["ci95_db"][1] - r["ci95_db"][0]  # noqa: E731
    assert width(by_piece) > 2.5 * width(by_gap)
    assert by_piece["ci95_db"][0] < float(np.mean(piece_effect)) < by_piece["ci95_db"][1]
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [0.0, 0.0], groups=[0])


def test_paired_difference_interval() -> None:
    rng = np.random.default_rng(1)
    b = rng.normal(15.0, 4.0, 200)
    same = paired_difference(list(b + 1.0), list(b))  # a constant 1 dB better
    assert same["mean_db"] == pytest.approx(1.0) and same["ci95_db"] == pytest.approx([1.0, 1.0])
    noisy = paired_difference(list(b + 1.0 + rng.normal(0.0, 2.0, 200)), list(b), seed=3)
    lo, hi = noisy["ci95_db"]
    assert lo < noisy["mean_db"] < hi and 0.3 < hi - lo < 1.5  # about 2 * 1.96 * 2 / sqrt(200) = 0.55
    assert lo < 1.0 < hi and noisy["n"] == 200
    assert paired_difference([], [])["mean_db"] is None


def test_classifier_threshold_sweep_matches_the_verdict() -> None:
    """With the network switched off (threshold inf) the recorded windows hold the searches'
    verdict; "p >= the weights' threshold or a search found something" must then reproduce the
    verdict of a normal run, window by window, on the same draws."""
    from echoes.restore.classify import Classifier

    clips = [synthetic_piano(5.0, seed=3)]
    own = eval_classifier(clips, seed=5, keep_windows=True)
    assert "window_rows" not in eval_classifier(clips, seed=5)
    off = eval_classifier(clips, seed=5, threshold=float("inf"), keep_windows=True)
    thr = Classifier.load().threshold
    assert own["threshold"] == thr and off["threshold"] == float("inf")
    a, b = own["window_rows"], off["window_rows"]
    assert len(a) == len(b) == own["windows"] == 9  # as is, quiet, Ogg, six presets
    assert [r[:3] for r in a] == [r[:3] for r in b]  # same windows, truths and p_noisy
    assert [r[3] for r in a] == [(r[2] >= thr) or r[3] for r in b]
    assert not off["network"]["confusion"]["clean_called_noisy"] and not off["network"]["confusion"]["noisy_called_noisy"]
