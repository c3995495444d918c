"""Training packs: a corpus's clean clips for a machine with numpy only.

A pack folder holds ``pack.json`` (version, rate, clips: id, piece, piano, split, shard, row),
``clean/<split>_NNN.npz`` (lossless int16 clips at 22,050 Hz as the first difference in two
uint8 byte planes, :func:`encode_int16`) or ``clean/<split>_NNN.flac`` (``codec="flac"``), and
optionally ``noise/`` (train noise clips, int16 ``.npy``). :func:`pack_corpus` writes one under
a size budget; :func:`load_pack` reads it back as float32 ``(n_clips, samples)`` with numpy
alone (soundfile only for FLAC shards), which is why audio I/O is imported inside the writer.
Held-out pianos are never packed. Sizes and the packs used for training: docs/DATA.md.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from echoes.data.corpus.manifest import CLIP_SECONDS, check_split, load_manifest
from echoes.data.degrade import noise_files
from echoes.errors import EchoesError, ParameterError

log = logging.getLogger(__name__)

PACK_RATE = 22_050
PACK_VERSION = 1


def encode_int16(rows: np.ndarray) -> dict[str, np.ndarray]:
    """Lossless, numpy-only compressible form of int16 ``(n, samples)``: the first difference
    along time, split into high and low byte planes (``np.savez_compressed`` then deflates them
    to about 50 to 70 % of the raw size)."""
    d = np.diff(rows.astype(np.int16), axis=-1, prepend=np.int16(0)).astype(np.int16)
    u = d.view(np.uint16)
    return {"hi": (u >> 8).astype(np.uint8), "lo": (u & 0xFF).astype(np.uint8)}


def decode_int16(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_int16`: int16 ``(n, samples)`` (a cumulative sum, wrapping)."""
    d = ((hi.astype(np.uint16) << 8) | lo.astype(np.uint16)).view(np.int16)
    return np.cumsum(d, axis=-1, dtype=np.int16)


def pack_corpus(
    corpus_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    max_mb: float = 40.0,
    splits: Sequence[str] = ("train", "val"),
    val_share: float = 0.12,
    noise_dir: str | os.PathLike | None = None,
    seed: int = 0,
    seconds: float = CLIP_SECONDS,
    shard_clips: int = 32,
    silent_keep: float = 0.1,
    silent_dbfs: float = -55.0,
    codec: str = "npz",
    exclude: Sequence[str | os.PathLike] = (),
    quality: str = "HQ",
    rate: int = PACK_RATE,
) -> dict:
    """Write a compact training pack: clean clips at ``rate`` Hz (default 22,050; lossless int16)
    and train noise at the same rate (44,100 for the archival de-noiser).

    Clips are taken round-robin over the renders of each split (seeded), so a small pack still
    holds many pieces; near-silent clips (RMS under ``silent_dbfs``) are kept with probability
    ``silent_keep``. Shards are ``np.savez_compressed`` files (readable with numpy alone, see
    :func:`load_pack`), or with ``codec="flac"`` 16-bit FLAC files of the shard's clips end to
    end (also lossless and smaller, docs/DATA.md; reading them needs soundfile); the budget
    ``max_mb`` (MiB) covers everything written, ``val_share`` of the clip budget goes to ``val``.
    ``exclude``: packs whose clips are left out (by id), so that several packs of one corpus,
    each under a transfer limit, hold disjoint clips (``train denoiser --data A B ...``).
    ``quality``: the resampler (:func:`echoes.core.audio.resample`; ``"fft"`` keeps the band up to
    11,025 Hz whole, which the high-frequency model's targets need).

    Layout::

        pack.json                 version, rate, clips (id, piece, piano, split, shard, row)
        clean/<split>_NNN.npz     hi, lo (uint8, see encode_int16), ids
        clean/<split>_NNN.flac    (codec "flac") the shard's clips end to end, int16 mono
        noise/<stem>.npy          int16 mono at 22,050 Hz (the train noise clips)
        noise/noise.json          {"sample_rate": 22050, "files": [...]}
    """
    from echoes.core.audio import load, resample  # needs soundfile: not imported by the numpy-only reader

    if codec not in ("npz", "flac"):
        raise ParameterError(f"codec must be 'npz' or 'flac', got {codec!r}")
    man = load_manifest(corpus_dir)
    root, out = Path(corpus_dir), Path(out)
    skip: set[str] = set()
    for e in exclude:
        if Path(e).resolve() == out.resolve():
            raise ParameterError(f"--exclude-pack '{e}' is the pack being written")
        if not (Path(e) / "pack.json").is_file():
            raise ParameterError(f"--exclude-pack '{e}' is not a training pack (no pack.json)")
        skip |= {c["id"] for c in json.loads((Path(e) / "pack.json").read_text())["clips"]}
    (out / "clean").mkdir(parents=True, exist_ok=True)
    for old in [*(out / "clean").glob("*.npz"), *(out / "clean").glob("*.flac")]:
        old.unlink()
    budget = int(max_mb * 2**20)
    used = 0
    info_noise = []
    if noise_dir is not None:
        (out / "noise").mkdir(exist_ok=True)
        for p in noise_files(noise_dir, "train"):
            a, sr = load(p)
            x = resample(a.mean(axis=0), sr, rate, quality=quality)
            x = x / max(1.0, float(np.max(np.abs(x))))
            np.save(out / "noise" / f"{p.stem}.npy", np.round(x * 32767).astype(np.int16))
            used += (out / "noise" / f"{p.stem}.npy").stat().st_size
            info_noise.append({"file": f"{p.stem}.npy", "source": p.name, "seconds": round(x.size / rate, 2)})
        (out / "noise" / "noise.json").write_text(json.dumps({"sample_rate": rate, "files": info_noise}, indent=1))
    n = int(round(seconds * rate))
    rng = np.random.default_rng(seed)
    clips_meta: list[dict] = []
    clip_budget = int((budget - used) * 0.98) - 200_000  # room for pack.json and estimate error
    shares = {s: (val_share if s == "val" else 1.0) for s in splits}
    if "val" in splits and len(splits) > 1:
        rest = [s for s in splits if s != "val"]
        shares.update({s: (1 - val_share) / len(rest) for s in rest})
    else:
        shares = {s: 1.0 / len(splits) for s in splits}
    for split in splits:
        check_split(split)
        split_budget = int(clip_budget * shares[split])
        renders = [r for r in man["renders"] if r["split"] == split and not r.get("heldout_piano")]
        order = rng.permutation(len(renders))
        # each render's windows, in a seeded order, taken round-robin over renders
        queues = []
        for i in order:
            r = renders[int(i)]
            k = int(r["duration"] * rate) // n
            queues.append((r, list(rng.permutation(k))))
        cache: dict[str, np.ndarray] = {}
        rows, ids, spent, shard = [], [], 0, 0

        def flush() -> int:
            nonlocal rows, ids, shard
            if not rows:
                return 0
            if codec == "flac":
                import soundfile as sf

                path = out / "clean" / f"{split}_{shard:03d}.flac"
                sf.write(path, np.concatenate(rows), rate, format="FLAC", subtype="PCM_16")
            else:
                path = out / "clean" / f"{split}_{shard:03d}.npz"
                np.savez_compressed(path, ids=np.array(ids), **encode_int16(np.stack(rows)))
            size = path.stat().st_size
            for j, cid in enumerate(ids):
                clips_meta[-len(ids) + j]["shard"] = path.name
            rows, ids = [], []
            shard += 1
            return size

        est_ratio = 0.62 if codec == "npz" else 0.42  # compressed / raw, refined after each shard
        done = False
        while not done and any(q for _, q in queues):
            for r, q in queues:
                if not q:
                    continue
                j = int(q.pop(0))
                if f"{r['id']}:{j:04d}" in skip:
                    continue
                if r["id"] not in cache:
                    if len(cache) > 8:
                        cache.pop(next(iter(cache)))
                    a, sr = load(root / r["file"])
                    cache[r["id"]] = resample(a.mean(axis=0), sr, rate, quality=quality)
                seg = cache[r["id"]][j * n : (j + 1) * n]
                if seg.size < n:
                    continue
                rms = math.sqrt(float(np.mean(seg.astype(np.float64) ** 2)))
                if 20 * math.log10(max(rms, 1e-10)) < silent_dbfs and rng.random() > silent_keep:
                    continue
                if spent + (len(rows) + 1) * n * 2 * est_ratio * 1.03 > split_budget:
                    done = True
                    break
                rows.append(np.round(np.clip(seg, -1, 1) * 32767).astype(np.int16))
                cid = f"{r['id']}:{j:04d}"
                ids.append(cid)
                clips_meta.append({"id": cid, "piece": r["piece"], "piano": r["piano"], "split": split,
                                   "start_s": round(j * seconds, 3), "row": len(rows) - 1})
                if len(rows) == shard_clips:
                    m = len(rows)
                    size = flush()
                    spent += size
                    est_ratio = size / (m * n * 2)
        spent += flush()
        used += spent
        log.info("pack %s: %d clips, %.1f MiB", split, sum(c["split"] == split for c in clips_meta), spent / 2**20)
    meta = {"version": PACK_VERSION, "sample_rate": rate, "clip_samples": n,
            "format": "int16 diff byte-planes in npz" if codec == "npz" else "int16 FLAC, a shard's clips end to end",
            "corpus_seed": man.get("seed"), "seed": seed, "resample_quality": quality, "exclude": [str(e) for e in exclude],
            "excluded_clips": len(skip), "noise": info_noise, "clips": clips_meta, "totals": {}}
    while True:
        cl = meta["clips"]
        meta["totals"] = {s: {"clips": sum(c["split"] == s for c in cl),
                              "minutes": round(sum(c["split"] == s for c in cl) * seconds / 60, 2),
                              "pieces": len({c["piece"] for c in cl if c["split"] == s})} for s in splits}
        (out / "pack.json").write_text(json.dumps(meta, indent=0))
        meta["totals"]["bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) + 64
        (out / "pack.json").write_text(json.dumps(meta, indent=0))
        if meta["totals"]["bytes"] <= budget or not cl:
            break
        # over budget (a bad size estimate): drop the last shard of the largest split
        big = max(splits, key=lambda s: meta["totals"][s]["clips"])
        last = max(c["shard"] for c in cl if c["split"] == big)
        (out / "clean" / last).unlink()
        meta["clips"] = [c for c in cl if c["shard"] != last]
        log.warning("pack over %.1f MiB: dropped shard %s", max_mb, last)
    return meta


def pack_rate(pack_dir: str | os.PathLike) -> int:
    """The sample rate (Hz) of a pack's clips (``sample_rate``, or ``rate`` in real-recording packs)."""
    meta = json.loads((Path(pack_dir) / "pack.json").read_text())
    return int(meta.get("sample_rate", meta.get("rate", PACK_RATE)))


def load_pack(pack_dir: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, list[dict]]:
    """Clean clips of a pack: float32 ``(n_clips, samples)`` at the pack's rate (:func:`pack_rate`)
    and their metadata.

    Needs numpy only (no scipy), and soundfile for a pack made with ``codec="flac"``.
    """
    check_split(split)
    root = Path(pack_dir)
    p = root / "pack.json"
    if not p.exists():
        raise EchoesError(f"'{pack_dir}' is not a training pack (no pack.json); make one with 'echoes data pack'")
    meta = json.loads(p.read_text())
    clips = [c for c in meta["clips"] if c["split"] == split]
    out = []
    for shard in sorted({c["shard"] for c in clips}):
        if shard.endswith((".flac", ".ogg")):
            import soundfile as sf

            a, _ = sf.read(root / "clean" / shard, dtype="int16")
            out.append(a.reshape(-1, meta["clip_samples"]))
        else:
            with np.load(root / "clean" / shard) as z:
                out.append(decode_int16(z["hi"], z["lo"]))
    if not out:
        return np.zeros((0, meta["clip_samples"]), np.float32), []
    audio = np.concatenate(out).astype(np.float32) / 32768.0
    order = sorted(clips, key=lambda c: (c["shard"], c["row"]))
    return audio, order
