"""The classifier's label: which degradations make a clip *noisy*, as one registry of effects.

Every concrete effect class is registered once, under its record name (``Effect.name``), with
a :class:`Label` saying what it means for the label (``@register(Label.X)`` on the class).
:func:`is_noisy` reads only this registry, and raises :class:`ParameterError` for a record that
names an unregistered effect, so a new effect cannot be labelled silently. Combinators write no
record of their own and are not registered.

A clip is noisy when its degradation record shows any of
* an impulsive effect (clicks, crackle, thumps: audible by construction);
* damage: acoustic-era band-limiting, dropouts (zeroed spans), level drops of 30 dB or more;
* steady additive noise at an SNR below :data:`NOISY_SNR_DB` (30 dB) against the signal path.
Wow/flutter and soft clipping alone do not make a clip noisy (a de-noiser does not undo them);
clean audio (no effect) is not noisy. The ``mild`` preset is noisy (hiss at 20 to 29 dB SNR).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

from echoes.data.degrade.base import Combinator, Effect
from echoes.errors import ParameterError

#: Below this SNR (dB) additive noise makes a clip "noisy" (see :func:`is_noisy`).
NOISY_SNR_DB = 30.0


class Label(enum.Enum):
    """What an effect in a record means for the classifier's label."""

    IMPULSIVE = "impulsive"  # impulsive noise: always noisy
    DAMAGE = "damage"  # band-limiting or lost signal: always noisy
    STEADY_NOISE = "steady_noise"  # additive noise: noisy below NOISY_SNR_DB
    NOT_NOISE = "not_noise"  # changes the sound, but is not noise by itself


#: Labels that make a record noisy whatever the SNR.
ALWAYS_NOISY = frozenset({Label.IMPULSIVE, Label.DAMAGE})


@dataclass(frozen=True)
class RegisteredEffect:
    """One entry of :data:`REGISTRY`: the record name, the effect class and its label."""

    name: str
    cls: type[Effect]
    label: Label


#: Record name -> registered effect; filled by :func:`register` as the effect modules load.
REGISTRY: dict[str, RegisteredEffect] = {}


def register(label: Label) -> Callable[[type[Effect]], type[Effect]]:
    """Class decorator: register a concrete effect under its own ``name`` with ``label``.

    Raises ``TypeError`` for a combinator, a class that is not an effect or one without its own
    ``name``, and ``ValueError`` when the name is already registered.
    """
    if not isinstance(label, Label):
        raise TypeError(f"register takes a Label, got {label!r}")

    def decorate(cls: type[Effect]) -> type[Effect]:
        if not (isinstance(cls, type) and issubclass(cls, Effect)) or issubclass(cls, Combinator):
            raise TypeError(f"only concrete effects are registered, got {cls!r}")
        name = cls.__dict__.get("name")
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__name__} must set its own record name (class attribute 'name')")
        if name in REGISTRY:
            raise ValueError(f"effect name {name!r} is registered twice "
                             f"({REGISTRY[name].cls.__name__} and {cls.__name__})")
        REGISTRY[name] = RegisteredEffect(name, cls, label)
        return cls

    return decorate


def label_of(name: str) -> Label:
    """The label of a registered effect name; :class:`ParameterError` for an unknown one."""
    try:
        return REGISTRY[name].label
    except KeyError:
        raise ParameterError(f"effect {name!r} is not registered: decorate its class with "
                             "@register(Label...) from echoes.data.degrade.labels") from None


def effect_names(label: Label) -> tuple[str, ...]:
    """Registered effect names with ``label``, in registration order."""
    return tuple(r.name for r in REGISTRY.values() if r.label is label)


def is_noisy(info: dict) -> bool:
    """The classifier's label for a degradation record (see the module docstring).

    True when the record shows an impulsive or damaging effect, or steady additive noise under
    :data:`NOISY_SNR_DB` dB SNR. A record of non-linear mixing (no SNR) with steady noise falls
    back on the SNRs the effects were asked for. Unregistered effect names raise
    :class:`ParameterError`.
    """
    labels = {label_of(e["name"]) for e in info.get("effects", [])}
    if labels & ALWAYS_NOISY:
        return True
    snr = info.get("snr_db")
    if snr is not None and snr < NOISY_SNR_DB:
        return True
    if snr is None and Label.STEADY_NOISE in labels:
        # the paths were mixed (soft clipping): fall back on the SNRs the effects were asked for
        snrs = [e["params"].get("snr_db") for e in info["effects"] if label_of(e["name"]) is Label.STEADY_NOISE]
        snrs = [s for s in snrs if s is not None]
        if snrs:
            total = -10 * math.log10(sum(10 ** (-s / 10) for s in snrs))
            return total < NOISY_SNR_DB
    return False
