"""Isolated clicks: the AR-residual search beside the classifier, and their repair in restore.

Synthetic signals only: notes with 3-ms attacks (abrupt note edges would be genuine clicks).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal

from echoes.restore.declick import _ar_coeffs, _residual, click_candidates, find_clicks, repair_clicks
from echoes.errors import NonFiniteError, ParameterError

SR = 44_100


def music(seconds: float = 4.0, *, seed: int = 0, sr: int = SR) -> np.ndarray:
    """Overlapping decaying harmonic notes, one every 0.25 to 0.6 s, loud and soft; peak 0.5."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n)
    pos = 0
    while pos < n:
        f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
        vel = rng.uniform(0.2, 1.0)
        t = np.arange(min(int(2.0 * sr), n - pos)) / sr
        note = sum((0.6**k) * np.sin(2 * np.pi * k * f0 * np.sqrt(1 + 1e-4 * k * k) * t + rng.uniform(0, 6.3))
                   for k in range(1, 10) if k * f0 < sr / 2.5)
        x[pos : pos + t.size] += vel * note * np.exp(-t * 2.0) * np.minimum(1.0, t / 0.003)
        pos += int(rng.uniform(0.25, 0.6) * sr)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def with_click(x: np.ndarray, at_s: float, *, rel: float = 0.1, ms: float = 0.2, sr: int = SR) -> np.ndarray:
    """``x`` with one spike (a sudden rise, an exponential decay over ``ms`` ms, as a disc's
    click) whose peak is ``rel`` times the music's peak."""
    y = x.copy()
    m = max(2, int(ms * 1e-3 * sr))
    a = int(at_s * sr)
    y[a : a + m] += rel * float(np.max(np.abs(x))) * np.exp(-np.arange(m) / (m / 4))
    return y


def test_residual_matches_the_block_by_block_reference():
    """The vectorised AR residual equals one model per block, fitted and filtered one by one."""
    x = music(1.3, seed=3).astype(np.float64)
    p = 32
    e, scale, coeffs, block = _residual(x, SR, p)
    ref = np.zeros_like(x)
    for b in range(int(np.ceil(x.size / block))):
        s0, s1 = b * block, min(x.size, (b + 1) * block)
        a = _ar_coeffs(x[max(0, s0 - block // 2) : min(x.size, s1 + block // 2)], p)
        np.testing.assert_allclose(coeffs[b], a, rtol=1e-6, atol=1e-6)
        h0 = max(0, s0 - p)
        ref[s0:s1] = scipy.signal.lfilter(a, [1.0], x[h0:s1])[s0 - h0 :]
    np.testing.assert_allclose(e, ref, atol=1e-6 * np.max(np.abs(x)))
    assert scale.shape == x.shape and np.all(scale > 0)


def test_a_faint_click_is_found_where_it_is_and_clean_music_has_none():
    x = music(seed=1)
    assert find_clicks(x, SR) == []
    y = with_click(x, 2.345, rel=0.1)
    found = find_clicks(y, SR)
    assert len(found) == 1
    assert abs(found[0]["start"] - 2.345) < 0.002 and found[0]["end"] - found[0]["start"] < 0.004
    # stereo is mixed to mono; the times stay in seconds
    assert len(find_clicks(np.stack([y, y]), SR)) == 1
    assert json.loads(json.dumps(found)) == found


def test_note_attacks_and_quiet_flicker_are_not_clicks():
    """Attacks as sharp as a click (two samples) over a held chord: strong impulses in the AR
    residual, but the music is louder after them, so not clicks. The 16-bit tail of a fading
    piece is far under the music's level."""
    t = np.arange(3 * SR) / SR
    chord = 0.2 * (np.sin(2 * np.pi * 196 * t) + np.sin(2 * np.pi * 247 * t)) * np.exp(-t)
    x = chord.copy()
    for at in (0.8, 1.6, 2.2):
        k = t >= at
        tt = t[k] - at
        x[k] += 0.5 * np.cos(2 * np.pi * 880 * tt) * np.exp(-tt * 4) * np.minimum(1.0, tt / 5e-5)
    assert find_clicks(x.astype(np.float32), SR) == []
    assert len(find_clicks(x.astype(np.float32), SR, onset_ratio=1e9)) == 3  # what the onset test rejects
    tail = np.round(music(seed=2) * np.exp(-np.arange(4 * SR) / (0.4 * SR)) * 32768) / 32768
    assert find_clicks(tail.astype(np.float32), SR) == []


def test_click_candidates_report_their_features():
    y = with_click(music(seed=4), 1.5, rel=0.3)
    c = [d for d in click_candidates(y, SR) if abs(d["start"] / SR - 1.5) < 0.002]
    assert len(c) == 1
    assert c[0]["score"] > 60 and c[0]["level_db"] > -20 and c[0]["onset_ratio"] < 3 and c[0]["ms"] < 4


def test_find_clicks_rejects_bad_input():
    with pytest.raises(ParameterError):
        find_clicks(np.zeros((2, 2, 100)), SR)
    with pytest.raises(NonFiniteError):
        find_clicks(np.full(SR, np.nan), SR)


def test_repair_clicks_changes_only_the_click():
    x = music(seed=5)
    y = with_click(x, 1.7, rel=0.2)
    found = find_clicks(y, SR)
    assert len(found) == 1
    out, replaced = repair_clicks(np.stack([y, y]), SR, found)
    assert out.shape == (2, y.size) and out.dtype == np.float32
    changed = np.flatnonzero(out[0] != y)
    assert 0 < replaced < 0.003 * SR and changed.size <= replaced
    assert abs(changed.min() / SR - 1.7) < 0.002 and abs(changed.max() / SR - 1.7) < 0.003
    a, b = int(1.69 * SR), int(1.71 * SR)
    err_before = np.sum((y[a:b] - x[a:b]) ** 2)
    err_after = np.sum((out[0, a:b] - x[a:b]) ** 2)
    assert err_after < err_before / 10  # at least 10 dB less error around the click
    np.testing.assert_array_equal(out[0], out[1])


def test_long_inputs_are_searched_in_chunks_with_the_same_result(monkeypatch):
    """Chunks start on the block grid with two blocks of context: the same events, features and
    all, as one pass over the whole signal."""
    import echoes.restore.declick as declick

    y = with_click(with_click(music(6.0, seed=8), 1.0, rel=0.2), 2.9, rel=0.1)
    whole = click_candidates(y, SR)
    monkeypatch.setattr(declick, "CHUNK_S", 0.5)
    chunked = click_candidates(y, SR)
    assert len(chunked) == len(whole) > 2
    for a, b in zip(whole, chunked):
        assert (a["start"], a["end"]) == (b["start"], b["end"])
        assert a["score"] == pytest.approx(b["score"], rel=1e-4)
        assert a["level_db"] == pytest.approx(b["level_db"], abs=1e-3)
        assert a["onset_ratio"] == pytest.approx(b["onset_ratio"], rel=1e-6)


def test_chunks_on_two_threads_give_what_one_thread_gives(monkeypatch):
    """Chunks searched two at a time on two threads: exactly the events of one thread."""
    import echoes.restore.declick as declick

    y = with_click(with_click(music(6.0, seed=9), 1.3, rel=0.2), 4.1, rel=0.1)
    monkeypatch.setattr(declick, "CHUNK_S", 0.7)
    monkeypatch.setattr(declick, "_workers", lambda chunks: 2 if chunks > 1 else 1)
    two = click_candidates(y, SR)
    monkeypatch.setattr(declick, "_workers", lambda chunks: 1)
    one = click_candidates(y, SR)
    assert len(one) > 2 and two == one
