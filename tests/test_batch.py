"""Batch restoration of a folder tree: mirrored outputs, a JSONL manifest, failures that do not
stop the batch, resuming after a kill -9, safe output paths, and Ray giving the same bytes.

Most tests use :class:`StubRestorer` through the documented hook (``ECHOES_BATCH_RESTORER`` /
``restorer=``), so they run in seconds without weights; the last test runs the real models and
skips only when ``weights/`` lacks them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from echoes.batch.manifest import ManifestWriter, is_done, read_manifest
from echoes.batch.plan import check_roots, output_path, plan
from echoes.batch.ray_pool import import_ray
from echoes.batch.run import LOCK_NAME, clean_stale_temps, run_batch
from echoes.batch.worker import RESTORER_ENV, WorkerStartError
from echoes.core import audio
from echoes.core.checkpoint import sha256_file
from echoes.cli import main
from echoes.errors import EchoesError, OutputPathError, ParameterError, WeightsError

ROOT = Path(__file__).resolve().parent.parent
STUB = f"{Path(__file__).resolve()}:StubRestorer"
GOOD = ["a.wav", "b.flac", "nested/c.wav", "nested/deeper/d.wav"]
BROKEN = "broken.wav"


class StubRestorer:
    """Stands in for :class:`echoes.api.Restorer`: halves the signal. ``ECHOES_STUB_DELAY``
    seconds of sleep per file make runs slow enough to kill mid-way."""

    weights_hashes = {"stub": "0" * 64}

    def __init__(self, *, weights=None, device: str = "cpu") -> None:
        import multiprocessing

        if os.environ.get("ECHOES_STUB_FAIL") and multiprocessing.parent_process() is not None:
            raise WeightsError("stub: the weights cannot be read on this worker")
        self.device = device

    def restore_file(self, src, dst, options=None, *, residual=None, progress=None) -> dict:
        x, sr = audio.load(src)
        if Path(src).name.startswith("crash"):
            os._exit(3)  # as if the worker process were killed (out of memory, a segfault)
        time.sleep(float(os.environ.get("ECHOES_STUB_DELAY", "0")))
        audio.save(dst, x * np.float32(0.5), sr, protect=[src])
        return {"verdict": "clean", "p_noisy": 0.1, "duration_s": x.shape[-1] / sr, "sample_rate": sr,
                "channels": x.shape[0], "gaps": [], "denoised_fraction": 0.0, "timings": {"total_s": 0.0}}


def tone(seconds: float, sr: int, channels: int = 1, f0: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * f0 * t) * np.exp(-t)
    return np.stack([x * (1 - 0.2 * c) for c in range(channels)]).astype(np.float32)


def make_tree(root: Path, n_extra: int = 0) -> Path:
    src = root / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    audio.save(src / "a.wav", tone(1.0, 22050), 22050)
    audio.save(src / "b.flac", tone(1.5, 16000, channels=2, f0=330), 16000)
    audio.save(src / "nested" / "c.wav", tone(1.0, 22050, f0=440), 22050)
    audio.save(src / "nested" / "deeper" / "d.wav", tone(2.0, 8000, f0=110), 8000)
    for k in range(n_extra):
        audio.save(src / "nested" / f"extra{k:02d}.wav", tone(1.0, 8000, f0=100 + 20 * k), 8000)
    (src / BROKEN).write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 8)
    (src / "notes.txt").write_text("not audio")
    (src / ".hidden.wav").write_bytes(b"AppleDouble junk")
    return src


def lines(path: Path) -> list[dict]:
    return [json.loads(s) for s in path.read_text().splitlines()]


@pytest.fixture
def stub(monkeypatch) -> None:
    monkeypatch.setenv(RESTORER_ENV, STUB)


def test_local_mode_mirrors_the_tree_and_writes_one_manifest_line_per_file(tmp_path, stub, capsys) -> None:
    src = make_tree(tmp_path)
    out = tmp_path / "out"
    assert main(["batch", str(src), "-o", str(out), "--workers", "2"]) == 1  # the broken file fails
    err = capsys.readouterr().err
    assert BROKEN in err and "1 of 5 file(s) failed" in err
    for rel in GOOD:
        x, sr = audio.load(src / rel)
        y, sr2 = audio.load(out / rel)
        assert sr2 == sr and y.shape == x.shape
        np.testing.assert_allclose(y, 0.5 * x, atol=2 / 32768)
    assert not (out / BROKEN).exists() and not (out / "notes.txt").exists() and not (out / ".hidden.wav").exists()
    entries = lines(out / "manifest.jsonl")
    assert sorted(e["rel"] for e in entries) == sorted(GOOD + [BROKEN])
    for e in entries:
        assert e["input"] == str(src / e["rel"])
        assert e["weights"] == {"stub": "0" * 64} and e["options"]["denoise"] == "auto"
        if e["rel"] == BROKEN:
            assert e["status"] == "error" and "not a readable audio file" in e["error"]
            assert e["output_sha256"] is None
        else:
            assert e["status"] == "ok" and e["error"] is None and e["verdict"] == "clean"
            assert e["output"] == str(out / e["rel"])
            assert e["input_sha256"] == sha256_file(src / e["rel"])
            assert e["output_sha256"] == sha256_file(out / e["rel"])
            assert e["duration_s"] > 0.9 and "wall_s" in e["timings"] and e["gaps"] == []


def test_rerun_skips_what_is_done_and_redoes_what_changed(tmp_path, stub) -> None:
    src = make_tree(tmp_path)
    out = tmp_path / "out"
    first = run_batch(src, out, workers=1, progress=False, restorer=STUB)
    assert (first.ok, first.failed, first.skipped, first.exit_status) == (4, 1, 0, 1)
    mtimes = {r: (out / r).stat().st_mtime_ns for r in GOOD}
    again = run_batch(src, out, workers=1, progress=False)
    assert (again.ok, again.failed, again.skipped) == (0, 1, 4)  # only the broken file is retried
    assert {r: (out / r).stat().st_mtime_ns for r in GOOD} == mtimes
    # an edited input, a tampered output and a deleted output are redone; the rest is skipped
    audio.save(src / "a.wav", tone(1.0, 22050, f0=262), 22050)
    (out / "nested" / "c.wav").write_bytes((out / "nested" / "c.wav").read_bytes()[:-10])
    (out / "b.flac").unlink()
    n0 = len(lines(out / "manifest.jsonl"))
    third = run_batch(src, out, workers=1, progress=False)
    assert (third.ok, third.skipped) == (3, 1)
    new = lines(out / "manifest.jsonl")[n0:]
    assert sorted(e["rel"] for e in new) == sorted(["a.wav", "b.flac", "nested/c.wav", BROKEN])
    # other options or other weights: not done
    latest = read_manifest(out / "manifest.jsonl")
    tasks = {t.rel: t for t in plan(*check_roots(src, out))}
    e = latest["a.wav"]
    assert is_done(tasks["a.wav"], e, options=e["options"], weights=e["weights"])
    assert not is_done(tasks["a.wav"], e, options={**e["options"], "denoise": "never"}, weights=e["weights"])
    assert not is_done(tasks["a.wav"], e, options=e["options"], weights={"stub": "1" * 64})
    assert not is_done(tasks[BROKEN], latest[BROKEN], options=e["options"], weights=e["weights"])


def test_resume_after_kill_9_loses_nothing_and_redoes_only_the_missing(tmp_path) -> None:
    src = make_tree(tmp_path, n_extra=6)
    (src / BROKEN).unlink()
    out = tmp_path / "out"
    manifest = out / "manifest.jsonl"
    env = {**os.environ, RESTORER_ENV: STUB, "ECHOES_STUB_DELAY": "0.5", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "echoes", "-q", "batch", str(src), "-o", str(out), "--workers", "1"]
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None:
            if manifest.exists() and manifest.read_text().count("\n") >= 3:
                break
            time.sleep(0.05)
        assert p.poll() is None, f"the batch ended before it could be killed: {p.stderr.read().decode()}"
        os.killpg(p.pid, signal.SIGKILL)  # the driver and its pool worker, mid-file
    finally:
        p.wait(timeout=30)
        p.stderr.close()
    total = len(GOOD) + 6
    done = {r for r, e in read_manifest(manifest).items() if e["status"] == "ok"}
    assert 3 <= len(done) < total
    # nothing partial under a final name: every visible output decodes completely
    for f in out.rglob("*.*"):
        if f.suffix in (".wav", ".flac") and not f.name.startswith("."):
            rel = f.relative_to(out).as_posix()
            assert sf.info(str(f)).frames == sf.info(str(src / rel)).frames
    with open(manifest, "ab") as fh:  # as if the kill had torn the last line
        fh.write(b'{"rel": "nested/extra05.wav", "status": "o')
    r = subprocess.run(cmd, cwd=ROOT, env={**env, "ECHOES_STUB_DELAY": "0"}, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    entries = lines(manifest)  # every line parses again: the torn one was cut off
    redone = [e["rel"] for e in entries[len(done):]]
    assert sorted(redone) == sorted(set(read_manifest(manifest)) - done)
    assert len(redone) == total - len(done)
    final = read_manifest(manifest)
    assert len(final) == total and all(e["status"] == "ok" for e in final.values())
    for e in final.values():
        assert sha256_file(e["output"]) == e["output_sha256"]
    assert not [f for f in out.rglob(".echoes-*") if f.name != LOCK_NAME]  # temporaries cleaned


def test_overlapping_or_missing_folders_are_refused(tmp_path, stub, capsys) -> None:
    src = make_tree(tmp_path)
    for out, words in [(src, "is the source folder"), (src / "nested" / "o", "inside the source folder"),
                       (tmp_path, "inside the output folder")]:
        assert main(["batch", str(src), "-o", str(out)]) == 2
        assert words in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(ParameterError, match="is a file"):
        check_roots(src / "a.wav", tmp_path / "o")


def test_outputs_may_not_escape_the_output_folder_through_a_link(tmp_path, stub) -> None:
    src = make_tree(tmp_path)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "nested").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputPathError, match="outside the output folder"):
        output_path(src, out.resolve(), src / "nested" / "c.wav")
    with pytest.raises(OutputPathError, match="outside the output folder"):
        run_batch(src, out, workers=1, progress=False)
    assert list(elsewhere.iterdir()) == []


def test_format_option_and_name_clashes(tmp_path, stub) -> None:
    src = make_tree(tmp_path)
    (src / BROKEN).unlink()
    s = run_batch(src, tmp_path / "out", workers=1, progress=False, suffix="flac")
    assert s.ok == 4 and (tmp_path / "out" / "a.flac").is_file() and (tmp_path / "out" / "nested" / "c.flac").is_file()
    audio.save(src / "a.flac", tone(1.0, 22050), 22050)
    with pytest.raises(OutputPathError, match="would both be written"):
        run_batch(src, tmp_path / "out2", workers=1, progress=False, suffix=".flac")


def test_torn_manifest_lines_are_tolerated_and_repaired(tmp_path) -> None:
    m = tmp_path / "m.jsonl"
    m.write_bytes(b'{"rel": "a.wav", "status": "ok"}\n{"rel": "b.wav", "stat')
    assert list(read_manifest(m)) == ["a.wav"]
    with ManifestWriter(m) as w:
        w.write({"rel": "c.wav", "status": "ok"})
    assert [e["rel"] for e in lines(m)] == ["a.wav", "c.wav"]
    m.write_bytes(b'{"rel": "a.wav", "status": "ok"}')  # complete but without its newline: kept
    with ManifestWriter(m) as w:
        w.write({"rel": "b.wav", "status": "ok"})
    assert [e["rel"] for e in lines(m)] == ["a.wav", "b.wav"]
    with open(m, "ab") as f:  # a torn line longer than the backward-reading chunk
        f.write(b'{"rel": "c.wav", "gaps": [' + b"1," * 100_000)
    with ManifestWriter(m) as w:
        w.write({"rel": "d.wav", "status": "ok", "options": {"x": 1}, "weights": {"w": "0"}, "gaps": [1]})
    assert [e["rel"] for e in lines(m)] == ["a.wav", "b.wav", "d.wav"]
    slim = read_manifest(m, slim=True)["d.wav"]
    assert slim["options"] == {"x": 1} and "gaps" not in slim


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path) -> None:
    (tmp_path / "sub" / "echoes-abcd1234").mkdir(parents=True)
    (tmp_path / "sub" / "echoes-abcd1234" / "out.wav").write_bytes(b"x")
    (tmp_path / "sub" / ".echoes-k2j3h4g5.flac").write_bytes(b"x")
    keep = [tmp_path / "sub" / "keep.wav", tmp_path / "echoes-notes" / "out.wav", tmp_path / LOCK_NAME]
    for k in keep:
        k.parent.mkdir(parents=True, exist_ok=True)
        k.write_bytes(b"x")
    assert clean_stale_temps(tmp_path) == 2
    assert all(k.exists() for k in keep)
    assert not (tmp_path / "sub" / "echoes-abcd1234").exists()


def test_a_second_run_on_the_same_output_is_refused_while_one_runs(tmp_path, stub) -> None:
    import fcntl

    src = make_tree(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK_NAME, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputPathError, match="another 'echoes batch'"):
            run_batch(src, out, workers=1, progress=False)


def test_a_worker_that_cannot_load_the_models_stops_the_batch(tmp_path, stub, monkeypatch) -> None:
    src = make_tree(tmp_path)
    monkeypatch.setenv("ECHOES_STUB_FAIL", "1")
    with pytest.raises(WorkerStartError, match="cannot be read on this worker"):
        run_batch(src, tmp_path / "out", workers=1, progress=False)
    assert (tmp_path / "out" / "manifest.jsonl").read_text() == ""
    assert _outputs(tmp_path / "out") == {}


def test_a_worker_process_that_dies_is_replaced_and_the_batch_completes(tmp_path, stub) -> None:
    src = make_tree(tmp_path)
    audio.save(src / "nested" / "crash.wav", tone(1.0, 8000), 8000)
    s = run_batch(src, tmp_path / "out", workers=1, progress=False)
    m = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert (s.ok, s.failed) == (4, 2) and len(m) == 6
    assert m["nested/crash.wav"]["status"] == "error" and "died" in m["nested/crash.wav"]["error"]
    assert all(m[r]["status"] == "ok" for r in GOOD)


def test_bad_arguments_and_missing_ray_are_explained(tmp_path, stub, monkeypatch) -> None:
    src = make_tree(tmp_path)
    with pytest.raises(ParameterError, match="--workers"):
        run_batch(src, tmp_path / "o", workers=0)
    with pytest.raises(OutputPathError, match="unknown extension"):
        run_batch(src, tmp_path / "o", suffix="xyz")
    with pytest.raises(ParameterError, match="cannot load the restorer"):
        run_batch(src, tmp_path / "o", restorer="no_such_module_xyz:R", progress=False)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    with pytest.raises(EchoesError, match=r"pip install 'echoes\[cluster\]'"):
        import_ray()
    assert main(["batch", str(src), "-o", str(tmp_path / "o"), "--ray", "local"]) == 2


def test_an_unreachable_ray_cluster_fails_fast_and_clearly(tmp_path, stub) -> None:
    pytest.importorskip("ray", reason="Ray is not installed")
    src = make_tree(tmp_path)
    t = time.perf_counter()
    with pytest.raises(EchoesError, match="cannot reach the Ray cluster at '127.0.0.1:1'"):
        run_batch(src, tmp_path / "out", ray_address="127.0.0.1:1", progress=False)
    assert time.perf_counter() - t < 30


def _outputs(out: Path) -> dict[str, bytes]:
    return {f.relative_to(out).as_posix(): f.read_bytes() for f in sorted(out.rglob("*"))
            if f.is_file() and f.suffix in (".wav", ".flac")}


def _real_weights() -> bool:
    w = ROOT / "weights"
    return all((w / f"{n}.json").is_file() and (w / f"{n}.safetensors").is_file()
               for n in ("classifier", "cae", "denoiser"))


def untrained_weights(folder: Path) -> Path:
    """The real models' architectures, randomly initialised (seeded): the whole pipeline runs,
    at the real cost, without trained weights."""
    import torch

    from echoes.core.checkpoint import save_model
    from echoes.models.autoencoder import PaperCAE
    from echoes.models.classifier import SpectrogramCNN
    from echoes.models.complex_unet import ComplexUNet

    torch.manual_seed(0)
    save_model(SpectrogramCNN(), folder, "classifier", extra={"threshold": 0.5})
    save_model(ComplexUNet(), folder, "denoiser")
    save_model(PaperCAE(), folder, "cae")
    return folder


@pytest.fixture(scope="module")
def pipeline_weights(tmp_path_factory) -> str | None:
    """The bundled weights when ``weights/`` has them, else untrained ones of the same models;
    None (use the stub) when neither can be had."""
    if _real_weights():
        return str(ROOT / "weights")
    try:
        return str(untrained_weights(tmp_path_factory.mktemp("untrained")))
    except Exception as exc:  # a model module missing or changed
        warnings.warn(f"cannot build the models' weights ({exc}): the Ray test uses the stub restorer", stacklevel=2)
        return None


@pytest.mark.slow
def test_ray_local_gives_the_same_bytes_as_local_mode(tmp_path, monkeypatch, pipeline_weights) -> None:
    """The real pipeline (classifier + de-noiser + gaps, ``--denoise always`` so the de-noiser
    runs on every file) through a local pool and through ``--ray local`` with 2 CPUs."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'echoes[cluster]' or '.[test]')")
    from echoes.api import RestoreOptions

    monkeypatch.delenv(RESTORER_ENV, raising=False)
    stub = None if pipeline_weights else STUB
    src = make_tree(tmp_path)
    opts = RestoreOptions(denoise="always")
    a = run_batch(src, tmp_path / "local", workers=2, weights=pipeline_weights, options=opts, progress=False,
                  restorer=stub)
    b = run_batch(src, tmp_path / "ray", workers=2, weights=pipeline_weights, options=opts,
                  ray_address="local", progress=False, restorer=stub)
    assert (a.mode, a.ok, a.failed) == ("local", 4, 1)
    assert (b.mode, b.workers, b.ok, b.failed) == ("ray", 2, 4, 1)
    la, lb = _outputs(tmp_path / "local"), _outputs(tmp_path / "ray")
    assert len(la) == 4 and la == lb
    for rel in GOOD:  # the de-noiser really changed the audio
        assert la[rel] != (src / rel).read_bytes()
    ma, mb = read_manifest(tmp_path / "local" / "manifest.jsonl"), read_manifest(tmp_path / "ray" / "manifest.jsonl")
    assert {k: e["output_sha256"] for k, e in ma.items()} == {k: e["output_sha256"] for k, e in mb.items()}
    if stub is None:
        assert set(ma["a.wav"]["weights"]) == {"classifier", "cae", "denoiser", "archival", "highs"}
        assert ma["a.wav"]["denoised_fraction"] == 1.0 and ma["a.wav"]["timings"]["denoise_s"] > 0


def test_cli_passes_the_archivist_options_and_a_change_redoes_the_files(tmp_path, stub, capsys) -> None:
    """``batch`` takes restore's archivist flags; they are in the manifest, and a rerun with
    other values redoes every file while the same values skip them."""
    src = make_tree(tmp_path)
    (src / BROKEN).unlink()
    out = tmp_path / "out"
    flags = ["--channels", "mono", "--eq", "riaa", "--speed", "estimate"]
    assert main(["batch", str(src), "-o", str(out), "--workers", "1", *flags]) == 0
    entries = lines(out / "manifest.jsonl")
    assert len(entries) == len(GOOD)
    assert all((e["options"]["channels"], e["options"]["eq"], e["options"]["speed"]) == ("mono", "riaa", "estimate")
               for e in entries)
    assert main(["batch", str(src), "-o", str(out), "--workers", "1", *flags]) == 0
    assert len(lines(out / "manifest.jsonl")) == len(GOOD)  # all skipped
    assert main(["batch", str(src), "-o", str(out), "--workers", "1", "--eq", "flat"]) == 0
    assert len(lines(out / "manifest.jsonl")) == 2 * len(GOOD)  # all redone
    capsys.readouterr()


def test_the_package_api_and_the_ray_package_path() -> None:
    """``from echoes.batch import run_batch`` (docs/BATCH.md) and the CLI's ``echoes.batch.run``
    both work, and Ray ships the ``echoes`` package folder to its workers."""
    import echoes
    import echoes.batch
    import echoes.batch.ray_pool
    from echoes.batch.run import run_batch as from_run

    assert echoes.batch.run_batch is from_run and echoes.batch.read_manifest is read_manifest
    pkg = Path(echoes.batch.ray_pool.__file__).resolve().parents[1]
    assert pkg == Path(echoes.__file__).resolve().parent
