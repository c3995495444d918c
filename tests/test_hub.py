"""Weights: safetensors + config round trip, sha256 refusal, the Hub path offline, fallbacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from echoes.core import checkpoint

from echoes.core import hub
from echoes.errors import ParameterError, WeightsError
from echoes.models.testing import TinyNet


def _save(folder: Path, name: str = "classifier", seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    m = TinyNet(kernel=5)
    checkpoint.save_model(m, folder, name, extra={"training": {"seed": seed}})
    return m


def test_save_load_gives_identical_outputs(tmp_path: Path) -> None:
    m = _save(tmp_path)
    loaded, cfg = checkpoint.load_model(tmp_path, "classifier")
    x = torch.randn(2, 1, 100)
    assert torch.equal(m(x), loaded(x))
    assert cfg["kwargs"] == {"kernel": 5, "identity": False} and cfg["parameters"] == 6
    assert cfg["training"] == {"seed": 0}


def test_int8_checkpoint_is_small_and_close(tmp_path: Path) -> None:
    from echoes.models.complex_unet import ComplexUNet

    torch.manual_seed(0)
    m = ComplexUNet(channels=(8, 8, 8, 8), bottleneck=64).eval()
    checkpoint.save_model(m, tmp_path / "f32", "denoiser")
    checkpoint.save_model(m, tmp_path / "q8", "denoiser", quantize="int8")
    f32, q8 = (tmp_path / d / "denoiser.safetensors" for d in ("f32", "q8"))
    assert q8.stat().st_size < 0.35 * f32.stat().st_size
    loaded, cfg = checkpoint.load_model(tmp_path / "q8", "denoiser")
    assert cfg["quantization"]["scheme"] == "int8" and cfg["quantization"]["tensors"] >= 3
    assert cfg["parameters"] == sum(p.numel() for p in m.parameters())
    for (k, a), b in zip(m.state_dict().items(), loaded.state_dict().values()):
        # per-channel int8: every weight within half a quantisation step of its channel's scale
        step = a.abs().amax(dim=tuple(range(1, a.dim())), keepdim=True) / 127 if a.dim() >= 2 else 0 * a
        assert torch.all((a - b).abs() <= step / 2 + 1e-6), k
    with pytest.raises(ValueError):
        checkpoint.save_model(m, tmp_path / "bad", "denoiser", quantize="int4")


def test_bad_checksum_is_refused(tmp_path: Path) -> None:
    _save(tmp_path)
    st = tmp_path / "classifier.safetensors"
    st.write_bytes(st.read_bytes()[:-4] + b"\0\0\0\1")
    with pytest.raises(WeightsError, match="does not match"):
        checkpoint.load_model(tmp_path, "classifier")
    with pytest.raises(WeightsError, match="sha256"):
        hub.verify_folder(tmp_path)


def test_config_cannot_name_arbitrary_classes(tmp_path: Path) -> None:
    _save(tmp_path)
    js = tmp_path / "classifier.json"
    cfg = json.loads(js.read_text())
    cfg["class"] = "os.system"
    js.write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match="not an Echoes model"):
        checkpoint.load_model(tmp_path, "classifier")


def test_resolve_local_env_and_bundled(tmp_path: Path, monkeypatch) -> None:
    _save(tmp_path)
    assert hub.resolve_weights(tmp_path) == tmp_path
    monkeypatch.setenv(hub.ENV_VAR, str(tmp_path))
    assert hub.resolve_weights(None) == tmp_path
    monkeypatch.delenv(hub.ENV_VAR)
    assert hub.resolve_weights(None) == hub.bundled_weights()
    with pytest.raises(WeightsError, match="does not exist"):
        hub.resolve_weights(tmp_path / "nope")
    with pytest.raises(ParameterError):
        hub.parse_hf("hf://not a repo")
    assert hub.parse_hf("hf://me/echoes@abc123") == ("me/echoes", "abc123")


def _hub_cache(root: Path, repo: str, commit: str, src: Path) -> Path:
    """Lay out ``src``'s files the way huggingface_hub caches a model repo snapshot."""
    base = root / f"models--{repo.replace('/', '--')}"
    snap = base / "snapshots" / commit
    snap.mkdir(parents=True)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text(commit)
    for f in src.iterdir():
        shutil.copy2(f, snap / f.name)
    return snap


@pytest.fixture
def offline(monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)


def test_hub_path_offline_loads_from_cache(tmp_path: Path, offline) -> None:
    src = tmp_path / "src"
    m = _save(src)
    commit = "a" * 40
    snap = _hub_cache(tmp_path / "cache", "someone/echoes-weights", commit, src)
    folder = hub.resolve_weights(f"hf://someone/echoes-weights@{commit}", cache_dir=tmp_path / "cache")
    assert folder == snap
    loaded, _ = checkpoint.load_model(folder, "classifier")
    x = torch.randn(1, 1, 50)
    assert torch.equal(loaded(x), m(x))


def test_hub_bad_checksum_is_refused(tmp_path: Path, offline) -> None:
    src = tmp_path / "src"
    _save(src)
    st = src / "classifier.safetensors"
    st.write_bytes(st.read_bytes() + b" ")
    commit = "b" * 40
    _hub_cache(tmp_path / "cache", "someone/echoes-weights", commit, src)
    with pytest.raises(WeightsError, match="sha256"):
        hub.resolve_weights(f"hf://someone/echoes-weights@{commit}", cache_dir=tmp_path / "cache")


def test_hub_unreachable_falls_back_with_warning(tmp_path: Path, offline, caplog) -> None:
    with caplog.at_level("WARNING"):
        folder = hub.resolve_weights(f"hf://someone/missing@{'c' * 40}", cache_dir=tmp_path / "empty")
    assert folder == hub.bundled_weights()
    assert "bundled" in caplog.text
