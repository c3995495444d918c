"""De-noisers: the paper's CAE layout, the default model, the inference API, metrics, training bits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from echoes.core import metrics
from echoes.core.hub import bundled_weights
from echoes.restore.denoise import Denoiser, level_gain
from echoes.errors import NonFiniteError, ParameterError
from echoes.models.autoencoder import PAPER_PARAMETERS, PaperCAE
from echoes.models.complex_unet import ComplexUNet
from echoes.models.registry import denoiser_spec

SR = 22_050


def _piano_like(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Decaying harmonic notes (samples,), peak about 0.5."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    x = np.zeros(n)
    for start in np.arange(0, seconds, 0.5):
        f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
        m = t >= start
        env = np.exp(-(t[m] - start) * 3.0)
        for h in range(1, 8):
            if f0 * h < sr / 2:
                x[m] += env * np.sin(2 * np.pi * f0 * h * (t[m] - start)) / h
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def _small_unet() -> ComplexUNet:
    torch.manual_seed(0)
    return ComplexUNet(channels=(4, 4, 4, 4), bottleneck=16).eval()


# -- the paper's autoencoder ------------------------------------------------------------------


def test_cae_has_the_papers_parameter_count_and_latent():
    m = PaperCAE().eval()
    assert sum(p.numel() for p in m.parameters()) == PAPER_PARAMETERS == 28_353
    x = torch.rand(1, 1, 1025, 216)
    assert tuple(m.encode(x).shape) == (1, 32, 513, 108)
    y = m(x)
    assert y.shape == x.shape and bool((y >= 0).all())


def test_cae_is_level_invariant():
    torch.manual_seed(0)
    m = PaperCAE().eval()
    x = torch.rand(1, 1, 1025, 40)
    with torch.no_grad():
        np.testing.assert_allclose(m(100 * x).numpy(), 100 * m(x).numpy(), rtol=1e-4, atol=1e-6)


# -- the default model -------------------------------------------------------------------------


def test_unet_keeps_shapes_and_starts_near_identity():
    m = ComplexUNet().eval()
    x = torch.from_numpy(_piano_like(3.0))[None]
    with torch.no_grad():
        y = m.enhance(x)
    assert y.shape == x.shape
    # the head starts at centre tap 1 (plus small noise): the output is close to the input
    assert metrics.snr_db(x.numpy(), y.numpy()) > 3.0
    with pytest.raises(ValueError):
        ComplexUNet(taps=2)


def test_unet_subpixel_and_channels_last_layout_match_the_plain_reshape():
    """The channels-last sub-pixel step equals the NCHW reshape it replaced, for odd and even
    targets, with its skip sum fused (inference) or not (autograd), and gradients flow through the channels-last model (in-place activations
    included) to every parameter."""
    from echoes.models.complex_unet import _subpixel

    g = torch.Generator().manual_seed(0)
    for f, target in ((5, 9), (5, 10), (65, 129)):
        h = torch.randn(2, 8, f, 7, generator=g)
        want = h.reshape(2, 4, 2, f, 7).transpose(2, 3).reshape(2, 4, 2 * f, 7)[:, :, :target]
        for x in (h, h.contiguous(memory_format=torch.channels_last)):
            got = _subpixel(x, target)
            assert torch.equal(got, want) and got.is_contiguous(memory_format=torch.channels_last)
            skip = torch.randn(2, 4, target, 7, generator=g).contiguous(memory_format=torch.channels_last)
            with torch.no_grad():  # the fused sum (out=) ...
                assert torch.equal(_subpixel(x, target, skip), want + skip)
            with torch.enable_grad():  # ... and the autograd path give the same numbers
                assert torch.equal(_subpixel(x.requires_grad_(), target, skip), want + skip)
    m = ComplexUNet(channels=[4, 6, 8, 10], bottleneck=16)
    X = torch.randn(1, 1025, 30, dtype=torch.complex64, generator=g)
    assert m.filters(X).shape == (1, 2 * m.taps, 1025, 30)
    m(X).abs().pow(2).mean().backward()
    for name, prm in m.named_parameters():
        assert prm.grad is not None and torch.isfinite(prm.grad).all() and prm.grad.abs().max() > 0, name


def _perturbed_unet(seed: int) -> tuple[ComplexUNet, torch.Generator]:
    """A small U-Net whose weights are moved off their initial values (so the last layer is not
    the identity filter), and the generator that did it (for inputs)."""
    g = torch.Generator().manual_seed(seed)
    m = ComplexUNet(channels=[4, 6, 8, 10], bottleneck=16).eval()
    with torch.no_grad():
        for prm in m.parameters():
            prm.add_(0.05 * torch.randn(prm.shape, generator=g))
    return m, g


def test_unet_with_more_taps_computes_the_same_function_then_can_change_it():
    """Growing the deep filter (for fine-tuning) keeps the output exactly; the new outer taps
    are real parameters (a change to them changes the output); shrinking is refused."""
    m, g = _perturbed_unet(1)
    X = torch.randn(1, 1025, 20, dtype=torch.complex64, generator=g)
    m5 = m.with_taps(5).eval()
    assert m5.taps == 5 and m5.kwargs["taps"] == 5 and m5.filters(X).shape[1] == 10
    with torch.no_grad():
        y3, y5 = m(X), m5(X)
        assert torch.allclose(y3, y5, atol=1e-6, rtol=0)
        m5.dec[-1].bias[0].fill_(0.5)  # real part of the new first tap, even bins
        assert (m5(X) - y3).abs().max() > 1e-3
    with pytest.raises(ValueError):
        m5.with_taps(3)
    with pytest.raises(ValueError):
        m.with_taps(4)


def test_unet_with_a_deeper_bottleneck_computes_the_same_function_then_learns():
    """Deepening the temporal bottleneck keeps the output exactly; the new blocks get gradients
    (so training can use them); dilations that do not begin with the current ones are refused."""
    m, g = _perturbed_unet(2)
    X = torch.randn(1, 1025, 40, dtype=torch.complex64, generator=g)
    d = m.with_dilations([1, 2, 4, 8, 1, 16, 1])
    assert d.kwargs["dilations"] == [1, 2, 4, 8, 1, 16, 1] and len(d.tcn) == 7
    with torch.no_grad():
        assert torch.allclose(m(X), d.eval()(X), atol=1e-6, rtol=0)
    d.train()
    d(X).abs().pow(2).mean().backward()
    for i in (5, 6):
        assert d.tcn[i].weight.grad is not None and d.tcn[i].weight.grad.abs().max() > 0
    with pytest.raises(ValueError):
        m.with_dilations([1, 2, 4])
    with pytest.raises(ValueError):
        m.with_dilations([2, 2, 4, 8, 1, 16])


def test_unet_with_more_bins_keeps_its_filters_and_zeroes_the_new_bottleneck_bins():
    """Growing to a wider grid (fast -> archival) keeps every convolution and the bottleneck's
    weights of the old bins; the new bins' squeeze/expand weights start at zero and learn; the
    feature gain scales the features only (a scaled input gives the scaled output of the
    unscaled model); shrinking is refused."""
    m, g = _perturbed_unet(3)
    w = m.with_bins(2049, feature_gain=0.5)
    assert w.n_bins == 2049 and w.sizes[-1] == 129 and w.kwargs["feature_gain"] == 0.5
    for k, v in m.state_dict().items():
        if not k.startswith(("squeeze", "expand")):
            assert torch.equal(v, w.state_dict()[k]), k
    c, f_old = m.kwargs["channels"][-1], m.sizes[-1]
    sq = w.squeeze.weight.detach().reshape(w.squeeze.out_channels, c, 129)
    assert torch.equal(sq[:, :, :f_old], m.squeeze.weight.detach().reshape(-1, c, f_old))
    assert not sq[:, :, f_old:].any()
    ex = w.expand.weight.detach().reshape(c, 129, -1)
    assert torch.equal(ex[:, :f_old], m.expand.weight.detach().reshape(c, f_old, -1)) and not ex[:, f_old:].any()
    X = torch.randn(1, 2049, 12, dtype=torch.complex64, generator=g)
    w.train()
    w(X).abs().pow(2).mean().backward()
    assert w.squeeze.weight.grad.reshape(-1, c, 129)[:, :, f_old:].abs().max() > 0
    # feature_gain: the features of 2 X under gain 0.5 are those of X under gain 1
    plain = ComplexUNet(**dict(w.kwargs, feature_gain=1.0)).eval()
    plain.load_state_dict(w.state_dict())
    with torch.no_grad():
        assert torch.allclose(w.eval()(2 * X), 2 * plain(X), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError):
        w.with_bins(1025)


def test_residual_gate_pushes_down_only_bands_the_model_already_emptied():
    """The archival post-filter: a high band whose output keeps less than the threshold of the
    input's energy is attenuated further (by ``ratio - 1`` dB per dB below); a band the model
    kept (music) and everything under ``from_hz`` pass unchanged (to float rounding)."""
    from echoes.core.spectral import ARCHIVAL_STFT as cfg, stft

    sr = cfg.sample_rate
    t = torch.arange(2 * sr) / sr
    rng = torch.Generator().manual_seed(0)
    low = 0.3 * torch.sin(2 * torch.pi * 440 * t)
    kept = 0.05 * torch.sin(2 * torch.pi * 9_500 * t)  # a partial in 9-10 kHz, kept by the "model"
    noise = 0.2 * torch.randn(t.shape, generator=rng)
    above_12k = torch.fft.rfftfreq(t.numel(), 1 / sr) > 12_000

    def band(x, lo, hi):
        X = torch.fft.rfft(x)
        f = torch.fft.rfftfreq(x.numel(), 1 / sr)
        return 10 * torch.log10((X[(f >= lo) & (f < hi)].abs() ** 2).sum())

    hiss = torch.fft.irfft(torch.fft.rfft(noise) * above_12k, n=t.numel())
    x = low + kept + hiss  # the input: music + hiss above 12 kHz
    y = low + kept + 10 ** (-35 / 20) * hiss  # a model's output: the hiss 35 dB down
    m = ComplexUNet(channels=[4, 4], bottleneck=8, n_bins=cfg.n_bins,
                    residual_gate={"from_hz": 8000, "band_hz": 1000, "threshold_db": -20, "ratio": 3})
    out = m.gate_residual(stft(x[None], cfg), y[None], cfg)[0]
    assert abs(float(band(out, 100, 8_000) - band(y, 100, 8_000))) < 0.01
    assert abs(float(band(out, 9_000, 10_000) - band(y, 9_000, 10_000))) < 0.1
    # 15 dB under the threshold, ratio 3: about 30 dB further down
    assert float(band(y, 13_000, 20_000) - band(out, 13_000, 20_000)) > 20


# -- the inference API -----------------------------------------------------------------------


@pytest.mark.parametrize("shape,sr", [((SR * 2,), SR), ((2, 44_100 * 2 + 7), 44_100), ((1, 16_000), 16_000), ((300,), 48_000)])
def test_denoise_keeps_shape_rate_and_length(shape, sr):
    d = Denoiser(_small_unet())
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 0.1
    y = d.denoise(x, sr)
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))


def test_chunked_equals_one_pass():
    """10 s through 3 s cores with 1 s context (> the receptive field): seams add < -60 dB."""
    d = Denoiser(_small_unet())
    d.core_s, d.margin_s = 3.0, 1.0
    x = _piano_like(10.0) + 0.05 * np.random.default_rng(1).standard_normal(10 * SR).astype(np.float32)
    chunked = d.denoise_internal(x)
    g = level_gain(x)
    with torch.no_grad():
        one = d.model.enhance(torch.from_numpy(x * g)[None]).numpy()[0] / g
    err = 10 * np.log10(np.sum((one - chunked) ** 2) / np.sum(one**2))
    assert err < -60, err


def test_high_band_is_dropped_or_kept():
    sr = 44_100
    t = np.arange(sr) / sr
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 16_000 * t)).astype(np.float32)
    band = lambda y: np.abs(np.fft.rfft(y))[16_000 - 5:16_000 + 5].max()
    dropped = Denoiser(_small_unet()).denoise(x, sr)
    kept = Denoiser(_small_unet(), high_band_db=0.0).denoise(x, sr)
    assert band(dropped) < 1e-3 * band(x)
    assert abs(band(kept) / band(x) - 1) < 0.05


def test_silence_and_bad_input():
    d = Denoiser(_small_unet())
    z = np.zeros((2, 5000), np.float32)
    np.testing.assert_array_equal(d.denoise(z, SR), z)
    with pytest.raises(NonFiniteError):
        d.denoise(np.full(100, np.nan, np.float32), SR)
    with pytest.raises(ParameterError):
        d.denoise(np.zeros(100, np.int16), SR)
    with pytest.raises(ParameterError):
        d.denoise(np.zeros((1, 2, 3), np.float32), SR)
    with pytest.raises(ParameterError):
        Denoiser.load("nonsense")


@pytest.mark.parametrize("name", ["default", "paper", "archival"])
def test_bundled_weights_denoise_white_noise(name):
    folder = bundled_weights()
    if not (folder / denoiser_spec(name).weights).with_suffix(".json").is_file():
        pytest.skip("weights not bundled")
    d = Denoiser.load(name)
    clean = _piano_like(6.0)
    noisy = clean + np.random.default_rng(2).standard_normal(clean.size).astype(np.float32) * np.sqrt(np.mean(clean**2))
    y = d.denoise(noisy, SR)
    gain = metrics.snr_db(clean, y) - metrics.snr_db(clean, noisy)
    assert gain > (3.0 if name == "paper" else 8.0), gain


def test_archival_keeps_the_band_above_11k_that_fast_drops():
    """At 44.1 kHz the archival model works on the whole band: a clean tone at 14 kHz beside
    piano-like audio comes back within 3 dB, where the fast model (22.05 kHz inside) drops it."""
    if not (bundled_weights() / "archival.json").is_file():
        pytest.skip("weights not bundled")
    sr = 44_100
    t = np.arange(int(4.0 * sr)) / sr
    base = np.asarray(_piano_like(4.0, sr=sr), np.float32)
    tone = (0.02 * np.sin(2 * np.pi * 14_000 * t)).astype(np.float32)
    x = base + tone

    def band_db(y):
        spec = np.abs(np.fft.rfft(y[sr:-sr] * np.hanning(y.size - 2 * sr)))
        f = np.fft.rfftfreq(y.size - 2 * sr, 1 / sr)
        return 10 * np.log10(np.sum(spec[(f > 13_800) & (f < 14_200)] ** 2) + 1e-20)

    archival = Denoiser.load("archival").denoise(x, sr)
    fast = Denoiser.load("fast").denoise(x, sr)
    assert abs(band_db(archival) - band_db(x)) < 3.0
    assert band_db(fast) < band_db(x) - 30.0


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_known_values():
    rng = np.random.default_rng(0)
    c = rng.standard_normal(10_000)
    e = rng.standard_normal(10_000)
    e *= np.sqrt(np.sum(c**2) / np.sum(e**2)) / 10  # exactly 20 dB below
    assert abs(metrics.snr_db(c, c + e) - 20.0) < 1e-6
    assert abs(metrics.si_sdr_db(c, 3 * (c + e)) - metrics.si_sdr_db(c, c + e)) < 1e-6
    assert abs(metrics.si_sdr_db(c, c + e) - 20.0) < 0.2  # e is nearly orthogonal to c
    assert metrics.si_sdr_db(c, 3 * c) > 100
    assert metrics.snr_db(c, 3 * c) < 0
    assert abs(metrics.mae(c, c + 0.5) - 0.5) < 1e-12
    x = _piano_like(2.0)
    assert metrics.stft_l1(x, x) == 0.0
    assert metrics.stft_l1(x, 0.5 * x) > 0
    x44 = _piano_like(2.0, sr=44_100)
    assert metrics.stft_l1(x44, x44 * 0.5, sample_rate=44_100) > 0
    with pytest.raises(ParameterError):
        metrics.snr_db(c, c[:-1])


# -- training pieces -------------------------------------------------------------------------


def test_training_examples_and_losses():
    from echoes.data.degrade import Maybe, SoftClip
    from echoes.train.denoiser_examples import gramophone_chain, make_example
    from echoes.train.losses import model_loss

    chain = gramophone_chain(None)
    assert not any(isinstance(e, Maybe) and isinstance(e.effect, SoftClip) for e in chain.effects)
    clip = _piano_like(0.5)
    for k, kind in enumerate(["paper", "gramophone", "mild", "clean"]):
        y, t = make_example(clip, np.random.default_rng(k), kind, noise_dir=None, chain=chain)
        assert y.shape == t.shape == clip.shape
        assert abs(np.sqrt(np.mean(y.astype(np.float64) ** 2)) - 0.1) < 1e-3
        if kind == "clean":
            np.testing.assert_array_equal(y, t)
    noisy = torch.from_numpy(np.stack([y, y]))
    clean = torch.from_numpy(np.stack([t, t]))
    for name, net in [("paper", PaperCAE()), ("default", _small_unet().train())]:
        loss, _ = model_loss(name, net, noisy, clean)
        loss.backward()
        assert torch.isfinite(loss)
        assert all(p.grad is not None for p in net.parameters())


def test_repitch_moves_a_tone_by_the_cents_asked_and_keeps_the_length():
    from echoes.train.common import SR
    from echoes.train.denoiser_examples import ExampleSet, repitch

    t = np.arange(5 * SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for cents in (-100.0, 0.0, 60.0):
        y = repitch(x, cents, np.random.default_rng(0))
        assert y.shape == x.shape and y.dtype == np.float32
        spec = np.abs(np.fft.rfft(y[: 4 * SR] * np.hanning(4 * SR)))
        assert abs(np.argmax(spec) / 4 - 440 * 2 ** (cents / 1200)) <= 0.5  # 0.25-Hz bins
    assert np.all(repitch(x, 100.0, np.random.default_rng(0))[-int(0.05 * SR):] == 0)  # 5.6 % shorter
    ds = ExampleSet(np.stack([x, x]), seed=0, noise_dir=None, kinds={"clean": 1.0}, pitch_cents=50)
    peaks = []
    for i in range(4):
        a, b = ds[i]
        assert torch.equal(a, b)
        peaks.append(np.argmax(np.abs(np.fft.rfft(a.numpy()[: 4 * SR] * np.hanning(4 * SR)))) / 4)
    assert all(440 * 2 ** (-50 / 1200) - 0.5 <= f <= 440 * 2 ** (50 / 1200) + 0.5 for f in peaks)
    assert len(set(peaks)) > 1


def test_trainer_names_models_as_the_registry_does():
    """``train denoiser --model default`` still means the complex U-Net, saved as ``denoiser.*``."""
    import argparse

    from echoes.commands import train as cmd
    from echoes.models.registry import denoiser_spec
    from echoes.train.denoiser import build

    assert isinstance(build("default", {"channels": [4, 4], "bottleneck": 8}), ComplexUNet)
    assert isinstance(build("fast", {"channels": [4, 4], "bottleneck": 8}), ComplexUNet)
    assert isinstance(build("paper"), PaperCAE)
    assert denoiser_spec("default").weights == "denoiser" and denoiser_spec("paper").weights == "cae"
    with pytest.raises(ParameterError):
        build("nope")
    ap = argparse.ArgumentParser()
    cmd.register(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["train", "denoiser", "--data", "D", "--out", "O", "--model", "default"])
    assert args.model == "default" and args.func is cmd._run_denoiser


# -- declick ---------------------------------------------------------------------------------


def test_declick_removes_clicks_and_spares_clean_audio():
    from echoes.restore.declick import declick

    sr = 44_100
    t = np.arange(2 * sr) / sr
    clean = sum(np.sin(2 * np.pi * f * t + f) / k for k, f in enumerate([220, 331, 440, 587, 880], 1))
    clean = (0.2 * clean * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))).astype(np.float32)
    out, mask = declick(clean, sr)
    assert metrics.snr_db(clean, out) > 60 and mask.mean() < 1e-3
    rng = np.random.default_rng(4)
    noisy = clean.copy()
    for pos in rng.choice(np.arange(2000, clean.size - 2000), size=20, replace=False):
        noisy[pos:pos + 8] += rng.choice([-1, 1]) * 0.4 * np.hanning(8)
    out, mask = declick(noisy, sr)
    assert metrics.snr_db(clean, out) > metrics.snr_db(clean, noisy) + 10
    stereo, _ = declick(np.stack([noisy, noisy]), sr)
    np.testing.assert_allclose(stereo[0], out, atol=1e-6)
