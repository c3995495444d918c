"""Where weights come from: the bundled ``weights/`` folder, a local folder, or the Hugging Face Hub.

A weights *source* is one of:

- ``None``: the ``ECHOES_WEIGHTS`` environment variable if set, else the bundled ``weights/``;
- a local folder holding ``NAME.safetensors`` + ``NAME.json`` pairs;
- ``hf://owner/repo@revision``: downloaded with :func:`huggingface_hub.hf_hub_download` at that
  pinned revision (a commit hash is best; a branch or tag is accepted with a warning).

Every file is checked against the sha256 its config records before use (in
:func:`echoes.core.checkpoint.load_model`); a mismatch is refused. When the Hub cannot be reached
(offline, no network, time-out of a few seconds) Echoes warns and falls back to the bundled weights.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from echoes.core.checkpoint import read_config
from echoes.core.files import sha256_file
from echoes.errors import ParameterError, WeightsError

log = logging.getLogger(__name__)

#: The checkpoints Echoes ships: classifier, the paper's autoencoder, the default de-noiser, the
#: high-frequency extension.
WEIGHT_NAMES = ("classifier", "cae", "denoiser", "archival", "highs")
ENV_VAR = "ECHOES_WEIGHTS"
HUB_TIMEOUT_S = 5.0
_HF_RE = re.compile(r"^hf://(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<rev>[\w./-]+))?$")


def bundled_weights() -> Path:
    """The ``weights/`` folder next to the package (in a checkout or a Space)."""
    return Path(__file__).resolve().parents[2] / "weights"


def parse_hf(source: str) -> tuple[str, str | None]:
    m = _HF_RE.match(source)
    if not m:
        raise ParameterError(f"'{source}' is not a Hub weights source; use hf://owner/repo@revision")
    return m.group("repo"), m.group("rev")


def resolve_weights(source: str | os.PathLike | None = None, *, cache_dir: str | Path | None = None) -> Path:
    """Return a local folder with the weights for ``source`` (see the module docstring)."""
    if source is None or str(source) == "":
        source = os.environ.get(ENV_VAR) or None
    if source is None:
        return bundled_weights()
    s = str(source)
    if s.startswith("hf://"):
        return _from_hub(s, cache_dir=cache_dir)
    folder = Path(s).expanduser()
    if not folder.is_dir():
        raise WeightsError(f"weights folder '{folder}' does not exist")
    if not any((folder / f"{n}.json").is_file() for n in WEIGHT_NAMES):
        raise WeightsError(f"'{folder}' holds none of {', '.join(n + '.json' for n in WEIGHT_NAMES)}")
    return folder


def _from_hub(source: str, *, cache_dir: str | Path | None) -> Path:
    """Download (or find in the Hub cache) the weights named by ``hf://owner/repo@rev``.

    Offline or on any Hub error it logs why and falls back to the bundled weights."""
    repo, rev = parse_hf(source)
    if rev is None:
        log.warning("%s has no @revision: using 'main', which can change; pin a commit hash", source)
        rev = "main"
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError:  # pragma: no cover
        log.warning("huggingface_hub is not installed: using the bundled weights")
        return bundled_weights()
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", str(HUB_TIMEOUT_S))
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", str(HUB_TIMEOUT_S))
    folder: Path | None = None
    found = 0
    last_error: Exception | None = None
    try:
        for name in WEIGHT_NAMES:
            try:
                cfg_path = Path(hf_hub_download(repo, f"{name}.json", revision=rev, cache_dir=cache_dir,
                                                etag_timeout=HUB_TIMEOUT_S))
            except EntryNotFoundError as exc:  # not in that repo, or (offline) not in the cache
                last_error = exc
                continue
            st_path = Path(hf_hub_download(repo, f"{name}.safetensors", revision=rev, cache_dir=cache_dir,
                                           etag_timeout=HUB_TIMEOUT_S))
            folder = folder or cfg_path.parent
            if st_path.parent != cfg_path.parent:  # pragma: no cover (hub keeps a snapshot per revision)
                raise WeightsError(f"{name}: config and weights came from different snapshots")
            found += 1
    except WeightsError:
        raise
    except Exception as exc:  # offline, unreachable, time-out, unknown repo or revision
        log.warning("could not get weights from %s (%s): using the bundled weights",
                    source, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return bundled_weights()
    if not found or folder is None:
        log.warning("could not get weights from %s (%s): using the bundled weights", source,
                    str(last_error).splitlines()[0] if last_error else "no Echoes weights there")
        return bundled_weights()
    verify_folder(folder)
    return folder


def verify_folder(folder: str | Path) -> dict[str, str]:
    """Check every ``NAME.safetensors`` in ``folder`` against its config's sha256.

    Returns ``{name: sha256}``; raises :class:`WeightsError` on a mismatch.
    """
    hashes = {}
    for name in WEIGHT_NAMES:
        js = Path(folder) / f"{name}.json"
        if not js.is_file():
            continue
        cfg = read_config(folder, name)
        st = Path(folder) / f"{name}.safetensors"
        if not st.is_file():
            raise WeightsError(f"'{st}' is missing")
        got = sha256_file(st)
        if got != cfg.get("sha256"):
            raise WeightsError(f"'{st}' fails its sha256 check: refusing to load it")
        hashes[name] = got
    return hashes


MODEL_CARD = """---
license: mit
library_name: echoes
tags: [audio, audio-restoration, denoising, piano]
---

# Echoes weights

Weights for [Echoes](https://github.com/), which restores historic piano recordings.
Each `NAME.safetensors` has a `NAME.json` beside it with the model class, its hyper-parameters,
the STFT settings, how it was trained (data recipe, seed, epochs, commit), its measured metrics
and the sha256 of the weights file, which Echoes checks before loading.

| file | what | parameters |
|---|---|---|
{rows}

Use: `python -m echoes restore in.wav -o out.wav --weights hf://{repo_id}@<commit>`.
"""


def publish_weights(repo_id: str, *, folder: str | Path | None = None, private: bool = False,
                    token: str | None = None) -> str:
    """Upload ``folder`` (default: bundled weights) with a model card to ``repo_id``; returns the commit."""
    from huggingface_hub import HfApi

    folder = Path(folder or bundled_weights())
    hashes = verify_folder(folder)
    if not hashes:
        raise WeightsError(f"'{folder}' holds no weights to publish")
    rows = []
    for name in hashes:
        cfg = read_config(folder, name)
        rows.append(f"| `{name}` | {cfg.get('class', '?')} | {cfg.get('parameters', '?')} |")
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        for name in hashes:
            for ext in (".json", ".safetensors"):
                shutil.copy2(folder / f"{name}{ext}", stage / f"{name}{ext}")
        (stage / "README.md").write_text(MODEL_CARD.format(rows="\n".join(rows), repo_id=repo_id))
        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=str(stage),
                                 commit_message="Upload Echoes weights")
    commit = getattr(info, "oid", None) or str(info)
    log.info("published %s at %s", repo_id, commit)
    return commit
