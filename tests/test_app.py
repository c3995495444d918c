"""The Gradio app: the handler on every example, the running app through gradio_client, and a real
Chromium driven by Playwright (upload, restore, verdict, both spectrograms, playable audio)."""

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
    restored, verdict, timeline, spec_b, spec_a, wave, original, removed, download, timing = out
    for f in (restored, timeline, spec_b, spec_a, wave, original, removed, download):
        assert Path(f).is_file() and Path(f).stat().st_size > 0
    assert "Verdict" in verdict and "realtime" in timing
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
        assert "gap(s) filled" in verdict
        assert "NOISY" in verdict and "dropout(s) found" in verdict


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
            page.locator("input[type=file]").first.set_input_files(str(clip))
            time.sleep(1.0)
            page.locator("#restore-btn").click()
            page.get_by_text("Verdict:").wait_for(timeout=120_000)
            assert "NOISY" in page.locator("#verdict").inner_text()
            for elem in ("#spec-before", "#spec-after"):
                img = page.locator(f"{elem} img").first
                img.wait_for(timeout=60_000)
                assert page.evaluate("(e) => e.complete && e.naturalWidth > 0", img.element_handle())
            page.locator("#restored-audio audio, #restored-audio wave, #restored-audio button").first.wait_for(
                timeout=60_000)
            src = page.evaluate(
                "() => { const a = document.querySelector('#restored-audio audio'); return a ? a.src : ''; }")
            if src:
                duration = page.evaluate(
                    "async (s) => { const a = new Audio(s); await new Promise((ok, bad) => {"
                    " a.onloadedmetadata = ok; a.onerror = bad; }); return a.duration; }", src)
                assert duration > 5
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "app.png").stat().st_size > 10_000


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
