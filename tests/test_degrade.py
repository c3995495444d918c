"""Properties of the degradation simulator on synthetic signals (no shared data needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from echoes.data import degrade as D
from echoes.errors import EmptyAudioError, NonFiniteError, ParameterError

SR = 22050


def piano_like(seconds: float = 2.0, sr: int = SR, channels: int | None = None, seed: int = 0) -> np.ndarray:
    """Decaying harmonic notes, float32 ``(samples,)`` or ``(channels, samples)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros_like(t)
    for k, f in enumerate(rng.uniform(110, 880, 4)):
        on = k * seconds / 4
        env = np.where(t >= on, np.exp(-(t - on) * 3), 0.0)
        for h in (1, 2, 3):
            x += env * np.sin(2 * np.pi * f * h * t) / h
    x = 0.3 * x / np.max(np.abs(x))
    if channels:
        x = np.stack([x * (1 - 0.1 * c) for c in range(channels)])
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def noise_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(1)
    # one 'train' clip and one 'test' clip, by the names in NOISE_SPLITS, at 44.1 kHz
    for name, f in ((D.NOISE_SPLITS["train"][0], 0), (D.NOISE_SPLITS["test"][0], 50)):
        n = 44100 * 2
        x = 0.05 * rng.standard_normal(n)
        if f:
            x += 0.1 * np.sin(2 * np.pi * f * np.arange(n) / 44100)
        sf.write(d / f"{name}.flac", x.astype(np.float32), 44100)
    return d


@pytest.mark.parametrize("preset", D.PRESETS)
@pytest.mark.parametrize("layout", ["mono", "stereo"])
def test_shape_dtype_and_determinism(preset, layout, noise_dir):
    x = piano_like(channels=2 if layout == "stereo" else None)
    y1, i1 = D.degrade(x, SR, preset=preset, seed=7, noise_dir=noise_dir)
    y2, i2 = D.degrade(x, SR, preset=preset, seed=7, noise_dir=noise_dir)
    assert y1.shape == x.shape and y1.dtype == x.dtype
    assert np.array_equal(y1, y2)
    assert i1["effects"] == i2["effects"]
    assert np.all(np.isfinite(y1))
    assert not np.array_equal(y1, x), "every preset must change the audio"
    json.dumps(D.info_to_json(i1))  # the record is JSON-serialisable
    for k in ("noise", "reference", "additive"):
        if i1[k] is not None:
            assert i1[k].shape == x.shape and i1[k].dtype == x.dtype
    # a different seed gives a different result
    y3, _ = D.degrade(x, SR, preset=preset, seed=8, noise_dir=noise_dir)
    assert not np.array_equal(y1, y3)


def test_float64_kept():
    x = piano_like().astype(np.float64)
    y, info = D.degrade(x, SR, preset="hiss", seed=0)
    assert y.dtype == np.float64 and info["noise"].dtype == np.float64


@pytest.mark.parametrize("snr", [-10.0, 0.0, 6.5, 30.0])
@pytest.mark.parametrize("layout", ["mono", "stereo"])
def test_paper_snr_exact(snr, layout):
    x = piano_like(channels=2 if layout == "stereo" else None, seed=3)
    y, info = D.degrade(x, SR, preset="paper", seed=1, snr_db=snr)
    measured = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum(info["noise"].astype(np.float64) ** 2))
    assert abs(measured - snr) < 0.1
    assert abs(info["snr_db"] - snr) < 0.1
    assert np.array_equal(x + info["noise"], y)


def test_paper_default_is_0db_white():
    x = piano_like(seconds=5.0)
    y, info = D.degrade(x, SR, preset="paper", seed=0)
    n = info["noise"].astype(np.float64)
    assert abs(10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum(n**2))) < 0.1
    assert info["effects"] == [{"name": "white_noise", "params": {"snr_db": 0.0}}]
    # white: the noise's spectrum is flat (low and high halves hold about the same power)
    P = np.abs(np.fft.rfft(n)) ** 2
    lo, hi = P[1 : P.size // 2].sum(), P[P.size // 2 :].sum()
    assert 0.9 < lo / hi < 1.1
    assert abs(n.mean()) < 0.01 * n.std()


@pytest.mark.parametrize("preset", ["paper", "hiss", "clicks", "mild"])
def test_additive_presets_decompose(preset, noise_dir):
    x = piano_like(seed=2)
    for seed in range(3):
        y, info = D.degrade(x, SR, preset=preset, seed=seed, noise_dir=noise_dir)
        assert info["noise"] is not None
        assert np.array_equal(x + info["noise"], y)
        assert np.array_equal(info["reference"], x)
        assert info["gap_mask"] is None


def test_add_noise_at_snr():
    x = piano_like()
    n = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    for snr in (-5.0, 0.0, 12.0, 40.0):
        noisy, scaled = D.add_noise_at_snr(x, n, snr)
        assert noisy.dtype == np.float32
        assert np.array_equal(x + scaled, noisy)
        assert abs(D.measure_snr(x, scaled) - snr) < 0.1
    with pytest.raises(ParameterError):
        D.add_noise_at_snr(x, n[:10], 0.0)
    with pytest.raises(EmptyAudioError):
        D.add_noise_at_snr(np.zeros_like(x), n, 0.0)


def test_gap_mask_marks_exactly_the_zeroed_samples():
    x = piano_like(seconds=3.0, channels=2) + 0.01  # no exact zeros in the input
    for seed in range(5):
        y, info = D.degrade(x, SR, preset="gaps", seed=seed)
        m = info["gap_mask"]
        assert m is not None and m.dtype == bool and m.shape == (x.shape[-1],)
        zero = np.all(y == 0, axis=0)
        assert np.array_equal(zero, m)
        assert info["noise"] is None  # zeroing is not additive
        spans = [e for e in info["effects"] if e["name"] == "dropouts"][0]["params"]["lengths_ms"]
        assert all(0 < s <= 500.0 + 1000 / SR for s in spans)
        # outside the gaps and drops the audio is untouched
        keep = ~m if info["drop_mask"] is None else ~m & ~info["drop_mask"]
        assert np.array_equal(y[:, keep], x[:, keep])


def test_gaps_are_applied_after_noise():
    """Dropouts listed before the noise still zero the final output (they are applied last)."""
    x = piano_like() + 0.01
    chain = D.Chain([D.Dropouts(count=(2, 2)), D.Hiss(snr_db=10.0), D.Clicks()])
    y, info = D.degrade(x, SR, preset=chain, seed=3)
    assert np.array_equal(np.asarray(y == 0), info["gap_mask"])
    assert np.array_equal(info["reference"] + info["additive"], y)


def test_level_drops_at_least_30db():
    x = piano_like(seconds=3.0)
    y, info = D.degrade(x, SR, preset=D.LevelDrops(count=(2, 2)), seed=4)
    m = info["drop_mask"]
    assert m is not None and m.any()
    ramp = int(0.001 * SR)
    params = info["effects"][0]["params"]
    for (a, b), depth in zip(params["spans"], params["depth_db"]):
        assert depth <= -30 + 1e-9 or depth >= 30  # recorded as positive dB of attenuation
        core = slice(a + ramp, b - ramp)
        ratio = np.abs(y[core]).max() / max(1e-12, np.abs(x[core]).max())
        assert ratio <= 10 ** (-30 / 20) * 1.001


def test_linear_chain_reference_plus_additive(noise_dir):
    x = piano_like(seed=5)
    chain = D.Chain([D.BandLimit(), D.Hiss(snr_db=15.0), D.WowFlutter(), D.Hum(snr_db=25.0)])
    y, info = D.degrade(x, SR, preset=chain, seed=0)
    assert info["noise"] is None  # the band-limit and wow changed the music itself
    assert np.allclose(info["reference"] + info["additive"], y, atol=1e-6)
    assert info["snr_db"] is not None and info["snr_db"] < 15.0
    assert info["noisy"]


def test_nonlinear_reports_no_decomposition():
    x = piano_like()
    y, info = D.degrade(x, SR, preset=D.Chain([D.Hiss(snr_db=20.0), D.SoftClip()]), seed=0)
    assert info["noise"] is None and info["reference"] is None and info["additive"] is None
    assert info["snr_db"] is None
    assert info["noisy"]  # the hiss asked for was 20 dB
    assert np.max(np.abs(y)) <= np.max(np.abs(x)) * 1.2


def test_noise_added_after_a_nonlinear_effect_is_kept():
    # the gramophone chain clips first and adds the surface noise after: that noise must be heard
    x = piano_like()
    clipped, _ = D.degrade(x, SR, preset=D.SoftClip(drive_db=(6.0, 6.0), asymmetry=(0.0, 0.0)), seed=0)
    y, info = D.degrade(x, SR, preset=D.Chain([D.SoftClip(drive_db=(6.0, 6.0), asymmetry=(0.0, 0.0)),
                                               D.Hiss(snr_db=10.0)]), seed=0)
    assert info["reference"] is None and info["noisy"]
    snr = 10 * np.log10(np.sum(clipped.astype(np.float64) ** 2) / np.sum((y - clipped).astype(np.float64) ** 2))
    assert abs(snr - 10.0) < 0.5


def test_band_limit_response():
    p = {"highpass_hz": 200.0, "highpass_order": 2, "lowpass_hz": 4000.0, "lowpass_order": 4, "resonances": []}
    f = np.array([20.0, 200.0, 1000.0, 4000.0, 10000.0])
    g = D.BandLimit.response(f, p)
    assert g[0] < 0.02 and g[-1] < 0.03  # -34 dB and below outside the band
    assert abs(g[1] - 2**-0.5) < 1e-4 and abs(g[3] - 2**-0.5) < 1e-4  # -3 dB corners
    assert g[2] > 0.95
    # and applied to tones
    t = np.arange(SR) / SR
    for f0, lo, hi in ((50.0, 0.0, 0.1), (1000.0, 0.9, 1.05), (9000.0, 0.0, 0.05)):
        y = D.BandLimit().transform(np.sin(2 * np.pi * f0 * t)[None], SR, p)
        r = np.sqrt(np.mean(y[0, SR // 4 : -SR // 4] ** 2)) / np.sqrt(0.5)
        assert lo <= r <= hi, (f0, r)


def test_hum_frequency():
    x = piano_like(seconds=2.0) * 0.0 + 1e-3 * np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32)
    y, info = D.degrade(x, SR, preset=D.Hum(mains_hz=(60.0,), snr_db=0.0), seed=2)
    P = np.abs(np.fft.rfft(info["noise"].astype(np.float64))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    peak = f[np.argmax(P)]
    assert abs(peak - info["effects"][0]["params"]["f0_hz"]) < 1.0
    assert 59.6 < info["effects"][0]["params"]["f0_hz"] < 60.4


def test_thumps_once_per_revolution():
    x = piano_like(seconds=4.0)
    y, info = D.degrade(x, SR, preset=D.Thumps(rpm=(78.0, 78.0)), seed=0)
    p = info["effects"][0]["params"]
    assert abs(p["period_s"] - 60 / 78) < 1e-5
    assert p["count"] in (5, 6)  # 4 s at 1.3 revolutions per second


def test_clicks_durations_and_polarity():
    x = piano_like(seconds=5.0)
    y, info = D.degrade(x, SR, preset=D.Clicks(rate_hz=(8.0, 8.0)), seed=0)
    n = info["noise"]
    assert n.max() > 0 and n.min() < 0
    p = info["effects"][0]["params"]
    assert p["count"] >= 10 and sum(p["shapes"].values()) == p["count"]
    assert sum(1 for v in p["shapes"].values() if v) >= 3
    # impulsive: most samples untouched
    assert np.mean(n != 0) < 0.05


def test_wow_changes_pitch_a_little():
    t = np.arange(3 * SR) / SR
    x = np.sin(2 * np.pi * 1000 * t)[None]
    p = {"wow_hz": 1.0, "wow_pct": 0.5, "wow_phase": 0.0, "flutter_hz": 6.0, "flutter_pct": 0.0, "flutter_phase": 0.0}
    y = D.WowFlutter().transform(x, SR, p)
    assert y.shape == x.shape
    # instantaneous frequency through zero crossings stays within 1000 Hz +- 0.6 %
    z = y[0, 100:-100]
    i = np.flatnonzero((z[:-1] < 0) & (z[1:] >= 0))  # rising zero crossings, interpolated
    tc = (i + z[i] / (z[i] - z[i + 1])) / SR
    f_inst = 10 / (tc[10:] - tc[:-10])  # over 10 periods
    assert f_inst.min() > 990 and f_inst.max() < 1010
    assert f_inst.max() - f_inst.min() > 4  # it does wobble (about +- 5 Hz)


def test_recorded_noise_splits(noise_dir):
    train = D.noise_files(noise_dir, "train")
    test = D.noise_files(noise_dir, "test")
    assert [p.stem for p in train] == [D.NOISE_SPLITS["train"][0]]
    assert [p.stem for p in test] == [D.NOISE_SPLITS["test"][0]]
    assert not set(D.NOISE_SPLITS["train"]) & set(D.NOISE_SPLITS["test"])
    x = piano_like(seconds=6.0)  # longer than the 2 s clip: it must loop
    eff = D.RecordedNoise(noise_dir, split="test", snr_db=10.0)
    y, info = D.degrade(x, SR, preset=eff, seed=0)
    p = info["effects"][0]["params"]
    assert p["file"].startswith(D.NOISE_SPLITS["test"][0]) and p["segments"] >= 3
    assert abs(info["snr_db"] - 10.0) < 0.1
    # the held-out clip has a 50 Hz tone: it shows in the looped noise
    P = np.abs(np.fft.rfft(info["noise"].astype(np.float64))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    assert abs(f[np.argmax(P)] - 50.0) < 1.0
    with pytest.raises(ParameterError):
        D.noise_files(noise_dir / "missing")


def test_loop_noise_keeps_level():
    rng = np.random.default_rng(0)
    clip = rng.standard_normal(SR)  # 1 s, unit RMS
    y, segs = D.loop_noise(clip, 10 * SR, np.random.default_rng(1), sample_rate=SR)
    assert segs >= 10 and y.shape == (10 * SR,)
    # equal-power crossfades: the level stays within 1 dB everywhere (100 ms windows)
    w = y[: (y.size // 2205) * 2205].reshape(-1, 2205)
    lev = 10 * np.log10(np.mean(w**2, axis=1))
    assert np.all(np.abs(lev) < 1.0)


def test_npy_noise_folder(tmp_path):
    x = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    np.save(tmp_path / "my_noise.npy", (x * 32767).astype(np.int16))
    (tmp_path / "noise.json").write_text(json.dumps({"sample_rate": SR}))
    y, info = D.degrade(piano_like(), SR, preset=D.RecordedNoise(tmp_path, snr_db=5.0), seed=0)
    assert abs(info["snr_db"] - 5.0) < 0.1


def test_is_noisy_definition(noise_dir):
    x = piano_like()
    assert not D.is_noisy({"effects": [], "snr_db": None})
    for preset in D.PRESETS:
        for seed in range(4):
            _, info = D.degrade(x, SR, preset=preset, seed=seed, noise_dir=noise_dir)
            assert info["noisy"], (preset, seed, info["effects"])
    _, info = D.degrade(x, SR, preset="mild", seed=0)
    assert 20.0 <= info["snr_db"] < 30.0
    _, faint = D.degrade(x, SR, preset=D.Hiss(snr_db=45.0), seed=0)
    assert not faint["noisy"]
    _, wow = D.degrade(x, SR, preset=D.WowFlutter(), seed=0)
    assert not wow["noisy"]


def test_silent_input_gets_noise_at_a_floor():
    x = np.zeros(SR, dtype=np.float32)
    y, info = D.degrade(x, SR, preset="hiss", seed=0)
    assert np.array_equal(x + info["noise"], y) and np.any(y != 0)
    assert info["noisy"]
    assert np.sqrt(np.mean(y.astype(np.float64) ** 2)) < 0.01  # -40 dBFS floor, minus the SNR


def test_combinators():
    x = piano_like()
    never = D.Maybe(D.Hiss(), p=0.0)
    y, info = D.degrade(x, SR, preset=never, seed=0)
    assert info["effects"] == [] and np.array_equal(y, x) and not info["noisy"]
    one = D.OneOf([D.Hiss(), D.Hum()], weights=[0, 1])
    _, info = D.degrade(x, SR, preset=one, seed=0)
    assert [e["name"] for e in info["effects"]] == ["hum"]
    orders = {tuple(e["name"] for e in D.degrade(x, SR, preset=D.Shuffle([D.Hiss(), D.Hum(), D.Rumble()]),
                                                  seed=s)[1]["effects"]) for s in range(12)}
    assert len(orders) > 1
    with pytest.raises(ParameterError):
        D.Maybe(D.Hiss(), p=1.5)
    with pytest.raises(ParameterError):
        D.OneOf([])


def test_bad_input():
    x = piano_like()
    with pytest.raises(ParameterError):
        D.degrade(x, SR, preset="nope")
    with pytest.raises(ParameterError):
        D.degrade((x * 1000).astype(np.int16), SR, preset="hiss")
    with pytest.raises(ParameterError):
        D.degrade(x[None, None], SR, preset="hiss")
    with pytest.raises(ParameterError):
        D.degrade(x, 0, preset="hiss")
    with pytest.raises(EmptyAudioError):
        D.degrade(np.zeros(0, np.float32), SR, preset="hiss")
    bad = x.copy()
    bad[3] = np.nan
    with pytest.raises(NonFiniteError):
        D.degrade(bad, SR, preset="hiss")
    with pytest.raises(ParameterError):
        D.Hiss(snr_db=(30.0, 10.0))


def test_rate_independent_parameters():
    """The same effect at 44.1 kHz: a 1 kHz tone band-limited alike at both rates."""
    for sr in (16000, 44100):
        x = piano_like(sr=sr)
        y, info = D.degrade(x, sr, preset="gramophone", seed=0)
        assert y.shape == x.shape and np.all(np.isfinite(y))


def test_fit_and_dev_noise_are_disjoint_parts_of_the_training_clips(tmp_path):
    # a training clip whose first four fifths hum at 100 Hz and whose last fifth at 1 kHz
    n = 5 * SR
    t = np.arange(n) / SR
    x = np.where(t < 4.0, np.sin(2 * np.pi * 100 * t), np.sin(2 * np.pi * 1000 * t))
    sf.write(tmp_path / f"{D.NOISE_SPLITS['train'][0]}.flac", (0.1 * x).astype(np.float32), SR)
    assert D.noise_files(tmp_path, "fit") == D.noise_files(tmp_path, "dev") == D.noise_files(tmp_path, "train")
    f = np.fft.rfftfreq(8 * SR, 1 / SR)
    for split, hz in (("fit", 100.0), ("dev", 1000.0)):
        y, info = D.degrade(np.zeros(8 * SR, np.float32), SR, seed=3,
                            preset=D.RecordedNoise(tmp_path, split=split, snr_db=10.0))
        P = np.abs(np.fft.rfft(info["noise"].astype(np.float64))) ** 2
        assert abs(f[np.argmax(P)] - hz) < 2.0, split
        other = 1000.0 if hz == 100.0 else 100.0
        near = np.abs(f - other) < 5.0
        assert P[near].sum() < 1e-3 * P.sum(), split  # nothing of the other part
    with pytest.raises(ParameterError):
        D.noise_files(tmp_path, "nope")


# --------------------------------------------------------------------------------------------
# the registry of effects and their labels
# --------------------------------------------------------------------------------------------

#: Abstract bases: the only Effect subclasses of the package that are neither registered nor combinators.
BASES = {D.Effect, D.AdditiveEffect, D.LinearEffect, D.NonLinearEffect, D.Combinator}


def _package_effect_classes() -> set[type]:
    import importlib
    import pkgutil

    for m in pkgutil.iter_modules(D.__path__):
        importlib.import_module(f"{D.__name__}.{m.name}")
    found, todo = set(), [D.Effect]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return {c for c in found if c.__module__.startswith(D.__name__ + ".")}


def test_every_concrete_effect_is_registered_once():
    classes = _package_effect_classes()
    concrete = {c for c in classes if c not in BASES and not issubclass(c, D.Combinator)}
    assert {D.Chain, D.Maybe, D.OneOf, D.Shuffle} <= classes - concrete
    registered = {r.cls for r in D.REGISTRY.values()}
    assert concrete - registered == set(), "register these effects with @register(Label...)"
    for name, r in D.REGISTRY.items():
        assert r.name == name == r.cls.__dict__["name"] and isinstance(r.label, D.Label)
    assert len(registered) == len(D.REGISTRY)  # one name per class
    # the combinators and bases are not registered (they write no record of their own)
    assert not (BASES | {D.Chain, D.Maybe, D.OneOf, D.Shuffle}) & registered


def test_registry_labels_match_the_definition_of_noisy(noise_dir):
    assert set(D.effect_names(D.Label.IMPULSIVE)) == {"clicks", "crackle", "thumps"}
    assert set(D.effect_names(D.Label.DAMAGE)) == {"band_limit", "dropouts", "level_drops"}
    assert set(D.effect_names(D.Label.STEADY_NOISE)) == {"white_noise", "hiss", "hum", "rumble", "recorded_noise"}
    assert set(D.effect_names(D.Label.NOT_NOISE)) == {"wow_flutter", "soft_clip"}
    # every registered effect has a representative in single_effects, under its record name
    assert set(D.single_effects(noise_dir)) == set(D.REGISTRY)
    x = piano_like()
    for name, eff in D.single_effects(noise_dir).items():
        _, info = D.degrade(x, SR, preset=eff, seed=0)
        assert [e["name"] for e in info["effects"]] == [name]
        if D.label_of(name) in (D.Label.IMPULSIVE, D.Label.DAMAGE):
            assert info["noisy"], name
        if D.label_of(name) is D.Label.NOT_NOISE:
            assert not info["noisy"], name


def test_unregistered_effect_cannot_be_labelled():
    with pytest.raises(ParameterError, match="not registered"):
        D.is_noisy({"effects": [{"name": "fizz", "params": {}}], "snr_db": None})
    with pytest.raises(ParameterError):
        D.label_of("effect")

    class Fizz(D.AdditiveEffect):
        name = "fizz_unregistered"

        def make(self, state, rng):
            return rng.standard_normal(state.shape) * 0.01, {}

    with pytest.raises(ParameterError, match="not registered"):
        D.degrade(piano_like(), SR, preset=Fizz(), seed=0)


def test_register_rejects_duplicates_and_nameless_effects():
    class Again(D.AdditiveEffect):
        name = "hiss"

    class Nameless(D.AdditiveEffect):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        D.register(D.Label.STEADY_NOISE)(Again)
    with pytest.raises(TypeError):
        D.register(D.Label.STEADY_NOISE)(Nameless)
    with pytest.raises(TypeError):
        D.register(D.Label.NOT_NOISE)(D.Chain)
    with pytest.raises(TypeError):
        D.register("noisy")
    assert D.REGISTRY["hiss"].cls is D.Hiss


def test_info_to_json_spans_match_the_masks():
    x = piano_like(seconds=3.0) + 0.01
    y, info = D.degrade(x, SR, preset=D.Chain([D.Dropouts(count=(3, 3)), D.LevelDrops(count=(2, 2))]), seed=1)
    j = D.info_to_json(info)
    for k in ("gap_mask", "drop_mask"):
        m = np.zeros_like(info[k])
        for a, b in j[k]["spans"]:
            assert isinstance(a, int) and isinstance(b, int) and a < b
            m[a:b] = True
        assert np.array_equal(m, info[k]) and j[k]["samples"] == int(info[k].sum())
