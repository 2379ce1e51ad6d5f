import math

import pytest
import torch

from merit.backbones import build_backbone
from merit.backbones.tiny import num_frames
from merit.config import (
    NAMED_CONFIGS,
    BackboneConfig,
    CascadeConfig,
    MoEConfig,
    config_from_dict,
    config_to_dict,
    named_config,
)
from merit.factory import build_model, load_checkpoint, save_checkpoint
from merit.fixtures import fixture_config
from merit.model import SparseMerit, compute_losses


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return build_model(fixture_config()).eval()


@pytest.mark.parametrize("n", [400, 1000, 16000, 16123, 48000])
def test_sparse_merit_shapes_for_several_lengths(small_model, n):
    x = torch.randn(2, n)
    with torch.no_grad():
        out = small_model(x)
    t = num_frames(n)
    assert out.enhanced.shape == (2, n)
    assert out.emotion_logits.shape == (2, 4)
    for task in ("se", "ser"):
        assert out.gates[task].routing.shape == (2, t)
        assert out.gates[task].probs.shape == (2, t, 3)
    assert out.se.mask.shape == (2, 1 + n // 160, 201)


def test_tiny_backbone_returns_every_hidden_state():
    backbone = build_backbone(BackboneConfig())
    states = backbone(torch.randn(1, 16000))
    assert backbone.num_hidden_states == 5 and len(states) == 5
    assert all(s.shape == (1, 49, backbone.hidden_dim) for s in states)


def test_unknown_backbone_kind_is_rejected_with_the_allowed_values():
    with pytest.raises(ValueError, match="backbone.kind='whisper'.*tiny"):
        BackboneConfig(kind="whisper")


def test_mask_is_in_unit_interval_and_enhanced_is_finite(small_model):
    x = torch.randn(3, 16000) * 10
    with torch.no_grad():
        out = small_model(x)
    assert out.se.mask.min() >= 0 and out.se.mask.max() <= 1
    assert torch.isfinite(out.enhanced).all()
    # The mask only attenuates: enhanced log-magnitudes never exceed the noisy ones.
    assert (out.se.enhanced_logmag <= out.se.noisy_logmag + 1e-6).all()


def test_silence_gives_finite_output(small_model):
    with torch.no_grad():
        out = small_model(torch.zeros(1, 16000))
    assert torch.isfinite(out.enhanced).all() and torch.isfinite(out.emotion_logits).all()


def test_too_short_input_is_rejected(small_model):
    with pytest.raises(ValueError, match="399 samples; need at least 400"):
        small_model(torch.randn(1, 399))


@pytest.mark.parametrize("name", NAMED_CONFIGS)
def test_every_named_config_builds_and_runs(name):
    torch.manual_seed(0)
    cfg = named_config(name)
    model = build_model(config_to_dict(cfg)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 8000))
    kind = "se_cascade" if isinstance(cfg, CascadeConfig) else cfg.kind
    assert (out.enhanced is not None) == (kind != "ser_only")
    assert (out.emotion_logits is not None) == (kind != "se_only")
    assert (out.gates is not None) == (kind == "sparse_merit")


def test_cascade_classifies_the_enhanced_audio():
    torch.manual_seed(0)
    cascade = build_model(CascadeConfig()).eval()
    x = torch.randn(1, 8000)
    with torch.no_grad():
        out = cascade(x)
        direct = cascade.ser_model(cascade.se_model(x).enhanced).emotion_logits
    assert torch.allclose(out.emotion_logits, direct)


def test_losses_backpropagate_into_gates_backbone_and_heads():
    torch.manual_seed(0)
    model = build_model(fixture_config()).train()
    noisy, clean = torch.randn(2, 8000), torch.randn(2, 8000)
    out = model(noisy)
    parts = compute_losses(model, out, clean, torch.tensor([0, 3]), model.cfg)
    assert set(parts) == {"se", "ser", "load_balance", "total"}
    parts["total"].backward()
    for name in ("moe.gates.se.proj.weight", "moe.gates.ser.proj.weight", "se_head.out.weight", "ser_head.mlp.3.weight"):
        assert dict(model.named_parameters())[name].grad.abs().sum() > 0, name
    assert model.backbone.model.encoder.feature_projection.projection.weight.grad.abs().sum() > 0


def test_dense_moe_config_uses_all_experts_with_soft_weights():
    torch.manual_seed(0)
    cfg = fixture_config()
    cfg.moe = MoEConfig(num_experts=3, expert_hidden=64, gate_mode="dense", dispatch="dense")
    model = SparseMerit(cfg).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 8000))
    assert out.gates["se"].selected.all()


def test_config_round_trips_through_dict():
    for name in NAMED_CONFIGS:
        cfg = named_config(name)
        assert config_from_dict(config_to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="unknown MoEConfig fields"):
        config_from_dict({"moe": {"experts": 3}})
    with pytest.raises(ValueError, match="moe.gate_mode='top2'"):
        MoEConfig(gate_mode="top2")


def test_checkpoint_round_trip(tmp_path, small_model):
    path = str(tmp_path / "m.pt")
    save_checkpoint(path, small_model, small_model.cfg, data="synthetic", metrics={"f1_macro": 0.5})
    loaded, cfg, data, metrics = load_checkpoint(path)
    assert cfg == small_model.cfg and data == "synthetic" and metrics == {"f1_macro": 0.5}
    x = torch.randn(1, 4000)
    with torch.no_grad():
        assert torch.equal(loaded(x).emotion_logits, small_model(x).emotion_logits)


def test_level_channels_follow_gain_so_the_ser_head_can_see_level():
    """The GroupNorm front end is gain-invariant; the level channels are how the SER head sees loudness."""
    from merit.config import SERHeadConfig
    from merit.heads import SERHead

    head = SERHead(8, SERHeadConfig(attention_dim=4, mlp_hidden=8, level_features=True))
    x = 0.05 * torch.randn(2, 16000)
    frames = num_frames(16000)
    quiet, loud = head.level_channels(x, frames), head.level_channels(2 * x, frames)
    assert quiet.shape == (2, frames, 2)
    assert torch.allclose(loud[..., 0] - quiet[..., 0], torch.full_like(quiet[..., 0], 20 * math.log10(2) / 20),
                          atol=1e-4)
    assert torch.allclose(loud[..., 1], quiet[..., 1], atol=1e-4)  # level below the loudest frame: gain-free
    feats = torch.randn(2, frames, 8)
    head.eval()
    assert not torch.allclose(head(feats, x), head(feats, 2 * x))
    with pytest.raises(ValueError, match="waveform"):
        head(feats)


@pytest.mark.parametrize("scale", [1.0, 20.0])
def test_a_fully_open_mask_gives_back_the_input_at_any_magnitude_scale(scale):
    from merit.config import SEHeadConfig
    from merit.heads import SEHead

    head = SEHead(8, SEHeadConfig(linear_dim=8, lstm_hidden=4, magnitude_scale=scale)).eval()
    with torch.no_grad():
        head.out.weight.zero_()
        head.out.bias.fill_(30.0)  # sigmoid -> 1: keep everything
    x = 0.1 * torch.randn(1, 16000)
    with torch.no_grad():
        out = head(torch.randn(1, num_frames(16000), 8), x)
        real, imag = head.stft(x)
    mag = torch.sqrt(real * real + imag * imag + 1e-12).transpose(1, 2)
    assert torch.allclose(out.noisy_logmag, torch.log1p(scale * mag), atol=1e-6)  # the mask's domain
    assert torch.allclose(out.enhanced[:, 400:-400], x[:, 400:-400], atol=1e-4)


def test_training_skips_the_istft_only_when_asked(small_model):
    from merit.heads import SEHead

    heads = [m for m in small_model.modules() if isinstance(m, SEHead)]
    x = torch.randn(1, 16000)
    try:
        small_model.train()
        assert small_model(x).enhanced is not None
        for h in heads:
            h.synthesize_when_training = False
        out = small_model(x)
        assert out.enhanced is None and out.se.enhanced_logmag is not None
        small_model.eval()
        assert small_model(x).enhanced is not None  # evaluation and export always synthesise
    finally:
        for h in heads:
            h.synthesize_when_training = True
        small_model.eval()
