"""The state that flows through a degradation chain, the effect base classes and combinators.

:class:`DegradeState` carries two float64 ``(channels, samples)`` paths: the **signal path**
(the clean input after the linear effects) and the **additive path** (the sum of the additive
noises, ``None`` until one acts), plus the record of effects, gap spans and level drops.

* :class:`AdditiveEffect` adds a noise to the additive path (``make`` returns it);
* :class:`LinearEffect` transforms both paths alike (``draw`` then ``transform``);
* :class:`NonLinearEffect` transforms the mixture; the decomposition is lost (``exact`` false);
* :class:`Combinator` runs other effects: :class:`Chain`, :class:`Maybe`, :class:`OneOf`,
  :class:`Shuffle`.

Calling an effect checks that it kept the state's shape. Every concrete (non-combinator) effect
has its own record ``name`` and is registered with its label in
:mod:`echoes.data.degrade.labels`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from echoes.data.degrade.dsp import energy
from echoes.errors import ParameterError


class DegradeState:
    """What flows through a chain: the signal and additive paths, and the record.

    ``signal`` and ``noise`` are float64 ``(channels, samples)``; ``noise`` is ``None`` until an
    additive effect acts. ``exact`` turns false when a non-linear effect mixes the paths.
    """

    def __init__(self, audio: np.ndarray, sample_rate: int):
        self.sample_rate = int(sample_rate)
        self.signal = np.asarray(audio, dtype=np.float64)
        self.noise: np.ndarray | None = None
        self.exact = True  # degraded == signal + noise
        self.transformed = False  # a linear effect changed the signal path
        self.effects: list[dict] = []
        self.gaps: list[tuple[int, int]] = []  # zeroed spans [start, stop) in samples
        self.drops: list[tuple[int, int, float, int]] = []  # (start, stop, gain_db, ramp)

    @property
    def shape(self) -> tuple[int, int]:
        return self.signal.shape  # type: ignore[return-value]

    @property
    def channels(self) -> int:
        return self.signal.shape[0]

    @property
    def n(self) -> int:
        return self.signal.shape[1]

    def mix(self) -> np.ndarray:
        return self.signal if self.noise is None else self.signal + self.noise

    def signal_level(self) -> tuple[float, float]:
        """RMS and peak of the signal path (floors for silence: -40 dBFS RMS, -20 dBFS peak)."""
        rms = math.sqrt(energy(self.signal) / max(1, self.signal.size))
        peak = float(np.max(np.abs(self.signal))) if self.signal.size else 0.0
        return (rms if rms > 1e-6 else 0.01), (peak if peak > 1e-5 else 0.1)


def jsonable(v: Any) -> Any:
    """``v`` with numpy scalars and arrays turned into JSON types (floats rounded to 6 places, NaN -> None)."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return round(f, 6) if math.isfinite(f) else None
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


class Effect:
    """Base of every effect and combinator.

    Calling an effect on a :class:`DegradeState` with a random generator applies it and checks
    that the state's shape is kept. Subclasses implement :meth:`process`. Use
    :meth:`apply` to run one effect (or a chain) on an array.
    """

    name = "effect"

    def __call__(self, state: DegradeState, rng: np.random.Generator) -> None:
        shape = state.shape
        if state.signal.ndim != 2:
            raise ParameterError(f"{self.name}: expected (channels, samples), got {state.signal.shape}")
        self.process(state, rng)
        if state.shape != shape or (state.noise is not None and state.noise.shape != shape):
            raise RuntimeError(f"effect {self.name} changed the shape {shape} -> {state.shape}")

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:  # pragma: no cover
        raise NotImplementedError

    def apply(
        self, audio: np.ndarray, sample_rate: int, *, seed: int | None = None
    ) -> tuple[np.ndarray, dict]:
        """Run this effect on ``audio`` like :func:`degrade` runs a preset."""
        from echoes.data.degrade.simulator import degrade  # a real cycle: the simulator runs effects

        return degrade(audio, sample_rate, preset=self, seed=seed)

    def _record(self, state: DegradeState, params: dict) -> None:
        state.effects.append({"name": self.name, "params": jsonable(params)})

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AdditiveEffect(Effect):
    """An effect that adds a noise; :meth:`make` returns it ``(channels, samples)``."""

    def make(self, state: DegradeState, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        raise NotImplementedError  # pragma: no cover

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        noise, params = self.make(state, rng)
        noise = np.broadcast_to(noise, state.shape)
        state.noise = np.array(noise, dtype=np.float64) if state.noise is None else state.noise + noise
        self._record(state, params)

    @staticmethod
    def scale_to_snr(state: DegradeState, noise: np.ndarray, snr_db: float) -> np.ndarray:
        """Scale ``noise`` to ``snr_db`` against the signal path (against -40 dBFS RMS if silent)."""
        en = energy(noise)
        if en <= 0:
            return noise
        es = energy(state.signal)
        if es <= 1e-12 * state.signal.size:
            es = (0.01**2) * state.signal.size
        return noise * math.sqrt(es / (en * 10.0 ** (snr_db / 10.0)))


class LinearEffect(Effect):
    """A linear, signal-independent transform (filter, time warp), applied to both paths."""

    def draw(self, state: DegradeState, rng: np.random.Generator) -> dict:
        raise NotImplementedError  # pragma: no cover

    def transform(self, x: np.ndarray, sr: int, params: dict) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        params = self.draw(state, rng)
        state.signal = self.transform(state.signal, state.sample_rate, params)
        if state.noise is not None:
            state.noise = self.transform(state.noise, state.sample_rate, params)
        state.transformed = True
        self._record(state, params)


class NonLinearEffect(Effect):
    """A transform of the mixture; the signal/noise decomposition is lost after it."""

    def draw(self, state: DegradeState, rng: np.random.Generator) -> dict:
        raise NotImplementedError  # pragma: no cover

    def transform(self, x: np.ndarray, sr: int, params: dict) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        params = self.draw(state, rng)
        state.signal = self.transform(state.mix(), state.sample_rate, params)
        state.noise = None
        state.exact = False
        state.transformed = True
        self._record(state, params)


class Combinator(Effect):
    """An effect made of other effects. It writes no record of its own (the effects it runs do),
    so it carries no label (see :mod:`echoes.data.degrade.labels`)."""


class Chain(Combinator):
    """Apply effects in order."""

    name = "chain"

    def __init__(self, effects: Sequence[Effect]):
        self.effects = list(effects)
        for e in self.effects:
            if not isinstance(e, Effect):
                raise ParameterError(f"Chain takes effects, got {e!r}")

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        for e in self.effects:
            e(state, rng)

    def __repr__(self) -> str:
        return f"Chain({self.effects!r})"


class Maybe(Combinator):
    """Apply ``effect`` with probability ``p``."""

    name = "maybe"

    def __init__(self, effect: Effect, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ParameterError(f"Maybe: p must lie in [0, 1], got {p}")
        self.effect, self.p = effect, float(p)

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        if rng.random() < self.p:
            self.effect(state, rng)

    def __repr__(self) -> str:
        return f"Maybe({self.effect!r}, p={self.p})"


class OneOf(Combinator):
    """Apply one of ``effects``, chosen with ``weights`` (uniform by default)."""

    name = "one_of"

    def __init__(self, effects: Sequence[Effect], weights: Sequence[float] | None = None):
        self.effects = list(effects)
        if not self.effects:
            raise ParameterError("OneOf needs at least one effect")
        w = np.ones(len(self.effects)) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (len(self.effects),) or np.any(w < 0) or w.sum() <= 0:
            raise ParameterError("OneOf: weights must be non-negative, one per effect, not all zero")
        self.weights = w / w.sum()

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        self.effects[int(rng.choice(len(self.effects), p=self.weights))](state, rng)

    def __repr__(self) -> str:
        return f"OneOf({self.effects!r})"


class Shuffle(Combinator):
    """Apply all ``effects`` in a random order."""

    name = "shuffle"

    def __init__(self, effects: Sequence[Effect]):
        self.effects = list(effects)

    def process(self, state: DegradeState, rng: np.random.Generator) -> None:
        for i in rng.permutation(len(self.effects)):
            self.effects[int(i)](state, rng)

    def __repr__(self) -> str:
        return f"Shuffle({self.effects!r})"
