"""The Gradio app: the handler on every example, the running app through gradio_client, and a real
Chromium driven by Playwright (a result on arrival, then upload, restore, verdict, figures,
playable audio; ECHOES_SCREENSHOTS_TO_DOCS=1 copies the screenshots to docs/app.png and
docs/app_result.png)."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ARTIFACTS = Path(os.environ.get("ECHOES_TEST_ARTIFACTS", ROOT / "artifacts"))

gr = pytest.importorskip("gradio")
import app  # noqa: E402

from echoes.core import audio  # noqa: E402

EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.suffix in (".flac", ".ogg", ".wav", ".mp3"))


def _no_progress(*a, **k):
    return None


def test_examples_are_small_and_short() -> None:
    assert len(EXAMPLES) >= 3
    assert sum(p.stat().st_size for p in EXAMPLES) < 3e6
    for p in EXAMPLES:
        assert audio.info(p).duration < 20


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_handler_on_each_example(path: Path) -> None:
    out = app.restore(str(path), progress=_no_progress)
    restored, verdict, report, timeline, spec, wave, original, removed, download, timing = out
    for f in (restored, timeline, spec, wave, original, removed, download):
        assert Path(f).is_file() and Path(f).stat().st_size > 0
    assert "Verdict" in verdict and "realtime" in timing
    assert report["verdict"] in ("noisy", "clean") and [b["band"] for b in report["bands"]][:3] == [
        "below 500 Hz", "0.5-4 kHz", "4-11 kHz"]
    for jargon in ("burg2", "lsar", "250_0"):
        assert jargon not in verdict
    assert Path(restored).suffix == path.suffix
    x, sr = audio.load(path)
    y, sr2 = audio.load(restored)
    assert sr2 == sr and y.shape[0] == x.shape[0]
    if path.stem.startswith("clean"):
        assert "CLEAN" in verdict
        assert np.array_equal(x, y)
    if path.stem.startswith("worn78"):
        assert "NOISY" in verdict
    if path.stem.startswith("gaps"):
        assert "gap(s) filled" in verdict and "predicted from the music on both sides" in verdict
        assert "NOISY" in verdict and "dropout(s) found" in verdict
        outside = [b["removed_db"] for b in report["bands"]]
        assert max(outside) < -40  # outside the gaps, what was removed is far under the music


def test_every_example_has_a_precomputed_result_that_matches_a_fresh_run() -> None:
    meta = app.example_meta()
    for path in EXAMPLES:
        assert meta[path.name]["label"] and "_" not in meta[path.name]["label"]
        stored = app.show_example(str(path))
        assert "computed ahead" in stored[1] and Path(stored[0]).is_file()
        fresh = app.restore(str(path), progress=_no_progress)
        assert stored[2]["verdict"] == fresh[2]["verdict"]
        assert len(stored[2]["gaps"]) == len(fresh[2]["gaps"])
    assert "Public domain" in meta["historic_belov_gayler_1920_bach_air.ogg"]["licence"]


def test_figures_reach_the_nyquist_and_scale_the_waveform(tmp_path: Path) -> None:
    from echoes.plots import figures

    sr = 96000
    t = np.arange(sr) / sr
    x = (0.28 * np.sin(2 * np.pi * 440 * t) + 0.01 * np.sin(2 * np.pi * 30000 * t))[None].astype(np.float32)
    png = figures.spectrograms(x, x * 0.5, sr, tmp_path / "s.png")
    from PIL import Image

    assert Image.open(png).size[0] >= 1100
    figures.waveform(x, x, sr, [], tmp_path / "w.png")
    figures.timeline([{"start": 0, "end": 1, "p_noisy": 0.9}], 1.0, 0.85, tmp_path / "t.png")


def test_handler_errors_are_gradio_errors(tmp_path: Path) -> None:
    with pytest.raises(gr.Error):
        app.restore(None, progress=_no_progress)
    bad = tmp_path / "photo.wav"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 200)
    with pytest.raises(gr.Error, match="not a readable audio file"):
        app.restore(str(bad), progress=_no_progress)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    demo = app.build_demo()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_api_restore_through_gradio_client(server: str) -> None:
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    assert "/restore" in str(client.view_api(print_info=False, return_format="dict"))
    path = ROOT / "examples" / "gaps_mozart_k545.flac"
    result = client.predict(handle_file(str(path)), api_name="/restore")
    restored = result[0]
    y, sr = audio.load(restored)
    x, sr0 = audio.load(path)
    assert sr == sr0 and y.shape == x.shape
    assert "gap(s) filled" in result[1]
    assert result[2]["gaps"] and result[2]["bands"]  # the JSON report
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/restore"]
    labels = [r["label"] for r in api["returns"]]
    assert not any(str(lab).startswith("value_") for lab in labels), labels
    assert "Report" in labels and "What changed" in labels


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (scripts/test.sh installs it)")
def test_browser_upload_restore_and_see_results(server: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    clip = ROOT / "examples" / "worn78_joplin_maple_leaf.ogg"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(server, wait_until="domcontentloaded")
            # on arrival: the precomputed result of the landing example, with its figures
            page.get_by_text("Verdict:").wait_for(timeout=60_000)
            assert "computed ahead" in page.locator("#verdict").inner_text()
            for elem in ("#spectrograms", "#timeline", "#waveform"):
                img = page.locator(f"{elem} img").first
                img.wait_for(timeout=60_000)
                page.wait_for_function("(e) => e.complete && e.naturalWidth > 0", arg=img.element_handle())
            time.sleep(1.0)
            page.screenshot(path=str(ARTIFACTS / "app_landing.png"), full_page=True)
            page.locator("button.clear, button[aria-label='Clear']").first.click()
            clip = ROOT / "examples" / "gaps_mozart_k545.flac"
            page.locator("input[type=file]").first.set_input_files(str(clip))
            time.sleep(1.0)
            page.locator("#restore-btn").click()
            page.wait_for_function(
                "() => { const v = document.querySelector('#verdict'); "
                "return v && v.innerText.includes('gap(s) filled') && !v.innerText.includes('computed ahead'); }",
                timeout=120_000)
            assert "NOISY" in page.locator("#verdict").inner_text()
            for elem in ("#spectrograms", "#waveform"):
                img = page.locator(f"{elem} img").first
                img.wait_for(timeout=60_000)
                img.scroll_into_view_if_needed()  # the images load lazily
                page.wait_for_function("(e) => e.complete && e.naturalWidth > 0", arg=img.element_handle(),
                                       timeout=60_000)
            page.locator("#restored-audio audio, #restored-audio wave, #restored-audio button").first.wait_for(
                timeout=60_000)
            src = page.evaluate(
                "() => { const a = document.querySelector('#restored-audio audio'); return a ? a.src : ''; }")
            if src:
                duration = page.evaluate(
                    "async (s) => { const a = new Audio(s); await new Promise((ok, bad) => {"
                    " a.onloadedmetadata = ok; a.onerror = bad; }); return a.duration; }", src)
                assert duration > 5
            time.sleep(1.0)
            page.screenshot(path=str(ARTIFACTS / "app_result.png"), full_page=True)
        finally:
            browser.close()
    for name in ("app_landing.png", "app_result.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
        if os.environ.get("ECHOES_SCREENSHOTS_TO_DOCS"):  # refresh the README's screenshots
            from PIL import Image  # 256 colours: a third of the size, no visible loss

            Image.open(ARTIFACTS / name).convert("RGB").quantize(256).save(
                ROOT / "docs" / ("app.png" if name == "app_landing.png" else name), optimize=True)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_eight_simultaneous_users_each_get_their_own_result(server: str, tmp_path: Path) -> None:
    import gc
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client, handle_file

    t = np.arange(int(3.0 * 22050)) / 22050
    clips = []
    for i in range(8):  # eight different clips: different lengths tell the results apart
        x = (0.3 * np.sin(2 * np.pi * (220 + 40 * i) * t[: int((2.0 + 0.1 * i) * 22050)])).astype(np.float32)
        p = tmp_path / f"user{i}.wav"
        audio.save(p, x, 22050, subtype="PCM_16")
        clips.append(p)

    def one(p: Path):
        return Client(server, verbose=False).predict(handle_file(str(p)), api_name="/restore")

    one(clips[0])  # warm-up: models loaded, caches filled
    gc.collect()
    base = _rss_mb()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, clips))
    for p, res in zip(clips, results):
        y, sr = audio.load(res[0])
        x, _ = audio.load(p)
        assert sr == 22050 and y.shape == x.shape
    gc.collect()
    assert _rss_mb() < base + 300, (base, _rss_mb())
