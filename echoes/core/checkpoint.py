"""Save and load models as safetensors plus a JSON config that carries everything needed.

A checkpoint is two files in one folder: ``NAME.safetensors`` (tensors only; loading runs no
code) and ``NAME.json``::

    {"name": NAME, "class": "echoes.models.classifier.SpectrogramCNN",
     "kwargs": {...constructor arguments...}, "stft": {...STFTConfig...},
     "sha256": "<hash of the .safetensors file>", "training": {...data, seed, epochs, commit...},
     "metrics": {...}, "versions": {...}}

``load_model`` checks the hash before it reads a tensor, rebuilds the class from ``class`` and
``kwargs`` (an allow-list of Echoes model classes: no arbitrary imports), and loads the state
strictly.

``save_model(..., quantize="int8")`` stores every weight tensor of at least
:data:`QUANTIZE_MIN_NUMEL` elements as int8 with one float32 scale per output channel
(symmetric: ``w ~= q * scale``, ``scale = max|w| / 127`` over the other dimensions), in
``KEY`` and ``KEY`` + :data:`SCALE_SUFFIX`; the config's ``quantization`` says so, and
``load_model`` turns them back into floating point before loading. It halves a float16
checkpoint (the default de-noiser: 9.4 MB -> 4.7 MB).
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import platform
from pathlib import Path
from typing import Any

import torch

from echoes.core.files import git_commit, sha256_file  # noqa: F401  (re-exported: checkpoints carry both)
from echoes.errors import WeightsError

log = logging.getLogger(__name__)

#: Only classes from these modules can be named in a config.
ALLOWED_MODULES = ("echoes.models.",)
#: Tensors with fewer elements stay in floating point when quantising (biases, small layers).
QUANTIZE_MIN_NUMEL = 1024
#: Key suffix of the per-output-channel scales of an int8 tensor.
SCALE_SUFFIX = ".__int8_scale__"


def quantize_state(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], int]:
    """int8 per-output-channel quantisation of the floating-point tensors with at least
    :data:`QUANTIZE_MIN_NUMEL` elements and two or more dimensions; returns the new state and
    how many tensors were quantised."""
    out: dict[str, torch.Tensor] = {}
    n = 0
    for k, v in state.items():
        if v.is_floating_point() and v.dim() >= 2 and v.numel() >= QUANTIZE_MIN_NUMEL:
            w = v.float()
            scale = w.abs().amax(dim=tuple(range(1, w.dim()))).clamp_min(1e-12) / 127.0
            q = torch.round(w / scale.view(-1, *([1] * (w.dim() - 1)))).clamp(-127, 127).to(torch.int8)
            out[k], out[k + SCALE_SUFFIX] = q.contiguous(), scale.contiguous()
            n += 1
        else:
            out[k] = v
    return out, n


def dequantize_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of :func:`quantize_state` (float32 for the quantised tensors)."""
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        if k.endswith(SCALE_SUFFIX):
            continue
        scale = state.get(k + SCALE_SUFFIX)
        if scale is not None:
            v = v.float() * scale.float().view(-1, *([1] * (v.dim() - 1)))
        out[k] = v
    return out


def class_path(model: torch.nn.Module) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def save_model(
    model: torch.nn.Module,
    folder: str | Path,
    name: str,
    *,
    kwargs: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    quantize: str | None = None,
) -> Path:
    """Write ``folder/name.safetensors`` and ``folder/name.json``; returns the JSON path.

    ``kwargs`` defaults to ``model.kwargs`` (models record their constructor arguments there).
    ``extra`` is merged into the config (e.g. ``stft``, ``training``, ``metrics``).
    ``quantize="int8"`` stores the large weight tensors as int8 (see the module docstring).
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if kwargs is None:
        kwargs = dict(getattr(model, "kwargs", {}))
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    quantization = None
    if quantize is not None:
        if quantize != "int8":
            raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
        state, n = quantize_state(state)
        quantization = {"scheme": "int8", "per": "output channel (dim 0), symmetric", "tensors": n,
                        "scale_suffix": SCALE_SUFFIX, "min_numel": QUANTIZE_MIN_NUMEL}
    st_path = folder / f"{name}.safetensors"
    save_file(state, str(st_path), metadata={"class": class_path(model)})
    config: dict[str, Any] = {
        "name": name,
        "class": class_path(model),
        "kwargs": kwargs,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "sha256": sha256_file(st_path),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    if quantization:
        config["quantization"] = quantization
    if extra:
        config.update(extra)
    js = folder / f"{name}.json"
    js.write_text(json.dumps(config, indent=2, sort_keys=False) + "\n")
    return js


def read_config(folder: str | Path, name: str) -> dict[str, Any]:
    js = Path(folder) / f"{name}.json"
    if not js.is_file():
        raise WeightsError(f"no weights config '{js}'")
    try:
        return json.loads(js.read_text())
    except json.JSONDecodeError as exc:
        raise WeightsError(f"'{js}' is not valid JSON: {exc}") from None


def _resolve_class(path: str) -> type:
    if not path.startswith(ALLOWED_MODULES):
        raise WeightsError(f"refusing to build class '{path}': not an Echoes model")
    mod, _, cls = path.rpartition(".")
    try:
        return getattr(importlib.import_module(mod), cls)
    except (ImportError, AttributeError):
        raise WeightsError(f"unknown model class '{path}'") from None


def build_model(config: dict[str, Any]) -> torch.nn.Module:
    """Instantiate the class a config names with its kwargs; unknown kwargs warn and are dropped."""
    cls = _resolve_class(config["class"])
    kwargs = dict(config.get("kwargs", {}))
    params = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = [k for k in kwargs if k not in params]
        for k in unknown:
            log.warning("weights config: unknown argument %r for %s ignored", k, config["class"])
            kwargs.pop(k)
    return cls(**kwargs)


def load_model(
    folder: str | Path,
    name: str,
    *,
    map_location: str | torch.device = "cpu",
    verify: bool = True,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Load ``folder/name`` -> (model in eval mode, config). Checks the sha256 first."""
    from safetensors.torch import load_file

    config = read_config(folder, name)
    st_path = Path(folder) / f"{name}.safetensors"
    if not st_path.is_file():
        raise WeightsError(f"weights file '{st_path}' is missing")
    if verify:
        want = config.get("sha256")
        got = sha256_file(st_path)
        if want != got:
            raise WeightsError(
                f"'{st_path}' does not match its config (sha256 {got[:12]}…, expected {str(want)[:12]}…): "
                "the file is corrupt or was replaced"
            )
    model = build_model(config)
    try:
        state = load_file(str(st_path), device=str(map_location))
        if config.get("quantization"):
            state = dequantize_state(state)
        model.load_state_dict(state, strict=True)
    except Exception as exc:
        raise WeightsError(f"'{st_path}' does not fit {config['class']}: {exc}") from None
    model.eval()
    return model.to(map_location), config
