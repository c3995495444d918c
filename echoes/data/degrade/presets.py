"""Named degradation chains (:data:`PRESETS`) and one representative of each effect.

:func:`build_preset` returns the effect chain of a preset (``paper``, ``gramophone``,
``clicks``, ``hiss``, ``gaps``, ``mild``), optionally with recorded noise from a folder and an
SNR override; :func:`single_effects` gives each effect alone with typical parameters, for
figures and ``echoes data degrade --effect``. Every preset makes a clip noisy by
:func:`echoes.data.degrade.is_noisy`.
"""

from __future__ import annotations

import os

from echoes.data.degrade.base import Chain, Effect, Maybe, OneOf, Shuffle
from echoes.data.degrade.damage import Dropouts, LevelDrops
from echoes.data.degrade.filters import BandLimit, SoftClip, WowFlutter
from echoes.data.degrade.noise import Clicks, Crackle, Hiss, Hum, Rumble, Thumps, WhiteNoise
from echoes.data.degrade.recorded import RecordedNoise
from echoes.errors import ParameterError


#: Preset names accepted by :func:`degrade` and :func:`build_preset`.
PRESETS = ("paper", "gramophone", "clicks", "hiss", "gaps", "mild")


def build_preset(
    name: str,
    *,
    snr_db: float | tuple[float, float] | None = None,
    noise_dir: str | os.PathLike | None = None,
    noise_split: str = "train",
) -> Effect:
    """The effect chain of a named preset.

    Parameters
    ----------
    name : one of :data:`PRESETS`:

        * ``paper``: white Gaussian noise at 0 dB SNR (the paper's protocol);
        * ``gramophone``: a realistic random chain (band-limiting, soft clipping, hiss, crackle,
          clicks, thumps, recorded noise, wow and flutter, hum, rumble, sometimes dropouts);
        * ``clicks``: clicks, often with crackle (additive only);
        * ``hiss``: coloured hiss at 0 to 30 dB SNR, sometimes rumble (additive only);
        * ``gaps``: dropouts and sometimes level drops, no noise;
        * ``mild``: hiss at 20 to 29 dB SNR, sometimes faint hum or recorded noise (additive
          only; still noisy by :func:`is_noisy`).
    snr_db : overrides the SNR (dB, a number or a (low, high) range) of the main noise of
        ``paper``, ``hiss``, ``mild`` and ``gramophone``'s hiss.
    noise_dir : folder of recorded noise clips (``gramophone`` and ``mild`` use it if given).
    noise_split : which clips of :data:`NOISE_SPLITS` to use: ``'train'``, ``'test'``, ``'all'``,
        or a part of the training clips (:data:`NOISE_PORTIONS`: ``'fit'``, ``'dev'``).
    """
    if name not in PRESETS:
        raise ParameterError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    rec = RecordedNoise(noise_dir, split=noise_split) if noise_dir is not None else None
    if name == "paper":
        return WhiteNoise(0.0 if snr_db is None else snr_db)
    if name == "hiss":
        return Chain([Hiss(snr_db=(0.0, 30.0) if snr_db is None else snr_db), Maybe(Rumble(), 0.3)])
    if name == "clicks":
        return Chain([Clicks(), Maybe(Crackle(snr_db=(20.0, 40.0)), 0.5)])
    if name == "gaps":
        return Chain([Dropouts(), Maybe(LevelDrops(), 0.5)])
    if name == "mild":
        extra: list[Effect] = [Maybe(Hum(snr_db=(35.0, 50.0)), 0.3)]
        if rec is not None:
            rec.snr_db = (30.0, 45.0)
            extra.append(Maybe(rec, 0.5))
        return Chain([Hiss(snr_db=(20.0, 29.0) if snr_db is None else snr_db, lowpass_hz=(6000.0, 12000.0)), *extra])
    # gramophone: recording (horn, cutter overload), the disc's surface, playback, transfer, damage
    surface: list[Effect] = [
        Hiss(snr_db=(5.0, 28.0) if snr_db is None else snr_db),
        Maybe(Crackle(), 0.7),
        Maybe(Clicks(), 0.7),
        Maybe(Thumps(), 0.25),
    ]
    if rec is not None:
        surface.append(Maybe(rec, 0.6))
    return Chain([
        Maybe(BandLimit(), 0.7),
        Maybe(SoftClip(), 0.25),
        Shuffle(surface),
        Maybe(WowFlutter(), 0.5),
        Maybe(Hum(), 0.35),
        Maybe(Rumble(), 0.35),
        Maybe(OneOf([Dropouts(count=(1, 2)), LevelDrops()]), 0.1),
    ])


def single_effects(noise_dir: str | os.PathLike | None = None) -> dict[str, Effect]:
    """Each effect alone with typical parameters, one per name (for figures, demonstrations and
    the ``data degrade --effect`` option); ``recorded_noise`` only when ``noise_dir`` is given."""
    effects: dict[str, Effect] = {
        "white_noise": WhiteNoise(0.0),
        "hiss": Hiss(snr_db=10.0),
        "crackle": Crackle(snr_db=20.0),
        "clicks": Clicks(rate_hz=(3.0, 3.0)),
        "thumps": Thumps(peak_rel=(0.3, 0.5)),
        "hum": Hum(snr_db=15.0),
        "rumble": Rumble(snr_db=10.0),
        "band_limit": BandLimit(),
        "wow_flutter": WowFlutter(wow_pct=(0.8, 0.8)),
        "soft_clip": SoftClip(drive_db=(10.0, 10.0)),
        "dropouts": Dropouts(count=(3, 3)),
        "level_drops": LevelDrops(count=(2, 2)),
    }
    if noise_dir is not None:
        effects["recorded_noise"] = RecordedNoise(noise_dir, split="all", snr_db=10.0)
    return effects
